// /dev/kmmap without mmap: read/write/lseek bounds, who may do what, and
// the module parameters (each bad one refused at load time with a message).
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ioctl, KMMAP_DEVICE_PATH, KMMAP_IOC_CHECKSUM, KmmapDevice, map, PAGE_SIZE } from '../../dist/index.js';
import { KMMAP_CHECKSUM } from '../../dist/uapi.js';
import { childCwd, compileTestProgram, expectError, NOBODY, tempDir } from '../helpers';
import { dmesg, insmod, isLoaded, reload, rmmod } from './module';

const tmp = tempDir('kmmap-device-io-');
afterAll(() => {
  tmp.remove();
  reload();
});

describe('read, write and lseek', () => {
  const size = 3 * PAGE_SIZE;
  let fd: number;

  beforeAll(() => {
    reload([`size=${size - 100}`]); // rounded up to whole pages
    fd = fs.openSync(KMMAP_DEVICE_PATH, 'r+');
  });
  afterAll(() => fs.closeSync(fd));

  it('rounds the size up to whole pages and starts zeroed', () => {
    using dev = KmmapDevice.open();
    expect(dev.size).toBe(size);
    const all = Buffer.alloc(size + 10, 1);
    expect(fs.readSync(fd, all, 0, all.length, 0)).toBe(size);
    expect(all.subarray(0, size).every((b) => b === 0)).toBe(true);
  });

  it('writes land at the position, across page boundaries, and read back through a mapping', () => {
    const text = Buffer.from('across the page boundary');
    expect(fs.writeSync(fd, text, 0, text.length, PAGE_SIZE - 10)).toBe(text.length);
    using dev = KmmapDevice.open();
    using m = dev.map();
    expect(m.buffer.subarray(PAGE_SIZE - 10, PAGE_SIZE - 10 + text.length)).toEqual(text);
    const back = Buffer.alloc(text.length);
    expect(fs.readSync(fd, back, 0, back.length, PAGE_SIZE - 10)).toBe(text.length);
    expect(back).toEqual(text);
  });

  it('reads short at the end and return 0 past it', () => {
    const buf = Buffer.alloc(64);
    expect(fs.readSync(fd, buf, 0, 64, size - 16)).toBe(16);
    expect(fs.readSync(fd, buf, 0, 64, size)).toBe(0);
    expect(fs.readSync(fd, buf, 0, 64, size + 12345)).toBe(0);
  });

  it('writes short at the end and fail with ENOSPC past it, never beyond the buffer', () => {
    const buf = Buffer.alloc(64, 0x77);
    expect(fs.writeSync(fd, buf, 0, 64, size - 16)).toBe(16);
    expectError(() => fs.writeSync(fd, buf, 0, 64, size), { code: 'ENOSPC', syscall: 'write' });
    expectError(() => fs.writeSync(fd, buf, 0, 1, size + PAGE_SIZE), { code: 'ENOSPC', syscall: 'write' });
    using dev = KmmapDevice.open();
    using m = dev.map();
    expect(m.buffer.subarray(size - 16).every((b) => b === 0x77)).toBe(true);
    expect(fs.writeSync(fd, Buffer.alloc(0), 0, 0, size)).toBe(0);
  });

  it('lseek knows the size: SEEK_END lands at the end, beyond it is EINVAL', () => {
    // Node has no lseek(2): a small C program does the seeking.
    const binary = compileTestProgram('kmmap_device_lseek.c', tmp.dir);
    expect(execFileSync(binary, { encoding: 'utf8' }).trim().split('\n')).toEqual([
      `end: ${size}`, `end-10: ${size - 10}`, 'end+1: EINVAL', `cur+5: ${size - 5}`, 'set-1: EINVAL', 'set4096: 4096',
    ]);
  });
});

describe('privileges', () => {
  it('the node is root-only by default (mode=0600)', () => {
    reload();
    expect(fs.statSync(KMMAP_DEVICE_PATH).mode & 0o777).toBe(0o600);
    const out = spawnSync(process.execPath, ['-e', `require('./dist').KmmapDevice.open()`],
      { cwd: childCwd(NOBODY), encoding: 'utf8', uid: NOBODY, gid: NOBODY });
    expect(out.status).toBe(1);
    expect(out.stderr).toMatch(/EACCES: permission denied, open '\/dev\/kmmap'. The node is root-only by default/);
  });

  it('an unprivileged process may map the buffer it was given, but not read its PFNs', () => {
    reload(['mode=0666']);
    expect(fs.statSync(KMMAP_DEVICE_PATH).mode & 0o777).toBe(0o666);
    using dev = KmmapDevice.open();
    dev.fill(0x42);
    // The child gets a root-opened fd as its fd 3, then runs as nobody.
    const script = `
      const { KmmapDevice, ioctl, KMMAP_IOC_PFNS, map, PAGE_SIZE } = require('./dist');
      const m = map(3, { length: PAGE_SIZE, access: 'rw' });
      const result = { byte: m.buffer[0] };
      try { ioctl(3, KMMAP_IOC_PFNS, Buffer.alloc(24)); } catch (e) { result.fd3 = e.code; }
      const own = KmmapDevice.open();
      try { own.pfns(0, 1); } catch (e) { result.own = e.code; result.message = e.message; }
      console.log(JSON.stringify(result));
      m.close();
      own.close();
    `;
    const out = spawnSync(process.execPath, ['-e', script],
      { cwd: childCwd(NOBODY), encoding: 'utf8', uid: NOBODY, gid: NOBODY, stdio: ['ignore', 'pipe', 'pipe', dev.fd] });
    expect(out.stderr).toBe('');
    expect(JSON.parse(out.stdout)).toEqual({
      byte: 0x42, fd3: 'EPERM', own: 'EPERM',
      message: "EPERM: operation not permitted, ioctl '/dev/kmmap'. Reading PFNs needs CAP_SYS_ADMIN (run as root)",
    });
  });

  it('a read-only open cannot map for writing (EACCES) nor write (EBADF)', () => {
    using dev = KmmapDevice.open({ access: 'r' });
    using m = dev.map({ length: PAGE_SIZE });
    expect(m.buffer[0]).toBe(0x42);
    expectError(() => dev.map({ length: PAGE_SIZE, access: 'rw' }), { code: 'EACCES', syscall: 'mmap' });
    expectError(() => fs.writeSync(dev.fd, Buffer.from('x')), { code: 'EBADF', syscall: 'write' });
  });
});

describe('writes from a source that faults change nothing beyond what write() reports', () => {
  // copy_from_user() pads what it could not copy with zeros: straight into
  // the shared buffer, that zeroed bytes every mapper sees.
  const size = 4 * PAGE_SIZE;
  let fd: number;
  beforeAll(() => {
    reload([`size=${size}`]);
    fd = fs.openSync(KMMAP_DEVICE_PATH, 'r+');
  });
  afterAll(() => fs.closeSync(fd));

  /** A source of `pages` pages of `byte`, the pages in `holes` made inaccessible. */
  function source(pages: number, byte: number, holes: number[]) {
    const src = map.anonymous(pages * PAGE_SIZE, { shared: false });
    src.buffer.fill(byte);
    for (const page of holes) src.protect('none', { offset: page * PAGE_SIZE, length: PAGE_SIZE });
    return src;
  }

  it('pwrite whose second source page is PROT_NONE writes one page and leaves the next as it was', () => {
    using dev = KmmapDevice.open();
    dev.fill(0x55);
    using src = source(2, 0xaa, [1]);
    expect(fs.writeSync(fd, src.buffer, 0, 2 * PAGE_SIZE, 0)).toBe(PAGE_SIZE);
    using m = dev.map();
    expect(m.buffer.subarray(0, PAGE_SIZE).every((b) => b === 0xaa)).toBe(true);
    expect(m.buffer.subarray(PAGE_SIZE).every((b) => b === 0x55)).toBe(true);
  });

  it('pwrite from an inaccessible source fails with EFAULT and changes nothing', () => {
    using dev = KmmapDevice.open();
    dev.fill(0x55);
    using src = source(1, 0xaa, [0]);
    expectError(() => fs.writeSync(fd, src.buffer, 0, PAGE_SIZE, PAGE_SIZE), { code: 'EFAULT', syscall: 'write' });
    using m = dev.map();
    expect(m.buffer.every((b) => b === 0x55)).toBe(true);
  });

  it('writev stops at the faulting buffer: the bytes before it land, none after', () => {
    using dev = KmmapDevice.open();
    dev.fill(0x55);
    using good = source(1, 0xaa, []);
    using bad = source(2, 0xbb, [1]);
    // 100 bytes of good, then one readable page of bad, then its hole.
    const written = fs.writevSync(fd, [good.buffer.subarray(0, 100), bad.buffer], 0);
    expect(written).toBe(100 + PAGE_SIZE);
    using m = dev.map();
    expect(m.buffer.subarray(0, 100).every((b) => b === 0xaa)).toBe(true);
    expect(m.buffer.subarray(100, 100 + PAGE_SIZE).every((b) => b === 0xbb)).toBe(true);
    expect(m.buffer.subarray(100 + PAGE_SIZE).every((b) => b === 0x55)).toBe(true);
  });

  it('pread into a destination that faults stops there and reports the bytes it copied', () => {
    using dev = KmmapDevice.open();
    dev.fill(0x66);
    using dst = source(2, 0, [1]);
    expect(fs.readSync(fd, dst.buffer, 0, 2 * PAGE_SIZE, 0)).toBe(PAGE_SIZE);
    expect(dst.buffer.subarray(0, PAGE_SIZE).every((b) => b === 0x66)).toBe(true);
  });
});

describe('the ioctls respect the open mode, as read, write and mmap do', () => {
  beforeAll(() => reload(['mode=0666']));

  it("fill() through a read-only open fails with EBADF and writes nothing", () => {
    using rw = KmmapDevice.open();
    rw.fill(0x11);
    using ro = KmmapDevice.open({ access: 'r' });
    expectError(() => ro.fill(0x22), { code: 'EBADF', syscall: 'ioctl', path: KMMAP_DEVICE_PATH }, /open the device with access 'rw'/);
    using m = rw.map({ length: PAGE_SIZE });
    expect(m.buffer.every((b) => b === 0x11)).toBe(true);
  });

  it('CHECKSUM through a write-only open fails with EBADF: it would reveal the bytes', () => {
    const fd = fs.openSync(KMMAP_DEVICE_PATH, 'w');
    try {
      const arg = Buffer.alloc(KMMAP_CHECKSUM.size);
      arg.writeBigUInt64LE(1n, KMMAP_CHECKSUM.offsets.length);
      expectError(() => ioctl(fd, KMMAP_IOC_CHECKSUM, arg), { code: 'EBADF', syscall: 'ioctl' });
      expect(arg.readUInt32LE(KMMAP_CHECKSUM.offsets.crc32)).toBe(0);
    } finally {
      fs.closeSync(fd);
    }
  });

  it('a read-only fd passed to nobody cannot fill; its own read-only open cannot either', () => {
    using rw = KmmapDevice.open();
    rw.fill(0x33);
    const ro = fs.openSync(KMMAP_DEVICE_PATH, 'r');
    try {
      // fd 3 is root's read-only open; FILL through it writes nothing either.
      const script = `
        const { ioctl, KMMAP_IOC_FILL, KmmapDevice } = require('./dist');
        const { KMMAP_FILL } = require('./dist/uapi');
        const result = {};
        const fill = Buffer.alloc(KMMAP_FILL.size);
        fill.writeBigUInt64LE(1n, KMMAP_FILL.offsets.length);
        fill.writeUInt32LE(1, KMMAP_FILL.offsets.pattern_len);
        try { ioctl(3, KMMAP_IOC_FILL, fill); } catch (e) { result.fd3 = e.code; }
        const own = KmmapDevice.open({ access: 'r' });
        try { own.fill(0x44); } catch (e) { result.own = e.code; }
        result.checksum = own.checksum({ length: 1 });
        own.close();
        console.log(JSON.stringify(result));
      `;
      const out = spawnSync(process.execPath, ['-e', script],
        { cwd: childCwd(NOBODY), encoding: 'utf8', uid: NOBODY, gid: NOBODY, stdio: ['ignore', 'pipe', 'pipe', ro] });
      expect(out.stderr).toBe('');
      expect(JSON.parse(out.stdout)).toEqual({ fd3: 'EBADF', own: 'EBADF', checksum: zlib.crc32(Buffer.from([0x33])) });
    } finally {
      fs.closeSync(ro);
    }
    using m = rw.map({ length: PAGE_SIZE });
    expect(m.buffer.every((b) => b === 0x33)).toBe(true);
  });

  it('the buffer\'s physical layout (maxChunkPages, like the PFNs) is hidden from a process without CAP_SYS_ADMIN', () => {
    using dev = KmmapDevice.open();
    expect(dev.info().maxChunkPages).toBeGreaterThanOrEqual(1);
    const out = spawnSync(process.execPath, ['-e', `
      const { KmmapDevice } = require('./dist');
      const dev = KmmapDevice.open({ access: 'r' });
      console.log(JSON.stringify(dev.info().maxChunkPages));
      dev.close();
    `], { cwd: childCwd(NOBODY), encoding: 'utf8', uid: NOBODY, gid: NOBODY });
    expect(out.stderr).toBe('');
    expect(JSON.parse(out.stdout)).toBeNull();
  });

});

describe('module parameters', () => {
  it.each([
    [['size=0'], /size=0: the buffer needs at least one page/],
    [['size=1099511627776'], /size=1099511627776: more than half of RAM/],
    [['backing=dma'], /backing=dma: must be contig or vmalloc/],
    [['method=mmap'], /method=mmap: must be fault, fault_around, pages, pfn or vmalloc/],
    [['backing=vmalloc', 'method=pfn'], /method=pfn does not work with backing=vmalloc/],
    [['method=vmalloc'], /method=vmalloc does not work with backing=contig/],
    [['fault_around_pages=0'], /fault_around_pages=0: must be 1 to 512/],
    [['mode=01777'], /mode=0?1777: only permission bits/],
  ])('%j is refused at load time, with a message that names it', (params, message) => {
    reload();
    expect(rmmod()).toMatchObject({ status: 0 });
    const before = dmesg().length;
    const out = insmod(params);
    expect(out.status).not.toBe(0);
    expect(isLoaded()).toBe(false);
    expect(dmesg().slice(before).join('\n')).toMatch(message);
    reload();
  });

  it('the default method and the fault-around batch come from the parameters', () => {
    reload(['backing=vmalloc', 'method=vmalloc', 'fault_around_pages=64', 'size=1000000']);
    using dev = KmmapDevice.open();
    expect(dev.info()).toMatchObject({ backing: 'vmalloc', method: 'vmalloc', size: 1003520 });
    expect(fs.readFileSync('/sys/module/kmmap/parameters/fault_around_pages', 'utf8').trim()).toBe('64');
    dev.method = 'fault_around';
    dev.fill(7);
    using m = dev.map();
    expect(m.buffer.every((b) => b === 7)).toBe(true);
  });
});
