// /proc/<pid>/pagemap: where each virtual page of a process lives.
// Format: Documentation/admin-guide/mm/pagemap.rst, one little-endian u64
// per virtual page, at file offset (address / PAGE_SIZE) * 8.
import * as fs from 'node:fs';
import { native } from './binding';
import { codedError, invalidArgType, invalidArgValue, outOfRange, withContext } from './errors';
import { Mapping, PAGE_SIZE } from './mapping';
import { validateInteger, validateUint64 } from './validate';

/** One decoded pagemap entry. */
export interface PagemapEntry {
  /** Virtual address of the page's first byte. */
  address: bigint;
  /** The raw 64-bit entry. */
  raw: bigint;
  /** Bit 63: the page is in RAM. */
  present: boolean;
  /** Bit 62: the page is in swap. */
  swapped: boolean;
  /** Bit 61: a file page or shared anonymous page. */
  fileOrSharedAnon: boolean;
  /** Bit 58: the PTE is a guard region (Linux 6.15+). */
  guard: boolean;
  /** Bit 57: the PTE is write-protected by userfaultfd. */
  uffdWriteProtected: boolean;
  /** Bit 56: the page is mapped by this process only. */
  exclusive: boolean;
  /** Bit 55: the PTE is soft-dirty. */
  softDirty: boolean;
  /**
   * Page frame number when present and visible; null when the page is not
   * present, or when the kernel hides PFNs from this process (see pfnHidden).
   */
  pfn: bigint | null;
  /** Present, but the kernel reported PFN 0: it hides PFNs without CAP_SYS_ADMIN. */
  pfnHidden: boolean;
  /** Swap type and offset when swapped, else null. */
  swap: { type: number; offset: bigint } | null;
}

export interface PagemapOptions {
  /** Process to inspect: a pid, or 'self' (default). */
  pid?: number | 'self';
}

const PFN_MASK = (1n << 55n) - 1n;
/** Entries per pread: 512 KiB of pagemap, 256 MiB of address space. */
const BATCH = 65536;

function bit(raw: bigint, n: bigint): boolean {
  return ((raw >> n) & 1n) === 1n;
}

/** Decodes one raw pagemap entry for the page at `address`. */
export function decode(raw: bigint, address: bigint): PagemapEntry {
  const present = bit(raw, 63n);
  const swapped = bit(raw, 62n);
  const frame = raw & PFN_MASK;
  return {
    address,
    raw,
    present,
    swapped,
    fileOrSharedAnon: bit(raw, 61n),
    guard: bit(raw, 58n),
    uffdWriteProtected: bit(raw, 57n),
    exclusive: bit(raw, 56n),
    softDirty: bit(raw, 55n),
    pfn: present && frame !== 0n ? frame : null,
    pfnHidden: present && frame === 0n,
    swap: swapped ? { type: Number(frame & 0x1fn), offset: frame >> 5n } : null,
  };
}

function pagemapPath(options: PagemapOptions): string {
  const pid = options.pid ?? 'self';
  if (pid !== 'self') validateInteger('options.pid', pid, 1, 0x7fffffff);
  return `/proc/${pid}/pagemap`;
}

/** Most pages read() returns at once: 1 GiB of raw entries. */
const MAX_READ_PAGES = 2 ** 27;
/** Most pages range() decodes at once (16 GiB of address space), to bound its objects. */
const MAX_RANGE_PAGES = 2 ** 22;

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
  const first = validateUint64('address', address, (1n << 64n) - 1n) / BigInt(PAGE_SIZE);
  if (!(out instanceof BigUint64Array)) throw invalidArgType('out', 'an instance of BigUint64Array', out);
  const pages = out.length;
  validateInteger('out.length', pages, 0, MAX_READ_PAGES);
  if (typeof options !== 'object' || options === null) throw invalidArgType('options', 'of type object', options);
  const path = pagemapPath(options);
  const fd = fs.openSync(path, 'r');
  try {
    for (let done = 0; done < pages; done += BATCH) {
      const want = Math.min(pages - done, BATCH);
      let got: number;
      try {
        got = native.readPagemap(fd, Number(first) + done, out.subarray(done, done + want));
      } catch (err) {
        throw withContext(err, { path });
      }
      if (got < want) throw outOfRange('pages', 'within the address space', pages);
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
  const base = (BigInt(address) / BigInt(PAGE_SIZE)) * BigInt(PAGE_SIZE);
  return Array.from(raw, (value, i) => decode(value, base + BigInt(i) * BigInt(PAGE_SIZE)));
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
  let memory: ArrayBufferView | ArrayBuffer;
  if (target instanceof Mapping) memory = target.buffer;
  else if (ArrayBuffer.isView(target) || target instanceof ArrayBuffer) memory = target;
  else throw invalidArgType('target', 'a Mapping, Buffer, TypedArray, DataView or ArrayBuffer', target);
  if (memory.byteLength === 0) {
    throw invalidArgValue('target', target, 'is empty or detached (a closed mapping has no memory)');
  }
  validateInteger('offset', offset, 0, memory.byteLength - 1);

  const address = native.addressOf(memory) + BigInt(offset);
  const found = entry(address);
  const where = `0x${address.toString(16)}`;
  if (!found.present) {
    throw codedError('ERR_KMMAP_PAGE_NOT_PRESENT',
      `The page at ${where} is not in RAM${found.swapped ? ' (it is swapped out)' : ''}: touch it first (read a byte of it)`);
  }
  if (found.pfn === null) {
    throw codedError('ERR_KMMAP_PFN_HIDDEN',
      `The kernel hides physical page numbers from this process: reading them from pagemap needs CAP_SYS_ADMIN (run as root)`);
  }
  return found.pfn * BigInt(PAGE_SIZE) + (address % BigInt(PAGE_SIZE));
}
