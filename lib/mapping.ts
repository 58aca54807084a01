// The Mapping class: a live memory mapping made by map.ts's factories (or
// KmmapDevice#map()), with the mmap family (msync, madvise, mlock2,
// mprotect, mincore, mremap) as methods.
import * as fs from 'node:fs';
import { constants as bufferConstants } from 'node:buffer';
import { native } from './binding';
import { describe, mappedPath, type MappingDescriptor } from './descriptor';
import {
  type CodedError, codedError, illegalConstructor, runtimeName, invalidThis, outOfRange, type SystemError, withContext,
} from './errors';
import { checkWithinFile, currentSize, fdStat } from './file-bounds';
import { adviceHint, type Hint, lockHint, memoryHint, remapHint } from './hints';
import {
  type Access, ADVICE, ADVICE_NAMES, type Advice, fitsInBuffer, type LockOptions, MAX_MAP_LENGTH, type MappingRange, mlockFlags,
  msyncFlags, protFor, type Protection, PROTECTIONS, type ResizeOptions, type SyncOptions,
} from './map-options';
import { granuleOf, PAGE_SIZE, roundUp } from './page';
import { closeOpened, openForMapping, pathText } from './paths';
import { type Settings, setMappingConstructor, type Source, type MappingInit } from './source';
import { validateBoolean, validateInteger, validateObject, validateOneOf } from './validate';

/** True only while newMapping() runs the constructor: `new Mapping()` elsewhere is refused. */
let constructing = false;

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
    // The one way in: source.ts's newMapping(), which the constructor's check lets through.
    setMappingConstructor((init) => {
      constructing = true;
      try {
        return new Mapping(init);
      } finally {
        constructing = false;
      }
    });
  }

  /**
   * Mappings are made by map(), map.anonymous(), map.fromDescriptor() and
   * KmmapDevice#map(); `new Mapping()` throws ERR_ILLEGAL_CONSTRUCTOR.
   */
  private constructor(init: MappingInit) {
    if (!constructing) throw illegalConstructor('Mapping', 'map(), map.anonymous() and map.fromDescriptor()');
    constructing = false;
    this.#handle = init.handle;
    this.#base = init.base;
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

  /** Makes the whole-mapping Buffer, if the mapping fits in one. */
  #attach(): void {
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
    validateObject('options', options);
    const async = validateBoolean('options.async', options.async);
    const invalidate = validateBoolean('options.invalidate', options.invalidate);
    const pages = this.#pages('sync', where, this.#granule);
    this.#call('msync', () => native.msync(this.#handle, pages.offset, pages.length, msyncFlags(async, invalidate)));
  }

  /**
   * Gives the kernel advice about the range (`madvise`): one of the names
   * in ADVICE. Some advice changes contents: 'dontneed' on private memory
   * and 'remove' drop what was written, 'free' may. The kernel's EINVAL
   * comes back for advice it lacks or that cannot apply to this mapping.
   */
  advise(advice: Advice, range?: MappingRange): void {
    Mapping.#live(this, 'advise');
    validateOneOf('advice', advice, ADVICE_NAMES);
    const pages = this.#pages('advise', readRange(range), this.#granule);
    this.#call('madvise', () => native.madvise(this.#handle, pages.offset, pages.length, ADVICE[advice]), adviceHint(advice));
  }

  /** Locks the pages in RAM (`mlock2`); with `onFault`, each page as it is first touched. */
  lock(options: LockOptions = {}, range?: MappingRange): void {
    Mapping.#live(this, 'lock');
    validateObject('options', options);
    const flags = mlockFlags(validateBoolean('options.onFault', options.onFault));
    const pages = this.#pages('lock', readRange(range), this.#granule);
    this.#call('mlock2', () => native.mlock(this.#handle, pages.offset, pages.length, flags), lockHint(pages.length));
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
    validateOneOf('access', access, PROTECTIONS);
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
    validateObject('options', options);
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
    if (source.kind !== 'unsized' && !allowBeyondEnd && length > this.#length) {
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
    let base = this.#call('mremap', () => viewsDetached('resize', () => native.remap(this.#handle, mapped, viewsMayStayAttached)), remapHint);
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
        base = this.#call('mremap', () => viewsDetached('resize', () => native.remap(this.#handle, mapped, viewsMayStayAttached, again.fd)), remapHint);
      } finally {
        if (again.close) closeOpened(again.fd);
      }
    }
    this.#base = base;
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
    return describe(this.#source, this.#settings, this.#length, this.#access);
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
    return granuleOf(this.#settings.hugePageSize);
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

  #call<T>(syscall: string, fn: () => T, hint: Hint = memoryHint(syscall, this.#access)): T {
    try {
      return fn();
    } catch (err) {
      const source = this.#source;
      const target = { path: source.displayPath ?? pathText(mappedPath(source)), fd: source.ownsMemfd ? undefined : source.fd };
      throw withContext(err, target, hint);
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
    const path = mappedPath(source);
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
    closeOpened(fd);
    return { fd: -1, close: false };
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

/** A MappingRange's fields as read, once, before the mapping's state is looked at. */
interface RangeFields {
  offset: unknown;
  length: unknown;
}

/** Reads a range argument's fields (running any getters) without judging them yet: Mapping#pages does. */
function readRange(range: MappingRange | undefined): RangeFields | undefined {
  if (range === undefined) return undefined;
  validateObject('range', range);
  return { offset: range.offset, length: range.length };
}
