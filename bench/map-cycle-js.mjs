// The JavaScript side of the map-cycle case, as a coprocess (coprocess.mjs)
// so that each library gets a heap and a garbage collector of its own:
// mmap-io's garbage would otherwise be collected during kmmap's turn.
//
// Usage: node map-cycle-js.mjs kmmap|kmmap-path|mmap-io FILE LENGTH CYCLES [MMAP_IO_PREFIX]
// Each run: CYCLES times, map LENGTH bytes of FILE (shared, read-only), read
// one byte per page, unmap. kmmap and mmap-io map one fd opened at set-up;
// kmmap-path maps the path (map(path) opens, maps and closes the file).
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { touchPages } from './common.mjs';
import { kmmap } from './kmmap.mjs';

const [library, file, lengthText, cyclesText, mmapIoPrefix] = process.argv.slice(2);
const length = Number(lengthText);
const cycles = Number(cyclesText);
if (!['kmmap', 'kmmap-path', 'mmap-io'].includes(library) || !file || !(length > 0) || !(cycles > 0)) {
  console.error('usage: map-cycle-js.mjs kmmap|kmmap-path|mmap-io FILE LENGTH CYCLES [MMAP_IO_PREFIX]');
  process.exit(2);
}
const fd = fs.openSync(file, 'r');

/** Mappings of the file still in this process's address space. */
function leftoverMappings() {
  return fs.readFileSync('/proc/self/maps', 'utf8').split('\n').filter((line) => line.endsWith(` ${file}`)).length;
}

/** kmmap by fd, or by path for kmmap-path (map() then opens, maps and closes the file). */
const kmmapTarget = library === 'kmmap-path' ? file : fd;

function kmmapCycles() {
  let check = 0;
  for (let i = 0; i < cycles; i++) {
    const mapping = kmmap.map(kmmapTarget, { length });
    check += touchPages(mapping.buffer);
    mapping.close();
  }
  return check;
}

let mmapIo;
let gc;
if (library === 'mmap-io') {
  mmapIo = createRequire(path.join(mmapIoPrefix, 'index.js'))('mmap-io');
  setFlagsFromString('--expose-gc');
  gc = runInNewContext('gc');
}

// mmap-io has no unmap: a mapping goes when the garbage collector has freed
// its Buffer and Node then runs its finalizer, on a later turn of the event
// loop, some turns after the collection. A repetition ends when its mappings
// are gone, as /proc/self/maps shows, but one: the last Buffer stays
// reachable through one collection and goes in the next repetition's, so
// each repetition still unmaps as many mappings as it maps.
async function mmapIoCycles() {
  let check = 0;
  for (let i = 0; i < cycles; i++) {
    check += touchPages(mmapIo.map(length, mmapIo.PROT_READ, mmapIo.MAP_SHARED, fd, 0));
  }
  gc();
  let turns = 0;
  do {
    await new Promise((resolve) => setImmediate(resolve));
    // Rarely, the collection still found them reachable: collect again.
    if (++turns % 100 === 0) gc();
  } while (leftoverMappings() > 1);
  return check;
}

const cycle = library === 'mmap-io' ? mmapIoCycles : kmmapCycles;
const allowedLeftover = library === 'mmap-io' ? 1 : 0;
console.log('ready');
for await (const line of createInterface({ input: process.stdin })) {
  if (line !== 'run') throw new Error(`unexpected command: ${line}`);
  const start = process.hrtime.bigint();
  const check = await cycle();
  const took = process.hrtime.bigint() - start;
  const leftover = leftoverMappings();
  if (leftover > allowedLeftover) throw new Error(`${library}: ${leftover} mappings of ${file} outlived the run`);
  console.log(`${took} ${check}`);
}
