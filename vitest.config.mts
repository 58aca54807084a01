import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * Kernel test files share one loaded module, and dmesg-clean must judge the
 * whole suite, so they run one at a time in a fixed order: by name, with
 * module-lifetime (which unloads and reloads the module) and dmesg-clean last.
 * Vitest takes the sequencer from the root config only (a project's own
 * `sequence.sequencer` is ignored), so it sorts every project's files; the
 * host project runs its files in parallel anyway.
 */
const KERNEL_LAST = ['module-lifetime.test.ts', 'dmesg-clean.test.ts'];

class KernelSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const rank = (file: TestSpecification) => KERNEL_LAST.findIndex((name) => file.moduleId.endsWith(`/${name}`));
    return [...files].sort((a, b) => rank(a) - rank(b) || a.moduleId.localeCompare(b.moduleId));
  }
}

export default defineConfig({
  test: {
    sequence: { sequencer: KernelSequencer },
    projects: [
      {
        test: {
          name: 'host',
          include: ['test/host/**/*.test.ts'],
        },
      },
      {
        test: {
          name: 'kernel',
          include: ['test/kernel/**/*.test.ts'],
          globalSetup: ['test/kernel/global-setup.ts'],
          fileParallelism: false,
          testTimeout: 60_000,
        },
      },
    ],
  },
});
