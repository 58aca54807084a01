// The Mapping methods on /dev/kmmap, with every mapping method its backing
// allows: what the kernel does with msync, madvise, mlock, mprotect,
// mincore, mremap and a descriptor on a driver's shared buffer.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KmmapDevice, map, MAPPING_METHODS, type MappingMethod, PAGE_SIZE, pagemap } from '../../dist/index.js';
import { expectError } from '../helpers';
import { smapsAt } from '../smaps';

const probe = KmmapDevice.open();
const available = probe.info().methods;
probe.close();

it('the device offers at least the methods every backing has', () => {
  expect(available).toEqual(expect.arrayContaining(['fault', 'fault_around', 'pages']));
  expect(available.every((method) => (MAPPING_METHODS as readonly string[]).includes(method))).toBe(true);
});

describe.each(available)("method '%s'", (method: MappingMethod) => {
  let dev: KmmapDevice;
  const pages = 4;
  beforeAll(() => {
    dev = KmmapDevice.open({ method });
    dev.fill(0x5a, { offset: 0, length: pages * PAGE_SIZE });
  });
  afterAll(() => dev.close());

  it("sync() gets the kernel's EINVAL (the device has no fsync) unless async; advise() and residency() work", () => {
    using m = dev.map({ length: pages * PAGE_SIZE });
    expectError(() => m.sync(), { code: 'EINVAL', syscall: 'msync', path: '/dev/kmmap' }, /no fsync/);
    m.sync(undefined, { async: true });
    m.advise('random');
    expect(smapsAt(m.address).flags.has('rr')).toBe(true);
    m.advise('willneed');
    for (let page = 0; page < pages; page++) expect(m.buffer[page * PAGE_SIZE]).toBe(0x5a);
    // mincore skips VM_PFNMAP areas and asks the page cache instead, which holds none of them.
    expect([...m.residency()]).toEqual(new Array(pages).fill(method === 'pfn' ? 0 : 1));
  });

  it("advise('dontneed') drops the PTEs, and the device's data comes back (or, for pfn, the kernel's EINVAL)", () => {
    using m = dev.map({ length: pages * PAGE_SIZE });
    m.buffer[10] = 0x11;
    if (method === 'pfn') {
      expectError(() => m.advise('dontneed'), { code: 'EINVAL', syscall: 'madvise', path: '/dev/kmmap' });
    } else {
      m.advise('dontneed');
    }
    expect(m.buffer[10]).toBe(0x11);
    m.buffer[10] = 0x5a;
  });

  it('lock() succeeds but leaves a driver mapping (VM_DONTEXPAND) unlocked: such memory is never swapped anyway', () => {
    using m = dev.map({ length: pages * PAGE_SIZE });
    m.lock();
    const smaps = smapsAt(m.address);
    expect(smaps.flags.has('de')).toBe(true);
    expect(smaps.flags.has('lo')).toBe(false);
    m.unlock();
  });

  it("protect() toggles write access; a read-only mapping cannot gain it (the kernel's EACCES)", () => {
    using m = dev.map({ length: PAGE_SIZE });
    m.protect('r');
    expect(smapsAt(m.address).header).toMatch(/ r--s /);
    m.protect('rw');
    expect(smapsAt(m.address).header).toMatch(/ rw-s /);
    using ro = dev.map({ length: PAGE_SIZE, access: 'r' });
    expectError(() => ro.protect('rw'), { code: 'EACCES', syscall: 'mprotect', path: '/dev/kmmap' });
  });

  it("resize() shrinks, and growing gets the kernel's EFAULT (VM_DONTEXPAND) with a hint", () => {
    using m = dev.map({ length: pages * PAGE_SIZE });
    const buffer = m.resize(PAGE_SIZE)!;
    expect(buffer.length).toBe(PAGE_SIZE);
    expect(buffer[0]).toBe(0x5a);
    expectError(() => m.resize(2 * PAGE_SIZE), { code: 'EFAULT', syscall: 'mremap' }, /VM_DONTEXPAND/);
    expect(m.length).toBe(PAGE_SIZE);
  });

  it('descriptor() maps the same buffer again: shared writes, and the same physical pages', () => {
    using m = dev.map({ length: pages * PAGE_SIZE, offset: PAGE_SIZE });
    using again = map.fromDescriptor(m.descriptor());
    again.buffer.write('via descriptor', 0, 'latin1');
    expect(m.buffer.toString('latin1', 0, 14)).toBe('via descriptor');
    const kernelPfn = dev.pfns(1, 1)[0]!;
    // pagemap skips VM_PFNMAP areas (it reports their pages as not present).
    if (method !== 'pfn') {
      expect(pagemap.entry(m.address).pfn).toBe(kernelPfn);
      expect(pagemap.entry(again.address).pfn).toBe(kernelPfn);
    }
    dev.fill(0x5a, { offset: PAGE_SIZE, length: PAGE_SIZE });
  });
});
