// Starts the kernel cases (kernel.mjs) where /dev/kmmap can be had: right
// here when the module is loaded on this machine (scripts/lib/module.cjs
// asks), otherwise in the VM
// runner (vm/run), which boots a real kernel with the module inserted.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isLoaded } from '../scripts/lib/module.cjs';
import { REPO, RESULTS_DIR } from './paths.mjs';

/** The kernel cases' ids, for --only. */
export const KERNEL_CASE_IDS = ['copy-kmmap', 'zero-copy-kmmap', 'kernel-methods'];
/** Guest memory: the 256 MiB buffer, Node, and room to spare. */
const VM_MEMORY_MIB = 2048;

/**
 * Runs the kernel cases and returns their results, or, when they could not
 * run, no cases and the reason (the table then leaves them out).
 * @param {{ tiny: boolean, only?: Set<string>, log: (line: string) => void }} options
 * @returns {Promise<{ machine?: object, cases: import('./result.mjs').CaseResult[], skipped: { id: string, reason: string }[] }>}
 */
export async function runKernelPart({ tiny, only, log }) {
  const wanted = KERNEL_CASE_IDS.filter((id) => !only || only.has(id));
  if (wanted.length === 0) return { cases: [], skipped: [] };
  // In the repository, which the VM shares read-write at the same path.
  fs.mkdirSync(RESULTS_DIR, { recursive: true });
  const json = path.join(RESULTS_DIR, `kernel-${process.pid}.json`);
  const script = ['bench/kernel.mjs', '--json', json, '--only', wanted.join(','), ...(tiny ? ['--tiny'] : [])];
  const here = isLoaded();
  const [command, args] = here
    ? [process.execPath, script]
    : ['bash', [path.join(REPO, 'vm', 'run'), '--memory', String(VM_MEMORY_MIB), '--', 'node', ...script]];
  log(here ? 'kernel: kmmap.ko is loaded here: running the kernel cases on this machine' : 'kernel: kmmap.ko is not loaded here: running the kernel cases in the VM (vm/run)');
  // The child's output is progress, like ours: stderr, so stdout stays the table.
  const result = spawnSync(command, args, { cwd: REPO, stdio: ['ignore', 2, 2] });
  try {
    if (result.error) return failed(wanted, `${command} could not run: ${result.error.message}`);
    if (result.status !== 0) {
      return failed(wanted, `${here ? 'bench/kernel.mjs' : 'the VM run'} exited with status ${result.status ?? result.signal} (its output is above)`);
    }
    if (!fs.existsSync(json)) return failed(wanted, `bench/kernel.mjs wrote no results to ${json}`);
    const { machine, cases } = JSON.parse(fs.readFileSync(json, 'utf8'));
    return { machine, cases, skipped: [] };
  } finally {
    fs.rmSync(json, { force: true });
  }
}

function failed(ids, reason) {
  return { cases: [], skipped: ids.map((id) => ({ id, reason })) };
}
