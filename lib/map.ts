// The ways to make a Mapping: map() of a path or fd, map.anonymous() and
// map.fromDescriptor(). Each gathers what it maps (file-bounds.ts), maps it
// through the addon and hands the result to newMapping().
import { native } from './binding';
import { type MappingDescriptor, openDescribed } from './descriptor';
import { codedError, invalidArgType, invalidArgValue, withContext } from './errors';
import { fdStat, type FileIdentity, fileFacts, identityOf, mapLength } from './file-bounds';
import { memfdHint, mmapHint } from './hints';
import {
  type AnonymousOptions, anonymousMapFlags, autoPopulate, anonymousSettings, type FileSettings, fileMapFlags, fileSettings, type MapOptions,
  memfdFlags, type MemorySettings, type PathLike, protFor,
} from './map-options';
import type { Mapping } from './mapping';
// Loaded for its class's static block, which gives newMapping() the constructor.
import './mapping';
import { newMapping, type Settings, type Source } from './source';
import { granuleOf, PAGE_SIZE, roundUp } from './page';
import { absolute, closeOpened, openForMapping, pathText, type RawPath, rawPathOf } from './paths';
import { validateFd } from './validate';

/**
 * native.map()'s offset in and address out: one array for every call (an
 * argument fewer, and no BigInt argument to convert, on map()'s hot path).
 */
const mapIo = new BigUint64Array(1);

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
  const length = mapLength(facts, settings.offset, settings.length, settings.allowBeyondEnd, from.displayPath);
  const granule = granuleOf(settings.hugePageSize);
  const delta = Number(settings.offset % BigInt(granule));
  const shared = settings.access !== 'copy';
  if (facts.device === 'zero' && shared && settings.offset >= BigInt(PAGE_SIZE)) {
    // Shared, /dev/zero is a fresh shmem object of the mapped size, read from the file offset.
    throw codedError('ERR_KMMAP_BEYOND_END',
      `A shared mapping of ${from.displayPath ?? '/dev/zero'} is new memory as long as the mapping, and an offset (${settings.offset}) ` +
      "moves it past that memory's end, where touching it would raise SIGBUS: map it at offset 0 (every offset reads zeros) or with access 'copy'");
  }
  if (settings.noreserve && settings.hugePageSize === 0 && facts.hugetlbfs) {
    throw invalidArgValue('options.noreserve', true,
      'cannot map a file on hugetlbfs: with no huge pages reserved, touching a page when none is free raises SIGBUS, which kills the process. ' +
      'Drop options.noreserve');
  }
  const mappedBytes = roundUp(delta + length, granule);
  let handle: object;
  try {
    mapIo[0] = settings.offset - BigInt(delta);
    handle = native.map(fd, mappedBytes, protFor(settings.access),
      fileMapFlags(settings) | autoPopulate(settings, facts.kind, facts.hugetlbfs, mappedBytes), -1, mapIo);
  } catch (err) {
    const isPath = from.displayPath !== undefined;
    const huge = settings.hugePageSize !== 0 || facts.hugetlbfs;
    throw withContext(err, isPath ? { path: from.displayPath } : { fd }, mmapHint(settings, isPath, huge));
  }
  const source: Source = {
    displayPath: from.displayPath,
    path: from.path,
    fd: from.fd,
    identity: facts.identity,
    offset: settings.offset,
    kind: facts.kind,
    ownsMemfd: false,
    ...(facts.device === 'zero' && shared ? { backedBytes: mappedBytes } : {}),
  };
  return finish(newMapping({ handle, base: mapIo[0]!, delta, length, access: settings.access, source, settings }), settings);
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
    closeOpened(fd);
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
  const mapped = roundUp(settings.length, granuleOf(settings.hugePageSize));
  let memfd = -1;
  if (settings.shared) {
    try {
      memfd = native.memfdCreate('kmmap-anonymous', memfdFlags(settings));
    } catch (err) {
      throw withContext(err, {}, memfdHint(settings.hugePageSize));
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
    mapIo[0] = 0n;
    handle = native.map(memfd, mapped, protFor(settings.access), anonymousMapFlags(settings), memfd, mapIo);
  } catch (err) {
    if (memfd >= 0) native.close(memfd);
    throw withContext(err, {}, mmapHint(settings, false));
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
  return finish(newMapping({ handle, base: mapIo[0]!, delta: 0, length: settings.length, access: settings.access, source, settings: all }), settings);
}

/**
 * Maps what `mapping.descriptor()` described: the same file region with the
 * same options, e.g. in a worker thread. Throws ERR_KMMAP_DESCRIPTOR_STALE
 * if the path now leads to another file than the one described.
 */
function mapDescriptor(descriptor: MappingDescriptor): Mapping {
  const described = openDescribed(descriptor);
  try {
    const settings = fileSettings(described.options);
    // The path may be /proc/<pid>/fd/<n>: keep it, it stays valid as long as the original.
    return mapFd(described.fd, settings, { displayPath: described.displayPath, path: described.path, fd: undefined });
  } finally {
    closeOpened(described.fd);
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
