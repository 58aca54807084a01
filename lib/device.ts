// /dev/kmmap: the module's multi-page buffer, shared by every open, with a
// choice of four ways (five with fault-around) to map it.
import * as fs from 'node:fs';
import { types } from 'node:util';
import { codedError, invalidArgType, invalidArgValue, invalidThis, outOfRange, type SystemError, withContext } from './errors';
import { checksumHint, deviceMapHint, deviceOpenHint, fillHint, type Hint, methodHint, pfnsHint } from './hints';
import { native } from './binding';
import { map } from './map';
import type { Mapping } from './mapping';
import { addressOf, PAGE_SIZE } from './page';
import {
  BACKINGS,
  KMMAP_CHECKSUM,
  KMMAP_DEVICE_PATH,
  KMMAP_FILL,
  KMMAP_FILL_ADD_OFFSET,
  KMMAP_INFO,
  KMMAP_IOC_CHECKSUM,
  KMMAP_IOC_FILL,
  KMMAP_IOC_INFO,
  KMMAP_IOC_PFNS,
  KMMAP_IOC_SET_METHOD,
  KMMAP_PFNS,
  MAPPING_METHODS,
  type Backing,
  type MappingMethod,
} from './uapi';
import {
  SHARED_ACCESSES, validateAccess, validateBoolean, validateFd, validateInteger, validateObject, validateOneOf, validateUint64,
} from './validate';

/** What KMMAP_IOC_INFO reports. */
export interface DeviceInfo {
  /** Bytes in the buffer: a multiple of pageSize. */
  size: number;
  pageSize: number;
  /** How the buffer was allocated (module parameter `backing`). */
  backing: Backing;
  /** The method this open file's next map() uses. */
  method: MappingMethod;
  /** The methods this backing allows. */
  methods: MappingMethod[];
  /**
   * The longest physically contiguous run of pages in the buffer, or null
   * where it is hidden: like the PFNs, only a caller with CAP_SYS_ADMIN
   * sees it.
   */
  maxChunkPages: number | null;
  /** Mappings (VMAs) of the buffer that exist now, in every process. */
  mappings: number;
}

/** Options of KmmapDevice.open(). */
export interface DeviceOpenOptions {
  /** Default '/dev/kmmap'. */
  path?: string;
  /**
   * 'r' opens read-only: mappings are then read-only (one with access 'rw'
   * fails with EACCES), and fill() and write(2) fail with EBADF. Default 'rw'.
   */
  access?: 'r' | 'rw';
  /** Set this open file's mapping method right away. */
  method?: MappingMethod;
}

/** A byte range of the buffer; the default is all of it. */
export interface DeviceRange {
  offset?: number;
  length?: number;
}

/** Options of `device.fill()`. */
export interface FillOptions extends DeviceRange {
  /**
   * Add each 8-byte word's byte offset in the buffer to the pattern, so every
   * word differs (and names where it lives). Needs offset and length to be
   * multiples of 8; the pattern is then a 64-bit number.
   */
  addOffset?: boolean;
}

/** Options of `device.map()`. */
export interface DeviceMapOptions extends DeviceRange {
  /** Default: the access the device was opened with. */
  access?: 'r' | 'rw';
}

/**
 * An open /dev/kmmap. Every open shares one buffer; each open file chooses
 * how its mappings are made (`method`).
 *
 * @example
 * using dev = KmmapDevice.open({ method: 'pages' });
 * dev.fill(0xab);
 * using m = dev.map();               // the whole buffer, zero-copy
 * m.buffer[0];                       // 0xab
 * dev.checksum() === zlib.crc32(m.buffer);
 */
export class KmmapDevice implements Disposable {
  readonly #path: string;
  readonly #access: 'r' | 'rw';
  #fd: number;
  #size = 0;
  #backing: Backing = 'contig';

  /** Devices are opened with KmmapDevice.open(). */
  private constructor(fd: number, path: string, access: 'r' | 'rw') {
    validateFd('fd', fd);
    if (typeof path !== 'string') throw invalidArgType('path', 'of type string', path);
    validateAccess('access', access, SHARED_ACCESSES);
    this.#fd = fd;
    this.#path = path;
    this.#access = access;
  }

  /** Opens the device (default /dev/kmmap). */
  static open(options: DeviceOpenOptions = {}): KmmapDevice {
    validateObject('options', options);
    const path = options.path ?? KMMAP_DEVICE_PATH;
    if (typeof path !== 'string') throw invalidArgType('options.path', 'of type string', path);
    const access = validateAccess('options.access', options.access ?? 'rw', SHARED_ACCESSES);
    if (options.method !== undefined) validateOneOf('options.method', options.method, MAPPING_METHODS);

    let fd: number;
    try {
      // O_NONBLOCK: a path that leads to a FIFO (or a tty) must not block open(2) forever;
      // the module ignores the flag. O_NOCTTY: a tty never becomes the controlling terminal.
      const { O_RDWR, O_RDONLY, O_NONBLOCK, O_NOCTTY } = fs.constants;
      fd = fs.openSync(path, (access === 'rw' ? O_RDWR : O_RDONLY) | O_NONBLOCK | O_NOCTTY);
    } catch (err) {
      throw withContext(err, {}, deviceOpenHint(path, KMMAP_DEVICE_PATH));
    }
    const device = new KmmapDevice(fd, path, access);
    try {
      const info = device.info();
      device.#size = info.size;
      device.#backing = info.backing;
      if (options.method !== undefined) device.method = options.method;
    } catch (err) {
      device.close();
      throw err;
    }
    return device;
  }

  /** The path it was opened from. */
  get path(): string {
    KmmapDevice.#brand(this);
    return this.#path;
  }

  /** The open file descriptor; -1 after close(). */
  get fd(): number {
    KmmapDevice.#brand(this);
    return this.#fd;
  }

  get closed(): boolean {
    KmmapDevice.#brand(this);
    return this.#fd < 0;
  }

  /** Bytes in the buffer. */
  get size(): number {
    KmmapDevice.#checkOpen(this);
    return this.#size;
  }

  /** Pages in the buffer. */
  get pages(): number {
    KmmapDevice.#brand(this);
    return this.size / PAGE_SIZE;
  }

  /** How the buffer was allocated. */
  get backing(): Backing {
    KmmapDevice.#checkOpen(this);
    return this.#backing;
  }

  /** The buffer's geometry, this file's method and the live mapping count. */
  info(): DeviceInfo {
    KmmapDevice.#brand(this);
    const out = Buffer.alloc(KMMAP_INFO.size);
    this.#ioctl(KMMAP_IOC_INFO, out);
    const o = KMMAP_INFO.offsets;
    const mask = out.readUInt32LE(o.methods);
    return {
      size: Number(out.readBigUInt64LE(o.size)),
      pageSize: out.readUInt32LE(o.page_size),
      backing: nameOf(BACKINGS, out.readUInt32LE(o.backing)),
      method: nameOf(MAPPING_METHODS, out.readUInt32LE(o.method)),
      methods: MAPPING_METHODS.filter((_, i) => (mask & (1 << i)) !== 0),
      maxChunkPages: out.readUInt32LE(o.max_chunk_pages) || null,
      mappings: out.readUInt32LE(o.mappings),
    };
  }

  /** The method this open file's next map() uses. Existing mappings keep theirs. */
  get method(): MappingMethod {
    KmmapDevice.#brand(this);
    return this.info().method;
  }

  set method(name: MappingMethod) {
    KmmapDevice.#brand(this);
    validateOneOf('method', name, MAPPING_METHODS);
    const arg = Buffer.alloc(4);
    arg.writeUInt32LE(MAPPING_METHODS.indexOf(name));
    this.#ioctl(KMMAP_IOC_SET_METHOD, arg, methodHint(name, this.#backing));
  }

  /**
   * The kernel's PFN of each page in [first, first + count): what the
   * buffer really is, to compare with what pagemap says a mapping maps.
   * Needs CAP_SYS_ADMIN, like PFNs in pagemap.
   */
  pfns(first = 0, count?: number): BigUint64Array {
    KmmapDevice.#brand(this);
    const pages = this.pages;
    validateInteger('first', first, 0, pages);
    const n = count ?? pages - first;
    validateInteger('count', n, 0, pages - first);
    const pfns = new BigUint64Array(n);
    const arg = Buffer.alloc(KMMAP_PFNS.size);
    arg.writeBigUInt64LE(BigInt(first), KMMAP_PFNS.offsets.first);
    arg.writeBigUInt64LE(BigInt(n), KMMAP_PFNS.offsets.count);
    arg.writeBigUInt64LE(n > 0 ? addressOf(pfns) : 0n, KMMAP_PFNS.offsets.pfns);
    this.#ioctl(KMMAP_IOC_PFNS, arg, pfnsHint);
    return pfns;
  }

  /**
   * Fills a range of the buffer from the kernel side with a repeated
   * pattern: a byte (0-255), a 64-bit number (its 8 bytes, little-endian),
   * or 1 to 8 bytes. Byte `o` of the buffer gets pattern byte
   * `o % patternLength`, so fills of adjacent ranges line up.
   */
  fill(pattern: number | bigint | Uint8Array, options: FillOptions = {}): void {
    KmmapDevice.#brand(this);
    const { offset, length } = this.#range(options);
    const addOffset = validateBoolean('options.addOffset', options.addOffset ?? false);
    const { value, bytes } = encodePattern(pattern, addOffset);
    if (addOffset && (offset % 8 !== 0 || length % 8 !== 0)) {
      throw invalidArgValue('options', { offset, length }, 'must have offset and length that are multiples of 8 with addOffset');
    }
    const arg = Buffer.alloc(KMMAP_FILL.size);
    const o = KMMAP_FILL.offsets;
    arg.writeBigUInt64LE(BigInt(offset), o.offset);
    arg.writeBigUInt64LE(BigInt(length), o.length);
    arg.writeBigUInt64LE(value, o.pattern);
    arg.writeUInt32LE(bytes, o.pattern_len);
    arg.writeUInt32LE(addOffset ? KMMAP_FILL_ADD_OFFSET : 0, o.flags);
    this.#ioctl(KMMAP_IOC_FILL, arg, fillHint);
  }

  /** CRC-32 of a range of the buffer computed by the kernel: equal to zlib.crc32() of the same bytes. */
  checksum(options: DeviceRange = {}): number {
    KmmapDevice.#brand(this);
    const { offset, length } = this.#range(options);
    const arg = Buffer.alloc(KMMAP_CHECKSUM.size);
    arg.writeBigUInt64LE(BigInt(offset), KMMAP_CHECKSUM.offsets.offset);
    arg.writeBigUInt64LE(BigInt(length), KMMAP_CHECKSUM.offsets.length);
    this.#ioctl(KMMAP_IOC_CHECKSUM, arg, checksumHint);
    return arg.readUInt32LE(KMMAP_CHECKSUM.offsets.crc32);
  }

  /**
   * Maps a range of the buffer (default: all of it) with this file's method.
   * Like map(), any offset works: the kernel maps from the page below it and
   * the Buffer starts at the byte asked for. Ranges the buffer does not hold
   * are refused by the kernel: ENXIO for an offset at or past the end,
   * EINVAL for a range that runs past it.
   */
  map(options: DeviceMapOptions = {}): Mapping {
    KmmapDevice.#checkOpen(this);
    validateObject('options', options);
    const given = { offset: options.offset, length: options.length, access: options.access };
    // Reading the options ran their getters, which may have closed the device.
    KmmapDevice.#checkOpen(this);
    const offset = Number(validateUint64('options.offset', given.offset ?? 0, BigInt(Number.MAX_SAFE_INTEGER)));
    const length = given.length ?? (offset < this.#size ? this.#size - offset : PAGE_SIZE);
    const access = given.access ?? this.#access;
    try {
      return map(this.#fd, { offset, length, access });
    } catch (err) {
      if ((err as SystemError).syscall !== 'mmap') throw err;
      // map() named the fd: the device's path goes in `path`, the advice after map()'s.
      throw withContext(err, { path: this.#path }, deviceMapHint(offset, length, this.#size));
    }
  }

  /** Closes the file. Mappings already made stay valid until they are closed. */
  close(): void {
    KmmapDevice.#brand(this);
    if (this.#fd < 0) return;
    const fd = this.#fd;
    this.#fd = -1;
    fs.closeSync(fd);
  }

  [Symbol.dispose](): void {
    KmmapDevice.#brand(this);
    this.close();
  }

  /** Throws ERR_INVALID_THIS unless `self` is a KmmapDevice that open() made. */
  static #brand(self: unknown): asserts self is KmmapDevice {
    if (typeof self !== 'object' || self === null || !(#fd in self)) throw invalidThis('KmmapDevice');
  }

  static #checkOpen(self: unknown): asserts self is KmmapDevice {
    KmmapDevice.#brand(self);
    if (self.#fd < 0) throw codedError('ERR_KMMAP_CLOSED', `${self.#path} was closed: open it again with KmmapDevice.open()`);
  }

  #range(options: DeviceRange): { offset: number; length: number } {
    validateObject('options', options);
    const given = { offset: options.offset, length: options.length };
    // After the getters above, which may have closed the device.
    const size = this.size;
    const offset = given.offset ?? 0;
    validateInteger('options.offset', offset, 0, size);
    const length = given.length ?? size - offset;
    validateInteger('options.length', length, 0, size - offset);
    return { offset, length };
  }

  #ioctl(request: number, arg: Uint8Array, hint?: Hint): void {
    KmmapDevice.#checkOpen(this);
    try {
      native.ioctl(this.#fd, request, arg);
    } catch (err) {
      throw withContext(err, { path: this.#path }, hint);
    }
  }
}

function nameOf<T extends string>(names: readonly T[], value: number): T {
  const name = names[value];
  if (name === undefined) throw codedError('ERR_KMMAP_ABI', `The module reported ${value}, which this library does not know: update kmmap`);
  return name;
}

function encodePattern(pattern: unknown, addOffset: boolean): { value: bigint; bytes: number } {
  if (typeof pattern === 'number') {
    if (addOffset) {
      validateInteger('pattern', pattern, 0, Number.MAX_SAFE_INTEGER);
      return { value: BigInt(pattern), bytes: 8 };
    }
    validateInteger('pattern', pattern, 0, 255);
    return { value: BigInt(pattern), bytes: 1 };
  }
  if (typeof pattern === 'bigint') {
    if (pattern < 0n || pattern >= 1n << 64n) throw outOfRange('pattern', '>= 0 and < 2^64', pattern);
    return { value: pattern, bytes: 8 };
  }
  if (types.isUint8Array(pattern)) {
    if (pattern.length < 1 || pattern.length > 8) throw outOfRange('pattern.length', '>= 1 and <= 8', pattern.length);
    if (addOffset && pattern.length !== 8) throw outOfRange('pattern.length', '8 with addOffset', pattern.length);
    let value = 0n;
    for (let i = pattern.length - 1; i >= 0; i--) value = (value << 8n) | BigInt(pattern[i]!);
    return { value, bytes: pattern.length };
  }
  throw invalidArgType('pattern', 'a number, a bigint or a Uint8Array', pattern);
}
