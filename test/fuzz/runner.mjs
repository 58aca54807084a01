// The fuzzer's parent process: generates programs from seeds (fast-check),
// runs them in batches in child processes so that a signal, an abort or a
// hang is observed, groups failures by class, shrinks the first program of
// each class to a minimal one (fast-check's shrinker, each candidate run in
// a fresh child), and prints a summary.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { profileOf, programArbitrary } from './program.mjs';
import { encode } from './values.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const REPO = path.resolve(HERE, '..', '..');
const CHILD = path.join(HERE, 'child.mjs');

/** The seed of program i of a run: one 31-bit number that alone regenerates the program. */
export function programSeed(runSeed, i) {
  return mix32((mix32(runSeed >>> 0) + Math.imul(i + 1, 0x9e3779b9)) >>> 0) & 0x7fffffff;
}

function mix32(x) {
  let h = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

export function programOf(seed) {
  return fc.sample(programArbitrary(profileOf(seed)), { seed, numRuns: 1 })[0];
}

/**
 * Runs a job in a child process. Returns { results, crash, lines, trace, leak }:
 * results per program; crash = { kind, seed, where, detail } if the child died
 * or hung (then the programs after `seed` did not run).
 */
export function runChild(job, { hangMs }) {
  return new Promise((resolve) => {
    const file = path.join(os.tmpdir(), `kmmap-fuzz-job-${process.pid}-${Math.random().toString(36).slice(2)}.json`);
    fs.writeFileSync(file, encode(job));
    const child = spawn(process.execPath, ['--expose-gc', CHILD, file], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
    const state = { seed: undefined, label: 'start', results: [], trace: [], leak: [], done: undefined, stderr: '' };
    let buffered = '';
    let timer;
    let hung = false;
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        hung = true;
        child.kill('SIGKILL');
      }, hangMs);
    };
    arm();
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk) => {
      arm();
      buffered += chunk;
      let nl;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        const tag = line.slice(0, 1);
        const rest = line.slice(2);
        if (tag === 'P') {
          state.seed = Number(rest);
          state.label = 'start';
          state.trace = [];
        } else if (tag === 'C') {
          state.label = rest.slice(rest.indexOf(' ') + 1);
        } else if (tag === 'T') {
          state.trace.push(JSON.parse(rest));
        } else if (tag === 'R') {
          const r = JSON.parse(rest);
          if (r.violation) r.violation.label = state.label;
          r.trace = state.trace;
          state.results.push(r);
        } else if (tag === 'L') {
          state.leak.push(JSON.parse(rest));
        } else if (tag === 'D') {
          state.done = JSON.parse(rest);
        } else if (tag === 'E') {
          state.dir = rest;
        }
      }
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk) => {
      state.stderr = (state.stderr + chunk).slice(-4000);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      fs.rmSync(file, { force: true });
      if (state.dir?.startsWith(os.tmpdir())) fs.rmSync(state.dir, { recursive: true, force: true });
      let crash;
      if (hung) {
        crash = { kind: 'hang', detail: `no progress for ${hangMs / 1000} s` };
      } else if (!state.done) {
        const fatal = /FATAL ERROR[^\n]*|Abort[^\n]*|bad_alloc[^\n]*|Assertion[^\n]*/.exec(state.stderr)?.[0];
        const kind = signal === 'SIGABRT' || fatal ? 'abort' : signal ? `signal:${signal}` : `exit:${code}`;
        crash = { kind, detail: `${signal ? `killed by ${signal}` : `exit status ${code}`}${fatal ? `: ${fatal}` : ''}${state.stderr && !fatal ? `: ${state.stderr.trim().split('\n').slice(-3).join(' | ').slice(0, 300)}` : ''}` };
      }
      if (crash) Object.assign(crash, { seed: state.seed, where: state.label, trace: state.trace });
      resolve({ results: state.results, crash, done: state.done, leak: state.leak });
    });
  });
}

/**
 * Runs programs ({ seed, program }) in child processes: after a crash or a
 * hang, the programs after the one that died run in a fresh child.
 * Returns { programs, calls, checks, failures, results, cleanMs, cleanPrograms }.
 */
export async function runPrograms(list, options) {
  const out = { programs: 0, calls: 0, workerCalls: 0, checks: 0, failures: [], results: [], cleanMs: 0, cleanPrograms: 0 };
  let rest = list;
  while (rest.length > 0) {
    const outcome = await runChild({ repo: REPO, programs: rest, cliTimeout: options.cliTimeout }, options);
    for (const r of outcome.results) {
      out.programs++;
      out.calls += r.calls ?? 0;
      out.workerCalls += r.workerCalls ?? 0;
      out.checks += r.checks ?? 0;
      out.results.push(r);
      if (r.violation) out.failures.push({ seed: r.seed, kind: r.violation.kind, where: r.violation.label, detail: r.violation.detail });
      else {
        out.cleanMs += r.ms ?? 0;
        out.cleanPrograms++;
      }
    }
    if (!outcome.crash) break;
    out.programs++;
    const crash = outcome.crash;
    if (crash.seed === undefined) {
      out.failures.push({ seed: rest[0].seed, kind: crash.kind, where: 'startup', detail: crash.detail });
      break;
    }
    out.failures.push({ seed: crash.seed, kind: crash.kind, where: crash.where, detail: crash.detail });
    const at = rest.findIndex((p) => p.seed === crash.seed);
    rest = rest.slice(at + 1);
  }
  return out;
}

/** A failure's class: what went wrong, in which kind of call. */
export function classOf(failure) {
  return `${failure.kind} @ ${failure.where}`;
}

/** Crashes of asynchronous work surface wherever the program happens to be: for them the kind alone decides. */
function sameClass(a, b) {
  const kind = (k) => k.slice(0, k.indexOf(' @ '));
  const crash = (k) => /^(signal:|abort|hang|exit:)/.test(k);
  return a === b || (crash(a) && kind(a) === kind(b));
}

function failureOfSingle(outcome) {
  if (outcome.crash) return { kind: outcome.crash.kind, where: outcome.crash.where, detail: outcome.crash.detail, trace: outcome.crash.trace };
  const r = outcome.results[0];
  if (r?.violation) return { kind: r.violation.kind, where: r.violation.label, detail: r.violation.detail, trace: r.trace };
  return undefined;
}

/** Runs one program alone in a fresh child; its failure, if any, with the program's source. */
export async function runSingle(program, options) {
  const outcome = await runChild({ repo: REPO, programs: [{ seed: 0, program }], trace: true, cliTimeout: options.cliTimeout }, options);
  return failureOfSingle(outcome);
}

/**
 * Shrinks the program of `seed` to a minimal one that fails the same way.
 * Returns { reproduced, program, failure, path }.
 */
export async function shrink(seed, klass, options, pathOption) {
  const deadline = Date.now() + options.shrinkMs;
  let last;
  let evaluations = 0;
  const property = fc.asyncProperty(programArbitrary(profileOf(seed)), async (program) => {
    if (last && Date.now() > deadline) return true;
    evaluations++;
    const failure = await runSingle(program, options);
    if (failure && (klass === undefined || sameClass(classOf(failure), klass))) {
      last = { program, failure };
      return false;
    }
    return true;
  });
  const result = await fc.check(property, { seed, numRuns: 1, ...(pathOption ? { path: pathOption } : {}) });
  return { reproduced: result.failed, program: last?.program, failure: last?.failure, path: result.counterexamplePath, evaluations };
}

function formatBytes(n) {
  return `${(n / 2 ** 20).toFixed(1)} MiB`;
}

/** The whole run: options as scripts/fuzz.mjs parses them. Returns the exit status. */
export async function fuzz(options) {
  const log = options.log ?? ((line) => process.stdout.write(`${line}\n`));
  const started = Date.now();
  const deadline = options.timeSeconds ? started + options.timeSeconds * 1000 : Infinity;
  const childOptions = { hangMs: options.hangMs, cliTimeout: options.cliTimeout, shrinkMs: options.shrinkSeconds * 1000 };

  if (options.replay) {
    const seed = options.seed;
    log(`kmmap fuzz: replaying seed ${seed} (${profileOf(seed)} program)${options.path ? `, path ${options.path}` : ''}`);
    const program = programOf(seed);
    const failure = await runSingle(program, childOptions);
    if (!failure && !options.path) {
      log('no failure: the program passes every oracle');
      return 0;
    }
    const shrunk = await shrink(seed, failure ? classOf(failure) : undefined, childOptions, options.path);
    const minimal = shrunk.failure ?? failure;
    if (!minimal) {
      log('no failure');
      return 0;
    }
    log(`failure: ${classOf(minimal)}: ${minimal.detail}`);
    log(`minimal program (fast-check path ${shrunk.path}, ${shrunk.evaluations} runs):`);
    for (const line of minimal.trace) log(`  ${line}`);
    return 1;
  }

  const runSeed = options.seed;
  const perBatch = options.programsPerBatch;
  const failures = [];
  let calls = 0;
  let workerCalls = 0;
  let leakCalls = 0;
  let checks = 0;
  let programs = 0;
  let batches = 0;
  let index = 0;
  let leakPhases = [];
  let cleanMs = 0;
  let cleanPrograms = 0;
  const firstSeed = programSeed(runSeed, 0);
  log(`kmmap fuzz: run seed ${runSeed}, at least ${options.calls} calls${options.timeSeconds ? `, at most ${options.timeSeconds} s` : ''}, ${perBatch} programs per child process, ${options.jobs} at a time`);

  // The leak phases run first, beside the batches.
  const leakRun = options.leak > 0 ? runChild({ repo: REPO, mode: 'leak', count: options.leak }, { hangMs: Math.max(options.hangMs, 120_000) }) : undefined;

  const nextBatch = () => {
    const list = [];
    for (let i = 0; i < perBatch; i++) {
      const seed = programSeed(runSeed, index++);
      list.push({ seed, program: programOf(seed) });
    }
    return list;
  };
  const enough = () => calls >= options.calls || (options.batches && batches >= options.batches) || Date.now() > deadline;

  async function runBatch(list) {
    const r = await runPrograms(list, childOptions);
    programs += r.programs;
    calls += r.calls;
    workerCalls += r.workerCalls;
    checks += r.checks;
    cleanMs += r.cleanMs;
    cleanPrograms += r.cleanPrograms;
    failures.push(...r.failures);
    batches++;
  }

  const running = new Set();
  while (!enough()) {
    while (running.size < options.jobs && !enough()) {
      const p = runBatch(nextBatch()).then(() => running.delete(p));
      running.add(p);
      // Let the first batches report before deciding on more.
      if (batches === 0 && running.size >= 1 && options.jobs === 1) break;
    }
    await Promise.race(running);
    if (!options.quiet) log(`  ${programs} programs, ${calls} calls, ${failures.length} failures, ${((Date.now() - started) / 1000).toFixed(0)} s`);
  }
  await Promise.all(running);

  if (leakRun) {
    const outcome = await leakRun;
    leakPhases = outcome.leak;
    leakCalls = outcome.done?.calls ?? leakPhases.reduce((sum, p) => sum + p.count * (p.name.endsWith('-close') ? 2 : 1), 0);
    for (const v of outcome.done?.violations ?? []) failures.push({ seed: null, kind: v.kind, where: v.where, detail: v.detail });
    if (outcome.crash) failures.push({ seed: null, kind: outcome.crash.kind, where: outcome.crash.where, detail: outcome.crash.detail });
  }
  const seconds = (Date.now() - started) / 1000;

  // Group by class; shrink the first program of each.
  const classes = new Map();
  for (const f of failures) {
    const key = classOf(f);
    if (!classes.has(key)) classes.set(key, []);
    classes.get(key).push(f);
  }
  log('');
  log(`== summary: run seed ${runSeed} ==`);
  log(`programs ${programs} (seeds programSeed(${runSeed}, 0..${index - 1}), first ${firstSeed}), batches ${batches}`);
  log(`calls ${calls} in programs (${checks} read-back checks), ${leakCalls} in the leak phases, ${workerCalls} loops of calls in workers terminated at random moments`);
  log(`time ${seconds.toFixed(1)} s, ${(calls / seconds).toFixed(0)} program calls/s; programs without a failure: ${cleanPrograms}, ${(cleanMs / Math.max(1, cleanPrograms)).toFixed(1)} ms each in their child`);
  for (const p of leakPhases) {
    const d = (key, f = (x) => x) => `${f(p.base[key])} -> peak ${f(p.peak[key])} -> after gc ${f(p.after[key])}`;
    log(`leak ${p.name.padEnd(14)} ${p.count} mappings in ${p.seconds.toFixed(1)} s: fds ${d('fds')}; maps ${d('maps')}; RSS ${d('rss', formatBytes)}${p.refused ? `; refused at ${p.refused.at}: ${p.refused.code}` : ''}`);
  }
  if (options.leak > 0 && leakPhases.length < 9) log(`leak phases: ${leakPhases.length} of 9 finished (the child died or hung: see failures)`);
  log(`failures: ${failures.length} in ${classes.size} classes`);
  for (const [key, list] of classes) {
    const seeds = list.map((f) => f.seed).filter((s) => s !== null);
    log(`  ${key}: ${list.length}${seeds.length ? ` (seeds ${seeds.slice(0, 5).join(', ')}${seeds.length > 5 ? ', ...' : ''})` : ''}`);
    log(`      ${list[0].detail.split('\n')[0].slice(0, 400)}`);
  }
  const report = { runSeed, programs, batches, calls, leakCalls, workerCalls, checks, seconds, cleanPrograms, cleanMs, leak: leakPhases, classes: [] };
  if (options.shrink) {
    const budgetEnd = options.shrinkTotalSeconds ? Date.now() + options.shrinkTotalSeconds * 1000 : Infinity;
    for (const [key, list] of classes) {
      const entry = { class: key, count: list.length, seeds: list.map((f) => f.seed), detail: list[0].detail };
      report.classes.push(entry);
      const candidates = list.filter((f) => f.seed !== null).slice(0, 3);
      let first;
      let shrunk;
      for (const candidate of candidates) {
        if (Date.now() > budgetEnd) break;
        shrunk = await shrink(candidate.seed, key, childOptions);
        first = candidate;
        if (shrunk.reproduced) break;
      }
      if (!shrunk) continue;
      log('');
      if (!shrunk.reproduced) {
        log(`-- ${key}: seeds ${candidates.map((c) => c.seed).join(', ')} do not fail this way when run alone (timing, or programs before them in the same child)`);
        entry.reproducedAlone = false;
        continue;
      }
      entry.seed = first.seed;
      entry.minimal = shrunk.failure.trace;
      entry.path = shrunk.path;
      log(`-- ${key}: seed ${first.seed}; reproduce: npm run fuzz -- --seed ${first.seed} --replay`);
      log(`   ${shrunk.failure.detail.slice(0, 400)}`);
      log(`   minimal program (${shrunk.evaluations} runs; fast-check path ${shrunk.path}):`);
      for (const line of shrunk.failure.trace) log(`     ${line}`);
    }
  } else {
    for (const [key, list] of classes) report.classes.push({ class: key, count: list.length, seeds: list.map((f) => f.seed), detail: list[0].detail });
  }
  if (options.json) fs.writeFileSync(options.json, JSON.stringify(report, null, 2));
  log('');
  log(`${calls} calls (+ ${leakCalls} in leak phases, ${workerCalls} worker loops), ${failures.length} failures`);
  return failures.length > 0 ? 1 : 0;
}
