// The declarations use Node's types (Buffer, URL, Disposable): @types/node.
/// <reference types="node" preserve="true" />
/**
 * kmmap: map files, devices and kernel buffers into Node.js as zero-copy
 * Buffers, and see where they live in physical memory.
 */
export { map } from './map';
export { Mapping } from './mapping';
export { addressOf, PAGE_SIZE } from './page';
export { ADVICE } from './map-options';
export type {
  Access, Advice, AnonymousOptions, HugePageSize, LockOptions, MapOptions,
  MappingRange, MemoryOptions, PathLike, Protection, ResizeOptions, SyncOptions,
} from './map-options';
export type { MappingDescriptor } from './descriptor';
export * as pagemap from './pagemap';
export type { PagemapEntry, PagemapOptions } from './pagemap';
export { ioctl, ioctlNumbers, KMMAP_IOC_MAGIC, LKMC_MMAP_IOC_PHYS_ADDR } from './ioctl';
export { lkmcPhysicalAddress } from './lkmc';
export { KmmapDevice } from './device';
export type { DeviceInfo, DeviceMapOptions, DeviceOpenOptions, DeviceRange, FillOptions } from './device';
export {
  BACKINGS,
  KMMAP_DEVICE_PATH,
  LKMC_MMAP_PATH,
  KMMAP_FILL_ADD_OFFSET,
  KMMAP_IOC_CHECKSUM,
  KMMAP_IOC_FILL,
  KMMAP_IOC_INFO,
  KMMAP_IOC_PFNS,
  KMMAP_IOC_SET_METHOD,
  MAPPING_METHODS,
} from './uapi';
export type { Backing, MappingMethod } from './uapi';
export type { CodedError, ErrorCode, KmmapError, KmmapErrorCode, NodeErrorCode, SystemError } from './errors';
export * as kpageflags from './kpageflags';
export type { FlagCombination, PageFlag, PageFlagName, PageFrame, UnnamedBit } from './kpageflags';
export type {
  AreaPermissions, MemoryArea, PageCategory, PagemapFlagName, PageRegion, Pid, ScanOptions, ScanResult,
} from './pagemap';
