// PAGEMAP_SCAN (Linux 6.7+) and its fallback: the same pages and categories
// either way; the ioctl where the kernel has it; clear errors.
import * as os from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { map, PAGE_SIZE, pagemap } from '../../dist/index.js';
import { expectError } from '../helpers';
import { kernelAtLeast, kernelMapsZeroPage, startTarget, type Target } from '../pagemap-target';
import { categoryMask, expectScanEquivalence, perPage } from '../pagemap-scan-equivalence';

const hasScan = kernelAtLeast(os.release(), 6, 7);

// Timeouts allow for the VM's software emulation, where these also run.
describe('pagemap.scan', { timeout: 60_000 }, () => {
  let target: Target;
  beforeAll(async () => {
    target = await startTarget();
  }, 60_000);
  afterAll(() => target?.stop());

  it(`auto picks ${hasScan ? 'the ioctl' : 'the pagemap fallback'} on this kernel (Linux ${os.release()})`, () => {
    const result = pagemap.scan(target.info.privateAnon, 8, { pid: target.info.pid });
    expect(result.method).toBe(hasScan ? 'ioctl' : 'pagemap');
  });

  it('reports written pages as present regions and untouched ones without present', () => {
    const { regions, method } = pagemap.scan(target.info.privateAnon, 8, { pid: target.info.pid, method: 'pagemap' });
    expect(method).toBe('pagemap');
    const page = BigInt(PAGE_SIZE);
    // Kernels that track soft-dirty mark this whole mapping (made after clear_refs): leave that out.
    const withoutSoftDirty = (mask: number) => mask & ~categoryMask(['softDirty']);
    expect(regions.map((r) => ({ ...r, categories: r.categories.filter((c) => c !== 'softDirty'), mask: withoutSoftDirty(r.mask) }))).toEqual([
      { start: target.info.privateAnon, end: target.info.privateAnon + 4n * page, categories: ['written', 'present'], mask: categoryMask(['written', 'present']) },
      { start: target.info.privateAnon + 4n * page, end: target.info.privateAnon + 8n * page, categories: ['written'], mask: categoryMask(['written']) },
    ]);
  });

  it('the fallback knows present, swapped, file, soft-dirty, guard and written; not pfnZero, huge or wpAllowed', () => {
    expect(pagemap.scan(0n, 1, { method: 'pagemap' }).known).toEqual(['written', 'file', 'present', 'swapped', 'softDirty', 'guard']);
  });

  it('leaves out address space no mapping covers', () => {
    expect(pagemap.scan(0n, 16, { pid: target.info.pid }).regions).toEqual([]);
  });

  it(hasScan
    ? `PAGEMAP_SCAN and the pagemap fallback agree page by page over a whole process (Linux ${os.release()})`
    : `method ioctl fails with ENOTTY naming the fix (Linux ${os.release()} has no PAGEMAP_SCAN)`, () => {
    if (!hasScan) {
      expectError(() => pagemap.scan(0n, 1, { method: 'ioctl' }), { code: 'ENOTTY', syscall: 'ioctl', path: '/proc/self/pagemap' }, /Linux 6\.7/);
      return;
    }
    // The ranges the target set up are in there: guard, uffd-wp, zero page, file, shared.
    const compared = expectScanEquivalence(target.info.pid);
    expect(compared).toBeGreaterThan(20);
    const ioctl = perPage(pagemap.scan(target.info.guard, 4, { pid: target.info.pid, method: 'ioctl' }).regions, -1);
    expect(ioctl.get(target.info.guard + BigInt(PAGE_SIZE))! & categoryMask(['guard'])).toBe(target.info.guardInstalled && kernelAtLeast(os.release(), 6, 15) ? categoryMask(['guard']) : 0);
    const zero = perPage(pagemap.scan(target.info.zero, 1, { pid: target.info.pid, method: 'ioctl' }).regions, -1);
    // pfnZero only where a read maps the zero page (not with pvm_no_zero_page=1).
    expect(zero.get(target.info.zero)! & categoryMask(['pfnZero', 'present'])).toBe(categoryMask(kernelMapsZeroPage() ? ['pfnZero', 'present'] : ['present']));
    const uffd = perPage(pagemap.scan(target.info.uffd, 2, { pid: target.info.pid, method: 'ioctl' }).regions, -1);
    expect([uffd.get(target.info.uffd)! & categoryMask(['written']), uffd.get(target.info.uffd + BigInt(PAGE_SIZE))! & categoryMask(['written'])])
      .toEqual([0, categoryMask(['written'])]);
  });

  it('more regions than one ioctl call returns are all collected, in order', () => {
    // Alternate present and untouched pages: one region per page.
    const pages = 10_000;
    using m = map('/dev/zero', { length: pages * PAGE_SIZE, access: 'rw' });
    for (let i = 0; i < pages; i += 2) m.buffer[i * PAGE_SIZE] = 1;
    for (const method of hasScan ? (['ioctl', 'pagemap'] as const) : (['pagemap'] as const)) {
      const { regions } = pagemap.scan(m.address, pages, { method });
      expect(regions.length).toBe(pages);
      expect(regions.every((r, i) => r.start === m.address + BigInt(i * PAGE_SIZE) && r.categories.includes('present') === (i % 2 === 0))).toBe(true);
    }
  });

  it('refuses bad arguments with Node-style codes', () => {
    expectError(() => pagemap.scan(0n, 1, { method: 'fast' as never }), { code: 'ERR_INVALID_ARG_VALUE' });
    expectError(() => pagemap.scan(-1, 1), { code: 'ERR_OUT_OF_RANGE' });
    expectError(() => pagemap.scan(0n, 1.5), { code: 'ERR_OUT_OF_RANGE' });
    expectError(() => pagemap.scan(0n, 1, { pid: 0 }), { code: 'ERR_OUT_OF_RANGE' });
    expectError(() => pagemap.scan(0n, 1, { pid: 0x7ffffff0 }), { code: 'ENOENT', path: '/proc/2147483632/pagemap' }, /no process/);
  });
});
