// /proc/lkmc_mmap through the public API: the reference test's eight steps,
// then what the reference module got wrong and kmmap fixes.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LKMC_MMAP_PATH, lkmcPhysicalAddress, map, type Mapping, PAGE_SIZE, pagemap } from '../../dist/index.js';
import { compileTestProgram, expectError, NOBODY, REPO, runNode, tempDir } from '../helpers';
import { dmesg, troubleSince } from './module';

/** The C string at the start of a mapping (up to the first NUL). */
function cString(m: Mapping): string {
  const end = m.buffer.indexOf(0);
  return m.buffer.toString('latin1', 0, end);
}

describe('the reference scenario, step by step', () => {
  let fd: number;
  let map1: Mapping;
  let map2: Mapping;

  it('1. opens /proc/lkmc_mmap read-write with O_SYNC', () => {
    fd = fs.openSync(LKMC_MMAP_PATH, fs.constants.O_RDWR | fs.constants.O_SYNC);
    expect(fd).toBeGreaterThanOrEqual(0);
  });

  it('2. maps the same fd twice, one page each, at different addresses', () => {
    map1 = map(fd, { length: PAGE_SIZE, access: 'rw' });
    map2 = map(fd, { length: PAGE_SIZE, access: 'rw' });
    expect(map1.length).toBe(PAGE_SIZE);
    expect(map2.length).toBe(PAGE_SIZE);
    expect(map1.address).not.toBe(map2.address);
  });

  it('3. both mappings read "asdf" followed by a NUL byte', () => {
    expect(map1.buffer.toString('latin1', 0, 5)).toBe('asdf\0');
    expect(map2.buffer.toString('latin1', 0, 5)).toBe('asdf\0');
  });

  it('4. "qwer" written through mapping 1 is read through mapping 2', () => {
    map1.buffer.write('qwer\0', 'latin1');
    expect(cString(map2)).toBe('qwer');
  });

  it('5. both addresses translate to the same physical address, the one the kernel reports', () => {
    const paddr1 = pagemap.physicalAddress(map1);
    const paddr2 = pagemap.physicalAddress(map2);
    console.log(`paddr1 = 0x${paddr1.toString(16)}`);
    console.log(`paddr2 = 0x${paddr2.toString(16)}`);
    expect(paddr1).toBe(paddr2);
    expect(paddr1).not.toBe(0n);
    expect(lkmcPhysicalAddress(fd)).toBe(paddr1);
  });

  it('6. read(fd) of 4 bytes at the file position returns "qwer"', () => {
    const buf = Buffer.alloc(4);
    expect(fs.readSync(fd, buf, 0, 4, null)).toBe(4);
    expect(buf.toString('latin1')).toBe('qwer');
  });

  it('7. write(fd, "zxcv") lands at byte 0 and both mappings read it', () => {
    expect(fs.writeSync(fd, 'zxcv', null, 'latin1')).toBe(4);
    expect(cString(map1)).toBe('zxcv');
    expect(cString(map2)).toBe('zxcv');
  });

  it('8. unmaps both and closes the fd', () => {
    map1.close();
    map2.close();
    expect(map1.buffer.length).toBe(0);
    expect(map2.buffer.length).toBe(0);
    fs.closeSync(fd);
  });
});

describe('/proc/lkmc_mmap beyond the reference scenario', () => {
  let fd: number;
  beforeAll(() => {
    fd = fs.openSync(LKMC_MMAP_PATH, 'r+');
  });
  afterAll(() => fs.closeSync(fd));

  it('maps by path as well as by fd', () => {
    using m = map(LKMC_MMAP_PATH, { length: PAGE_SIZE });
    expect(m.buffer.toString('latin1', 0, 4)).toBe('asdf');
    expect(m.buffer.subarray(4).every((byte) => byte === 0)).toBe(true);
  });

  it('gives every open its own page', () => {
    const other = fs.openSync(LKMC_MMAP_PATH, 'r+');
    try {
      using a = map(fd, { length: PAGE_SIZE, access: 'rw' });
      using b = map(other, { length: PAGE_SIZE, access: 'rw' });
      a.buffer.write('mine');
      expect(b.buffer.toString('latin1', 0, 4)).toBe('asdf');
      expect(lkmcPhysicalAddress(fd)).not.toBe(lkmcPhysicalAddress(other));
    } finally {
      fs.closeSync(other);
    }
  });

  it('refuses a two-page mapping with EINVAL', () => {
    expectError(() => map(fd, { length: 2 * PAGE_SIZE }), { code: 'EINVAL', errno: -22, syscall: 'mmap', fd });
  });

  it('refuses a mapping at a non-zero offset with EINVAL', () => {
    expectError(() => map(fd, { length: PAGE_SIZE, offset: PAGE_SIZE }), { code: 'EINVAL', syscall: 'mmap' });
    expectError(() => map(LKMC_MMAP_PATH, { length: PAGE_SIZE, offset: 1n << 40n }), { code: 'EINVAL', path: LKMC_MMAP_PATH });
  });

  it('requires an explicit length, since stat reports size 0', () => {
    expectError(() => map(LKMC_MMAP_PATH), { code: 'ERR_KMMAP_LENGTH_REQUIRED' });
  });

  it('maps read-only, and a read-only fd cannot be mapped read-write', () => {
    const readOnly = fs.openSync(LKMC_MMAP_PATH, 'r');
    try {
      using m = map(readOnly, { length: PAGE_SIZE });
      expect(m.buffer.toString('latin1', 0, 4)).toBe('asdf');
      expectError(() => map(readOnly, { length: PAGE_SIZE, access: 'rw' }), { code: 'EACCES', syscall: 'mmap' });
    } finally {
      fs.closeSync(readOnly);
    }
  });

  it('read(2) returns at most the 4-byte message, from the file position', () => {
    const own = fs.openSync(LKMC_MMAP_PATH, 'r');
    try {
      const buf = Buffer.alloc(16);
      expect(fs.readSync(own, buf, 0, 16, 0)).toBe(4);
      expect(buf.toString('latin1', 0, 4)).toBe('asdf');
      expect(fs.readSync(own, buf, 0, 16, 1)).toBe(3);
      expect(buf.toString('latin1', 0, 3)).toBe('sdf');
      expect(fs.readSync(own, buf, 0, 16, 4)).toBe(0);
      expect(fs.readSync(own, buf, 0, 16, 1 << 20)).toBe(0);
    } finally {
      fs.closeSync(own);
    }
  });

  it('write(2) keeps at most 4 bytes, consumes the whole write, and ignores the position', () => {
    const own = fs.openSync(LKMC_MMAP_PATH, 'r+');
    try {
      using m = map(own, { length: PAGE_SIZE });
      expect(fs.writeSync(own, 'abcdefgh', 2, 'latin1')).toBe(8);
      expect(m.buffer.toString('latin1', 0, 5)).toBe('abcd\0');
      expect(fs.writeSync(own, 'XY', null, 'latin1')).toBe(2);
      expect(m.buffer.toString('latin1', 0, 4)).toBe('XYcd');
    } finally {
      fs.closeSync(own);
    }
  });

  it('a mapping outlives its fd: the page stays until the last mapping goes', () => {
    const own = fs.openSync(LKMC_MMAP_PATH, 'r+');
    const m = map(own, { length: PAGE_SIZE, access: 'rw' });
    fs.closeSync(own);
    m.buffer.write('kept');
    expect(m.buffer.toString('latin1', 0, 4)).toBe('kept');
    m.close();
  });

  it('refuses the physical-address ioctl to a process without CAP_SYS_ADMIN', () => {
    const result = runNode(`
      const fs = require('fs');
      const { lkmcPhysicalAddress, map, PAGE_SIZE } = require('./dist');
      const fd = fs.openSync('/proc/lkmc_mmap', 'r+');
      const m = map(fd, { length: PAGE_SIZE, access: 'rw' });
      const text = m.buffer.toString('latin1', 0, 4);
      try { lkmcPhysicalAddress(fd); console.log('allowed'); }
      catch (e) { console.log(JSON.stringify({ text, code: e.code, syscall: e.syscall, message: e.message })); }
    `, { uid: NOBODY, gid: NOBODY });
    expect(result.stderr).toBe('');
    const reported = JSON.parse(result.stdout);
    expect(reported).toMatchObject({ text: 'asdf', code: 'EPERM', syscall: 'ioctl' });
    expect(reported.message).toMatch(/CAP_SYS_ADMIN/);
  });
});

describe('as real sessions use it: inside a memory cgroup, as any user', () => {
  it('the kernel tests run in a child memory cgroup, as every login session does', () => {
    const cgroup = /^0::(\/.*)$/m.exec(fs.readFileSync('/proc/self/cgroup', 'utf8'))?.[1];
    expect(cgroup, 'a cgroup v2 path').toBeDefined();
    expect(cgroup).not.toBe('/');
    // The memory controller is on for this group: its pages are charged here.
    expect(fs.existsSync(`/sys/fs/cgroup${cgroup}/memory.current`)).toBe(true);
  });

  it('open, map, touch and unmap leave the kernel log clean, as root and as nobody', () => {
    // Before 5.11 a page charged to a non-root memory cgroup carried the
    // kmemcg page type in its mapcount: unmapping it logged "Bad page map".
    const before = dmesg().length;
    for (let i = 0; i < 8; i++) {
      const fd = fs.openSync(LKMC_MMAP_PATH, 'r+');
      const m = map(fd, { length: PAGE_SIZE, access: 'rw' });
      m.buffer.write(`run${i}`);
      expect(m.buffer.toString('latin1', 0, 4)).toBe(`run${i}`);
      m.close();
      fs.closeSync(fd);
    }
    const result = runNode(`
      const fs = require('fs');
      const { map, PAGE_SIZE } = require('./dist');
      const out = [];
      for (let i = 0; i < 8; i++) {
        const fd = fs.openSync('/proc/lkmc_mmap', 'r+');
        const m = map(fd, { length: PAGE_SIZE, access: 'rw' });
        const first = m.buffer.toString('latin1', 0, 4);
        fs.writeSync(fd, 'wxyz', 0, 'latin1');
        const afterWrite = m.buffer.toString('latin1', 0, 4);
        m.buffer.write('mmap');
        const back = Buffer.alloc(4);
        fs.readSync(fd, back, 0, 4, 0);
        out.push([first, afterWrite, back.toString('latin1')].join(' '));
        m.close();
        fs.closeSync(fd);
      }
      console.log(JSON.stringify([...new Set(out)]));
    `, { uid: NOBODY, gid: NOBODY });
    expect(result.stderr).toBe('');
    expect(JSON.parse(result.stdout)).toEqual(['asdf wxyz mmap']);
    expect(troubleSince(before)).toEqual([]);
  });
});

const REFERENCE_STEPS = [
  'open pathname = …', 'fd = …', 'mmap 1', 'mmap 2', 'access 1', 'access 2',
  'paddr1 = …', 'paddr2 = …', 'munmap 1', 'munmap 2', 'close',
];

/** Output lines with the values after "= " elided. */
function steps(output: string): string[] {
  return output.trim().split('\n').map((line) => line.replace(/= .*/, '= …'));
}

describe('the reference program: in C, and as npm run demo', () => {
  let tmp: ReturnType<typeof tempDir>;
  beforeAll(() => {
    tmp = tempDir();
  });
  afterAll(() => tmp.remove());

  function compileAndRun(source: string): string {
    return execFileSync(compileTestProgram(source, tmp.dir), { encoding: 'utf8' });
  }

  it('the C reference program passes and prints the reference step lines', () => {
    expect(steps(compileAndRun('lkmc_mmap_reference.c'))).toEqual(REFERENCE_STEPS);
  });

  it('the demo passes and prints the same lines, with the same physical address twice', () => {
    const output = execFileSync(process.execPath, [path.join(REPO, 'dist', 'demo.js')], { encoding: 'utf8' });
    expect(steps(output)).toEqual(REFERENCE_STEPS);
    const [paddr1, paddr2] = [...output.matchAll(/paddr\d = (0x[0-9a-f]+)/g)].map((match) => match[1]);
    expect(paddr1).toBe(paddr2);
  });

  it('lseek, write position and refused mappings behave as documented', () => {
    expect(compileAndRun('lkmc_mmap_edges.c').trim()).toBe('edges ok');
  });
});
