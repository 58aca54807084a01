// Loading, unloading and watching kmmap.ko from the kernel tests. These run
// as root, inside the VM (npm test) or on a host where the module is loaded.
// Loading and the kernel-trouble pattern are scripts/lib's, which the
// scripts and the benchmarks use too.
import { capture } from '../../scripts/lib/run.cjs';
import { troubleLines } from '../../scripts/lib/kernel-trouble.cjs';

export { capture } from '../../scripts/lib/run.cjs';
export { insmod, isLoaded, MODULE_KO, refcount, reload, rmmod } from '../../scripts/lib/module.cjs';
export { isTrouble } from '../../scripts/lib/kernel-trouble.cjs';

export function dmesg(): string[] {
  const result = capture('dmesg', []);
  if (result.status !== 0) throw new Error(`dmesg failed: ${result.stderr}`);
  return result.stdout.split('\n').filter((line) => line !== '');
}

/** Trouble lines the kernel logged since the log had `before` lines. */
export function troubleSince(before: number): string[] {
  return troubleLines(dmesg().slice(before));
}
