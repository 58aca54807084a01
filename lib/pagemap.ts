// /proc/<pid>/pagemap: where each virtual page of a process lives.
// Format: Documentation/admin-guide/mm/pagemap.rst, one little-endian u64
// per virtual page, at file offset (address / PAGE_SIZE) * 8.
import * as fs from 'node:fs';
import { native } from './binding';
import { codedError, invalidArgType, invalidArgValue, outOfRange, pfnHiddenError, withContext } from './errors';
import { Mapping } from './mapping';
import { PAGE_SIZE } from './page';
import { pagemapScanHint, processAccessHint } from './hints';
import { maps, openProcFile, Pid, procDir, readEntries, type MemoryArea } from './procfs';
import { validateBigInt, validateBigUint64Array, validateInteger, validateMemory, validateObject, validateUint64 } from './validate';

export { maps } from './procfs';
export type { AreaPermissions, MemoryArea, Pid } from './procfs';

/** One decoded pagemap entry. */
export interface PagemapEntry {
  /** Virtual address of the page's first byte. */
  address: bigint;
  /** The raw 64-bit entry. */
  raw: bigint;
  /** Bit 63: the page is in RAM. */
  present: boolean;
  /** Bit 62: the page is in swap (or the PTE holds another swap-format entry, such as a guard marker). */
  swapped: boolean;
  /** Bit 61: a file page or shared anonymous page. */
  fileOrSharedAnon: boolean;
  /** Bit 58: the PTE is a guard region (MADV_GUARD_INSTALL; reported since Linux 6.15). */
  guard: boolean;
  /** Bit 57: the PTE is write-protected by userfaultfd (since 5.13). */
  uffdWriteProtected: boolean;
  /** Bit 56: the page is certainly mapped by this process only (since 4.2). */
  exclusive: boolean;
  /** Bit 55: the PTE is soft-dirty (written since the last clear_refs "4"). */
  softDirty: boolean;
  /**
   * Page frame number (bits 0-54) when present and visible; null when the
   * page is not present, or when the kernel hides PFNs (see pfnHidden).
   */
  pfn: bigint | null;
  /** Present, but the kernel reported PFN 0: it hides PFNs without CAP_SYS_ADMIN. */
  pfnHidden: boolean;
  /**
   * Swap type (bits 0-4) and offset (bits 5-54) when swapped; null when not
   * swapped, when the entry is a guard marker (no swap slot), or when the
   * kernel hid the location (it zeroes it without CAP_SYS_ADMIN).
   */
  swap: { type: number; offset: bigint } | null;
}

/** Which process to read. */
export interface PagemapOptions {
  /** Process to inspect: a pid, or 'self' (default). */
  pid?: Pid;
}

const PFN_MASK = (1n << 55n) - 1n;
const U64_MAX = (1n << 64n) - 1n;
const BIT = { softDirty: 55n, exclusive: 56n, uffdWp: 57n, guard: 58n, file: 61n, swapped: 62n, present: 63n } as const;

function bit(raw: bigint, n: bigint): boolean {
  return ((raw >> n) & 1n) === 1n;
}

/** Decodes one raw pagemap entry for the page at `address`. */
export function decode(raw: bigint, address: bigint | number): PagemapEntry {
  validateBigInt('raw', raw, U64_MAX);
  address = validateUint64('address', address, U64_MAX);
  const present = bit(raw, BIT.present);
  const swapped = bit(raw, BIT.swapped);
  const guard = bit(raw, BIT.guard);
  const frame = raw & PFN_MASK;
  return {
    address,
    raw,
    present,
    swapped,
    fileOrSharedAnon: bit(raw, BIT.file),
    guard,
    uffdWriteProtected: bit(raw, BIT.uffdWp),
    exclusive: bit(raw, BIT.exclusive),
    softDirty: bit(raw, BIT.softDirty),
    pfn: present && frame !== 0n ? frame : null,
    pfnHidden: present && frame === 0n,
    swap: swapped && !guard && frame !== 0n ? { type: Number(frame & 0x1fn), offset: frame >> 5n } : null,
  };
}

/** The short name of a pagemap entry's flag bit, as flagNames() gives it. */
export type PagemapFlagName = 'soft-dirty' | 'exclusive' | 'uffd-wp' | 'guard' | 'file' | 'swapped' | 'present';

/**
 * The entry's set bits as short names, in bit order: 'soft-dirty',
 * 'exclusive', 'uffd-wp', 'guard', 'file', 'swapped', 'present'.
 */
export function flagNames(entry: PagemapEntry): PagemapFlagName[] {
  validateObject('entry', entry, { binary: true, expected: 'a PagemapEntry (from decode(), range() or entry())' });
  for (const name of ['softDirty', 'exclusive', 'uffdWriteProtected', 'guard', 'fileOrSharedAnon', 'swapped', 'present'] as const) {
    if (typeof entry[name] !== 'boolean') throw invalidArgType(`entry.${name}`, 'of type boolean', entry[name]);
  }
  const names: PagemapFlagName[] = [];
  if (entry.softDirty) names.push('soft-dirty');
  if (entry.exclusive) names.push('exclusive');
  if (entry.uffdWriteProtected) names.push('uffd-wp');
  if (entry.guard) names.push('guard');
  if (entry.fileOrSharedAnon) names.push('file');
  if (entry.swapped) names.push('swapped');
  if (entry.present) names.push('present');
  return names;
}

function checkOptions(options: unknown): Pid {
  validateObject('options', options);
  const pid = (options as PagemapOptions).pid ?? 'self';
  procDir(pid);
  return pid;
}

function openPagemap(pid: Pid): { fd: number; path: string } {
  const path = `${procDir(pid)}/pagemap`;
  return { fd: openProcFile(path, processAccessHint(pid)), path };
}

/** Most pages read() returns at once: 1 GiB of raw entries. */
const MAX_READ_PAGES = 2 ** 27;
/** Most pages range() decodes at once (16 GiB of address space), to bound its objects. */
const MAX_RANGE_PAGES = 2 ** 22;
const PAGE = BigInt(PAGE_SIZE);

/**
 * Raw entries for `pages` consecutive virtual pages from the page holding
 * `address`, read in large batches. Decode them with decode().
 */
export function read(address: bigint | number, pages: number, options: PagemapOptions = {}): BigUint64Array {
  validateInteger('pages', pages, 0, MAX_READ_PAGES);
  return readInto(address, new BigUint64Array(pages), options);
}

/**
 * Like read(), into an array you keep: raw entries for `out.length`
 * consecutive virtual pages from the page holding `address`. Reusing one
 * array saves allocating and faulting in a new one on every call, which is
 * most of read()'s cost beyond the kernel's. Returns `out`.
 */
export function readInto(address: bigint | number, out: BigUint64Array, options: PagemapOptions = {}): BigUint64Array {
  const first = validateUint64('address', address, U64_MAX) / PAGE;
  const pages = validateBigUint64Array('out', out);
  validateInteger('out.length', pages, 0, MAX_READ_PAGES);
  const pid = checkOptions(options);
  const { fd, path } = openPagemap(pid);
  try {
    if (readEntries(fd, path, Number(first), out) < pages) {
      throw outOfRange('pages', 'within the address space', pages);
    }
  } finally {
    fs.closeSync(fd);
  }
  return out;
}

/** Decoded entries for `pages` consecutive virtual pages from the page holding `address`. */
export function range(address: bigint | number, pages: number, options: PagemapOptions = {}): PagemapEntry[] {
  validateInteger('pages', pages, 0, MAX_RANGE_PAGES);
  const raw = read(address, pages, options);
  const base = (BigInt(address) / PAGE) * PAGE;
  return Array.from(raw, (value, i) => decode(value, base + BigInt(i) * PAGE));
}

/** The entry for the virtual page holding `address`. */
export function entry(address: bigint | number, options: PagemapOptions = {}): PagemapEntry {
  return range(address, 1, options)[0]!;
}

/**
 * Physical address of a byte of a buffer or mapping in this process:
 * PFN * PAGE_SIZE + offset within the page. Throws ERR_KMMAP_PAGE_NOT_PRESENT
 * for a page not yet touched, and ERR_KMMAP_PFN_HIDDEN where the kernel hides
 * PFNs (reading them needs CAP_SYS_ADMIN): never a silent 0.
 */
export function physicalAddress(target: ArrayBufferView | ArrayBuffer | Mapping, offset = 0): bigint {
  const expected = 'a Mapping, Buffer, TypedArray, DataView or ArrayBuffer';
  // Mapping's own getter: it throws ERR_INVALID_THIS for an object that only has Mapping's prototype.
  const memory = target instanceof Mapping ? mappingBuffer.call(target) as Buffer : target;
  const byteLength = validateMemory('target', memory, expected);
  if (byteLength === 0) {
    throw invalidArgValue('target', target, 'is empty or detached (a closed mapping has no memory)');
  }
  validateInteger('offset', offset, 0, byteLength - 1);

  const address = native.addressOf(memory) + BigInt(offset);
  const found = entry(address);
  const where = `0x${address.toString(16)}`;
  if (!found.present) {
    throw codedError('ERR_KMMAP_PAGE_NOT_PRESENT',
      `The page at ${where} is not in RAM${found.swapped ? ' (it is swapped out)' : ''}: touch it first (read a byte of it)`);
  }
  if (found.pfn === null) throw pfnHiddenError();
  return found.pfn * PAGE + (address % PAGE);
}

const mappingBuffer = Object.getOwnPropertyDescriptor(Mapping.prototype, 'buffer')!.get!;

// ---------------------------------------------------------------------------
// PAGEMAP_SCAN (Linux 6.7+): the kernel walks the page tables and returns
// regions of pages that share categories, skipping unmapped address space.

/** The PAGE_IS_* categories of include/uapi/linux/fs.h, by bit. */
export const PAGE_CATEGORIES = [
  'wpAllowed', // PAGE_IS_WPALLOWED: userfaultfd async write-protection is enabled
  'written', // PAGE_IS_WRITTEN: written since write-protected (set when not uffd-wp)
  'file', // PAGE_IS_FILE: file-backed (or shared anonymous, as pagemap's bit 61)
  'present', // PAGE_IS_PRESENT
  'swapped', // PAGE_IS_SWAPPED (any swap-format PTE: swap, migration, markers)
  'pfnZero', // PAGE_IS_PFNZERO: the shared zero page
  'huge', // PAGE_IS_HUGE: PMD-mapped THP or hugetlb
  'softDirty', // PAGE_IS_SOFT_DIRTY
  'guard', // PAGE_IS_GUARD (Linux 6.15+)
] as const;

/** One PAGE_IS_* category. */
export type PageCategory = (typeof PAGE_CATEGORIES)[number];

/** A run of consecutive pages with the same categories. */
export interface PageRegion {
  /** First byte. */
  start: bigint;
  /** One past the last byte. */
  end: bigint;
  /** The categories, in bit order. */
  categories: PageCategory[];
  /** The same as a PAGE_IS_* bitmask. */
  mask: number;
}

/** What scan() found, and how. */
export interface ScanResult {
  /** 'ioctl': PAGEMAP_SCAN; 'pagemap': entries read and grouped here. */
  method: 'ioctl' | 'pagemap';
  /** Regions in address order. Address space that no mapping covers is left out. */
  regions: PageRegion[];
  /**
   * The categories this method can report: a category not listed here is
   * absent from every region because it could not be determined, not
   * because it is false.
   */
  known: PageCategory[];
}

/** Options of scan(). */
export interface ScanOptions extends PagemapOptions {
  /**
   * 'auto' (default): PAGEMAP_SCAN where the kernel has it, else pagemap.
   * 'ioctl': PAGEMAP_SCAN or an error. 'pagemap': always read entries.
   */
  method?: 'auto' | 'ioctl' | 'pagemap';
}

const categoryBit = (name: PageCategory) => 1 << PAGE_CATEGORIES.indexOf(name);
const ALL_CATEGORIES = (1 << PAGE_CATEGORIES.length) - 1;
/** Linux 6.7 to 6.14 know every category but guard, and refuse unknown ones with EINVAL. */
const CATEGORIES_BEFORE_GUARD = ALL_CATEGORIES & ~categoryBit('guard');
/** What pagemap entries tell: PFN-zero, huge and wpAllowed need the page tables themselves. */
const PAGEMAP_KNOWN = ['written', 'file', 'present', 'swapped', 'softDirty', 'guard'].map((n) => categoryBit(n as PageCategory)).reduce((a, b) => a | b);
const REGIONS_PER_CALL = 4096;

/** The return mask this kernel's PAGEMAP_SCAN accepts; null: no PAGEMAP_SCAN. Found once. */
let scanMask: number | null | undefined;

function namesOf(mask: number): PageCategory[] {
  return PAGE_CATEGORIES.filter((_, i) => (mask >> i) & 1);
}

function pushRegion(regions: PageRegion[], start: bigint, end: bigint, mask: number): void {
  const last = regions[regions.length - 1];
  if (last && last.end === start && last.mask === mask) last.end = end;
  else regions.push({ start, end, categories: namesOf(mask), mask });
}

function isUnsupported(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOTTY' || code === 'EINVAL';
}

function scanIoctl(fd: number, path: string, start: bigint, end: bigint, mask: number): PageRegion[] {
  const out = new BigUint64Array(REGIONS_PER_CALL * 3);
  const regions: PageRegion[] = [];
  let covered = start;
  let from = start;
  // At least one call, even for an empty range: it is also the probe for support.
  do {
    let result: { regions: number; walkEnd: bigint };
    try {
      result = native.pagemapScan(fd, from, end, mask, out);
    } catch (err) {
      throw withContext(err, { path }, pagemapScanHint);
    }
    for (let i = 0; i < result.regions; i++) {
      // Linux 6.18 can report regions past walkEnd (up to the end of the
      // range) and then report them again from walkEnd: keep each page once.
      const regionEnd = out[3 * i + 1]!;
      if (regionEnd <= covered) continue;
      const regionStart = out[3 * i]! > covered ? out[3 * i]! : covered;
      pushRegion(regions, regionStart, regionEnd, Number(out[3 * i + 2]!));
      covered = regionEnd;
    }
    // The kernel stops early only when `out` is full; guard against no progress anyway.
    if (from < end && result.walkEnd <= from) {
      throw codedError('ERR_KMMAP_SCAN_STALLED', `PAGEMAP_SCAN made no progress at 0x${from.toString(16)} in '${path}'`);
    }
    from = result.walkEnd;
  } while (from < end);
  return regions;
}

function pagemapCategories(raw: bigint): number {
  let mask = 0;
  if (bit(raw, BIT.present)) mask |= categoryBit('present');
  if (bit(raw, BIT.swapped)) mask |= categoryBit('swapped');
  if (bit(raw, BIT.file)) mask |= categoryBit('file');
  if (bit(raw, BIT.softDirty)) mask |= categoryBit('softDirty');
  if (bit(raw, BIT.guard)) mask |= categoryBit('guard');
  if (!bit(raw, BIT.uffdWp)) mask |= categoryBit('written');
  return mask;
}

/** Areas in user space: not [vsyscall], which sits in the kernel's half and which neither method walks. */
function userAreas(areas: MemoryArea[]): MemoryArea[] {
  return areas.filter((area) => area.start < 1n << 63n);
}

function scanPagemap(fd: number, path: string, areas: MemoryArea[], start: bigint, end: bigint): PageRegion[] {
  const regions: PageRegion[] = [];
  for (const area of userAreas(areas)) {
    const from = area.start > start ? area.start : start;
    const to = area.end < end ? area.end : end;
    if (from >= to) continue;
    // In slices, so that a huge reservation does not need one huge array.
    for (let slice = from; slice < to; slice += PAGE * BigInt(MAX_RANGE_PAGES)) {
      const sliceEnd = slice + PAGE * BigInt(MAX_RANGE_PAGES) < to ? slice + PAGE * BigInt(MAX_RANGE_PAGES) : to;
      const raw = new BigUint64Array(Number((sliceEnd - slice) / PAGE));
      const got = readEntries(fd, path, Number(slice / PAGE), raw);
      raw.subarray(0, got).forEach((value, i) => {
        const page = slice + BigInt(i) * PAGE;
        pushRegion(regions, page, page + PAGE, pagemapCategories(value));
      });
    }
  }
  return regions;
}

/**
 * The categories of `pages` consecutive virtual pages from the page holding
 * `address`, as regions of pages that share them. Uses the PAGEMAP_SCAN
 * ioctl where the kernel has it (Linux 6.7+; guard since 6.15), which walks
 * only what is mapped; elsewhere reads pagemap entries of the mapped parts
 * (from /proc/<pid>/maps) and groups them the same way. `known` says which
 * categories the method could see. Unlike the ioctl, the fallback also
 * reports VM_PFNMAP mappings, which the kernel's scan skips.
 */
export function scan(address: bigint | number, pages: number, options: ScanOptions = {}): ScanResult {
  const first = validateUint64('address', address, U64_MAX) / PAGE;
  validateInteger('pages', pages, 0, Number.MAX_SAFE_INTEGER);
  const pid = checkOptions(options);
  const method = options.method ?? 'auto';
  if (method !== 'auto' && method !== 'ioctl' && method !== 'pagemap') {
    throw invalidArgValue('options.method', method, "must be 'auto', 'ioctl' or 'pagemap'");
  }
  const start = first * PAGE;
  const end = start + BigInt(pages) * PAGE;
  if (end > 1n << 64n) throw outOfRange('pages', 'within the address space', pages);
  const { fd, path } = openPagemap(pid);
  // PAGEMAP_SCAN takes the end as a u64, which 2^64 is not: the last page
  // is never user memory anyway.
  const walkEnd = end > U64_MAX ? end - PAGE : end;
  const scanIoctlClamped = (mask: number) => {
    try {
      return scanIoctl(fd, path, start, walkEnd, mask);
    } catch (err) {
      // The kernel refuses (EFAULT) a range past the user address space,
      // whose size depends on the machine: end it after the last mapping.
      if ((err as NodeJS.ErrnoException).code !== 'EFAULT') throw err;
      const last = userAreas(maps(pid)).reduce((top, area) => (area.end > top ? area.end : top), 0n);
      if (last >= walkEnd) throw err;
      if (last > start) return scanIoctl(fd, path, start, last, mask);
      // Nothing mapped in the range; an empty walk where it is valid still probes for support.
      return scanIoctl(fd, path, last, last, mask);
    }
  };
  try {
    if (method !== 'pagemap') {
      if (scanMask === undefined || method === 'ioctl') {
        for (const mask of [ALL_CATEGORIES, CATEGORIES_BEFORE_GUARD]) {
          try {
            const regions = scanIoctlClamped(mask);
            scanMask = mask;
            return { method: 'ioctl', regions, known: namesOf(mask) };
          } catch (err) {
            if (!isUnsupported(err)) throw err;
            if (mask === CATEGORIES_BEFORE_GUARD) {
              scanMask = null;
              if (method === 'ioctl') throw err;
            }
          }
        }
      } else if (scanMask !== null) {
        return { method: 'ioctl', regions: scanIoctlClamped(scanMask), known: namesOf(scanMask) };
      }
    }
    return { method: 'pagemap', regions: scanPagemap(fd, path, maps(pid), start, end), known: namesOf(PAGEMAP_KNOWN) };
  } finally {
    fs.closeSync(fd);
  }
}
