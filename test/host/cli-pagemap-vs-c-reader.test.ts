// `kmmap pagemap` on a live process agrees, page by page, with an
// independent C reader of /proc/<pid>/pagemap (test/c/pagemap_reader.c).
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers';
import { compileTestProgram } from '../helpers';
import { startTarget, type Target } from '../pagemap-target';

interface Row {
  address: string;
  pfn: string | null;
  pfnHidden: boolean;
  swap: { type: number; offset: string } | null;
  flags: string[];
}

// Each test starts the command several times: timeouts allow for a slow machine
// (the VM's software emulation).
describe('kmmap pagemap against a C reader of pagemap', { timeout: 60_000 }, () => {
  let target: Target;
  let reader: string;
  beforeAll(async () => {
    target = await startTarget();
    reader = compileTestProgram('pagemap_reader.c', target.dir);
  }, 60_000);
  afterAll(() => target?.stop());

  /** The reader's line format, built from kmmap's JSON row. */
  function asReaderLine(row: Row): string {
    const where = row.pfn !== null ? row.pfn : row.pfnHidden ? '0x0' : row.swap ? `swap:${row.swap.type}:${row.swap.offset}` : '-';
    return `${row.address} ${where} ${row.flags.length > 0 ? row.flags.join(',') : '-'}`;
  }

  const regions = ['softDirty:2', 'privateAnon:8', 'sharedAnon:4', 'file:4', 'zero:2', 'guard:4', 'uffd:2'];
  for (const spec of regions) {
    const [name, count] = spec.split(':') as [keyof Target['info'], string];
    it(`agrees on every page of the ${name} region (${count} pages)`, () => {
      const start = target.info[name] as bigint;
      const pages = Number(count);
      const length = BigInt(pages * target.info.pageSize);
      const result = runCli(['pagemap', String(target.info.pid), `0x${start.toString(16)}+0x${length.toString(16)}`, '--all', '--json']);
      expect(result.stderr).toBe('');
      expect(result.status).toBe(0);
      const report = JSON.parse(result.stdout) as { pages: Row[] };
      expect(report.pages).toHaveLength(pages);
      const fromC = execFileSync(reader, [String(target.info.pid), start.toString(16), String(pages)], { encoding: 'utf8' }).trim().split('\n');
      expect(report.pages.map(asReaderLine)).toEqual(fromC);
    });
  }

  it('without --all, lists exactly the pages the C reader sees present or swapped', () => {
    const start = target.info.privateAnon;
    const result = runCli(['pagemap', String(target.info.pid), `0x${start.toString(16)}+${8 * target.info.pageSize}`, '--json']);
    expect(result.status).toBe(0);
    const report = JSON.parse(result.stdout) as { pages: Row[] };
    const fromC = execFileSync(reader, [String(target.info.pid), start.toString(16), '8'], { encoding: 'utf8' }).trim().split('\n');
    expect(report.pages.map(asReaderLine)).toEqual(fromC.filter((line) => / \S*(present|swapped)\S*$/.test(line)));
    expect(report.pages).toHaveLength(4);
  });
});
