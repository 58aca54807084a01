// Every kind of bad input gets a coded error, never a crash, a hang or a copy.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ioctl, lkmcPhysicalAddress, map, PAGE_SIZE, pagemap } from '../../dist/index.js';
import { expectError, runNode, tempDir } from '../helpers';

let tmp: ReturnType<typeof tempDir>;
let file: string;
beforeAll(() => {
  tmp = tempDir();
  file = path.join(tmp.dir, 'two-pages');
  fs.writeFileSync(file, Buffer.alloc(2 * PAGE_SIZE));
});
afterAll(() => tmp.remove());

describe('map() arguments', () => {
  it.each([
    ['undefined', undefined],
    ['null', null],
    ['an object', {}],
    ['a boolean', true],
  ])('rejects %s as pathOrFd with ERR_INVALID_ARG_TYPE', (_name, value) => {
    expectError(() => map(value as never), { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' }, /pathOrFd/);
  });

  it.each([
    ['negative', -1],
    ['NaN', Number.NaN],
    ['fractional', 1.5],
    ['huge', 2 ** 40],
    ['Infinity', Number.POSITIVE_INFINITY],
  ])('rejects a %s fd with ERR_OUT_OF_RANGE', (_name, fd) => {
    expectError(() => map(fd), { name: 'RangeError', code: 'ERR_OUT_OF_RANGE' });
  });

  it.each([
    ['zero', 0],
    ['negative', -PAGE_SIZE],
    ['NaN', Number.NaN],
    ['fractional', 10.5],
    ['larger than a Buffer can be', 2 ** 53],
    // Safe, but rounded up to whole pages it would not be: never reaches the addon.
    ['just below 2^53', 2 ** 53 - 1],
  ])('rejects a %s length with ERR_OUT_OF_RANGE', (_name, length) => {
    expectError(() => map(file, { length }), { name: 'RangeError', code: 'ERR_OUT_OF_RANGE' }, /options\.length/);
    expectError(() => map(file, { length, allowBeyondEnd: true }), { code: 'ERR_OUT_OF_RANGE' }, /options\.length/);
    expectError(() => map.anonymous(length, { shared: false }), { code: 'ERR_OUT_OF_RANGE' }, /length/);
  });

  it('rejects a length of the wrong type', () => {
    expectError(() => map(file, { length: '4096' as never }), { code: 'ERR_INVALID_ARG_TYPE' }, /options\.length/);
  });

  it.each([
    ['negative', -PAGE_SIZE],
    ['negative bigint', -4096n],
    ['NaN', Number.NaN],
    ['beyond 2^63', 1n << 63n],
    ['unsafe number', 2 ** 60],
  ])('rejects a %s offset with ERR_OUT_OF_RANGE', (_name, offset) => {
    expectError(() => map(file, { offset, length: PAGE_SIZE }), { code: 'ERR_OUT_OF_RANGE' }, /options\.offset/);
  });

  it('rejects huge page sizes that are not powers of two, and flags that are not booleans', () => {
    expectError(() => map(file, { hugetlb: '3MB' }), { code: 'ERR_INVALID_ARG_VALUE' }, /power of two/);
    expectError(() => map(file, { hugetlb: '2 MB' as never }), { code: 'ERR_INVALID_ARG_VALUE' }, /'2MB'/);
    expectError(() => map(file, { hugetlb: {} as never }), { code: 'ERR_INVALID_ARG_TYPE' }, /options\.hugetlb/);
    for (const name of ['populate', 'locked', 'noreserve', 'sync', 'allowBeyondEnd']) {
      expectError(() => map(file, { [name]: 1 }), { code: 'ERR_INVALID_ARG_TYPE' }, new RegExp(`options\\.${name}`));
    }
    expectError(() => map(file, { access: 'copy', sync: true }), { code: 'ERR_INVALID_ARG_VALUE' }, /options\.sync/);
  });

  it('rejects an unknown access mode', () => {
    expectError(() => map(file, { access: 'w' as never }), { code: 'ERR_INVALID_ARG_VALUE' }, /'r', 'rw', 'copy'/);
  });

  it('rejects options that are not an object', () => {
    expectError(() => map(file, 'rw' as never), { code: 'ERR_INVALID_ARG_TYPE' });
  });
});

describe('map() system errors look like fs errors', () => {
  it('a missing path: ENOENT with path and syscall', () => {
    const missing = path.join(tmp.dir, 'missing');
    expectError(() => map(missing), { code: 'ENOENT', errno: -2, syscall: 'open', path: missing });
  });

  it('a directory: EISDIR with path', () => {
    expectError(() => map(tmp.dir, { length: PAGE_SIZE }), { code: 'EISDIR', syscall: 'mmap', path: tmp.dir });
  });

  it('a closed fd: EBADF', () => {
    const fd = fs.openSync(file, 'r');
    fs.closeSync(fd);
    expectError(() => map(fd, { length: PAGE_SIZE }), { code: 'EBADF', errno: -9 });
  });

  it("a read-only fd mapped 'rw': EACCES from mmap, saying what to do", () => {
    const fd = fs.openSync(file, 'r');
    try {
      expectError(() => map(fd, { access: 'rw' }), { code: 'EACCES', errno: -13, syscall: 'mmap', fd }, /O_RDWR|access 'r'/);
    } finally {
      fs.closeSync(fd);
    }
  });

  it('a file that cannot be mapped: ENODEV from mmap', () => {
    // A pipe has no mmap method.
    const [readEnd] = (() => {
      const fifo = path.join(tmp.dir, 'fifo');
      execFileSync('mkfifo', [fifo]);
      return [fs.openSync(fifo, fs.constants.O_RDWR)];
    })();
    try {
      expectError(() => map(readEnd!, { length: PAGE_SIZE }), { code: 'ENODEV', syscall: 'mmap' }, /FIFO \(named pipe\) is a stream/);
    } finally {
      fs.closeSync(readEnd!);
    }
  });

  it('a device or proc file without a length: ERR_KMMAP_LENGTH_REQUIRED', () => {
    expectError(() => map('/dev/zero'), { code: 'ERR_KMMAP_LENGTH_REQUIRED' }, /options\.length/);
    // A /proc file is a "regular file" of size 0: its size means nothing either.
    expectError(() => map('/proc/self/status'), { code: 'ERR_KMMAP_LENGTH_REQUIRED' }, /\/proc\/self\/status/);
    // With a length, past its "end" is the driver's call (this one has no mmap).
    expectError(() => map('/proc/self/status', { length: PAGE_SIZE }), { code: 'ENODEV', syscall: 'mmap' });
  });

  it('past the end of a regular file: refused before it can raise SIGBUS', () => {
    expectError(() => map(file, { length: 3 * PAGE_SIZE }), { code: 'ERR_KMMAP_BEYOND_END' }, /SIGBUS/);
    expectError(() => map(file, { offset: 2 * PAGE_SIZE, length: 1 }), { code: 'ERR_KMMAP_BEYOND_END' });
    // The tail of the last page is not the file's either: refused, unless allowed, and then it reads as zeros.
    fs.writeFileSync(path.join(tmp.dir, 'short'), 'abc');
    expectError(() => map(path.join(tmp.dir, 'short'), { length: PAGE_SIZE }), { code: 'ERR_KMMAP_BEYOND_END' }, /\(3 bytes\)/);
    using m = map(path.join(tmp.dir, 'short'), { length: PAGE_SIZE, allowBeyondEnd: true });
    expect(m.buffer.toString('latin1', 0, 3)).toBe('abc');
    expect(m.buffer[PAGE_SIZE - 1]).toBe(0);
  });

  it('a file truncated after mapping still raises SIGBUS when touched: the residual risk the API guide documents', () => {
    const result = runNode(`
      const fs = require('fs');
      const { map } = require('./dist');
      const file = ${JSON.stringify(path.join(tmp.dir, 'truncated'))};
      fs.writeFileSync(file, Buffer.alloc(2 * ${PAGE_SIZE}));
      const m = map(file);
      fs.truncateSync(file, 0);
      m.buffer[${PAGE_SIZE}];
    `);
    expect(result.signal).toBe('SIGBUS');
  });

  it('past the end, when explicitly allowed, maps', () => {
    using m = map(file, { length: 3 * PAGE_SIZE, allowBeyondEnd: true });
    expect(m.length).toBe(3 * PAGE_SIZE);
    expect(m.buffer[0]).toBe(0);
  });
});

describe('pagemap and ioctl arguments', () => {
  it('pagemap rejects bad addresses, counts and pids', () => {
    expectError(() => pagemap.entry(-1), { code: 'ERR_OUT_OF_RANGE' });
    expectError(() => pagemap.entry('0x1000' as never), { code: 'ERR_INVALID_ARG_TYPE' });
    expectError(() => pagemap.range(0n, -1), { code: 'ERR_OUT_OF_RANGE' });
    expectError(() => pagemap.range(0n, 2 ** 40), { code: 'ERR_OUT_OF_RANGE' });
    expectError(() => pagemap.entry(0n, { pid: 0 }), { code: 'ERR_OUT_OF_RANGE' });
    expectError(() => pagemap.entry(0n, { pid: 0x7ffffffe }), { code: 'ENOENT', path: '/proc/2147483646/pagemap' });
  });

  it('physicalAddress rejects a closed mapping and offsets outside the buffer', () => {
    const m = map(file);
    expectError(() => pagemap.physicalAddress(m, m.length), { code: 'ERR_OUT_OF_RANGE' });
    expectError(() => pagemap.physicalAddress(m, -1), { code: 'ERR_OUT_OF_RANGE' });
    m.close();
    expectError(() => pagemap.physicalAddress(m), { code: 'ERR_INVALID_ARG_VALUE' }, /closed/);
    expectError(() => pagemap.physicalAddress('buffer' as never), { code: 'ERR_INVALID_ARG_TYPE' });
  });

  it('ioctl checks its arguments, and the kernel answers ENOTTY for an unknown request', () => {
    const fd = fs.openSync(file, 'r');
    try {
      expectError(() => ioctl(fd, -1), { code: 'ERR_OUT_OF_RANGE' });
      expectError(() => ioctl(fd, 0, 'x' as never), { code: 'ERR_INVALID_ARG_TYPE' });
      // An _IOR request of 8 bytes with a 4-byte buffer is refused before the syscall.
      expectError(() => ioctl(fd, 0x8008b501, new Uint8Array(4)), { code: 'ERR_INVALID_ARG_VALUE' }, /at least 8 bytes/);
      // ... and so is one with no buffer at all.
      expectError(() => ioctl(fd, 0x8008b501), { code: 'ERR_INVALID_ARG_VALUE' }, /at least 8 bytes/);
      expectError(() => lkmcPhysicalAddress(fd), { code: 'ENOTTY', syscall: 'ioctl', fd }, /not \/proc\/lkmc_mmap/);
    } finally {
      fs.closeSync(fd);
    }
  });
});
