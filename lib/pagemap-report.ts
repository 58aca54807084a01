// What `kmmap pagemap` shows: the pages of some ranges of a process with
// their pagemap entries and, where this process may read them, their
// kpageflags and map counts, plus page-types-like summaries. Built here as
// data; lib/cli.ts only formats it.
import * as kpageflags from './kpageflags';
import { codedError, outOfRange, pfnHiddenError } from './errors';
import { PAGE_SIZE } from './page';
import * as pagemap from './pagemap';
import type { CodedError, SystemError } from './errors';

/** A range of virtual addresses to report, with the mapping name it came from. */
export interface ReportRange {
  start: bigint;
  end: bigint;
  name?: string;
}

/** One page of the report. */
export interface ReportPage {
  entry: pagemap.PagemapEntry;
  /** KPF_* flags of its frame; null when unreadable (see ReportSummary.pageFlagsUnavailable) or not present. */
  pageFlags: bigint | null;
  /** /proc/kpagecount of its frame; null like pageFlags. */
  mapCount: bigint | null;
}

/** Pages counted by a combination of pagemap flags. */
export interface PagemapCombination {
  flags: string[];
  pages: number;
}

/** The pages of some ranges of a process, with what is known of each, and summaries. */
export interface Report {
  pid: pagemap.Pid;
  ranges: ReportRange[];
  /** How present pages were found: PAGEMAP_SCAN ('ioctl'), or reading pagemap ('pagemap'). */
  method: 'ioctl' | 'pagemap';
  pages: ReportPage[];
  pagemapSummary: PagemapCombination[];
  /** Combinations of KPF_* flags of the present pages; null when unavailable. */
  pageFlagsSummary: kpageflags.FlagCombination[] | null;
  /** Why there are no kpageflags: hidden PFNs or no permission. */
  pageFlagsUnavailable: { code: string; message: string } | null;
}

/** Options of buildReport(). */
export interface ReportOptions {
  pid?: pagemap.Pid;
  /** Every page of the ranges, not only present or swapped ones. */
  all?: boolean;
  method?: 'auto' | 'ioctl' | 'pagemap';
}

/** Most pages one report holds. */
export const MAX_REPORT_PAGES = 1 << 22;
const PAGE = BigInt(PAGE_SIZE);

/**
 * The ranges' pages: with `all`, every page; otherwise the pages that are
 * present or swapped, found with pagemap.scan() (which skips the rest of
 * the address space in the kernel where it can).
 */
export function buildReport(ranges: ReportRange[], options: ReportOptions = {}): Report {
  const pid = options.pid ?? 'self';
  const entries: pagemap.PagemapEntry[] = [];
  let method: Report['method'] = 'pagemap';
  const take = (start: bigint, end: bigint) => {
    const pages = Number((end - start) / PAGE);
    if (entries.length + pages > MAX_REPORT_PAGES) {
      throw outOfRange('range', `at most ${MAX_REPORT_PAGES} pages in one report: narrow it`, `${entries.length + pages} pages`);
    }
    let found: pagemap.PagemapEntry[];
    try {
      found = pagemap.range(start, pages, { pid });
    } catch (err) {
      if ((err as CodedError).code !== 'ERR_OUT_OF_RANGE') throw err;
      throw outOfRange('range', `within the address space /proc/${pid}/pagemap covers, which ends before 0x${end.toString(16)}`,
        `0x${start.toString(16)}..0x${end.toString(16)}`);
    }
    for (const entry of found) entries.push(entry);
  };
  for (const range of ranges) {
    const start = (range.start / PAGE) * PAGE;
    const end = ((range.end + PAGE - 1n) / PAGE) * PAGE;
    if (options.all) {
      take(start, end);
      continue;
    }
    const found = pagemap.scan(start, Number((end - start) / PAGE), { pid, method: options.method ?? 'auto' });
    method = found.method;
    for (const region of found.regions) {
      if (region.categories.includes('present') || region.categories.includes('swapped')) take(region.start, region.end);
    }
  }

  const pages: ReportPage[] = entries.map((entry) => ({ entry, pageFlags: null, mapCount: null }));
  let pageFlagsUnavailable: Report['pageFlagsUnavailable'] = null;
  const present = pages.filter((page) => page.entry.present);
  if (present.some((page) => page.entry.pfnHidden)) {
    const err = pfnHiddenError();
    pageFlagsUnavailable = { code: err.code, message: err.message };
  } else if (present.length > 0) {
    try {
      const frames = kpageflags.lookup(present.map((page) => page.entry.pfn!));
      present.forEach((page, i) => {
        page.pageFlags = frames[i]!.flags;
        page.mapCount = frames[i]!.mapCount;
      });
    } catch (err) {
      const code = (err as SystemError).code;
      if (code !== 'EACCES' && code !== 'EPERM' && code !== 'ENOENT') throw err;
      pageFlagsUnavailable = { code, message: (err as Error).message };
    }
  }

  const combos = new Map<string, number>();
  for (const { entry } of pages) {
    const key = pagemap.flagNames(entry).join(',');
    combos.set(key, (combos.get(key) ?? 0) + 1);
  }
  const pagemapSummary = [...combos]
    .map(([key, count]) => ({ flags: key === '' ? [] : key.split(','), pages: count }))
    .sort((a, b) => b.pages - a.pages);
  const pageFlagsSummary = pageFlagsUnavailable
    ? null
    : kpageflags.summarize(present.map((page) => page.pageFlags!));
  return { pid, ranges, method: options.all ? 'pagemap' : method, pages, pagemapSummary, pageFlagsSummary, pageFlagsUnavailable };
}

/** An error for a range name that matches no mapping of the process. */
export function noSuchMapping(name: string, pid: pagemap.Pid): Error {
  return codedError('ERR_KMMAP_NO_SUCH_MAPPING', `Process ${pid} has no mapping named '${name}' (see /proc/${pid}/maps)`);
}
