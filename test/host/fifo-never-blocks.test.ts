// Nothing that opens a path to map it can block forever in open(2) (issue
// 11, class 6): a FIFO without a writer blocks a plain open, and nothing
// can interrupt a synchronous one. The calls run in child processes with a
// timeout, so a regression fails the test instead of hanging the runner.
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, runNode, tempDir } from '../helpers';

let tmp: ReturnType<typeof tempDir>;
let fifo: string;
beforeAll(() => {
  tmp = tempDir();
  fifo = path.join(tmp.dir, 'fifo');
  spawnSyncOk('mkfifo', [fifo]);
});
afterAll(() => tmp.remove());

function spawnSyncOk(command: string, args: string[]): void {
  const result = spawnSync(command, args, { encoding: 'utf8' });
  expect(result.status, result.stderr).toBe(0);
}

describe('a FIFO', () => {
  it('is refused with ENODEV by map(), by path in every form and by fd, with or without a length', () => {
    const result = runNode(`
      const { map, PAGE_SIZE } = require('./dist');
      const fs = require('fs');
      const { pathToFileURL } = require('url');
      const fifo = ${JSON.stringify(fifo)};
      const codes = [];
      const attempt = (fn) => { try { fn(); codes.push('mapped'); } catch (err) { codes.push(err.code + (err.syscall ? ':' + err.syscall : '')); } };
      for (const access of ['r', 'rw', 'copy']) attempt(() => map(fifo, { length: PAGE_SIZE, access }));
      attempt(() => map(fifo));
      attempt(() => map(Buffer.from(fifo), { length: PAGE_SIZE }));
      attempt(() => map(pathToFileURL(fifo), { length: PAGE_SIZE }));
      const fd = fs.openSync(fifo, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
      attempt(() => map(fd, { length: PAGE_SIZE }));
      console.log(codes.join(' '));
    `, { timeout: 20_000 });
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout.trim().split(' ')).toEqual(Array(7).fill('ENODEV:mmap'));
  });

  it('behind a forged descriptor is checked by dev and inode before anything opens it', async () => {
    // A writer blocked in open(2) until some reader opens the FIFO: if kmmap
    // opened the forged path, the writer would be released and exit.
    const writer = spawn('sh', ['-c', `echo released > '${fifo}'`], { stdio: 'ignore' });
    const exited = new Promise<number | null>((resolve) => writer.on('exit', (code) => resolve(code)));
    try {
      const stat = fs.statSync(fifo);
      const descriptor = (dev: string, ino: string) => JSON.stringify({
        kind: 'kmmap.mapping/1', path: fifo, offset: '0', length: 4096, access: 'r', dev, ino,
        populate: false, locked: false, noreserve: false, hugetlb: false, sync: false, allowBeyondEnd: false,
      });
      const forged = runNode(`
        const { map } = require('./dist');
        try { map.fromDescriptor(${descriptor(String(stat.dev), String(stat.ino + 1))}); } catch (err) { console.log(err.code); }
      `, { timeout: 20_000 });
      expect(forged.stdout.trim()).toBe('ERR_KMMAP_DESCRIPTOR_STALE');
      const stillBlocked = await Promise.race([exited.then(() => false), new Promise((resolve) => setTimeout(() => resolve(true), 500))]);
      expect(stillBlocked, 'the forged path was opened').toBe(true);
      // With the FIFO's own dev and inode: opened without blocking, then refused.
      const genuine = runNode(`
        const { map } = require('./dist');
        try { map.fromDescriptor(${descriptor(String(stat.dev), String(stat.ino))}); } catch (err) { console.log(err.code); }
      `, { timeout: 20_000 });
      expect(genuine.stdout.trim()).toBe('ENODEV');
    } finally {
      // Release the writer if it is still waiting.
      const fd = fs.openSync(fifo, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
      await exited;
      fs.closeSync(fd);
    }
  });

  it('given to KmmapDevice.open() fails at once (ENOTTY from its first ioctl) instead of waiting for a writer', () => {
    const result = runNode(`
      const { KmmapDevice } = require('./dist');
      for (const access of ['r', 'rw']) {
        try { KmmapDevice.open({ path: ${JSON.stringify(fifo)}, access }); } catch (err) { console.log(err.code); }
      }
    `, { timeout: 20_000 });
    expect(result.stdout.trim().split('\n')).toEqual(['ENOTTY', 'ENOTTY']);
  });

  it('given to kmmap dump: exit 1 with ENODEV', () => {
    const result = runCli(['dump', fifo], { timeout: 20_000 });
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/FIFO \(named pipe\).*\[ENODEV\]/);
  });
});
