// /proc/kpageflags and /proc/kpagecount: what the kernel knows about each
// physical page frame, one u64 per PFN (Documentation/admin-guide/mm/pagemap.rst).
// Both files are root-only (mode 0400, and CAP_SYS_ADMIN to read).
import * as fs from 'node:fs';
import { invalidArgType, outOfRange } from './errors';
import { pageFrameFileHint } from './hints';
import { openProcFile, readEntries } from './procfs';
import { validateBigInt, validateInteger, validateIterable, validateUint64 } from './validate';

const U64_MAX = (1n << 64n) - 1n;

/**
 * Every KPF_* flag /proc/kpageflags reports, by bit: [bit, letter, name],
 * the letter as tools/mm/page-types.c prints it.
 */
const FLAG_TABLE = [
  [0, 'L', 'locked'],
  [1, 'E', 'error'],
  [2, 'R', 'referenced'],
  [3, 'U', 'uptodate'],
  [4, 'D', 'dirty'],
  [5, 'l', 'lru'],
  [6, 'A', 'active'],
  [7, 'S', 'slab'],
  [8, 'W', 'writeback'],
  [9, 'I', 'reclaim'],
  [10, 'B', 'buddy'],
  [11, 'M', 'mmap'],
  [12, 'a', 'anonymous'],
  [13, 's', 'swapcache'],
  [14, 'b', 'swapbacked'],
  [15, 'H', 'compound_head'],
  [16, 'T', 'compound_tail'],
  [17, 'G', 'huge'],
  [18, 'u', 'unevictable'],
  [19, 'X', 'hwpoison'],
  [20, 'n', 'nopage'],
  [21, 'x', 'ksm'],
  [22, 't', 'thp'],
  [23, 'o', 'offline'], // BALLOON before Linux 5.0
  [24, 'z', 'zero_page'],
  [25, 'i', 'idle_page'],
  [26, 'g', 'pgtable'],
  [32, 'r', 'reserved'],
  [33, 'm', 'mlocked'],
  [34, 'd', 'owner_2'],
  [35, 'P', 'private'],
  [36, 'p', 'private_2'],
  [37, 'O', 'owner_private'],
  [38, 'h', 'arch'],
  [39, 'c', 'uncached'],
  [40, 'f', 'softdirty'],
  [41, 'H', 'arch_2'],
  [42, 'C', 'arch_3'],
] as const;

/** The name of a KPF_* flag (`KPF_ANON` is 'anonymous'), as mask() takes and names() gives it. */
export type PageFlagName = (typeof FLAG_TABLE)[number][2];

/** A set bit no KPF_* flag names, as names() shows it: 'bit27'. */
export type UnnamedBit = `bit${number}`;

/** One KPF_* flag: its bit, its name and its letter as tools/mm/page-types.c prints them. */
export interface PageFlag {
  bit: number;
  name: PageFlagName;
  letter: string;
  /**
   * false for bits 32 and up: include/linux/kernel-page-flags.h calls them
   * kernel-hacking assistances, "subject to change, never rely on them".
   */
  stable: boolean;
}

/** Every KPF_* flag /proc/kpageflags reports, by bit. */
export const PAGE_FLAGS: readonly PageFlag[] = Object.freeze(
  FLAG_TABLE.map(([bit, letter, name]): PageFlag => Object.freeze({ bit, name, letter, stable: bit < 32 })),
);

const BY_NAME = new Map<string, PageFlag>(PAGE_FLAGS.map((f) => [f.name, f]));

/** The bitmask of flags given by name: `mask('anonymous', 'lru')` is (1n << 12n) | (1n << 5n). */
export function mask(...names: PageFlagName[]): bigint {
  let result = 0n;
  for (const name of names) {
    if (typeof name !== 'string') throw invalidArgType('name', 'of type string', name);
    const found = BY_NAME.get(name);
    if (!found) throw outOfRange('name', `one of ${[...BY_NAME.keys()].join(', ')}`, name);
    result |= 1n << BigInt(found.bit);
  }
  return result;
}

/** Names of the set flags, in bit order; a bit no flag names shows as 'bitN'. */
export function names(flags: bigint): (PageFlagName | UnnamedBit)[] {
  validateBigInt('flags', flags, U64_MAX);
  const result: (PageFlagName | UnnamedBit)[] = [];
  for (let i = 0; i < 64; i++) {
    if (((flags >> BigInt(i)) & 1n) === 0n) continue;
    result.push(PAGE_FLAGS.find((f) => f.bit === i)?.name ?? `bit${i}`);
  }
  return result;
}

/** page-types' symbolic form: one letter per flag, '_' where clear. */
export function symbolic(flags: bigint): string {
  validateBigInt('flags', flags, U64_MAX);
  return PAGE_FLAGS.map((f) => (((flags >> BigInt(f.bit)) & 1n) === 1n ? f.letter : '_')).join('');
}

const KPAGEFLAGS = '/proc/kpageflags';
const KPAGECOUNT = '/proc/kpagecount';
const MAX_PFN = 2n ** 53n - 1n;
/** Most PFNs one call reads: 1 GiB of entries. */
const MAX_PFNS = 2 ** 27;

function readByPfn(path: string, pfn: bigint | number, count: number): BigUint64Array {
  // PFNs have 55 bits; indexes stay exact numbers below 2^53.
  const first = validateUint64('pfn', pfn, MAX_PFN);
  validateInteger('count', count, 0, MAX_PFNS);
  const out = new BigUint64Array(count);
  const fd = openProcFile(path, pageFrameFileHint(path));
  try {
    // Entry offsets are PFN * 8; PFNs stay far below 2^53.
    const got = readEntries(fd, path, Number(first), out);
    if (got < count) throw outOfRange('pfn', `below the highest page frame (${BigInt(got) + first})`, pfn);
  } finally {
    fs.closeSync(fd);
  }
  return out;
}

/** Raw KPF_* flags of `count` consecutive page frames from `pfn`, read in large batches. */
export function read(pfn: bigint | number, count = 1): BigUint64Array {
  return readByPfn(KPAGEFLAGS, pfn, count);
}

/** Map counts (/proc/kpagecount) of `count` consecutive page frames from `pfn`. */
export function mapCounts(pfn: bigint | number, count = 1): BigUint64Array {
  return readByPfn(KPAGECOUNT, pfn, count);
}

/** Flags and map count of one page frame. */
export interface PageFrame {
  pfn: bigint;
  flags: bigint;
  names: (PageFlagName | UnnamedBit)[];
  mapCount: bigint;
}

/**
 * Flags and map counts of any set of page frames (from pagemap entries,
 * say): runs of consecutive PFNs are read with one pread each. The result
 * follows the order of `pfns`.
 */
export function lookup(pfns: readonly (bigint | number)[]): PageFrame[] {
  if (!Array.isArray(pfns)) throw invalidArgType('pfns', 'an array of bigint', pfns);
  // As bigints from here on: a number PFN is as good, but must not meet bigint arithmetic.
  const wanted = Array.from(pfns, (pfn, i) => validateUint64(`pfns[${i}]`, pfn, MAX_PFN));
  const sorted = [...new Set(wanted)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const found = new Map<bigint, PageFrame>();
  for (let i = 0; i < sorted.length;) {
    let j = i + 1;
    while (j < sorted.length && sorted[j] === sorted[j - 1]! + 1n && j - i < MAX_PFNS) j++;
    const first = sorted[i]!;
    const flags = read(first, j - i);
    const counts = mapCounts(first, j - i);
    for (let k = 0; k < j - i; k++) {
      const pfn = first + BigInt(k);
      found.set(pfn, { pfn, flags: flags[k]!, names: names(flags[k]!), mapCount: counts[k]! });
    }
    i = j;
  }
  return wanted.map((pfn) => found.get(pfn)!);
}

/** One line of a page-types-like summary: a combination of flags and how many pages have it. */
export interface FlagCombination {
  flags: bigint;
  names: (PageFlagName | UnnamedBit)[];
  symbolic: string;
  pages: number;
}

/** Counts pages by their exact combination of flags, most common first. */
export function summarize(flags: Iterable<bigint>): FlagCombination[] {
  validateIterable('flags', flags, 'an iterable of bigint (an array or a BigUint64Array)');
  const counts = new Map<bigint, number>();
  let i = 0;
  for (const value of flags) {
    validateBigInt(`flags[${i++}]`, value, U64_MAX);
    counts.set(value, (counts.get(value) ?? 0) + 1);
  }
  return [...counts]
    .map(([value, pages]) => ({ flags: value, names: names(value), symbolic: symbolic(value), pages }))
    .sort((a, b) => b.pages - a.pages || (a.flags < b.flags ? -1 : 1));
}
