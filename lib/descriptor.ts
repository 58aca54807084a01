// A mapping described in plain data (strings, numbers, booleans), so it can
// cross postMessage, JSON or a child process's argv and be mapped again:
// same file, same region, same pages for a shared mapping. Also where a
// mapped file can be found again: its path, or where its fd leads
// (/proc/self/fd), checked by device and inode.
import * as fs from 'node:fs';
import { codedError, invalidArgValue } from './errors';
import { fdStat, type FileIdentity } from './file-bounds';
import type { Access, MapOptions } from './map-options';
import type { Settings, Source } from './source';
import { closeOpened, linkTarget, openForMapping, pathText, type RawPath } from './paths';
import { ACCESSES, isOneOf, validateObject } from './validate';

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
  validateObject('descriptor', value, { binary: true });
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
  expect('access', isOneOf(d.access, ACCESSES));
  for (const name of ['populate', 'locked', 'noreserve', 'sync', 'allowBeyondEnd']) expect(name, typeof d[name] === 'boolean');
  expect('hugetlb', d.hugetlb === false || (Number.isSafeInteger(d.hugetlb) && (d.hugetlb as number) > 0));
  return d as unknown as MappingDescriptor;
}

/** Whether a stat result is the file `identity` names; false if stat throws. */
function isFile(identity: FileIdentity, stat: () => { dev: bigint; ino: bigint }): boolean {
  try {
    const s = stat();
    return s.dev === identity.dev && s.ino === identity.ino;
  } catch {
    return false;
  }
}

/** @internal The mapped file's path: as mapped, or (fd mappings) where the fd leads while it is open and still the same file. */
export function mappedPath(source: Source): RawPath | undefined {
  if (source.path !== undefined || source.fd === undefined || source.identity === undefined) return source.path;
  const target = linkTarget(source.fd);
  if (target === undefined) return undefined;
  return isFile(source.identity, () => fs.statSync(target, { bigint: true })) ? target : undefined;
}

/** A path that opens the mapped file now: its own, or /proc/<pid>/fd/<n> of an fd of it. */
function reopenablePath(source: Source, identity: FileIdentity): RawPath {
  const path = source.ownsMemfd ? undefined : mappedPath(source);
  if (path !== undefined && isFile(identity, () => fs.statSync(path, { bigint: true }))) return path;
  // /proc/<pid>/fd/<n> opens the fd's file itself, even a memfd or a deleted file.
  if (source.fd !== undefined && isFile(identity, () => fdStat(source.fd!))) {
    return `/proc/${process.pid}/fd/${source.fd}`;
  }
  throw codedError('ERR_KMMAP_NOT_SHAREABLE',
    `${source.displayPath ?? 'The mapped file'} can no longer be opened by path: it was renamed or deleted, and no open fd of it is known`);
}

/** @internal mapping.descriptor(): see there. */
export function describe(source: Source, settings: Settings, length: number, access: Access): MappingDescriptor {
  if (source.identity === undefined) {
    throw codedError('ERR_KMMAP_NOT_SHAREABLE',
      'Private anonymous memory belongs to this mapping alone: use map.anonymous(length, { shared: true }) for memory another thread can map');
  }
  const path = reopenablePath(source, source.identity);
  return {
    kind: DESCRIPTOR_KIND,
    path: pathText(path),
    ...(typeof path === 'string' ? {} : { pathBytes: path.toString('base64') }),
    offset: source.offset.toString(),
    length,
    access,
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

/** @internal A described file, opened for map.fromDescriptor(): the caller maps `fd` with `options` and closes it. */
export interface Described {
  fd: number;
  path: RawPath;
  displayPath: string;
  options: MapOptions;
}

/**
 * @internal Checks a descriptor and opens its file, refusing with
 * ERR_KMMAP_DESCRIPTOR_STALE a path that now leads to another file.
 */
export function openDescribed(descriptor: unknown): Described {
  const d = validateDescriptor(descriptor);
  const path: RawPath = d.pathBytes === undefined ? d.path : Buffer.from(d.pathBytes, 'base64');
  const stale = (stat: { dev: bigint; ino: bigint }) => {
    if (stat.dev.toString() === d.dev && stat.ino.toString() === d.ino) return;
    throw codedError('ERR_KMMAP_DESCRIPTOR_STALE',
      `${d.path} is no longer the file that was mapped (its device and inode changed): describe the mapping again`);
  };
  // Checked before opening: opening a path that now leads elsewhere (a FIFO, a tty) may block or have effects.
  stale(fs.statSync(path, { bigint: true }));
  const fd = openForMapping(path, d.access === 'rw');
  try {
    stale(fdStat(fd));
  } catch (err) {
    closeOpened(fd);
    throw err;
  }
  return {
    fd,
    path,
    displayPath: d.path,
    options: {
      offset: BigInt(d.offset),
      length: d.length,
      access: d.access,
      populate: d.populate,
      locked: d.locked,
      noreserve: d.noreserve,
      hugetlb: d.hugetlb === false ? false : d.hugetlb,
      sync: d.sync,
      allowBeyondEnd: d.allowBeyondEnd,
    },
  };
}
