// The module stays loaded while any mapping of its memory lives: unloading
// it would leave the mapping's vm_ops pointing into freed module text.
// Runs after the other kernel tests (see vitest.config.mts); leaves the
// module loaded again.
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { KMMAP_DEVICE_PATH, KmmapDevice, LKMC_MMAP_PATH, map, PAGE_SIZE } from '../../dist/index.js';
import { compileTestProgram, REPO } from '../helpers';
import { dmesg, insmod, isLoaded, MODULE_KO, refcount, reload, rmmod, troubleSince } from './module';

afterAll(() => {
  if (!isLoaded()) expect(insmod()).toMatchObject({ status: 0 });
});

describe('module lifetime', () => {
  it('the module was built for this kernel and can be reloaded', () => {
    expect(fs.existsSync(MODULE_KO), `${MODULE_KO} is missing`).toBe(true);
  });

  it('rmmod fails with EBUSY ("in use") while a mapping lives, and succeeds once it is closed', () => {
    const fd = fs.openSync(LKMC_MMAP_PATH, 'r+');
    const m = map(fd, { length: PAGE_SIZE, access: 'rw' });
    fs.closeSync(fd);
    const pinned = refcount();
    expect(pinned).toBeGreaterThanOrEqual(1);

    const refused = rmmod();
    expect(refused.status).not.toBe(0);
    // kmod's rmmod reports the kernel's refusal (EBUSY) as "is in use".
    expect(refused.stderr).toMatch(/in use|busy/i);
    expect(isLoaded()).toBe(true);

    // The mapping still works after the failed unload.
    m.buffer.write('live');
    expect(m.buffer.toString('latin1', 0, 4)).toBe('live');
    m.close();
    expect(refcount()).toBe(pinned - 1);

    expect(rmmod()).toMatchObject({ status: 0 });
    expect(isLoaded()).toBe(false);
    expect(fs.existsSync(LKMC_MMAP_PATH)).toBe(false);
  });

  it('insmod brings /proc/lkmc_mmap back', () => {
    expect(insmod()).toMatchObject({ status: 0 });
    expect(fs.existsSync(LKMC_MMAP_PATH)).toBe(true);
    expect(refcount()).toBe(0);
  });

  it('an open fd without a mapping does not pin the module; after rmmod its calls fail with EIO', () => {
    const fd = fs.openSync(LKMC_MMAP_PATH, 'r+');
    expect(rmmod()).toMatchObject({ status: 0 });
    expect(() => fs.readSync(fd, Buffer.alloc(4), 0, 4, 0)).toThrow(expect.objectContaining({ code: 'EIO' }));
    expect(() => map(fd, { length: PAGE_SIZE })).toThrow(expect.objectContaining({ code: 'EIO' }));
    fs.closeSync(fd);
    expect(insmod()).toMatchObject({ status: 0 });
  });

  it('a /proc/lkmc_mmap mapping pins the module through a file of its own, which a forked copy shares', () => {
    // The module never drops its own last reference (which would leave module
    // code running after rmmod could free it): every mapping holds a file
    // whose fops pin the module, and the kernel drops that after vm_close.
    const before = refcount();
    const fd = fs.openSync(LKMC_MMAP_PATH, 'r+');
    const m = map(fd, { length: PAGE_SIZE, access: 'rw' });
    fs.closeSync(fd);
    expect(refcount()).toBe(before + 1);
    const maps = fs.readFileSync('/proc/self/maps', 'utf8').split('\n');
    const line = maps.find((l) => l.startsWith(`${m.address.toString(16)}-`));
    expect(line).toMatch(/anon_inode:lkmc_mmap$/);
    // A forked child's copy of the VMA shares that file: no reference of its own.
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kmmap-fork-'));
    try {
      const binary = compileTestProgram('lkmc_fork_refcnt.c', tmp);
      const [start, mapped, inChild, byte] = execFileSync(binary, { encoding: 'utf8' }).trim().split(' ');
      expect(Number(mapped)).toBe(Number(start) + 1);
      expect(Number(inChild)).toBe(Number(mapped));
      expect(byte).toBe('x');
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
    m.close();
    expect(refcount()).toBe(before);
  });

  it('unmapping while rmmod is retried in a loop never leaves the kernel running freed module code', () => {
    // Many mappings closed by a child while the parent retries rmmod: each
    // attempt either fails (still mapped) or succeeds after the last unmap.
    reload();
    const logBefore = dmesg().length;
    const child = spawn(process.execPath, ['-e', `
      const fs = require('fs');
      const { map, PAGE_SIZE } = require(${JSON.stringify(path.join(REPO, 'dist'))});
      const maps = [];
      for (let i = 0; i < 200; i++) {
        const fd = fs.openSync('/proc/lkmc_mmap', 'r+');
        const m = map(fd, { length: PAGE_SIZE, access: 'rw' });
        m.buffer[0] = i;
        fs.closeSync(fd);
        maps.push(m);
      }
      console.log('mapped');
      setTimeout(() => { for (const m of maps) m.close(); }, 200);
    `], { stdio: ['ignore', 'pipe', 'inherit'] });
    return new Promise<void>((resolve, reject) => {
      child.stdout.once('data', () => {
        let unloaded = false;
        for (let attempt = 0; attempt < 2000 && !unloaded; attempt++) unloaded = rmmod().status === 0;
        child.once('exit', () => {
          try {
            expect(unloaded).toBe(true);
            expect(troubleSince(logBefore)).toEqual([]);
            expect(insmod()).toMatchObject({ status: 0 });
            resolve();
          } catch (err) {
            reject(err);
          }
        });
      });
    });
  });

  it('rmmod fails with EBUSY while /dev/kmmap is open, and while a mapping of it outlives the fd', () => {
    reload();
    const dev = KmmapDevice.open({ method: 'pages' });
    expect(rmmod().stderr).toMatch(/in use|busy/i);
    const m = dev.map();
    dev.close();
    // The mapping holds the file, and the file's fops pin the module: one
    // reference, dropped by the kernel's fput() after vm_close, never by
    // the module's own code.
    expect(refcount()).toBe(1);
    const refused = rmmod();
    expect(refused.status).not.toBe(0);
    expect(refused.stderr).toMatch(/in use|busy/i);
    m.buffer.write('still mapped');
    expect(m.buffer.toString('latin1', 0, 12)).toBe('still mapped');
    m.close();
    expect(refcount()).toBe(0);
    expect(rmmod()).toMatchObject({ status: 0 });
    expect(fs.existsSync(KMMAP_DEVICE_PATH)).toBe(false);
    expect(insmod()).toMatchObject({ status: 0 });
  });

  it('survives repeated load, map, touch and unload cycles with every backing and method', () => {
    for (let cycle = 0; cycle < 3; cycle++) {
      for (const backing of ['contig', 'vmalloc'] as const) {
        reload([`backing=${backing}`, `size=${(cycle + 1) * 1024 * 1024}`]);
        using dev = KmmapDevice.open();
        for (const method of dev.info().methods) {
          dev.method = method;
          using m = dev.map();
          m.buffer.fill(cycle + 1);
          expect(dev.checksum()).toBe(zlib.crc32(m.buffer));
        }
        expect(dev.info().mappings).toBe(0);
      }
    }
    reload();
    expect(refcount()).toBe(0);
  });
});
