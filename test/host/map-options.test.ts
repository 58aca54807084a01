// Every map() and map.anonymous() option does what docs/api.md says, as the
// kernel reports it (smaps, mincore), on files, memfd, /dev/zero and
// anonymous memory; and options that cannot apply give the kernel's errno.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { map, PAGE_SIZE } from '../../dist/index.js';
import { expectError, isRoot, REPO, perTestFiles } from '../helpers';
import { smapsAt } from '../smaps';

const files = perTestFiles();
const { fileOf } = files;

/** A file whose every byte is its offset modulo 251, so any offset can be checked. */
function patternFile(length: number): { file: string; bytes: Buffer } {
  const bytes = Buffer.alloc(length);
  for (let i = 0; i < length; i++) bytes[i] = i % 251;
  return { file: fileOf(bytes, 'pattern.bin'), bytes };
}

describe("access 'copy'", () => {
  it('is private copy-on-write: writes stay in the mapping, the file keeps its bytes', () => {
    const file = fileOf(Buffer.alloc(2 * PAGE_SIZE, 'f'));
    using shared = map(file, { access: 'rw' });
    using copy = map(file, { access: 'copy' });
    expect(copy.access).toBe('copy');
    expect(smapsAt(copy.baseAddress).header).toMatch(/ rw-p /);
    copy.buffer.write('private');
    expect(copy.buffer.toString('latin1', 0, 7)).toBe('private');
    expect(fs.readFileSync(file).toString('latin1', 0, 7)).toBe('fffffff');
    expect(shared.buffer.toString('latin1', 0, 7)).toBe('fffffff');
    // A page not yet written still shows the file's changes.
    shared.buffer.write('shared', PAGE_SIZE);
    expect(copy.buffer.toString('latin1', PAGE_SIZE, PAGE_SIZE + 6)).toBe('shared');
  });

  it('maps a file that is only readable, since nothing reaches the file', () => {
    const file = fileOf(Buffer.alloc(PAGE_SIZE, 'r'));
    fs.chmodSync(file, 0o444);
    const fd = fs.openSync(file, 'r');
    try {
      using copy = map(fd, { access: 'copy' });
      copy.buffer.fill('w');
      expect(fs.readFileSync(file)[0]).toBe('r'.charCodeAt(0));
    } finally {
      fs.closeSync(fd);
    }
  });
});

describe('offsets', () => {
  it('that are not page-aligned: the buffer starts at the requested byte', () => {
    const { file, bytes } = patternFile(3 * PAGE_SIZE);
    const offset = PAGE_SIZE + 904;
    using m = map(file, { offset, length: 1000 });
    expect(m.length).toBe(1000);
    expect(m.buffer.length).toBe(1000);
    expect(m.buffer.equals(bytes.subarray(offset, offset + 1000))).toBe(true);
    expect(m.offset).toBe(BigInt(offset));
    expect(m.address - m.baseAddress).toBe(904n);
    expect(m.baseAddress % BigInt(PAGE_SIZE)).toBe(0n);
    // The kernel mapped from the page below: file offset PAGE_SIZE.
    expect(smapsAt(m.baseAddress).header.split(/\s+/)[2]).toBe(PAGE_SIZE.toString(16).padStart(8, '0'));
  });

  it('that are not page-aligned, without a length: the rest of the file', () => {
    const { file, bytes } = patternFile(2 * PAGE_SIZE);
    using m = map(file, { offset: 10n });
    expect(m.length).toBe(2 * PAGE_SIZE - 10);
    expect(m.buffer.equals(bytes.subarray(10))).toBe(true);
  });

  it('of a page-aligned mapping: address is the base', () => {
    const file = fileOf(Buffer.alloc(PAGE_SIZE));
    using m = map(file);
    expect(m.address).toBe(m.baseAddress);
    expect(m.offset).toBe(0n);
  });

  it('past the end of the file, non-aligned, is still refused before SIGBUS', () => {
    const file = fileOf(Buffer.alloc(PAGE_SIZE));
    expectError(() => map(file, { offset: PAGE_SIZE + 1, length: 1 }), { code: 'ERR_KMMAP_BEYOND_END' }, /allowBeyondEnd/);
  });
});

describe('populate, locked, noreserve', () => {
  it('populate faults every page in at once (mincore), where an untouched mapping has none', () => {
    using lazy = map.anonymous(8 * PAGE_SIZE, { shared: false });
    using eager = map.anonymous(8 * PAGE_SIZE, { shared: false, populate: true });
    expect([...lazy.residency()]).toEqual(new Array(8).fill(0));
    expect([...eager.residency()]).toEqual(new Array(8).fill(1));
  });

  it('populate on a file mapping reads it in', () => {
    const file = fileOf(Buffer.alloc(4 * PAGE_SIZE, 1));
    using m = map(file, { populate: true });
    expect(m.residency().every((page) => page === 1)).toBe(true);
  });

  it('a shared mapping of up to 64 KiB of a regular file is populated unless populate: false says otherwise', () => {
    // smaps' Rss counts the pages mapped in this process: populated ones before any touch.
    const file = fileOf(Buffer.alloc(32 * PAGE_SIZE, 2));
    const rss = (m: { address: bigint }) => smapsAt(m.address).kB.Rss;
    using small = map(file, { length: 64 * 1024 });
    using smallRw = map(file, { length: PAGE_SIZE, access: 'rw' });
    using off = map(file, { length: 64 * 1024, populate: false });
    using copy = map(file, { length: PAGE_SIZE, access: 'copy' });
    using larger = map(file, { length: 64 * 1024 + PAGE_SIZE });
    expect(rss(small)).toBe(64);
    expect(rss(smallRw)).toBe(PAGE_SIZE / 1024);
    expect(rss(off)).toBe(0);
    // Populating a private writable mapping would copy every page at once.
    expect(rss(copy)).toBe(0);
    expect(rss(larger)).toBe(0);
    expect(small.buffer[0]).toBe(2);
  });

  it('what a file\'s filesystem says is told apart per mount: tmpfs files, sysfs and /proc files alternate', () => {
    // The addon remembers each mount's filesystem type (statx's unique mount ID, Linux 6.8+):
    // a sysfs file says 4,096 bytes and a /proc file 0, yet both are sized by their drivers.
    const file = fileOf(Buffer.alloc(PAGE_SIZE, 3));
    const sysfs = '/sys/kernel/mm/transparent_hugepage/enabled';
    for (let round = 0; round < 3; round++) {
      using m = map(file);
      expect(m.length).toBe(PAGE_SIZE);
      expectError(() => map(sysfs), { code: 'ERR_KMMAP_LENGTH_REQUIRED' }, /transparent_hugepage/);
      expectError(() => map('/proc/self/status'), { code: 'ERR_KMMAP_LENGTH_REQUIRED' }, /\/proc\/self\/status/);
    }
  });

  it('locked locks the pages (smaps: lo, Locked)', () => {
    using m = map.anonymous(4 * PAGE_SIZE, { locked: true });
    const smaps = smapsAt(m.address);
    expect(smaps.flags.has('lo')).toBe(true);
    expect(smaps.kB.Locked).toBe((4 * PAGE_SIZE) / 1024);
  });

  it('noreserve sets MAP_NORESERVE (smaps: nr)', () => {
    using m = map('/dev/zero', { length: PAGE_SIZE, access: 'copy', noreserve: true });
    using plain = map('/dev/zero', { length: PAGE_SIZE, access: 'copy' });
    expect(smapsAt(m.address).flags.has('nr')).toBe(true);
    expect(smapsAt(plain.address).flags.has('nr')).toBe(false);
  });
});

describe('hugetlb', () => {
  const free2MB = Number(fs.readFileSync('/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages', 'latin1'));

  it.each([
    ['true', true],
    ["'2MB'", '2MB'],
    ['2 MiB in bytes', 2 << 20],
  ] as const)('%s maps 2 MiB pages, or gives the kernel\'s ENOMEM when none are free', (_name, hugetlb) => {
    const attempt = () => map.anonymous(PAGE_SIZE, { shared: false, hugetlb });
    if (free2MB === 0) {
      expectError(attempt, { code: 'ENOMEM', syscall: 'mmap' }, /nr_hugepages/);
    } else {
      using m = attempt();
      expect(smapsAt(m.address).flags.has('ht')).toBe(true);
      expect(m.length).toBe(PAGE_SIZE);
    }
  });

  it('a size this machine has no pages of: the kernel\'s EINVAL', () => {
    expectError(() => map.anonymous(PAGE_SIZE, { shared: false, hugetlb: '64KB' }), { code: 'EINVAL', syscall: 'mmap' }, /huge page size/);
  });

  it('on a file that is not on hugetlbfs: the kernel\'s EINVAL', () => {
    const file = fileOf(Buffer.alloc(PAGE_SIZE));
    expectError(() => map(file, { hugetlb: true }), { code: 'EINVAL', syscall: 'mmap', path: file }, /hugetlbfs/);
  });

  it('shared anonymous memory puts the huge pages on its memfd', () => {
    const attempt = () => map.anonymous(PAGE_SIZE, { hugetlb: '2MB' });
    if (free2MB === 0) {
      expectError(attempt, { code: 'ENOMEM' });
    } else {
      using m = attempt();
      expect(smapsAt(m.address).flags.has('ht')).toBe(true);
    }
  });
});

describe('sync (MAP_SYNC)', () => {
  it("on a file that is not on DAX: the kernel's EOPNOTSUPP, named as Node names it, with the fix", () => {
    const file = fileOf(Buffer.alloc(PAGE_SIZE));
    const err = expectError(() => map(file, { access: 'rw', sync: true }),
      { code: 'ENOTSUP', errno: -95, syscall: 'mmap', path: file }, /DAX/);
    expect(err.message).toMatch(/^ENOTSUP: operation not supported, mmap/);
  });
});

describe('map.anonymous()', () => {
  it('shared (the default): zeroed memory in a memfd the mapping owns', () => {
    const m = map.anonymous(3 * PAGE_SIZE + 5);
    expect(m.length).toBe(3 * PAGE_SIZE + 5);
    expect(m.access).toBe('rw');
    expect(m.buffer.every((byte) => byte === 0)).toBe(true);
    const memfd = m.memfd!;
    expect(fs.readlinkSync(`/proc/self/fd/${memfd}`)).toMatch(/^\/memfd:kmmap-anonymous/);
    expect(smapsAt(m.address).header).toMatch(/ rw-s .*memfd:kmmap-anonymous/);
    m.buffer.write('through the mapping');
    expect(fs.readFileSync(`/proc/self/fd/${memfd}`).toString('latin1', 0, 19)).toBe('through the mapping');
    m.close();
    expect(m.memfd).toBeUndefined();
    expect(() => fs.fstatSync(memfd)).toThrow(expect.objectContaining({ code: 'EBADF' }));
  });

  it('private: MAP_PRIVATE | MAP_ANONYMOUS, no memfd', () => {
    using m = map.anonymous(PAGE_SIZE, { shared: false });
    expect(m.memfd).toBeUndefined();
    expect(smapsAt(m.address).header).toMatch(/ rw-p 00000000 00:00 0\s*$/);
    m.buffer.fill(9);
    expect(m.buffer[PAGE_SIZE - 1]).toBe(9);
  });

  it("access 'r' maps read-only memory", () => {
    using m = map.anonymous(PAGE_SIZE, { access: 'r' });
    expect(smapsAt(m.address).header).toMatch(/ r--s /);
  });

  it('is shared with a child process through its memfd', async () => {
    using m = map.anonymous(PAGE_SIZE);
    m.buffer.write('parent wrote this');
    const { spawn } = await import('node:child_process');
    const child = spawn(process.execPath, ['-e', `
      const { map } = require('./dist');
      const m = map(3, { length: ${PAGE_SIZE}, access: 'rw' });
      process.stdout.write(m.buffer.toString('latin1', 0, 17));
      m.buffer.write('child wrote this!');
    `], { cwd: REPO, stdio: ['ignore', 'pipe', 'inherit', m.memfd!] });
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString('latin1');
    });
    const status = await new Promise((resolve) => child.on('exit', resolve));
    expect(status).toBe(0);
    expect(out).toBe('parent wrote this');
    expect(m.buffer.toString('latin1', 0, 17)).toBe('child wrote this!');
  });

  it('rejects bad lengths and options', () => {
    expectError(() => map.anonymous(0), { code: 'ERR_OUT_OF_RANGE' }, /length/);
    expectError(() => map.anonymous('1' as never), { code: 'ERR_INVALID_ARG_TYPE' }, /length/);
    expectError(() => map.anonymous(PAGE_SIZE, { access: 'copy' as never }), { code: 'ERR_INVALID_ARG_VALUE' }, /options\.access/);
    expectError(() => map.anonymous(PAGE_SIZE, { shared: 'yes' as never }), { code: 'ERR_INVALID_ARG_TYPE' }, /options\.shared/);
    expectError(() => map.anonymous(PAGE_SIZE, null as never), { code: 'ERR_INVALID_ARG_TYPE' }, /options/);
  });
});

describe('memfd and /dev/shm files mapped by fd and by path', () => {
  it('a memfd passed by fd shares pages with its other mappings', () => {
    using owner = map.anonymous(2 * PAGE_SIZE);
    const fd = fs.openSync(`/proc/self/fd/${owner.memfd}`, 'r+');
    try {
      using byFd = map(fd, { access: 'rw', offset: PAGE_SIZE, length: PAGE_SIZE });
      byFd.buffer.write('second page');
      expect(owner.buffer.toString('latin1', PAGE_SIZE, PAGE_SIZE + 11)).toBe('second page');
    } finally {
      fs.closeSync(fd);
    }
  });

  it('/dev/zero mapped shared gives each mapping its own zeroed memory', () => {
    using a = map('/dev/zero', { length: PAGE_SIZE, access: 'rw' });
    using b = map('/dev/zero', { length: PAGE_SIZE, access: 'rw' });
    a.buffer.write('only a');
    expect(b.buffer[0]).toBe(0);
  });
});

describe('block devices', () => {
  // A loop device over a file: a real block device whose stat size is 0.
  it('are sized by BLKGETSIZE64: the default length is the device, and past its end is refused', () => {
    if (!isRoot) {
      // Only root can attach a loop device; say so rather than pass silently.
      expect(() => execFileSync('losetup', ['--find'], { stdio: 'pipe' })).toThrow();
      return;
    }
    const backing = fileOf(Buffer.alloc(4 * PAGE_SIZE, 'b'), 'loop-backing');
    const device = execFileSync('losetup', ['--find', '--show', backing], { encoding: 'utf8' }).trim();
    try {
      expect(fs.statSync(device).isBlockDevice()).toBe(true);
      expect(fs.statSync(device).size).toBe(0);
      using m = map(device);
      expect(m.length).toBe(4 * PAGE_SIZE);
      expect(m.buffer.toString('latin1', 0, 3)).toBe('bbb');
      expectError(() => map(device, { offset: 4 * PAGE_SIZE, length: 1 }), { code: 'ERR_KMMAP_BEYOND_END' }, new RegExp(device));
      using part = map(device, { length: PAGE_SIZE });
      expectError(() => part.resize(5 * PAGE_SIZE), { code: 'ERR_KMMAP_BEYOND_END' });
      part.resize(4 * PAGE_SIZE);
    } finally {
      execFileSync('losetup', ['--detach', device]);
    }
  });
});
