// What a Mapping maps, as its factories (map.ts) hand it over, and the one
// way to make a Mapping: kept out of mapping.ts so that the published class
// declares none of it.
import type { FileFacts, FileIdentity } from './file-bounds';
import type { Access, MemorySettings } from './map-options';
import type { Mapping } from './mapping';
import type { RawPath } from './paths';

/** Where a mapping's memory comes from: what descriptor() and resize() need to know. */
export interface Source {
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
  /** What the file's size means (FileFacts, decided once): growing past the end of a sized file is refused. */
  readonly kind: FileFacts['kind'];
  ownsMemfd: boolean;
  /**
   * Bytes from the base past which the memory has no backing however the
   * file changes (a shared /dev/zero mapping's memory keeps its first size):
   * resize() may not grow past it. Undefined: no such limit.
   */
  backedBytes?: number;
}

/** The checked options a mapping keeps: what descriptor() describes. */
export type Settings = MemorySettings & { sync: boolean; allowBeyondEnd: boolean };

/** What newMapping() takes: a fresh native mapping and what it maps. */
export interface MappingInit {
  handle: object;
  /** Address of the page-aligned start of what is mapped. */
  base: bigint;
  /** Bytes between the page-aligned base and the first requested byte. */
  delta: number;
  length: number;
  access: Access;
  source: Source;
  settings: Settings;
}

/** `new Mapping(init)`, set by Mapping's static block (the constructor is private to it). */
let construct: ((init: MappingInit) => Mapping) | undefined;

/** Called once, by Mapping's static block. */
export function setMappingConstructor(fn: (init: MappingInit) => Mapping): void {
  construct = fn;
}

/** A Mapping of a fresh native mapping: what map.ts's factories end with. */
export function newMapping(init: MappingInit): Mapping {
  return construct!(init);
}
