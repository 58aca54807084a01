// The native addon's raw surface, typed in one place. Nothing here validates:
// lib/ checks every argument before it reaches these functions.
import * as path from 'node:path';
import { getSystemErrorMap } from 'node:util';

export interface NativeBinding {
  /**
   * mmap(2) of `length` bytes, whole pages (lib/ rounds, in page.ts), at the
   * page-aligned file offset in io[0]; returns the mapping's handle and
   * writes the address of its first byte to io[0]. fd is -1 for
   * MAP_ANONYMOUS; ownedFd (or -1) is closed with the mapping.
   */
  map(fd: number, length: number, prot: number, flags: number, ownedFd: number, io: BigUint64Array): object;
  /** An external ArrayBuffer over [base + offset, + length), detached by unmap() and remap(). */
  view(handle: object, offset: number, length: number): ArrayBuffer;
  /**
   * Detaches every view and closes the owned fd; munmap(2) at once if no view
   * may still be reachable, else swaps in private anonymous memory (mmap
   * MAP_FIXED) until the last view is collected. false if already closed.
   * Throws ERR_KMMAP_VIEW_IN_USE, closing nothing, if a view stays attached
   * (Bun pins an ArrayBuffer an asynchronous call holds).
   */
  unmap(handle: object): boolean;
  /**
   * Resizes to `length` bytes (whole pages) like mremap(2) with MREMAP_MAYMOVE, keeping
   * the old range mapped (placeholder) for views that may still point
   * there; detaches every view; returns the new base. With detachFirst,
   * detaches them before anything else (ERR_KMMAP_VIEW_IN_USE, nothing
   * else changed, if one stays attached). Undefined, with nothing else
   * changed, when a file mapping must be mapped again (the kernel cannot
   * keep its old pages mapped while moving them): call again with `fd`, the
   * same file opened anew, or -1 if it cannot be.
   */
  remap(handle: object, length: number, detachFirst: boolean): bigint | undefined;
  remap(handle: object, length: number, detachFirst: boolean, fd: number): bigint;
  /** memfd_create(2); returns the fd. */
  memfdCreate(name: string, flags: number): number;
  /** open(2) with O_CLOEXEC added; the path (a string, or bytes in a Uint8Array of their own) has no NUL byte (lib/ checks). */
  open(path: string | Uint8Array, flags: number): number;
  /** ftruncate(2) and close(2) of any fd (Deno's fs refuses fds it did not open). */
  ftruncate(fd: number, length: number): void;
  close(fd: number): void;
  /** fstat(2) and fstatfs(2): fills out with [st_mode, st_size, st_dev, st_ino, st_rdev, f_type] (f_type 0 if unknown). */
  fileFacts(fd: number, out: BigUint64Array): void;
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
  /**
   * From now on, a range released by a finalizer is munmapped with its
   * neighbours on a later turn of the event loop instead of at once; false
   * if the runtime gave no way to run later. Once per environment.
   */
  batchReleases(): boolean;
}

// node-gyp-build finds build/Release or a prebuild for this platform.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const load = require('node-gyp-build') as (dir: string) => NativeBinding;

/** errno (negative) -> [code, description], as Node's own system errors word them. */
let systemErrors: Map<number, [string, string]> | undefined;

/**
 * The addon throws system errors with only `errno` and `syscall` (libuv's
 * names are not there on every runtime); this gives them Node's `code` and
 * message: `EINVAL: invalid argument, mmap`.
 */
function named(err: unknown): unknown {
  if (!(err instanceof Error)) return err;
  const fields = err as Error & { errno?: unknown; syscall?: unknown; code?: unknown };
  if (typeof fields.errno !== 'number' || typeof fields.syscall !== 'string' || fields.code !== undefined) return err;
  systemErrors ??= getSystemErrorMap();
  const [code, description] = systemErrors.get(fields.errno) ?? ['UNKNOWN', `unknown error ${-fields.errno}`];
  fields.code = code;
  err.message = `${code}: ${description}, ${fields.syscall}`;
  return err;
}

function wrap(raw: NativeBinding): NativeBinding {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(raw)) {
    if (typeof value !== 'function') {
      out[name] = value;
      continue;
    }
    const fn = value as (...args: unknown[]) => unknown;
    out[name] = (...args: unknown[]) => {
      try {
        return fn(...args);
      } catch (err) {
        throw named(err);
      }
    };
  }
  return out as unknown as NativeBinding;
}

export const native: NativeBinding = wrap(load(path.join(__dirname, '..')));

// Batched releases (native/mapping.cc) on Node, where they are measured and
// tested; Deno and Bun, which also set process.versions.node, keep releasing
// each range at once.
if (process.versions.deno === undefined && process.versions.bun === undefined) native.batchReleases();
