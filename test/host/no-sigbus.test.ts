// Mappings the kernel accepts but whose memory raises SIGBUS on first touch
// are refused before mmap (issue 11, class 1). Each case runs in a child
// process that maps and then touches: a regression kills the child with
// SIGBUS, not the test runner.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PAGE_SIZE } from '../../dist/index.js';
import { isRoot, REPO, runNode, tempDir } from '../helpers';

/** Runs `body` (with map and PAGE_SIZE in scope) in a child; it prints JSON lines. Returns them. */
function inChild(body: string): unknown[] {
  const result = runNode(`
    const { map, PAGE_SIZE } = require('./dist');
    const fs = require('fs');
    const say = (value) => console.log(JSON.stringify(value));
    const attempt = (fn) => { try { say({ ok: fn() }); } catch (err) { say({ code: err.code, message: err.message }); } };
    ${body}
  `, { timeout: 30_000 });
  expect(result.signal, result.stderr).toBeNull();
  expect(result.status, result.stderr).toBe(0);
  return result.stdout.trim().split('\n').map((line) => JSON.parse(line));
}

describe('shared /dev/zero', () => {
  it('is refused at an offset past its first page, whatever the access; private, or at offset 0, it maps and reads zeros', () => {
    const results = inChild(`
      attempt(() => map('/dev/zero', { length: PAGE_SIZE, offset: PAGE_SIZE, access: 'rw' }).buffer[0]);
      attempt(() => map('/dev/zero', { length: 2 * PAGE_SIZE, offset: 3 * PAGE_SIZE + 5, access: 'r' }).buffer[0]);
      // Through an fd opened read-write, even access 'r' is a shared shmem mapping.
      const fd = fs.openSync('/dev/zero', 'r+');
      attempt(() => map(fd, { length: PAGE_SIZE, offset: PAGE_SIZE, access: 'r' }).buffer[0]);
      attempt(() => map('/dev/zero', { length: 2 * PAGE_SIZE, offset: 7 * PAGE_SIZE, access: 'copy' }).buffer[PAGE_SIZE]);
      attempt(() => map('/dev/zero', { length: PAGE_SIZE, offset: 100, access: 'rw' }).buffer[PAGE_SIZE - 1]);
    `);
    expect(results).toMatchObject([
      { code: 'ERR_KMMAP_BEYOND_END', message: expect.stringMatching(/SIGBUS: map it at offset 0 \(every offset reads zeros\) or with access 'copy'/) },
      { code: 'ERR_KMMAP_BEYOND_END' },
      { code: 'ERR_KMMAP_BEYOND_END' },
      { ok: 0 },
      { ok: 0 },
    ]);
  });

  it('cannot grow past its first size with resize(); shrinking and growing back within it works, and so does a private one', () => {
    const results = inChild(`
      const m = map('/dev/zero', { length: 2 * PAGE_SIZE, access: 'rw' });
      attempt(() => m.resize(3 * PAGE_SIZE));
      attempt(() => m.resize(2 * PAGE_SIZE + 1));
      attempt(() => { m.resize(PAGE_SIZE); m.resize(2 * PAGE_SIZE); m.buffer[2 * PAGE_SIZE - 1] = 7; return m.buffer[2 * PAGE_SIZE - 1]; });
      const withDelta = map('/dev/zero', { length: PAGE_SIZE - 100, offset: 100, access: 'rw' });
      attempt(() => withDelta.resize(PAGE_SIZE));
      attempt(() => withDelta.resize(PAGE_SIZE - 100).length);
      const priv = map('/dev/zero', { length: PAGE_SIZE, access: 'copy' });
      attempt(() => priv.resize(4 * PAGE_SIZE)[3 * PAGE_SIZE]);
    `);
    expect(results).toMatchObject([
      { code: 'ERR_KMMAP_BEYOND_END', message: expect.stringMatching(/keeps the size it was made with \(\d+ bytes\)/) },
      { code: 'ERR_KMMAP_BEYOND_END' },
      { ok: 7 },
      { code: 'ERR_KMMAP_BEYOND_END' },
      { ok: PAGE_SIZE - 100 },
      { ok: 0 },
    ]);
  });

  it('through a descriptor, too', () => {
    const stat = fs.statSync('/dev/zero');
    const results = inChild(`
      const d = { kind: 'kmmap.mapping/1', path: '/dev/zero', offset: String(PAGE_SIZE), length: PAGE_SIZE, access: 'rw',
        dev: '${stat.dev}', ino: '${stat.ino}', populate: false, locked: false, noreserve: false, hugetlb: false, sync: false, allowBeyondEnd: false };
      attempt(() => map.fromDescriptor(d).buffer[0]);
    `);
    expect(results).toMatchObject([{ code: 'ERR_KMMAP_BEYOND_END' }]);
  });
});

describe('huge pages without a reservation (noreserve)', () => {
  it('are refused for anonymous memory, shared or private, and for map(), before anything is mapped', () => {
    const results = inChild(`
      attempt(() => map.anonymous(PAGE_SIZE, { hugetlb: true, noreserve: true }).buffer[0]);
      attempt(() => map.anonymous(PAGE_SIZE, { hugetlb: '2MB', noreserve: true, shared: false }).buffer[0]);
      attempt(() => map('/dev/zero', { length: PAGE_SIZE, hugetlb: true, noreserve: true }).buffer[0]);
      // Without noreserve the kernel reserves at mmap: ENOMEM here (no huge pages), never SIGBUS.
      attempt(() => map.anonymous(PAGE_SIZE, { hugetlb: true, shared: false }).buffer[0]);
    `);
    expect(results.slice(0, 3)).toMatchObject([
      { code: 'ERR_INVALID_ARG_VALUE', message: expect.stringMatching(/options\.noreserve' cannot go with options\.hugetlb.*SIGBUS/) },
      { code: 'ERR_INVALID_ARG_VALUE' },
      { code: 'ERR_INVALID_ARG_VALUE' },
    ]);
    // Either huge pages are free on this machine (the page reads 0) or the kernel said ENOMEM.
    expect([{ ok: 0 }, { code: 'ENOMEM' }]).toContainEqual(pick(results[3]));
  });

  // hugetlbfs is mounted in a private mount namespace of the child (root only: mount needs CAP_SYS_ADMIN).
  it.runIf(isRoot)('are refused for a file on hugetlbfs, which needs no hugetlb option', () => {
    const tmp = tempDir();
    try {
      const mnt = path.join(tmp.dir, 'huge');
      fs.mkdirSync(mnt);
      const script = `
        const { map } = require('./dist');
        const fs = require('fs');
        const file = ${JSON.stringify(path.join(mnt, 'file'))};
        fs.closeSync(fs.openSync(file, 'w'));
        fs.truncateSync(file, 2 << 20);
        for (const access of ['rw', 'r', 'copy']) {
          try { map(file, { access, noreserve: true }).buffer[0]; console.log('mapped'); } catch (err) { console.log(err.code); }
        }
      `;
      const result = spawnSync('unshare', ['--mount', 'sh', '-c', `mount -t hugetlbfs none '${mnt}' && exec '${process.execPath}' -e "$0"`, script], {
        cwd: REPO, encoding: 'utf8', timeout: 30_000, killSignal: 'SIGKILL',
      });
      expect(result.signal, result.stderr).toBeNull();
      expect(result.status, result.stderr).toBe(0);
      expect(result.stdout.trim().split('\n')).toEqual(['ERR_INVALID_ARG_VALUE', 'ERR_INVALID_ARG_VALUE', 'ERR_INVALID_ARG_VALUE']);
    } finally {
      tmp.remove();
    }
  });
});

function pick(result: unknown): unknown {
  const r = result as { ok?: unknown; code?: unknown };
  return 'ok' in r ? { ok: r.ok } : { code: r.code };
}
