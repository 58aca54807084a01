// Why mlock2(2) failed. Its ENOMEM means either "over RLIMIT_MEMLOCK" or
// "a page could not be faulted in" (a page past a file's end, no free huge
// page, no memory): which one is told by this process's capabilities, its
// limit and what it has locked already, read from /proc when it fails.
import * as fs from 'node:fs';

const CAP_IPC_LOCK = 14n;

interface LockLimits {
  /** CAP_IPC_LOCK in the effective set: no limit applies. */
  privileged: boolean;
  /** The soft RLIMIT_MEMLOCK in bytes, or null for unlimited. */
  limit: bigint | null;
  /** Bytes this process has locked now (VmLck). */
  locked: bigint;
}

function lockLimits(): LockLimits | undefined {
  try {
    const status = fs.readFileSync('/proc/self/status', 'latin1');
    const limits = fs.readFileSync('/proc/self/limits', 'latin1');
    const caps = /^CapEff:\s*([0-9a-f]+)$/m.exec(status);
    const locked = /^VmLck:\s*(\d+) kB$/m.exec(status);
    const limit = /^Max locked memory\s+(\d+|unlimited)\s/m.exec(limits);
    if (!caps || !locked || !limit) return undefined;
    return {
      privileged: ((BigInt(`0x${caps[1]}`) >> CAP_IPC_LOCK) & 1n) === 1n,
      limit: limit[1] === 'unlimited' ? null : BigInt(limit[1]!),
      locked: BigInt(locked[1]!) * 1024n,
    };
  } catch {
    return undefined;
  }
}

const FAULT_CAUSES = 'a page could not be faulted in: one past the end of the file (a mapping made with allowBeyondEnd), ' +
  'a huge page when none is free, or memory the system or its cgroup cannot provide';

/** The hint for an mlock2 failure on `bytes` bytes, or undefined for codes it does not explain. */
export function lockFailureHint(code: string, bytes: number): string | undefined {
  if (code !== 'ENOMEM' && code !== 'EAGAIN' && code !== 'EPERM') return undefined;
  if (code === 'EAGAIN') return 'The kernel could not lock every page now (memory is short): retry, or lock less';
  const facts = lockLimits();
  if (facts === undefined) {
    return 'Either locked memory is over RLIMIT_MEMLOCK (ulimit -l; raise it, or run with CAP_IPC_LOCK), or ' + FAULT_CAUSES;
  }
  const limitText = facts.limit === null ? 'unlimited' : `${facts.limit} bytes`;
  if (code === 'EPERM') {
    return `Locking memory is not allowed with RLIMIT_MEMLOCK at ${limitText} (ulimit -l) and no CAP_IPC_LOCK: raise the limit, or run with CAP_IPC_LOCK`;
  }
  const overLimit = !facts.privileged && facts.limit !== null && facts.locked + BigInt(bytes) > facts.limit;
  if (overLimit) {
    return `Locked memory is limited by RLIMIT_MEMLOCK (ulimit -l: ${limitText}, ${facts.locked} bytes locked already, ` +
      `${bytes} more asked for): raise it, lock less, or run with CAP_IPC_LOCK`;
  }
  const why = facts.privileged ? 'this process has CAP_IPC_LOCK' : `RLIMIT_MEMLOCK is ${limitText}, room enough for ${bytes} more`;
  return `Not the limit on locked memory (${why}): ${FAULT_CAUSES}`;
}
