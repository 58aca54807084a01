// Runs one program against kmmap with a model beside it (the shadow copy of
// every file and mapping) and checks the oracles after every command:
//   - every thrown error is an Error with a string `code`, and no internal
//     (native) message reaches the caller;
//   - content read back through a mapping, another mapping or fs.readSync
//     equals the shadow copy; a write through a shared mapping reaches the file;
//   - views detach (byteLength 0) after close() and resize();
//   - claims that contradict the model ("renamed or deleted", RLIMIT_MEMLOCK
//     as root) are misleading;
//   - no signal, abort or hang: observed by the parent process.
// It never touches memory against protect() (nor lets a thread-pool job do so),
// pages wholly past the end of a file mapped with allowBeyondEnd, or
// truncates a mapped file: the crashes the API guide (docs/api.md) documents.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { constants as bufferConstants } from 'node:buffer';
import { spawnSync } from 'node:child_process';
import { MessageChannel, receiveMessageOnPort } from 'node:worker_threads';
import { PAGE } from './env.mjs';
import { numberSource } from './values.mjs';

/** Bytes of input zlib takes in one step (a page: what the API guide's advice and test use). */
const ZLIB_ONE_STEP = 4096;

const MAX_TOUCH_LENGTH = 2 ** 20;
const DANGEROUS_LENGTH = 2 ** 24;
const MAX_MODEL_SIZE = 2 ** 24;
const SPLITTING_ADVICE = new Set(['normal', 'random', 'sequential', 'dontfork', 'dofork', 'mergeable', 'unmergeable', 'hugepage', 'nohugepage', 'dontdump', 'dodump', 'wipeonfork', 'keeponfork']);

/** An own data property's value, without running getters or proxy traps: { known, value }. */
function plainField(obj, key) {
  if (obj === null || (typeof obj !== 'object' && typeof obj !== 'function')) return { known: true, value: undefined };
  try {
    const d = Object.getOwnPropertyDescriptor(obj, key);
    if (d === undefined) return { known: true, value: undefined };
    return 'value' in d ? { known: true, value: d.value } : { known: false };
  } catch {
    return { known: false };
  }
}
const IS_ROOT = process.getuid?.() === 0;

/** A violation: the program stops there. */
export class Violation extends Error {
  constructor(kind, where, detail) {
    super(`${kind} in ${where}: ${detail}`);
    this.kind = kind;
    this.where = where;
    this.detail = detail;
  }
}

/** Our own getters throw this; it may pass through kmmap unchanged. */
class FuzzThrown extends Error {
  code = 'FUZZ_THROWN';
}

/** Thrown by materialize when a value cannot be made (e.g. a view of a detached buffer): the command is skipped. */
class Skip extends Error {}

const describeError = (err) => (err instanceof Error ? `${err.name}: ${err.message}`.slice(0, 300) : `${typeof err} ${typeof err === 'symbol' ? 'Symbol()' : String(err).slice(0, 100)}`);

export class Executor {
  /**
   * @param kmmap the module (dist/index.js)
   * @param env an Env, reset for this program
   * @param options { repo, cliTimeout, onCommand(i, label) }
   */
  constructor(kmmap, env, options = {}) {
    this.k = kmmap;
    this.env = env;
    this.options = options;
    this.slots = [];
    this.nextId = 0;
    this.moved = [];
    this.pending = [];
    this.trace = [];
    this.calls = 0;
    /** Loops of kmmap calls that workers ran before they were terminated (counted apart: each loop is several calls). */
    this.workerCalls = 0;
    this.checks = 0;
    this.workers = [];
    this.sizes = new Map();
  }

  // ---- slots and naming -------------------------------------------------

  live() {
    return this.slots.filter((s) => !s.dropped);
  }

  pick(n) {
    const live = this.live();
    return live.length === 0 ? undefined : live[n % live.length];
  }

  log(line) {
    this.trace.push(line);
    this.options.onTrace?.(line);
  }

  // ---- hostile values ---------------------------------------------------

  /** Returns [value, source]. `ctx.noProtect`: protect acts become no-ops (where Node or kmmap may rightly read the memory). */
  materialize(d, ctx) {
    switch (d.t) {
      case 'n': return [d.v, numberSource(d.v)];
      case 'b': return [d.v, numberSource(d.v)];
      case 's': return [d.v, JSON.stringify(d.v)];
      case 'bool': return [d.v, String(d.v)];
      case 'null': return [null, 'null'];
      case 'undef': return [undefined, 'undefined'];
      case 'sym': return [Symbol('fuzz'), "Symbol('fuzz')"];
      case 'fn': return [function fuzz() {}, 'function fuzz() {}'];
      case 'detached': {
        const ab = new ArrayBuffer(8);
        structuredClone(ab, { transfer: [ab] });
        return [ab, 'detachedArrayBuffer'];
      }
      case 'fake': {
        const protos = { ArrayBuffer, Mapping: this.k.Mapping, URL, Uint8Array, Buffer, BigUint64Array, Error, Date };
        if (d.proto === 'null') return [Object.create(null), 'Object.create(null)'];
        return [Object.create(protos[d.proto].prototype), `Object.create(${d.proto}.prototype)`];
      }
      case 'typed': {
        const make = {
          Uint8Array: () => new Uint8Array(d.len), BigUint64Array: () => new BigUint64Array(d.len), Float64Array: () => new Float64Array(d.len),
          DataView: () => new DataView(new ArrayBuffer(d.len)), ArrayBuffer: () => new ArrayBuffer(d.len),
          SharedArrayBuffer: () => new SharedArrayBuffer(d.len), Buffer: () => Buffer.alloc(d.len),
        };
        return [make[d.type](), d.type === 'Buffer' ? `Buffer.alloc(${d.len})` : d.type === 'DataView' ? `new DataView(new ArrayBuffer(${d.len}))` : `new ${d.type}(${d.len})`];
      }
      case 'mbuf': {
        const s = this.pick(d.slot);
        if (!s) return [Buffer.alloc(4), 'Buffer.alloc(4)'];
        if (ctx.noProtect && s.noTouch) return [Buffer.alloc(4), 'Buffer.alloc(4)'];
        let buf;
        try {
          buf = s.m.buffer;
        } catch {
          return [Buffer.alloc(4), 'Buffer.alloc(4)'];
        }
        if (ctx.viewsOf) ctx.viewsOf.push(s);
        if (buf.byteLength === 0 || buf.buffer.byteLength === 0) return [buf, `${s.name}.buffer`];
        switch (d.how) {
          case 'sub': return [this.track(s, buf.subarray(1)), `${s.name}.buffer.subarray(1)`];
          case 'u8': return [this.track(s, new Uint8Array(buf.buffer, buf.byteOffset, buf.length)), `new Uint8Array(${s.name}.buffer.buffer)`];
          case 'ab': return [buf.buffer, `${s.name}.buffer.buffer`];
          case 'u64': return [this.track(s, new BigUint64Array(buf.buffer, buf.byteOffset, Math.floor(buf.length / 8))), `new BigUint64Array(${s.name}.buffer.buffer)`];
          default: return [this.track(s, buf), `${s.name}.buffer`];
        }
      }
      case 'mapping': {
        const s = this.pick(d.slot);
        return s ? [s.m, s.name] : [{}, '{}'];
      }
      case 'path': case 'bpath': case 'url': {
        const t = this.env.targets[d.which % this.env.targets.length];
        const p = t.path;
        if (d.t === 'path') return [typeof p === 'string' ? p : p, `paths.${t.name}`];
        if (d.t === 'bpath') return [Buffer.isBuffer(p) ? p : Buffer.from(p), `Buffer.from(paths.${t.name})`];
        const url = new URL('file://');
        url.pathname = Buffer.isBuffer(p) ? p.toString('latin1') : p;
        return [url, `pathToFileURL(paths.${t.name})`];
      }
      case 'fd': {
        const fds = this.env.userFds;
        const fd = fds[d.which % fds.length];
        return [fd, `fds[${d.which % fds.length}] /* ${fd} */`];
      }
      case 'mfd': {
        const s = this.pick(d.slot);
        const fd = s?.m.memfd;
        return fd === undefined ? [1_000_000, '1000000'] : [fd, `${s.name}.memfd`];
      }
      case 'addr': {
        const s = this.pick(d.slot);
        const base = s ? s.m.address : 0x7f0000000000n;
        return [base + d.plus, `${s ? `${s.name}.address` : '0x7f0000000000n'} + ${d.plus}n`];
      }
      case 'entry': {
        const s = this.pick(d.slot);
        if (!s || s.m.closed) return [{}, '{}'];
        return [this.k.pagemap.entry(s.m.address), `pagemap.entry(${s.name}.address)`];
      }
      case 'desc': {
        const s = this.pick(d.slot);
        let desc;
        let src;
        try {
          desc = s.m.descriptor();
          src = `${s.name}.descriptor()`;
        } catch {
          desc = { kind: 'kmmap.mapping/1' };
          src = "{ kind: 'kmmap.mapping/1' }";
        }
        const edits = d.edits.map(([key, v]) => {
          const [value, vs] = this.materialize(v, ctx);
          Object.defineProperty(desc, key, { value, writable: true, enumerable: true, configurable: true });
          return `${key}: ${vs}`;
        });
        return [desc, edits.length ? `{ ...${src}, ${edits.join(', ')} }` : src];
      }
      case 'arr': {
        const items = d.items.map((i) => this.materialize(i, ctx));
        return [items.map((i) => i[0]), `[${items.map((i) => i[1]).join(', ')}]`];
      }
      case 'obj': {
        const obj = {};
        const parts = [];
        for (const [key, v] of d.props) {
          if (v.t === 'get') {
            const [getter, src] = this.getterOf(v, ctx);
            Object.defineProperty(obj, key, { get: getter, enumerable: true, configurable: true });
            parts.push(`get ${key}() { ${src} }`);
          } else {
            const [value, src] = this.materialize(v, ctx);
            Object.defineProperty(obj, key, { value, writable: true, enumerable: true, configurable: true });
            parts.push(`${key}: ${src}`);
          }
        }
        return [obj, `{ ${parts.join(', ')} }`];
      }
      case 'get': {
        const obj = {};
        const parts = [];
        for (const [key, v] of d.props) {
          const [value, src] = this.materialize(v, ctx);
          Object.defineProperty(obj, key, { value, writable: true, enumerable: true, configurable: true });
          parts.push(`${key}: ${src}`);
        }
        const [getter, src] = this.getterOf(d, ctx);
        Object.defineProperty(obj, d.key, { get: getter, enumerable: true, configurable: true });
        parts.push(`get ${d.key}() { ${src} }`);
        return [obj, `{ ${parts.join(', ')} }`];
      }
      case 'valueOf': case 'toString': {
        const [act, actSrc] = this.actOf(d.act, ctx);
        const v = d.val;
        const src = typeof v === 'string' ? JSON.stringify(v) : numberSource(v);
        return [{ [d.t]() { act(); return v; } }, `{ ${d.t}() { ${actSrc}return ${src}; } }`];
      }
      case 'proxy': {
        const [inner, innerSrc] = this.materialize(d.inner, ctx);
        const [act, actSrc] = this.actOf(d.act, ctx);
        const target = inner !== null && (typeof inner === 'object' || typeof inner === 'function') ? inner : Object(inner ?? {});
        const proxy = new Proxy(target, {
          get(t, key) {
            act();
            const v = Reflect.get(t, key, t);
            return typeof v === 'function' ? v.bind(t) : v;
          },
        });
        return [proxy, `new Proxy(${innerSrc}, { get(t, k) { ${actSrc}return Reflect.get(t, k); } })`];
      }
      default:
        throw new Skip(`unknown value ${d.t}`);
    }
  }

  getterOf(d, ctx) {
    const [act, actSrc] = this.actOf(d.act, ctx);
    const [value, src] = this.materialize(d.val, ctx);
    return [() => { act(); return value; }, `${actSrc}return ${src};`];
  }

  /** The side effect of a hostile value, and its source. */
  actOf(a, ctx) {
    const s = this.pick(a.slot);
    const other = a.a === 'closeOther' ? this.pick(a.slot + 1) : s;
    switch (a.a) {
      case 'close': case 'closeOther':
        if (!other) return [() => {}, ''];
        return [() => this.closeSlot(other, true), `${other.name}.close(); `];
      case 'resize':
        if (!s) return [() => {}, ''];
        return [() => this.resizeSlot(s, a.len, true), `${s.name}.resize(${a.len}); `];
      case 'gc':
        return [() => globalThis.gc?.(), 'gc(); '];
      case 'throw':
        return [() => { throw new FuzzThrown('thrown by a getter'); }, "throw new Error('thrown by a getter'); "];
      case 'protect':
        if (!s || ctx.noProtect || s.pendingJobs > 0) return [() => {}, ''];
        return [() => this.protectSlot(s, 'none'), `${s.name}.protect('none'); `];
      default:
        return [() => {}, ''];
    }
  }

  // ---- model updates shared by direct calls and side effects ------------

  closeSlot(s, fromValue) {
    this.calls++;
    try {
      s.m.close();
    } catch (err) {
      if (!fromValue) throw err;
    }
    this.syncClosed(s);
  }

  syncClosed(s) {
    if (!s.closed && s.m.closed) {
      s.closed = true;
      s.epoch++;
    }
  }

  resizeSlot(s, length, fromValue, options) {
    this.calls++;
    let result;
    try {
      result = options === undefined ? s.m.resize(length) : s.m.resize(length, options);
    } catch (err) {
      if (!fromValue) throw err;
      return undefined;
    }
    this.resized(s);
    return result;
  }

  resized(s) {
    s.epoch++;
    this.sizes.clear();
    if (s.file?.memfd) this.resyncFile(s.file);
    const length = s.m.length;
    const lastPage = Math.ceil((s.delta + length) / PAGE);
    for (const page of [...s.pages.keys()]) if (page >= lastPage) s.pages.delete(page);
    s.length = length;
  }

  protectSlot(s, access) {
    this.calls++;
    try {
      s.m.protect(access);
      if (access !== 'rw') s.noTouch = true;
    } catch {
      // a side effect's failure is not the call's
    }
  }

  track(s, view) {
    s.views.push({ view, epoch: s.epoch });
    if (s.views.length > 64) s.views.splice(0, s.views.length - 64);
    return view;
  }

  // ---- the memory model -------------------------------------------------

  fileSize(file) {
    if (this.sizes.has(file)) return this.sizes.get(file);
    const size = fs.fstatSync(file.fd).size;
    this.sizes.set(file, size);
    return size;
  }

  /** What byte i of the mapping must hold, or undefined when the model does not know. */
  expected(s, i) {
    if (s.unknown) return undefined;
    const at = s.delta + i;
    const page = s.pages.get(Math.floor(at / PAGE));
    if (page) return page[at % PAGE];
    if (s.kind === 'zero' || s.kind === 'anon') return 0;
    if (s.kind !== 'file' || s.file.stale || s.fileOffset === undefined) return undefined;
    const at2 = s.fileOffset + i;
    return at2 < s.file.content.length ? s.file.content[at2] : undefined;
  }

  /** Whether the fuzzer may read byte i: never what the API guide says crashes. */
  touchable(s, i) {
    if (s.closed || s.noTouch || s.other || i >= s.length) return false;
    if (s.kind === 'file') {
      if (s.fileOffset === undefined) return false;
      const at = s.fileOffset + i;
      const pageStart = at - (at % PAGE);
      // A page wholly past the end: SIGBUS. Documented with allowBeyondEnd; kmmap's fault without.
      if (pageStart >= this.fileSize(s.file) && s.allowBeyondEnd) return false;
      if (at >= this.fileSize(s.file) && s.allowBeyondEnd && s.shared) return false;
    }
    return true;
  }

  writable(s, i) {
    return this.touchable(s, i) && s.access !== 'r';
  }

  /** The mapping's current Buffer over [at, at + len): through buffer, view() or a Uint8Array. */
  window(s, at, len, via) {
    let buf;
    if (via === 'view' || s.length > bufferConstants.MAX_LENGTH) {
      try {
        buf = this.track(s, s.m.view(at, len));
      } catch (err) {
        this.judgeError(err, `${s.name}.view`);
        return undefined;
      }
      return buf.length === len ? buf : undefined;
    }
    buf = s.m.buffer;
    if (buf.length !== s.length) {
      if (s.selfDetached) return undefined;
      throw new Violation('buffer-length', `${s.name}.buffer`, `a live mapping of length ${s.length} has a buffer of ${buf.length} bytes`);
    }
    if (via === 'u8') return this.track(s, new Uint8Array(buf.buffer, buf.byteOffset + at, len));
    return buf.subarray(at, at + len);
  }

  resyncFile(file) {
    this.staleCopies(file);
    this.sizes.delete(file);
    const size = this.fileSize(file);
    if (size > MAX_MODEL_SIZE) {
      file.stale = true;
      return;
    }
    const content = Buffer.alloc(size);
    fs.readSync(file.fd, content, 0, size, 0);
    file.content = content;
  }

  /**
   * After the file changed: private (copy) mappings of it may or may not see
   * the change (populate, lock() and populate_write break copy-on-write early).
   */
  staleCopies(file) {
    for (const o of this.live()) if (o.file === file && !o.shared) o.unknown = true;
  }

  /** After something wrote to the slot's memory in a way the model does not follow. */
  forget(s) {
    if (s.kind === 'file' && s.shared) this.resyncFile(s.file);
    else s.unknown = true;
    for (const other of this.live()) if (other !== s && other.file && other.file === s.file && !other.shared) other.unknown = true;
  }

  // ---- oracles ----------------------------------------------------------

  judgeError(err, where) {
    if (err instanceof FuzzThrown) return;
    if (!(err instanceof Error)) throw new Violation('uncoded-error', where, `threw a non-Error: ${describeError(err)}`);
    if (typeof err.code !== 'string') throw new Violation('uncoded-error', where, `error without a code: ${describeError(err)}`);
    const message = String(err.message);
    if (/^ERR_(INVALID_ARG_TYPE|INVALID_ARG_VALUE|OUT_OF_RANGE)$/.test(err.code) && !/^The (value of |argument |")/.test(message)) {
      throw new Violation('internal-message', where, `${err.code} with an internal message: ${describeError(err)}`);
    }
    if (IS_ROOT && err.code === 'ENOMEM' && /RLIMIT_MEMLOCK/.test(message) && !/\b(not|no|isn't|root)\b[^.]*RLIMIT_MEMLOCK|RLIMIT_MEMLOCK[^.]*\b(root|does not apply)/i.test(message)) {
      throw new Violation('misleading-hint', where, `running as root, yet the message blames RLIMIT_MEMLOCK: ${describeError(err)}`);
    }
  }

  checkDetached() {
    for (const s of this.slots) {
      if (s.dropped) continue;
      this.syncClosed(s);
      for (const { view, epoch } of s.views) {
        if (epoch < s.epoch && view.byteLength !== 0) {
          throw new Violation('not-detached', s.name, `a view made before ${s.closed ? 'close()' : 'resize()'} still has ${view.byteLength} bytes`);
        }
      }
      if (s.closed) {
        const length = s.m.buffer.byteLength;
        if (length !== 0) throw new Violation('not-detached', s.name, `buffer has ${length} bytes after close()`);
      }
    }
  }

  /** Reads sampled bytes of the mapping and compares them with the model. */
  checkSlot(s, via = 'mapping') {
    if (s.closed || s.noTouch || s.pendingWriters > 0 || s.file?.pendingWriters > 0) return;
    const starts = new Set([0, Math.max(0, s.length - 64)]);
    for (let k = 1; k < 4 && k * PAGE < s.length; k++) starts.add(Math.min(s.length - 1, (k * 7919 * PAGE) % s.length));
    for (const start of starts) {
      const len = Math.min(64, s.length - start);
      let ok = true;
      for (let i = start; i < start + len; i++) if (!this.touchable(s, i)) ok = false;
      if (!ok || len <= 0) continue;
      const win = this.window(s, start, len, via === 'view' ? 'view' : 'buffer');
      if (!win) continue;
      this.log(`compare(${s.name}.${via === 'view' ? `view(${start}, ${len})` : `buffer.subarray(${start}, ${start + len})`}, shadow); // ${s.describe}`);
      this.checks++;
      for (let i = 0; i < len; i++) {
        const want = this.expected(s, start + i);
        if (want !== undefined && win[i] !== want) {
          throw new Violation('shadow-mismatch', s.name, `byte ${start + i} reads ${win[i]}, the shadow copy says ${want} (${s.describe})`);
        }
      }
    }
  }

  checkFile(file, where) {
    if (file.stale || file.pendingWriters > 0) return;
    const size = this.fileSize(file);
    const actual = Buffer.alloc(size);
    fs.readSync(file.fd, actual, 0, size, 0);
    this.checks++;
    const want = file.content;
    const n = Math.min(size, want.length);
    for (let i = 0; i < n; i++) {
      if (actual[i] !== want[i]) throw new Violation('shadow-mismatch', where, `fs.readSync of ${file.name} byte ${i} is ${actual[i]}, the shadow copy says ${want[i]}`);
    }
  }

  // ---- commands ---------------------------------------------------------

  async run(program) {
    let violation = null;
    let index = 0;
    try {
      for (const command of program) {
        this.options.onCommand?.(index, command.c === 'call' ? `Mapping.${command.method}` : command.c === 'api' ? command.fn : command.c);
        await this.step(command);
        this.checkDetached();
        index++;
      }
      await this.drain();
      this.checkDetached();
      for (const s of this.live()) this.checkSlot(s);
    } catch (err) {
      if (err instanceof Violation) violation = { kind: err.kind, where: err.where, detail: err.detail, command: index };
      else violation = { kind: 'fuzzer-error', where: 'executor', detail: err?.stack ?? String(err), command: index };
    }
    await this.cleanup();
    return { violation, trace: this.trace, calls: this.calls, workerCalls: this.workerCalls, checks: this.checks };
  }

  async step(command) {
    this.sizes.clear();
    try {
      switch (command.c) {
        case 'map': return this.doMap(command);
        case 'anon': return this.doAnon(command);
        case 'fromDesc': return this.doFromDesc(command);
        case 'call': return this.doCall(command);
        case 'write': return this.doWrite(command);
        case 'check': return this.doCheck(command);
        case 'node': return this.doNode(command);
        case 'async': return await this.doAsync(command);
        case 'transfer': return this.doTransfer(command);
        case 'touchMoved': return this.doTouchMoved();
        case 'gc': this.log('gc();'); globalThis.gc?.(); return undefined;
        case 'tick': this.log(`await ticks(${command.n + 1});`); for (let i = 0; i <= command.n; i++) await new Promise(setImmediate); return undefined;
        case 'api': return this.doApi(command);
        case 'grow': return this.doGrow(command);
        case 'closeFd': return this.doCloseFd(command);
        case 'drop': return this.doDrop(command);
        case 'cli': return this.doCli(command);
        case 'worker': return await this.doWorker(command);
        // Never generated: the harness's own tests use them to prove that a crash or a hang is seen.
        case 'selfCrash': this.log(`process.kill(process.pid, '${command.signal}');`); process.kill(process.pid, command.signal); return new Promise(() => {});
        case 'selfHang': this.log('for (;;);'); for (;;);
        default: return undefined;
      }
    } catch (err) {
      if (err instanceof Skip) return undefined;
      throw err;
    }
  }

  /** Calls fn, judging what it throws; returns { ok, value }. */
  attempt(where, src, fn) {
    this.calls++;
    this.log(src);
    try {
      const value = fn();
      return { ok: true, value };
    } catch (err) {
      this.log(`  // throws ${err instanceof Error ? `${err.code ?? 'no code'}: ${String(err.message).slice(0, 160)}` : typeof err}`);
      this.judgeError(err, where);
      return { ok: false, error: err };
    }
  }

  /** What is behind a path or fd, before map() sees it. */
  identify(target) {
    try {
      const st = typeof target === 'number' ? fs.fstatSync(target, { bigint: true })
        : fs.statSync(target instanceof URL ? target : target, { bigint: true });
      const file = this.env.fileByIno(st.ino, st.dev) ?? this.memfds?.get(`${st.dev}:${st.ino}`);
      if (file) return { kind: 'file', file };
      if (st.isCharacterDevice() && Number(st.rdev) === this.env.zeroRdev) return { kind: 'zero' };
      if (st.isCharacterDevice() || st.isBlockDevice()) return { kind: 'device' };
      return { kind: 'other' };
    } catch {
      return { kind: 'other' };
    }
  }

  dangerous(options) {
    const len = options?.length;
    return (options?.populate === true || options?.locked === true) && (typeof len !== 'number' || len > DANGEROUS_LENGTH);
  }

  addSlot(m, init) {
    const s = {
      m, name: `m${this.nextId++}`, views: [], epoch: 0, closed: false, noTouch: false, pages: new Map(), unknown: false,
      dropped: false, pendingWriters: 0, selfDetached: false, length: m.length, access: m.access, splitBy: new Set(), ...init,
    };
    const offset = m.offset;
    s.fileOffset = offset <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(offset) : undefined;
    s.delta = s.fileOffset === undefined ? 0 : s.fileOffset % PAGE;
    s.describe = `${s.kind}${s.file ? ` ${s.file.name}` : ''} access ${s.access} offset ${offset} length ${s.length}${s.allowBeyondEnd ? ' allowBeyondEnd' : ''}`;
    if (m.memfd !== undefined) this.registerMemfd(s, m.memfd);
    this.slots.push(s);
    return s;
  }

  registerMemfd(s, memfd) {
    this.memfds ??= new Map();
    const st = fs.fstatSync(memfd, { bigint: true });
    const fd = fs.openSync(`/proc/self/fd/${memfd}`, 'r+');
    const size = fs.fstatSync(fd).size;
    const file = { name: `${s.name}.memfd`, fd, content: Buffer.alloc(Math.min(size, MAX_MODEL_SIZE)), stale: size > MAX_MODEL_SIZE, memfd: true };
    this.memfds.set(`${st.dev}:${st.ino}`, file);
    s.kind = 'file';
    s.file = file;
    s.shared = true;
  }

  allowBeyondEndOf(optionsDesc) {
    if (optionsDesc?.t === 'undef') return false;
    if (!optionsDesc || optionsDesc.t !== 'obj') return true;
    const field = optionsDesc.props.find(([key]) => key === 'allowBeyondEnd');
    if (!field) return false;
    const v = field[1].t === 'get' ? field[1].val : field[1];
    return !(v.t === 'bool' && v.v === false);
  }

  doMap(c) {
    const ctx = { noProtect: true };
    const [target, targetSrc] = this.materialize(c.target, ctx);
    const [options, optionsSrc] = this.materialize(c.opts, ctx);
    if (this.dangerous(safeSpread(options))) throw new Skip('populating or locking a huge mapping');
    const pathLike = typeof target === 'string' || typeof target === 'number' || Buffer.isBuffer(target) || target instanceof URL;
    const what = pathLike ? this.identify(target) : { kind: 'other' };
    const name = `m${this.nextId}`;
    const r = this.attempt('map', `const ${name} = map(${targetSrc}, ${optionsSrc});`, () => this.k.map(target, options));
    if (!r.ok) return;
    const m = r.value;
    const byPath = typeof target === 'string' || Buffer.isBuffer(target) || target instanceof URL;
    const access = m.access;
    const s = this.addSlot(m, {
      kind: what.kind === 'file' ? 'file' : what.kind === 'zero' ? (access === 'copy' ? 'anon' : 'zero') : 'device',
      file: what.file, shared: access !== 'copy', byPath, other: what.kind === 'other', unknown: what.kind === 'device',
      allowBeyondEnd: this.allowBeyondEndOf(c.opts), locked: lockedOf(options),
    });
    this.checkNewMapping(s);
  }

  checkNewMapping(s) {
    if (s.m.length > 0 && s.m.length <= bufferConstants.MAX_LENGTH && s.m.buffer.length !== s.m.length) {
      throw new Violation('buffer-length', s.name, `new mapping of ${s.m.length} bytes has a buffer of ${s.m.buffer.length}`);
    }
    this.track(s, s.m.length <= bufferConstants.MAX_LENGTH ? s.m.buffer : Buffer.alloc(0));
  }

  doAnon(c) {
    const ctx = { noProtect: true };
    const [length, lengthSrc] = this.materialize(c.len, ctx);
    const [options, optionsSrc] = this.materialize(c.opts, ctx);
    if (this.dangerous({ ...safeSpread(options), length })) throw new Skip('huge and populated');
    const name = `m${this.nextId}`;
    const r = this.attempt('map.anonymous', `const ${name} = map.anonymous(${lengthSrc}, ${optionsSrc});`, () => this.k.map.anonymous(length, options));
    if (!r.ok) return;
    const s = this.addSlot(r.value, { kind: 'anon', shared: false, byPath: false, allowBeyondEnd: false });
    this.checkNewMapping(s);
  }

  doFromDesc(c) {
    const ctx = { noProtect: true };
    const [d, src] = this.materialize(c.d, ctx);
    if (this.dangerous(safeSpread(d))) throw new Skip('huge and populated');
    const p = plainField(d, 'path');
    const what = p.known && typeof p.value === 'string' ? this.identify(p.value) : { kind: 'other' };
    const name = `m${this.nextId}`;
    const r = this.attempt('map.fromDescriptor', `const ${name} = map.fromDescriptor(${src});`, () => this.k.map.fromDescriptor(d));
    if (!r.ok) return;
    const m = r.value;
    const s = this.addSlot(m, {
      kind: what.kind === 'file' ? 'file' : what.kind === 'zero' ? (m.access === 'copy' ? 'anon' : 'zero') : 'device',
      file: what.file, shared: m.access !== 'copy', byPath: true, other: what.kind === 'other', unknown: what.kind === 'device',
      allowBeyondEnd: plainField(d, 'allowBeyondEnd').value !== false || !plainField(d, 'allowBeyondEnd').known, locked: lockedOf(d),
    });
    this.checkNewMapping(s);
  }

  doCall(c) {
    const s = this.pick(c.slot);
    if (!s) return;
    const ctx = { noProtect: false };
    const args = c.args.map((a) => this.materialize(a, ctx));
    const values = args.map((a) => a[0]);
    const argSrc = args.map((a) => a[1]).join(', ');
    const where = `Mapping.${c.method}`;
    const m = s.m;
    const wasClosed = s.closed;
    switch (c.method) {
      case 'get': {
        const key = values[0];
        this.attempt(`Mapping.${String(key)}`, `${s.name}.${String(key)};`, () => {
          const v = m[key];
          if (key === 'buffer' && v instanceof Uint8Array) this.track(s, v);
          return v;
        });
        return;
      }
      case 'view': {
        const r = this.attempt(where, `${s.name}.view(${argSrc});`, () => m.view(...values));
        if (r.ok && r.value instanceof Uint8Array) this.track(s, r.value);
        return;
      }
      case 'close': case 'dispose': {
        this.attempt(where, c.method === 'close' ? `${s.name}.close();` : `${s.name}[Symbol.dispose]();`, () => (c.method === 'close' ? m.close() : m[Symbol.dispose]()));
        this.syncClosed(s);
        return;
      }
      case 'resize': {
        const lengthValue = values[0];
        if (!(typeof lengthValue === 'number' && lengthValue <= DANGEROUS_LENGTH) && s.locked !== false) throw new Skip('huge resize of a locked mapping');
        const r = this.attempt(where, `${s.name}.resize(${argSrc});`, () => m.resize(...values));
        if (r.ok) {
          this.resized(s);
          const abe = plainField(values[1], 'allowBeyondEnd');
          if (!abe.known || abe.value === true) s.allowBeyondEnd = true;
          if (r.value !== null && r.value instanceof Uint8Array) this.track(s, r.value);
        } else {
          this.judgeResizeError(s, r.error, wasClosed);
        }
        return;
      }
      case 'descriptor': {
        const r = this.attempt(where, `${s.name}.descriptor();`, () => m.descriptor());
        if (!r.ok) this.judgeDescriptorError(s, r.error, wasClosed);
        return;
      }
      case 'protect': {
        // A thread-pool job still using the memory would touch it against
        // its new protection: the documented SIGSEGV, not generated.
        if (s.pendingJobs > 0) throw new Skip('protect() while a thread-pool job uses the memory');
        const r = this.attempt(where, `${s.name}.protect(${argSrc});`, () => m.protect(...values));
        if (r.ok && values[0] !== 'rw') s.noTouch = true;
        if (r.ok && values[1] !== undefined) s.splitBy.add('protect');
        return;
      }
      case 'lock': {
        if (s.length > DANGEROUS_LENGTH) throw new Skip('locking a huge mapping');
        const r = this.attempt(where, `${s.name}.lock(${argSrc});`, () => m.lock(...values));
        if (r.ok) s.locked = true;
        if (r.ok && values[1] !== undefined) s.splitBy.add('lock');
        return;
      }
      case 'advise': {
        if (s.length > DANGEROUS_LENGTH && (typeof values[0] !== 'string' || /populate|willneed/.test(values[0]))) throw new Skip('populating a huge mapping');
        const r = this.attempt(where, `${s.name}.advise(${argSrc});`, () => m.advise(...values));
        if (r.ok && ['dontneed', 'free', 'remove'].includes(values[0])) this.forget(s);
        if (r.ok && SPLITTING_ADVICE.has(values[0]) && values[1] !== undefined) s.splitBy.add('advise');
        return;
      }
      case 'residency': {
        if (s.length > 2 ** 26) throw new Skip('mincore of a huge mapping allocates a byte per page');
        const r = this.attempt(where, `${s.name}.residency(${argSrc});`, () => m.residency(...values));
        if (r.ok && !(r.value instanceof Uint8Array)) throw new Violation('wrong-result', where, 'residency() did not return a Uint8Array');
        return;
      }
      default: {
        this.attempt(where, `${s.name}.${c.method}(${argSrc});`, () => m[c.method](...values));
      }
    }
  }

  /** resize()'s claims checked against the model. */
  judgeResizeError(s, err, wasClosed) {
    if (wasClosed || !(err instanceof Error)) return;
    const message = String(err.message);
    if (s.kind === 'file' && s.byPath && !s.file.memfd && /renamed, deleted/.test(message)) {
      throw new Violation('wrong-claim', `${s.name}.resize`, `says the file was renamed or deleted, but ${s.file.name} is where it was: ${message.slice(0, 200)}`);
    }
    if (err.code === 'EFAULT' && s.splitBy.has('advise') && s.splitBy.size === 1 && !/advise/.test(message)) {
      throw new Violation('misleading-hint', `${s.name}.resize`, `EFAULT after advise() split the mapping, and the message does not say so: ${message.slice(0, 200)}`);
    }
  }

  judgeDescriptorError(s, err, wasClosed) {
    if (wasClosed || !(err instanceof Error) || s.closed) return;
    if (s.kind === 'file' && s.byPath && !s.file.memfd && err.code === 'ERR_KMMAP_NOT_SHAREABLE') {
      throw new Violation('wrong-claim', `${s.name}.descriptor`, `says ${s.file.name} can no longer be opened, but it is where it was: ${String(err.message).slice(0, 200)}`);
    }
  }

  doWrite(c) {
    const s = this.pick(c.slot);
    // While an asynchronous writer is at work, read-back would race with it.
    if (!s || s.closed || s.length === 0 || s.pendingWriters > 0 || s.file?.pendingWriters > 0) return;
    const at = c.at % s.length;
    let len = Math.min(c.len, s.length - at);
    if (s.kind === 'file' && s.allowBeyondEnd && s.fileOffset !== undefined) {
      len = Math.min(len, Math.max(0, this.fileSize(s.file) - s.fileOffset - at));
    }
    if (len <= 0) return;
    const data = Buffer.alloc(len);
    for (let i = 0; i < len; i++) data[i] = (c.byte + i * 13) & 0xff;
    if (c.via === 'fs') {
      if (s.kind !== 'file' || s.fileOffset === undefined || s.file.stale) return;
      const fo = s.fileOffset + at;
      const size = this.fileSize(s.file);
      if (fo + len > size) return;
      try {
        fs.writeSync(s.file.fd, data, 0, len, fo);
      } catch {
        return; // hugetlbfs has no write(2)
      }
      data.copy(s.file.content, fo);
      this.staleCopies(s.file);
      this.log(`fs.writeSync(fd(${s.file.name}), bytes(${len}), 0, ${len}, ${fo});`);
      return;
    }
    let through = s;
    if (c.via === 'other') {
      through = this.live().find((o) => o !== s && o.file && o.file === s.file && o.shared && s.shared && o.fileOffset !== undefined && s.fileOffset !== undefined
        && s.fileOffset + at >= o.fileOffset && s.fileOffset + at + len <= o.fileOffset + o.length);
      if (!through) return;
    }
    const tat = through === s ? at : s.fileOffset + at - through.fileOffset;
    for (let i = 0; i < len; i++) if (!this.writable(through, tat + i)) return;
    const win = this.window(through, tat, len, c.via === 'other' ? 'buffer' : c.via);
    if (!win) return;
    this.log(`${through.name}.${c.via === 'view' ? `view(${tat}, ${len})` : `buffer.subarray(${tat}, ${tat + len})`}.set(bytes(${len}));`);
    for (let i = 0; i < len; i++) win[i] = data[i];
    this.record(through, tat, data);
  }

  /** Updates the model after bytes were written through slot s at mapping offset `at`, and checks that they reached the file. */
  record(s, at, data) {
    if (s.kind === 'file' && s.shared && s.fileOffset !== undefined) {
      const fo = s.fileOffset + at;
      const size = this.fileSize(s.file);
      this.staleCopies(s.file);
      const readBack = Buffer.alloc(data.length);
      const got = fs.readSync(s.file.fd, readBack, 0, data.length, fo);
      for (let i = 0; i < data.length; i++) {
        if (fo + i < size) s.file.content[fo + i] = data[i];
        if (i >= got || readBack[i] !== data[i]) {
          throw new Violation('lost-write', s.name, `wrote ${data.length} bytes at file offset ${fo} through a shared mapping (${s.describe}); ` +
            `fs.readSync gives ${got} of them${i < got ? ` and byte ${fo + i} differs` : ` (the file has ${size} bytes): the write is lost`}`);
        }
      }
      return;
    }
    for (let i = 0; i < data.length; i++) {
      const pos = s.delta + at + i;
      const pageIndex = Math.floor(pos / PAGE);
      let page = s.pages.get(pageIndex);
      if (!page) {
        page = Buffer.alloc(PAGE);
        for (let j = 0; j < PAGE; j++) {
          const k = pageIndex * PAGE + j - s.delta;
          page[j] = k >= 0 && k < s.length ? (this.expected(s, k) ?? 0) : 0;
        }
        s.pages.set(pageIndex, page);
      }
      page[pos % PAGE] = data[i];
    }
  }

  doCheck(c) {
    const s = this.pick(c.slot);
    if (!s) return;
    if (c.via === 'fs' && s.file) this.checkFile(s.file, s.name);
    else if (c.via === 'other' && s.file) for (const o of this.live()) if (o.file === s.file) this.checkSlot(o);
    this.checkSlot(s, c.via === 'mapping' ? 'buffer' : 'view');
  }

  /** The buffer of a live slot that may be touched from end to end, or undefined. */
  wholeBuffer(s) {
    if (!s || s.closed || s.noTouch || s.length > MAX_TOUCH_LENGTH || s.length === 0) return undefined;
    for (const i of [0, s.length - 1]) if (!this.touchable(s, i)) return undefined;
    let buf;
    try {
      buf = s.m.buffer;
    } catch {
      return undefined;
    }
    return buf.length === s.length ? buf : undefined;
  }

  /** Node's own functions over the memory, with hostile arguments. */
  doNode(c) {
    const s = this.pick(c.slot);
    const buf = this.wholeBuffer(s);
    if (!buf) return;
    const ctx = { noProtect: true };
    const args = c.args.map((a) => this.materialize(a, ctx));
    const v = args.map((a) => a[0]);
    const src = args.map((a) => a[1]).join(', ');
    const writes = ['fill', 'write', 'copyInto', 'set', 'writeUInt32LE', 'reverse', 'sort', 'copyWithin'].includes(c.op);
    if (writes && s.access === 'r') return;
    if (writes && s.kind === 'file' && s.allowBeyondEnd) return;
    const scratch = Buffer.alloc(64, 0x33);
    const ops = {
      fill: [() => buf.fill(...v), `${s.name}.buffer.fill(${src})`],
      write: [() => buf.write(String(typeof v[0] === 'symbol' ? 'x' : 'written'), ...v.slice(1)), `${s.name}.buffer.write('written', ${args.slice(1).map((a) => a[1]).join(', ')})`],
      copyInto: [() => scratch.copy(buf, ...v), `Buffer.alloc(64).copy(${s.name}.buffer, ${src})`],
      copyFrom: [() => buf.copy(scratch, ...v), `${s.name}.buffer.copy(Buffer.alloc(64), ${src})`],
      set: [() => buf.set(v.length && typeof v[0] === 'object' && v[0] !== null ? v[0] : [1, 2, { valueOf: () => { this.closeSlot(s, true); return 3; } }], ...v.slice(1)), `${s.name}.buffer.set(${src || `[1, 2, { valueOf() { ${s.name}.close(); return 3; } }]`})`],
      indexOf: [() => buf.indexOf(...v), `${s.name}.buffer.indexOf(${src})`],
      compare: [() => buf.compare(scratch, ...v), `${s.name}.buffer.compare(Buffer.alloc(64), ${src})`],
      toString: [() => buf.toString(...v), `${s.name}.buffer.toString(${src})`],
      writeUInt32LE: [() => buf.writeUInt32LE(...v), `${s.name}.buffer.writeUInt32LE(${src})`],
      readUInt32LE: [() => buf.readUInt32LE(...v), `${s.name}.buffer.readUInt32LE(${src})`],
      reverse: [() => buf.reverse(), `${s.name}.buffer.reverse()`],
      sort: [() => new Uint8Array(buf.buffer, buf.byteOffset, Math.min(buf.length, 256)).sort((a, b) => { if (v.length) this.closeSlot(s, true); return a - b; }), `new Uint8Array(${s.name}.buffer.buffer, 0, 256).sort((a, b) => { ${s.name}.close(); return a - b; })`],
      copyWithin: [() => buf.copyWithin(...v), `${s.name}.buffer.copyWithin(${src})`],
      concat: [() => Buffer.concat([buf, scratch], ...v.filter((x) => !(typeof x === 'number' && x > MAX_TOUCH_LENGTH))), `Buffer.concat([${s.name}.buffer, Buffer.alloc(64)], ${src})`],
      equals: [() => buf.equals(v[0] instanceof Uint8Array ? v[0] : scratch), `${s.name}.buffer.equals(${src || 'Buffer.alloc(64)'})`],
    };
    const [fn, line] = ops[c.op];
    this.calls++;
    this.log(`${line};`);
    try {
      fn();
    } catch (err) {
      this.log(`  // throws ${err?.code ?? err?.name}`);
    }
    this.syncClosed(s);
    // A writer may have written part of its bytes before a hostile value closed the mapping.
    if ((writes || c.op === 'set') && s.file && s.shared) this.resyncFile(s.file);
    if (!s.closed && (writes || c.op === 'set')) this.forget(s);
    else if (!s.closed) this.checkSlot(s);
  }

  async doAsync(c) {
    const s = this.pick(c.slot);
    const buf = this.wholeBuffer(s);
    if (!buf) return;
    const writer = c.op === 'randomFill' || c.op === 'fsRead';
    if (writer && (s.access === 'r' || (s.kind === 'file' && s.allowBeyondEnd))) return;
    this.calls++;
    let line;
    const done = new Promise((resolve) => {
      const cb = () => resolve();
      switch (c.op) {
        case 'randomFill': crypto.randomFill(buf, cb); line = `crypto.randomFill(${s.name}.buffer, cb);`; break;
        // Node's zlib checks its input's bounds again on every step: an input
        // detached by close() between steps aborts Node 20 (docs/api.md, "After
        // close()"). Inputs it takes in one step, as the API guide advises.
        case 'deflate': zlib.deflate(buf.subarray(0, ZLIB_ONE_STEP), cb); line = `zlib.deflate(${s.name}.buffer.subarray(0, ${ZLIB_ONE_STEP}), cb);`; break;
        case 'fsWrite': fs.write(this.scratchFd(), buf, 0, buf.length, 0, cb); line = `fs.write(scratchFd, ${s.name}.buffer, 0, ${buf.length}, 0, cb);`; break;
        case 'fsRead': fs.read(this.scratchFd(), buf, 0, buf.length, 0, cb); line = `fs.read(scratchFd, ${s.name}.buffer, 0, ${buf.length}, 0, cb);`; break;
        default: fs.writeFile(this.env.scratch + '.out', buf, cb); line = `fs.writeFile(scratchOut, ${s.name}.buffer, cb);`;
      }
    });
    this.log(line);
    s.pendingJobs = (s.pendingJobs ?? 0) + 1;
    if (writer) s.pendingWriters++;
    if (writer && s.file) s.file.pendingWriters = (s.file.pendingWriters ?? 0) + 1;
    const finished = done.then(() => {
      s.pendingJobs--;
      if (writer) s.pendingWriters--;
      if (writer && s.file) s.file.pendingWriters--;
      this.syncClosed(s);
      if (writer && !s.closed && s.pendingWriters === 0) this.forget(s);
      if (writer && s.closed && s.file && s.shared) this.resyncFile(s.file);
    });
    this.pending.push(finished);
    if (c.close === 'now') this.doCall({ slot: this.live().indexOf(s), method: 'close', args: [] });
    else if (c.close === 'resize') this.resizeSlotLogged(s, s.length * 2 + PAGE);
    else if (c.close === 'later') {
      for (let i = 0; i <= c.ticks; i++) await new Promise(setImmediate);
      this.log(`await ticks(${c.ticks + 1});`);
      this.doCall({ slot: this.live().indexOf(s), method: 'close', args: [] });
    }
  }

  resizeSlotLogged(s, length) {
    if (s.kind === 'file' && !s.file.memfd) return;
    const r = this.attempt('Mapping.resize', `${s.name}.resize(${length});`, () => s.m.resize(length));
    if (r.ok) this.resized(s);
  }

  scratchFd() {
    this.scratch ??= fs.openSync(this.env.scratch, 'r+');
    return this.scratch;
  }

  doTransfer(c) {
    const s = this.pick(c.slot);
    if (!s || s.closed || s.noTouch || s.length > MAX_TOUCH_LENGTH || s.length === 0) return;
    // A copy reads every byte: never a page the API guide says raises SIGBUS.
    for (const i of [0, s.length - 1]) if (!this.touchable(s, i)) return;
    let buf;
    try {
      buf = s.m.buffer;
    } catch {
      return;
    }
    const ab = buf.buffer;
    this.calls++;
    try {
      let moved;
      if (c.how === 'transfer') {
        if (typeof ab.transfer !== 'function') return;
        this.log(`const moved = ${s.name}.buffer.buffer.transfer();`);
        moved = ab.transfer();
      } else if (c.how === 'clone') {
        this.log(`const moved = structuredClone(${s.name}.buffer.buffer, { transfer: [${s.name}.buffer.buffer] });`);
        moved = structuredClone(ab, { transfer: [ab] });
      } else {
        this.log(`port1.postMessage(${s.name}.buffer.buffer, [${s.name}.buffer.buffer]); const moved = receiveMessageOnPort(port2).message;`);
        const { port1, port2 } = new MessageChannel();
        port1.postMessage(ab, [ab]);
        moved = receiveMessageOnPort(port2)?.message;
        port1.close();
        port2.close();
      }
      if (ab.byteLength === 0) s.selfDetached = true;
      if (moved instanceof ArrayBuffer) this.moved.push({ ab: moved, s, copied: ab.byteLength !== 0 });
    } catch (err) {
      this.log(`// transfer threw ${err?.code ?? err?.name}`);
    }
  }

  doTouchMoved() {
    for (const { ab, s } of this.moved) {
      if (s.noTouch || ab.byteLength === 0) continue;
      if (s.kind === 'file' && s.allowBeyondEnd) continue;
      this.log(`new Uint8Array(moved)[0]; // ${s.name} is ${s.closed ? 'closed' : 'open'}`);
      void new Uint8Array(ab)[0];
      void new Uint8Array(ab)[ab.byteLength - 1];
    }
  }

  doApi(c) {
    const summarize = c.fn === 'kpageflags.summarize';
    const ctx = { noProtect: summarize, viewsOf: [] };
    const args = c.args.map((a) => this.materialize(a, ctx));
    const values = args.map((a) => a[0]);
    const src = `${c.fn}(${args.map((a) => a[1]).join(', ')});`;
    const k = this.k;
    const fns = {
      addressOf: (...a) => k.addressOf(...a),
      'new Mapping': (...a) => new k.Mapping(...a),
      'KmmapDevice.open': (...a) => {
        const device = k.KmmapDevice.open(...a);
        device.close();
        return device;
      },
      lkmcPhysicalAddress: (...a) => k.lkmcPhysicalAddress(...a),
      ioctl: (...a) => k.ioctl(...a),
    };
    const [ns, name] = c.fn.split('.');
    const fn = fns[c.fn] ?? ((...a) => k[ns][name](...a));
    this.attempt(c.fn, src, () => fn(...values));
    for (const s of ctx.viewsOf) if (!s.closed) this.forget(s);
  }

  doGrow(c) {
    const file = this.env.files[c.which % this.env.files.length];
    const size = this.fileSize(file);
    fs.ftruncateSync(file.fd, size + c.by);
    this.sizes.clear();
    this.resyncFile(file);
    this.log(`fs.truncateSync(paths.${file.name}, ${size + c.by});`);
  }

  doCloseFd(c) {
    const fds = this.env.userFds;
    const fd = fds[c.which % fds.length];
    if (!this.env.openUserFds.has(fd)) return;
    this.env.openUserFds.delete(fd);
    fs.closeSync(fd);
    this.log(`fs.closeSync(fds[${c.which % fds.length}]);`);
  }

  doDrop(c) {
    const s = this.pick(c.slot);
    if (!s) return;
    s.dropped = true;
    this.slots = this.slots.filter((o) => o !== s);
    this.moved = this.moved.filter((o) => o.s !== s);
    this.log(`${s.name} = undefined; // dropped for the garbage collector`);
  }

  // ---- the CLI ----------------------------------------------------------

  doCli(c) {
    const a = c.args;
    const argv = [];
    let file;
    if (a.cmd === 'dump') {
      const t = this.env.targets[a.which % this.env.targets.length];
      if (Buffer.isBuffer(t.path)) return; // argv cannot carry it as given
      file = t;
      argv.push('dump', t.path);
      if (a.offset !== undefined) argv.push('--offset', a.offset);
      if (a.length !== undefined) argv.push('--length', a.length);
      if (a.v) argv.push('-v');
      if (a.json) argv.push('--json');
    } else if (a.cmd === 'pagemap') {
      argv.push('pagemap', a.pid);
      if (a.range !== undefined) argv.push(a.range);
      if (a.summary) argv.push('--summary');
      if (a.method !== undefined) argv.push('--method', a.method);
      if (a.json) argv.push('--json');
    } else {
      argv.push(...a.argv);
    }
    const where = `kmmap ${argv[0] ?? ''}`.trim();
    const shown = `kmmap ${argv.map((x) => (/^[\w./:+-]+$/.test(x) ? x : `'${x}'`)).join(' ')}`.replace(this.env.dir, '$DIR');
    this.calls++;
    const cli = path.join(this.options.repo, 'dist', 'cli.js');
    const r = spawnSync(process.execPath, [cli, ...argv], { encoding: 'latin1', timeout: this.options.cliTimeout ?? 4000, maxBuffer: 64 << 20 });
    this.log(`$ ${shown}  # exit ${r.status ?? r.signal}`);
    if (r.error?.code === 'ETIMEDOUT' || (r.signal === 'SIGTERM' && r.status === null)) throw new Violation('hang', where, `${shown} did not finish in ${(this.options.cliTimeout ?? 4000) / 1000} s`);
    if (r.signal) throw new Violation(`signal:${r.signal}`, where, `${shown} was killed by ${r.signal}: ${r.stderr.slice(-300)}`);
    if (![0, 1, 2].includes(r.status)) throw new Violation('cli-status', where, `${shown} exited ${r.status}: ${r.stderr.slice(-300)}`);
    if (/FATAL ERROR|Segmentation|Aborted|node::|napi_/.test(r.stderr)) throw new Violation('abort', where, `${shown}: ${r.stderr.slice(-300)}`);
    if (r.status !== 0 && /options\.length|allowBeyondEnd|fs\.ftruncateSync|options\.\w+/.test(r.stderr)) {
      throw new Violation('misleading-hint', where, `${shown}: the CLI suggests an API-only fix: ${r.stderr.trim().slice(0, 300)}`);
    }
    if (r.status !== 0 && argv.includes('--json')) {
      let error;
      try {
        error = JSON.parse(r.stderr.trim().split('\n').pop()).error;
      } catch {
        throw new Violation('cli-json', where, `${shown}: stderr is not JSON: ${r.stderr.slice(0, 200)}`);
      }
      if (typeof error?.code !== 'string') throw new Violation('uncoded-error', where, `${shown}: JSON error without a code: ${r.stderr.slice(0, 200)}`);
    } else if (r.status === 1 && !/\[[A-Z_0-9]+\]\s*$/.test(r.stderr.trim().split('\n').pop() ?? '')) {
      throw new Violation('uncoded-error', where, `${shown}: error without a [CODE]: ${r.stderr.slice(0, 200)}`);
    }
    if (a.cmd === 'dump' && r.status === 0 && file) this.judgeDump(file, a, r, shown, where);
  }

  /** A dump that succeeded shows the file's bytes, no more and no fewer, as hexdump -C would. */
  judgeDump(t, a, r, shown, where) {
    const parse = (text) => (text === undefined ? undefined : /^(0x[0-9a-f]+|\d+)$/i.test(text) ? BigInt(text) : null);
    const offset = parse(a.offset) ?? 0n;
    const length = parse(a.length);
    if (offset === null || length === null || offset > 2n ** 40n || (length ?? 0n) > 2n ** 24n) return;
    let st;
    try {
      st = fs.statSync(t.path);
    } catch {
      return;
    }
    // What read(2) gives for the range: the file's own bytes (opening a FIFO would block).
    if (st.isFIFO() || (st.isCharacterDevice() && t.name !== 'devZero') || st.isDirectory()) return;
    let truth;
    try {
      const fd = fs.openSync(t.path, 'r');
      try {
        // Without --length, a regular file is read to its end: /proc files say size 0 and have bytes.
        const want = length ?? (st.isFile() ? BigInt(Math.max(st.size - Number(offset), 1 << 16)) : 0n);
        if (want > 2n ** 24n) return;
        const buf = Buffer.alloc(Number(want));
        let got = 0;
        for (;;) {
          const n = fs.readSync(fd, buf, got, buf.length - got, Number(offset) + got);
          if (n <= 0 || got + n >= buf.length) {
            got += Math.max(n, 0);
            break;
          }
          got += n;
        }
        truth = buf.subarray(0, got);
      } finally {
        fs.closeSync(fd);
      }
    } catch {
      return;
    }
    if (a.json) {
      let shownHex;
      try {
        shownHex = JSON.parse(r.stdout).hex;
      } catch {
        throw new Violation('cli-json', where, `${shown}: stdout is not JSON`);
      }
      if (shownHex !== truth.toString('hex')) {
        throw new Violation('cli-content', where, `${shown} shows ${shownHex.length / 2} bytes, read(2) gives ${truth.length} (${t.name} has ${st.size} bytes)`);
      }
      return;
    }
    const hd = spawnSync('hexdump', ['-C', ...(a.v ? ['-v'] : []), '-s', String(offset), ...(length !== undefined ? ['-n', String(length)] : []), t.path], { encoding: 'latin1', timeout: 4000 });
    if (hd.status !== 0) return;
    if (hd.stdout !== r.stdout) {
      throw new Violation('cli-content', where, `${shown} prints ${JSON.stringify(r.stdout.slice(0, 160))}, hexdump -C prints ${JSON.stringify(hd.stdout.slice(0, 160))}`);
    }
  }

  // ---- workers ----------------------------------------------------------

  async doWorker(c) {
    const { Worker } = await import('node:worker_threads');
    const share = this.pick(c.share);
    let descriptor;
    try {
      descriptor = share && !share.closed ? share.m.descriptor() : undefined;
    } catch {
      descriptor = undefined;
    }
    const counter = new Int32Array(new SharedArrayBuffer(4));
    const worker = new Worker(new URL('./worker.mjs', import.meta.url), {
      workerData: { repo: this.options.repo, seed: c.seed, busy: c.busy, descriptor, counter, file: this.env.scratch },
      stdout: true,
      stderr: true,
    });
    let workerError;
    worker.on('error', (err) => { workerError = err; });
    let readyTimer;
    await new Promise((resolve) => {
      worker.on('message', (msg) => { if (msg === 'ready') resolve(); });
      worker.once('exit', resolve);
      readyTimer = setTimeout(resolve, 10_000);
    });
    clearTimeout(readyTimer);
    await new Promise((resolve) => setTimeout(resolve, c.after));
    this.log(`const w = new Worker(busyWithKmmap /* ${c.busy}, seed ${c.seed}${descriptor ? `, maps ${share.name}.descriptor()` : ''} */); await sleep(${c.after}); await w.terminate();`);
    let timer;
    const terminated = await Promise.race([
      worker.terminate().then(() => true),
      new Promise((resolve) => { timer = setTimeout(() => resolve(false), 5000); }),
    ]);
    clearTimeout(timer);
    this.calls++;
    this.workerCalls += Atomics.load(counter, 0);
    if (!terminated) throw new Violation('hang', 'Worker.terminate', `a worker busy with kmmap (${c.busy}) did not terminate within 5 s`);
    if (workerError && typeof workerError === 'object' && workerError.kind) {
      throw new Violation(workerError.kind, `worker ${workerError.where}`, workerError.detail);
    }
  }

  // ---- the end of a program ---------------------------------------------

  async drain() {
    if (this.pending.length === 0) return;
    let timer;
    const ok = await Promise.race([
      Promise.all(this.pending).then(() => true),
      new Promise((resolve) => { timer = setTimeout(() => resolve(false), 5000); }),
    ]);
    clearTimeout(timer);
    this.pending = [];
    if (!ok) throw new Violation('hang', 'async', 'an asynchronous operation on a mapping never completed');
  }

  async cleanup() {
    await Promise.race([Promise.all(this.pending), new Promise((resolve) => setTimeout(resolve, 5000).unref())]);
    for (const s of this.slots) {
      try {
        s.m.close();
      } catch {
        // counted already
      }
    }
    this.slots = [];
    this.moved = [];
    for (const file of this.memfds?.values() ?? []) fs.closeSync(file.fd);
    this.memfds = undefined;
    if (this.scratch !== undefined) fs.closeSync(this.scratch);
    this.env.closeUserFds();
  }
}

function lockedOf(options) {
  const f = plainField(options, 'locked');
  return f.known ? f.value === true : true;
}

function safeSpread(obj) {
  if (obj === null || typeof obj !== 'object') return {};
  const out = {};
  for (const key of ['length', 'populate', 'locked']) {
    const desc = Object.getOwnPropertyDescriptor(obj, key);
    if (desc && 'value' in desc) out[key] = desc.value;
    else if (desc) out[key] = key === 'length' ? Infinity : true; // a getter: assume the worst
  }
  return out;
}
