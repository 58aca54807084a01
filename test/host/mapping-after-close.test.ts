// After close(), every method throws ERR_KMMAP_CLOSED and every view reads
// as empty; before it, views keep the memory mapped even when the Mapping
// object itself is gone.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { map, type Mapping, PAGE_SIZE } from '../../dist/index.js';
import { expectError, runNode, tempDir } from '../helpers';
import { smapsAt } from '../smaps';

let tmp: ReturnType<typeof tempDir>;
let file: string;
beforeAll(() => {
  tmp = tempDir();
  file = path.join(tmp.dir, 'data');
  fs.writeFileSync(file, Buffer.alloc(2 * PAGE_SIZE, 'c'));
});
afterAll(() => tmp.remove());

const methods: [string, (m: Mapping) => unknown][] = [
  ['view', (m) => m.view(0, 1)],
  ['sync', (m) => m.sync()],
  ['advise', (m) => m.advise('willneed')],
  ['lock', (m) => m.lock()],
  ['unlock', (m) => m.unlock()],
  ['protect', (m) => m.protect('r')],
  ['residency', (m) => m.residency()],
  ['resize', (m) => m.resize(PAGE_SIZE)],
  ['descriptor', (m) => m.descriptor()],
];

const kinds: [string, () => Mapping][] = [
  ['a file mapping', () => map(file, { access: 'rw' })],
  ['shared anonymous memory', () => map.anonymous(PAGE_SIZE)],
  ['private anonymous memory', () => map.anonymous(PAGE_SIZE, { shared: false })],
  ['/dev/zero', () => map('/dev/zero', { length: PAGE_SIZE, access: 'copy' })],
];

describe.each(kinds)('on %s', (_kind, make) => {
  it.each(methods)('%s() after close() throws ERR_KMMAP_CLOSED, naming the method', (name, call) => {
    const m = make();
    m.close();
    expectError(() => call(m), { code: 'ERR_KMMAP_CLOSED' }, new RegExp(`${name}\\(\\)`));
  });

  it('close() detaches buffer, views and their slices; the properties say closed', () => {
    const m = make();
    const views = [m.buffer, m.view(1, 10), m.view(0).subarray(5), new Uint32Array(m.buffer.buffer)];
    const address = m.baseAddress;
    m.close();
    for (const view of views) expect(view.length).toBe(0);
    expect(m.closed).toBe(true);
    expect(m.length).toBe(0);
    expect(m.buffer.length).toBe(0);
    expect(m.memfd).toBeUndefined();
    // The range no longer maps the file: the views, detached but alive, keep
    // it reserved as private anonymous memory until they are collected
    // (close-safety.test.ts), for pointers native code may still hold.
    expect(smapsAt(address).header).toMatch(/^\S+ rw-p 00000000 00:00 0\s*$/);
    expect(() => m.close()).not.toThrow();
  });
});

it('a view outlives its Mapping object: the memory stays mapped until the view is collected too', () => {
  const result = runNode(`
    const { map } = require('./dist');
    const fs = require('fs');
    const holds = (address) => fs.readFileSync('/proc/self/maps', 'latin1').split('\\n').filter(Boolean).some((line) => {
      const [start, end] = line.split(' ')[0].split('-').map((hex) => BigInt('0x' + hex));
      return start <= address && address < end;
    });
    let view;
    let address;
    (() => {
      const m = map.anonymous(1 << 20, { shared: false });
      m.advise('dontfork');
      view = m.view(4096, 10);
      view.write('survives');
      address = m.baseAddress;
    })();
    global.gc();
    setTimeout(() => {
      global.gc();
      const alive = holds(address) && view.toString('latin1', 0, 8);
      view = undefined;
      global.gc();
      setTimeout(() => {
        global.gc();
        setTimeout(() => console.log(alive, holds(address) ? 'still mapped' : 'unmapped'), 50);
      }, 50);
    }, 50);
  `, { nodeFlags: ['--expose-gc'] });
  expect(result.stderr).toBe('');
  expect(result.stdout.trim()).toBe('survives unmapped');
});
