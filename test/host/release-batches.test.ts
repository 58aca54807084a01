// Closed mappings whose views were collected are munmapped in batches
// on Node (native/mapping.cc, "Releasing ranges in batches"): their
// finalizers only queue the ranges, and the queue goes on the next turn of
// the event loop. (Under Deno and Bun each goes at once; the same holds.)
// What must still hold: the address space comes back after a collection and
// a few turns even when kmmap is never called again, and none outlives the
// worker that made it. Each case runs in a child process that counts the
// private anonymous memory in /proc/self/maps (what a closed range is until
// it is released): 4,000 closed 64 KiB mappings are 250 MiB of it.
import { expect, it, vi } from 'vitest';
import { perTestFiles, runNode } from '../helpers';

vi.setConfig({ testTimeout: 60_000 });

const files = perTestFiles();
const MAPPINGS = 4000;
const SIZE = 64 * 1024;

/** A child script with `map`, `file`, `anonymous()` (MiB of private anonymous memory) and `cycles()` in scope. */
function script(body: string, file: string): string {
  return `
    const fs = require('node:fs');
    const { map } = require('./dist');
    const file = ${JSON.stringify(file)};
    const anonymous = () => fs.readFileSync('/proc/self/maps', 'latin1').split('\\n').filter(Boolean).reduce((sum, line) => {
      const [range, perms, , , , name] = line.split(/\\s+/);
      if (perms !== 'rw-p' || name) return sum;
      const [start, end] = range.split('-').map((hex) => parseInt(hex, 16));
      return sum + (end - start);
    }, 0) / 2 ** 20;
    // map, touch, close: each closed range waits for its view to be collected.
    const cycles = () => { let sum = 0; for (let i = 0; i < ${MAPPINGS}; i++) { const m = map(file); sum += m.buffer[0]; m.close(); } return sum; };
    const turn = () => new Promise((resolve) => setImmediate(resolve));
    (async () => { ${body} })().then(() => console.log('ok'), (err) => { console.error(err); process.exit(1); });
  `;
}

function parse(stdout: string): { before: number; closed: number; after: number } {
  const line = stdout.split('\n').find((l) => l.startsWith('{'));
  expect(line, stdout).toBeDefined();
  return JSON.parse(line!) as { before: number; closed: number; after: number };
}

it('releases the closed ranges of a burst of finalizers on the next turns, with no further call into kmmap', () => {
  const file = files.fileOf(Buffer.alloc(SIZE, 1));
  const result = runNode(script(`
    const before = anonymous();
    cycles();
    const closed = anonymous();
    // Collect the views; from here kmmap is not called again.
    for (let i = 0; i < 5; i++) { globalThis.gc(); await turn(); }
    console.log(JSON.stringify({ before, closed, after: anonymous() }));
  `, file), { nodeFlags: ['--expose-gc'] });
  expect(result.status, result.stderr).toBe(0);
  const { before, closed, after } = parse(result.stdout);
  const burst = (MAPPINGS * SIZE) / 2 ** 20;
  // The closed ranges were there, then all went back (V8's heap moves a few MiB either way).
  expect(closed - before, result.stdout).toBeGreaterThan(burst * 0.9);
  expect(closed - after, result.stdout).toBeGreaterThan(burst * 0.9);
});

it("leaves none of a worker's closed ranges behind when the worker ends, queued or not", () => {
  const file = files.fileOf(Buffer.alloc(SIZE, 2));
  const result = runNode(script(`
    const { Worker } = require('node:worker_threads');
    const before = anonymous();
    const worker = new Worker(\`
      const { map } = require(\${JSON.stringify(require.resolve('./dist'))});
      const { parentPort } = require('node:worker_threads');
      (\${cycles.toString().replace('map(file)', 'map(' + JSON.stringify(file) + ')')})();
      // Bun's workers have no globalThis.gc, only Bun.gc.
      (globalThis.gc ?? (() => Bun.gc(true)))();
      // End a few turns after the collection, while its finalizers and the
      // queue's turn are under way (a worker's own malloc arena and heap
      // leave about 12 MiB behind in any case).
      setImmediate(() => setImmediate(() => { parentPort.postMessage('closed'); process.exit(0); }));
    \`, { eval: true });
    let closed = 0;
    worker.on('message', () => { closed = anonymous(); });
    const status = await new Promise((resolve) => worker.on('exit', resolve));
    if (status !== 0) throw new Error('worker exited with ' + status);
    console.log(JSON.stringify({ before, closed, after: anonymous() }));
  `, file), { nodeFlags: ['--expose-gc'] });
  expect(result.status, result.stderr).toBe(0);
  const { before, after } = parse(result.stdout);
  // Nothing of the worker's 250 MiB of closed ranges outlives it.
  expect(after - before, result.stdout).toBeLessThan(32);
});
