// map(), map.anonymous(), map.fromDescriptor() and the Mapping they return:
// files, devices, kernel buffers and anonymous memory as zero-copy Buffers,
// with the mmap family (msync, madvise, mlock2, mprotect, mincore, mremap)
// as methods.
import * as fs from 'node:fs';
import { constants as bufferConstants } from 'node:buffer';
import { native } from './binding';
import { type MappingDescriptor, DESCRIPTOR_KIND, validateDescriptor } from './descriptor';
import {
  type CodedError, codedError, illegalConstructor, runtimeName, invalidArgType, invalidArgValue, invalidThis, outOfRange, type SystemError, withContext,
} from './errors';
import {
  checkWithinFile, currentSize, fdStat, type FileFacts, type FileIdentity, fileFacts, identityOf, mapLength, onHugetlbfs, onPseudoFilesystem,
} from './file-bounds';
import { lockFailureHint } from './memlock';
import {
  type Access, type AnonymousOptions, anonymousMapFlags, anonymousSettings, type FileSettings, fileMapFlags,
  fileSettings, fitsInBuffer, type MapOptions, MAX_MAP_LENGTH, memfdFlags, type MemorySettings, protFor, validateOptionsObject,
} from './map-options';
import { PAGE_SIZE } from './page';
import { absolute, linkTarget, openForMapping, pathText, type RawPath, rawPathOf } from './paths';
import { validateBoolean, validateFd, validateInteger, validateMemory } from './validate';

export { PAGE_SIZE } from './page';
export type { Access, AnonymousOptions, HugePageSize, MapOptions, MemoryOptions } from './map-options';
export type { MappingDescriptor } from './descriptor';

/** A file path, as fs takes it. */
export type PathLike = string | Buffer | URL;

/**
 * Part of a mapping, in bytes from its first byte (`mapping.address`).
 * `offset` defaults to 0, `length` to the rest of the mapping. Calls that
 * work on pages apply to every page the range touches.
 */
export interface MappingRange {
  offset?: number;
  length?: number;
}

/** Options of `mapping.sync()`. */
export interface SyncOptions {
  /** Schedule the write-back and return at once (`MS_ASYNC`) instead of waiting (`MS_SYNC`). Default false. */
  async?: boolean;
  /** Also invalidate other mappings of the file so they see fresh data (`MS_INVALIDATE`). Default false. */
  invalidate?: boolean;
}

/** Options of `mapping.lock()`. */
export interface LockOptions {
  /** Lock pages as they are first touched instead of faulting them all in now (`MLOCK_ONFAULT`). Default false. */
  onFault?: boolean;
}

/** Options of `mapping.resize()`. */
export interface ResizeOptions {
  /** As for map(): let a file mapping grow past the file's end. Defaults to the mapping's own setting. */
  allowBeyondEnd?: boolean;
}

/** Protections for `mapping.protect()`: `'none'` makes any access fatal (SIGSEGV), `'r'` any write. */
export type Protection = 'none' | 'r' | 'rw';

/** madvise(2) advice by name (`MADV_*` in lower case); the kernel refuses what it lacks with EINVAL. */
export const ADVICE = Object.freeze({
  normal: 0,
  random: 1,
  sequential: 2,
  willneed: 3,
  dontneed: 4,
  free: 8,
  remove: 9,
  dontfork: 10,
  dofork: 11,
  mergeable: 12,
  unmergeable: 13,
  hugepage: 14,
  nohugepage: 15,
  dontdump: 16,
  dodump: 17,
  wipeonfork: 18,
  keeponfork: 19,
  cold: 20,
  pageout: 21,
  populate_read: 22,
  populate_write: 23,
  collapse: 25,
} as const);

/** A name of madvise advice: a key of ADVICE. */
export type Advice = keyof typeof ADVICE;

const MS_ASYNC = 1;
const MS_INVALIDATE = 2;
const MS_SYNC = 4;
const MLOCK_ONFAULT = 1;

/** Where a mapping's memory comes from: what descriptor() and resize() need to know. */
interface Source {
  /** How errors name the file: the path as given, or undefined (then the fd is named). */
  displayPath: string | undefined;
  /**
   * A path that opens the same file, if known (absolute); for an fd mapping,
   * found from the fd when needed. A Buffer when it is not valid UTF-8.
   */
  path: RawPath | undefined;
  /** The caller's fd for an fd mapping, or the memfd the mapping owns. */
  fd: number | undefined;
  /** Undefined for private anonymous memory, which no one else can map. */
  identity: FileIdentity | undefined;
  /** The file offset of the mapping's first byte. */
  offset: bigint;
  /** What the file's size means (FileFacts): growing past the end of a sized file is refused. */
  kind: FileFacts['kind'];
  ownsMemfd: boolean;
  /**
   * Bytes from the base past which the memory has no backing however the
   * file changes (a shared /dev/zero mapping's memory keeps its first size):
   * resize() may not grow past it. Undefined: no such limit.
   */
  backedBytes?: number;
}

type Settings = MemorySettings & { sync: boolean; allowBeyondEnd: boolean };

interface MappingInit {
  handle: object;
  /** Bytes between the page-aligned base and the first requested byte. */
  delta: number;
  length: number;
  access: Access;
  source: Source;
  settings: Settings;
}

/** True only while newMapping() runs the constructor: `new Mapping()` elsewhere is refused. */
let constructing = false;
/** `new Mapping(init)`, set by the class's static block (the constructor is private to it). */
let construct: (init: MappingInit) => Mapping;

/**
 * A live memory mapping. Its memory is `buffer` (or, beyond Buffer's
 * maximum size, windows from `view()`); close it, or let `using` or the
 * garbage collector do it, to unmap.
 */
export class Mapping implements Disposable {
  readonly #handle: object;
  readonly #delta: number;
  readonly #access: Access;
  readonly #source: Source;
  readonly #settings: Settings;
  #length: number;
  #base = 0n;
  #buffer: Buffer | undefined;
  #closed = false;

  static {
    // The one way in: newMapping() below, which the constructor's check lets through.
    construct = (init) => new Mapping(init);
  }

  /**
   * Mappings are made by map(), map.anonymous(), map.fromDescriptor() and
   * KmmapDevice#map(); `new Mapping()` throws ERR_ILLEGAL_CONSTRUCTOR.
   */
  private constructor(init: MappingInit) {
    if (!constructing) throw illegalConstructor('Mapping', 'map(), map.anonymous() and map.fromDescriptor()');
    constructing = false;
    this.#handle = init.handle;
    this.#delta = init.delta;
    this.#length = init.length;
    this.#access = init.access;
    this.#source = init.source;
    this.#settings = init.settings;
    try {
      this.#attach();
    } catch (err) {
      // No Mapping to close it: unmap now rather than at garbage collection.
      native.unmap(this.#handle);
      throw err;
    }
  }

  #attach(): void {
    this.#base = native.base(this.#handle);
    this.#buffer = fitsInBuffer(this.#length)
      ? Buffer.from(native.view(this.#handle, this.#delta, this.#length))
      : undefined;
  }

  /**
   * The whole-mapping Buffer of a live mapping, made anew when code outside
   * kmmap detached it (ArrayBuffer.prototype.transfer() moves the memory to
   * an ArrayBuffer of its own): the mapping is still there, so is a view.
   */
  #wholeBuffer(): Buffer | undefined {
    const current = this.#buffer;
    if (current !== undefined && current.byteLength === 0 && this.#length > 0 && !this.#closed) this.#attach();
    return this.#buffer;
  }

  /**
   * The mapped memory itself, zero-copy. After close() its length is 0.
   * A mapping longer than `buffer.constants.MAX_LENGTH` has no single
   * Buffer: this throws ERR_KMMAP_TOO_LARGE_FOR_BUFFER, use view().
   */
  get buffer(): Buffer {
    Mapping.#brand(this);
    const whole = this.#wholeBuffer();
    if (whole !== undefined) return whole;
    if (this.#closed) return Buffer.alloc(0);
    throw codedError('ERR_KMMAP_TOO_LARGE_FOR_BUFFER',
      `This mapping (${this.#length} bytes) is larger than a Buffer can be (buffer.constants.MAX_LENGTH = ` +
      `${bufferConstants.MAX_LENGTH}): read it through mapping.view(offset, length)`);
  }

  /** Virtual address of the mapping's first byte (the requested offset's byte). */
  get address(): bigint {
    Mapping.#brand(this);
    return this.#base + BigInt(this.#delta);
  }

  /** Virtual address of the page-aligned start of what is mapped (`address` rounded down). */
  get baseAddress(): bigint {
    Mapping.#brand(this);
    return this.#base;
  }

  /** Mapped length in bytes, as requested; 0 once closed. */
  get length(): number {
    Mapping.#brand(this);
    return this.#closed ? 0 : this.#length;
  }

  /** The file offset of the first byte (0 for anonymous memory). */
  get offset(): bigint {
    Mapping.#brand(this);
    return this.#source.offset;
  }

  /** The access the mapping was made with (protect() does not change it). */
  get access(): Access {
    Mapping.#brand(this);
    return this.#access;
  }

  /** The memfd behind a shared anonymous mapping, for child processes (owned: close() closes it); otherwise undefined. */
  get memfd(): number | undefined {
    Mapping.#brand(this);
    return this.#source.ownsMemfd && !this.#closed ? this.#source.fd : undefined;
  }

  /** Whether close() was called. */
  get closed(): boolean {
    Mapping.#brand(this);
    return this.#closed;
  }

  /**
   * A Buffer over `length` bytes of the mapping from `offset`, zero-copy.
   * `length` defaults to the rest of the mapping and can be at most
   * `buffer.constants.MAX_LENGTH`. Views are detached by close() and resize().
   */
  view(offset = 0, length?: number): Buffer {
    Mapping.#live(this, 'view');
    validateInteger('offset', offset, 0, this.#length);
    const rest = this.#length - offset;
    if (length === undefined) {
      if (!fitsInBuffer(rest)) {
        throw outOfRange('length', `given when the rest of the mapping (${rest} bytes) is more than buffer.constants.MAX_LENGTH (${bufferConstants.MAX_LENGTH})`, length);
      }
      length = rest;
    } else {
      validateInteger('length', length, 0, Math.min(rest, bufferConstants.MAX_LENGTH));
    }
    const whole = this.#wholeBuffer();
    if (whole !== undefined) return whole.subarray(offset, offset + length);
    if (length === 0) return Buffer.alloc(0);
    return Buffer.from(native.view(this.#handle, this.#delta + offset, length));
  }

  /**
   * Writes changes back to the file (`msync`), waiting for the disk unless
   * `async`. Without a range, the whole mapping.
   */
  sync(range?: MappingRange, options: SyncOptions = {}): void {
    Mapping.#live(this, 'sync');
    const where = readRange(range);
    validateOptionsObject('options', options);
    const async = validateBoolean('options.async', options.async);
    const invalidate = validateBoolean('options.invalidate', options.invalidate);
    const pages = this.#pages('sync', where, this.#granule);
    const flags = (async ? MS_ASYNC : MS_SYNC) | (invalidate ? MS_INVALIDATE : 0);
    this.#call('msync', () => native.msync(this.#handle, pages.offset, pages.length, flags));
  }

  /**
   * Gives the kernel advice about the range (`madvise`): one of the names
   * in ADVICE. Some advice changes contents: 'dontneed' on private memory
   * and 'remove' drop what was written, 'free' may. The kernel's EINVAL
   * comes back for advice it lacks or that cannot apply to this mapping.
   */
  advise(advice: Advice, range?: MappingRange): void {
    Mapping.#live(this, 'advise');
    if (typeof advice !== 'string' || !Object.hasOwn(ADVICE, advice)) {
      throw invalidArgValue('advice', advice, `must be one of: ${Object.keys(ADVICE).map((name) => `'${name}'`).join(', ')}`);
    }
    const pages = this.#pages('advise', readRange(range), this.#granule);
    this.#call('madvise', () => native.madvise(this.#handle, pages.offset, pages.length, ADVICE[advice]),
      (code) => (code === 'EINVAL' ? `This kernel or this kind of mapping does not take advice '${advice}'` : undefined));
  }

  /** Locks the pages in RAM (`mlock2`); with `onFault`, each page as it is first touched. */
  lock(options: LockOptions = {}, range?: MappingRange): void {
    Mapping.#live(this, 'lock');
    validateOptionsObject('options', options);
    const flags = validateBoolean('options.onFault', options.onFault) ? MLOCK_ONFAULT : 0;
    const pages = this.#pages('lock', readRange(range), this.#granule);
    this.#call('mlock2', () => native.mlock(this.#handle, pages.offset, pages.length, flags),
      (code) => lockFailureHint(code, pages.length));
  }

  /** Unlocks pages locked by lock() or the `locked` option (`munlock`). */
  unlock(range?: MappingRange): void {
    Mapping.#live(this, 'unlock');
    const pages = this.#pages('unlock', readRange(range), this.#granule);
    this.#call('munlock', () => native.munlock(this.#handle, pages.offset, pages.length));
  }

  /**
   * Changes the protection of the range's pages (`mprotect`). Touching
   * memory against its protection raises SIGSEGV, which kills the process:
   * after protect('r') nothing may write to it, after 'none' nothing may
   * read it, through any view. 'rw' on a shared mapping of a file opened
   * read-only fails with the kernel's EACCES.
   */
  protect(access: Protection, range?: MappingRange): void {
    Mapping.#live(this, 'protect');
    if (access !== 'none' && access !== 'r' && access !== 'rw') {
      throw invalidArgValue('access', access, "must be one of: 'none', 'r', 'rw'");
    }
    const pages = this.#pages('protect', readRange(range), this.#granule);
    this.#call('mprotect', () => native.mprotect(this.#handle, pages.offset, pages.length, protFor(access)));
  }

  /**
   * Which pages are in RAM now (`mincore`): a Uint8Array with one element
   * per page the range touches, 1 if resident and 0 if not. Element 0 is
   * the page holding the range's first byte.
   */
  residency(range?: MappingRange): Uint8Array {
    Mapping.#live(this, 'residency');
    const pages = this.#pages('residency', readRange(range), PAGE_SIZE);
    return this.#call('mincore', () => native.mincore(this.#handle, pages.offset, pages.length));
  }

  /**
   * Grows or shrinks the mapping (`mremap`, which may move it). Every old
   * view is detached as by close(); the mapping now covers the new range
   * and its new buffer is returned (null when the new length is more than a
   * Buffer can be: use view()). A shared anonymous mapping's memfd grows to
   * match; a file mapping may not grow past the file's end unless allowed.
   */
  resize(newLength: number, options: ResizeOptions = {}): Buffer | null {
    Mapping.#live(this, 'resize');
    const length = validateInteger('newLength', newLength, 1, MAX_MAP_LENGTH);
    validateOptionsObject('options', options);
    const allowOption = options.allowBeyondEnd;
    const allowBeyondEnd = allowOption === undefined ? this.#settings.allowBeyondEnd : validateBoolean('options.allowBeyondEnd', allowOption);
    // The getter of options.allowBeyondEnd may have closed or resized the mapping.
    Mapping.#live(this, 'resize');
    const source = this.#source;
    const mapped = roundUp(this.#delta + length, this.#granule);
    if (source.backedBytes !== undefined && mapped > source.backedBytes) {
      throw codedError('ERR_KMMAP_BEYOND_END',
        `A shared mapping of ${source.displayPath ?? '/dev/zero'} keeps the size it was made with (${source.backedBytes - this.#delta} bytes), ` +
        'and touching memory past it would raise SIGBUS: map /dev/zero again with the new length, or use map.anonymous() and resize that');
    }
    if (source.kind !== 'unsized' && !allowBeyondEnd && length > this.#length && !this.#onPseudoFilesystem()) {
      const size = currentSize(source.identity!, source.path, source.fd);
      const fix = 'resize less, or pass { allowBeyondEnd: true }';
      if (size === undefined) {
        throw codedError('ERR_KMMAP_BEYOND_END',
          `Cannot tell the size of ${source.displayPath ?? 'the mapped file'} any more (renamed, deleted or its fd closed), ` +
          `and growing past its end would risk SIGBUS: ${fix} if you know it is long enough`);
      }
      checkWithinFile(size, source.offset, length, source.displayPath, fix);
    }
    if (source.ownsMemfd && fdStat(source.fd!).size < BigInt(mapped)) {
      // Never shrink it: a worker may map the tail through a descriptor.
      native.ftruncate(source.fd!, mapped);
    }
    const hint = (code: string) => {
      if (code === 'EFAULT') {
        return 'The driver does not let this mapping grow (VM_DONTEXPAND or VM_PFNMAP), or parts of it differ ' +
          '(protect(), lock() or advise() on part of it split it: apply them to the whole mapping, or undo them, first)';
      }
      if (code === 'EINVAL') return 'The file or device does not let this mapping change size';
      return undefined;
    };
    const remap = (fd?: number) => viewsDetached('resize', () => (fd === undefined
      ? native.remap(this.#handle, mapped, viewsMayStayAttached)
      : native.remap(this.#handle, mapped, viewsMayStayAttached, fd)));
    const base = this.#call('mremap', () => remap(), hint);
    if (base === undefined) {
      // The kernel cannot keep the old pages mapped while it moves them, and
      // a view may still be in use: the file is mapped again instead.
      const again = this.#openAgain();
      if (again.fd < 0 && source.kind === 'regular') {
        // Moving it without a second mapping would leave the old range
        // unmapped for a system call's time (a device's case, documented):
        // for a regular file that is refused, with nothing changed.
        throw codedError('ERR_KMMAP_FILE_GONE',
          `resize() must move this private mapping of ${source.displayPath ?? 'a file'} while views may still hold its address, ` +
          'and this kernel cannot move private file pages while keeping them mapped (MREMAP_DONTUNMAP), so the file must be mapped again: ' +
          'but it can no longer be opened as the same file (renamed, deleted or made unreadable, and its fd closed). ' +
          'Keep an fd of the file open and map that, or copy the data into map.anonymous() memory and resize that');
      }
      try {
        this.#call('mremap', () => remap(again.fd), hint);
      } finally {
        if (again.close) fs.closeSync(again.fd);
      }
    }
    this.#length = length;
    this.#attach();
    return this.#buffer ?? null;
  }

  /**
   * A plain-data description of this mapping that `map.fromDescriptor()`
   * maps again: in a worker thread (postMessage), or in another process
   * (JSON) that can open the same path. Shared mappings of a file or of
   * shared anonymous memory then share pages with this one. Throws
   * ERR_KMMAP_NOT_SHAREABLE for private anonymous memory, or when the file
   * can no longer be found (renamed, deleted and its fd closed).
   */
  descriptor(): MappingDescriptor {
    Mapping.#live(this, 'descriptor');
    const source = this.#source;
    if (source.identity === undefined) {
      throw codedError('ERR_KMMAP_NOT_SHAREABLE',
        'Private anonymous memory belongs to this mapping alone: use map.anonymous(length, { shared: true }) for memory another thread can map');
    }
    const settings = this.#settings;
    const path = this.#reopenablePath(source, source.identity);
    return {
      kind: DESCRIPTOR_KIND,
      path: pathText(path),
      ...(typeof path === 'string' ? {} : { pathBytes: path.toString('base64') }),
      offset: source.offset.toString(),
      length: this.#length,
      access: this.#access,
      dev: source.identity.dev.toString(),
      ino: source.identity.ino.toString(),
      populate: settings.populate,
      locked: settings.locked,
      noreserve: settings.noreserve,
      hugetlb: settings.hugePageSize === 0 ? false : settings.hugePageSize,
      sync: settings.sync,
      allowBeyondEnd: settings.allowBeyondEnd,
    };
  }

  /**
   * Unmaps. Every view of the memory (buffer, view()s, slices, typed arrays
   * over them) is detached first, so it reads as empty rather than touching
   * unmapped memory. A shared anonymous mapping's memfd is closed. Calling
   * it again does nothing.
   */
  close(): void {
    Mapping.#brand(this);
    if (this.#closed) return;
    try {
      viewsDetached('close', () => native.unmap(this.#handle));
    } catch (err) {
      // A munmap (or placeholder mmap) failure comes after every view was detached: closed all the same.
      if ((err as SystemError).syscall === 'munmap' || (err as SystemError).syscall === 'mmap') this.#closed = true;
      throw err;
    }
    this.#closed = true;
    // The detached view would keep the address range reserved until this
    // Mapping is collected (native code may still hold a pointer from it).
    this.#buffer = undefined;
  }

  /** close(), for `using`. */
  [Symbol.dispose](): void {
    Mapping.#brand(this);
    this.close();
  }

  get #granule(): number {
    return this.#settings.hugePageSize || PAGE_SIZE;
  }

  /** Throws ERR_INVALID_THIS unless `self` is a Mapping that map() made (not an object with its prototype). */
  static #brand(self: unknown): asserts self is Mapping {
    if (typeof self !== 'object' || self === null || !(#handle in self)) throw invalidThis('Mapping');
  }

  static #live(self: unknown, method: string): asserts self is Mapping {
    Mapping.#brand(self);
    if (self.#closed) {
      throw codedError('ERR_KMMAP_CLOSED', `Cannot call ${method}() on a closed mapping: map the file again`);
    }
  }

  /**
   * The range read by readRange(), checked against the mapping as it is
   * now (reading the arguments ran their getters, which may have closed or
   * resized it), widened to whole `granule`s, relative to the base.
   */
  #pages(method: string, range: RangeFields | undefined, granule: number): { offset: number; length: number } {
    Mapping.#live(this, method);
    let offset = 0;
    let length = this.#length;
    if (range !== undefined) {
      if (range.offset !== undefined) offset = validateInteger('range.offset', range.offset, 0, this.#length - 1);
      length = range.length === undefined
        ? this.#length - offset
        : validateInteger('range.length', range.length, 1, this.#length - offset);
    }
    const start = this.#delta + offset;
    const alignedStart = start - (start % granule);
    return { offset: alignedStart, length: roundUp(start + length, granule) - alignedStart };
  }

  #call<T>(syscall: string, fn: () => T, hint?: (code: string) => string | undefined): T {
    try {
      return fn();
    } catch (err) {
      const source = this.#source;
      const target = { path: source.displayPath ?? pathText(this.#path()), fd: source.ownsMemfd ? undefined : source.fd };
      throw withContext(err, target, (code) => hint?.(code) ?? memoryHint(syscall, code, this.#access));
    }
  }

  /**
   * The mapped file, open for resize() to map it again: the caller's fd or
   * the path, if either still is the same regular file; fd -1 otherwise (a
   * device, whose open(2) may have effects of its own, or a file that is
   * gone: resize() then refuses for a regular file).
   */
  #openAgain(): { fd: number; close: boolean } {
    const source = this.#source;
    const same = (stat: { mode: number | bigint; dev: bigint; ino: bigint }) =>
      (Number(stat.mode) & fs.constants.S_IFMT) === fs.constants.S_IFREG &&
      stat.dev === source.identity?.dev && stat.ino === source.identity.ino;
    if (source.kind !== 'regular') return { fd: -1, close: false };
    try {
      if (source.fd !== undefined && same(fdStat(source.fd))) return { fd: source.fd, close: false };
    } catch {
      // closed by the caller: try the path
    }
    const path = this.#path();
    if (path === undefined) return { fd: -1, close: false };
    let fd: number;
    try {
      // Checked before opening too: opening a path that now leads elsewhere (a device) may have effects.
      if (!same(fs.statSync(path, { bigint: true }))) return { fd: -1, close: false };
      fd = openForMapping(path, this.#access === 'rw');
    } catch {
      return { fd: -1, close: false };
    }
    try {
      if (same(fdStat(fd))) return { fd, close: true };
    } catch {
      // fall through: not usable
    }
    fs.closeSync(fd);
    return { fd: -1, close: false };
  }

  /** The mapped file's path: as mapped, or (fd mappings) where the fd leads while it is open. */
  #path(): RawPath | undefined {
    const source = this.#source;
    if (source.path !== undefined || source.fd === undefined || source.identity === undefined) return source.path;
    const target = linkTarget(source.fd);
    if (target === undefined) return undefined;
    try {
      const stat = fs.statSync(target, { bigint: true });
      return stat.dev === source.identity.dev && stat.ino === source.identity.ino ? target : undefined;
    } catch {
      return undefined;
    }
  }

  /** Whether a 'regular' file is on /proc or the like, where its size means nothing (asked once). */
  #onPseudoFilesystem(): boolean {
    const source = this.#source;
    if (source.kind !== 'regular') return false;
    const where = source.fd !== undefined ? `/proc/self/fd/${source.fd}` : source.path;
    if (where !== undefined && onPseudoFilesystem(where)) source.kind = 'unsized';
    return source.kind === 'unsized';
  }

  #reopenablePath(source: Source, identity: FileIdentity): RawPath {
    const matches = (stat: () => { dev: bigint; ino: bigint }) => {
      try {
        const s = stat();
        return s.dev === identity.dev && s.ino === identity.ino;
      } catch {
        return false;
      }
    };
    const path = source.ownsMemfd ? undefined : this.#path();
    if (path !== undefined && matches(() => fs.statSync(path, { bigint: true }))) return path;
    // /proc/<pid>/fd/<n> opens the fd's file itself, even a memfd or a deleted file.
    if (source.fd !== undefined && matches(() => fdStat(source.fd!))) {
      return `/proc/${process.pid}/fd/${source.fd}`;
    }
    throw codedError('ERR_KMMAP_NOT_SHAREABLE',
      `${source.displayPath ?? 'The mapped file'} can no longer be opened by path: it was renamed or deleted, and no open fd of it is known`);
  }
}

/**
 * Whether this runtime may leave a view attached when the addon detaches it.
 * V8 (Node, Deno) detaches any ArrayBuffer it is asked to; JavaScriptCore
 * (Bun: process.versions.webkit) not one an asynchronous call holds, and
 * nothing tells beforehand. Then resize() detaches views before it changes
 * anything, so that it can refuse (a failed resize() then leaves them
 * detached); elsewhere it keeps them attached when it fails. Set too the
 * first time a runtime leaves one attached at close().
 */
let viewsMayStayAttached = (process.versions as Record<string, string | undefined>).webkit !== undefined;

/**
 * Runs close() or resize()'s native half, which first detaches every view
 * and changes nothing if one stays attached (ERR_KMMAP_VIEW_IN_USE): a
 * runtime may refuse to detach an ArrayBuffer that an operation in flight
 * holds, and an attached view must never lead to memory that is no longer
 * the mapping's.
 */
function viewsDetached<T>(method: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if ((err as CodedError).code !== 'ERR_KMMAP_VIEW_IN_USE') throw err;
    viewsMayStayAttached = true;
    throw codedError('ERR_KMMAP_VIEW_IN_USE',
      `Cannot ${method}() the mapping while an operation in flight uses one of its views: ${runtimeName()} cannot detach ` +
      'an ArrayBuffer that an asynchronous call holds (fs.read() or fs.write() with a callback, a stream). Nothing changed, ' +
      `but views of the mapping may be detached (mapping.buffer gives a new one): ${method}() again once the operation has completed`);
  }
}

function roundUp(value: number, granule: number): number {
  return Math.ceil(value / granule) * granule;
}

/** A MappingRange's fields as read, once, before the mapping's state is looked at. */
interface RangeFields {
  offset: unknown;
  length: unknown;
}

/** Reads a range argument's fields (running any getters) without judging them yet: Mapping#pages does. */
function readRange(range: MappingRange | undefined): RangeFields | undefined {
  if (range === undefined) return undefined;
  validateOptionsObject('range', range);
  return { offset: range.offset, length: range.length };
}

function newMapping(init: MappingInit): Mapping {
  constructing = true;
  try {
    return construct(init);
  } finally {
    constructing = false;
  }
}

function memoryHint(syscall: string, code: string, access: Access): string | undefined {
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
}

/** Virtual address of the first byte of a buffer, typed array, DataView or ArrayBuffer. */
export function addressOf(buffer: ArrayBufferView | ArrayBuffer): bigint {
  validateMemory('buffer', buffer);
  return native.addressOf(buffer);
}

function mmapHint(
  code: string, settings: MemorySettings & { access: Access; sync?: boolean }, isPath: boolean, huge = settings.hugePageSize !== 0,
): string | undefined {
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
}

/** Locks a new mapping if asked to; unmaps it again if that fails. */
function finish(mapping: Mapping, settings: MemorySettings): Mapping {
  if (settings.locked) {
    try {
      mapping.lock();
    } catch (err) {
      mapping.close();
      throw err;
    }
  }
  return mapping;
}

interface FdSource {
  displayPath: string | undefined;
  path: RawPath | undefined;
  /** The caller's fd, kept for descriptor() and resize() (undefined when kmmap opened it). */
  fd: number | undefined;
}

function mapFd(fd: number, settings: FileSettings, from: FdSource): Mapping {
  const facts = fileFacts(fd, from.displayPath);
  const length = mapLength(facts, fd, settings.offset, settings.length, settings.allowBeyondEnd, from.displayPath);
  const granule = settings.hugePageSize || PAGE_SIZE;
  const delta = Number(settings.offset % BigInt(granule));
  const shared = settings.access !== 'copy';
  if (facts.device === 'zero' && shared && settings.offset >= BigInt(PAGE_SIZE)) {
    // Shared, /dev/zero is a fresh shmem object of the mapped size, read from the file offset.
    throw codedError('ERR_KMMAP_BEYOND_END',
      `A shared mapping of ${from.displayPath ?? '/dev/zero'} is new memory as long as the mapping, and an offset (${settings.offset}) ` +
      "moves it past that memory's end, where touching it would raise SIGBUS: map it at offset 0 (every offset reads zeros) or with access 'copy'");
  }
  if (settings.noreserve && settings.hugePageSize === 0 && facts.kind === 'regular' && onHugetlbfs(fd)) {
    throw invalidArgValue('options.noreserve', true,
      'cannot map a file on hugetlbfs: with no huge pages reserved, touching a page when none is free raises SIGBUS, which kills the process. ' +
      'Drop options.noreserve');
  }
  let handle: object;
  try {
    handle = native.map(fd, roundUp(delta + length, granule), settings.offset - BigInt(delta),
      protFor(settings.access), fileMapFlags(settings), -1);
  } catch (err) {
    const isPath = from.displayPath !== undefined;
    const huge = settings.hugePageSize !== 0 || onHugetlbfs(fd);
    throw withContext(err, isPath ? { path: from.displayPath } : { fd }, (code) => mmapHint(code, settings, isPath, huge));
  }
  const source: Source = {
    displayPath: from.displayPath,
    path: from.path,
    fd: from.fd,
    identity: facts.identity,
    offset: settings.offset,
    kind: facts.kind,
    ownsMemfd: false,
    ...(facts.device === 'zero' && shared ? { backedBytes: roundUp(delta + length, granule) } : {}),
  };
  return finish(newMapping({ handle, delta, length, access: settings.access, source, settings }), settings);
}


/** map(pathOrFd, options?): see `map`. */
function mapFile(pathOrFd: PathLike | number, options: MapOptions = {}): Mapping {
  const path = typeof pathOrFd === 'number' ? undefined : rawPathOf(pathOrFd);
  if (path === undefined && typeof pathOrFd !== 'number') {
    throw invalidArgType('pathOrFd', 'a path (string, Buffer or URL) or a file descriptor (number)', pathOrFd);
  }
  const settings = fileSettings(options);
  if (path === undefined) {
    const fd = validateFd('pathOrFd', pathOrFd);
    return mapFd(fd, settings, { displayPath: undefined, path: undefined, fd });
  }
  const fd = openForMapping(path, settings.access === 'rw');
  try {
    // The mapping holds its own reference to the file.
    return mapFd(fd, settings, { displayPath: pathText(path), path: absolute(path), fd: undefined });
  } finally {
    fs.closeSync(fd);
  }
}

/** @internal map() of an fd opened from `path` by kmmap itself (`kmmap dump`): errors name the path. */
export function mapOpened(fd: number, path: string, options: MapOptions): Mapping {
  return mapFd(fd, fileSettings(options), { displayPath: path, path: absolute(path), fd: undefined });
}

/**
 * Maps `length` bytes of zeroed anonymous memory. Shared (the default), it
 * lives in a memfd the mapping owns: `mapping.memfd` can be given to a child
 * process (spawn's `stdio`) to map with map(fd), and `descriptor()` lets a
 * worker map the same pages. Private (`shared: false`) memory is this
 * mapping's alone.
 */
function mapAnonymous(length: number, options: AnonymousOptions = {}): Mapping {
  const settings = anonymousSettings(length, options);
  const granule = settings.hugePageSize || PAGE_SIZE;
  const mapped = roundUp(settings.length, granule);
  let memfd = -1;
  if (settings.shared) {
    try {
      memfd = native.memfdCreate('kmmap-anonymous', memfdFlags(settings));
    } catch (err) {
      throw withContext(err, {}, (code) => (code === 'EINVAL' && settings.hugePageSize !== 0
        ? 'This machine has no huge pages of this size' : undefined));
    }
  }
  let handle: object;
  let identity: FileIdentity | undefined;
  try {
    if (memfd >= 0) {
      // Through the addon, which made the memfd: the runtime's fs may not know it (Deno).
      native.ftruncate(memfd, mapped);
      identity = identityOf(fdStat(memfd));
    }
    handle = native.map(memfd, mapped, 0n, protFor(settings.access), anonymousMapFlags(settings), memfd);
  } catch (err) {
    if (memfd >= 0) native.close(memfd);
    throw withContext(err, {}, (code) => mmapHint(code, settings, false));
  }
  const source: Source = {
    displayPath: undefined,
    path: undefined,
    fd: memfd >= 0 ? memfd : undefined,
    identity,
    offset: 0n,
    kind: 'unsized',
    ownsMemfd: memfd >= 0,
  };
  const all: Settings = Object.assign(settings, { sync: false, allowBeyondEnd: false });
  return finish(newMapping({ handle, delta: 0, length: settings.length, access: settings.access, source, settings: all }), settings);
}

/**
 * Maps what `mapping.descriptor()` described: the same file region with the
 * same options, e.g. in a worker thread. Throws ERR_KMMAP_DESCRIPTOR_STALE
 * if the path now leads to another file than the one described.
 */
function mapDescriptor(descriptor: MappingDescriptor): Mapping {
  const d = validateDescriptor(descriptor);
  const path: RawPath = d.pathBytes === undefined ? d.path : Buffer.from(d.pathBytes, 'base64');
  const stale = (stat: fs.BigIntStats) => {
    if (stat.dev.toString() === d.dev && stat.ino.toString() === d.ino) return;
    throw codedError('ERR_KMMAP_DESCRIPTOR_STALE',
      `${d.path} is no longer the file that was mapped (its device and inode changed): describe the mapping again`);
  };
  // Checked before opening: opening a path that now leads elsewhere (a FIFO, a tty) may block or have effects.
  stale(fs.statSync(path, { bigint: true }));
  const fd = openForMapping(path, d.access === 'rw');
  try {
    stale(fs.fstatSync(fd, { bigint: true }));
    const settings = fileSettings({
      offset: BigInt(d.offset),
      length: d.length,
      access: d.access,
      populate: d.populate,
      locked: d.locked,
      noreserve: d.noreserve,
      hugetlb: d.hugetlb === false ? false : d.hugetlb,
      sync: d.sync,
      allowBeyondEnd: d.allowBeyondEnd,
    });
    // The path may be /proc/<pid>/fd/<n>: keep it, it stays valid as long as the original.
    return mapFd(fd, settings, { displayPath: d.path, path, fd: undefined });
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Maps a file, device or /proc entry (by path or open fd) into memory and
 * returns it as a Mapping whose `buffer` is the mapped memory, zero-copy.
 * With access 'r' or 'rw' the mapping is shared (MAP_SHARED): writes reach
 * the file and other mappings of it; 'copy' is private copy-on-write.
 * Several mappings of one open fd are independent views of the same memory.
 *
 * - `map.anonymous(length, options?)`: zeroed memory, shared through a memfd
 *   by default;
 * - `map.fromDescriptor(descriptor)`: maps again what `mapping.descriptor()`
 *   described, e.g. in a worker thread.
 *
 * @example
 * using m = map('/proc/lkmc_mmap', { length: PAGE_SIZE, access: 'rw' });
 * m.buffer.toString('latin1', 0, 4); // 'asdf'
 */
export const map: typeof mapFile & {
  anonymous: typeof mapAnonymous;
  fromDescriptor: typeof mapDescriptor;
} = Object.assign(mapFile, { anonymous: mapAnonymous, fromDescriptor: mapDescriptor });
