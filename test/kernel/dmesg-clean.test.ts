// Runs last: the kernel log holds no warning, BUG or Oops from the suite,
// and kmmap's per-call traces are debug-level (silent unless enabled).
import * as fs from 'node:fs';
import { describe, expect, inject, it } from 'vitest';
import { LKMC_MMAP_PATH, lkmcPhysicalAddress, map, PAGE_SIZE } from '../../dist/index.js';
import { capture, dmesg, isTrouble } from './module';

const CONTROL = '/sys/kernel/debug/dynamic_debug/control';

describe('kernel log', () => {
  it('per-call traces stay out of the log unless dynamic debug enables them', () => {
    const before = dmesg().length;
    fs.closeSync(fs.openSync(LKMC_MMAP_PATH, 'r'));
    expect(dmesg().slice(before).filter((line) => line.includes('kmmap:'))).toEqual([]);

    if (!fs.existsSync(CONTROL)) expect(capture('mount', ['-t', 'debugfs', 'debugfs', '/sys/kernel/debug']).status).toBe(0);
    fs.writeFileSync(CONTROL, 'module kmmap +p');
    let pfn: bigint;
    try {
      const fd = fs.openSync(LKMC_MMAP_PATH, 'r+');
      using m = map(fd, { length: PAGE_SIZE, access: 'rw' });
      m.buffer[0] = 1;
      pfn = lkmcPhysicalAddress(fd) / BigInt(PAGE_SIZE);
      fs.closeSync(fd);
    } finally {
      fs.writeFileSync(CONTROL, 'module kmmap -p');
    }
    const traced = dmesg().slice(before).filter((line) => line.includes('kmmap:'));
    expect(traced.some((line) => /kmmap: open$/.test(line))).toBe(true);
    expect(traced.some((line) => /kmmap: mmap 1 pages at pgoff 0$/.test(line))).toBe(true);
    expect(traced.some((line) => /kmmap: release/.test(line))).toBe(true);
    // Even when enabled, the traces name no physical page: the log may be
    // readable by users who may not see PFNs.
    const hex = pfn.toString(16);
    expect(traced.filter((line) => new RegExp(`(0x|\\b)0*${hex}\\b`, 'i').test(line))).toEqual([]);
  });

  it('has no warning, BUG or Oops since the kernel tests began', () => {
    const lines = dmesg().slice(inject('dmesgLinesBefore'));
    expect(lines.filter(isTrouble)).toEqual([]);
  });
});
