// Compiling the project's C programs (test/c/, bench/c/, ...) the one way:
// the compiler $CC (default cc), the flags of scripts/lib/cflags, and
// kernel/uapi on the include path. scripts/lib/common.sh does the same for
// bash (kfuzz, kstress).
'use strict';
const { execFile, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { promisify } = require('node:util');
const { REPO } = require('./paths.cjs');

/** The C compiler. */
const CC = process.env.CC ?? 'cc';

/** The flags of scripts/lib/cflags, then kernel/uapi on the include path. */
const CFLAGS = [
  ...fs
    .readFileSync(path.join(__dirname, 'cflags'), 'utf8')
    .split('\n')
    .filter((line) => !line.startsWith('#'))
    .join(' ')
    .split(/\s+/)
    .filter((flag) => flag !== ''),
  '-I',
  path.join(REPO, 'kernel', 'uapi'),
];

/**
 * The compiler's arguments for `sources` into `output`, `extra` flags after
 * the common ones (e.g. ['-shared', '-fPIC']).
 * @param {string[]} sources
 * @param {string} output
 * @param {string[]} extra
 */
function compilerArgs(sources, output, extra) {
  return [...CFLAGS, ...extra, '-o', output, ...sources];
}

/**
 * Compiles `sources` into `output`; throws with the compiler's messages
 * when it fails.
 * @param {string[]} sources
 * @param {string} output
 * @param {{ extra?: string[] }} [options]
 * @returns {string} output
 */
function compileC(sources, output, options = {}) {
  execFileSync(CC, compilerArgs(sources, output, options.extra ?? []), { stdio: ['ignore', 'pipe', 'pipe'] });
  return output;
}

/**
 * compileC() without blocking, for compiling several programs at once.
 * @param {string[]} sources
 * @param {string} output
 * @param {{ extra?: string[] }} [options]
 * @returns {Promise<string>} output
 */
async function compileCAsync(sources, output, options = {}) {
  await promisify(execFile)(CC, compilerArgs(sources, output, options.extra ?? []));
  return output;
}

/**
 * Compiles test/c/<source> into `dir`, named after the source without .c;
 * returns the binary's path.
 * @param {string} source e.g. 'pagemap_reader.c'
 * @param {string} dir
 */
function compileTestProgram(source, dir) {
  return compileC([path.join(REPO, 'test', 'c', source)], path.join(dir, path.basename(source, '.c')));
}

module.exports = { CC, CFLAGS, compileC, compileCAsync, compileTestProgram };
