// /dev/kmmap without mmap: read/write/lseek bounds, who may do what, and
// the module parameters (each bad one refused at load time with a message).
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KMMAP_DEVICE_PATH, KmmapDevice, PAGE_SIZE } from '../../dist/index.js';
import { childCwd, expectError, NOBODY, REPO, tempDir } from '../helpers';
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
    const binary = path.join(tmp.dir, 'kmmap_device_lseek');
    execFileSync('cc', ['-O2', '-Wall', '-Wextra', '-Werror', '-o', binary, path.join(REPO, 'test', 'c', 'kmmap_device_lseek.c')]);
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
