// The native addon's raw surface, typed in one place. Nothing here validates:
// lib/ checks every argument before it reaches these functions.
import * as path from 'node:path';

export interface NativeBinding {
  /**
   * mmap(2) at a page-aligned offset; returns the mapping's handle. fd is -1
   * for MAP_ANONYMOUS; ownedFd (or -1) is closed with the mapping.
   */
  map(fd: number, length: number, offset: bigint, prot: number, flags: number, ownedFd: number): object;
  /** Address of the mapping's page-aligned start. */
  base(handle: object): bigint;
  /** An external ArrayBuffer over [base + offset, + length), detached by unmap() and remap(). */
  view(handle: object, offset: number, length: number): ArrayBuffer;
  /**
   * Detaches every view and closes the owned fd; munmap(2) at once if no view
   * may still be reachable, else swaps in private anonymous memory (mmap
   * MAP_FIXED) until the last view is collected. false if already closed.
   */
  unmap(handle: object): boolean;
  /**
   * Resizes to `length` bytes like mremap(2) with MREMAP_MAYMOVE, keeping
   * the old range mapped (placeholder) for views that may still point
   * there; detaches every view; returns the new base. Undefined, with
   * nothing changed, when a file mapping must be mapped again (the kernel
   * cannot keep its old pages mapped while moving them): call again with
   * `fd`, the same file opened anew, or -1 if it cannot be.
   */
  remap(handle: object, length: number, fd?: number): bigint | undefined;
  /** memfd_create(2); returns the fd. */
  memfdCreate(name: string, flags: number): number;
  /** Fills out with [st_mode, st_size, st_dev, st_ino]. */
  fstat(fd: number, out: BigUint64Array): void;
  /** msync, madvise, mlock2, munlock, mprotect, mincore on a page-aligned range from the base. */
  msync(handle: object, offset: number, length: number, flags: number): void;
  madvise(handle: object, offset: number, length: number, advice: number): void;
  mlock(handle: object, offset: number, length: number, flags: number): void;
  munlock(handle: object, offset: number, length: number): void;
  mprotect(handle: object, offset: number, length: number, prot: number): void;
  /** One element per page: 1 if resident. */
  mincore(handle: object, offset: number, length: number): Uint8Array;
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
