// Runs last: the kernel log holds no warning, BUG or Oops from the suite,
// and kmmap's per-call traces are debug-level (silent unless enabled).
import * as fs from 'node:fs';
import { describe, expect, inject, it } from 'vitest';
import { LKMC_MMAP_PATH } from '../../dist/index.js';
import { dmesg, KERNEL_TROUBLE, run } from './module';

const CONTROL = '/sys/kernel/debug/dynamic_debug/control';

describe('kernel log', () => {
  it('per-call traces stay out of the log unless dynamic debug enables them', () => {
    const before = dmesg().length;
    fs.closeSync(fs.openSync(LKMC_MMAP_PATH, 'r'));
    expect(dmesg().slice(before).filter((line) => line.includes('kmmap:'))).toEqual([]);

    if (!fs.existsSync(CONTROL)) expect(run('mount', ['-t', 'debugfs', 'debugfs', '/sys/kernel/debug']).status).toBe(0);
    fs.writeFileSync(CONTROL, 'module kmmap +p');
    try {
      fs.closeSync(fs.openSync(LKMC_MMAP_PATH, 'r'));
    } finally {
      fs.writeFileSync(CONTROL, 'module kmmap -p');
    }
    const traced = dmesg().slice(before).filter((line) => line.includes('kmmap:'));
    expect(traced.some((line) => /kmmap: open: pfn 0x[0-9a-f]+/.test(line))).toBe(true);
    expect(traced.some((line) => /kmmap: release/.test(line))).toBe(true);
  });

  it('has no warning, BUG or Oops since the kernel tests began', () => {
    const lines = dmesg().slice(inject('dmesgLinesBefore'));
    expect(lines.filter((line) => KERNEL_TROUBLE.test(line))).toEqual([]);
  });
});
