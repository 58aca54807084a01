// What to do about a failed system call: every errno-to-advice table, for
// mappings, devices and /proc files. Each returns a Hint, which
// errors.ts's withContext() (the one way a hint reaches a message) applies.
import * as fs from 'node:fs';
import type { Hint } from './errors';
import type { Access, MemorySettings } from './map-options';

export type { Hint } from './errors';

/** mmap(2) of a file, device or anonymous memory. `huge`: huge pages are in play (options.hugetlb, or a file on hugetlbfs). */
export function mmapHint(settings: MemorySettings & { access: Access; sync?: boolean }, isPath: boolean, huge = settings.hugePageSize !== 0): Hint {
  return (code) => {
    switch (code) {
      case 'EACCES':
        return settings.access === 'rw'
          ? isPath
            ? "The file is not writable: map it with access 'r' (or 'copy' for private writes)"
            : "Open the fd read-write (O_RDWR) or map with access 'r' or 'copy'"
          : 'The file was not opened for reading';
      case 'ENODEV':
        return 'This kind of file cannot be memory-mapped';
      case 'ENOTSUP': // EOPNOTSUPP: one number on Linux, named as Node names it
        return settings.sync
          ? 'MAP_SYNC (options.sync) needs a file on a DAX filesystem (persistent memory mounted with -o dax): drop options.sync'
          : undefined;
      case 'EINVAL':
        return settings.hugePageSize !== 0
          ? 'options.hugetlb needs anonymous memory or a file on hugetlbfs, and a huge page size this machine has'
          : 'The file or device rejected this length or offset';
      case 'ENOMEM':
        return huge
          ? 'No free huge pages of this size: reserve some (/proc/sys/vm/nr_hugepages or the hugepages-*kB directories in /sys/kernel/mm/hugepages)' +
            (settings.hugePageSize !== 0 ? ' or drop options.hugetlb' : ' (the file is on hugetlbfs)')
          : 'Not enough address space or memory for this length';
      case 'EBADF':
        return 'The fd is not open';
      default:
        return undefined;
    }
  };
}

/** memfd_create(2) for shared anonymous memory. */
export function memfdHint(hugePageSize: number): Hint {
  return (code) => (code === 'EINVAL' && hugePageSize !== 0 ? 'This machine has no huge pages of this size' : undefined);
}

/** msync and mprotect on a mapping made with `access`. */
export function memoryHint(syscall: string, access: Access): Hint {
  return (code) => {
    if (syscall === 'mprotect' && code === 'EACCES') {
      return access === 'r'
        ? "The file was opened read-only: map it with access 'rw' (or 'copy' for private writes) to make it writable"
        : 'The file does not allow this protection';
    }
    if (syscall === 'msync' && code === 'EBUSY') return 'invalidate cannot apply while pages are locked: unlock() first';
    if (syscall === 'msync' && code === 'ENOMEM') return 'Part of the range is not mapped';
    if (syscall === 'msync' && code === 'EINVAL') {
      return 'This device has no fsync: its memory is the device\'s own, with nothing to write back (sync({ async: true }) does not ask for one)';
    }
    return undefined;
  };
}

/** madvise(2) with a named advice. */
export function adviceHint(advice: string): Hint {
  return (code) => (code === 'EINVAL' ? `This kernel or this kind of mapping does not take advice '${advice}'` : undefined);
}

/** mremap(2) of resize(). */
export const remapHint: Hint = (code) => {
  if (code === 'EFAULT') {
    return 'The driver does not let this mapping grow (VM_DONTEXPAND or VM_PFNMAP), or parts of it differ ' +
      '(protect(), lock() or advise() on part of it split it: apply them to the whole mapping, or undo them, first)';
  }
  if (code === 'EINVAL') return 'The file or device does not let this mapping change size';
  return undefined;
};

// Why mlock2(2) failed. Its ENOMEM means either "over RLIMIT_MEMLOCK" or
// "a page could not be faulted in" (a page past a file's end, no free huge
// page, no memory): which one is told by this process's capabilities, its
// limit and what it has locked already, read from /proc when it fails.

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

/** mlock2(2) of `bytes` bytes. */
export function lockHint(bytes: number): Hint {
  return (code) => {
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
  };
}

/** open(2) of the kmmap device at `path` (`defaultPath`: where the module puts it). */
export function deviceOpenHint(path: string, defaultPath: string): Hint {
  return (code) => {
    if (code === 'ENOENT' && path === defaultPath) return 'Is the kmmap module loaded? (insmod kernel/kmmap.ko, or run under `npm run vm`)';
    if (code === 'EACCES') return 'The node is root-only by default: load the module with mode=0666, or run as root';
    return undefined;
  };
}

/** mmap(2) of `length` bytes at `offset` of the device's buffer of `size` bytes. */
export function deviceMapHint(offset: number, length: number, size: number): Hint {
  return (code) => {
    if (code === 'ENXIO') return `Offset ${offset} is at or past the end of the buffer (${size} bytes)`;
    if (code === 'EINVAL' && offset + length > size) return `${length} bytes at offset ${offset} run past the end of the buffer (${size} bytes)`;
    return undefined;
  };
}

/** KMMAP_IOC_SET_METHOD of `method` on a buffer allocated as `backing`. */
export function methodHint(method: string, backing: string): Hint {
  return (code) => {
    if (code !== 'ENOTSUP') return undefined;
    if (method === 'pfn') return `The 'pfn' method needs backing=contig; this device's buffer is ${backing}`;
    if (method === 'vmalloc') return `The 'vmalloc' method needs backing=vmalloc; this device's buffer is ${backing}`;
    return `The '${method}' method does not work with backing=${backing}`;
  };
}

/** KMMAP_IOC_PFNS. */
export const pfnsHint: Hint = (code) => (code === 'EPERM' ? 'Reading PFNs needs CAP_SYS_ADMIN (run as root)' : undefined);

/** KMMAP_IOC_FILL. */
export const fillHint: Hint = (code) => (code === 'EBADF' ? "fill() writes the buffer: open the device with access 'rw'" : undefined);

/** KMMAP_IOC_CHECKSUM. */
export const checksumHint: Hint = (code) =>
  (code === 'EBADF' ? 'checksum() reads the buffer: the descriptor must be open for reading' : undefined);

/** LKMC_MMAP_IOC_PHYS_ADDR on an fd that should be `path`. */
export function lkmcPhysicalAddressHint(path: string): Hint {
  return (code) => {
    if (code === 'EPERM') return 'Reading physical addresses needs CAP_SYS_ADMIN (run as root)';
    if (code === 'ENOTTY') return `This fd is not ${path}`;
    return undefined;
  };
}

/** ioctl(PAGEMAP_SCAN). */
export const pagemapScanHint: Hint = (code) => {
  if (code === 'ENOTTY') return 'PAGEMAP_SCAN needs Linux 6.7 or later: use method \'pagemap\' or \'auto\'';
  if (code === 'EFAULT') return 'The range reaches beyond the user address space';
  return undefined;
};

/** open(2) of a /proc file: `denied` for EACCES and EPERM, `missing` for ENOENT. */
export function procFileHint(denied: string, missing?: string): Hint {
  return (code) => (code === 'EACCES' || code === 'EPERM' ? denied : code === 'ENOENT' ? missing : undefined);
}

/** open(2) of a pagemap or maps file, which another process's owner guards. */
export function processAccessHint(pid: number | 'self'): Hint {
  return procFileHint(
    pid === 'self'
      ? 'This process may not read its own page tables here'
      : `Reading process ${pid}'s page tables needs ptrace access to it: the same user (and kernel.yama.ptrace_scope permitting), or CAP_SYS_PTRACE (run as root)`,
    `There is no process ${pid}`,
  );
}

/** /proc/kpageflags and /proc/kpagecount. */
export function pageFrameFileHint(path: string): Hint {
  return procFileHint(
    `Reading ${path} needs root (the file is mode 0400 and the kernel also wants CAP_SYS_ADMIN)`,
    `This kernel has no ${path} (it needs CONFIG_PROC_PAGE_MONITOR)`,
  );
}
