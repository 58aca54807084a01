// Errors in the shapes Node users already know: system errors like fs's
// (code, errno, syscall, path) and argument errors like Node's own
// (TypeError / RangeError with ERR_* codes). Messages end with what to do.
import { inspect, types } from 'node:util';

/**
 * The code of every error kmmap raises for a condition of its own:
 *
 * - `ERR_KMMAP_ABI`: the module reported a value this library does not know (update kmmap);
 * - `ERR_KMMAP_ARRAYBUFFER`, `ERR_KMMAP_HANDLE`: Node-API could not make a view or a mapping handle;
 * - `ERR_KMMAP_BEYOND_END`: a mapping or resize() would reach past the file's end (SIGBUS);
 * - `ERR_KMMAP_CLOSED`: a method of a closed Mapping or KmmapDevice;
 * - `ERR_KMMAP_DESCRIPTOR_STALE`: map.fromDescriptor() of a path that now leads to another file;
 * - `ERR_KMMAP_EXTERNAL_BUFFERS_FORBIDDEN`: the runtime's V8 sandbox forbids buffers over foreign memory;
 * - `ERR_KMMAP_FILE_GONE`: resize() had to map a private mapping's file again and could no longer open it;
 * - `ERR_KMMAP_LENGTH_REQUIRED`: a device or /proc file mapped without `length`;
 * - `ERR_KMMAP_NOT_SHAREABLE`: descriptor() of memory no other thread can map;
 * - `ERR_KMMAP_PAGE_NOT_PRESENT`, `ERR_KMMAP_PFN_HIDDEN`: pagemap.physicalAddress() cannot tell;
 * - `ERR_KMMAP_SCAN_STALLED`: PAGEMAP_SCAN stopped advancing;
 * - `ERR_KMMAP_TOO_LARGE_FOR_BUFFER`: `buffer` of a mapping longer than a Buffer can be;
 * - `ERR_KMMAP_TOO_MANY_MAPPINGS`: kmmap's budget of live mappings or memfds is spent;
 * - `ERR_KMMAP_VIEW_IN_USE`: close() or resize() met a view the runtime left attached (Bun: an
 *   asynchronous call holds it); nothing changed, try again once the call has completed;
 * - `ERR_KMMAP_MODULE_NOT_LOADED`, `ERR_KMMAP_NO_SUCH_MAPPING`, `ERR_KMMAP_USAGE`: the `kmmap` command's.
 */
export type KmmapErrorCode =
  | 'ERR_KMMAP_ABI'
  | 'ERR_KMMAP_ARRAYBUFFER'
  | 'ERR_KMMAP_BEYOND_END'
  | 'ERR_KMMAP_CLOSED'
  | 'ERR_KMMAP_DESCRIPTOR_STALE'
  | 'ERR_KMMAP_EXTERNAL_BUFFERS_FORBIDDEN'
  | 'ERR_KMMAP_FILE_GONE'
  | 'ERR_KMMAP_HANDLE'
  | 'ERR_KMMAP_LENGTH_REQUIRED'
  | 'ERR_KMMAP_MODULE_NOT_LOADED'
  | 'ERR_KMMAP_NOT_SHAREABLE'
  | 'ERR_KMMAP_NO_SUCH_MAPPING'
  | 'ERR_KMMAP_PAGE_NOT_PRESENT'
  | 'ERR_KMMAP_PFN_HIDDEN'
  | 'ERR_KMMAP_SCAN_STALLED'
  | 'ERR_KMMAP_TOO_LARGE_FOR_BUFFER'
  | 'ERR_KMMAP_TOO_MANY_MAPPINGS'
  | 'ERR_KMMAP_USAGE'
  | 'ERR_KMMAP_VIEW_IN_USE';

/**
 * Node's own codes, which kmmap's argument checks use as Node's APIs do:
 * `ERR_INVALID_ARG_TYPE` and `ERR_INVALID_ARG_VALUE` (TypeError),
 * `ERR_OUT_OF_RANGE` (RangeError), `ERR_INVALID_THIS` (a method called on an
 * object that only has a kmmap class's prototype) and
 * `ERR_ILLEGAL_CONSTRUCTOR` (`new Mapping()`).
 */
export type NodeErrorCode =
  | 'ERR_INVALID_ARG_TYPE'
  | 'ERR_INVALID_ARG_VALUE'
  | 'ERR_OUT_OF_RANGE'
  | 'ERR_INVALID_THIS'
  | 'ERR_ILLEGAL_CONSTRUCTOR';

/** Every `ERR_*` code an error kmmap throws can carry; system errors carry errno names instead (SystemError). */
export type ErrorCode = KmmapErrorCode | NodeErrorCode;

/**
 * An error from a system call, shaped like Node's fs errors: `code` is the
 * errno's name as Node gives it (`'EINVAL'`, `'ENOMEM'`, `'EACCES'`, ...;
 * the kernel decides which), `errno` its negated number.
 */
export interface SystemError extends Error {
  code: string;
  errno: number;
  syscall: string;
  path?: string;
  fd?: number;
}

/**
 * An error with a kmmap or Node `ERR_*` code, to narrow on:
 *
 * @example
 * try {
 *   mapping.sync();
 * } catch (err) {
 *   if ((err as CodedError).code === 'ERR_KMMAP_CLOSED') map(path).sync();
 *   else throw err;
 * }
 */
export interface CodedError<Code extends ErrorCode = ErrorCode> extends Error {
  code: Code;
}

/** What kmmap throws: a coded error of its own or Node's, or a system error. Narrow on `code`. */
export type KmmapError = CodedError | SystemError;

/** Advice for an errno's code ('EINVAL'), or undefined when there is none: hints.ts has them all. */
export type Hint = (code: string) => string | undefined;

function isSystemError(err: unknown): err is SystemError {
  return err instanceof Error && typeof (err as SystemError).errno === 'number' &&
    typeof (err as SystemError).syscall === 'string';
}

/**
 * The one way a hint reaches a system error (the addon's, or Node's own fs
 * errors): adds the file (path or fd) unless the error names one already,
 * and the hint for its code, as `EINVAL: invalid argument, mmap
 * '/proc/lkmc_mmap'. <hint>`. Anything else is returned unchanged.
 */
export function withContext(
  err: unknown,
  target: { path?: string | undefined; fd?: number | undefined },
  hint?: Hint,
): unknown {
  if (!isSystemError(err)) return err;
  // libuv names errno 95 ENOTSUP (as Node does) but describes it as the
  // socket-only EOPNOTSUPP; drivers return it for any unsupported request.
  if (err.code === 'ENOTSUP') err.message = err.message.replace('operation not supported on socket', 'operation not supported');
  const named = err.path !== undefined || err.fd !== undefined;
  const name = named ? '' : target.path !== undefined ? `'${target.path}'` : target.fd !== undefined ? `fd ${target.fd}` : '';
  const extra = hint?.(err.code);
  err.message = `${err.message}${name ? ` ${name}` : ''}${extra ? `. ${extra}` : ''}`;
  if (target.path !== undefined) err.path = target.path;
  if (target.fd !== undefined) err.fd = target.fd;
  return err;
}

/** A system error made on the JavaScript side (e.g. EISDIR found by fstat). */
export function systemError(code: string, errno: number, syscall: string, description: string, path?: string, hint?: string): SystemError {
  const where = path !== undefined ? ` '${path}'` : '';
  const err = new Error(`${code}: ${description}, ${syscall}${where}${hint ? `. ${hint}` : ''}`) as SystemError;
  err.code = code;
  err.errno = -errno;
  err.syscall = syscall;
  if (path !== undefined) err.path = path;
  return err;
}

/** `err` with a `code` property, as Node's own errors have it. */
function withCode<E extends Error, Code extends ErrorCode>(err: E, code: Code): E & CodedError<Code> {
  return Object.assign(err, { code });
}

export function codedError<Code extends KmmapErrorCode>(code: Code, message: string): CodedError<Code> {
  return withCode(new Error(message), code);
}

/**
 * How an error message shows a value it received, without ever reading the
 * bytes of a buffer (they may be memory that protect() made inaccessible,
 * where reading them raises SIGSEGV) and without running the value's own
 * code (getters, Proxy traps, util.inspect.custom), which could throw or
 * close a mapping while the error is being made.
 */
export function received(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (typeof value === 'function') return `function ${functionName(value)}`;
  if (typeof value === 'object') return types.isProxy(value) ? 'a Proxy' : `an instance of ${constructorName(value)}`;
  return `type ${typeof value} (${shown(value)})`;
}

/** A value as ERR_INVALID_ARG_VALUE and ERR_OUT_OF_RANGE show it: a primitive itself, an object as received() does. */
function shown(value: unknown): string {
  if ((typeof value === 'object' && value !== null) || typeof value === 'function') return received(value);
  return inspect(typeof value === 'string' && value.length > 64 ? `${value.slice(0, 64)}...` : value);
}

function functionName(fn: unknown): string {
  if (types.isProxy(fn)) return '<Proxy>';
  const name = Object.getOwnPropertyDescriptor(fn, 'name')?.value as unknown;
  return typeof name === 'string' && name !== '' ? name : '<anonymous>';
}

/** The name of the nearest constructor on the prototype chain, read from data properties only. */
function constructorName(value: object): string {
  for (let proto = Object.getPrototypeOf(value) as object | null; proto !== null; proto = Object.getPrototypeOf(proto) as object | null) {
    if (types.isProxy(proto)) return 'Object';
    const ctor = Object.getOwnPropertyDescriptor(proto, 'constructor')?.value as unknown;
    if (typeof ctor === 'function') return functionName(ctor);
  }
  return 'Object';
}

export function invalidArgType(name: string, expected: string, actual: unknown): TypeError & CodedError<'ERR_INVALID_ARG_TYPE'> {
  return withCode(new TypeError(`The "${name}" argument must be ${expected}. Received ${received(actual)}`), 'ERR_INVALID_ARG_TYPE');
}

export function invalidArgValue(name: string, actual: unknown, reason: string): TypeError & CodedError<'ERR_INVALID_ARG_VALUE'> {
  return withCode(new TypeError(`The argument '${name}' ${reason}. Received ${shown(actual)}`), 'ERR_INVALID_ARG_VALUE');
}

export function outOfRange(name: string, range: string, actual: unknown): RangeError & CodedError<'ERR_OUT_OF_RANGE'> {
  return withCode(new RangeError(`The value of "${name}" is out of range. It must be ${range}. Received ${shown(actual)}`), 'ERR_OUT_OF_RANGE');
}

/** A method or getter called on something that is not an instance of its class (Node's ERR_INVALID_THIS). */
export function invalidThis(className: string): TypeError & CodedError<'ERR_INVALID_THIS'> {
  return withCode(new TypeError(`Value of "this" must be of type ${className}`), 'ERR_INVALID_THIS');
}

/** `new` on a class whose instances only kmmap makes (Node's ERR_ILLEGAL_CONSTRUCTOR). */
export function illegalConstructor(className: string, use: string): TypeError & CodedError<'ERR_ILLEGAL_CONSTRUCTOR'> {
  return withCode(new TypeError(`Illegal constructor: ${className} objects are made by ${use}`), 'ERR_ILLEGAL_CONSTRUCTOR');
}

/** ERR_KMMAP_PFN_HIDDEN: the kernel zeroes PFNs for readers without CAP_SYS_ADMIN. */
export function pfnHiddenError(): CodedError<'ERR_KMMAP_PFN_HIDDEN'> {
  return codedError('ERR_KMMAP_PFN_HIDDEN',
    'The kernel hides physical page numbers from this process: reading them from pagemap needs CAP_SYS_ADMIN (run as root)');
}

/**
 * The JavaScript runtime kmmap runs on, by name ('Bun 1.4.5', 'Deno 2.9.6',
 * 'Node.js v20.20.2'), for error messages only: what kmmap does depends on
 * what the runtime's Node-API does, never on its name.
 */
export function runtimeName(): string {
  const versions = process.versions as Record<string, string | undefined>;
  if (versions.bun !== undefined) return `Bun ${versions.bun}`;
  if (versions.deno !== undefined) return `Deno ${versions.deno}`;
  return `Node.js ${process.version}`;
}
