// Pages and addresses, as the addon reports them: the page size, read once,
// rounding to whole pages (or huge pages), and where a buffer's memory is.
import { native } from './binding';
import { validateMemory } from './validate';

/** Size of a page on this machine, in bytes. */
export const PAGE_SIZE: number = native.pageSize;

/** The unit a mapping is made of: its huge page size, or PAGE_SIZE (hugePageSize 0). */
export function granuleOf(hugePageSize: number): number {
  return hugePageSize || PAGE_SIZE;
}

/** `value` rounded up to a multiple of `granule` (a page or huge page size). */
export function roundUp(value: number, granule: number): number {
  return Math.ceil(value / granule) * granule;
}

/** Virtual address of the first byte of a buffer, typed array, DataView or ArrayBuffer. */
export function addressOf(buffer: ArrayBufferView | ArrayBuffer): bigint {
  validateMemory('buffer', buffer);
  return native.addressOf(buffer);
}
