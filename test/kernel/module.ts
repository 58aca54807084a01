// Loading, unloading and watching kmmap.ko from the kernel tests. These run
// as root, inside the VM (npm test) or on a host where the module is loaded.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { REPO } from '../helpers';

/** The module built for the running kernel: the VM runner says where. */
export const MODULE_KO = process.env.KMMAP_KO ?? path.join(REPO, 'kernel', 'kmmap.ko');

export function run(command: string, args: string[]) {
  const result = spawnSync(command, args, { encoding: 'utf8', timeout: 60_000 });
  if (result.error) throw result.error;
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

export const rmmod = () => run('rmmod', ['kmmap']);
/** insmod with module parameters, e.g. ['backing=vmalloc', 'size=65536']. */
export const insmod = (params: string[] = []) => run('insmod', [MODULE_KO, ...params]);

/** Unloads the module if loaded and loads it with `params`; throws on failure. */
export function reload(params: string[] = []): void {
  if (isLoaded()) {
    const out = rmmod();
    if (out.status !== 0) throw new Error(`rmmod kmmap failed: ${out.stderr}`);
  }
  const out = insmod(params);
  if (out.status !== 0) throw new Error(`insmod ${MODULE_KO} ${params.join(' ')} failed: ${out.stderr}`);
}

export function isLoaded(): boolean {
  return fs.existsSync('/sys/module/kmmap');
}

/** Module references held (by live mappings, for kmmap). */
export function refcount(): number {
  return Number(fs.readFileSync('/sys/module/kmmap/refcnt', 'utf8'));
}

export function dmesg(): string[] {
  const result = run('dmesg', []);
  if (result.status !== 0) throw new Error(`dmesg failed: ${result.stderr}`);
  return result.stdout.split('\n').filter((line) => line !== '');
}

/** Kernel log lines that mean something went wrong in the kernel. */
export const KERNEL_TROUBLE = /WARNING:|BUG:|Oops|general protection|Call Trace|kernel BUG|refcount_t|list_(add|del) corruption|Bad page|UBSAN|KASAN|stack-protector/;

/** Trouble lines the kernel logged since the log had `before` lines. */
export function troubleSince(before: number): string[] {
  return dmesg()
    .slice(before)
    .filter((line) => KERNEL_TROUBLE.test(line));
}
