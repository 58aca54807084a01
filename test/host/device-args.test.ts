// KmmapDevice without the module: what a user sees when the device is
// missing, when the path is some other file, and after close().
import * as fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { KmmapDevice } from '../../dist/index.js';
import { expectError } from '../helpers';

describe('KmmapDevice.open', () => {
  it('says the module is not loaded when /dev/kmmap is missing (and opens it where it exists)', () => {
    if (fs.existsSync('/dev/kmmap')) {
      const dev = KmmapDevice.open();
      expect(dev.size).toBeGreaterThan(0);
      dev.close();
      return;
    }
    expectError(() => KmmapDevice.open(), { code: 'ENOENT', syscall: 'open', path: '/dev/kmmap' },
      /Is the kmmap module loaded\?/);
  });

  it('refuses a file that is not /dev/kmmap: ENOTTY from its first ioctl, and leaks no fd', () => {
    const before = fs.readdirSync('/proc/self/fd').length;
    expectError(() => KmmapDevice.open({ path: '/dev/null' }), { code: 'ENOTTY', syscall: 'ioctl', path: '/dev/null' });
    expect(fs.readdirSync('/proc/self/fd').length).toBe(before);
  });

  it('checks its options before opening anything', () => {
    expectError(() => KmmapDevice.open({ method: 'mmap' as never }), { code: 'ERR_INVALID_ARG_VALUE' },
      /'fault', 'fault_around', 'pages', 'pfn', 'vmalloc'/);
    expectError(() => KmmapDevice.open({ access: 'w' as never }), { code: 'ERR_INVALID_ARG_VALUE' });
    expectError(() => KmmapDevice.open({ path: 42 as never }), { code: 'ERR_INVALID_ARG_TYPE' });
    expectError(() => KmmapDevice.open(null as never), { code: 'ERR_INVALID_ARG_TYPE' });
  });
});

describe('a closed KmmapDevice', () => {
  // Made by hand over /dev/null (through the constructor that open() uses,
  // private in the types): only close() and the closed checks run.
  const Device = KmmapDevice as unknown as new (fd: number, path: string, access: 'r' | 'rw') => KmmapDevice;
  const dev = new Device(fs.openSync('/dev/null', 'r'), '/dev/kmmap', 'rw');
  dev.close();

  it('is closed, has fd -1, and close() again is a no-op', () => {
    expect(dev.closed).toBe(true);
    expect(dev.fd).toBe(-1);
    expect(() => dev.close()).not.toThrow();
  });

  it.each([
    ['size', (d: KmmapDevice) => d.size],
    ['backing', (d: KmmapDevice) => d.backing],
    ['info()', (d: KmmapDevice) => d.info()],
    ['method', (d: KmmapDevice) => d.method],
    ['method =', (d: KmmapDevice) => { d.method = 'pages'; }],
    ['pfns()', (d: KmmapDevice) => d.pfns()],
    ['fill()', (d: KmmapDevice) => d.fill(0)],
    ['checksum()', (d: KmmapDevice) => d.checksum()],
    ['map()', (d: KmmapDevice) => d.map()],
  ])('%s throws ERR_KMMAP_CLOSED', (_, use) => {
    expectError(() => use(dev), { code: 'ERR_KMMAP_CLOSED' }, /was closed: open it again/);
  });
});
