// Bun's Bun.mmap() in the map-cycle case, as a coprocess run by Bun
// (bench/coprocess.mjs protocol). Bun.mmap takes a path and has no unmap: a
// mapping goes when JavaScriptCore collects its Uint8Array. So each
// repetition maps, touches and drops CYCLES mappings, then collects
// (Bun.gc(true), synchronous) until /proc/self/maps shows them gone but
// one: the time counts the unmapping too, as the other contenders' does.
// JavaScriptCore scans the stack conservatively, so the last mapping may
// still look reachable; it goes in the next repetition, which therefore
// still unmaps as many mappings as it maps.
//
// Usage: bun map-cycle-bun.mjs FILE LENGTH CYCLES
import * as fs from 'node:fs';
import { createInterface } from 'node:readline';

const [file, lengthText, cyclesText] = process.argv.slice(2);
const length = Number(lengthText);
const cycles = Number(cyclesText);
if (typeof Bun === 'undefined' || !file || !(length > 0) || !(cycles > 0)) {
  console.error('usage: bun map-cycle-bun.mjs FILE LENGTH CYCLES');
  process.exit(2);
}
const PAGE = 4096;

/** Mappings of the file still in this process's address space. */
function leftoverMappings() {
  return fs.readFileSync('/proc/self/maps', 'utf8').split('\n').filter((line) => line.endsWith(` ${file}`)).length;
}

function run() {
  let check = 0;
  for (let c = 0; c < cycles; c++) {
    const bytes = Bun.mmap(file, { size: length, shared: true });
    for (let i = 0; i < length; i += PAGE) check += bytes[i];
  }
  for (let tries = 0; leftoverMappings() > 1; tries++) {
    if (tries === 100) throw new Error(`${leftoverMappings()} mappings of ${file} outlived 100 collections`);
    Bun.gc(true);
  }
  return check;
}

console.log('ready');
for await (const line of createInterface({ input: process.stdin })) {
  if (line !== 'run') throw new Error(`unexpected command: ${line}`);
  const start = Bun.nanoseconds();
  const check = run();
  console.log(`${Bun.nanoseconds() - start} ${check}`);
}
