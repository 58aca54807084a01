// close() and resize() while native code still holds the memory's address
// (issue 11, class 2). Detaching views cannot stop a raw pointer that Node's
// own C++ or a thread-pool thread obtained before: close() therefore swaps
// the range for throwaway private memory and releases the address range only
// once every view object and its memory are gone. Each case runs in a child
// process, since the failure it guards against is a SIGSEGV.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { expect, it, vi } from 'vitest';
import { compileC, perTestFiles, runNode } from '../helpers';

// Child processes that collect garbage: slow on a busy machine.
vi.setConfig({ testTimeout: 60_000 });

const files = perTestFiles();

/** Runs `body` in a child with `map`, `file`, `fs` and a `release()` (gc + event-loop turns) in scope. */
function child(body: string, file: string, env?: Record<string, string>) {
  const script = `
    const fs = require('node:fs');
    const { map } = require('./dist');
    const file = ${JSON.stringify(file)};
    const ranges = (address) => fs.readFileSync('/proc/self/maps', 'latin1').split('\\n')
      .filter((line) => line.startsWith(address.toString(16) + '-')).length;
    // Whether a VMA holds the address (a placeholder may merge with an anonymous neighbour).
    const covered = (address) => fs.readFileSync('/proc/self/maps', 'latin1').split('\\n').filter(Boolean).some((line) => {
      const [start, end] = line.split(' ')[0].split('-').map((hex) => BigInt('0x' + hex));
      return start <= address && address < end;
    }) ? 1 : 0;
    async function release() {
      for (let i = 0; i < 20; i++) { globalThis.gc(); await new Promise((r) => setImmediate(r)); }
    }
    (async () => { ${body} })().then(() => console.log('ok'), (err) => { console.error(err); process.exit(1); });
  `;
  return runNode(script, { nodeFlags: ['--expose-gc'], env });
}

function expectOk(result: ReturnType<typeof runNode>) {
  expect(result.signal, result.stderr).toBe(null);
  expect(result.status, result.stderr).toBe(0);
  expect(result.stdout).toContain('ok');
}

it('buffer.fill() whose value closes the mapping writes into throwaway memory, never the file', () => {
  const file = files.fileOf(Buffer.alloc(4096, 'a'));
  const result = child(`
    const m = map(file, { access: 'rw' });
    const base = m.baseAddress;
    m.buffer.fill({ valueOf() { m.close(); return 7; } });
    if (m.buffer.length !== 0) throw new Error('buffer not detached');
    m.close();
    // The address range stays reserved (and harmless) until the view is collected.
    console.log('reserved', ranges(base));
    await release();
    console.log('after gc', ranges(base));
  `, file);
  expectOk(result);
  expect(fs.readFileSync(file).equals(Buffer.alloc(4096, 'a'))).toBe(true);
  expect(result.stdout).toContain('after gc 0');
});

it('resize() from inside buffer.fill() leaves the old range harmless, growing or shrinking', () => {
  const file = files.fileOf(Buffer.alloc(4 * 4096, 'b'));
  const result = child(`
    for (const [from, to] of [[4 * 4096, 4096], [4096, 4 * 4096], [2 * 4096, 3 * 4096]]) {
      const m = map(file, { access: 'rw', length: from });
      // Something right after it, so that growing has to move.
      const after = map.anonymous(4096, { shared: false });
      m.buffer.fill({ valueOf() { m.resize(to); return 0x63; } });
      if (m.length !== to || m.buffer.length !== to) throw new Error('bad length after resize');
      m.buffer.fill(0x62);
      m.close();
      after.close();
    }
    await release();
  `, file);
  expectOk(result);
  const content = fs.readFileSync(file);
  // 0x63 may land only where the file stays mapped across the resize: nothing
  // past the new end of a shrunk mapping, nothing in a moved mapping.
  expect(content.subarray(4096).every((byte) => byte === 0x62 || byte === 0x63)).toBe(true);
  expect(content.length).toBe(4 * 4096);
});

it('crypto.randomFill() and zlib.deflate() in flight on the thread pool survive close() and collection', () => {
  const big = files.fileOf(Buffer.alloc(1 << 20), 'big');
  const small = files.fileOf(Buffer.alloc(4096, 'z'), 'small');
  const result = child(`
    const crypto = require('node:crypto');
    const zlib = require('node:zlib');
    const small = ${JSON.stringify(small)};
    for (let round = 0; round < 40; round++) {
      const a = map(file, { access: 'rw' });
      // zlib reads an input it cannot take in one step again later, and
      // then finds it detached like any ArrayBuffer (Node's own check): one page.
      const b = map(small, { access: 'r' });
      const filled = new Promise((resolve, reject) => crypto.randomFill(a.buffer, (err) => (err ? reject(err) : resolve())));
      const deflated = new Promise((resolve, reject) => zlib.deflate(b.buffer, (err, out) => (err ? reject(err) : resolve(out))));
      a.close();
      b.close();
      // Collect while the thread pool may still work on the old ranges.
      globalThis.gc();
      await new Promise((r) => setImmediate(r));
      globalThis.gc();
      await Promise.all([filled, deflated]);
    }
    await release();
  `, big);
  expectOk(result);
});

it('an ArrayBuffer moved out by transfer() reads zeros after close() and keeps the range reserved until collected', () => {
  const file = files.fileOf(Buffer.alloc(4096, 'c'));
  const result = child(`
    if (typeof ArrayBuffer.prototype.transfer !== 'function') {
      // Node 20 has no ArrayBuffer.prototype.transfer (test:node-versions runs this on 22 and 24).
      if (Number(process.versions.node.split('.')[0]) >= 22) throw new Error('transfer() missing on Node 22+');
      return;
    }
    const m = map(file, { access: 'rw' });
    const base = m.baseAddress;
    let moved = new Uint8Array(m.buffer.buffer.transfer());
    if (moved[0] !== 0x63) throw new Error('transfer() should move the mapped memory');
    m.close();
    if (moved[0] !== 0 || moved[4095] !== 0) throw new Error('a late reader should see zeros');
    moved.fill(0x64);
    if (moved[10] !== 0x64) throw new Error('a late writer writes into throwaway memory');
    await release();
    console.log('while moved buffer lives', covered(base), moved[10]);
    moved = null;
    await release();
    console.log('after gc', ranges(base));
  `, file);
  expectOk(result);
  expect(fs.readFileSync(file).equals(Buffer.alloc(4096, 'c'))).toBe(true);
  if (!result.stdout.includes('while moved')) return; // Node 20: checked above that transfer() is absent
  expect(result.stdout).toContain('while moved buffer lives 1 100');
  expect(result.stdout).toContain('after gc 0');
});

it('after transfer() moved its Buffer\'s memory away, the live mapping gives a fresh buffer and views of the same bytes', () => {
  const file = files.fileOf(Buffer.alloc(4096, 'e'));
  const result = child(`
    if (typeof ArrayBuffer.prototype.transfer !== 'function') {
      if (Number(process.versions.node.split('.')[0]) >= 22) throw new Error('transfer() missing on Node 22+');
      console.log('no transfer');
      return;
    }
    const m = map(file, { access: 'rw' });
    const moved = new Uint8Array(m.buffer.buffer.transfer());
    // The mapping's own Buffer was detached by transfer(), not by kmmap.
    const again = m.buffer;
    const window = m.view(1, 2);
    console.log(JSON.stringify([again.length, again[0], window.length, window[0]]));
    again[0] = 0x66;
    console.log(moved[0] === 0x66 ? 'same bytes' : 'different bytes');
    m.close();
    console.log(again.length, window.length);
  `, file);
  expectOk(result);
  if (result.stdout.includes('no transfer')) return; // Node 20: checked above that transfer() is absent
  expect(result.stdout).toContain('[4096,101,2,101]');
  expect(result.stdout).toContain('same bytes');
  expect(result.stdout).toContain('0 0');
  expect(fs.readFileSync(file)[0]).toBe(0x66);
});

it('a closed mapping whose views are all dropped is released by the next collection, even while the Mapping lives', () => {
  const file = files.fileOf(Buffer.alloc(4096, 'd'));
  const result = child(`
    const m = map(file);
    const base = m.baseAddress;
    if (m.buffer[0] !== 0x64) throw new Error('bad content');
    m.close();
    await release();
    console.log('after', ranges(base), m.closed);
  `, file);
  expectOk(result);
  expect(result.stdout).toContain('after 0 true');
});

it('a view kept after its Mapping is collected keeps the file mapped, then is released', () => {
  const file = files.fileOf(Buffer.alloc(4096, 'e'));
  const result = child(`
    let view = map(file).buffer;
    const address = require('./dist').addressOf(view) & ~4095n;
    await release();
    if (view[0] !== 0x65) throw new Error('view lost its memory');
    const mapped = fs.readFileSync('/proc/self/maps', 'latin1').split('\\n')
      .some((line) => line.startsWith(address.toString(16) + '-') && line.endsWith(${JSON.stringify(path.basename(file))}));
    console.log('still file', mapped);
    view = null;
    await release();
    console.log('after', ranges(address));
  `, file);
  expectOk(result);
  expect(result.stdout).toContain('still file true');
  expect(result.stdout).toContain('after 0');
});

it('resize() that must move keeps the content and leaves a placeholder at the old address, for every kind of mapping', () => {
  const file = files.fileOf(Buffer.alloc(4 * 4096, 'f'));
  const result = child(`
    const kinds = {
      'private anonymous': () => map.anonymous(4096, { shared: false }),
      'shared anonymous': () => map.anonymous(4096),
      'private file': () => map(file, { access: 'copy', length: 4096 }),
      'shared file': () => map(file, { access: 'rw', length: 4096 }),
    };
    for (const [kind, make] of Object.entries(kinds)) {
      const m = make();
      m.buffer.write('kept');
      const held = m.buffer;
      const oldBase = m.baseAddress;
      // Reserve the pages right after it so that it cannot grow in place.
      const next = oldBase + 4096n;
      const blockers = [];
      for (let i = 0; i < 64 && !fs.readFileSync('/proc/self/maps', 'latin1').split('\\n').some((l) => l.startsWith(next.toString(16) + '-')); i++) {
        blockers.push(map.anonymous(4096, { shared: false }));
      }
      m.resize(3 * 4096, { allowBeyondEnd: true });
      // The VMA holding the old address: a placeholder may merge with an anonymous neighbour.
      const line = fs.readFileSync('/proc/self/maps', 'latin1').split('\\n').find((l) => {
        const [start, end] = l.split(' ')[0].split('-').map((hex) => BigInt('0x' + hex));
        return start <= oldBase && oldBase < end;
      });
      console.log(kind, m.baseAddress !== oldBase, m.buffer.toString('latin1', 0, 4), held.length, line.replace(/^\\S+ /, '').trim());
      m.buffer[3 * 4096 - 1] = 1;
      m.close();
      blockers.forEach((b) => b.close());
    }
  `, file);
  expectOk(result);
  for (const kind of ['private anonymous', 'shared anonymous', 'private file', 'shared file']) {
    expect(result.stdout).toContain(`${kind} true kept 0 rw-p 00000000 00:00 0\n`);
  }
});

/** In a child script: blocks the pages right after `m` so that growing it must move it. */
const BLOCK_AFTER = `
  function blockAfter(m) {
    const next = m.baseAddress + BigInt(m.length);
    const mapped = () => fs.readFileSync('/proc/self/maps', 'latin1').split('\\n').some((l) => l.startsWith(next.toString(16) + '-'));
    const blockers = [];
    for (let i = 0; i < 64 && !mapped(); i++) blockers.push(map.anonymous(4096, { shared: false }));
    return () => blockers.forEach((b) => b.close());
  }
  const perms = (address) => fs.readFileSync('/proc/self/maps', 'latin1').split('\\n')
    .find((l) => l.startsWith(address.toString(16) + '-')).split(' ')[1];
`;

it('a thread-pool job still writing a private mapping that resize() moves never meets unmapped memory', () => {
  // Where the kernel cannot move private pages while keeping the old range
  // mapped (MREMAP_DONTUNMAP: file pages before 5.13, some vendor kernels),
  // the mapping is mapped again and its own pages copied, never unmapped.
  const file = files.fileOf(Buffer.alloc(8 << 20, 7));
  const result = child(`
    ${BLOCK_AFTER}
    const crypto = require('node:crypto');
    let moved = 0;
    // The window was one system call wide: it took 10 to 50 rounds to hit.
    for (let round = 0; round < 150; round++) {
      const m = round % 2 ? map.anonymous(8 << 20, { shared: false }) : map(file, { access: 'copy', length: 8 << 20 });
      const unblock = blockAfter(m);
      const base = m.baseAddress;
      const done = new Promise((resolve) => crypto.randomFill(m.buffer, resolve));
      m.resize(256 << 20, { allowBeyondEnd: true });
      if (m.baseAddress !== base) moved++;
      await done;
      m.close();
      unblock();
    }
    console.log('moved', moved);
  `, file);
  expectOk(result);
  expect(Number(/moved (\d+)/.exec(result.stdout)?.[1])).toBeGreaterThan(140);
});

it('resize() that moves a private mapping keeps its own pages and nothing else: file pages stay the file\'s, untouched pages stay unallocated', () => {
  const file = files.fileOf(Buffer.alloc(4 * 4096, 'f'));
  const result = child(`
    ${BLOCK_AFTER}
    const f = map(file, { access: 'copy', length: 2 * 4096 });
    f.buffer.write('own');
    const heldFile = f.buffer;
    let unblock = blockAfter(f);
    let base = f.baseAddress;
    f.resize(4 * 4096);
    unblock();
    // A page the process never wrote is still the file's: a write to the file shows.
    const fd = fs.openSync(file, 'r+');
    fs.writeSync(fd, Buffer.from('new'), 0, 3, 4096);
    fs.writeSync(fd, Buffer.from('end'), 0, 3, 3 * 4096);
    fs.closeSync(fd);
    console.log('file', f.baseAddress !== base, heldFile.length, f.buffer.toString('latin1', 0, 4), f.buffer.toString('latin1', 4096, 4099), f.buffer.toString('latin1', 3 * 4096, 3 * 4096 + 3));
    f.close();

    const a = map.anonymous(4 * 4096, { shared: false });
    a.buffer.write('own');
    a.buffer.write('two', 2 * 4096);
    const heldAnon = a.buffer;
    unblock = blockAfter(a);
    base = a.baseAddress;
    a.resize(8 * 4096);
    unblock();
    const resident = Array.from(a.residency()).join('');
    console.log('anon', a.baseAddress !== base, heldAnon.length, a.buffer.toString('latin1', 0, 3), a.buffer.toString('latin1', 2 * 4096, 2 * 4096 + 3),
      a.buffer.subarray(4096, 2 * 4096).every((b) => b === 0) && a.buffer.subarray(3 * 4096).every((b) => b === 0), resident.slice(0, 4));
    a.close();
  `, file);
  expectOk(result);
  expect(result.stdout).toContain('file true 0 ownf new end\n');
  // Pages 1 and 3 were never touched: not copied, not resident (the zero check reads them only after).
  expect(result.stdout).toContain('anon true 0 own two true 1010\n');
});

it('resize() that moves a private mapping keeps its protection, even none', () => {
  const result = child(`
    ${BLOCK_AFTER}
    for (const protection of ['r', 'none']) {
      const m = map.anonymous(2 * 4096, { shared: false });
      m.buffer.write('kept');
      const held = m.buffer;
      m.protect(protection);
      const unblock = blockAfter(m);
      const base = m.baseAddress;
      m.resize(4 * 4096);
      unblock();
      const after = perms(m.baseAddress);
      m.protect('rw');
      console.log(protection, m.baseAddress !== base, held.length, after, m.buffer.toString('latin1', 0, 4));
      m.close();
    }
  `, files.fileOf(Buffer.alloc(1)));
  expectOk(result);
  expect(result.stdout).toContain('r true 0 r--p kept\n');
  expect(result.stdout).toContain('none true 0 ---p kept\n');
});

/**
 * LD_PRELOAD for a child whose mremap() refuses MREMAP_DONTUNMAP, as kernels
 * before 5.13 do for file pages (and some for all private memory): this
 * host's kernel accepts it, so resize()'s map-again path is otherwise never
 * taken here.
 */
function withoutDontUnmap(): Record<string, string> {
  const source = path.join(files.dir, 'nodontunmap.c');
  const library = path.join(files.dir, 'nodontunmap.so');
  fs.writeFileSync(source, `
    #define _GNU_SOURCE
    #include <errno.h>
    #include <stdarg.h>
    #include <sys/mman.h>
    #include <sys/syscall.h>
    #include <unistd.h>
    void *mremap(void *old, size_t old_size, size_t new_size, int flags, ...) {
      va_list ap;
      va_start(ap, flags);
      void *to = va_arg(ap, void *);
      va_end(ap);
      if (flags & 4 /* MREMAP_DONTUNMAP */) { errno = EINVAL; return MAP_FAILED; }
      return (void *)syscall(SYS_mremap, old, old_size, new_size, flags, to);
    }
  `);
  compileC([source], library, { extra: ['-shared', '-fPIC'] });
  return { LD_PRELOAD: library };
}

it('resize() that must map a private mapping\'s file again refuses, changing nothing, when the file cannot be opened any more', () => {
  // Moving it without a second mapping would leave the old range unmapped
  // for a system call's time: a thread-pool job writing it then died of
  // SIGSEGV within a few dozen rounds.
  const file = files.fileOf(Buffer.alloc(2 << 20, 7));
  const result = child(`
    ${BLOCK_AFTER}
    const crypto = require('node:crypto');
    const other = file + '.other';
    let refused = 0;
    for (let round = 0; round < 60; round++) {
      fs.writeFileSync(file, Buffer.alloc(2 << 20, 7));
      const m = map(file, { access: 'copy', length: 2 << 20 });
      m.buffer.write('own');
      // Deleted, or replaced by another file at the same path.
      if (round % 2) fs.unlinkSync(file); else { fs.writeFileSync(other, 'other'); fs.renameSync(other, file); }
      const unblock = blockAfter(m);
      const base = m.baseAddress;
      const buffer = m.buffer;
      const done = new Promise((resolve) => crypto.randomFill(buffer.subarray(4096), resolve));
      try {
        m.resize(64 << 20, { allowBeyondEnd: true });
      } catch (err) {
        if (err.code === 'ERR_KMMAP_FILE_GONE' && m.baseAddress === base && m.length === 2 << 20 && m.buffer === buffer &&
            buffer.toString('latin1', 0, 4) === 'own' + String.fromCharCode(7)) refused++;
      }
      await done;
      m.close();
      unblock();
    }
    // With the fd still open, the same file is mapped again: no refusal.
    fs.writeFileSync(file, Buffer.alloc(4096, 'f'));
    const fd = fs.openSync(file, 'r');
    const m = map(fd, { access: 'copy' });
    m.buffer.write('own');
    fs.unlinkSync(file);
    const unblock = blockAfter(m);
    const base = m.baseAddress;
    m.resize(4 * 4096, { allowBeyondEnd: true });
    console.log('refused', refused, 'kept fd', m.baseAddress !== base, m.buffer.toString('latin1', 0, 4));
    m.close();
    unblock();
    fs.closeSync(fd);
  `, file, withoutDontUnmap());
  expectOk(result);
  expect(result.stdout).toContain('refused 60 kept fd true ownf\n');
});
