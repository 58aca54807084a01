// Before any kernel test: the module must be there (a kernel test never
// skips), and the kernel log's length is noted so that dmesg-clean judges
// only what the suite caused.
import type { TestProject } from 'vitest/node' with { 'resolution-mode': 'import' };
import { dmesg, isLoaded } from './module';

declare module 'vitest' {
  export interface ProvidedContext {
    dmesgLinesBefore: number;
  }
}

export default function setup(project: TestProject): void {
  if (!isLoaded()) {
    throw new Error(
      'The kernel tests need kmmap.ko loaded (/sys/module/kmmap is missing). Run `npm test`, ' +
        'which boots a VM when the module is not loaded, or `make -C kernel && sudo insmod kernel/kmmap.ko` first.',
    );
  }
  if (process.getuid?.() !== 0) throw new Error('The kernel tests load and unload the module: run them as root.');
  project.provide('dmesgLinesBefore', dmesg().length);
}
