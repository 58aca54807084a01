// The native addon's raw surface, typed in one place. Nothing here validates:
// lib/ checks every argument before it reaches these functions.
import * as path from 'node:path';

export interface NativeBinding {
  /** mmap(2); returns an external ArrayBuffer over the mapped memory. */
  map(fd: number, length: number, offset: bigint, prot: number, flags: number): ArrayBuffer;
  /** Detaches the ArrayBuffer, then munmap(2). false if it was already detached. */
  unmap(buffer: ArrayBuffer): boolean;
  /** Address of the first byte of a buffer or view. */
  addressOf(buffer: ArrayBuffer | ArrayBufferView): bigint;
  /** sysconf(_SC_PAGESIZE). */
  readonly pageSize: number;
  /**
   * pread(2) of 8-byte entries (pagemap, kpageflags, kpagecount) from index
   * `firstIndex`; returns entries read, fewer only at the end of the file.
   */
  readEntries(fd: number, firstIndex: number, out: BigUint64Array): number;
  /**
   * ioctl(PAGEMAP_SCAN) on a pagemap fd: fills `out` with (start, end,
   * categories) triples; walkEnd < end when `out` filled up first.
   */
  pagemapScan(fd: number, start: bigint, end: bigint, returnMask: number, out: BigUint64Array): { regions: number; walkEnd: bigint };
  /** ioctl(2) with `arg` (or NULL) as the argument pointer. */
  ioctl(fd: number, request: number, arg: Uint8Array | null): number;
}

// node-gyp-build finds build/Release or a prebuild for this platform.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const load = require('node-gyp-build') as (dir: string) => NativeBinding;

export const native: NativeBinding = load(path.join(__dirname, '..'));
