// kmmap.ko from the scripts, the benchmarks and the kernel tests: whether it
// is loaded here, insmod, rmmod and reload with other parameters. Loading
// needs root and a kernel that can load the module (a vm/run guest, or a
// host where it is loaded already). scripts/lib/common.sh asks "is it
// loaded here?" the same way for bash.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { REPO } = require('./paths.cjs');
const { capture } = require('./run.cjs');

/** The module built for the running kernel: the VM runner says where. */
const MODULE_KO = process.env.KMMAP_KO ?? path.join(REPO, 'kernel', 'kmmap.ko');
/** What the kernel shows while the module is loaded, and only then. */
const MODULE_SYSFS = '/sys/module/kmmap';
/** rmmod and insmod may wait for a busy machine (and a debug kernel). */
const TIMEOUT = 120_000;

/** Whether kmmap.ko is loaded in the kernel this runs on. */
function isLoaded() {
  return fs.existsSync(MODULE_SYSFS);
}

/** rmmod kmmap: its status and output. */
function rmmod() {
  return capture('rmmod', ['kmmap'], { timeout: TIMEOUT });
}

/**
 * insmod of MODULE_KO with module parameters, e.g. ['backing=vmalloc',
 * 'size=65536'] or { backing: 'vmalloc', size: 65536 }: its status and
 * output.
 * @param {string[] | Record<string, string | number>} [params]
 */
function insmod(params = []) {
  const args = Array.isArray(params) ? params : Object.entries(params).map(([name, value]) => `${name}=${value}`);
  return capture('insmod', [MODULE_KO, ...args], { timeout: TIMEOUT });
}

/**
 * Unloads the module if it is loaded and loads it with `params` (as for
 * insmod; the module's defaults for the rest). Throws when either step
 * fails.
 * @param {string[] | Record<string, string | number>} [params]
 */
function reload(params = []) {
  if (isLoaded()) {
    const out = rmmod();
    if (out.status !== 0) throw new Error(`rmmod kmmap failed: ${out.stderr.trim()}`);
  }
  if (!fs.existsSync(MODULE_KO)) throw new Error(`${MODULE_KO} is missing: build it with make -C kernel, or run in the VM`);
  const out = insmod(params);
  if (out.status !== 0) throw new Error(`insmod ${MODULE_KO} ${JSON.stringify(params)} failed: ${out.stderr.trim()}`);
}

/** Module references held (by live mappings, for kmmap). */
function refcount() {
  return Number(fs.readFileSync(path.join(MODULE_SYSFS, 'refcnt'), 'utf8'));
}

module.exports = { MODULE_KO, MODULE_SYSFS, isLoaded, rmmod, insmod, reload, refcount };
