// /dev/kmmap: every mapping method on every backing maps the buffer's own
// pages, the same ones for every mapping and every process, at the right
// offsets, and refuses what the buffer does not hold.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Backing, KmmapDevice, type Mapping, type MappingMethod, PAGE_SIZE, pagemap } from '../../dist/index.js';
import { compileTestProgram, expectError, runNode, tempDir } from '../helpers';
import { reload } from './module';

const METHODS_OF: Record<Backing, MappingMethod[]> = {
  contig: ['fault', 'fault_around', 'pages', 'pfn'],
  vmalloc: ['fault', 'fault_around', 'pages', 'vmalloc'],
};
const DEFAULT_SIZE = 4 << 20;
const PATTERN = 0x6b6d6d6170000000n;

/**
 * PFNs that /proc/self/pagemap reports for a mapping. remap_pfn_range()
 * makes a VM_PFNMAP VMA, which the kernel's page walker skips: pagemap
 * reports its pages as not present (null here), a documented limit.
 */
function pagemapPfns(m: Mapping): (bigint | null)[] {
  return pagemap.range(m.address, m.length / PAGE_SIZE).map((e) => e.pfn);
}

/** Checks that each page of `m` holds the addOffset pattern for buffer offset `at`. */
function expectPatternAt(m: Mapping, at: number): void {
  for (let o = 0; o < m.length; o += PAGE_SIZE) {
    const first = m.buffer.readBigUInt64LE(o);
    const last = m.buffer.readBigUInt64LE(o + PAGE_SIZE - 8);
    if (first !== PATTERN + BigInt(at + o) || last !== PATTERN + BigInt(at + o + PAGE_SIZE - 8)) {
      throw new Error(`page at mapping offset ${o} holds ${first.toString(16)}: not buffer offset ${at + o}`);
    }
  }
}

const tmp = tempDir('kmmap-device-');
afterAll(() => {
  tmp.remove();
  reload();
});

describe.each(['contig', 'vmalloc'] as const)('backing=%s', (backing) => {
  let dev: KmmapDevice;
  let kernelPfns: BigUint64Array;

  beforeAll(() => {
    reload([`backing=${backing}`]);
    dev = KmmapDevice.open();
    kernelPfns = dev.pfns();
  });
  afterAll(() => dev.close());

  it('reports its geometry: 4 MiB by default, zeroed, the methods this backing allows', () => {
    const info = dev.info();
    expect(info).toMatchObject({ size: DEFAULT_SIZE, pageSize: PAGE_SIZE, backing, method: 'fault', mappings: 0 });
    expect(info.methods).toEqual(METHODS_OF[backing]);
    expect(info.maxChunkPages).toBeGreaterThanOrEqual(1);
    expect(info.maxChunkPages).toBeLessThanOrEqual(DEFAULT_SIZE / PAGE_SIZE);
    expect(dev.checksum()).toBe(zlib.crc32(Buffer.alloc(DEFAULT_SIZE)));
    expect(kernelPfns.length).toBe(DEFAULT_SIZE / PAGE_SIZE);
    expect(new Set(kernelPfns).size).toBe(kernelPfns.length);
    expect(kernelPfns.every((pfn) => pfn > 0n)).toBe(true);
  });

  it('refuses the method that needs the other backing with ENOTSUP, naming the parameter', () => {
    const other = backing === 'contig' ? 'vmalloc' : 'pfn';
    expectError(() => { dev.method = other; }, { code: 'ENOTSUP', syscall: 'ioctl', path: '/dev/kmmap' },
      /operation not supported.*needs backing=/);
    expect(dev.method).toBe('fault');
  });

  describe.each(METHODS_OF[backing])('method=%s', (method) => {
    beforeAll(() => {
      dev.method = method;
    });
    beforeEach(() => {
      dev.fill(PATTERN, { addOffset: true });
    });

    it('two mappings in one process see the same bytes and the same PFNs, which are the kernel\'s', () => {
      using a = dev.map();
      using b = dev.map();
      expect(a.address).not.toBe(b.address);
      expectPatternAt(a, 0);
      expectPatternAt(b, 0); // touches every page, so that the fault methods map them all
      a.buffer.write('written through a', 1000);
      expect(b.buffer.toString('latin1', 1000, 1017)).toBe('written through a');

      const pa = pagemapPfns(a);
      const pb = pagemapPfns(b);
      if (method === 'pfn') {
        expect(pa.every((pfn) => pfn === null)).toBe(true);
        expect(pb.every((pfn) => pfn === null)).toBe(true);
      } else {
        expect(pa).toEqual([...kernelPfns]);
        expect(pb).toEqual([...kernelPfns]);
      }
    });

    it('kernel fills are seen through the mapping, user writes through the kernel\'s checksum', () => {
      using m = dev.map();
      dev.fill(0x5a, { offset: 3 * PAGE_SIZE, length: 10 });
      expect(m.buffer.subarray(3 * PAGE_SIZE, 3 * PAGE_SIZE + 11)).toEqual(Buffer.from([...Array(10).fill(0x5a), 0]));
      dev.fill(Buffer.from('kmmap'), { offset: 7, length: 13 });
      // Byte o gets pattern byte o % 5, wherever the range starts.
      expect(m.buffer.toString('latin1', 7, 20)).toBe('mapkmmapkmmap');

      m.buffer.fill(0xc3, 5 * PAGE_SIZE + 17, 9 * PAGE_SIZE - 3);
      expect(dev.checksum()).toBe(zlib.crc32(m.buffer));
      expect(dev.checksum({ offset: 5 * PAGE_SIZE, length: 4 * PAGE_SIZE }))
        .toBe(zlib.crc32(m.buffer.subarray(5 * PAGE_SIZE, 9 * PAGE_SIZE)));
      expect(dev.checksum({ offset: 123, length: 0 })).toBe(0);
    });

    it('maps at page offsets: each mapping starts at that offset\'s bytes and pages', () => {
      const pages = DEFAULT_SIZE / PAGE_SIZE;
      for (const [first, count] of [[1, 1], [1, pages - 1], [pages / 2 + 3, 17], [pages - 1, 1]] as const) {
        using m = dev.map({ offset: first * PAGE_SIZE, length: count * PAGE_SIZE });
        expectPatternAt(m, first * PAGE_SIZE);
        if (method !== 'pfn') expect(pagemapPfns(m)).toEqual([...kernelPfns.subarray(first, first + count)]);
      }
      // An offset inside a page: the kernel maps from the page below, the Buffer starts at the byte.
      using inside = dev.map({ offset: 5 * PAGE_SIZE + 24, length: 16 });
      expect(inside.buffer.readBigUInt64LE(0)).toBe(PATTERN + BigInt(5 * PAGE_SIZE + 24));
      expect(inside.buffer.length).toBe(16);
    });

    it('a second process maps the same bytes and the same PFNs, and its writes are seen here', () => {
      using m = dev.map();
      const child = runNode(`
        const { KmmapDevice, pagemap, PAGE_SIZE } = require('./dist');
        const dev = KmmapDevice.open({ method: ${JSON.stringify(method)} });
        const m = dev.map();
        const words = [0, 1, 1023].map((p) => m.buffer.readBigUInt64LE(p * PAGE_SIZE).toString(16));
        for (let o = 0; o < m.length; o += PAGE_SIZE) m.buffer[o]; // fault every page in
        const pfns = pagemap.range(m.address, m.length / PAGE_SIZE).map((e) => e.pfn === null ? null : e.pfn.toString());
        m.buffer.write('from the child', 2 * PAGE_SIZE + 8);
        console.log(JSON.stringify({ words, pfns, mappings: dev.info().mappings }));
        m.close();
        dev.close();
      `);
      expect(child.stderr).toBe('');
      expect(child.status).toBe(0);
      const seen = JSON.parse(child.stdout) as { words: string[]; pfns: (string | null)[]; mappings: number };
      expect(seen.words).toEqual([0, 1, 1023].map((p) => (PATTERN + BigInt(p * PAGE_SIZE)).toString(16)));
      expect(seen.pfns).toEqual(method === 'pfn' ? seen.pfns.map(() => null) : [...kernelPfns].map(String));
      expect(seen.mappings).toBe(2);
      expect(m.buffer.toString('latin1', 2 * PAGE_SIZE + 8, 2 * PAGE_SIZE + 22)).toBe('from the child');
    });

    it('a first touch maps what the method promises: one page, an aligned batch, or everything up front', () => {
      using m = dev.map();
      expect(m.buffer[21 * PAGE_SIZE + 3]).toBe(Number((PATTERN + BigInt(21 * PAGE_SIZE)) >> 24n) & 0xff);
      const present = pagemapPfns(m).flatMap((pfn, i) => (pfn === null ? [] : [i]));
      const all = [...Array(m.length / PAGE_SIZE).keys()];
      const expected: Record<MappingMethod, number[]> = {
        fault: [21],
        fault_around: all.slice(16, 32), // fault_around_pages=16, aligned in the buffer
        pages: all,
        vmalloc: all,
        pfn: [], // mapped, but invisible to pagemap (VM_PFNMAP)
      };
      expect(present).toEqual(expected[method]);
    });

    it('counts its mappings, and each close() gives one back', () => {
      expect(dev.info().mappings).toBe(0);
      const a = dev.map();
      const b = dev.map({ offset: PAGE_SIZE, length: PAGE_SIZE });
      expect(dev.info().mappings).toBe(2);
      a.close();
      b.close();
      expect(dev.info().mappings).toBe(0);
    });

    it('refuses ranges the buffer does not hold: ENXIO past the end, EINVAL across it', () => {
      expectError(() => dev.map({ offset: DEFAULT_SIZE, length: PAGE_SIZE }),
        { code: 'ENXIO', syscall: 'mmap', path: '/dev/kmmap' }, /at or past the end of the buffer/);
      expectError(() => dev.map({ offset: 2 ** 40, length: PAGE_SIZE }), { code: 'ENXIO', syscall: 'mmap' });
      expectError(() => dev.map({ offset: PAGE_SIZE, length: DEFAULT_SIZE }),
        { code: 'EINVAL', syscall: 'mmap', path: '/dev/kmmap' }, /run past the end of the buffer/);
      expectError(() => dev.map({ offset: 0, length: DEFAULT_SIZE + 1 }), { code: 'EINVAL', syscall: 'mmap' });
      expect(dev.info().mappings).toBe(0);
    });
  });

  it('an independent C program gets only the documented outcomes for every method', () => {
    const binary = path.join(tmp.dir, 'kmmap_device_probe');
    if (!fs.existsSync(binary)) compileTestProgram('kmmap_device_probe.c', tmp.dir);
    const out = execFileSync(binary, { encoding: 'utf8' });
    for (const method of METHODS_OF[backing]) expect(out).toMatch(new RegExp(`^${method}: \\d+ cases, 0 failed$`, 'm'));
    expect(out).toMatch(/^\d+ cases, 0 failed$/m);
    expect(dev.info().mappings).toBe(0);
  });
});
