// map(): files, devices and kernel buffers as zero-copy Buffers.
import * as fs from 'node:fs';
import { constants as bufferConstants } from 'node:buffer';
import { fileURLToPath } from 'node:url';
import { native } from './binding';
import { codedError, invalidArgType, invalidArgValue, outOfRange, systemError, withContext } from './errors';
import { validateFd, validateInteger, validateUint64 } from './validate';

/** Size of a page on this machine, in bytes. */
export const PAGE_SIZE: number = native.pageSize;

const PROT_READ = 0x1;
const PROT_WRITE = 0x2;
const MAP_SHARED = 0x01;

/** 'r': read-only; 'rw': read-write, writes reach the file or device (MAP_SHARED). */
export type Access = 'r' | 'rw';

export interface MapOptions {
  /**
   * Bytes to map. Defaults to the rest of a regular file after `offset`;
   * required for devices and /proc files, whose size `stat` cannot tell.
   */
  length?: number;
  /** Where the mapping starts in the file: a multiple of PAGE_SIZE. Default 0. */
  offset?: number | bigint;
  /** Default 'r'. With a path, the file is opened to match. */
  access?: Access;
  /**
   * Allow a mapping of a regular file to reach past its end. Touching a page
   * wholly past the end raises SIGBUS, which kills the process; kmmap refuses
   * such a mapping unless this is true.
   */
  allowBeyondEnd?: boolean;
}

export type PathLike = string | Buffer | URL;

/** A live memory mapping. Close it (or let `using` do it) to unmap. */
export class Mapping implements Disposable {
  readonly #arrayBuffer: ArrayBuffer;
  readonly #buffer: Buffer;
  readonly #address: bigint;
  readonly #access: Access;

  /** @internal Use map(). */
  constructor(arrayBuffer: ArrayBuffer, access: Access) {
    this.#arrayBuffer = arrayBuffer;
    this.#buffer = Buffer.from(arrayBuffer);
    this.#address = native.addressOf(arrayBuffer);
    this.#access = access;
  }

  /** The mapped memory itself. After close() its length is 0. */
  get buffer(): Buffer {
    return this.#buffer;
  }

  /** Virtual address of the mapping's first byte. */
  get address(): bigint {
    return this.#address;
  }

  /** Mapped length in bytes; 0 once closed. */
  get length(): number {
    return this.#arrayBuffer.byteLength;
  }

  get access(): Access {
    return this.#access;
  }

  get closed(): boolean {
    return this.#arrayBuffer.byteLength === 0;
  }

  /**
   * Unmaps. Every view of the memory (this.buffer, slices of it, typed
   * arrays over it) is detached first, so it reads as empty rather than
   * touching unmapped memory. Calling it again does nothing.
   */
  close(): void {
    native.unmap(this.#arrayBuffer);
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/** Virtual address of the first byte of a buffer, typed array, DataView or ArrayBuffer. */
export function addressOf(buffer: ArrayBufferView | ArrayBuffer): bigint {
  if (!ArrayBuffer.isView(buffer) && !(buffer instanceof ArrayBuffer)) {
    throw invalidArgType('buffer', 'a Buffer, TypedArray, DataView or ArrayBuffer', buffer);
  }
  return native.addressOf(buffer);
}

function isPathLike(value: unknown): value is PathLike {
  return typeof value === 'string' || Buffer.isBuffer(value) || value instanceof URL;
}

function mmapHint(code: string, access: Access, isPath: boolean): string | undefined {
  switch (code) {
    case 'EACCES':
      return access === 'rw'
        ? isPath
          ? 'The file is not writable: map it with access \'r\''
          : 'Open the fd read-write (O_RDWR) or map with access \'r\''
        : 'The file was not opened for reading';
    case 'ENODEV':
      return 'This kind of file cannot be memory-mapped';
    case 'EINVAL':
      return 'The file or device rejected this length or offset';
    case 'ENOMEM':
      return 'Not enough address space or memory for this length';
    case 'EBADF':
      return 'The fd is not open';
    default:
      return undefined;
  }
}

/**
 * Maps a file, device or /proc entry (by path or open fd) into memory and
 * returns it as a Mapping whose `buffer` is the mapped memory, zero-copy.
 * Mappings are MAP_SHARED: writes reach the file and other mappings of it.
 * Several mappings of one open fd are independent views of the same memory.
 *
 * @example
 * using m = map('/proc/lkmc_mmap', { length: PAGE_SIZE, access: 'rw' });
 * m.buffer.toString('latin1', 0, 4); // 'asdf'
 */
export function map(pathOrFd: PathLike | number, options: MapOptions = {}): Mapping {
  if (!isPathLike(pathOrFd) && typeof pathOrFd !== 'number') {
    throw invalidArgType('pathOrFd', 'a path (string, Buffer or URL) or a file descriptor (number)', pathOrFd);
  }
  if (typeof options !== 'object' || options === null) throw invalidArgType('options', 'of type object', options);

  const access = options.access ?? 'r';
  if (access !== 'r' && access !== 'rw') throw invalidArgValue('options.access', access, "must be one of: 'r', 'rw'");
  const offset = validateUint64('options.offset', options.offset ?? 0);
  if (offset % BigInt(PAGE_SIZE) !== 0n) {
    throw invalidArgValue('options.offset', options.offset, `must be a multiple of the page size (${PAGE_SIZE})`);
  }
  if (options.length !== undefined) validateInteger('options.length', options.length, 1, bufferConstants.MAX_LENGTH);
  if (options.allowBeyondEnd !== undefined && typeof options.allowBeyondEnd !== 'boolean') {
    throw invalidArgType('options.allowBeyondEnd', 'of type boolean', options.allowBeyondEnd);
  }

  const isPath = typeof pathOrFd !== 'number';
  const fd = isPath ? fs.openSync(pathOrFd, access === 'rw' ? 'r+' : 'r') : validateFd('pathOrFd', pathOrFd);
  const path = isPath ? (pathOrFd instanceof URL ? fileURLToPath(pathOrFd) : pathOrFd.toString()) : undefined;
  try {
    const length = mapLength(fs.fstatSync(fd), fd, offset, options, path);
    const prot = access === 'rw' ? PROT_READ | PROT_WRITE : PROT_READ;
    let arrayBuffer: ArrayBuffer;
    try {
      arrayBuffer = native.map(fd, length, offset, prot, MAP_SHARED);
    } catch (err) {
      throw withContext(err, isPath ? { path } : { fd }, (code) => mmapHint(code, access, isPath));
    }
    return new Mapping(arrayBuffer, access);
  } finally {
    // The mapping holds its own reference to the file.
    if (isPath) fs.closeSync(fd);
  }
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

/** The length to map, checked against what `stat` knows about the file. */
function mapLength(stat: fs.Stats, fd: number, offset: bigint, options: MapOptions, path: string | undefined): number {
  if (stat.isDirectory()) {
    throw systemError('EISDIR', 21, 'mmap', 'illegal operation on a directory', path, 'Map a file or device, not a directory');
  }
  const lengthRequired = () =>
    codedError('ERR_KMMAP_LENGTH_REQUIRED',
      `${path ?? 'This fd'} is a device or a kernel file whose size stat cannot tell: pass options.length (e.g. PAGE_SIZE)`);
  if (!stat.isFile()) {
    if (options.length === undefined) throw lengthRequired();
    return options.length;
  }

  // statfs (several microseconds, a third of a small map()) is asked only
  // when the answer matters: without a length, or for a range past the end.
  const size = BigInt(stat.size);
  if (options.length === undefined) {
    if (onPseudoFilesystem(fd)) throw lengthRequired();
    if (offset >= size) {
      throw outOfRange('options.offset', `below the file size (${size}) when options.length is omitted`, offset);
    }
    const rest = size - offset;
    if (rest > BigInt(bufferConstants.MAX_LENGTH)) {
      throw codedError('ERR_KMMAP_LENGTH_REQUIRED',
        `The file is larger than a Buffer can be (${bufferConstants.MAX_LENGTH} bytes): pass options.length`);
    }
    return Number(rest);
  }
  // A page entirely past the end of a regular file raises SIGBUS when
  // touched. On a pseudo filesystem the size means nothing: the driver decides.
  const lastPageStart = offset + BigInt(options.length - 1) - ((offset + BigInt(options.length - 1)) % BigInt(PAGE_SIZE));
  if (lastPageStart >= size && !options.allowBeyondEnd && !onPseudoFilesystem(fd)) {
    throw codedError('ERR_KMMAP_BEYOND_END',
      `Mapping ${options.length} bytes at offset ${offset} reaches past the end of ${path ?? 'the file'} ` +
      `(${size} bytes), and touching those pages would raise SIGBUS: grow the file first ` +
      '(fs.ftruncateSync), map less, or pass allowBeyondEnd: true');
  }
  return options.length;
}
