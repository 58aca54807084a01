// A mapping described in plain data (strings, numbers, booleans), so it can
// cross postMessage, JSON or a child process's argv and be mapped again:
// same file, same region, same pages for a shared mapping.
import { invalidArgType, invalidArgValue } from './errors';
import type { Access } from './map-options';

/**
 * What `mapping.descriptor()` returns and `map.fromDescriptor()` takes.
 * Every field is a string, number or boolean (64-bit values are decimal
 * strings), so `JSON.stringify` and `structuredClone` both carry it.
 */
export interface MappingDescriptor {
  /** Always 'kmmap.mapping/1'. */
  kind: 'kmmap.mapping/1';
  /**
   * A path that opens the same file: the mapped path, or
   * `/proc/<pid>/fd/<fd>` for a memfd or an fd-only file (valid while that fd
   * stays open: for a shared anonymous mapping, until it is closed).
   */
  path: string;
  /**
   * The path's bytes in base64, present only when they are not valid UTF-8
   * (then `path` is only for display, decoded as Node decodes such paths);
   * map.fromDescriptor() opens these bytes.
   */
  pathBytes?: string;
  /** The mapping's first byte in the file, as a decimal string. */
  offset: string;
  length: number;
  access: Access;
  /** The file's device and inode numbers (decimal): re-opening checks them. */
  dev: string;
  ino: string;
  populate: boolean;
  locked: boolean;
  noreserve: boolean;
  /** false, or the huge page size in bytes. */
  hugetlb: false | number;
  sync: boolean;
  allowBeyondEnd: boolean;
}

/** The `kind` of every descriptor this version makes and takes. */
export const DESCRIPTOR_KIND = 'kmmap.mapping/1';

const DECIMAL = /^(0|[1-9]\d{0,19})$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Checks that `value` has the shape of a MappingDescriptor. */
export function validateDescriptor(value: unknown): MappingDescriptor {
  if (typeof value !== 'object' || value === null) throw invalidArgType('descriptor', 'of type object', value);
  const d = value as Record<string, unknown>;
  if (d.kind !== DESCRIPTOR_KIND) {
    throw invalidArgValue('descriptor.kind', d.kind, `must be '${DESCRIPTOR_KIND}' (made by mapping.descriptor())`);
  }
  const expect = (name: string, ok: boolean) => {
    if (!ok) throw invalidArgValue(`descriptor.${name}`, d[name], 'is not what mapping.descriptor() makes');
  };
  expect('path', typeof d.path === 'string' && d.path.length > 0);
  if (d.pathBytes !== undefined) expect('pathBytes', typeof d.pathBytes === 'string' && BASE64.test(d.pathBytes) && d.pathBytes.length > 0);
  for (const name of ['offset', 'dev', 'ino']) expect(name, typeof d[name] === 'string' && DECIMAL.test(d[name] as string));
  expect('length', Number.isSafeInteger(d.length) && (d.length as number) >= 1);
  expect('access', d.access === 'r' || d.access === 'rw' || d.access === 'copy');
  for (const name of ['populate', 'locked', 'noreserve', 'sync', 'allowBeyondEnd']) expect(name, typeof d[name] === 'boolean');
  expect('hugetlb', d.hugetlb === false || (Number.isSafeInteger(d.hugetlb) && (d.hugetlb as number) > 0));
  return d as unknown as MappingDescriptor;
}
