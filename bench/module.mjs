// Reloading kmmap.ko with other parameters, for the kernel cases. Needs
// root and a kernel that can load the module (the VM, or a host where it
// is loaded already). Loading and unloading are scripts/lib/module.cjs's.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MODULE_SYSFS } from '../scripts/lib/module.cjs';

export { reload } from '../scripts/lib/module.cjs';

const PARAMETERS = path.join(MODULE_SYSFS, 'parameters');
/**
 * What /sys/module/kmmap/parameters shows that is a reading, not a setting:
 * insmod refuses it (docs/kernel.md, pages_held).
 */
const READINGS = new Set(['pages_held']);

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
