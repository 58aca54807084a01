// ioctl(2) for kmmap's devices, with request numbers encoded as the
// kernel's _IOC macros encode them (include/uapi/asm-generic/ioctl.h).
// The numbers mirror kernel/uapi/linux/kmmap.h.
import { native } from './binding';
import { invalidArgType, withContext } from './errors';
import { validateFd, validateInteger } from './validate';

const IOC_NONE = 0;
const IOC_WRITE = 1;
const IOC_READ = 2;

function ioc(dir: number, type: number, nr: number, size: number): number {
  return ((dir << 30) | (size << 16) | (type << 8) | nr) >>> 0;
}

export const ioctlNumbers = {
  io: (type: number, nr: number) => ioc(IOC_NONE, type, nr, 0),
  ior: (type: number, nr: number, size: number) => ioc(IOC_READ, type, nr, size),
  iow: (type: number, nr: number, size: number) => ioc(IOC_WRITE, type, nr, size),
  iowr: (type: number, nr: number, size: number) => ioc(IOC_READ | IOC_WRITE, type, nr, size),
};

/** ioctl type shared by all kmmap requests (KMMAP_IOC_MAGIC). */
export const KMMAP_IOC_MAGIC = 0xb9;
/** /proc/lkmc_mmap: physical address of this open's page (u64 out). */
export const LKMC_MMAP_IOC_PHYS_ADDR = ioctlNumbers.ior(KMMAP_IOC_MAGIC, 0x01, 8);

/**
 * ioctl(fd, request, arg): `arg` is the buffer the kernel reads from or
 * writes into; it must be at least as long as the size encoded in `request`.
 * Returns the ioctl's non-negative result; failures throw with errno.
 */
export function ioctl(fd: number, request: number, arg: Uint8Array | null = null, hint?: (code: string) => string | undefined): number {
  validateFd('fd', fd);
  validateInteger('request', request, 0, 0xffffffff);
  if (arg !== null && !(arg instanceof Uint8Array)) throw invalidArgType('arg', 'a Uint8Array or null', arg);
  try {
    return native.ioctl(fd, request, arg);
  } catch (err) {
    throw withContext(err, { fd }, hint);
  }
}
