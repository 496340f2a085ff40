#!/usr/bin/env node
// The definition in a real ASL engine (aws-local-stepfunctions 3.0.0). runExecution() is the
// core of the local runner (tests/runner/run.mjs), whose handlers invoke the real functions
// under cargo lambda watch. Run as a script, it plays scenarios with canned function outputs
// to show the definition takes the paths it should, and counts the state transitions (what
// Step Functions Standard bills); scripts/check-asl.sh runs it in `make test`.
//
//   NODE_PATH="$INCX_CACHE/node/node_modules" node statemachine/local-engine.mjs
//
// What this engine does, as of 3.0.0 (read from its build and checked by the scenarios below):
// - `new StateMachine(definition)` validates with asl-validator (checkArn and checkPaths on), so
//   the `${...}` substitutions must be filled first.
// - `run(input, options)` returns { result, eventLogs, abort }. `eventLogs` is an async generator
//   of events: ExecutionStarted / ExecutionSucceeded / ExecutionFailed / ExecutionAborted /
//   ExecutionTimeout, StateEntered / StateExited / StateFailed / StateRetried / StateCaught
//   (and Map/Parallel ones). It ends when the execution ends.
// - State transitions = StateEntered events + StateRetried events (AWS bills each retry too).
// - A Task state without a handler in `overrides.taskResourceLocalHandlers` calls the real Lambda
//   through the AWS SDK: runExecution() therefore gives every Task a handler.
// - `$$.Execution.StartTime` is always the real start time (`options.context.Execution.StartTime`
//   is overwritten): a virtual clock must come through the input's `time`. `$$.Execution.Id` is
//   absent unless `options.context.Execution.Id` is given, and reading it then fails the run.
// - A Wait with an entry in `overrides.waitTimeOverrides` (milliseconds) sleeps that long and
//   never evaluates SecondsPath (runExecution() checks the value itself); without one,
//   SecondsPath is read and must be an integer >= 0.
// - No limit on transitions: a loop of zero-second waits runs until the heap is full (seen:
//   4 GB, 8 minutes). runExecution() aborts past `maxTransitions`.
// - Retry honours IntervalSeconds, BackoffRate, MaxAttempts, MaxDelaySeconds and
//   JitterStrategy FULL (unless `overrides.retryIntervalOverrides` fixes the interval); errors
//   match by the thrown Error's `name`. Task TimeoutSeconds is honoured (default 60 s here,
//   where AWS has none) and raises States.Timeout.

import { readFileSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { requireTool, substitute } from './validate.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
export const DEFAULT_DEFINITION = join(HERE, 'export.asl.json');
const EXECUTION_ARN = 'arn:aws:states:us-east-1:123456789012:execution:incx-export:local';


const { StateMachine } = requireTool('aws-local-stepfunctions');

/** The definition with its `${Name}` substitutions filled with plausible Lambda ARNs. */
export function loadDefinition(path = DEFAULT_DEFINITION) {
  return JSON.parse(substitute(readFileSync(path, 'utf8')));
}

const STATUS_BY_LAST_EVENT = {
  ExecutionSucceeded: 'SUCCEEDED',
  ExecutionFailed: 'FAILED',
  ExecutionTimeout: 'TIMED_OUT',
  ExecutionAborted: 'ABORTED',
};

/**
 * Runs one execution. `handlers` maps Task state names to async functions (input -> output; throw
 * an Error whose `name` is the error type to fail). Every Task state without one fails with
 * `NoLocalHandler` instead of calling AWS.
 * An execution past `maxTransitions` is aborted (status ABORTED, error TransitionBudgetExceeded).
 * `problems` lists Waits whose SecondsPath value AWS would reject but the overridden wait hid.
 * `onStart(execution)` gets the running execution (to abort it from a handler).
 * Returns { status, output, error, cause, path, transitions, problems, events }.
 */
export async function runExecution(definition, input, options = {}) {
  const {
    handlers = {}, waitTimeOverrides, retryIntervalOverrides, executionId = EXECUTION_ARN, maxTransitions = 1000,
  } = options;
  const taskResourceLocalHandlers = {};
  for (const [name, state] of Object.entries(definition.States)) {
    if (state.Type !== 'Task') continue;
    taskResourceLocalHandlers[name] =
      handlers[name] ??
      (async () => {
        throw Object.assign(new Error(`no local handler for Task state ${name}`), { name: 'NoLocalHandler' });
      });
  }
  const machine = new StateMachine(structuredClone(definition));
  const execution = machine.run(input, {
    overrides: { taskResourceLocalHandlers, waitTimeOverrides, retryIntervalOverrides },
    context: { Execution: { Id: executionId, Name: executionId.split(':').pop() } },
  });
  options.onStart?.(execution);
  // The engine keeps every event in memory and has no transition limit of its own: a loop of
  // zero-second waits would run until the heap is full. Abort past the budget instead.
  const events = [];
  let transitions = 0;
  const collected = (async () => {
    for await (const event of execution.eventLogs) {
      events.push(event);
      if (event.type === 'StateEntered' || event.type === 'StateRetried') transitions += 1;
      if (transitions === maxTransitions + 1) execution.abort();
    }
  })();
  let output = null;
  try {
    output = await execution.result;
  } catch {
    // The outcome is read from the event log below.
  }
  await collected;
  const last = events.at(-1);
  const path = events.filter((e) => e.type === 'StateEntered').map((e) => e.state.name);
  // With a waitTimeOverrides entry the engine never reads SecondsPath, where AWS would fail the
  // run on a missing or bad value: check each overridden Wait's input here.
  const problems = [];
  for (const event of events) {
    const state = definition.States[event.state?.name];
    if (event.type !== 'StateEntered' || state?.Type !== 'Wait' || !state.SecondsPath) continue;
    if (waitTimeOverrides?.[event.state.name] === undefined) continue;
    const seconds = readPlainPath(event.state.input, state.SecondsPath);
    if (!Number.isInteger(seconds) || seconds < 0) {
      problems.push(`${event.state.name}: ${state.SecondsPath} is ${JSON.stringify(seconds)}, not an integer >= 0`);
    }
  }
  const overBudget = transitions > maxTransitions;
  return {
    status: STATUS_BY_LAST_EVENT[last?.type] ?? 'UNKNOWN',
    output,
    error: overBudget ? 'TransitionBudgetExceeded' : last?.Error,
    cause: overBudget ? `more than ${maxTransitions} state transitions` : last?.Cause,
    path,
    transitions,
    problems,
    events,
  };
}

/** Reads a plain JSONPath (`$.a.b`) from a value; undefined when absent. */
function readPlainPath(value, path) {
  return path
    .replace(/^\$\.?/, '')
    .split('.')
    .filter(Boolean)
    .reduce((v, key) => (v !== null && typeof v === 'object' ? v[key] : undefined), value);
}

// ---------------------------------------------------------------------------------------------
// Scenarios: canned function outputs, shaped as in docs/functions.md.

const TIME = '2026-11-25T12:06:00Z';
const EXPORT = {
  kind: 'INCREMENTAL_EXPORT', from: 1795003200, to: 1795089600, attempt: 1,
  clientToken: 'scenario-token', exportArn: null, startedAt: null, chain: 1,
};
const EXPORT_ARN = 'arn:aws:dynamodb:us-east-1:123456789012:table/t/export/01795089600000-0123abcd';
const NOTIFICATION = { message: 'Incremental export completed', exportType: 'INCREMENTAL_EXPORT', status: 'SUCCESS' };

function context(input) {
  // decide-mode gets { run, executionId, executionStartTime }; the others get a previous output.
  const run = input.run ?? input;
  return {
    executionId: input.executionId ?? run.executionId,
    startTime: run.startTime ?? run.time ?? input.executionStartTime,
    iteration: (run.iteration ?? 0) + (input.run ? 1 : 0),
    exportsDone: run.exportsDone ?? 0,
  };
}

const fail = (name, message) => Object.assign(new Error(message), { name });
const out = (input, fields) => ({ ...context(input), ...fields });
const started = (i) => out(i, { outcome: 'STARTED', export: { ...EXPORT, exportArn: EXPORT_ARN }, waitSeconds: 1, blocksBehind: 0 });
const completed = (i) => out(i, {
  outcome: 'COMPLETED', export: i.export,
  result: { itemCount: 3, billedSizeBytes: 10000000, startTime: TIME, endTime: TIME, manifest: 'm' },
});
const advanced = (drain) => (i) => out(i, { outcome: 'ADVANCED', notification: NOTIFICATION, drain, exportsDone: i.exportsDone + 1 });
const published = (i) => out(i, { outcome: 'PUBLISHED', messageId: 'm-1' });
/** Wraps a handler so that the inputs it got can be checked afterwards (`handler.calls`). */
const recorded = (handler) => {
  const calls = [];
  return Object.assign(async (input) => { calls.push(input); return handler(input); }, { calls });
};
/** decide-mode returning the given outcomes in turn (the last one repeats). */
const decide = (...outcomes) => {
  let n = 0;
  return recorded((input) => out(input, outcomes[Math.min(n++, outcomes.length - 1)]));
};
const START = { outcome: 'START_INCREMENTAL', export: EXPORT, ledgerVersion: 7, blocksBehind: 0 };
const FAST = { WaitForExport: 0, WaitUntilDue: 0 };

const ONE_WINDOW = ['Decide', 'Route', 'StartExport', 'AfterStart', 'WaitForExport', 'CheckStatus', 'AdvanceState', 'NotifyAndEnd'];
const running = () => fail('ExportRunning', 'export IN_PROGRESS');
/** check-status answering ExportRunning `n` times, then COMPLETED. */
const runningThenCompleted = (n) => {
  let calls = 0;
  return async (i) => {
    calls += 1;
    if (calls <= n) throw running();
    return completed(i);
  };
};

function scenarios() {
  const oneWindowDecide = decide(START);
  const faultNotify = recorded(published);
  const timeoutNotify = recorded(published);
  return [
    {
      name: 'one window',
      input: { time: TIME },
      handlers: { Decide: oneWindowDecide, StartExport: started, CheckStatus: completed, AdvanceState: advanced(false), NotifyAndEnd: published },
      waitTimeOverrides: FAST,
      expect: { status: 'SUCCEEDED', path: ONE_WINDOW },
      check: () => {
        const [call] = oneWindowDecide.calls;
        if (call?.executionId !== EXECUTION_ARN) return `Decide got executionId ${call?.executionId}`;
        if (Number.isNaN(Date.parse(call?.executionStartTime))) return `Decide got executionStartTime ${call?.executionStartTime}`;
        if (call?.run?.time !== TIME) return `Decide got run ${JSON.stringify(call?.run)}`;
        return null;
      },
    },
    {
      name: 'nothing to do',
      input: { time: TIME },
      handlers: { Decide: decide({ outcome: 'NOT_DUE', exportableAt: null, reason: 'window not closed' }) },
      expect: { status: 'SUCCEEDED', path: ['Decide', 'Route', 'Done'] },
    },
    {
      name: 'resume, real SecondsPath wait of 1 s',
      input: {},
      handlers: {
        Decide: decide({ outcome: 'RESUME', export: { ...EXPORT, exportArn: EXPORT_ARN }, waitSeconds: 1, blocksBehind: 0 }),
        CheckStatus: completed,
        AdvanceState: (i) => out(i, { outcome: 'ALREADY_RECORDED', drain: false }),
        NotifyAndEnd: (i) => out(i, { outcome: 'NOTHING' }),
      },
      expect: { status: 'SUCCEEDED', path: ['Decide', 'Route', 'WaitForExport', 'CheckStatus', 'AdvanceState', 'NotifyAndEnd'] },
      check: (run) => {
        const at = (type) => run.events.find((e) => e.type === type && e.state.name === 'WaitForExport')?.timestamp;
        const waited = at('StateExited') - at('StateEntered');
        return waited >= 950 ? null : `WaitForExport lasted ${waited} ms, not 1 s`;
      },
    },
    {
      name: 'throttled once, retried with FULL jitter and MaxDelaySeconds',
      input: { time: TIME },
      handlers: {
        Decide: decide(START),
        StartExport: (() => {
          let calls = 0;
          return async (i) => {
            calls += 1;
            if (calls === 1) throw fail('Throttled', 'rate exceeded');
            return started(i);
          };
        })(),
        CheckStatus: completed, AdvanceState: advanced(false), NotifyAndEnd: published,
      },
      waitTimeOverrides: FAST,
      expect: { status: 'SUCCEEDED', path: ONE_WINDOW, transitions: 9 },
    },
    {
      name: 'export still running: each look again is one Retry, one billed transition',
      input: { time: TIME },
      handlers: { Decide: decide(START), StartExport: started, CheckStatus: runningThenCompleted(3), AdvanceState: advanced(false), NotifyAndEnd: published },
      waitTimeOverrides: FAST,
      retryIntervalOverrides: { CheckStatus: 0 },
      expect: { status: 'SUCCEEDED', path: ONE_WINDOW, transitions: 11 },
      check: (run) => {
        const retried = run.events.filter((e) => e.type === 'StateRetried' && e.state.name === 'CheckStatus').length;
        return retried === 3 ? null : `CheckStatus retried ${retried} times, not 3`;
      },
    },
    {
      name: 'export outlasts the Retry: caught, waits again, looks again',
      definition: (d) => { d.States.CheckStatus.Retry[0].MaxAttempts = 2; },
      input: { time: TIME },
      handlers: { Decide: decide(START), StartExport: started, CheckStatus: runningThenCompleted(3), AdvanceState: advanced(false), NotifyAndEnd: published },
      waitTimeOverrides: FAST,
      retryIntervalOverrides: { CheckStatus: 0 },
      expect: {
        status: 'SUCCEEDED',
        path: ['Decide', 'Route', 'StartExport', 'AfterStart', 'WaitForExport', 'CheckStatus', 'WaitForExport', 'CheckStatus', 'AdvanceState', 'NotifyAndEnd'],
        transitions: 12,
      },
    },
    {
      name: 'pending announcements first, then decide again',
      input: { time: TIME },
      handlers: {
        Decide: decide({ outcome: 'ANNOUNCE', pending: 2 }, { outcome: 'NOT_DUE', exportableAt: null, reason: 'caught up' }),
        AnnouncePending: published,
      },
      expect: { status: 'SUCCEEDED', path: ['Decide', 'Route', 'AnnouncePending', 'Decide', 'Route', 'Done'] },
    },
    {
      name: 'announcements cannot go out: the run goes on and says so',
      input: { time: TIME },
      handlers: (() => {
        const d = decide({ outcome: 'ANNOUNCE', pending: 1 }, { outcome: 'NOT_DUE', exportableAt: null, reason: 'caught up' });
        return { Decide: d, AnnouncePending: async () => { throw fail('SnsUnavailable', 'topic unreachable'); } };
      })(),
      expect: { status: 'SUCCEEDED', path: ['Decide', 'Route', 'AnnouncePending', 'Decide', 'Route', 'Done'] },
      check: (run) => {
        const second = run.events.filter((e) => e.type === 'StateEntered' && e.state.name === 'Decide')[1];
        return second?.state.input?.announceFailed?.Error === 'SnsUnavailable' ? null : `second Decide got ${JSON.stringify(second?.state.input)}`;
      },
    },
    {
      name: 'lost the race or deferred: the run ends, the other run or the next one exports',
      input: { time: TIME },
      handlers: { Decide: decide(START), StartExport: (i) => out(i, { outcome: 'LOST_RACE', reason: 'another run holds the window' }) },
      expect: { status: 'SUCCEEDED', path: ['Decide', 'Route', 'StartExport', 'AfterStart', 'Done'] },
    },
    {
      name: 'runaway DUE_SOON loop stopped by the transition budget',
      input: { time: TIME },
      handlers: { Decide: decide({ outcome: 'DUE_SOON', waitSeconds: 0 }) },
      maxTransitions: 30,
      // The abort lands a state or two after the budget, depending on timing: no exact path.
      expect: { status: 'ABORTED', error: 'TransitionBudgetExceeded' },
      check: (run) => (run.transitions > 30 && run.transitions < 40 ? null : `${run.transitions} transitions`),
    },
    {
      name: 'needs operator',
      input: { time: TIME },
      handlers: {
        Decide: decide({ outcome: 'NEEDS_OPERATOR', reason: 'PITR disabled', notification: { ...NOTIFICATION, status: 'FAILED' } }),
        NotifyOperator: published,
      },
      expect: { status: 'FAILED', error: 'NeedsOperator', path: ['Decide', 'Route', 'NotifyOperator', 'OperatorNeeded'] },
    },
    {
      name: 'unknown outcome',
      input: { time: TIME },
      handlers: { Decide: decide({ outcome: 'SOMETHING_NEW' }) },
      expect: { status: 'FAILED', error: 'UnknownOutcome', path: ['Decide', 'Route', 'UnknownOutcome'] },
    },
    {
      name: 'fault caught, FAILED notification, WorkflowFault',
      input: { time: TIME },
      handlers: {
        Decide: decide(START), StartExport: started,
        CheckStatus: async () => { throw fail('ConfigError', 'bucket parameter missing'); },
        NotifyFault: faultNotify,
      },
      waitTimeOverrides: FAST,
      expect: { status: 'FAILED', error: 'WorkflowFault', path: ['Decide', 'Route', 'StartExport', 'AfterStart', 'WaitForExport', 'CheckStatus', 'NotifyFault', 'Faulted'] },
      check: () => {
        const [input] = faultNotify.calls;
        if (input?.error?.Error !== 'ConfigError') return `NotifyFault got error ${JSON.stringify(input?.error)}`;
        if (input?.run?.outcome !== 'STARTED' || input?.executionId !== EXECUTION_ARN) return 'NotifyFault lacks run or executionId';
        return null;
      },
    },
    {
      name: 'Task TimeoutSeconds (set to 1 s here) raises States.Timeout',
      definition: (d) => { d.States.CheckStatus.TimeoutSeconds = 1; },
      input: { time: TIME },
      handlers: {
        Decide: decide(START), StartExport: started,
        CheckStatus: (i) => new Promise((resolve) => setTimeout(() => resolve(completed(i)), 1500)),
        NotifyFault: timeoutNotify,
      },
      waitTimeOverrides: FAST,
      expect: { status: 'FAILED', error: 'WorkflowFault', path: ['Decide', 'Route', 'StartExport', 'AfterStart', 'WaitForExport', 'CheckStatus', 'NotifyFault', 'Faulted'] },
      check: () => {
        const error = timeoutNotify.calls[0]?.error;
        return error?.Error === 'States.Timeout' ? null : `NotifyFault got ${JSON.stringify(error)}`;
      },
    },
  ];
}

function compare(run, expect) {
  const problems = [...run.problems];
  if (run.status !== expect.status) problems.push(`status ${run.status} (${run.error}: ${run.cause}), expected ${expect.status}`);
  if (expect.error && run.error !== expect.error) problems.push(`error ${run.error}, expected ${expect.error}`);
  if (expect.path) {
    if (JSON.stringify(run.path) !== JSON.stringify(expect.path)) problems.push(`path ${run.path.join(' > ')}`);
    const transitions = expect.transitions ?? expect.path.length;
    if (run.transitions !== transitions) problems.push(`${run.transitions} transitions, expected ${transitions}`);
  }
  return problems;
}

async function main() {
  const base = loadDefinition(process.argv[2]);
  let failed = 0;
  for (const scenario of scenarios()) {
    const definition = structuredClone(base);
    scenario.definition?.(definition);
    let problems;
    let run;
    try {
      run = await runExecution(definition, scenario.input, scenario);
      problems = compare(run, scenario.expect);
      const extra = scenario.check?.(run);
      if (extra) problems.push(extra);
    } catch (error) {
      problems = [`did not run: ${error.message}`];
    }
    if (problems.length === 0) {
      const end = run.status === 'SUCCEEDED' ? run.status : `${run.status} ${run.error}`;
      console.log(`ok   ${scenario.name}: ${end}, ${run.transitions} transitions (${run.path.join(' > ')})`);
    } else {
      failed += 1;
      console.log(`FAIL ${scenario.name}: ${problems.join('; ')}`);
    }
  }
  console.log(failed === 0 ? 'local engine: OK' : `local engine: ${failed} scenario(s) failed`);
  return failed === 0 ? 0 : 1;
}

if (process.argv[1] && realpathSync(fileURLToPath(import.meta.url)) === realpathSync(process.argv[1])) {
  process.exitCode = await main();
}
