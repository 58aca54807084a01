// Bytes past a file's end are never passed off as the file's (issue 11,
// class 7): in the last page they read as zeros and what is written there
// never reaches the file, so map() and resize() refuse them unless
// allowBeyondEnd, and `kmmap dump` stops at the end as hexdump -C does.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { map, PAGE_SIZE } from '../../dist/index.js';
import { expectError, perTestFiles, runCli } from '../helpers';

const files = perTestFiles();

describe('map() and resize() of a file', () => {
  it('refuse a length that reaches past the end inside the last page, for every access', () => {
    const five = files.fileOf(Buffer.from('hello'));
    for (const access of ['r', 'rw', 'copy'] as const) {
      expectError(() => map(five, { access, length: 64 }), { code: 'ERR_KMMAP_BEYOND_END' },
        /64 bytes at offset 0 reaches past the end of .* \(5 bytes\): bytes past the end are not the file's \(writes to them are lost\)/);
    }
    expectError(() => map(five, { offset: 3, length: 3 }), { code: 'ERR_KMMAP_BEYOND_END' });
    using exact = map(five, { offset: 3, length: 2 });
    expect(exact.buffer.toString()).toBe('lo');
  });

  it('with allowBeyondEnd, map the tail, which reads as zeros and whose writes never reach the file', () => {
    const five = files.fileOf(Buffer.from('hello'));
    using m = map(five, { access: 'rw', length: 64, allowBeyondEnd: true });
    expect(m.buffer.subarray(5).every((byte) => byte === 0)).toBe(true);
    m.buffer.write('!', 10);
    m.sync();
    expect(fs.readFileSync(five)).toEqual(Buffer.from('hello'));
  });

  it('resize() refuses to grow past the end by even a byte, unless allowed', () => {
    const five = files.fileOf(Buffer.from('hello'));
    using m = map(five, { access: 'rw' });
    expect(m.length).toBe(5);
    expectError(() => m.resize(6), { code: 'ERR_KMMAP_BEYOND_END' }, /\(5 bytes\)/);
    expect(m.resize(6, { allowBeyondEnd: true })!.length).toBe(6);
    fs.appendFileSync(five, '!!');
    expect(m.resize(7)!.toString()).toBe('hello!!');
  });
});

describe('kmmap dump', { timeout: 60_000 }, () => {
  const hexdump = (file: string, ...args: string[]) => execFileSync('hexdump', ['-C', ...args, file], { encoding: 'utf8' });

  it('stops at the end of the file wherever --offset and --length point, exactly as hexdump -C', () => {
    const five = files.fileOf(Buffer.from('hello'));
    const cases = [['--length', '64'], ['--offset', '100'], ['--offset', '5'], ['--offset', '3', '--length', '100'], ['--offset', String(PAGE_SIZE), '--length', '1']];
    for (const args of cases) {
      const result = runCli(['dump', five, ...args]);
      expect(result.status, args.join(' ')).toBe(0);
      expect(result.stdout, args.join(' ')).toBe(hexdump(five, ...args.map((arg) => ({ '--offset': '-s', '--length': '-n' }[arg] ?? arg))));
    }
    expect(JSON.parse(runCli(['dump', five, '--length', '64', '--json']).stdout)).toEqual({ path: five, offset: 0, length: 5, hex: '68656c6c6f' });
  });

  it('asks for --length for a kernel file whose size stat says is 0, rather than printing nothing', () => {
    const result = runCli(['dump', '/proc/version']);
    expect(result.status).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/\/proc\/version is a device or a kernel file whose size stat cannot tell \(it says 0\): give --length.*\[ERR_KMMAP_LENGTH_REQUIRED\]/);
    expect(result.stderr).not.toMatch(/options\.length/);
  });

  it('reads /dev/zero at any offset (mapped privately: a shared mapping there would be past its memory)', () => {
    const result = runCli(['dump', '/dev/zero', '--offset', String(2 * PAGE_SIZE + 3), '--length', '20']);
    expect(result).toMatchObject({ status: 0, stderr: '' });
    expect(result.stdout).toBe(hexdump('/dev/zero', '-s', String(2 * PAGE_SIZE + 3), '-n', '20'));
  });
});
