// The pagemap toolkit on Debian's kernels (in the VM), where this host's
// kernel differs: soft-dirty tracking (CONFIG_MEM_SOFT_DIRTY=y), PAGEMAP_SCAN
// present (6.12, 7.2) or absent (5.10, 6.1), and the kmmap command with the
// module loaded.
import * as os from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pagemap } from '../../dist/index.js';
import { expectError, runCli } from '../helpers';
import { kernelAtLeast, kernelHasSoftDirty, startTarget, type Target } from '../pagemap-target';
import { expectScanEquivalence } from '../pagemap-scan-equivalence';

const release = os.release();
const hasScan = kernelAtLeast(release, 6, 7);

describe(`pagemap toolkit on Linux ${release}`, () => {
  let target: Target;
  beforeAll(async () => {
    target = await startTarget();
  }, 60_000);
  afterAll(() => target?.stop());

  it('bit 55 soft-dirty: after clear_refs "4", set on the page written again, clear on the other', () => {
    expect(kernelHasSoftDirty()).toBe(true); // Debian builds with CONFIG_MEM_SOFT_DIRTY=y
    expect(target.info.clearRefs).toBe(true);
    const [written, clean] = pagemap.range(target.info.softDirty, 2, { pid: target.info.pid });
    expect(written).toMatchObject({ present: true, softDirty: true });
    expect(clean).toMatchObject({ present: true, softDirty: false });
  });

  it(hasScan
    ? 'PAGEMAP_SCAN and the pagemap fallback agree page by page over a whole process'
    : 'without PAGEMAP_SCAN, auto falls back to pagemap and method ioctl fails with ENOTTY', () => {
    if (hasScan) {
      expect(pagemap.scan(target.info.privateAnon, 8, { pid: target.info.pid }).method).toBe('ioctl');
      expect(expectScanEquivalence(target.info.pid)).toBeGreaterThan(20);
      return;
    }
    const auto = pagemap.scan(target.info.privateAnon, 8, { pid: target.info.pid });
    expect(auto.method).toBe('pagemap');
    expect(auto.regions.map((r) => r.categories.includes('present'))).toEqual([true, false]);
    expectError(() => pagemap.scan(0n, 1, { method: 'ioctl' }), { code: 'ENOTTY', syscall: 'ioctl' }, /Linux 6\.7/);
  });

  it('kmmap demo runs the reference scenario and exits 0', () => {
    const result = runCli(['demo']);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^open pathname = \/proc\/lkmc_mmap\nfd = \d+\nmmap 1\nmmap 2\naccess 1\naccess 2\npaddr1 = (0x[0-9a-f]+)\npaddr2 = \1\nmunmap 1\nmunmap 2\nclose\n$/);
    const json = JSON.parse(runCli(['demo', '--json']).stdout);
    expect(json).toMatchObject({ path: '/proc/lkmc_mmap', ok: true });
    expect(json.steps).toHaveLength(11);
  });

  it('kmmap dump shows the module\'s page through a mapping: asdf, then zeros', () => {
    const result = runCli(['dump', '/proc/lkmc_mmap', '--length', '4096']);
    expect(result.status).toBe(0);
    expect(result.stdout).toBe(
      `00000000  61 73 64 66 00 00 00 00  00 00 00 00 00 00 00 00  |asdf............|\n` +
        `00000010  ${'00 '.repeat(8)} ${'00 '.repeat(8)} |${'.'.repeat(16)}|\n*\n00001000\n`,
    );
  });
});
