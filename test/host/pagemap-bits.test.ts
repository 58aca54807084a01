// Every bit of a pagemap entry, and the kpageflags names, checked against a
// process whose memory is in known states (test/c/pagemap_target.c), read
// from outside by its pid.
import * as os from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kpageflags, pagemap } from '../../dist/index.js';
import { isRoot } from '../helpers';
import { kernelAtLeast, kernelHasSoftDirty, kernelMapsZeroPage, startTarget, type Target } from '../pagemap-target';

describe('pagemap bits of a live process, by pid', () => {
  let target: Target;
  const pages = (address: bigint, count: number) => pagemap.range(address, count, { pid: target.info.pid });

  beforeAll(async () => {
    target = await startTarget();
  }, 60_000);
  afterAll(() => target?.stop());

  it('bit 63 present: set for written anonymous pages, clear for untouched ones; bit 62 swapped clear (no swap)', () => {
    const entries = pages(target.info.privateAnon, 8);
    expect(entries.map((e) => e.present)).toEqual([true, true, true, true, false, false, false, false]);
    expect(entries.every((e) => !e.swapped && e.swap === null)).toBe(true);
    // Nothing else either, but soft-dirty: kernels that track it mark every
    // page of a mapping made since the last clear_refs.
    expect(entries.slice(4).every((e) => (e.raw & ~(1n << 55n)) === 0n)).toBe(true);
  });

  it('bit 56 exclusive: set for private anonymous pages this process alone maps', () => {
    expect(pages(target.info.privateAnon, 4).map((e) => e.exclusive)).toEqual([true, true, true, true]);
  });

  it('bit 61 file-page or shared-anon: set for a file mapping and shared anonymous memory, clear for private anonymous', () => {
    const [file] = pages(target.info.file, 1);
    expect(file).toMatchObject({ present: true, fileOrSharedAnon: true });
    const [shared] = pages(target.info.sharedAnon, 1);
    expect(shared).toMatchObject({ present: true, fileOrSharedAnon: true });
    expect(pages(target.info.privateAnon, 4).every((e) => !e.fileOrSharedAnon)).toBe(true);
  });

  it('bits 0-54 PFN: visible to root, hidden (0, flagged pfnHidden) otherwise', () => {
    const entries = pages(target.info.privateAnon, 4);
    if (isRoot) {
      expect(entries.every((e) => e.pfn !== null && e.pfn > 0n && !e.pfnHidden)).toBe(true);
      expect(new Set(entries.map((e) => e.pfn)).size).toBe(4);
    } else {
      expect(entries.every((e) => e.pfn === null && e.pfnHidden)).toBe(true);
    }
  });

  it(kernelMapsZeroPage()
    ? 'a page only read maps the shared zero page: present, neither exclusive nor file'
    : 'a page only read is a page of its own (pvm_no_zero_page=1): present, exclusive, not file', () => {
    const [zero, untouched] = pages(target.info.zero, 2);
    expect(zero).toMatchObject({ present: true, exclusive: !kernelMapsZeroPage(), fileOrSharedAnon: false });
    expect(untouched!.present).toBe(false);
  });

  it('bit 57 uffd-wp: set on the page userfaultfd write-protected, clear on its neighbour', () => {
    expect(target.info.uffdProtected).toBe(true); // userfaultfd WP exists on every kernel the tests run on
    const [protectedPage, other] = pages(target.info.uffd, 2);
    expect(protectedPage).toMatchObject({ present: true, uffdWriteProtected: true });
    expect(other).toMatchObject({ present: true, uffdWriteProtected: false });
  });

  it('bit 58 guard: set on MADV_GUARD_INSTALL pages (Linux 6.15+), which also read as swapped with no swap slot', () => {
    const release = os.release();
    const entries = pages(target.info.guard, 4);
    expect(target.info.guardInstalled).toBe(kernelAtLeast(release, 6, 13));
    expect(entries[0]).toMatchObject({ present: true, guard: false });
    expect(entries[3]).toMatchObject({ present: true, guard: false });
    if (kernelAtLeast(release, 6, 15)) {
      for (const e of entries.slice(1, 3)) expect(e).toMatchObject({ present: false, swapped: true, guard: true, swap: null });
    } else {
      // Older kernels: no guard pages, or guard markers pagemap does not flag.
      for (const e of entries.slice(1, 3)) expect(e.guard).toBe(false);
    }
  });

  it('bit 55 soft-dirty: after clear_refs "4", set only on the page written again (where the kernel tracks it)', () => {
    const [written, clean] = pages(target.info.softDirty, 2);
    expect(target.info.clearRefs).toBe(true);
    if (kernelHasSoftDirty()) {
      expect(written!.softDirty).toBe(true);
      expect(clean!.softDirty).toBe(false);
    } else {
      // CONFIG_MEM_SOFT_DIRTY=n (this host's kernel): the bit is never set.
      // test/kernel/pagemap-kernel.test.ts proves it set on Debian's kernels.
      expect([written!.softDirty, clean!.softDirty]).toEqual([false, false]);
      expect(pages(target.info.privateAnon, 8).some((e) => e.softDirty)).toBe(false);
    }
  });

  it('flagNames lists the set bits by name', () => {
    const [protectedPage] = pages(target.info.uffd, 1);
    expect(pagemap.flagNames(protectedPage!)).toEqual(expect.arrayContaining(['uffd-wp', 'present']));
    expect(pagemap.flagNames(pagemap.decode(0n, 0n))).toEqual([]);
    expect(pagemap.flagNames(pagemap.decode((1n << 55n) | (1n << 56n) | (1n << 57n) | (1n << 63n), 0n))).toEqual(['soft-dirty', 'exclusive', 'uffd-wp', 'present']);
  });

  it('kpageflags: written anonymous pages are anonymous, mmap, lru, swapbacked, with map count 1 (root)', () => {
    expect(target.info.lruDrained).toBe(true);
    const entries = pages(target.info.privateAnon, 4);
    if (!isRoot) {
      expect(() => kpageflags.read(0n)).toThrow(expect.objectContaining({ code: 'EACCES', path: '/proc/kpageflags' }));
      return;
    }
    const frames = kpageflags.lookup(entries.map((e) => e.pfn!));
    for (const frame of frames) {
      expect(frame.names).toEqual(expect.arrayContaining(['uptodate', 'lru', 'mmap', 'anonymous', 'swapbacked']));
      expect(frame.names).not.toContain('slab');
      expect(frame.mapCount).toBe(1n);
      expect(frame.flags & kpageflags.mask('anonymous', 'mmap', 'lru')).toBe(kpageflags.mask('anonymous', 'mmap', 'lru'));
    }
    const [zero] = pages(target.info.zero, 1);
    const zeroFrame = kpageflags.lookup([zero!.pfn!])[0]!;
    if (kernelMapsZeroPage()) expect(zeroFrame.names).toContain('zero_page');
    else expect(zeroFrame.names).toEqual(expect.arrayContaining(['anonymous', 'mmap']));
    if (!kernelMapsZeroPage()) expect(zeroFrame.names).not.toContain('zero_page');
    const [file] = pages(target.info.file, 1);
    const fileFrame = kpageflags.lookup([file!.pfn!])[0]!;
    expect(fileFrame.names).toEqual(expect.arrayContaining(['uptodate', 'mmap']));
    expect(fileFrame.names).not.toContain('anonymous');
  });
});
