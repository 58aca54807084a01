// Reloading kmmap.ko with other parameters, for the kernel cases. Needs
// root and a kernel that can load the module (the VM, or a host where it
// is loaded already).
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { REPO } from './paths.mjs';

/** The module built for the running kernel: the VM runner says where. */
export const MODULE_KO = process.env.KMMAP_KO ?? path.join(REPO, 'kernel', 'kmmap.ko');
const PARAMETERS = '/sys/module/kmmap/parameters';
/**
 * What /sys/module/kmmap/parameters shows that is a reading, not a setting:
 * insmod refuses it (docs/kernel.md, pages_held).
 */
const READINGS = new Set(['pages_held']);

function run(command, args) {
  const result = spawnSync(command, args, { encoding: 'utf8', timeout: 120_000 });
  if (result.error) throw new Error(`${command}: ${result.error.message}`);
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed: ${result.stderr.trim()}`);
}

/**
 * The parameters the module is loaded with now, to give back to reload() at
 * the end (its readings left out).
 * @returns {Record<string, string> | null} null when not loaded
 */
export function currentParameters() {
  if (!fs.existsSync(PARAMETERS)) return null;
  return Object.fromEntries(
    fs
      .readdirSync(PARAMETERS)
      .filter((name) => !READINGS.has(name))
      .map((name) => [name, fs.readFileSync(path.join(PARAMETERS, name), 'utf8').trim()]),
  );
}

/**
 * Unloads the module if it is loaded and loads it with `parameters`
 * (e.g. { size: 268435456, backing: 'contig' }); the module's defaults for
 * the rest.
 * @param {Record<string, string | number>} parameters
 */
export function reload(parameters) {
  if (fs.existsSync('/sys/module/kmmap')) run('rmmod', ['kmmap']);
  if (!fs.existsSync(MODULE_KO)) throw new Error(`${MODULE_KO} is missing: build it with make -C kernel, or run in the VM`);
  run('insmod', [MODULE_KO, ...Object.entries(parameters).map(([name, value]) => `${name}=${value}`)]);
}
