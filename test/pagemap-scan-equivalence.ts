// PAGEMAP_SCAN against the pagemap fallback, page by page. Shared by the
// host test (where the host kernel has the ioctl) and the kernel test.
import { expect } from 'vitest';
import { pagemap, PAGE_SIZE } from '../dist/index.js';
import type { PageRegion, Pid } from '../dist/index.js';

const PAGE = BigInt(PAGE_SIZE);

/** Each page's category mask, restricted to `mask`. */
export function perPage(regions: PageRegion[], mask: number): Map<bigint, number> {
  const pages = new Map<bigint, number>();
  for (const region of regions) {
    for (let address = region.start; address < region.end; address += PAGE) pages.set(address, region.mask & mask);
  }
  return pages;
}

/** The bitmask of PAGE_IS_* names. */
export function categoryMask(names: readonly string[]): number {
  return names.reduce((mask, name) => mask | (1 << pagemap.PAGE_CATEGORIES.indexOf(name as never)), 0);
}

/**
 * Scans pid's whole address space both ways and expects the same pages with
 * the same categories, for the categories both methods know ('written' only
 * for pages in RAM or swap). Mappings the
 * kernel's scan skips by design (VM_PFNMAP: [vvar]) are left out. Returns
 * how many pages were compared.
 */
export function expectScanEquivalence(pid: Pid): number {
  const all = 2 ** 35; // 128 TiB of 4 KiB pages: the whole user address space
  const ioctl = pagemap.scan(0n, all, { pid, method: 'ioctl' });
  const fallback = pagemap.scan(0n, all, { pid, method: 'pagemap' });
  expect(ioctl.method).toBe('ioctl');
  expect(fallback.method).toBe('pagemap');
  const shared = categoryMask(ioctl.known.filter((name) => fallback.known.includes(name)));
  expect(shared & categoryMask(['present', 'swapped', 'file', 'written'])).toBe(categoryMask(['present', 'swapped', 'file', 'written']));
  const skipped = pagemap.maps(pid).filter((area) => area.name.startsWith('[vvar'));
  const keep = (address: bigint) => !skipped.some((area) => address >= area.start && address < area.end);
  // 'written' of a page neither present nor swapped is the kernel's choice,
  // and it changed: Linux 7.2 leaves it out where no page table exists yet.
  const populated = categoryMask(['present', 'swapped']);
  const written = categoryMask(['written']);
  const comparable = ([address, mask]: [bigint, number]): [bigint, number] => [address, mask & populated ? mask : mask & ~written];
  const viaIoctl = [...perPage(ioctl.regions, shared)].filter(([address]) => keep(address)).map(comparable);
  const viaPagemap = [...perPage(fallback.regions, shared)].filter(([address]) => keep(address)).map(comparable);
  expect(viaIoctl.length).toBeGreaterThan(0);
  // Differences as readable lines: address, mapping, categories each way.
  const areas = pagemap.maps(pid);
  const mine = new Map(viaIoctl);
  const other = new Map(viaPagemap);
  const describe = (mask: number | undefined) => (mask === undefined ? 'absent' : pagemap.PAGE_CATEGORIES.filter((_, i) => (mask >> i) & 1).join(',') || '-');
  const where = (address: bigint) => areas.find((area) => address >= area.start && address < area.end)?.name ?? '?';
  const differences = [...new Set([...mine.keys(), ...other.keys()])]
    .filter((address) => mine.get(address) !== other.get(address))
    .map((address) => `0x${address.toString(16)} ${where(address)}: ioctl ${describe(mine.get(address))}, pagemap ${describe(other.get(address))}`);
  expect(differences).toEqual([]);
  return viaIoctl.length;
}
