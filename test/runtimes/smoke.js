// kmmap on whatever runtime runs this file (node, bun, deno run -A): files
// and anonymous memory mapped, written, synced, resized and closed, views
// detached, errors coded, and the one refusal a runtime may need
// (ERR_KMMAP_VIEW_IN_USE while an asynchronous call holds a view). Plain
// CommonJS over the built package (dist/), no test framework, so that it
// runs where vitest does not. Prints one line per check and
// "N passed, N failed"; exits 1 on any failure.
'use strict';
const assert = require('node:assert');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { map, PAGE_SIZE, addressOf } = require('../../dist');

const runtime = process.versions.bun ? `Bun ${process.versions.bun}`
  : process.versions.deno ? `Deno ${process.versions.deno}` : `Node.js ${process.version}`;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kmmap-runtimes-'));
process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));

const checks = [];
function check(name, fn) {
  checks.push({ name, fn });
}

function fileOf(name, bytes) {
  const file = path.join(dir, name);
  fs.writeFileSync(file, bytes);
  return file;
}

function expectCode(fn, code) {
  let thrown;
  try {
    fn();
  } catch (err) {
    thrown = err;
  }
  assert.ok(thrown instanceof Error, `expected ${code}, nothing was thrown`);
  assert.strictEqual(thrown.code, code, `expected ${code}, got ${thrown.code}: ${thrown.message}`);
  return thrown;
}

/** The VMA lines of this process that hold `address`. */
function vmaOf(address) {
  return fs.readFileSync('/proc/self/maps', 'latin1').split('\n').find((line) => {
    if (!line) return false;
    const [start, end] = line.split(' ')[0].split('-').map((hex) => BigInt(`0x${hex}`));
    return start <= address && address < end;
  });
}

check('a file: read, write, sync, close; the write reaches the file', () => {
  const file = fileOf('data.bin', Buffer.alloc(3 * PAGE_SIZE, 'a'));
  const m = map(file, { access: 'rw' });
  assert.strictEqual(m.length, 3 * PAGE_SIZE);
  assert.strictEqual(m.buffer.toString('latin1', 0, 4), 'aaaa');
  m.buffer.write('kmmap', PAGE_SIZE + 1, 'latin1');
  m.sync();
  m.sync({ offset: PAGE_SIZE, length: 10 }, { async: true });
  const view = m.view(PAGE_SIZE, 16);
  const typed = new Uint32Array(m.buffer.buffer, m.buffer.byteOffset, 4);
  const whole = m.buffer;
  m.close();
  assert.strictEqual(m.closed, true);
  assert.strictEqual(whole.length, 0, 'the buffer is detached');
  assert.strictEqual(view.length, 0, 'a view is detached');
  assert.strictEqual(typed.length, 0, 'a typed array over it is detached');
  assert.strictEqual(m.buffer.length, 0);
  m.close(); // again: nothing
  assert.strictEqual(fs.readFileSync(file).toString('latin1', PAGE_SIZE + 1, PAGE_SIZE + 6), 'kmmap');
});

check('a file by fd, read-only, and a copy-on-write one whose writes stay private', () => {
  const file = fileOf('fd.bin', Buffer.alloc(PAGE_SIZE, 'b'));
  const fd = fs.openSync(file, 'r');
  try {
    const m = map(fd);
    assert.strictEqual(m.buffer[0], 0x62);
    m.close();
  } finally {
    fs.closeSync(fd);
  }
  const copy = map(file, { access: 'copy' });
  copy.buffer[0] = 0x63;
  assert.strictEqual(copy.buffer[0], 0x63);
  copy.close();
  assert.strictEqual(fs.readFileSync(file)[0], 0x62);
});

for (const shared of [true, false]) {
  check(`anonymous memory (${shared ? 'shared, a memfd' : 'private'}): write, resize, close`, () => {
    const m = map.anonymous(PAGE_SIZE, { shared });
    assert.strictEqual(m.buffer.every((byte) => byte === 0), true);
    m.buffer.write('anon');
    const fd = m.memfd;
    assert.strictEqual(typeof fd, shared ? 'number' : 'undefined');
    const old = m.buffer;
    const grown = m.resize(4 * PAGE_SIZE);
    assert.strictEqual(old.length, 0, 'resize() detaches the old buffer');
    assert.strictEqual(grown.length, 4 * PAGE_SIZE);
    assert.strictEqual(grown.toString('latin1', 0, 4), 'anon');
    grown[4 * PAGE_SIZE - 1] = 7;
    assert.strictEqual(m.resize(2 * PAGE_SIZE).length, 2 * PAGE_SIZE);
    if (shared) m.sync();
    m.close();
    if (shared) {
      // The memfd was the mapping's, closed by the addon with it.
      expectCode(() => fs.readlinkSync(`/proc/self/fd/${fd}`), 'ENOENT');
    }
  });
}

check('shared anonymous memory: a second mapping of its memfd shares the pages', () => {
  const m = map.anonymous(PAGE_SIZE);
  const again = map(m.memfd, { access: 'rw', length: PAGE_SIZE });
  again.buffer.write('both');
  assert.strictEqual(m.buffer.toString('latin1', 0, 4), 'both');
  again.close();
  m.close();
});

check('methods: advise, lock, unlock, protect, residency, descriptor', () => {
  const m = map.anonymous(2 * PAGE_SIZE);
  m.buffer[0] = 1;
  m.advise('willneed');
  m.lock({ onFault: true });
  m.unlock();
  m.protect('r');
  m.protect('rw');
  assert.strictEqual(m.residency()[0], 1);
  assert.strictEqual(m.descriptor().length, 2 * PAGE_SIZE);
  assert.strictEqual(addressOf(m.buffer), m.address);
  m.close();
});

check('closed: the placeholder keeps a moved-out view on mapped, throwaway memory', () => {
  if (typeof ArrayBuffer.prototype.transfer !== 'function') {
    assert.ok(Number(process.versions.node.split('.')[0]) < 22, 'only Node 20 lacks ArrayBuffer.prototype.transfer');
    return;
  }
  const file = fileOf('moved.bin', Buffer.alloc(PAGE_SIZE, 'm'));
  const m = map(file, { access: 'rw' });
  const base = m.baseAddress;
  const moved = new Uint8Array(m.buffer.buffer.transfer());
  m.close();
  assert.ok(vmaOf(base), 'the old address is still mapped');
  moved.fill(0x64);
  assert.strictEqual(moved[1], 0x64);
  assert.strictEqual(fs.readFileSync(file)[1], 0x6d, 'the file is untouched');
});

check('errors are coded: system errors named as Node names them, kmmap refusals', () => {
  const missing = expectCode(() => map(path.join(dir, 'missing')), 'ENOENT');
  assert.match(missing.message, /^ENOENT: no such file or directory, open /);
  const badFd = expectCode(() => map(2 ** 30, { length: PAGE_SIZE }), 'EBADF');
  assert.strictEqual(badFd.syscall, 'fstat');
  const proc = expectCode(() => map('/proc/self/status', { length: PAGE_SIZE }), 'ENODEV');
  assert.strictEqual(proc.errno, -19);
  assert.match(proc.message, /^ENODEV: no such device, mmap/);
  expectCode(() => map(fileOf('empty.bin', Buffer.alloc(0))), 'ERR_OUT_OF_RANGE');
  expectCode(() => map.anonymous(0), 'ERR_OUT_OF_RANGE');
  const m = map.anonymous(PAGE_SIZE);
  m.close();
  expectCode(() => m.view(), 'ERR_KMMAP_CLOSED');
  expectCode(() => m.resize(2 * PAGE_SIZE), 'ERR_KMMAP_CLOSED');
});

check('an asynchronous call holding a view: close() detaches it, or refuses with ERR_KMMAP_VIEW_IN_USE and closes later', async () => {
  const file = fileOf('async.bin', Buffer.alloc(PAGE_SIZE, 'z'));
  const fd = fs.openSync(file, 'r');
  try {
    const m = map.anonymous(PAGE_SIZE);
    const target = m.buffer;
    const done = new Promise((resolve, reject) => fs.read(fd, target, 0, 1, 0, (err) => (err ? reject(err) : resolve())));
    let refused;
    try {
      m.close();
    } catch (err) {
      refused = err;
    }
    if (refused === undefined) {
      assert.strictEqual(target.length, 0, 'closed: the view is detached');
    } else {
      assert.strictEqual(refused.code, 'ERR_KMMAP_VIEW_IN_USE');
      assert.ok(refused.message.includes(runtime), `the message names ${runtime}: ${refused.message}`);
      assert.strictEqual(m.closed, false, 'nothing changed');
      expectCode(() => m.resize(2 * PAGE_SIZE), 'ERR_KMMAP_VIEW_IN_USE');
    }
    await done.catch(() => {}); // a runtime may report the detached buffer
    m.close();
    assert.strictEqual(m.closed, true);
    assert.strictEqual(target.length, 0, 'after the call completed, close() detached it');
    return refused === undefined ? 'detached at once' : 'refused, then closed';
  } finally {
    fs.closeSync(fd);
  }
});

check('many mappings closed or dropped, then collected: no crash, the budget recovers', async () => {
  const file = fileOf('many.bin', Buffer.alloc(PAGE_SIZE, 'n'));
  for (let i = 0; i < 3000; i++) {
    const m = i % 3 === 0 ? map(file) : map.anonymous(PAGE_SIZE, { shared: i % 3 === 1 });
    m.buffer[0];
    if (i % 2 === 0) m.close();
  }
  const gc = globalThis.Bun ? () => globalThis.Bun.gc(true) : globalThis.gc;
  if (typeof gc === 'function') gc();
  await new Promise((resolve) => setTimeout(resolve, 10));
  const last = map.anonymous(PAGE_SIZE);
  last.close();
});

check('a worker thread maps, writes and closes shared memory the main thread sees', async () => {
  const { Worker } = require('node:worker_threads');
  const m = map.anonymous(PAGE_SIZE);
  const code = `
    const { parentPort, workerData } = require('node:worker_threads');
    const { map } = require(${JSON.stringify(path.resolve(__dirname, '../../dist'))});
    const w = map.fromDescriptor(workerData);
    w.buffer.write('from worker');
    w.close();
    parentPort.postMessage('done');
  `;
  const worker = new Worker(code, { eval: true, workerData: m.descriptor() });
  const message = await new Promise((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  await new Promise((resolve) => worker.once('exit', resolve));
  assert.strictEqual(message, 'done');
  assert.strictEqual(m.buffer.toString('latin1', 0, 11), 'from worker');
  m.close();
});

(async () => {
  let passed = 0;
  let failed = 0;
  for (const { name, fn } of checks) {
    try {
      const note = await fn();
      passed++;
      console.log(`ok   ${name}${note ? ` (${note})` : ''}`);
    } catch (err) {
      failed++;
      console.log(`FAIL ${name}\n     ${String(err && err.stack || err).split('\n').join('\n     ')}`);
    }
  }
  console.log(`${runtime}: ${passed} passed, ${failed} failed`);
  process.exitCode = failed === 0 ? 0 : 1;
})();
