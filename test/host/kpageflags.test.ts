// /proc/kpageflags and /proc/kpagecount: flag names as page-types prints
// them, decoding, batched reads by PFN, and errors for readers without root.
import { describe, expect, it } from 'vitest';
import { kpageflags, map, PAGE_SIZE, pagemap } from '../../dist/index.js';
import { expectError, isRoot, NOBODY, runNode } from '../helpers';

describe('kpageflags', () => {
  it('names every KPF_* bit as tools/mm/page-types.c does, with its letter', () => {
    const table = kpageflags.PAGE_FLAGS.map((f) => `${f.bit}:${f.letter}:${f.name}`);
    expect(table).toEqual([
      '0:L:locked', '1:E:error', '2:R:referenced', '3:U:uptodate', '4:D:dirty', '5:l:lru', '6:A:active',
      '7:S:slab', '8:W:writeback', '9:I:reclaim', '10:B:buddy', '11:M:mmap', '12:a:anonymous',
      '13:s:swapcache', '14:b:swapbacked', '15:H:compound_head', '16:T:compound_tail', '17:G:huge',
      '18:u:unevictable', '19:X:hwpoison', '20:n:nopage', '21:x:ksm', '22:t:thp', '23:o:offline',
      '24:z:zero_page', '25:i:idle_page', '26:g:pgtable', '32:r:reserved', '33:m:mlocked', '34:d:owner_2',
      '35:P:private', '36:p:private_2', '37:O:owner_private', '38:h:arch', '39:c:uncached',
      '40:f:softdirty', '41:H:arch_2', '42:C:arch_3',
    ]);
    expect(kpageflags.PAGE_FLAGS.filter((f) => f.stable).map((f) => f.bit)).toEqual([...Array(27).keys()]);
    expect(Object.isFrozen(kpageflags.PAGE_FLAGS)).toBe(true);
  });

  it('decodes flags to names, a symbolic string and back to a mask', () => {
    const flags = (1n << 3n) | (1n << 5n) | (1n << 11n) | (1n << 12n) | (1n << 14n);
    expect(kpageflags.names(flags)).toEqual(['uptodate', 'lru', 'mmap', 'anonymous', 'swapbacked']);
    expect(kpageflags.mask('uptodate', 'lru', 'mmap', 'anonymous', 'swapbacked')).toBe(flags);
    expect(kpageflags.symbolic(flags)).toBe('___U_l_____Ma_b_______________________');
    expect(kpageflags.names(1n << 60n)).toEqual(['bit60']);
    expect(kpageflags.names(0n)).toEqual([]);
    expectError(() => kpageflags.mask('anon' as never), { code: 'ERR_OUT_OF_RANGE' }, /anonymous/);
  });

  it('summarizes pages by flag combination, most common first', () => {
    const lru = kpageflags.mask('lru');
    const anon = kpageflags.mask('anonymous', 'lru');
    expect(kpageflags.summarize([lru, anon, anon, 0n, anon])).toEqual([
      { flags: anon, names: ['lru', 'anonymous'], symbolic: kpageflags.symbolic(anon), pages: 3 },
      { flags: 0n, names: [], symbolic: kpageflags.symbolic(0n), pages: 1 },
      { flags: lru, names: ['lru'], symbolic: kpageflags.symbolic(lru), pages: 1 },
    ]);
  });

  it('refuses bad PFNs and counts with Node-style codes', () => {
    expectError(() => kpageflags.read(-1), { code: 'ERR_OUT_OF_RANGE' });
    expectError(() => kpageflags.read('1' as never), { code: 'ERR_INVALID_ARG_TYPE' });
    expectError(() => kpageflags.read(0, 1.5), { code: 'ERR_OUT_OF_RANGE' });
    expectError(() => kpageflags.lookup('1' as never), { code: 'ERR_INVALID_ARG_TYPE' });
    expectError(() => kpageflags.lookup([-1n]), { code: 'ERR_OUT_OF_RANGE' });
  });

  it('without root: EACCES naming the file and what is missing, for both files', () => {
    const script = `
      const { kpageflags } = require('./dist');
      const out = [];
      for (const read of [() => kpageflags.read(0), () => kpageflags.mapCounts(0)]) {
        try { read(); out.push('no error'); }
        catch (e) { out.push({ code: e.code, errno: e.errno, syscall: e.syscall, path: e.path, message: e.message }); }
      }
      console.log(JSON.stringify(out));
    `;
    const result = isRoot ? runNode(script, { uid: NOBODY, gid: NOBODY }) : runNode(script);
    expect(result.stderr).toBe('');
    const [flags, counts] = JSON.parse(result.stdout);
    expect(flags).toMatchObject({ code: 'EACCES', errno: -13, syscall: 'open', path: '/proc/kpageflags' });
    expect(flags.message).toMatch(/^EACCES: permission denied, open '\/proc\/kpageflags'\. .*root/);
    expect(counts).toMatchObject({ code: 'EACCES', path: '/proc/kpagecount' });
  });

  it('as root: reads frames in batches that put each frame at its index, and stops at the highest PFN', () => {
    if (!isRoot) {
      expectError(() => kpageflags.read(0), { code: 'EACCES' });
      return;
    }
    using m = map('/dev/zero', { length: 4 * PAGE_SIZE, access: 'rw' });
    m.buffer.fill(1);
    const steady = kpageflags.mask('uptodate', 'mmap', 'anonymous', 'swapbacked');
    for (const { pfn } of pagemap.range(m.address, 4)) {
      // The frame sits past the first 65,536-entry batch of a 70,000-frame
      // read (unless its PFN is lower than that).
      const before = pfn! < 65_540n ? pfn! : 65_540n;
      const at = Number(before);
      const flags = kpageflags.read(pfn! - before, 70_000);
      const counts = kpageflags.mapCounts(pfn! - before, 70_000);
      expect(flags.length).toBe(70_000);
      expect(kpageflags.names(flags[at]!)).toContain('mmap');
      expect(flags[at]! & steady).toBe(kpageflags.read(pfn!)[0]! & steady);
      expect(counts[at]).toBe(1n);
    }
    expectError(() => kpageflags.read(1n << 50n), { code: 'ERR_OUT_OF_RANGE' }, /highest page frame/);
    expectError(() => kpageflags.read(1n << 53n), { code: 'ERR_OUT_OF_RANGE' });
  });

  it('as root: lookup() follows the order of its PFNs, grouping runs, with flags and map counts', () => {
    if (!isRoot) {
      expectError(() => kpageflags.lookup([1n]), { code: 'EACCES' });
      return;
    }
    using m = map('/dev/zero', { length: 8 * PAGE_SIZE, access: 'rw' });
    m.buffer.fill(7);
    const pfns = pagemap.range(m.address, 8).map((e) => e.pfn!);
    const reversed = [...pfns].reverse();
    const frames = kpageflags.lookup([...reversed, pfns[0]!]);
    expect(frames.map((f) => f.pfn)).toEqual([...reversed, pfns[0]]);
    for (const frame of frames) {
      // Shared anonymous memory is shmem: a file page to the kernel, mapped once here.
      expect(frame.names).toEqual(expect.arrayContaining(['uptodate', 'mmap', 'swapbacked']));
      expect(frame.names).not.toContain('anonymous');
      expect(frame.mapCount).toBe(1n);
      // referenced/active/lru may change between two reads; these do not.
      const steady = kpageflags.mask('uptodate', 'mmap', 'anonymous', 'swapbacked');
      expect(frame.flags & steady).toBe(kpageflags.read(frame.pfn)[0]! & steady);
    }
  });
});
