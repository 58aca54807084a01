// pagemap of this process's own memory: decoding, batching, hidden PFNs.
import { describe, expect, it } from 'vitest';
import { addressOf, map, PAGE_SIZE, pagemap } from '../../dist/index.js';
import { expectError, isRoot, NOBODY, runNode } from '../helpers';

describe('pagemap', () => {
  it('decodes every bit of an entry', () => {
    const raw = (1n << 63n) | (1n << 61n) | (1n << 58n) | (1n << 57n) | (1n << 56n) | (1n << 55n) | 0x1234n;
    expect(pagemap.decode(raw, 0x1000n)).toEqual({
      address: 0x1000n, raw, present: true, swapped: false, fileOrSharedAnon: true, guard: true,
      uffdWriteProtected: true, exclusive: true, softDirty: true, pfn: 0x1234n, pfnHidden: false, swap: null,
    });
    const swapped = pagemap.decode((1n << 62n) | (77n << 5n) | 3n, 0n);
    expect(swapped).toMatchObject({ present: false, swapped: true, pfn: null, swap: { type: 3, offset: 77n } });
    expect(pagemap.decode(1n << 63n, 0n)).toMatchObject({ present: true, pfn: null, pfnHidden: true });
  });

  it('reports untouched pages as not present and touched ones as present', () => {
    using m = map('/dev/zero', { length: 4 * PAGE_SIZE, access: 'rw' });
    m.buffer[2 * PAGE_SIZE] = 1;
    const entries = pagemap.range(m.address, 4);
    expect(entries.map((e) => e.present)).toEqual([false, false, true, false]);
    expect(entries.map((e) => e.address)).toEqual([0, 1, 2, 3].map((i) => m.address + BigInt(i * PAGE_SIZE)));
    expectError(() => pagemap.physicalAddress(m), { code: 'ERR_KMMAP_PAGE_NOT_PRESENT' }, /touch it first/);
  });

  it('reads a large range in batches, agreeing with single reads', () => {
    const pages = 70_000; // more than one 65,536-entry batch
    using m = map('/dev/zero', { length: pages * PAGE_SIZE, access: 'rw' });
    for (let i = 0; i < pages; i += 1000) m.buffer[i * PAGE_SIZE] = 1;
    const raw = pagemap.read(m.address, pages);
    expect(raw.length).toBe(pages);
    for (const i of [0, 1, 999, 1000, 65_535, 65_536, 69_000, pages - 1]) {
      expect(raw[i]).toBe(pagemap.entry(m.address + BigInt(i * PAGE_SIZE)).raw);
      expect(pagemap.decode(raw[i]!, 0n).present).toBe(i % 1000 === 0);
    }
  });

  it('readInto fills and returns the array it is given, as read() would', () => {
    const pages = 70_000;
    using m = map('/dev/zero', { length: pages * PAGE_SIZE, access: 'rw' });
    for (let i = 0; i < pages; i += 3) m.buffer[i * PAGE_SIZE] = 1;
    const out = new BigUint64Array(pages).fill(0xdeadn);
    expect(pagemap.readInto(m.address, out)).toBe(out);
    expect(out).toEqual(pagemap.read(m.address, pages));
    expect(out.filter((raw) => pagemap.decode(raw, 0n).present).length).toBe(Math.ceil(pages / 3));
    expect(pagemap.readInto(m.address, new BigUint64Array(0))).toHaveLength(0);
    expectError(() => pagemap.readInto(m.address, new BigInt64Array(1) as never), { code: 'ERR_INVALID_ARG_TYPE' }, /BigUint64Array/);
    expectError(() => pagemap.readInto(m.address, [0n] as never), { code: 'ERR_INVALID_ARG_TYPE' });
  });

  it('reads another process by pid', () => {
    const entries = pagemap.range(0n, 1, { pid: process.pid });
    expect(entries[0]!.present).toBe(false);
  });

  it.runIf(isRoot)('as root: physicalAddress is PFN * page size + offset in page', () => {
    using m = map('/dev/zero', { length: 2 * PAGE_SIZE, access: 'rw' });
    m.buffer.fill(1);
    const [first, second] = pagemap.range(m.address, 2);
    expect(first!.pfn).not.toBeNull();
    expect(pagemap.physicalAddress(m, 100)).toBe(first!.pfn! * BigInt(PAGE_SIZE) + 100n);
    expect(pagemap.physicalAddress(m.buffer, PAGE_SIZE + 5)).toBe(second!.pfn! * BigInt(PAGE_SIZE) + 5n);
    const heap = Buffer.alloc(PAGE_SIZE, 1);
    const offsetInPage = addressOf(heap) % BigInt(PAGE_SIZE);
    expect(pagemap.physicalAddress(heap) % BigInt(PAGE_SIZE)).toBe(offsetInPage);
  });

  it('without CAP_SYS_ADMIN, physical addresses fail clearly instead of reading 0', () => {
    const script = `
      const { map, pagemap } = require('./dist');
      const m = map('/dev/zero', { length: 4096, access: 'rw' });
      m.buffer[0] = 1;
      const entry = pagemap.entry(m.address);
      try { pagemap.physicalAddress(m); console.log('no error'); }
      catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message, hidden: entry.pfnHidden, pfn: entry.pfn })); }
    `;
    const result = isRoot ? runNode(script, { uid: NOBODY, gid: NOBODY }) : runNode(script);
    expect(result.stderr).toBe('');
    const reported = JSON.parse(result.stdout);
    expect(reported).toMatchObject({ code: 'ERR_KMMAP_PFN_HIDDEN', hidden: true, pfn: null });
    expect(reported.message).toMatch(/CAP_SYS_ADMIN/);
  });
});
