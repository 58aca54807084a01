// /sys/module/kmmap/parameters/pages_held, the module's own count of the
// pages it holds, is exact: the /dev/kmmap buffer from load to unload, plus
// one per /proc/lkmc_mmap page until the last file or mapping of it is gone.
// The stress run (npm run stress:kernel) relies on it to show 0 pages leaked.
import * as fs from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { KmmapDevice, LKMC_MMAP_PATH, map, PAGE_SIZE } from '../../dist/index.js';
import { dmesg, insmod, isLoaded, reload, rmmod } from './module';

const PAGES_HELD = '/sys/module/kmmap/parameters/pages_held';

function pagesHeld(): number {
  const text = fs.readFileSync(PAGES_HELD, 'utf8');
  expect(text).toMatch(/^\d+\n$/);
  return Number(text);
}

function bufferPages(): number {
  return Math.ceil(Number(fs.readFileSync('/sys/module/kmmap/parameters/size', 'utf8')) / PAGE_SIZE);
}

afterAll(() => reload());

describe('pages_held', () => {
  it('is the buffer size in pages right after load, for either backing', () => {
    for (const backing of ['contig', 'vmalloc']) {
      reload([`backing=${backing}`, `size=${16 * PAGE_SIZE + 1}`]); // rounded up: 17 pages
      expect(pagesHeld(), backing).toBe(17);
    }
    reload();
    expect(pagesHeld()).toBe(bufferPages());
  });

  it('is read-only: not writable through sysfs, and insmod refuses it as a parameter', () => {
    reload();
    expect(() => fs.writeFileSync(PAGES_HELD, '0')).toThrow(expect.objectContaining({ code: 'EACCES' }));
    expect(pagesHeld()).toBe(bufferPages());

    const logBefore = dmesg().length;
    expect(rmmod()).toMatchObject({ status: 0 });
    const refused = insmod(['pages_held=5']);
    expect(refused.status).not.toBe(0);
    expect(isLoaded()).toBe(false);
    expect(dmesg().slice(logBefore).join('\n')).toMatch(/pages_held/);
    expect(insmod()).toMatchObject({ status: 0 });
  });

  it('counts one page per open of /proc/lkmc_mmap, and none after close', () => {
    reload();
    const base = pagesHeld();
    expect(base).toBe(bufferPages());
    const fds: number[] = [];
    for (let i = 1; i <= 3; i++) {
      fds.push(fs.openSync(LKMC_MMAP_PATH, 'r+'));
      expect(pagesHeld()).toBe(base + i);
    }
    fs.closeSync(fds.pop()!);
    expect(pagesHeld()).toBe(base + 2);
    for (const fd of fds) fs.closeSync(fd);
    expect(pagesHeld()).toBe(base);
  });

  it('keeps an lkmc_mmap page while a mapping of it lives, closed fd or not, and lets go at the last munmap', () => {
    reload();
    const base = pagesHeld();
    const fd = fs.openSync(LKMC_MMAP_PATH, 'r+');
    const first = map(fd, { length: PAGE_SIZE, access: 'rw' });
    const second = map(fd, { length: PAGE_SIZE, access: 'rw' });
    first.buffer.write('held', 'latin1');
    expect(pagesHeld()).toBe(base + 1); // two mappings, one page
    fs.closeSync(fd);
    expect(pagesHeld()).toBe(base + 1);
    first.close();
    expect(second.buffer.toString('latin1', 0, 4)).toBe('held');
    expect(pagesHeld()).toBe(base + 1);
    second.close();
    expect(pagesHeld()).toBe(base);
  });

  it('does not move when /dev/kmmap is opened and mapped: the buffer is allocated once, at load', () => {
    reload();
    const base = pagesHeld();
    const dev = KmmapDevice.open({ method: 'pages' });
    try {
      const m = dev.map();
      m.buffer[0] = 1;
      expect(pagesHeld()).toBe(base);
      m.close();
    } finally {
      dev.close();
    }
    expect(pagesHeld()).toBe(base);
  });
});
