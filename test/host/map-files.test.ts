// map() on what every Linux host has: regular files, tmpfs files, /dev/zero.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { map, Mapping, PAGE_SIZE, pagemap } from '../../dist/index.js';
import { isRoot, runNode, perTestFiles } from '../helpers';

const files = perTestFiles();
const { fileOf } = files;

describe('regular file', () => {
  it('maps the whole file by default, zero-copy', () => {
    const file = fileOf(Buffer.alloc(3 * PAGE_SIZE, 'k'));
    using m = map(file);
    expect(m).toBeInstanceOf(Mapping);
    expect(m.length).toBe(3 * PAGE_SIZE);
    expect(m.buffer.length).toBe(3 * PAGE_SIZE);
    expect(m.access).toBe('r');
    expect(m.buffer.toString('latin1', 0, 4)).toBe('kkkk');
    expect(typeof m.address).toBe('bigint');
    expect(m.address % BigInt(PAGE_SIZE)).toBe(0n);
  });

  it('writes through the mapping reach the file', () => {
    const file = fileOf(Buffer.alloc(PAGE_SIZE));
    using m = map(file, { access: 'rw' });
    m.buffer.write('written through mmap', 100);
    expect(fs.readFileSync(file).toString('latin1', 100, 120)).toBe('written through mmap');
  });

  it('writes to the file show in the mapping', () => {
    const file = fileOf(Buffer.alloc(PAGE_SIZE));
    using m = map(file);
    const fd = fs.openSync(file, 'r+');
    fs.writeSync(fd, 'from write(2)', 0, 'latin1');
    fs.closeSync(fd);
    expect(m.buffer.toString('latin1', 0, 13)).toBe('from write(2)');
  });

  it('maps at a page-aligned offset, given as number or bigint', () => {
    const bytes = Buffer.alloc(4 * PAGE_SIZE);
    bytes.write('page two', 2 * PAGE_SIZE);
    const file = fileOf(bytes);
    using a = map(file, { offset: 2 * PAGE_SIZE, length: PAGE_SIZE });
    using b = map(file, { offset: BigInt(2 * PAGE_SIZE) });
    expect(a.buffer.toString('latin1', 0, 8)).toBe('page two');
    expect(b.length).toBe(2 * PAGE_SIZE);
    expect(b.buffer.toString('latin1', 0, 8)).toBe('page two');
  });

  it('maps a file: URL and names its path in errors', () => {
    const file = fileOf(Buffer.from('url mapping'), 'with space.bin');
    using m = map(pathToFileURL(file));
    expect(m.buffer.toString()).toBe('url mapping');
    const missing = path.join(files.dir, 'no such file');
    expect(() => map(pathToFileURL(missing))).toThrow(expect.objectContaining({ code: 'ENOENT', path: missing }));
  });

  it('maps through an open fd, and the fd can be closed afterwards', () => {
    const file = fileOf(Buffer.from('fd mapping'));
    const fd = fs.openSync(file, 'r');
    const m = map(fd, { length: 10 });
    fs.closeSync(fd);
    expect(m.buffer.toString()).toBe('fd mapping');
    m.close();
  });

  it('two mappings of one file share the same physical page', () => {
    const file = fileOf(Buffer.alloc(PAGE_SIZE));
    using a = map(file, { access: 'rw' });
    using b = map(file, { access: 'rw' });
    expect(a.address).not.toBe(b.address);
    a.buffer.write('shared');
    expect(b.buffer.toString('latin1', 0, 6)).toBe('shared');
    if (isRoot) {
      expect(pagemap.physicalAddress(a)).toBe(pagemap.physicalAddress(b));
    } else {
      expect(() => pagemap.physicalAddress(a)).toThrow(expect.objectContaining({ code: 'ERR_KMMAP_PFN_HIDDEN' }));
    }
  });
});

describe('tmpfs file (/dev/shm)', () => {
  it('is shared between two mappings and with write(2)', () => {
    const file = `/dev/shm/kmmap-test-${process.pid}`;
    fs.writeFileSync(file, Buffer.alloc(2 * PAGE_SIZE));
    try {
      using a = map(file, { access: 'rw' });
      using b = map(file, { offset: PAGE_SIZE, length: PAGE_SIZE });
      a.buffer.write('tmpfs', PAGE_SIZE);
      expect(b.buffer.toString('latin1', 0, 5)).toBe('tmpfs');
      expect(fs.readFileSync(file).toString('latin1', PAGE_SIZE, PAGE_SIZE + 5)).toBe('tmpfs');
    } finally {
      fs.rmSync(file);
    }
  });
});

describe('/dev/zero', () => {
  it('maps zeroed memory of the requested length', () => {
    using m = map('/dev/zero', { length: 1 << 20, access: 'rw' });
    expect(m.length).toBe(1 << 20);
    expect(m.buffer.every((byte) => byte === 0)).toBe(true);
    m.buffer.fill(7);
    expect(m.buffer[12345]).toBe(7);
  });
});

describe('close()', () => {
  it('detaches every view, so none reads freed memory', () => {
    const file = fileOf(Buffer.alloc(PAGE_SIZE, 1));
    const m = map(file);
    const slice = m.buffer.subarray(10, 20);
    const words = new Uint32Array(m.buffer.buffer);
    expect(m.closed).toBe(false);
    m.close();
    expect(m.closed).toBe(true);
    expect(m.length).toBe(0);
    expect(m.buffer.length).toBe(0);
    expect(slice.length).toBe(0);
    expect(words.length).toBe(0);
    expect(m.buffer[0]).toBeUndefined();
  });

  it('is idempotent, and Symbol.dispose closes', () => {
    const file = fileOf(Buffer.alloc(PAGE_SIZE));
    const m = map(file);
    m.close();
    expect(() => m.close()).not.toThrow();
    const n = map(file);
    {
      using scoped = n;
      expect(scoped.closed).toBe(false);
    }
    expect(n.closed).toBe(true);
  });

  it('unmaps the file: its address no longer maps it in /proc/self/maps', () => {
    const file = fileOf(Buffer.alloc(PAGE_SIZE));
    const m = map(file);
    const start = m.address.toString(16);
    const mapped = () => fs.readFileSync('/proc/self/maps', 'latin1').split('\n')
      .some((line) => line.startsWith(`${start}-`) && line.endsWith(` ${file}`));
    expect(mapped()).toBe(true);
    m.close();
    // The address range itself is released once no view can point there (close-safety.test.ts).
    expect(mapped()).toBe(false);
  });

  it('a mapping dropped without close() is unmapped by the garbage collector, without a crash', () => {
    const script = `
      const { map } = require('./dist');
      const fs = require('fs');
      const file = require('path').join(require('os').tmpdir(), 'kmmap-gc-' + process.pid);
      fs.writeFileSync(file, Buffer.alloc(1 << 20));
      for (let i = 0; i < 2000; i++) map(file).buffer[0];
      fs.rmSync(file);
      setTimeout(() => {
        const maps = fs.readFileSync('/proc/self/maps', 'latin1').split('\\n').filter((l) => l.includes('kmmap-gc-')).length;
        console.log(maps < 2000 ? 'collected' : 'leaked ' + maps);
      }, 100);
    `;
    const result = runNode(`${script}; global.gc(); setImmediate(() => global.gc());`, { nodeFlags: ['--expose-gc'] });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout.trim()).toBe('collected');
  });
});
