// An argument whose getter closes or resizes the mapping (issue 11, class
// 9): the method reads its arguments first, then looks at the mapping as it
// is now, so it throws ERR_KMMAP_CLOSED, or checks the range against the new
// length, never an internal message from the addon.
import * as fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { KmmapDevice, map, type Mapping, PAGE_SIZE } from '../../dist/index.js';
import { expectError } from '../helpers';
import { smapsAt } from '../smaps';

/** An object whose `name` getter runs `effect` and then returns `value`. */
function trap<T>(name: string, effect: () => void, value: T): Record<string, T> {
  return Object.defineProperty({}, name, { enumerable: true, get: () => { effect(); return value; } });
}

const uses: [string, (m: Mapping, close: () => void) => unknown][] = [
  ['sync(range)', (m, close) => m.sync(trap('offset', close, 0))],
  ['sync(range.length)', (m, close) => m.sync(trap('length', close, 1))],
  ['sync(, options)', (m, close) => m.sync(undefined, trap('async', close, true))],
  ['advise(, range)', (m, close) => m.advise('willneed', trap('offset', close, 0))],
  ['lock(options)', (m, close) => m.lock(trap('onFault', close, true))],
  ['lock(, range)', (m, close) => m.lock({}, trap('length', close, 1))],
  ['unlock(range)', (m, close) => m.unlock(trap('offset', close, 0))],
  ['protect(, range)', (m, close) => m.protect('r', trap('length', close, 1))],
  ['residency(range)', (m, close) => m.residency(trap('offset', close, 0))],
  ['resize(, options)', (m, close) => m.resize(2 * PAGE_SIZE, trap('allowBeyondEnd', close, true))],
];

describe('a getter of an argument that closes the mapping', () => {
  it.each(uses)('%s throws ERR_KMMAP_CLOSED', (_name, use) => {
    const m = map.anonymous(4 * PAGE_SIZE);
    expectError(() => use(m, () => m.close()), { code: 'ERR_KMMAP_CLOSED' }, /closed mapping/);
    expect(m.closed).toBe(true);
  });
});

describe('a getter of an argument that resizes the mapping', () => {
  it('the range is checked against the new length: out of range now, or applied to the pages that are there', () => {
    using m = map.anonymous(4 * PAGE_SIZE, { shared: false });
    expectError(() => m.advise('willneed', trap('offset', () => m.resize(PAGE_SIZE), 3 * PAGE_SIZE)), { code: 'ERR_OUT_OF_RANGE' }, /range\.offset/);
    expect(m.length).toBe(PAGE_SIZE);
    const resident = m.residency(trap('length', () => m.resize(2 * PAGE_SIZE), 2 * PAGE_SIZE));
    expect(resident.length).toBe(2);
    m.protect('r', trap('offset', () => m.resize(3 * PAGE_SIZE), 2 * PAGE_SIZE));
    expect(m.length).toBe(3 * PAGE_SIZE);
    // Only the third page of the resized mapping became read-only.
    expect(smapsAt(m.address).header).toMatch(/ rw-p /);
    expect(smapsAt(m.address + BigInt(2 * PAGE_SIZE)).header).toMatch(/ r--p /);
  });

  it('resize() grows from the length the getter left', () => {
    using m = map.anonymous(4 * PAGE_SIZE);
    const buffer = m.resize(2 * PAGE_SIZE, trap('allowBeyondEnd', () => m.resize(PAGE_SIZE), false))!;
    expect(buffer.length).toBe(2 * PAGE_SIZE);
    buffer[2 * PAGE_SIZE - 1] = 9;
    expect(m.buffer[2 * PAGE_SIZE - 1]).toBe(9);
  });
});

describe('a getter of an option that closes a KmmapDevice', () => {
  // Opened by hand over /dev/null (through the constructor that open() uses,
  // private in the types): no module is needed to see the closed checks.
  const Device = KmmapDevice as unknown as new (fd: number, path: string, access: 'r' | 'rw') => KmmapDevice;
  const open = () => new Device(fs.openSync('/dev/null', 'r'), '/dev/kmmap', 'rw');

  it.each([
    ['map()', (dev: KmmapDevice) => dev.map(trap('offset', () => dev.close(), 0))],
    ['map() access', (dev: KmmapDevice) => dev.map(trap('access', () => dev.close(), 'r'))],
    ['checksum()', (dev: KmmapDevice) => dev.checksum(trap('length', () => dev.close(), 1))],
    ['fill()', (dev: KmmapDevice) => dev.fill(0, trap('offset', () => dev.close(), 0))],
  ])('%s throws ERR_KMMAP_CLOSED', (_name, use) => {
    const dev = open();
    try {
      expectError(() => use(dev), { code: 'ERR_KMMAP_CLOSED' }, /was closed/);
    } finally {
      dev.close();
    }
  });
});
