// Argument checks shared by the public API. Native code never sees a value
// that did not pass through here.
import { invalidArgType, outOfRange } from './errors';

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
