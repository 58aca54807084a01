// ioctl(2) for kmmap's devices, with request numbers encoded as the
// kernel's _IOC macros encode them (include/uapi/asm-generic/ioctl.h).
// The numbers mirror kernel/uapi/linux/kmmap.h.
import { native } from './binding';
import { invalidArgType, invalidArgValue, withContext } from './errors';
import { isPlainUint8Array, validateFd, validateInteger, validateOptionalFunction } from './validate';

const IOC_NONE = 0;
const IOC_WRITE = 1;
const IOC_READ = 2;

const IOC_SIZE_MAX = (1 << 14) - 1;

function ioc(dir: number, type: unknown, nr: unknown, size: unknown): number {
  const t = validateInteger('type', type, 0, 255);
  const n = validateInteger('nr', nr, 0, 255);
  const bytes = validateInteger('size', size, 0, IOC_SIZE_MAX);
  return ((dir << 30) | (bytes << 16) | (t << 8) | n) >>> 0;
}

/** The kernel's _IO, _IOR, _IOW and _IOWR: `type` and `nr` 0-255, `size` in bytes (below 2^14). */
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
  if (arg !== null && !isPlainUint8Array(arg)) throw invalidArgType('arg', 'a Uint8Array (not over a SharedArrayBuffer) or null', arg);
  validateOptionalFunction('hint', hint);
  // The kernel reads or writes the request's _IOC_SIZE bytes at arg.
  const needed = request >>> 30 === IOC_NONE ? 0 : (request >>> 16) & IOC_SIZE_MAX;
  if ((arg?.byteLength ?? 0) < needed) {
    throw invalidArgValue('arg', arg, `must be a Uint8Array of at least ${needed} bytes: request 0x${request.toString(16)} reads or writes that many`);
  }
  try {
    return native.ioctl(fd, request, arg);
  } catch (err) {
    throw withContext(err, { fd }, hint);
  }
}
