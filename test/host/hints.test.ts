// Hints name the real cause and a fix the caller has (issue 11, class 12):
// mlock2's ENOMEM blames RLIMIT_MEMLOCK only when the limit is the cause,
// resize()'s EFAULT names every call that splits a mapping, and the kmmap
// command speaks of its flags, not of the library's options.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { map, PAGE_SIZE } from '../../dist/index.js';
import { expectError, isRoot, NOBODY, perTestFiles, runCli, runNode, tempDir } from '../helpers';

const files = perTestFiles();

describe("mlock2's ENOMEM", () => {
  it.runIf(isRoot)('as root (CAP_IPC_LOCK), a page past the end of the file is the cause, not RLIMIT_MEMLOCK', () => {
    const file = files.fileOf(Buffer.alloc(PAGE_SIZE));
    using m = map(file, { length: 2 * PAGE_SIZE, allowBeyondEnd: true });
    const err = expectError(() => m.lock(), { code: 'ENOMEM', syscall: 'mlock2' },
      /Not the limit on locked memory \(this process has CAP_IPC_LOCK\): a page could not be faulted in: one past the end of the file/);
    expect(err.message).not.toMatch(/raise it/);
  });

  it('without CAP_IPC_LOCK: over the limit it names the limit and the numbers; under it, the other causes', () => {
    const script = `
      const { map } = require('./dist');
      const fs = require('fs');
      const os = require('os');
      const path = require('path');
      const limit = Number(/^Max locked memory\\s+(\\d+)/m.exec(fs.readFileSync('/proc/self/limits', 'latin1'))[1]);
      const out = [];
      const big = map.anonymous(limit + 4 * 4096, { shared: false });
      try { big.lock(); out.push('locked'); } catch (err) { out.push(err.code + ' ' + err.message); }
      const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'kmmap-hint-')), 'one-page');
      fs.writeFileSync(file, Buffer.alloc(4096));
      const m = map(file, { length: 8192, allowBeyondEnd: true });
      try { m.lock(); out.push('locked'); } catch (err) { out.push(err.code + ' ' + err.message); }
      fs.rmSync(path.dirname(file), { recursive: true });
      console.log(JSON.stringify(out));
    `;
    const result = isRoot ? runNode(script, { uid: NOBODY, gid: NOBODY }) : runNode(script);
    expect(result.status, result.stderr).toBe(0);
    const [overLimit, pastEnd] = JSON.parse(result.stdout) as string[];
    expect(overLimit).toMatch(/^ENOMEM .*Locked memory is limited by RLIMIT_MEMLOCK \(ulimit -l: \d+ bytes, \d+ bytes locked already, \d+ more asked for\)/);
    expect(pastEnd).toMatch(/^ENOMEM .*Not the limit on locked memory \(RLIMIT_MEMLOCK is \d+ bytes, room enough for 8192 more\): .*past the end of the file/);
  });
});

describe("resize()'s EFAULT", () => {
  it('names advise() too, which splits a mapping as protect() and lock() do', () => {
    using m = map.anonymous(4 * PAGE_SIZE, { shared: false });
    m.advise('random', { offset: 0, length: PAGE_SIZE });
    expectError(() => m.resize(8 * PAGE_SIZE), { code: 'EFAULT', syscall: 'mremap' }, /protect\(\), lock\(\) or advise\(\) on part of it split it/);
    m.advise('normal');
    expect(m.resize(8 * PAGE_SIZE)!.length).toBe(8 * PAGE_SIZE);
  });
});

describe('the kmmap command', { timeout: 60_000 }, () => {
  it('rewords the library\'s hint for a kernel without PAGEMAP_SCAN in its own flags', () => {
    // This kernel may have PAGEMAP_SCAN: the addon's ioctl answers ENOTTY as an older one does.
    const result = runNode(`
      const { native } = require('./dist/binding.js');
      native.pagemapScan = () => { throw Object.assign(new Error('ENOTTY: inappropriate ioctl for device, ioctl'), { code: 'ENOTTY', errno: -25, syscall: 'ioctl' }); };
      const { main } = require('./dist/cli.js');
      let err = '';
      const status = main(['pagemap', 'self', '[stack]', '--method', 'ioctl'], { out: () => {}, err: (text) => { err += text; } });
      console.log(JSON.stringify({ status, err }));
    `);
    expect(result.status, result.stderr).toBe(0);
    const { status, err } = JSON.parse(result.stdout);
    expect(status).toBe(1);
    expect(err).toMatch(/PAGEMAP_SCAN needs Linux 6\.7 or later: use --method pagemap \(or auto\) \[ENOTTY\]/);
  });

  // What only the library has: the command cannot pass options, allow
  // mapping past the end, or call fs.
  const LIBRARY_ONLY = /options\.|allowBeyondEnd|ftruncateSync|method '|access '/;

  it('never suggests what only the library has', () => {
    const tmp = tempDir();
    try {
      const fifo = path.join(tmp.dir, 'fifo');
      fs.mkdirSync(path.join(tmp.dir, 'dir'));
      execFileSync('mkfifo', [fifo]);
      const runs = [
        ['dump', '/dev/zero'],
        ['dump', '/proc/version'],
        ['dump', '/proc/version', '--length', '64'],
        ['dump', fifo],
        ['dump', path.join(tmp.dir, 'dir')],
        ['dump', path.join(tmp.dir, 'missing')],
        ['dump', '/dev/null', '--length', '4096'],
        ['pagemap', 'self', '0xfffffffffffff000+0x1000', '--all'],
        ['pagemap', 'self', '0+0x10000000000000', '--all'],
      ];
      for (const args of runs) {
        const result = runCli(args, { timeout: 20_000 });
        expect(result.status, args.join(' ')).toBe(1);
        expect(result.stderr, args.join(' ')).toMatch(/\[[A-Z_]+\]\n$/);
        expect(result.stderr, args.join(' ')).not.toMatch(LIBRARY_ONLY);
        // The file is named as given, never as the fd the command opened it as.
        expect(result.stderr, args.join(' ')).not.toMatch(/ fd \d+/);
      }
    } finally {
      tmp.remove();
    }
  });
});
