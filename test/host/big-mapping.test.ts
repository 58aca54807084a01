// Mappings larger than a Buffer can be, and offsets beyond 4 GiB, on a
// sparse file (it costs no disk or RAM): windows through view() reach every
// byte, and 64-bit offsets are given as bigint.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { constants as bufferConstants } from 'node:buffer';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { map, PAGE_SIZE } from '../../dist/index.js';
import { expectError, tempDir } from '../helpers';

const GiB = 2 ** 30;
const SIZE = 5 * GiB + 3 * PAGE_SIZE;
const MARKS: [number, string][] = [
  [0, 'first'],
  [4 * GiB + 100, 'past 4 GiB'],
  [SIZE - 4, 'last'],
];

let tmp: ReturnType<typeof tempDir>;
let file: string;
beforeAll(() => {
  tmp = tempDir();
  file = path.join(tmp.dir, 'sparse');
  const fd = fs.openSync(file, 'w+');
  fs.ftruncateSync(fd, SIZE);
  for (const [offset, text] of MARKS) fs.writeSync(fd, text, offset, 'latin1');
  fs.closeSync(fd);
});
afterAll(() => tmp.remove());

function readAt(offset: number, length: number): string {
  const fd = fs.openSync(file, 'r');
  try {
    const out = Buffer.alloc(length);
    fs.readSync(fd, out, 0, length, offset);
    return out.toString('latin1');
  } finally {
    fs.closeSync(fd);
  }
}

it('maps a 5 GiB file whole; view() windows reach every part of it', () => {
  expect(fs.statSync(file).blocks * 512).toBeLessThan(1 << 20); // sparse indeed
  using m = map(file, { access: 'rw' });
  expect(m.length).toBe(SIZE);
  for (const [offset, text] of MARKS) {
    expect(m.view(offset, text.length).toString('latin1')).toBe(text);
  }
  const window = m.view(4.5 * GiB, PAGE_SIZE);
  window.write('written at 4.5 GiB');
  m.sync({ offset: 4.5 * GiB, length: PAGE_SIZE });
  expect(readAt(4.5 * GiB, 18)).toBe('written at 4.5 GiB');
  expect(m.residency({ offset: 4.5 * GiB, length: 1 })[0]).toBe(1);
  m.advise('sequential');
});

it(`buffer covers it all where Buffers may be that large, and names view() where they may not (MAX_LENGTH ${bufferConstants.MAX_LENGTH})`, () => {
  using m = map(file);
  if (SIZE > bufferConstants.MAX_LENGTH) {
    expectError(() => m.buffer, { code: 'ERR_KMMAP_TOO_LARGE_FOR_BUFFER' }, /view\(offset, length\)/);
    expectError(() => m.view(0), { code: 'ERR_OUT_OF_RANGE' }, /MAX_LENGTH/);
    expectError(() => m.view(0, bufferConstants.MAX_LENGTH + 1), { code: 'ERR_OUT_OF_RANGE' }, /"length"/);
    expect(m.view(0, bufferConstants.MAX_LENGTH).length).toBe(bufferConstants.MAX_LENGTH);
  } else {
    expect(m.buffer.length).toBe(SIZE);
    expect(m.buffer.toString('latin1', 4 * GiB + 100, 4 * GiB + 110)).toBe('past 4 GiB');
    expect(m.view(0).length).toBe(SIZE);
  }
});

it('close() detaches windows over a mapping too large for one Buffer', () => {
  const m = map(file);
  const windows = [m.view(0, 10), m.view(5 * GiB, PAGE_SIZE)];
  m.close();
  for (const window of windows) expect(window.length).toBe(0);
  expect(m.buffer.length).toBe(0);
});

it('maps at a 64-bit offset given as a bigint, not page-aligned', () => {
  using m = map(file, { offset: BigInt(4 * GiB + 100), length: 10 });
  expect(m.offset).toBe(BigInt(4 * GiB + 100));
  expect(m.buffer.toString('latin1')).toBe('past 4 GiB');
  expect(m.address - m.baseAddress).toBe(100n);
});

it('resize() across the Buffer maximum returns null when no single Buffer can hold it', () => {
  using m = map(file, { length: PAGE_SIZE });
  const grown = m.resize(SIZE);
  expect(m.length).toBe(SIZE);
  if (SIZE > bufferConstants.MAX_LENGTH) expect(grown).toBeNull();
  else expect(grown!.length).toBe(SIZE);
  expect(m.view(SIZE - 4, 4).toString('latin1')).toBe('last');
  const shrunk = m.resize(PAGE_SIZE)!;
  expect(shrunk.toString('latin1', 0, 5)).toBe('first');
});
