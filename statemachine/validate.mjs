#!/usr/bin/env node
// Validates the state machine definition (ASL, JSON).
//
//   node statemachine/validate.mjs [definition.asl.json]   (default: export.asl.json next to this file)
//   node statemachine/validate.mjs --self-test             (broken fixtures must fail, the real one must pass)
//
// Why: neither `sam validate --lint` nor cfn-lint checks the ASL. This script fills the SAM
// `${Name}` substitutions with plausible Lambda ARNs, runs asl-validator's library with ARN and
// path checks on, and adds the checks it lacks: unknown targets, unreachable states, Tasks
// without Retry/Catch/TimeoutSeconds, retrier fields it does not look at, missing comments.
// It also holds the definition to the functions' contract (contracts/functions.schema.json,
// generated from the Rust types): every outcome a function returns is routed somewhere, every
// outcome a Choice names is one the function returns, and the Task each branch reaches accepts
// that outcome as its input.
//
// asl-validator is loaded with require(), so NODE_PATH works (ES module imports ignore NODE_PATH),
// falling back to the tools cache of scripts/tools.sh.

import { readFileSync, realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const DEFAULT_DEFINITION = join(HERE, 'export.asl.json');
export const CONTRACT = join(HERE, '..', 'contracts', 'functions.schema.json');

/** The functions' contract: [{ name, resource, input, output }] (JSON Schemas). */
export function loadContract(path = CONTRACT) {
  return JSON.parse(readFileSync(path, 'utf8')).functions;
}

// Broken fixtures for --self-test, with a fragment of the error each must produce.
const BROKEN_FIXTURES = {
  'dangling-next.asl.json': 'not a state',
  'task-without-catch.asl.json': 'has no Catch',
  'unrouted-outcome.asl.json': 'is not routed',
  'wrong-input.asl.json': 'does not accept',
};

/** Loads a tool from node_modules, or from the project's tools cache. */
export function requireTool(name) {
  const require = createRequire(import.meta.url);
  try {
    return require(name);
  } catch (error) {
    if (error.code !== 'MODULE_NOT_FOUND' || !String(error.message).includes(`'${name}'`)) throw error;
  }
  const cache =
    process.env.INCX_CACHE || join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'incx');
  return require(require.resolve(name, { paths: [join(cache, 'node')] }));
}

const aslValidator = requireTool('asl-validator');

/** `DecideModeFunctionArn` -> `decide-mode`. */
function functionName(placeholder) {
  return placeholder
    .replace(/(Function)?Arn$/, '')
    .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
    .toLowerCase();
}

/** Replaces every `${Name}` with `arn:aws:lambda:us-east-1:123456789012:function:<name>`. */
export function substitute(text) {
  return text.replace(
    /\$\{([A-Za-z0-9_]+)\}/g,
    (_, name) => `arn:aws:lambda:us-east-1:123456789012:function:${functionName(name)}`,
  );
}

/** Every nested state machine (the root, Parallel branches, Map processors), with a label. */
function machines(definition, label = '') {
  const found = [{ label, machine: definition }];
  for (const [name, state] of Object.entries(definition.States ?? {})) {
    for (const [i, branch] of (state.Branches ?? []).entries()) {
      found.push(...machines(branch, `${label}${name}.Branches[${i}].`));
    }
    for (const inner of [state.ItemProcessor, state.Iterator]) {
      if (inner) found.push(...machines(inner, `${label}${name}.ItemProcessor.`));
    }
  }
  return found;
}

/** Names a state can go to next: Next, Default, each Choice rule's Next, each Catch's Next. */
function transitions(state) {
  const targets = [];
  if (state.Next !== undefined) targets.push(['Next', state.Next]);
  if (state.Default !== undefined) targets.push(['Default', state.Default]);
  for (const [i, rule] of (state.Choices ?? []).entries()) targets.push([`Choices[${i}].Next`, rule.Next]);
  for (const [i, catcher] of (state.Catch ?? []).entries()) targets.push([`Catch[${i}].Next`, catcher.Next]);
  return targets;
}

/** The checks asl-validator does not make. Returns a list of messages. */
function ownChecks(definition) {
  const errors = [];
  for (const { label, machine } of machines(definition)) {
    const states = machine.States ?? {};
    if (!(machine.StartAt in states)) errors.push(`${label}StartAt "${machine.StartAt}" is not a state`);
    for (const [name, state] of Object.entries(states)) {
      const where = `${label}${name}`;
      for (const [field, target] of transitions(state)) {
        if (!(target in states)) errors.push(`${where}: ${field} "${target}" is not a state`);
      }
      if (typeof state.Comment !== 'string' || state.Comment.trim() === '') {
        errors.push(`${where}: has no Comment saying why it exists`);
      }
      if (state.Type === 'Task') {
        if (!Array.isArray(state.Retry) || state.Retry.length === 0) errors.push(`${where}: Task has no Retry`);
        if (!Array.isArray(state.Catch) || state.Catch.length === 0) errors.push(`${where}: Task has no Catch`);
        if (!Number.isInteger(state.TimeoutSeconds) || state.TimeoutSeconds < 1) {
          errors.push(`${where}: Task has no TimeoutSeconds`);
        }
      }
      // asl-validator's schema lets any retrier field through.
      for (const [i, retrier] of (state.Retry ?? []).entries()) {
        if (retrier.JitterStrategy !== undefined && !['FULL', 'NONE'].includes(retrier.JitterStrategy)) {
          errors.push(`${where}: Retry[${i}].JitterStrategy must be FULL or NONE`);
        }
        if (
          retrier.MaxDelaySeconds !== undefined &&
          !(Number.isInteger(retrier.MaxDelaySeconds) && retrier.MaxDelaySeconds > 0)
        ) {
          errors.push(`${where}: Retry[${i}].MaxDelaySeconds must be a positive integer`);
        }
      }
    }
    // Reachability from StartAt.
    const seen = new Set();
    const queue = machine.StartAt in states ? [machine.StartAt] : [];
    while (queue.length > 0) {
      const name = queue.pop();
      if (seen.has(name)) continue;
      seen.add(name);
      for (const [, target] of transitions(states[name])) if (target in states) queue.push(target);
    }
    for (const name of Object.keys(states)) {
      if (!seen.has(name)) errors.push(`${label}${name}: unreachable from StartAt "${machine.StartAt}"`);
    }
  }
  return errors;
}

/** The `outcome` values a tagged contract schema allows (empty: not tagged). */
function outcomes(schema) {
  return (schema.oneOf ?? []).map((v) => v.properties?.outcome?.const).filter((o) => typeof o === 'string');
}

/** The Task a transition reaches, through Wait states (which pass their input on). */
function reachedTask(states, name) {
  const seen = new Set();
  while (states[name]?.Type === 'Wait' && !seen.has(name)) {
    seen.add(name);
    name = states[name].Next;
  }
  return states[name]?.Type === 'Task' ? name : null;
}

/** The definition held to the functions' contract. Returns a list of messages. */
export function contractChecks(definition, contract) {
  const errors = [];
  const states = definition.States ?? {};
  const byResource = new Map(contract.map((f) => [substitute(f.resource), f]));
  const fn = (name) => byResource.get(states[name]?.Resource);
  // `outcomes` may arrive at `target` (a state name): its Task must accept each.
  const arrive = (where, target, arriving) => {
    const task = reachedTask(states, target);
    if (!task || states[task].Parameters) return; // a Task with Parameters builds its own input
    const accepted = outcomes(fn(task)?.input ?? {});
    for (const o of arriving) {
      if (!accepted.includes(o)) errors.push(`${where}: ${task} (${fn(task)?.name}) does not accept ${o}`);
    }
  };
  for (const [name, state] of Object.entries(states)) {
    if (state.Type !== 'Task') continue;
    const f = fn(name);
    if (!f) {
      errors.push(`${name}: resource ${state.Resource} is none of the contract's functions`);
      continue;
    }
    for (const [key, value] of Object.entries(state.Parameters ?? {})) {
      if (key === 'outcome' && !outcomes(f.input).includes(value)) {
        errors.push(`${name}: ${f.name} does not accept the outcome ${value} its Parameters set`);
      }
    }
    const produced = outcomes(f.output);
    if (state.End || produced.length === 0) continue;
    const next = states[state.Next];
    if (next?.Type !== 'Choice') {
      arrive(name, state.Next, produced);
      continue;
    }
    let remaining = [...produced];
    for (const [i, rule] of (next.Choices ?? []).entries()) {
      const where = `${state.Next}.Choices[${i}]`;
      if (rule.Variable === '$.outcome' && typeof rule.StringEquals === 'string') {
        const o = rule.StringEquals;
        if (!produced.includes(o)) errors.push(`${where}: ${f.name} never returns ${o}`);
        arrive(where, rule.Next, [o]);
        remaining = remaining.filter((r) => r !== o);
      } else {
        arrive(where, rule.Next, remaining);
      }
    }
    if (next.Default === 'UnknownOutcome' || next.Default === undefined) {
      for (const o of remaining) errors.push(`${state.Next}: ${f.name}'s outcome ${o} is not routed`);
    } else {
      arrive(`${state.Next}.Default`, next.Default, remaining);
    }
  }
  return errors;
}

function countStates(definition) {
  return machines(definition).reduce((n, { machine }) => n + Object.keys(machine.States ?? {}).length, 0);
}

/** Validates one definition file. Returns { errors, states }. */
export function validateFile(path, contract = loadContract()) {
  let text;
  try {
    text = substitute(readFileSync(path, 'utf8'));
  } catch (error) {
    return { errors: [`cannot read ${path}: ${error.message}`], states: 0 };
  }
  const errors = [];
  const left = text.match(/\$\{[^}]*\}?/g);
  if (left) errors.push(`unsubstituted placeholder(s): ${[...new Set(left)].join(', ')}`);
  let definition;
  try {
    definition = JSON.parse(text);
  } catch (error) {
    return { errors: [...errors, `not JSON: ${error.message}`], states: 0 };
  }
  // The validator writes QueryLanguage into the states it is given: give it a copy.
  const result = aslValidator(structuredClone(definition), { checkArn: true, checkPaths: true });
  if (!result.isValid) errors.push(...result.errorsText('\n').split('\n').map((line) => `asl-validator: ${line}`));
  if (definition && typeof definition === 'object' && definition.States && typeof definition.States === 'object') {
    errors.push(...ownChecks(definition));
    // The export workflow is held to the five functions' contract; the
    // audit's definition calls only the audit function, whose contract is
    // its own Rust types (cli/src/scheduled/contract.rs) and their tests.
    const known = new Set(contract.map((f) => substitute(f.resource)));
    const resources = Object.values(definition.States).filter((s) => s?.Type === 'Task').map((s) => s.Resource);
    if (resources.some((r) => known.has(r)) || !resources.every((r) => r.endsWith(':function:audit'))) {
      errors.push(...contractChecks(definition, contract));
    }
  }
  return { errors, states: definition?.States ? countStates(definition) : 0 };
}

function selfTest() {
  const failures = [];
  for (const [fixture, expected] of Object.entries(BROKEN_FIXTURES)) {
    const { errors } = validateFile(join(HERE, 'tests', fixture));
    if (errors.length === 0) failures.push(`${fixture}: accepted, but it is broken`);
    else if (!errors.some((e) => e.includes(expected))) {
      failures.push(`${fixture}: rejected, but not for "${expected}": ${errors.join('; ')}`);
    }
  }
  const real = validateFile(DEFAULT_DEFINITION);
  if (real.errors.length > 0) failures.push(`${basename(DEFAULT_DEFINITION)}: ${real.errors.join('; ')}`);
  if (failures.length > 0) {
    for (const failure of failures) console.error(`self-test: ${failure}`);
    return 1;
  }
  console.log(
    `asl self-test: OK (${Object.keys(BROKEN_FIXTURES).length} broken fixtures rejected, ${basename(DEFAULT_DEFINITION)} accepted)`,
  );
  return 0;
}

function main(args) {
  if (args.includes('--self-test')) return selfTest();
  const unknown = args.filter((a) => a.startsWith('-'));
  if (unknown.length > 0 || args.length > 1) {
    console.error('usage: validate.mjs [--self-test | definition.asl.json]');
    return 2;
  }
  const path = args[0] ?? DEFAULT_DEFINITION;
  const { errors, states } = validateFile(path);
  if (errors.length > 0) {
    console.error(`asl: ${path} is invalid:`);
    for (const error of errors) console.error(`  ${error}`);
    return 1;
  }
  console.log(`asl: OK (${states} states)`);
  return 0;
}

// Run only as a script (the local engine and the runner import substitute()). Compare real paths:
// a symlinked checkout must not turn the check into a silent no-op.
if (process.argv[1] && realpathSync(fileURLToPath(import.meta.url)) === realpathSync(process.argv[1])) {
  process.exitCode = main(process.argv.slice(2));
}
