// The kernel cases (need /dev/kmmap). Placeholder until the device exists.

/**
 * Runs the kernel cases where /dev/kmmap exists, or reports why not.
 * @param {{ tiny: boolean, log: (line: string) => void }} options
 * @returns {Promise<{ cases: import('./result.mjs').CaseResult[], skipped: { id: string, reason: string }[] }>}
 */
export async function runKernelPart() {
  return { cases: [], skipped: [{ id: 'kernel', reason: 'not yet written' }] };
}
