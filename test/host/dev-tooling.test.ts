// scripts/lib, the dev tooling the scripts, the benchmarks and the tests
// share: its bash and JavaScript halves read the same data files and must
// agree, and the page_owner / kmemleak attribution that the kernel scripts
// rely on classifies stacks as they expect.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { expect, it } from 'vitest';
import { kmemleakObjects, kmmapFrame, pageOwnerCounts, parseRanges } from '../../scripts/lib/attribution.cjs';
import { kernelLines } from '../../scripts/lib/kernel-lines.cjs';
import { isTrouble, KERNEL_TROUBLE } from '../../scripts/lib/kernel-trouble.cjs';
import { REPO, tempDir } from '../helpers';

/** Runs `script` in bash with scripts/lib/common.sh sourced; its stdout. */
function commonSh(script: string, input = ''): { status: number | null; stdout: string } {
  const result = spawnSync('bash', ['-c', `source scripts/lib/common.sh\n${script}`], { cwd: REPO, input, encoding: 'utf8' });
  if (result.error) throw result.error;
  return { status: result.status, stdout: result.stdout };
}

const LOG = [
  '[    0.000000] Linux version 6.1.0-40-amd64',
  '[    1.234567] kmmap: loading out-of-tree module taints kernel.',
  '[    1.234568] kmmap: module verification failed: signature and/or required key missing - tainting kernel',
  '[    2.000000] WARNING: CPU: 1 PID: 42 at mm/gup.c:1234 __get_user_pages+0x1/0x2',
  '[    2.000001] Call Trace:',
  '[    2.100000] BUG: KASAN: use-after-free in kmmap_release+0x10/0x20 [kmmap]',
  '[    2.200000] list_del corruption. prev->next should be ffff888003a4b000',
  '[    2.300000] kmemleak: 2 new suspected memory leaks (see /sys/kernel/debug/kmemleak)',
  '[    2.400000] INFO: task node:99 blocked for more than 120 seconds.',
  '[    2.500000] BUG: scheduling while atomic: node/99/0x00000002',
  '[    2.600000] kmmap: mmap fault failed: error -14',
  '[    2.700000] please report a bug, the loops were fine',
  '[    2.800000] refcount_t: underflow; use-after-free.',
];

it('the kernel-trouble pattern means the same to grep -E (common.sh) and to RegExp (kernel-trouble.cjs)', () => {
  const fromJs = LOG.filter(isTrouble);
  const fromBash = commonSh('kmmap_kernel_trouble', `${LOG.join('\n')}\n`);
  expect(fromBash.status).toBe(0);
  expect(fromBash.stdout.trimEnd().split('\n')).toEqual(fromJs);
  // The expected lines and the harmless words are not trouble; every other sample is.
  expect(fromJs).toEqual(LOG.filter((_, i) => ![0, 1, 2, 11].includes(i)));
  // The out-of-tree lines are excluded as expected, not unmatched by chance.
  expect(LOG.slice(1, 3).every((line) => !isTrouble(`${line} WARNING`))).toBe(true);
  // No escape that grep -E reads differently from JavaScript.
  expect(KERNEL_TROUBLE.source).not.toMatch(/\\[dDbBwWsS]/);
});

it('common.sh and kernel-lines.cjs list the same kernel lines, those of vm/kernel-lines', () => {
  const lines = kernelLines();
  expect(lines.length).toBeGreaterThan(0);
  for (const { line, release } of lines) {
    expect(line).toMatch(/^[0-9]+\.[0-9]+$/);
    expect(release).toMatch(/^[a-z]+$/);
  }
  expect(commonSh('kmmap_kernel_lines').stdout.trimEnd().split('\n')).toEqual(lines.map((k) => k.line));
});

// Two loads of the module's text; frames in them print as bare addresses.
const RANGES = parseRanges('ffffffffc0100000 ffffffffc0110000\nffffffffc0200000 ffffffffc0208000\n');
const stack = (frames: string[], pages: number) => [...frames.map((f) => ` ${f}`), `nr_base_pages: ${pages}`].join('\n');
const STACKS = [
  stack(['get_page_from_freelist+0x1b4/0x3a0', 'kmmap_alloc_buffer+0x40/0x100 [kmmap]', 'do_init_module+0x90/0x260'], 512),
  stack(['get_page_from_freelist+0x1b4/0x3a0', 'allocate_slab+0x80/0x300', '0xffffffffc0100123'], 8),
  stack(['get_page_from_freelist+0x1b4/0x3a0', '__pte_alloc+0x20/0x100', '0xffffffffc0204000'], 3),
  stack(['__vmalloc_node_range_noprof+0x300/0x800', '__vmalloc_node_range_noprof+0x300/0x800', '0xffffffffc0100200'], 5),
  stack(['get_page_from_freelist+0x1b4/0x3a0', 'kasan_populate_vmalloc+0x20/0x50', '0xffffffffc0100300'], 7),
  stack(['__vmalloc_node_range_noprof+0x300/0x800', '0xffffffffc0100400'], 11),
  stack(['get_page_from_freelist+0x1b4/0x3a0', '0xffffffffc0900000'], 13),
  stack(['get_page_from_freelist+0x1b4/0x3a0', 'some_other+0x1/0x2'], 17),
].join('\n\n');

it('page_owner: pages under a kmmap frame by kind, a bare address counted by the load ranges when given', () => {
  expect(pageOwnerCounts(STACKS, RANGES)).toEqual({ data: 512 + 11, slab: 8, pgtable: 3, kasan: 7, vmallocArray: 5 });
  // Without ranges (the debug kernel, everything else built in) any bare address is kmmap's.
  expect(pageOwnerCounts(STACKS)).toEqual({ data: 512 + 11 + 13, slab: 8, pgtable: 3, kasan: 7, vmallocArray: 5 });
  expect(kmmapFrame(' some_other+0x1/0x2', RANGES)).toBe(false);
});

/** The command line of attribution.cjs with `args`, `input` on stdin. */
function run(args: string[], input: string) {
  return spawnSync(process.execPath, [path.join(REPO, 'scripts', 'lib', 'attribution.cjs'), ...args], { input, encoding: 'utf8' });
}

it('kmemleak: the objects whose backtrace has a kmmap frame, and the command line test/kstress/run.sh uses', () => {
  const report = [
    'unreferenced object 0xffff888003a4b000 (size 64):',
    '  backtrace (crc 1234abcd):',
    '    [<ffffffff81234567>] kmalloc_trace+0x26/0x90',
    '    [<ffffffffc0100123>] 0xffffffffc0100123',
    'unreferenced object 0xffff888003a4c000 (size 32):',
    '  backtrace (crc 1234abcd):',
    '    [<ffffffff81234567>] kmalloc_trace+0x26/0x90',
    'unreferenced object 0xffff888003a4e000 (size 32):',
    '    [<ffffffffc0901000>] kmmap_open+0x26/0x90 [kmmap]',
    '',
  ].join('\n');
  expect(kmemleakObjects(report, RANGES).map((o) => o.kmmap)).toEqual([true, false, true]);
  // As test/kstress/run.sh calls it: only the first load's range recorded.
  const tmp = tempDir();
  try {
    const ranges = path.join(tmp.dir, 'ranges');
    fs.writeFileSync(ranges, 'ffffffffc0100000 ffffffffc0110000\n');
    expect(run(['kmemleak', '--ranges', ranges], report).stdout).toBe(
      'unreferenced object 0xffff888003a4b000 (size 64):\nunreferenced object 0xffff888003a4e000 (size 32):\n',
    );
    expect(run(['page-owner', '--ranges', ranges], STACKS).stdout).toBe(`${512 + 11} 8 0 7 5\n`);
  } finally {
    tmp.remove();
  }
  expect(run(['page-owner'], STACKS).stdout).toBe(`${512 + 11 + 13} 8 3 7 5\n`);
  expect(run(['neither'], '').status).toBe(2);
});
