// Argument checks shared by the public API. Native code never sees a value
// that did not pass through here.
import { types } from 'node:util';
import { invalidArgType, invalidArgValue, outOfRange } from './errors';
import type { Access } from './map-options';

export function validateInteger(name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number') throw invalidArgType(name, 'of type number', value);
  if (!Number.isInteger(value)) throw outOfRange(name, 'an integer', value);
  if (value < min || value > max) throw outOfRange(name, `>= ${min} and <= ${max}`, value);
  return value;
}

/** A non-negative 64-bit quantity given as a number or a bigint. */
export function validateUint64(name: string, value: unknown, max: bigint = (1n << 63n) - 1n): bigint {
  if (typeof value === 'bigint') {
    if (value < 0n || value > max) throw outOfRange(name, `>= 0 and <= ${max}`, value);
    return value;
  }
  if (typeof value !== 'number') throw invalidArgType(name, 'of type number or bigint', value);
  if (!Number.isSafeInteger(value) || value < 0) {
    throw outOfRange(name, 'a non-negative safe integer (use a bigint beyond 2^53)', value);
  }
  return BigInt(value);
}

export function validateFd(name: string, value: unknown): number {
  return validateInteger(name, value, 0, 0x7fffffff);
}

/** An optional boolean: undefined reads as false. */
export function validateBoolean(name: string, value: unknown): boolean {
  if (value === undefined) return false;
  if (typeof value !== 'boolean') throw invalidArgType(name, 'of type boolean', value);
  return value;
}

// The engine's own accessors, so that a view whose `byteLength` or `buffer`
// was redefined on the object (or a fake with a typed array's prototype)
// cannot lie to the checks.
const typedArrayPrototype = Object.getPrototypeOf(Uint8Array.prototype) as object;
function intrinsicGetter(proto: object, name: string): (this: unknown) => unknown {
  return Object.getOwnPropertyDescriptor(proto, name)!.get! as (this: unknown) => unknown;
}
const typedArrayBuffer = intrinsicGetter(typedArrayPrototype, 'buffer');
const typedArrayByteLength = intrinsicGetter(typedArrayPrototype, 'byteLength');
const dataViewBuffer = intrinsicGetter(DataView.prototype, 'buffer');
const dataViewByteLength = intrinsicGetter(DataView.prototype, 'byteLength');
const arrayBufferByteLength = intrinsicGetter(ArrayBuffer.prototype, 'byteLength');

/** A real ArrayBuffer, or a TypedArray or DataView over one: what the addon can take the address of. */
export type Memory = ArrayBuffer | ArrayBufferView;

/**
 * Checks that `value` is a real ArrayBuffer or a view over one (not a
 * SharedArrayBuffer, not an object that only has such a prototype) and
 * returns its length in bytes, without reading any of them.
 */
export function validateMemory(name: string, value: unknown, expected = 'a Buffer, TypedArray, DataView or ArrayBuffer'): number {
  if (types.isArrayBuffer(value)) return arrayBufferByteLength.call(value) as number;
  if (types.isTypedArray(value) && types.isArrayBuffer(typedArrayBuffer.call(value))) return typedArrayByteLength.call(value) as number;
  if (types.isDataView(value) && types.isArrayBuffer(dataViewBuffer.call(value))) return dataViewByteLength.call(value) as number;
  throw invalidArgType(name, expected, value);
}

/** An optional function: undefined passes. */
export function validateOptionalFunction(name: string, value: unknown): void {
  if (value !== undefined && typeof value !== 'function') throw invalidArgType(name, 'a function', value);
}

/** A bigint in [0, max]; numbers are refused (where a caller could mix them into bigint arithmetic). */
export function validateBigInt(name: string, value: unknown, max: bigint): bigint {
  if (typeof value !== 'bigint') throw invalidArgType(name, 'of type bigint', value);
  if (value < 0n || value > max) throw outOfRange(name, `>= 0n and <= ${max}n`, value);
  return value;
}

/**
 * A real BigUint64Array (not an object with its prototype) over an
 * ArrayBuffer (the addon cannot take a SharedArrayBuffer); returns its length.
 */
export function validateBigUint64Array(name: string, value: unknown): number {
  if (!types.isBigUint64Array(value) || !types.isArrayBuffer(typedArrayBuffer.call(value))) {
    throw invalidArgType(name, 'an instance of BigUint64Array (not over a SharedArrayBuffer)', value);
  }
  return (typedArrayByteLength.call(value) as number) / 8;
}

/** A real Uint8Array (or Buffer) over an ArrayBuffer, not a SharedArrayBuffer: what the addon can pass to the kernel. */
export function isPlainUint8Array(value: unknown): value is Uint8Array {
  return types.isUint8Array(value) && types.isArrayBuffer(typedArrayBuffer.call(value));
}

/**
 * An object to iterate with for...of: not a string, and not an object that
 * only has the prototype of a built-in collection (whose iterator would then
 * fail inside the engine).
 */
export function validateIterable(name: string, value: unknown, expected: string): void {
  const iterator = typeof value === 'object' && value !== null ? (value as { [Symbol.iterator]?: unknown })[Symbol.iterator] : undefined;
  const fake = (value instanceof Set && !types.isSet(value)) || (value instanceof Map && !types.isMap(value)) ||
    (value instanceof (typedArrayPrototype.constructor as typeof Uint8Array) && !types.isTypedArray(value));
  if (typeof iterator !== 'function' || fake) throw invalidArgType(name, expected, value);
}

/**
 * An options (or range) object: any non-null object but binary data (an
 * ArrayBuffer, a typed array or DataView, real or only by prototype, whose
 * `length` and `offset` would be the engine's accessors, never options).
 * With `binary`, any non-null object (a record whose fields are checked
 * next, such as a descriptor); `expected` words the type error.
 */
export function validateObject(name: string, value: unknown, { binary = false, expected = 'of type object' } = {}): void {
  if (typeof value === 'object' && value !== null && (binary || !(value instanceof (typedArrayPrototype.constructor as typeof Uint8Array) ||
    value instanceof DataView || ArrayBuffer.isView(value) || value instanceof ArrayBuffer || types.isAnyArrayBuffer(value)))) {
    return;
  }
  throw invalidArgType(name, expected, value);
}

/** Whether `value` is one of `allowed` (strings compared as they are). */
export function isOneOf<T extends string>(value: unknown, allowed: readonly T[]): value is T {
  return typeof value === 'string' && (allowed as readonly string[]).includes(value);
}

/** One of a fixed set of names, or ERR_INVALID_ARG_VALUE listing them: "must be one of: 'r', 'rw'". */
export function validateOneOf<T extends string>(name: string, value: unknown, allowed: readonly T[]): T {
  if (isOneOf(value, allowed)) return value;
  throw invalidArgValue(name, value, `must be one of: ${allowed.map((item) => `'${item}'`).join(', ')}`);
}

/** Every access of map(); map.anonymous() and devices take the first two. */
export const ACCESSES: readonly Access[] = ['r', 'rw', 'copy'];
/** The accesses of map.anonymous() and of devices. */
export const SHARED_ACCESSES: readonly ('r' | 'rw')[] = ['r', 'rw'];

/** An access name (options.access): one of `allowed`, by default any of ACCESSES. */
export function validateAccess<T extends Access>(name: string, value: unknown, allowed: readonly T[] = ACCESSES as readonly T[]): T {
  return validateOneOf(name, value, allowed);
}
