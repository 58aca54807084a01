// The C counterparts: small programs under bench/c/ (see protocol.h),
// compiled with gcc -O2 when the bench runs, cached by source hash in
// .bench-cache/ (git-ignored), and run as coprocesses (coprocess.mjs).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BENCH_CACHE, REPO } from './paths.mjs';

const SOURCES = path.join(REPO, 'bench', 'c');
const CFLAGS = ['-O2', '-Wall', '-Wextra', '-Werror', '-std=gnu11'];

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
  const version = spawnSync('gcc', ['--version'], { encoding: 'utf8' });
  if (version.error) throw new Error(`gcc is needed for the C counterparts: ${version.error.message}`);
  const key = createHash('sha256').update(text).update(CFLAGS.join(' ')).update(version.stdout).digest('hex').slice(0, 16);
  const dir = path.join(BENCH_CACHE, 'c');
  const binary = path.join(dir, `${name}-${key}`);
  if (fs.existsSync(binary)) return binary;
  fs.mkdirSync(dir, { recursive: true });
  // Built under a unique name and renamed, so that concurrent runs never
  // execute a half-written binary.
  const partial = `${binary}.${process.pid}.tmp`;
  const result = spawnSync('gcc', [...CFLAGS, '-o', partial, source], { encoding: 'utf8' });
  if (result.status !== 0) {
    fs.rmSync(partial, { force: true });
    throw new Error(`gcc failed on ${path.relative(REPO, source)}:\n${result.stderr}`);
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
