// `kmmap dump` shows a file's bytes through a mapping exactly as
// `hexdump -C` shows them, and its --json output is those bytes.
import { execFileSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PAGE_SIZE } from '../../dist/index.js';
import { runCli, tempDir } from '../helpers';

// Each test starts the command several times: timeouts allow for a slow machine
// (the VM's software emulation).
describe('kmmap dump', { timeout: 60_000 }, () => {
  let tmp: ReturnType<typeof tempDir>;
  let file: string;
  let bytes: Buffer;
  beforeAll(() => {
    tmp = tempDir();
    file = path.join(tmp.dir, 'data');
    // Random bytes, a run of identical lines hexdump collapses into '*',
    // printable text, and a partial last line; over two pages.
    bytes = Buffer.concat([crypto.randomBytes(1000), Buffer.alloc(3000, 0), Buffer.from('Hello, kmmap!\n'.repeat(300)), crypto.randomBytes(13)]);
    fs.writeFileSync(file, bytes);
  });
  afterAll(() => tmp.remove());

  const hexdump = (...args: string[]) => execFileSync('hexdump', ['-C', ...args, file], { encoding: 'utf8' });

  it('prints exactly what hexdump -C prints for the whole file', () => {
    const result = runCli(['dump', file]);
    expect(result).toMatchObject({ status: 0, stderr: '' });
    expect(result.stdout).toBe(hexdump());
    expect(result.stdout).toMatch(/^\*$/m);
  });

  it('-v prints every line, as hexdump -C -v', () => {
    expect(runCli(['dump', file, '-v']).stdout).toBe(hexdump('-v'));
  });

  it('--offset and --length, aligned or not, in decimal or hex, match hexdump -C -s -n', () => {
    const cases: [string, string][] = [['0', '16'], ['5', '100'], [String(PAGE_SIZE), '777'], ['0x1003', '0x20'], ['4095', '2'], ['1000', '3000']];
    for (const [offset, length] of cases) {
      const result = runCli(['dump', file, '--offset', offset, '--length', length]);
      expect(result.status, `${offset}+${length}`).toBe(0);
      expect(result.stdout, `${offset}+${length}`).toBe(hexdump('-s', String(Number(offset)), '-n', String(Number(length))));
    }
    // --offset alone: to the end of the file.
    expect(runCli(['dump', file, '--offset', '4097']).stdout).toBe(hexdump('-s', '4097'));
  });

  it('--json gives the bytes themselves', () => {
    const whole = JSON.parse(runCli(['dump', file, '--json']).stdout);
    expect(whole).toEqual({ path: file, offset: 0, length: bytes.length, hex: expect.any(String) });
    expect(Buffer.from(whole.hex, 'hex').equals(bytes)).toBe(true);
    const part = JSON.parse(runCli(['dump', file, '--offset', '4000', '--length', '200', '--json']).stdout);
    expect(Buffer.from(part.hex, 'hex').equals(bytes.subarray(4000, 4200))).toBe(true);
  });

  it('an empty file prints nothing; an offset at or past the end prints the end offset, as hexdump -C', () => {
    const empty = path.join(tmp.dir, 'empty');
    fs.writeFileSync(empty, '');
    expect(runCli(['dump', empty])).toMatchObject({ status: 0, stdout: '' });
    for (const offset of [bytes.length, bytes.length + 1, 10 * PAGE_SIZE]) {
      expect(runCli(['dump', file, '--offset', String(offset)])).toMatchObject({ status: 0, stdout: hexdump('-s', String(offset)) });
    }
  });

  it('past the end of a file: only the bytes the file has, as hexdump -C (never SIGBUS)', () => {
    const args = ['--offset', String(bytes.length - 10), '--length', String(2 * PAGE_SIZE)];
    const result = runCli(['dump', file, ...args]);
    expect(result).toMatchObject({ status: 0, stderr: '' });
    expect(result.stdout).toBe(hexdump('-s', args[1]!, '-n', args[3]!));
  });

  it('a device needs --length (ERR_KMMAP_LENGTH_REQUIRED); with it, /dev/zero dumps as zeros', () => {
    const missing = runCli(['dump', '/dev/zero']);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/\[ERR_KMMAP_LENGTH_REQUIRED\]/);
    const zeros = runCli(['dump', '/dev/zero', '--length', '64']);
    expect(zeros.stdout).toBe(`00000000  ${'00 '.repeat(8)} ${'00 '.repeat(8)} |${'.'.repeat(16)}|\n*\n00000040\n`);
  });
});
