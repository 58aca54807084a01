// The options of map(), map.anonymous() and Mapping's methods: their types,
// ADVICE, their checks, and the mmap(2) family's prot/flags they become.
// Nothing here touches a file.
import * as fs from 'node:fs';
import { constants as bufferConstants } from 'node:buffer';
import { invalidArgType, invalidArgValue } from './errors';
import { SHARED_ACCESSES, validateAccess, validateBoolean, validateInteger, validateObject, validateUint64 } from './validate';

/**
 * The longest mapping asked for: 2^52 bytes (4 PiB), more than any Linux
 * address space holds, and small enough that the length rounded up to whole
 * pages (up to 1 GiB pages) and the offset into the first page still add up
 * to a safe integer.
 */
export const MAX_MAP_LENGTH = 2 ** 52;

/**
 * How a mapping may be used:
 * - `'r'`: read-only;
 * - `'rw'`: read-write, shared: writes reach the file or device and every
 *   other shared mapping of it (`MAP_SHARED`);
 * - `'copy'`: read-write, private copy-on-write: writes stay in this mapping
 *   and never reach the file (`MAP_PRIVATE`).
 */
export type Access = 'r' | 'rw' | 'copy';

/** A huge page size: `'2MB'`, `'1GB'`, `'64KB'`, or a number of bytes (a power of two). */
export type HugePageSize = `${number}${'KB' | 'MB' | 'GB'}` | number;

/** Options that change how the memory is mapped, for files and anonymous memory alike. */
export interface MemoryOptions {
  /**
   * Fault every page in now (`MAP_POPULATE`) rather than on first touch.
   * Default: false, except for a shared mapping ('r' or 'rw') of at most 64
   * KiB of a regular file, which is populated: the kernel maps that much
   * around the first page touched anyway (fault-around), and one trap into
   * the kernel fewer makes a small file's map cycle about a sixth faster
   * (docs/performance.md). `false` turns that off too.
   */
  populate?: boolean;
  /**
   * Lock the pages in RAM (`mlock2` right after mapping, so a failure such
   * as `RLIMIT_MEMLOCK` is reported rather than ignored as `MAP_LOCKED` would).
   * Default false.
   */
  locked?: boolean;
  /**
   * Reserve no swap space for the mapping (`MAP_NORESERVE`). Default false.
   * Not with huge pages (`hugetlb`, or a file on hugetlbfs): there it would
   * reserve no huge pages either, and touching a page when none is free
   * raises SIGBUS, so kmmap refuses it (ERR_INVALID_ARG_VALUE).
   */
  noreserve?: boolean;
  /**
   * Back the mapping with huge pages (`MAP_HUGETLB`): `true` for the
   * system's default size, or a size (`'2MB'`, `'1GB'`, bytes) for
   * `MAP_HUGE_2MB` and the like. The kernel answers ENOMEM when no huge
   * pages are reserved (`/proc/sys/vm/nr_hugepages`) and EINVAL for a file
   * that is not on hugetlbfs. Lengths and offsets round to the huge page size.
   */
  hugetlb?: boolean | HugePageSize;
}

/** Options of map(). */
export interface MapOptions extends MemoryOptions {
  /**
   * Bytes to map, from 1 to 2^52 (MAX_MAP_LENGTH). Defaults to the rest of
   * a regular file or block device after `offset`; required for character
   * devices and /proc files, whose size `stat` cannot tell. A mapping longer
   * than `buffer.constants.MAX_LENGTH` is read through `mapping.view()`.
   */
  length?: number;
  /**
   * Where the mapping starts in the file, in bytes: any value, as a number
   * or (beyond 2^53) a bigint. Default 0. kmmap maps from the page below and
   * the buffer starts at this very byte.
   */
  offset?: number | bigint;
  /** Default `'r'`. With a path, the file is opened to match (read-only for `'r'` and `'copy'`). */
  access?: Access;
  /**
   * Allow a mapping of a regular file or block device to reach past its
   * end. Touching a page wholly past the end raises SIGBUS, which kills the
   * process, and the bytes past the end in the last page read as zeros and
   * keep nothing written there; kmmap refuses such a mapping (ERR_KMMAP_BEYOND_END)
   * unless this is true.
   */
  allowBeyondEnd?: boolean;
  /**
   * Synchronous page faults for persistent memory (`MAP_SYNC` with
   * `MAP_SHARED_VALIDATE`): the file must be on a DAX filesystem, otherwise
   * mmap fails with EOPNOTSUPP (code 'ENOTSUP', as Node names it). Needs access `'rw'` or `'r'`, not `'copy'`.
   */
  sync?: boolean;
}

/** Options of map.anonymous(). */
export interface AnonymousOptions extends MemoryOptions {
  /** Default `'rw'`. */
  access?: 'r' | 'rw';
  /**
   * Default true: the memory lives in a memfd that the mapping owns
   * (`mapping.memfd`; close() closes it), so workers (through
   * `descriptor()`) and child processes (through the memfd) can map the same
   * pages. false: private memory (`MAP_PRIVATE | MAP_ANONYMOUS`), this
   * mapping's alone: descriptor() throws ERR_KMMAP_NOT_SHAREABLE.
   */
  shared?: boolean;
}

/** A file path, as fs takes it. */
export type PathLike = string | Buffer | URL;

/**
 * Part of a mapping, in bytes from its first byte (`mapping.address`).
 * `offset` defaults to 0, `length` to the rest of the mapping. Calls that
 * work on pages apply to every page the range touches.
 */
export interface MappingRange {
  offset?: number;
  length?: number;
}

/** Options of `mapping.sync()`. */
export interface SyncOptions {
  /** Schedule the write-back and return at once (`MS_ASYNC`) instead of waiting (`MS_SYNC`). Default false. */
  async?: boolean;
  /** Also invalidate other mappings of the file so they see fresh data (`MS_INVALIDATE`). Default false. */
  invalidate?: boolean;
}

/** Options of `mapping.lock()`. */
export interface LockOptions {
  /** Lock pages as they are first touched instead of faulting them all in now (`MLOCK_ONFAULT`). Default false. */
  onFault?: boolean;
}

/** Options of `mapping.resize()`. */
export interface ResizeOptions {
  /** As for map(): let a file mapping grow past the file's end. Defaults to the mapping's own setting. */
  allowBeyondEnd?: boolean;
}

/** Protections for `mapping.protect()`: `'none'` makes any access fatal (SIGSEGV), `'r'` any write. */
export type Protection = 'none' | 'r' | 'rw';

/** madvise(2) advice by name (`MADV_*` in lower case); the kernel refuses what it lacks with EINVAL. */
export const ADVICE = Object.freeze({
  normal: 0,
  random: 1,
  sequential: 2,
  willneed: 3,
  dontneed: 4,
  free: 8,
  remove: 9,
  dontfork: 10,
  dofork: 11,
  mergeable: 12,
  unmergeable: 13,
  hugepage: 14,
  nohugepage: 15,
  dontdump: 16,
  dodump: 17,
  wipeonfork: 18,
  keeponfork: 19,
  cold: 20,
  pageout: 21,
  populate_read: 22,
  populate_write: 23,
  collapse: 25,
} as const);

/** A name of madvise advice: a key of ADVICE. */
export type Advice = keyof typeof ADVICE;

/** ADVICE's names, in order. */
export const ADVICE_NAMES = Object.keys(ADVICE) as Advice[];

/** Every Protection, in order. */
export const PROTECTIONS: readonly Protection[] = ['none', 'r', 'rw'];

const PROT_NONE = 0x0;
const PROT_READ = 0x1;
const PROT_WRITE = 0x2;
const MAP_SHARED = 0x01;
const MAP_PRIVATE = 0x02;
const MAP_SHARED_VALIDATE = 0x03;
const MAP_ANONYMOUS = 0x20;
const MAP_NORESERVE = 0x4000;
const MAP_POPULATE = 0x8000;
const MAP_HUGETLB = 0x40000;
const MAP_SYNC = 0x80000;
// The log2 of a huge page size goes in bits 26-31 of mmap's flags and of
// memfd_create's (MAP_HUGE_SHIFT, MFD_HUGE_SHIFT).
const HUGE_SHIFT = 26;
const MFD_CLOEXEC = 0x1;
const MFD_HUGETLB = 0x4;
const MS_ASYNC = 1;
const MS_INVALIDATE = 2;
const MS_SYNC = 4;
const MLOCK_ONFAULT = 1;

/** The checked options and what they become, for the addon and for descriptor(). */
export interface MemorySettings {
  populate: boolean;
  locked: boolean;
  noreserve: boolean;
  /** The huge page size in bytes, or 0 for normal pages. */
  hugePageSize: number;
  /** True when `hugetlb` named a size (`MAP_HUGE_*`), false for the default size. */
  hugePageSizeExplicit: boolean;
}

/** The checked options of map(). */
export interface FileSettings extends MemorySettings {
  /** options.populate was not given: small shared mappings of regular files are populated (autoPopulate()). */
  populateByDefault: boolean;
  access: Access;
  offset: bigint;
  length: number | undefined;
  allowBeyondEnd: boolean;
  sync: boolean;
}

const UNIT: Record<string, number> = { KB: 1 << 10, MB: 1 << 20, GB: 1 << 30 };

let defaultHugePageSize: number | undefined;
/** The kernel's default huge page size (Hugepagesize in /proc/meminfo). */
function systemHugePageSize(): number {
  if (defaultHugePageSize === undefined) {
    const line = /^Hugepagesize:\s+(\d+) kB$/m.exec(fs.readFileSync('/proc/meminfo', 'latin1'));
    // A kernel without hugetlbfs has no such line: mmap will say so (EINVAL).
    defaultHugePageSize = line ? Number(line[1]) * 1024 : 2 << 20;
  }
  return defaultHugePageSize;
}

function parseHugetlb(value: unknown): { size: number; explicit: boolean } {
  if (value === undefined || value === false) return { size: 0, explicit: false };
  if (value === true) return { size: systemHugePageSize(), explicit: false };
  let size: number;
  if (typeof value === 'number') {
    size = value;
  } else if (typeof value === 'string') {
    const match = /^(\d+)(KB|MB|GB)$/i.exec(value);
    if (!match) throw invalidArgValue('options.hugetlb', value, "must be true, a size such as '2MB' or '1GB', or a number of bytes");
    size = Number(match[1]) * UNIT[match[2]!.toUpperCase()]!;
  } else {
    throw invalidArgType('options.hugetlb', 'a boolean, a string such as \'2MB\', or a number', value);
  }
  if (!Number.isSafeInteger(size) || size < 1 || !Number.isInteger(Math.log2(size))) {
    throw invalidArgValue('options.hugetlb', value, 'must be a power of two number of bytes');
  }
  return { size, explicit: true };
}

/** Checks the options every kind of mapping takes. */
export function memorySettings(options: MemoryOptions): MemorySettings {
  const huge = parseHugetlb(options.hugetlb);
  const settings = {
    populate: validateBoolean('options.populate', options.populate),
    locked: validateBoolean('options.locked', options.locked),
    noreserve: validateBoolean('options.noreserve', options.noreserve),
    hugePageSize: huge.size,
    hugePageSizeExplicit: huge.explicit,
  };
  if (settings.noreserve && huge.size !== 0) {
    // The kernel then takes a huge page at first touch, and raises SIGBUS when none is free.
    throw invalidArgValue('options.noreserve', true,
      'cannot go with options.hugetlb: with no huge pages reserved, touching a page when none is free raises SIGBUS, ' +
      'which kills the process. Drop options.noreserve: then mmap reserves the pages, or fails with ENOMEM');
  }
  return settings;
}

/** Checks map()'s options. */
export function fileSettings(options: MapOptions): FileSettings {
  validateObject('options', options);
  const access = validateAccess('options.access', options.access ?? 'r');
  const offset = validateUint64('options.offset', options.offset ?? 0);
  const length = options.length === undefined
    ? undefined
    : validateInteger('options.length', options.length, 1, MAX_MAP_LENGTH);
  const sync = validateBoolean('options.sync', options.sync);
  if (sync && access === 'copy') {
    throw invalidArgValue('options.sync', true, "needs a shared mapping: access 'r' or 'rw', not 'copy'");
  }
  // Object.assign, not a spread: map() is on hot paths, and V8 spreads slowly.
  return Object.assign(memorySettings(options), {
    populateByDefault: options.populate === undefined,
    access,
    offset,
    length,
    allowBeyondEnd: validateBoolean('options.allowBeyondEnd', options.allowBeyondEnd),
    sync,
  });
}

/** Checks map.anonymous()'s length and options. */
export function anonymousSettings(length: unknown, options: AnonymousOptions): MemorySettings & { access: 'r' | 'rw'; shared: boolean; length: number } {
  validateObject('options', options);
  const access = validateAccess('options.access', options.access ?? 'rw', SHARED_ACCESSES);
  return Object.assign(memorySettings(options), {
    access,
    shared: options.shared === undefined ? true : validateBoolean('options.shared', options.shared),
    length: validateInteger('length', length, 1, MAX_MAP_LENGTH),
  });
}

/** mmap/mprotect protection bits for an access or protection name. */
export function protFor(access: Access | 'none'): number {
  switch (access) {
    case 'none': return PROT_NONE;
    case 'r': return PROT_READ;
    default: return PROT_READ | PROT_WRITE;
  }
}

function hugeFlags(settings: MemorySettings): number {
  if (settings.hugePageSize === 0) return 0;
  return MAP_HUGETLB | (settings.hugePageSizeExplicit ? Math.log2(settings.hugePageSize) << HUGE_SHIFT : 0);
}

function memoryFlags(settings: MemorySettings): number {
  return (settings.populate ? MAP_POPULATE : 0) | (settings.noreserve ? MAP_NORESERVE : 0);
}

/** mmap flags for a file mapping. */
export function fileMapFlags(settings: FileSettings): number {
  const sharing = settings.access === 'copy' ? MAP_PRIVATE : settings.sync ? MAP_SHARED_VALIDATE | MAP_SYNC : MAP_SHARED;
  return sharing | memoryFlags(settings) | hugeFlags(settings);
}

/** Mappings up to this long are populated by default (a regular file's, shared): the kernel's fault-around size. */
export const AUTO_POPULATE_MAX = 64 * 1024;

/**
 * MAP_POPULATE for a shared mapping of at most AUTO_POPULATE_MAX bytes of a
 * regular file, when options.populate was not given. Not for 'copy' (it
 * would copy every page at once: populating a private writable mapping
 * breaks copy-on-write), huge pages, or files whose driver decides what a
 * page is (/proc, devices: a fault there may have effects of its own).
 */
export function autoPopulate(settings: FileSettings, kind: 'regular' | 'block' | 'unsized', hugetlbfs: boolean, mappedBytes: number): number {
  return settings.populateByDefault && kind === 'regular' && settings.access !== 'copy' && !hugetlbfs &&
    settings.hugePageSize === 0 && mappedBytes <= AUTO_POPULATE_MAX
    ? MAP_POPULATE
    : 0;
}

/** mmap flags for anonymous memory; a shared one is a memfd mapped MAP_SHARED. */
export function anonymousMapFlags(settings: MemorySettings & { shared: boolean }): number {
  if (settings.shared) return MAP_SHARED | memoryFlags(settings);
  return MAP_PRIVATE | MAP_ANONYMOUS | memoryFlags(settings) | hugeFlags(settings);
}

/** memfd_create flags for shared anonymous memory (huge pages go on the memfd, not on mmap). */
export function memfdFlags(settings: MemorySettings): number {
  if (settings.hugePageSize === 0) return MFD_CLOEXEC;
  return MFD_CLOEXEC | MFD_HUGETLB | (settings.hugePageSizeExplicit ? Math.log2(settings.hugePageSize) << HUGE_SHIFT : 0);
}

/** Whether `length` fits in one Buffer. */
export function fitsInBuffer(length: number): boolean {
  return length <= bufferConstants.MAX_LENGTH;
}

/** msync(2) flags for sync()'s options. */
export function msyncFlags(async: boolean, invalidate: boolean): number {
  return (async ? MS_ASYNC : MS_SYNC) | (invalidate ? MS_INVALIDATE : 0);
}

/** mlock2(2) flags for lock()'s options. */
export function mlockFlags(onFault: boolean): number {
  return onFault ? MLOCK_ONFAULT : 0;
}
