// Every public function, method and getter checks its input: whatever it
// is given (wrong types, Symbols, out-of-range numbers, objects that only
// have the prototype of an ArrayBuffer, a typed array, a URL, a Mapping...),
// what it throws has a `code` (issue 11, class 11). The calls run in a
// child process, so that a value that reached native code and crashed it
// would fail this test rather than kill the runner.
import { describe, expect, it } from 'vitest';
import * as kmmap from '../../dist/index.js';
import { runNode } from '../helpers';

// Each callable export with arguments that work, so that one argument at a
// time can be replaced by a hostile value. Checked against the exports below:
// a new export must be added here.
const CALLS: Record<string, string> = {
  'addressOf': '[Buffer.alloc(8)]',
  'map': "['/dev/zero', { length: 4096, access: 'copy' }]",
  'map.anonymous': '[4096, { shared: false }]',
  'map.fromDescriptor': '[fileMapping.descriptor()]',
  'ioctl': '[fileFd, 0x5401, null]',
  'ioctlNumbers.io': '[1, 2]',
  'ioctlNumbers.ior': '[1, 2, 8]',
  'ioctlNumbers.iow': '[1, 2, 8]',
  'ioctlNumbers.iowr': '[1, 2, 8]',
  'lkmcPhysicalAddress': '[fileFd]',
  'KmmapDevice.open': "[{ path: '/dev/null' }]",
  'pagemap.maps': "['self']",
  'pagemap.decode': '[1n << 63n, 4096n]',
  'pagemap.flagNames': '[k.pagemap.decode(1n << 63n, 0n)]',
  'pagemap.read': '[anon.address, 1, {}]',
  'pagemap.readInto': '[anon.address, new BigUint64Array(1), {}]',
  'pagemap.range': '[anon.address, 1, {}]',
  'pagemap.entry': '[anon.address, {}]',
  'pagemap.physicalAddress': '[anon, 0]',
  'pagemap.scan': "[anon.address, 1, { method: 'pagemap' }]",
  'kpageflags.mask': "['lru', 'anonymous']",
  'kpageflags.names': '[5n]',
  'kpageflags.symbolic': '[5n]',
  'kpageflags.read': '[0n, 1]',
  'kpageflags.mapCounts': '[0n, 1]',
  'kpageflags.lookup': '[[0n, 1n]]',
  'kpageflags.summarize': '[[1n, 1n, 2n]]',
};

describe('every public entry point', () => {
  it('covers every callable export (a new one must be added to this test)', () => {
    const callables: string[] = [];
    for (const [name, value] of Object.entries(kmmap)) {
      if (typeof value === 'function' && !/^[A-Z]/.test(name)) callables.push(name);
      if (typeof value === 'object' && value !== null) {
        for (const [inner, fn] of Object.entries(value)) if (typeof fn === 'function') callables.push(`${name}.${inner}`);
      }
    }
    callables.push('map.anonymous', 'map.fromDescriptor', 'KmmapDevice.open');
    expect(callables.sort()).toEqual(Object.keys(CALLS).sort());
    // And the classes' members: every one is called with hostile `this` and arguments below.
    expect(Object.getOwnPropertyNames(kmmap.Mapping.prototype).length).toBeGreaterThan(15);
  });

  it('throws only coded errors for hostile arguments and hostile `this`', () => {
    const result = runNode(`
      const k = require('./dist');
      const fs = require('fs');
      const os = require('os');
      const path = require('path');
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kmmap-coded-'));
      const file = path.join(dir, 'file');
      fs.writeFileSync(file, Buffer.alloc(8192, 1));
      const fileFd = fs.openSync(file, 'r');
      const anon = k.map.anonymous(8192, { shared: false });
      anon.buffer[0] = 1;
      const fileMapping = k.map(file, { access: 'rw' });
      const hostile = () => [
        undefined, null, true, 0, -1, 1.5, NaN, Infinity, 2 ** 60, 5n, -1n, 1n << 70n, '', 'x', 'a\\0b', Symbol('s'),
        {}, [], [1], [1n], [Symbol()], [-1n], () => 1, new Date(0), /re/, new Map(), new Set([1n]), new Error('e'),
        Buffer.alloc(2), new Uint8Array(2), new BigUint64Array(2), new DataView(new ArrayBuffer(2)), new ArrayBuffer(2), new SharedArrayBuffer(8),
        new Uint8Array(new SharedArrayBuffer(8)), new URL('http://x/'), new URL('file://host/x'), new URL('file:///nonexistent/%FF%2F'),
        Object.create(ArrayBuffer.prototype), Object.create(Uint8Array.prototype), Object.create(Buffer.prototype), Object.create(DataView.prototype),
        Object.create(URL.prototype), Object.create(k.Mapping.prototype), Object.create(k.KmmapDevice.prototype), Object.create(BigUint64Array.prototype),
        Object.create(Set.prototype), Object.create(Map.prototype), new Proxy({}, {}), new Proxy([], {}),
        { offset: Symbol() }, { length: Symbol() }, { length: 2 ** 60 }, { offset: -1 }, { pid: Symbol() }, { pid: 'other' }, { method: 'x' },
        { access: 'w' }, { hugetlb: '3MB' }, { hugetlb: true, noreserve: true }, { kind: 'kmmap.mapping/1' }, { async: 1 }, { allowBeyondEnd: 'yes' },
        Object.create(null),
      ];
      const calls = {
        ${Object.entries(CALLS).map(([name, args]) => `'${name}': [(...a) => k.${name}(...a), () => ${args}]`).join(',\n        ')}
      };
      let calls_made = 0;
      const uncoded = new Set();
      const note = (what, err) => {
        calls_made++;
        if (err === undefined) return;
        if (!(err instanceof Error) || typeof err.code !== 'string') uncoded.add(what + ': ' + String(err && err.message));
      };
      const cleanup = (value) => {
        if (value instanceof k.Mapping && value !== anon && value !== fileMapping) value.close();
        if (value instanceof k.KmmapDevice) value.close();
      };
      const attempt = (what, fn) => {
        try { cleanup(fn()); note(what); } catch (err) { note(what, err); }
      };
      for (const [name, [fn, valid]] of Object.entries(calls)) {
        const args = valid();
        attempt(name + '(valid)', () => fn(...args));
        for (let position = 0; position < Math.max(args.length, 1) + 1; position++) {
          for (const value of hostile()) {
            const given = valid();
            given[position] = value;
            attempt(name + ' arg ' + position, () => fn(...given));
          }
        }
      }
      // Members of the classes: on hostile \`this\`, and on a live object with hostile arguments.
      const members = (proto) => Object.getOwnPropertyNames(proto).filter((n) => n !== 'constructor').map((n) => [n, Object.getOwnPropertyDescriptor(proto, n)])
        .concat([[Symbol.dispose, Object.getOwnPropertyDescriptor(proto, Symbol.dispose)]]);
      for (const [Class, live] of [[k.Mapping, () => k.map.anonymous(16384)], [k.KmmapDevice, () => new k.KmmapDevice(fs.openSync('/dev/null', 'r'), '/dev/null', 'r')]]) {
        attempt(Class.name + ' constructor', () => new Class());
        for (const value of hostile()) attempt('new ' + Class.name, () => new Class(value, value, value));
        for (const [name, d] of members(Class.prototype)) {
          for (const self of hostile()) {
            if (d.get) attempt(Class.name + '.' + String(name) + ' getter', () => d.get.call(self));
            if (d.set) attempt(Class.name + '.' + String(name) + ' setter', () => d.set.call(self, 'pages'));
            if (typeof d.value === 'function') attempt(Class.name + '.' + String(name), () => d.value.call(self));
          }
          if (typeof d.value !== 'function' && !d.set) continue;
          for (let position = 0; position < 3; position++) {
            for (const value of hostile()) {
              const target = live();
              const args = [];
              args[position] = value;
              if (d.set) attempt(Class.name + '.' + String(name) + ' = ', () => { target[name] = value; });
              else attempt(Class.name + '.' + String(name) + ' arg ' + position, () => target[name](...args));
              target.close();
            }
          }
        }
      }
      fs.closeSync(fileFd);
      fs.rmSync(dir, { recursive: true });
      console.log(JSON.stringify({ calls: calls_made, uncoded: [...uncoded] }));
    `, { timeout: 120_000 });
    expect(result.signal, result.stderr).toBeNull();
    expect(result.status, result.stderr).toBe(0);
    const out = JSON.parse(result.stdout);
    expect(out.uncoded).toEqual([]);
    expect(out.calls).toBeGreaterThan(5000);
  });
});
