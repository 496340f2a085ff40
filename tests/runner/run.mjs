#!/usr/bin/env node
// Runs executions of the real state machine definition in a real ASL engine
// (aws-local-stepfunctions), whose Task states invoke the real function
// binaries served by `cargo lambda watch`, on the shared virtual clock.
//
//   node tests/runner/run.mjs < request.json > result.json
//
// request: { "functionsUrl": "http://127.0.0.1:9000", "clockFile": "/tmp/x/now",
//            "definition": "statemachine/export.asl.json" (optional),
//            "functions": { "<Task Resource>": "<function name>" } (optional: the
//              function behind each Resource of a definition whose substitutions
//              are filled, e.g. by the local stack; default: from the contract),
//            "executions": [ { "id": "arn:...:execution:incx:0001", "input": {...},
//                              "killAfter": "StartExport" (optional) } ] }
// result:  { "executions": [ { id, status, error, cause, transitions, path, tasks, output } ] }
//
// Waits take no real time: before the Task that follows a Wait runs, the
// virtual clock moves to (the end of the execution's previous Task + the
// Wait's seconds), and before a Retry to (that end + the Retry's delay), so
// exports "take" virtual time and a day runs in minutes.
// Several executions given together run concurrently (overlapping runs).
//
//   node tests/runner/run.mjs --serve   (one JSON command per line on stdin)
//
// Scheduled mode, for a day of runs that overlap the way they would on AWS:
// {"start": {id, input, startAt}} adds an execution that begins at virtual
// time startAt; {"advance": T} runs every step due by T, in virtual-time
// order across all executions, and answers one line {ended: [results...],
// nextWake, clock}; {"close": true} ends. A Task runs only when every other
// execution is waiting (for its own time, or the horizon T), so an export
// started at 10:06 by one run is polled at 10:13 even though a run that
// began at 10:21 is waiting too; steps due at the same instant run
// together, as rival executions do. {"execute": request} runs a request
// as the first form does and answers its result line (or {error}): one
// runner serves a test's every run, instead of a Node start per run.

import { readFileSync, writeFileSync, renameSync } from 'node:fs';
import { DEFAULT_DEFINITION, loadDefinition, runExecution } from '../../statemachine/local-engine.mjs';
import { loadContract } from '../../statemachine/validate.mjs';

// The function behind each Task resource, from the generated contract.
const FUNCTION_BY_RESOURCE = Object.fromEntries(loadContract().map((f) => [f.resource, f.name]));

function readClock(file) {
  return Number.parseFloat(readFileSync(file, 'utf8'));
}

function writeClock(file, seconds) {
  // Atomic, so a function never reads half a number.
  writeFileSync(`${file}.tmp`, `${seconds}\n`);
  renameSync(`${file}.tmp`, file);
}

function plain(value, path) {
  return path.replace(/^\$\.?/, '').split('.').filter(Boolean)
    .reduce((v, k) => (v !== null && typeof v === 'object' ? v[k] : undefined), value);
}

/** For each Task that follows a Wait: where its own input holds the Wait's seconds. */
function waitSecondsPaths(raw) {
  const paths = {};
  for (const state of Object.values(raw.States)) {
    if (state.Type !== 'Wait' || !state.SecondsPath) continue;
    const next = raw.States[state.Next];
    if (next?.Type !== 'Task') continue;
    // With Parameters, the raw state input sits under the key whose value is "$".
    const wrapper = Object.entries(next.Parameters ?? {}).find(([, v]) => v === '$')?.[0]?.replace(/\.\$$/, '');
    const rel = state.SecondsPath.replace(/^\$\.?/, '');
    paths[state.Next] = wrapper ? `$.${wrapper}.${rel}` : `$.${rel}`;
  }
  return paths;
}

/**
 * Tells whether a Task's call is a Retry of its previous call, and its delay, the
 * way Step Functions decides: the first retrier whose ErrorEquals names the error
 * (or States.ALL) retries while its attempts are under MaxAttempts; its delay is
 * IntervalSeconds x BackoffRate^(attempt - 1), capped by MaxDelaySeconds (jitter
 * left out: the upper bound). The engine itself retries at once (its intervals
 * are overridden to 0), so the virtual clock is what makes the delay.
 */
function retryTracker(raw) {
  let state = null;
  let counts = [];
  let pending = null; // the retrier the last failed call will be retried by
  return {
    delayBefore(name) {
      if (state !== name || pending === null) {
        state = name;
        counts = [];
        pending = null;
        return undefined;
      }
      const r = raw.States[name].Retry[pending];
      const attempt = counts[pending];
      pending = null;
      const delay = (r.IntervalSeconds ?? 1) * (r.BackoffRate ?? 2) ** (attempt - 1);
      return Math.min(delay, r.MaxDelaySeconds ?? Infinity);
    },
    failed(name, error) {
      const retriers = raw.States[name].Retry ?? [];
      const index = retriers.findIndex((r) => r.ErrorEquals.includes(error) || r.ErrorEquals.includes('States.ALL'));
      if (index < 0 || (counts[index] ?? 0) >= (retriers[index].MaxAttempts ?? 3)) {
        pending = null;
        state = null; // caught or failed: the next call of this state is a new entry
        return;
      }
      counts[index] = (counts[index] ?? 0) + 1;
      pending = index;
    },
    succeeded() {
      pending = null;
    },
  };
}

async function invoke(functionsUrl, name, input) {
  const response = await fetch(`${functionsUrl}/2015-03-31/functions/${name}/invocations`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(input),
  });
  const text = await response.text();
  let body;
  try {
    body = JSON.parse(text);
  } catch {
    body = { errorType: 'Lambda.Unknown', errorMessage: text.slice(0, 2000) };
  }
  // cargo lambda watch answers a handler error with HTTP 500 and the error
  // JSON; Step Functions would raise the errorType, so raise it here too.
  if (!response.ok || body?.errorType) {
    throw Object.assign(new Error(body?.errorMessage ?? `HTTP ${response.status}`), {
      name: body?.errorType ?? 'Lambda.Unknown',
    });
  }
  return body;
}

/**
 * Virtual time across executions (scheduled mode): each execution is either
 * busy (between steps, or in a Task) or waiting for a wake time. When none
 * is busy, the earliest waits not past the horizon are granted: the clock
 * moves to that time and those executions go on.
 */
class VirtualTime {
  constructor(clockFile) {
    this.clockFile = clockFile;
    this.busy = 0;
    this.waits = [];
    this.seq = 0;
    this.horizon = -Infinity;
    this.onIdle = null;
  }

  enter() {
    this.busy += 1;
  }

  leave() {
    this.busy -= 1;
    this.pump();
  }

  /** Called by a busy execution: resolves when virtual time reaches `wake`. */
  until(wake) {
    return new Promise((resolve) => {
      this.waits.push({ wake, seq: this.seq++, resolve });
      this.busy -= 1;
      this.pump();
    });
  }

  nextWake() {
    return this.waits.length ? Math.min(...this.waits.map((w) => w.wake)) : null;
  }

  pump() {
    // Deferred, so that a step that ends and asks for its next time at once
    // is seen as waiting, not as idle in between.
    setImmediate(() => this.grant());
  }

  grant() {
    if (this.busy > 0) return;
    const clock = readClock(this.clockFile);
    const first = this.nextWake();
    if (first === null || first > this.horizon) {
      if (this.busy === 0 && this.onIdle) {
        const done = this.onIdle;
        this.onIdle = null;
        done();
      }
      return;
    }
    const at = Math.max(first, clock);
    if (at > clock) writeClock(this.clockFile, at);
    const due = this.waits.filter((w) => w.wake <= at).sort((a, b) => a.wake - b.wake || a.seq - b.seq);
    this.waits = this.waits.filter((w) => w.wake > at);
    this.busy += due.length;
    for (const w of due) w.resolve();
  }

  /** Runs everything due by `horizon`; resolves when nothing more is. */
  advance(horizon) {
    this.horizon = horizon;
    return new Promise((resolve) => {
      this.onIdle = resolve;
      this.pump();
    });
  }
}

async function runOne(raw, definition, request, spec, time = null) {
  const functionByResource = request.functions ?? FUNCTION_BY_RESOURCE;
  const clockFile = request.clockFile;
  const waitPaths = waitSecondsPaths(raw);
  const retries = retryTracker(raw);
  let lastTaskEnd = readClock(clockFile);
  // Step Functions gives `$$.Execution.StartTime` as the run's start; the
  // engine gives the real time, which the virtual clock runs hours ahead
  // of (and check-status hands a run over 5 hours after its start): the
  // Task parameters that carry it get the virtual start instead.
  const virtualStart = new Date(lastTaskEnd * 1000).toISOString();
  const tasks = [];
  let abort = null;
  let killed = false;
  const handlers = {};
  for (const [stateName, state] of Object.entries(raw.States)) {
    if (state.Type !== 'Task') continue;
    const fn = functionByResource[state.Resource];
    if (!fn) throw new Error(`Task ${stateName}: its Resource ${state.Resource} is none of the functions`);
    handlers[stateName] = async (given) => {
      const input = given && typeof given === 'object' && 'executionStartTime' in given
        ? { ...given, executionStartTime: virtualStart }
        : given;
      if (killed) throw Object.assign(new Error('execution killed'), { name: 'Killed' });
      // A retry waits its Retry's delay; a Task after a Wait, the Wait's seconds.
      const retryDelay = retries.delayBefore(stateName);
      const waitPath = waitPaths[stateName];
      const seconds = retryDelay ?? (waitPath ? plain(input, waitPath) : undefined);
      const wake = Number.isFinite(seconds) ? lastTaskEnd + seconds : readClock(clockFile);
      if (time) {
        await time.until(wake);
      } else if (wake > readClock(clockFile)) {
        writeClock(clockFile, wake);
      }
      const at = readClock(clockFile);
      try {
        const output = await invoke(request.functionsUrl, fn, input);
        retries.succeeded();
        tasks.push({ state: stateName, at, output, ...(retryDelay === undefined ? {} : { retry: true }) });
        return output;
      } catch (error) {
        retries.failed(stateName, error.name);
        tasks.push({ state: stateName, at, error: error.name, cause: error.message, ...(retryDelay === undefined ? {} : { retry: true }) });
        throw error;
      } finally {
        lastTaskEnd = readClock(clockFile);
        if (spec.killAfter === stateName) {
          killed = true;
          abort?.();
        }
      }
    };
  }
  const waitTimeOverrides = Object.fromEntries(
    Object.entries(raw.States).filter(([, s]) => s.Type === 'Wait').map(([n]) => [n, 0]),
  );
  const run = await runExecution(definition, spec.input ?? {}, {
    handlers,
    waitTimeOverrides,
    retryIntervalOverrides: Object.fromEntries(Object.keys(handlers).map((n) => [n, 0])),
    executionId: spec.id,
    maxTransitions: spec.maxTransitions ?? 2000,
    onStart: (execution) => { abort = () => execution.abort(); },
  });
  return {
    id: spec.id,
    status: killed ? 'KILLED' : run.status,
    error: run.error ?? null,
    cause: run.cause ?? null,
    transitions: run.transitions,
    path: run.path,
    problems: run.problems,
    tasks,
    output: run.output,
  };
}

/** Scheduled mode: commands on stdin, one answer per `advance`. */
async function serve() {
  const { createInterface } = await import('node:readline');
  const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
  let request = null;
  let raw = null;
  let definition = null;
  let time = null;
  const ended = [];
  const running = [];
  for await (const line of lines) {
    if (!line.trim()) continue;
    const command = JSON.parse(line);
    if (command.init) {
      request = command.init;
      ({ raw, definition } = readDefinition(request.definition));
      time = new VirtualTime(request.clockFile);
      process.stdout.write('{"ready":true}\n');
    } else if (command.start) {
      const spec = command.start;
      time.enter();
      running.push((async () => {
        await time.until(spec.startAt ?? readClock(request.clockFile));
        let result;
        try {
          result = await runOne(raw, definition, request, spec, time);
        } catch (error) {
          result = { id: spec.id, status: 'RUNNER_ERROR', error: error.name, cause: error.message, transitions: 0, path: [], tasks: [] };
        }
        ended.push({ ...result, startAt: spec.startAt ?? null });
        time.leave();
      })());
    } else if (command.execute) {
      let answer;
      try {
        answer = await executeAll(command.execute);
      } catch (error) {
        answer = { error: `${error.name}: ${error.message}` };
      }
      process.stdout.write(`${JSON.stringify(answer)}\n`);
    } else if (command.advance !== undefined) {
      await time.advance(command.advance);
      const answer = { ended: ended.splice(0), nextWake: time.nextWake(), clock: readClock(request.clockFile), busy: time.busy, waiting: time.waits.length, horizon: time.horizon };
      process.stdout.write(`${JSON.stringify(answer)}\n`);
    } else if (command.close) {
      break;
    }
  }
}

/** A definition (the export workflow's by default) as JSON and as the engine loads it. */
function readDefinition(path = DEFAULT_DEFINITION) {
  return { raw: JSON.parse(readFileSync(path, 'utf8')), definition: loadDefinition(path) };
}

/** A request's executions, all at once (they overlap), to their ends. */
async function executeAll(request) {
  const { raw, definition } = readDefinition(request.definition);
  const executions = await Promise.all(request.executions.map((spec) => runOne(raw, definition, request, spec)));
  return { executions };
}

async function main() {
  if (process.argv.includes('--serve')) {
    await serve();
    return;
  }
  const request = JSON.parse(readFileSync(0, 'utf8'));
  process.stdout.write(`${JSON.stringify(await executeAll(request))}\n`);
}

process.exitCode = 0;
await main();
