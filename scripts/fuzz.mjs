// npm run fuzz -- [--seed N] [--calls N] [--batches N] [--time S] [--replay [--path P]]
//                 [--leak N] [--jobs N] [--programs-per-batch N] [--no-shrink]
//                 [--shrink-time S] [--hang-ms MS] [--json FILE] [--quiet]
//
// A seeded property-based fuzzer of kmmap's public API and CLI (test/fuzz/).
// Exit status 0 when no oracle was violated, 1 otherwise, 2 on bad usage.
import { parseArgs } from 'node:util';
import { fuzz } from '../test/fuzz/runner.mjs';

let parsed;
try {
  parsed = parseArgs({
    options: {
      seed: { type: 'string' },
      calls: { type: 'string', default: '100000' },
      batches: { type: 'string' },
      time: { type: 'string' },
      replay: { type: 'boolean', default: false },
      path: { type: 'string' },
      leak: { type: 'string', default: '100000' },
      jobs: { type: 'string', default: '1' },
      'programs-per-batch': { type: 'string', default: '150' },
      'no-shrink': { type: 'boolean', default: false },
      'shrink-time': { type: 'string', default: '90' },
      'shrink-total': { type: 'string', default: '900' },
      'hang-ms': { type: 'string', default: '20000' },
      'cli-timeout': { type: 'string', default: '10000' },
      json: { type: 'string' },
      quiet: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
} catch (err) {
  console.error(`fuzz: ${err.message}`);
  process.exit(2);
}
const v = parsed.values;
if (v.help) {
  console.log(`Usage: npm run fuzz -- [options]

  --seed N               run seed (default: from the clock, printed); with --replay, a program's seed
  --calls N              stop after at least N calls (default 100000)
  --batches N            stop after N child processes
  --time S               stop starting batches after S seconds
  --replay               run the program of --seed alone, shrink it, print it
  --path P               with --replay: fast-check path of a shrunk program
  --leak N               mappings per leak phase (3 kinds x close, drop, drop-sync; default 100000, 0: none)
  --jobs N               child processes at a time (default 1)
  --programs-per-batch N programs per child process (default 150)
  --no-shrink            report failures without shrinking them
  --shrink-time S        time to shrink each failure class (default 90)
  --shrink-total S       time to shrink all classes (default 900)
  --hang-ms MS           a child silent this long is hung (default 20000)
  --cli-timeout MS       a kmmap command running this long is hung (default 10000)
  --json FILE            also write the summary as JSON`);
  process.exit(0);
}
const int = (name, text) => {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text)) {
    console.error(`fuzz: --${name} must be a non-negative integer, not '${text}'`);
    process.exit(2);
  }
  return Number(text);
};
const seed = v.seed === undefined ? Date.now() % 2 ** 31 : int('seed', v.seed);
if (v.replay && v.seed === undefined) {
  console.error('fuzz: --replay needs --seed (a program seed from a failure report)');
  process.exit(2);
}
process.exitCode = await fuzz({
  seed,
  calls: int('calls', v.calls),
  batches: int('batches', v.batches),
  timeSeconds: int('time', v.time),
  replay: v.replay,
  path: v.path,
  leak: int('leak', v.leak),
  jobs: Math.max(1, int('jobs', v.jobs)),
  programsPerBatch: Math.max(1, int('programs-per-batch', v['programs-per-batch'])),
  shrink: !v['no-shrink'],
  shrinkSeconds: int('shrink-time', v['shrink-time']),
  shrinkTotalSeconds: int('shrink-total', v['shrink-total']),
  hangMs: int('hang-ms', v['hang-ms']),
  cliTimeout: int('cli-timeout', v['cli-timeout']),
  json: v.json,
  quiet: v.quiet,
});
