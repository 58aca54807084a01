// The reference scenario from Node: `npm run demo` (or node dist/demo.js).
// Prints the reference C program's step lines and stops with a non-zero
// exit status at the first check that fails.
import * as fs from 'node:fs';
import { lkmcPhysicalAddress } from './lkmc';
import { LKMC_MMAP_PATH } from './uapi';
import { map } from './map';
import { PAGE_SIZE } from './page';
import { physicalAddress } from './pagemap';

function check(condition: boolean, what: string): void {
  if (!condition) throw new Error(`check failed: ${what}`);
}

function cString(buffer: Buffer): string {
  return buffer.toString('latin1', 0, buffer.indexOf(0));
}

const hex = (value: bigint) => `0x${value.toString(16)}`;

export function runReferenceScenario(path: string = LKMC_MMAP_PATH, log: (line: string) => void = console.log): void {
  log(`open pathname = ${path}`);
  const fd = fs.openSync(path, fs.constants.O_RDWR | fs.constants.O_SYNC);
  log(`fd = ${fd}`);

  log('mmap 1');
  const map1 = map(fd, { length: PAGE_SIZE, access: 'rw' });
  log('mmap 2');
  const map2 = map(fd, { length: PAGE_SIZE, access: 'rw' });
  check(map1.address !== map2.address, 'the two mappings have different addresses');

  log('access 1');
  check(cString(map1.buffer) === 'asdf', 'mapping 1 reads "asdf"');
  log('access 2');
  check(cString(map2.buffer) === 'asdf', 'mapping 2 reads "asdf"');
  map1.buffer.write('qwer\0', 'latin1');
  check(cString(map2.buffer) === 'qwer', 'a write through mapping 1 shows in mapping 2');

  const paddr1 = physicalAddress(map1);
  const paddr2 = physicalAddress(map2);
  log(`paddr1 = ${hex(paddr1)}`);
  log(`paddr2 = ${hex(paddr2)}`);
  check(paddr1 === paddr2, 'both mappings are the same physical page');
  check(lkmcPhysicalAddress(fd) === paddr1, 'the kernel reports the same physical address as pagemap');

  const message = Buffer.alloc(4);
  fs.readSync(fd, message, 0, 4, null);
  check(message.toString('latin1') === 'qwer', 'read(2) sees the write made through the mapping');
  fs.writeSync(fd, 'zxcv', null, 'latin1');
  check(cString(map1.buffer) === 'zxcv' && cString(map2.buffer) === 'zxcv', 'both mappings see write(2)');

  log('munmap 1');
  map1.close();
  log('munmap 2');
  map2.close();
  log('close');
  fs.closeSync(fd);
}

if (require.main === module) {
  try {
    runReferenceScenario(process.argv[2]);
  } catch (err) {
    console.error(err instanceof Error ? err.message : err);
    process.exitCode = 1;
  }
}
