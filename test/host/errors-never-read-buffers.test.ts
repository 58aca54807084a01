// An error message never reads the bytes of a buffer it received, nor runs
// the received value's own code (issue 11, class 5). Buffers here are over
// memory that protect('none') made inaccessible: reading a byte of them
// raises SIGSEGV, so the calls run in a child process.
import { describe, expect, it } from 'vitest';
import { runNode } from '../helpers';

describe('error messages', () => {
  it('describe a buffer over PROT_NONE memory without touching it, for every kind of bad argument', () => {
    const result = runNode(`
      const k = require('./dist');
      const { inspect } = require('util');
      const a = k.map.anonymous(2 * k.PAGE_SIZE);
      const b = k.map.anonymous(k.PAGE_SIZE);
      a.protect('none');
      const values = [a.buffer, a.buffer.subarray(1, 9), new Uint32Array(a.buffer.buffer, 0, 4), new DataView(a.buffer.buffer), a.buffer.buffer];
      const calls = [
        (v) => b.advise(v), (v) => b.protect(v), (v) => b.sync(v), (v) => b.sync({ offset: v }), (v) => b.lock({ onFault: v }),
        (v) => b.view(v), (v) => b.resize(v), (v) => b.resize(8192, { allowBeyondEnd: v }),
        (v) => k.map('/dev/zero', { access: v }), (v) => k.map('/dev/zero', { length: v }), (v) => k.map('/dev/zero', { offset: v }),
        (v) => k.map('/dev/zero', { length: 4096, hugetlb: v }), (v) => k.map(3.5, v), (v) => k.map.anonymous(v), (v) => k.map.anonymous(4096, { shared: v }),
        (v) => k.map.fromDescriptor(v), (v) => k.map.fromDescriptor({ kind: v }),
        (v) => k.pagemap.decode(v, 0n), (v) => k.pagemap.decode(0n, v), (v) => k.pagemap.flagNames({ present: v }), (v) => k.pagemap.read(v, 1),
        (v) => k.pagemap.readInto(0n, v), (v) => k.pagemap.scan(0n, 1, { method: v }), (v) => k.pagemap.scan(0n, 1, { pid: v }), (v) => k.pagemap.maps(v),
        (v) => k.pagemap.physicalAddress(v, 1 << 30), (v) => k.kpageflags.mask(v), (v) => k.kpageflags.names(v), (v) => k.kpageflags.lookup([v]),
        (v) => k.kpageflags.summarize([v]), (v) => k.kpageflags.read(v), (v) => k.ioctl(v, 0), (v) => k.ioctl(0, 0, null, v),
        (v) => k.ioctlNumbers.ior(v, 1, 8), (v) => k.lkmcPhysicalAddress(v), (v) => k.KmmapDevice.open({ path: v }), (v) => k.KmmapDevice.open({ method: v }),
      ];
      let coded = 0;
      for (const call of calls) {
        for (const value of values) {
          try {
            call(value);
          } catch (err) {
            if (typeof err.code !== 'string') throw new Error('uncoded: ' + err.message);
            coded++;
          }
        }
      }
      // Nor does a message run the value's code: a custom inspect, a getter, a Proxy trap.
      let ran = 0;
      const hostile = [
        { [inspect.custom]() { ran++; throw new Error('inspected'); } },
        new Proxy({}, { get() { ran++; throw new Error('trapped'); }, getPrototypeOf() { ran++; throw new Error('trapped'); } }),
        Object.defineProperty(function f() {}, 'name', { get() { ran++; return 'x'; } }),
        Object.create(Object.defineProperty({}, 'constructor', { get() { ran++; return Object; } })),
      ];
      for (const value of hostile) {
        for (const call of [(v) => b.advise(v), (v) => k.map('/dev/zero', { access: v }), (v) => k.kpageflags.names(v), (v) => k.pagemap.decode(v, 0n)]) {
          try { call(value); } catch (err) { if (typeof err.code !== 'string') throw new Error('uncoded: ' + err.message); coded++; }
        }
      }
      console.log(JSON.stringify({ coded, ran, message: (() => { try { b.advise(a.buffer); } catch (err) { return err.message; } })() }));
    `, { timeout: 30_000 });
    expect(result.signal, result.stderr).toBeNull();
    expect(result.status, result.stderr).toBe(0);
    const out = JSON.parse(result.stdout);
    expect(out.ran).toBe(0);
    expect(out.coded).toBe(37 * 5 + 16);
    expect(out.message).toMatch(/The argument 'advice' must be one of: .*\. Received an instance of Buffer$/);
  });
});
