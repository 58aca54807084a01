// The scan case's contenders, as a coprocess (bench/coprocess.mjs protocol):
// kmmap under Node, Bun.mmap under Bun, the same loop for both. Set-up maps
// FILE once and touches every page; each run reads one byte in every 64 of
// it (every cache line) and sums them.
//
// Usage: node scan-js.mjs kmmap FILE | bun scan-js.mjs bun FILE
import { createInterface } from 'node:readline';

const [library, file] = process.argv.slice(2);
if (!['kmmap', 'bun'].includes(library) || !file) {
  console.error('usage: scan-js.mjs kmmap|bun FILE');
  process.exit(2);
}

let bytes;
let mapping;
if (library === 'bun') {
  if (typeof Bun === 'undefined') throw new Error('scan-js.mjs bun runs under Bun');
  bytes = Bun.mmap(file, { shared: true });
} else {
  const { kmmap } = await import('./kmmap.mjs');
  mapping = kmmap.map(file);
  bytes = mapping.buffer;
}

/** One byte of every cache line. */
function scan(view) {
  let sum = 0;
  for (let i = 0; i < view.length; i += 64) sum += view[i];
  return sum;
}

scan(bytes); // touches every page: no fault is timed
console.log('ready');
for await (const line of createInterface({ input: process.stdin })) {
  if (line !== 'run') throw new Error(`unexpected command: ${line}`);
  const start = process.hrtime.bigint();
  const check = scan(bytes);
  console.log(`${process.hrtime.bigint() - start} ${check}`);
}
mapping?.close();
