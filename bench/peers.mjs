// The other runtimes' mmap, compared with kmmap in the map-cycle and scan
// cases: Python's mmap module (python3 from PATH, as every machine of this
// kind has it) and Bun's Bun.mmap (Bun from the npm registry, fetched for
// the benchmark only into .bench-cache/, never a dependency of kmmap). Each
// loader never throws: when a peer cannot be had, `reason` says why and its
// rows say n/a.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BENCH_CACHE } from './paths.mjs';

/** The Bun release line compared with (an npm version range). */
export const BUN_VERSION = '1.4';

/**
 * @typedef {{ command: string, version: string, reason?: undefined } | { command?: undefined, reason: string }} Peer
 */

/**
 * python3 from PATH, if it runs and has mmap.
 * @returns {Peer}
 */
export function findPython() {
  const command = process.env.KMMAP_BENCH_PYTHON ?? 'python3';
  const result = spawnSync(command, ['-c', 'import mmap, platform; print(platform.python_version())'], { encoding: 'utf8', timeout: 30_000 });
  if (result.error) return { reason: `${command} could not run: ${result.error.message}` };
  if (result.status !== 0) return { reason: `${command} has no mmap module: ${result.stderr.trim().split('\n').pop()}` };
  return { command, version: result.stdout.trim() };
}

/** @param {string} binary */
function bunVersion(binary) {
  const result = spawnSync(binary, ['--version'], { encoding: 'utf8', timeout: 30_000 });
  return result.status === 0 ? result.stdout.trim() : undefined;
}

/**
 * Bun's binary for this CPU, from the platform package the `bun` package
 * would install (@oven/bun-linux-x64 or -aarch64: the binary itself, with no
 * install script), fetched with `npm pack` into the bench cache once.
 * @param {{ log: (line: string) => void }} io
 * @returns {Peer}
 */
export function loadBun({ log }) {
  const cpu = { x64: 'x64', arm64: 'aarch64' }[process.arch];
  if (process.platform !== 'linux' || !cpu) return { reason: `no Bun build for ${process.platform}-${process.arch}` };
  const dir = path.join(BENCH_CACHE, `bun-${cpu}-${BUN_VERSION}`);
  const binary = path.join(dir, 'package', 'bin', 'bun');
  let version = fs.existsSync(binary) ? bunVersion(binary) : undefined;
  if (version) return { command: binary, version };
  const pkg = `@oven/bun-linux-${cpu}@${BUN_VERSION}`;
  log(`fetching ${pkg} for the benchmark into ${dir} ...`);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const npm = spawnSync('npm', ['pack', '--silent', '--pack-destination', dir, pkg], { encoding: 'utf8', timeout: 600_000 });
  if (npm.error || npm.status !== 0) {
    return { reason: `npm pack ${pkg} failed: ${npm.error?.message ?? npm.stderr.trim().split('\n').pop()}` };
  }
  const tarball = path.join(dir, npm.stdout.trim().split('\n').pop());
  const tar = spawnSync('tar', ['-xzf', tarball, '-C', dir], { encoding: 'utf8' });
  fs.rmSync(tarball, { force: true });
  if (tar.status !== 0) return { reason: `could not unpack ${pkg}: ${tar.stderr.trim()}` };
  version = bunVersion(binary);
  return version ? { command: binary, version } : { reason: `${pkg} unpacked, but ${binary} does not run` };
}
