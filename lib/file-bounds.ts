// SIGBUS prevention: what stat (or the block layer) knows about a file's
// size, and the refusal to map pages wholly past its end. Touching such a
// page raises SIGBUS, which kills the process; nothing in JavaScript can
// catch it, so kmmap refuses before mmap.
import * as fs from 'node:fs';
import { native } from './binding';
import { codedError, outOfRange, systemError } from './errors';
import { PAGE_SIZE } from './page';

/** dev and inode: which file a path or fd is, so a stale path is never mapped by mistake. */
export interface FileIdentity {
  dev: bigint;
  ino: bigint;
}

/** What kmmap knows about a file before mapping it. */
export interface FileFacts {
  identity: FileIdentity;
  /** The size mappings are checked against, or undefined where stat cannot tell (devices, /proc). */
  size: bigint | undefined;
  isBlockDevice: boolean;
}

/**
 * Filesystems whose files' sizes say nothing about what can be mapped: their
 * drivers decide (/proc/lkmc_mmap is a "regular file" of size 0).
 */
const PSEUDO_FILESYSTEMS = new Set([
  0x9fa0, // proc
  0x62656572, // sysfs
  0x64626720, // debugfs
  0x74726163, // tracefs
  0x73636673, // securityfs
  0x62656570, // configfs
]);

function onPseudoFilesystem(fd: number): boolean {
  try {
    return PSEUDO_FILESYSTEMS.has(Number(fs.statfsSync(`/proc/self/fd/${fd}`).type));
  } catch {
    return false; // no /proc: then this fd cannot be on it either
  }
}

// _IOR(0x12, 114, size_t): a block device's size in bytes (stat says 0).
const BLKGETSIZE64 = 0x80081272;

function blockDeviceSize(fd: number): bigint {
  const out = new BigUint64Array(1);
  native.ioctl(fd, BLKGETSIZE64, new Uint8Array(out.buffer));
  return out[0]!;
}

function blockDeviceSizeOf(path: string | undefined, fd: number | undefined): bigint | undefined {
  if (fd !== undefined) return blockDeviceSize(fd);
  const opened = fs.openSync(path!, 'r');
  try {
    return blockDeviceSize(opened);
  } finally {
    fs.closeSync(opened);
  }
}

/** The identity fields of a stat result. */
export function identityOf(stat: fs.BigIntStats): FileIdentity {
  return { dev: stat.dev, ino: stat.ino };
}

/** fstat and, for block devices, BLKGETSIZE64. Directories are refused here. */
export function fileFacts(fd: number, path: string | undefined): FileFacts {
  const stat = fs.fstatSync(fd, { bigint: true });
  if (stat.isDirectory()) {
    throw systemError('EISDIR', 21, 'mmap', 'illegal operation on a directory', path, 'Map a file or device, not a directory');
  }
  const isBlockDevice = stat.isBlockDevice();
  let size: bigint | undefined;
  if (isBlockDevice) size = blockDeviceSize(fd);
  else if (stat.isFile() && !onPseudoFilesystem(fd)) size = stat.size;
  return { identity: identityOf(stat), size, isBlockDevice };
}

/** The current size of the file at `path` or `fd`, if it is still the same file; else undefined. */
export function currentSize(identity: FileIdentity, path: string | undefined, fd: number | undefined): bigint | undefined {
  for (const open of [
    () => (path !== undefined ? fs.statSync(path, { bigint: true }) : undefined),
    () => (fd !== undefined ? fs.fstatSync(fd, { bigint: true }) : undefined),
  ]) {
    let stat: fs.BigIntStats | undefined;
    try {
      stat = open();
    } catch {
      continue; // gone or closed: try the other way
    }
    if (stat && stat.dev === identity.dev && stat.ino === identity.ino) {
      return stat.isBlockDevice() ? blockDeviceSizeOf(path, fd) : stat.size;
    }
  }
  return undefined;
}

/** The length to map: options.length checked against the file, or the rest of the file. */
export function mapLength(facts: FileFacts, offset: bigint, length: number | undefined, allowBeyondEnd: boolean, path: string | undefined): number {
  if (facts.size === undefined) {
    if (length === undefined) {
      throw codedError('ERR_KMMAP_LENGTH_REQUIRED',
        `${path ?? 'This fd'} is a device or a kernel file whose size stat cannot tell: pass options.length (e.g. PAGE_SIZE)`);
    }
    return length;
  }
  if (length === undefined) {
    if (offset >= facts.size) {
      throw outOfRange('options.offset', `below the file size (${facts.size}) when options.length is omitted`, offset);
    }
    return Number(facts.size - offset);
  }
  if (!allowBeyondEnd) checkWithinFile(facts.size, offset, length, path, 'map less, or pass allowBeyondEnd: true');
  return length;
}

/** Throws ERR_KMMAP_BEYOND_END if [offset, offset + length) has a page wholly past `size`. */
export function checkWithinFile(size: bigint, offset: bigint, length: number, path: string | undefined, fix: string): void {
  const lastByte = offset + BigInt(length) - 1n;
  const lastPageStart = lastByte - (lastByte % BigInt(PAGE_SIZE));
  if (lastPageStart >= size) {
    throw codedError('ERR_KMMAP_BEYOND_END',
      `Mapping ${length} bytes at offset ${offset} reaches past the end of ${path ?? 'the file'} ` +
      `(${size} bytes), and touching those pages would raise SIGBUS: grow the file first ` +
      `(fs.ftruncateSync), ${fix}`);
  }
}
