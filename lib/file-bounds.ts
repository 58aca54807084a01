// SIGBUS prevention: what stat (or the block layer) knows about a file's
// size, and the refusal to map past its end. Touching a page wholly past
// the end raises SIGBUS, which kills the process (nothing in JavaScript can
// catch it); bytes past the end in the last page read as zeros and lose
// what is written there. kmmap refuses both before mmap.
import * as fs from 'node:fs';
import { native } from './binding';
import { codedError, outOfRange, systemError, withContext } from './errors';
import { type RawPath } from './paths';

/** dev and inode: which file a path or fd is, so a stale path is never mapped by mistake. */
export interface FileIdentity {
  dev: bigint;
  ino: bigint;
}

/**
 * What kmmap knows about a file before mapping it, decided here once:
 * `kind` says what its size means. 'regular': stat's size; 'block': the
 * device's size; 'unsized': nothing (character devices, and "regular files"
 * on a pseudo filesystem such as /proc, whose drivers decide).
 */
export interface FileFacts {
  readonly identity: FileIdentity;
  readonly kind: 'regular' | 'block' | 'unsized';
  /** What stat says (a block device's size from the block layer). */
  readonly size: bigint;
  /** 'zero' for /dev/zero (character device 1:5), whose shared mappings are shmem of the mapped size. */
  readonly device?: 'zero';
  /** A file on hugetlbfs, where MAP_NORESERVE leaves pages to chance and ENOMEM means no free huge page. */
  readonly hugetlbfs: boolean;
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

const HUGETLBFS_MAGIC = 0x958458f6;


// _IOR(0x12, 114, size_t): a block device's size in bytes (stat says 0).
const BLKGETSIZE64 = 0x80081272;

function blockDeviceSize(fd: number): bigint {
  const out = new BigUint64Array(1);
  native.ioctl(fd, BLKGETSIZE64, new Uint8Array(out.buffer));
  return out[0]!;
}

function blockDeviceSizeOf(path: RawPath | undefined, fd: number | undefined): bigint | undefined {
  if (fd !== undefined) return blockDeviceSize(fd);
  // Non-blocking: the path was a block device a moment ago, but may not be now.
  const opened = fs.openSync(path!, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK | fs.constants.O_NOCTTY);
  try {
    return blockDeviceSize(opened);
  } finally {
    fs.closeSync(opened);
  }
}

/** The identity fields of a stat result. */
export function identityOf(stat: { dev: bigint; ino: bigint }): FileIdentity {
  return { dev: stat.dev, ino: stat.ino };
}

/** What fstat(2) and fstatfs(2) tell kmmap about an open fd. */
export interface FdStat {
  mode: number;
  size: bigint;
  dev: bigint;
  ino: bigint;
  rdev: bigint;
  /** The filesystem's magic number (statfs f_type), 0 if unknown. */
  filesystem: number;
}

// Reused by every fdStat() call: map() is on hot paths.
const statOut = new BigUint64Array(6);

/**
 * fstat(2) and fstatfs(2) of any fd in one call to the addon: faster than
 * fs.fstatSync and fs.statfsSync, and it works for fds the runtime's fs did
 * not open (memfds; Deno's fs knows only its own). Throws the addon's system
 * error (EBADF).
 */
export function fdStat(fd: number): FdStat {
  native.fileFacts(fd, statOut);
  return {
    mode: Number(statOut[0]!), size: statOut[1]!, dev: statOut[2]!, ino: statOut[3]!, rdev: statOut[4]!, filesystem: Number(statOut[5]!),
  };
}

const { S_IFMT, S_IFDIR, S_IFBLK, S_IFREG, S_IFCHR, S_IFIFO } = fs.constants;
/** /dev/zero's device number (major 1, minor 5) as st_rdev holds it. */
const DEV_ZERO = 0x105n;

/**
 * fstat and fstatfs (one addon call: a regular file on a pseudo filesystem
 * is unsized, one on hugetlbfs is noted) and, for block devices,
 * BLKGETSIZE64. Directories and FIFOs are refused here.
 */
export function fileFacts(fd: number, path: string | undefined): FileFacts {
  let stat: FdStat;
  try {
    stat = fdStat(fd);
  } catch (err) {
    throw withContext(err, path !== undefined ? { path } : { fd });
  }
  const type = stat.mode & S_IFMT;
  if (type === S_IFDIR) {
    throw systemError('EISDIR', 21, 'mmap', 'illegal operation on a directory', path, 'Map a file or device, not a directory');
  }
  if (type === S_IFIFO) {
    throw systemError('ENODEV', 19, 'mmap', 'no such device', path,
      'A FIFO (named pipe) is a stream with no memory to map: read it with fs, or map a file or device');
  }
  const identity = identityOf(stat);
  if (type === S_IFBLK) return { identity, kind: 'block', size: blockDeviceSize(fd), hugetlbfs: false };
  if (type === S_IFREG) {
    const kind = PSEUDO_FILESYSTEMS.has(stat.filesystem) ? 'unsized' : 'regular';
    return { identity, kind, size: stat.size, hugetlbfs: stat.filesystem === HUGETLBFS_MAGIC };
  }
  if (type === S_IFCHR && stat.rdev === DEV_ZERO) return { identity, kind: 'unsized', size: 0n, device: 'zero', hugetlbfs: false };
  return { identity, kind: 'unsized', size: 0n, hugetlbfs: false };
}

/** The current size of the file at `path` or `fd`, if it is still the same file; else undefined. */
export function currentSize(identity: FileIdentity, path: RawPath | undefined, fd: number | undefined): bigint | undefined {
  for (const open of [
    () => (path !== undefined ? fs.statSync(path, { bigint: true }) : undefined),
    () => (fd !== undefined ? fdStat(fd) : undefined),
  ]) {
    let stat: { dev: bigint; ino: bigint; size: bigint; mode: bigint | number } | undefined;
    try {
      stat = open();
    } catch {
      continue; // gone or closed: try the other way
    }
    if (stat && stat.dev === identity.dev && stat.ino === identity.ino) {
      return (Number(stat.mode) & S_IFMT) === S_IFBLK ? blockDeviceSizeOf(path, fd) : stat.size;
    }
  }
  return undefined;
}

/** The length to map: options.length checked against the file, or the rest of the file. */
export function mapLength(facts: FileFacts, offset: bigint, length: number | undefined, allowBeyondEnd: boolean, path: string | undefined): number {
  if (facts.kind === 'unsized') {
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
  if (!allowBeyondEnd) {
    checkWithinFile(facts.size, offset, length, path, 'map less, or pass allowBeyondEnd: true');
  }
  return length;
}

function withinFile(size: bigint, offset: bigint, length: number): boolean {
  return offset + BigInt(length) <= size;
}

/**
 * Throws ERR_KMMAP_BEYOND_END if [offset, offset + length) reaches past
 * `size`: a page wholly past it raises SIGBUS when touched, and the bytes
 * past it in the last page look like the file's but are not (they read as
 * zeros and what is written there never reaches the file).
 */
export function checkWithinFile(size: bigint, offset: bigint, length: number, path: string | undefined, fix: string): void {
  if (withinFile(size, offset, length)) return;
  throw codedError('ERR_KMMAP_BEYOND_END',
    `Mapping ${length} bytes at offset ${offset} reaches past the end of ${path ?? 'the file'} ` +
    `(${size} bytes): bytes past the end are not the file's (writes to them are lost) and touching a page wholly past it ` +
    `would raise SIGBUS. Grow the file first (fs.ftruncateSync), ${fix}`);
}
