// The Mapping methods (sync, advise, lock/unlock, protect, residency,
// resize, view) do what the kernel says they did, refuse ranges outside the
// mapping, and pass on the kernel's errno when they cannot apply.
import * as fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ADVICE, map, type Mapping, PAGE_SIZE } from '../../dist/index.js';
import { expectError, runNode, perTestFiles } from '../helpers';
import { smapsAt } from '../smaps';

const files = perTestFiles();
const { fileOf } = files;

describe('sync()', () => {
  it('writes back, whole or a range, waiting or not, with or without invalidate', () => {
    const file = fileOf(Buffer.alloc(4 * PAGE_SIZE));
    using m = map(file, { access: 'rw', offset: 100, length: 3 * PAGE_SIZE });
    m.buffer.write('synced', PAGE_SIZE);
    m.sync();
    m.sync({ offset: PAGE_SIZE, length: 6 });
    m.sync(undefined, { async: true });
    m.sync({ offset: 1 }, { invalidate: true });
    expect(fs.readFileSync(file).toString('latin1', PAGE_SIZE + 100, PAGE_SIZE + 106)).toBe('synced');
  });

  it("with invalidate on locked pages: the kernel's EBUSY, with the fix", () => {
    const file = fileOf(Buffer.alloc(PAGE_SIZE));
    using m = map(file, { access: 'rw', locked: true });
    expectError(() => m.sync(undefined, { invalidate: true }), { code: 'EBUSY', syscall: 'msync', path: file }, /unlock/);
    m.unlock();
    m.sync(undefined, { invalidate: true });
  });

  it('rejects options that are not booleans', () => {
    using m = map.anonymous(PAGE_SIZE);
    expectError(() => m.sync(undefined, { async: 1 as never }), { code: 'ERR_INVALID_ARG_TYPE' }, /options\.async/);
    expectError(() => m.sync(undefined, null as never), { code: 'ERR_INVALID_ARG_TYPE' }, /options/);
  });
});

describe('advise()', () => {
  // Advice whose effect smaps shows as a VmFlag, on private anonymous memory.
  it.each([
    ['random', 'rr'],
    ['sequential', 'sr'],
    ['dontfork', 'dc'],
    ['dontdump', 'dd'],
    ['hugepage', 'hg'],
    ['nohugepage', 'nh'],
    ['wipeonfork', 'wf'],
  ] as const)("'%s' sets the VmFlag %s", (advice, flag) => {
    using m = map.anonymous(4 * PAGE_SIZE, { shared: false });
    expect(smapsAt(m.address).flags.has(flag)).toBe(false);
    m.advise(advice);
    expect(smapsAt(m.address).flags.has(flag)).toBe(true);
  });

  it("'normal', 'dofork', 'dodump', 'keeponfork' undo them", () => {
    using m = map.anonymous(PAGE_SIZE, { shared: false });
    m.advise('random');
    m.advise('dontfork');
    m.advise('dontdump');
    m.advise('wipeonfork');
    m.advise('normal');
    m.advise('dofork');
    m.advise('dodump');
    m.advise('keeponfork');
    const flags = smapsAt(m.address).flags;
    for (const flag of ['rr', 'dc', 'dd', 'wf']) expect(flags.has(flag)).toBe(false);
  });

  it("'dontneed' drops private pages (they read as zero again) but keeps a shared file's data", () => {
    const file = fileOf(Buffer.alloc(PAGE_SIZE, 'k'));
    using priv = map.anonymous(PAGE_SIZE, { shared: false });
    using shared = map(file, { access: 'rw' });
    priv.buffer.fill(5);
    priv.advise('dontneed');
    expect(priv.buffer[0]).toBe(0);
    shared.advise('dontneed');
    expect(shared.buffer.toString('latin1', 0, 1)).toBe('k');
  });

  it("'remove' frees a memfd's pages; 'willneed', 'cold', 'pageout', 'populate_read' and 'populate_write' keep data", () => {
    using m = map.anonymous(4 * PAGE_SIZE);
    m.buffer.fill(3);
    for (const advice of ['willneed', 'cold', 'pageout', 'populate_read', 'populate_write'] as const) {
      m.advise(advice);
      expect(m.buffer[PAGE_SIZE]).toBe(3);
    }
    m.advise('remove', { offset: PAGE_SIZE, length: PAGE_SIZE });
    expect(m.buffer[PAGE_SIZE]).toBe(0);
    expect(m.buffer[0]).toBe(3);
  });

  it("'populate_write' makes every page resident", () => {
    using m = map.anonymous(4 * PAGE_SIZE, { shared: false });
    m.advise('populate_write');
    expect([...m.residency()]).toEqual([1, 1, 1, 1]);
  });

  it("advice that cannot apply: the kernel's EINVAL, naming the advice", () => {
    const file = fileOf(Buffer.alloc(PAGE_SIZE));
    using m = map(file);
    expectError(() => m.advise('free'), { code: 'EINVAL', errno: -22, syscall: 'madvise', path: file }, /'free'/);
    using shared = map.anonymous(PAGE_SIZE);
    expectError(() => shared.advise('wipeonfork'), { code: 'EINVAL', syscall: 'madvise' }, /'wipeonfork'/);
  });

  it('applies to the pages a range touches only', () => {
    using m = map.anonymous(4 * PAGE_SIZE, { shared: false });
    m.buffer.fill(1);
    m.advise('dontneed', { offset: PAGE_SIZE + 10, length: PAGE_SIZE });
    expect([m.buffer[0], m.buffer[PAGE_SIZE], m.buffer[2 * PAGE_SIZE], m.buffer[3 * PAGE_SIZE]]).toEqual([1, 0, 0, 1]);
  });

  it('rejects advice it does not know, listing what it knows', () => {
    using m = map.anonymous(PAGE_SIZE);
    expectError(() => m.advise('hwpoison' as never), { code: 'ERR_INVALID_ARG_VALUE' }, /'populate_write'/);
    expectError(() => m.advise('toString' as never), { code: 'ERR_INVALID_ARG_VALUE' });
    expect(Object.keys(ADVICE)).toContain('collapse');
  });
});

describe('lock() and unlock()', () => {
  it('locks every page now, and unlock() releases them', () => {
    using m = map.anonymous(4 * PAGE_SIZE, { shared: false });
    m.lock();
    expect(smapsAt(m.address).kB.Locked).toBe((4 * PAGE_SIZE) / 1024);
    expect([...m.residency()]).toEqual([1, 1, 1, 1]);
    m.unlock();
    expect(smapsAt(m.address).flags.has('lo')).toBe(false);
  });

  it('with onFault, locks pages only as they are touched (MLOCK_ONFAULT)', () => {
    using m = map.anonymous(4 * PAGE_SIZE, { shared: false });
    m.lock({ onFault: true });
    expect(smapsAt(m.address).flags.has('lo')).toBe(true);
    expect([...m.residency()]).toEqual([0, 0, 0, 0]);
    m.buffer[PAGE_SIZE] = 1;
    expect([...m.residency()]).toEqual([0, 1, 0, 0]);
    expect(smapsAt(m.address).kB.Locked).toBe(PAGE_SIZE / 1024);
  });

  it('over RLIMIT_MEMLOCK without CAP_IPC_LOCK: the kernel\'s error, naming the limit', () => {
    const result = runNode(`
      const { map } = require('./dist');
      const m = map.anonymous(64 << 20, { shared: false });
      try { m.lock(); console.log('locked'); } catch (e) { console.log(e.code, e.syscall, /RLIMIT_MEMLOCK/.test(e.message)); }
    `, { uid: 65534, gid: 65534 });
    expect(result.stderr).toBe('');
    expect(result.stdout.trim()).toMatch(/^(ENOMEM|EPERM|EAGAIN) mlock2 true$/);
  });
});

describe('protect()', () => {
  it("'r' removes write permission (smaps), 'rw' restores it", () => {
    using m = map.anonymous(2 * PAGE_SIZE);
    m.protect('r');
    expect(smapsAt(m.address).header).toMatch(/ r--s /);
    m.protect('rw');
    m.buffer.write('writable again');
    expect(m.buffer.toString('latin1', 0, 14)).toBe('writable again');
  });

  it("'none' on one page splits the mapping there", () => {
    using m = map.anonymous(3 * PAGE_SIZE, { shared: false });
    m.protect('none', { offset: PAGE_SIZE, length: 1 });
    expect(smapsAt(m.address).header).toMatch(/ rw-p /);
    expect(smapsAt(m.address + BigInt(PAGE_SIZE)).header).toMatch(/ ---p /);
    expect(smapsAt(m.address + BigInt(2 * PAGE_SIZE)).header).toMatch(/ rw-p /);
  });

  it('a write to a page protected read-only kills the process with SIGSEGV, as documented', () => {
    const result = runNode(`
      const { map } = require('./dist');
      const m = map.anonymous(4096);
      m.protect('r');
      m.buffer[0] = 1;
    `);
    expect(result.signal).toBe('SIGSEGV');
  });

  it("'rw' on a shared mapping of a read-only fd: the kernel's EACCES, with the fix", () => {
    const file = fileOf(Buffer.alloc(PAGE_SIZE));
    using m = map(file);
    expectError(() => m.protect('rw'), { code: 'EACCES', errno: -13, syscall: 'mprotect', path: file }, /access 'rw'/);
    // A private copy may become writable: nothing would reach the file.
    using copy = map(file, { access: 'copy' });
    copy.protect('r');
    copy.protect('rw');
  });

  it('rejects protections it does not know', () => {
    using m = map.anonymous(PAGE_SIZE);
    expectError(() => m.protect('rwx' as never), { code: 'ERR_INVALID_ARG_VALUE' }, /'none', 'r', 'rw'/);
  });
});

describe('residency()', () => {
  it('has one 0/1 per page the range touches, page 0 holding its first byte', () => {
    using m = map.anonymous(4 * PAGE_SIZE, { shared: false });
    expect(m.residency()).toBeInstanceOf(Uint8Array);
    expect([...m.residency()]).toEqual([0, 0, 0, 0]);
    m.buffer[2 * PAGE_SIZE + 7] = 1;
    expect([...m.residency()]).toEqual([0, 0, 1, 0]);
    expect([...m.residency({ offset: 2 * PAGE_SIZE - 1, length: 2 })]).toEqual([0, 1]);
    expect([...m.residency({ offset: 2 * PAGE_SIZE })]).toEqual([1, 0]);
  });

  it('counts pages from the page below a non-aligned start', () => {
    const file = fileOf(Buffer.alloc(3 * PAGE_SIZE));
    using m = map(file, { offset: PAGE_SIZE - 1, length: 2 });
    expect(m.residency().length).toBe(2);
  });
});

describe('resize()', () => {
  it('grows private anonymous memory, keeping its contents; the old buffer detaches', () => {
    const m = map.anonymous(PAGE_SIZE, { shared: false });
    m.buffer.write('kept');
    m.advise('dontfork'); // a VmFlag of its own, so the area does not merge with its neighbours
    const old = m.buffer;
    const oldView = m.view(0, 4);
    const grown = m.resize(64 * PAGE_SIZE)!;
    expect(old.length).toBe(0);
    expect(oldView.length).toBe(0);
    expect(grown).toBe(m.buffer);
    expect(m.length).toBe(64 * PAGE_SIZE);
    expect(grown.toString('latin1', 0, 4)).toBe('kept');
    grown[64 * PAGE_SIZE - 1] = 1;
    expect(smapsAt(m.baseAddress).kB.Size).toBe((64 * PAGE_SIZE) / 1024);
    m.close();
  });

  it('shrinks, unmapping the tail', () => {
    // Shared: a memfd's area never merges with its neighbours, so its size is its own.
    using m = map.anonymous(8 * PAGE_SIZE);
    const old = m.buffer;
    m.resize(PAGE_SIZE + 1);
    expect(m.length).toBe(PAGE_SIZE + 1);
    expect(old.length).toBe(0);
    expect(smapsAt(m.baseAddress).kB.Size).toBe((2 * PAGE_SIZE) / 1024);
    // The tail no longer maps the memfd: while a view of the old range may
    // still be reachable it is private anonymous memory (close-safety.test.ts).
    expect(smapsAt(m.baseAddress + BigInt(2 * PAGE_SIZE)).header).toMatch(/^\S+ rw-p 00000000 00:00 0\s*$/);
  });

  it('grows shared anonymous memory together with its memfd', () => {
    using m = map.anonymous(PAGE_SIZE);
    m.buffer.write('memfd');
    m.resize(3 * PAGE_SIZE);
    expect(fs.fstatSync(m.memfd!).size).toBe(3 * PAGE_SIZE);
    m.buffer[3 * PAGE_SIZE - 1] = 7;
    expect(fs.readFileSync(`/proc/self/fd/${m.memfd}`)[3 * PAGE_SIZE - 1]).toBe(7);
    expect(m.buffer.toString('latin1', 0, 5)).toBe('memfd');
  });

  it('keeps a non-aligned start where it was', () => {
    const bytes = Buffer.alloc(4 * PAGE_SIZE);
    for (let i = 0; i < bytes.length; i++) bytes[i] = i % 251;
    const file = fileOf(bytes);
    using m = map(file, { offset: 300, length: 10 });
    const buffer = m.resize(2 * PAGE_SIZE)!;
    expect(buffer.equals(bytes.subarray(300, 300 + 2 * PAGE_SIZE))).toBe(true);
  });

  it('refuses to grow a file mapping past the end of the file, unless allowed', () => {
    const file = fileOf(Buffer.alloc(2 * PAGE_SIZE));
    using m = map(file, { length: PAGE_SIZE });
    expectError(() => m.resize(3 * PAGE_SIZE), { code: 'ERR_KMMAP_BEYOND_END' }, /allowBeyondEnd/);
    expect(m.length).toBe(PAGE_SIZE);
    m.resize(2 * PAGE_SIZE);
    fs.truncateSync(file, 4 * PAGE_SIZE);
    m.resize(4 * PAGE_SIZE);
    m.resize(5 * PAGE_SIZE, { allowBeyondEnd: true });
    expect(m.length).toBe(5 * PAGE_SIZE);
  });

  it('checks an fd mapping against its fd while it is open, and refuses when it cannot tell', () => {
    const file = fileOf(Buffer.alloc(PAGE_SIZE));
    const fd = fs.openSync(file, 'r');
    using m = map(fd);
    fs.rmSync(file);
    expectError(() => m.resize(2 * PAGE_SIZE), { code: 'ERR_KMMAP_BEYOND_END' }, /SIGBUS/);
    fs.closeSync(fd);
    expectError(() => m.resize(2 * PAGE_SIZE), { code: 'ERR_KMMAP_BEYOND_END' }, /Cannot tell the size/);
    m.resize(2 * PAGE_SIZE, { allowBeyondEnd: true });
  });

  it("a mapping split by protect(): the kernel's EFAULT, with the fix, and nothing changed", () => {
    using m = map.anonymous(2 * PAGE_SIZE, { shared: false });
    m.protect('r', { offset: 0, length: 1 });
    const before = m.buffer;
    expectError(() => m.resize(4 * PAGE_SIZE), { code: 'EFAULT', syscall: 'mremap' }, /split it: apply them to the whole mapping/);
    expect(m.buffer).toBe(before);
    expect(before.length).toBe(2 * PAGE_SIZE);
  });

  it('rejects bad lengths', () => {
    using m = map.anonymous(PAGE_SIZE);
    expectError(() => m.resize(0), { code: 'ERR_OUT_OF_RANGE' }, /newLength/);
    expectError(() => m.resize(1.5), { code: 'ERR_OUT_OF_RANGE' }, /newLength/);
    expectError(() => m.resize(2 ** 53), { code: 'ERR_OUT_OF_RANGE' }, /newLength/);
    expectError(() => m.resize(PAGE_SIZE, { allowBeyondEnd: 'yes' as never }), { code: 'ERR_INVALID_ARG_TYPE' });
  });
});

describe('view()', () => {
  it('is a zero-copy window: writes through it show in buffer', () => {
    using m = map.anonymous(2 * PAGE_SIZE);
    const window = m.view(PAGE_SIZE, 16);
    window.write('window');
    expect(m.buffer.toString('latin1', PAGE_SIZE, PAGE_SIZE + 6)).toBe('window');
    expect(m.view(PAGE_SIZE).length).toBe(PAGE_SIZE);
    expect(m.view().length).toBe(2 * PAGE_SIZE);
    expect(m.view(2 * PAGE_SIZE).length).toBe(0);
  });

  it('refuses windows outside the mapping', () => {
    using m = map.anonymous(PAGE_SIZE);
    expectError(() => m.view(PAGE_SIZE + 1), { code: 'ERR_OUT_OF_RANGE' }, /"offset"/);
    expectError(() => m.view(0, PAGE_SIZE + 1), { code: 'ERR_OUT_OF_RANGE' }, /"length"/);
    expectError(() => m.view(-1), { code: 'ERR_OUT_OF_RANGE' });
    expectError(() => m.view('0' as never), { code: 'ERR_INVALID_ARG_TYPE' });
  });
});

describe('ranges outside the mapping are refused before any syscall', () => {
  const calls: [string, (m: Mapping, range: { offset?: number; length?: number }) => unknown][] = [
    ['sync', (m, range) => m.sync(range)],
    ['advise', (m, range) => m.advise('willneed', range)],
    ['lock', (m, range) => m.lock({}, range)],
    ['unlock', (m, range) => m.unlock(range)],
    ['protect', (m, range) => m.protect('rw', range)],
    ['residency', (m, range) => m.residency(range)],
  ];

  it.each(calls)('%s()', (_name, call) => {
    using m = map.anonymous(2 * PAGE_SIZE);
    for (const range of [
      { offset: 2 * PAGE_SIZE },
      { offset: -1 },
      { offset: 0, length: 2 * PAGE_SIZE + 1 },
      { offset: PAGE_SIZE, length: PAGE_SIZE + 1 },
      { length: 0 },
      { offset: 0.5 },
    ]) {
      expectError(() => call(m, range), { name: 'RangeError', code: 'ERR_OUT_OF_RANGE' }, /range\./);
    }
    expectError(() => call(m, 'all' as never), { code: 'ERR_INVALID_ARG_TYPE' }, /range/);
    // The last byte alone is inside.
    call(m, { offset: 2 * PAGE_SIZE - 1, length: 1 });
  });
});
