// mmap-io, the npm package kmmap is compared with in the map-cycle case. It
// is installed for the benchmark only, into .bench-cache/ (git-ignored),
// never as a dependency of kmmap: the project's own `npm ci` never builds it.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { BENCH_CACHE } from './paths.mjs';

/** The version compared with. */
export const MMAP_IO_VERSION = '1.1.7';

/**
 * @typedef {object} MmapIoModule
 * @property {(size: number, prot: number, flags: number, fd: number, offset?: number) => Buffer} map
 * @property {number} PROT_READ
 * @property {number} MAP_SHARED
 */

/**
 * @typedef {{ module: MmapIoModule, prefix: string, reason?: undefined } | { module?: undefined, reason: string }} MmapIoResult
 */

function load(prefix) {
  const require = createRequire(path.join(prefix, 'index.js'));
  return require('mmap-io');
}

/** The last lines of a long output, where npm and node-gyp say what failed. */
function tail(text, lines = 12) {
  return text.trim().split('\n').slice(-lines).join('\n');
}

/**
 * Loads mmap-io from the bench cache, installing it there first if needed.
 * Never throws: when it cannot be had, `reason` says why.
 * @param {{ log: (line: string) => void }} io
 * @returns {MmapIoResult}
 */
export function loadMmapIo({ log }) {
  const prefix = path.join(BENCH_CACHE, `mmap-io-${MMAP_IO_VERSION}`);
  try {
    return { module: load(prefix), prefix };
  } catch {
    // not installed yet, or a broken earlier install: (re)install below
  }
  log(`installing mmap-io@${MMAP_IO_VERSION} for the benchmark into ${prefix} ...`);
  fs.rmSync(prefix, { recursive: true, force: true });
  fs.mkdirSync(prefix, { recursive: true });
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const result = spawnSync(
    npm,
    ['install', '--prefix', prefix, '--no-save', '--no-package-lock', '--no-audit', '--no-fund', `mmap-io@${MMAP_IO_VERSION}`],
    {
      encoding: 'utf8',
      // As published it asks for -std=c++11, which Node 20's headers reject;
      // a later -std wins.
      env: { ...process.env, CXXFLAGS: `${process.env.CXXFLAGS ?? ''} -std=gnu++17`.trim() },
      timeout: 600_000,
    },
  );
  if (result.error) return { reason: `npm install mmap-io@${MMAP_IO_VERSION} could not run: ${result.error.message}` };
  if (result.status !== 0) {
    return { reason: `npm install mmap-io@${MMAP_IO_VERSION} failed (status ${result.status}):\n${tail(`${result.stdout}\n${result.stderr}`)}` };
  }
  try {
    return { module: load(prefix), prefix };
  } catch (err) {
    return { reason: `mmap-io@${MMAP_IO_VERSION} installed but does not load: ${err.message.split('\n')[0]}` };
  }
}
