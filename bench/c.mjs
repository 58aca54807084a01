// The C counterparts: small programs under bench/c/ (see protocol.h),
// compiled the project's one way (scripts/lib/compile.cjs) when the bench
// runs, cached by source hash in .bench-cache/ (git-ignored), and run as
// coprocesses (coprocess.mjs).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CC, CFLAGS, compileC } from '../scripts/lib/compile.cjs';
import { BENCH_CACHE, REPO } from './paths.mjs';

const SOURCES = path.join(REPO, 'bench', 'c');

/**
 * Compiles bench/c/<name>.c unless a binary of the same sources, flags and
 * compiler is cached, and returns the binary's path.
 * @param {string} name
 */
export function compile(name) {
  const source = path.join(SOURCES, `${name}.c`);
  // The source and the headers every program includes.
  const headers = fs.readdirSync(SOURCES).filter((f) => f.endsWith('.h')).sort();
  const text = Buffer.concat([source, ...headers.map((h) => path.join(SOURCES, h))].map((f) => fs.readFileSync(f)));
  const version = spawnSync(CC, ['--version'], { encoding: 'utf8' });
  if (version.error) throw new Error(`${CC} is needed for the C counterparts: ${version.error.message}`);
  const key = createHash('sha256').update(text).update(CFLAGS.join(' ')).update(version.stdout).digest('hex').slice(0, 16);
  const dir = path.join(BENCH_CACHE, 'c');
  const binary = path.join(dir, `${name}-${key}`);
  if (fs.existsSync(binary)) return binary;
  fs.mkdirSync(dir, { recursive: true });
  // Built under a unique name and renamed, so that concurrent runs never
  // execute a half-written binary.
  const partial = `${binary}.${process.pid}.tmp`;
  try {
    compileC([source], partial);
  } catch (error) {
    fs.rmSync(partial, { force: true });
    throw new Error(`${CC} failed on ${path.relative(REPO, source)}:\n${error.stderr ?? error.message}`);
  }
  fs.renameSync(partial, binary);
  return binary;
}

/**
 * A C counterpart ready to start with withCoprocesses(): compiled if needed.
 * @param {string} name program under bench/c/, without .c
 * @param {string[]} args its set-up arguments
 * @returns {import('./coprocess.mjs').CoprocessSpec}
 */
export function cProgram(name, args) {
  return { label: `bench/c/${name}.c ${args.join(' ')}`, command: compile(name), args };
}
