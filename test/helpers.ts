// Helpers shared by host and kernel tests.
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, expect } from 'vitest';

export const REPO = path.resolve(__dirname, '..');

// Compiling test/c/ programs (and any other C) the project's one way.
export { CC, CFLAGS, compileC, compileCAsync, compileTestProgram } from '../scripts/lib/compile.cjs';

/** A fresh directory under the OS temp dir, removed by the returned function. */
export function tempDir(prefix = 'kmmap-'): { dir: string; remove: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  return { dir, remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/**
 * A fresh temp directory for each test of the calling file (made in
 * beforeEach, removed in afterEach), and `fileOf` to write a file into it.
 */
export function perTestFiles(): { readonly dir: string; fileOf: (bytes: Buffer, name?: string) => string } {
  let tmp: ReturnType<typeof tempDir> | undefined;
  beforeEach(() => {
    tmp = tempDir();
  });
  afterEach(() => tmp?.remove());
  const files = {
    get dir(): string {
      if (!tmp) throw new Error('perTestFiles: use it inside a test');
      return tmp.dir;
    },
    fileOf(bytes: Buffer, name = 'data.bin'): string {
      const file = path.join(files.dir, name);
      fs.writeFileSync(file, bytes);
      return file;
    },
  };
  return files;
}

/** Expects `fn` to throw an error carrying all of `fields` (code, errno, ...). */
export function expectError(fn: () => unknown, fields: Record<string, unknown>, message?: RegExp): Error {
  let thrown: unknown;
  try {
    fn();
  } catch (err) {
    thrown = err;
  }
  expect(thrown, 'expected an error').toBeInstanceOf(Error);
  expect(thrown).toMatchObject(fields);
  if (message) expect((thrown as Error).message).toMatch(message);
  return thrown as Error;
}

export const isRoot = process.getuid?.() === 0;
export const NOBODY = 65534;

let publicCopy: string | undefined;
/**
 * The directory a process of another user runs from: a copy of what
 * `require('./dist')` needs (dist/, the addon, package.json, node-gyp-build)
 * in a fresh world-readable directory under the OS temp dir. The checkout
 * itself may be one that other users cannot enter (a clone in root's 0700
 * home directory), so nothing running as them may depend on it. Made once
 * per test process, removed when it exits.
 */
export function publicPackageDir(): string {
  if (publicCopy) return publicCopy;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kmmap-public-'));
  process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  for (const part of ['package.json', 'dist', path.join('build', 'Release', 'kmmap.node'), path.join('node_modules', 'node-gyp-build')]) {
    fs.cpSync(path.join(REPO, part), path.join(dir, part), { recursive: true });
  }
  // mkdtemp makes 0700; the copy must be enterable and readable by anyone.
  execFileSync('chmod', ['-R', 'a+rX', dir]);
  publicCopy = dir;
  return dir;
}

/** Where a child runs from: the checkout for this user, the public copy for another. */
export function childCwd(uid: number | undefined): string {
  return uid === undefined || uid === process.getuid?.() ? REPO : publicPackageDir();
}

/**
 * Runs a script with node in a child process, with extra node flags, and as
 * another user when `uid` is given (the parent must be root). The script's
 * `require('./dist')` finds kmmap either way. Returns its exit status and
 * output.
 */
export function runNode(script: string, options: { uid?: number; gid?: number; nodeFlags?: string[]; timeout?: number; env?: Record<string, string> } = {}) {
  const result = spawnSync(process.execPath, [...(options.nodeFlags ?? []), '-e', script], {
    cwd: childCwd(options.uid),
    env: options.env === undefined ? undefined : { ...process.env, ...options.env },
    encoding: 'utf8',
    uid: options.uid,
    gid: options.gid,
    timeout: options.timeout ?? 60_000,
    killSignal: 'SIGKILL',
  });
  if (result.error) throw result.error;
  return { status: result.status, signal: result.signal, stdout: result.stdout, stderr: result.stderr };
}

/** Runs the kmmap command (dist/cli.js) with `args`, as another user when `uid` is given. */
export function runCli(args: string[], options: { uid?: number; gid?: number; timeout?: number } = {}) {
  const cwd = childCwd(options.uid);
  const result = spawnSync(process.execPath, [path.join(cwd, 'dist', 'cli.js'), ...args], {
    cwd,
    encoding: 'utf8',
    uid: options.uid,
    gid: options.gid,
    timeout: options.timeout ?? 60_000,
    killSignal: 'SIGKILL',
    maxBuffer: 256 * 1024 * 1024,
  });
  if (result.error) throw result.error;
  return { status: result.status, signal: result.signal, stdout: result.stdout, stderr: result.stderr };
}
