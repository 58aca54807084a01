// Errors in the shapes Node users already know: system errors like fs's
// (code, errno, syscall, path) and argument errors like Node's own
// (TypeError / RangeError with ERR_* codes). Messages end with what to do.
import { inspect, types } from 'node:util';

/** An error from a system call, shaped like Node's fs errors. */
export interface SystemError extends Error {
  code: string;
  errno: number;
  syscall: string;
  path?: string;
  fd?: number;
}

/** An error with a kmmap- or Node-style code. */
export interface CodedError extends Error {
  code: string;
}

function isNativeSystemError(err: unknown): err is SystemError {
  return err instanceof Error && typeof (err as SystemError).errno === 'number' &&
    typeof (err as SystemError).syscall === 'string';
}

/**
 * Adds the file (path or fd) and a hint to a system error from the addon,
 * as `EINVAL: invalid argument, mmap '/proc/lkmc_mmap'. <hint>`.
 * Anything else is returned unchanged.
 */
export function withContext(
  err: unknown,
  target: { path?: string | undefined; fd?: number | undefined },
  hint?: (code: string) => string | undefined,
): unknown {
  if (!isNativeSystemError(err)) return err;
  // libuv names errno 95 ENOTSUP (as Node does) but describes it as the
  // socket-only EOPNOTSUPP; drivers return it for any unsupported request.
  if (err.code === 'ENOTSUP') err.message = err.message.replace('operation not supported on socket', 'operation not supported');
  const name = target.path !== undefined ? `'${target.path}'` : target.fd !== undefined ? `fd ${target.fd}` : '';
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

export function codedError(code: string, message: string): CodedError {
  const err = new Error(message) as CodedError;
  err.code = code;
  return err;
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

export function invalidArgType(name: string, expected: string, actual: unknown): TypeError & CodedError {
  const err = new TypeError(`The "${name}" argument must be ${expected}. Received ${received(actual)}`) as TypeError & CodedError;
  err.code = 'ERR_INVALID_ARG_TYPE';
  return err;
}

export function invalidArgValue(name: string, actual: unknown, reason: string): TypeError & CodedError {
  const err = new TypeError(`The argument '${name}' ${reason}. Received ${shown(actual)}`) as TypeError & CodedError;
  err.code = 'ERR_INVALID_ARG_VALUE';
  return err;
}

export function outOfRange(name: string, range: string, actual: unknown): RangeError & CodedError {
  const err = new RangeError(`The value of "${name}" is out of range. It must be ${range}. Received ${shown(actual)}`) as RangeError & CodedError;
  err.code = 'ERR_OUT_OF_RANGE';
  return err;
}

/** A method or getter called on something that is not an instance of its class (Node's ERR_INVALID_THIS). */
export function invalidThis(className: string): TypeError & CodedError {
  const err = new TypeError(`Value of "this" must be of type ${className}`) as TypeError & CodedError;
  err.code = 'ERR_INVALID_THIS';
  return err;
}

/** `new` on a class whose instances only kmmap makes (Node's ERR_ILLEGAL_CONSTRUCTOR). */
export function illegalConstructor(className: string, use: string): TypeError & CodedError {
  const err = new TypeError(`Illegal constructor: ${className} objects are made by ${use}`) as TypeError & CodedError;
  err.code = 'ERR_ILLEGAL_CONSTRUCTOR';
  return err;
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
