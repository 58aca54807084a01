// /dev/kmmap's ABI: the numbers and struct layouts of
// kernel/uapi/linux/kmmap.h, which test/host/uapi.test.ts compiles and
// compares with these. Change both together.
import { ioctlNumbers, KMMAP_IOC_MAGIC } from './ioctl';

/** Where the kmmap module puts its shared-buffer device. */
export const KMMAP_DEVICE_PATH = '/dev/kmmap';

/** Where the kmmap module puts its one-page-per-open file. */
export const LKMC_MMAP_PATH = '/proc/lkmc_mmap';

/** enum kmmap_backing, by name. */
export const BACKINGS = ['contig', 'vmalloc'] as const;
/** How the device's buffer was allocated (module parameter `backing`). */
export type Backing = (typeof BACKINGS)[number];

/** enum kmmap_method, by name: the index is the kernel's value. */
export const MAPPING_METHODS = ['fault', 'fault_around', 'pages', 'pfn', 'vmalloc'] as const;
/** How mmap() of /dev/kmmap hands the buffer to user space. */
export type MappingMethod = (typeof MAPPING_METHODS)[number];

/** sizeof(struct kmmap_info) and its field offsets. */
export const KMMAP_INFO = {
  size: 32,
  offsets: { size: 0, page_size: 8, backing: 12, method: 16, methods: 20, max_chunk_pages: 24, mappings: 28 },
} as const;
/** sizeof(struct kmmap_pfns) and its field offsets. */
export const KMMAP_PFNS = { size: 24, offsets: { first: 0, count: 8, pfns: 16 } } as const;
/** sizeof(struct kmmap_fill) and its field offsets. */
export const KMMAP_FILL = {
  size: 32,
  offsets: { offset: 0, length: 8, pattern: 16, pattern_len: 24, flags: 28 },
} as const;
/** sizeof(struct kmmap_checksum) and its field offsets. */
export const KMMAP_CHECKSUM = { size: 24, offsets: { offset: 0, length: 8, crc32: 16, reserved: 20 } } as const;

/** Fill flag: each 8-byte word gets the pattern plus its byte offset in the buffer. */
export const KMMAP_FILL_ADD_OFFSET = 1;

export const KMMAP_IOC_INFO = ioctlNumbers.ior(KMMAP_IOC_MAGIC, 0x10, KMMAP_INFO.size);
export const KMMAP_IOC_SET_METHOD = ioctlNumbers.iow(KMMAP_IOC_MAGIC, 0x11, 4);
export const KMMAP_IOC_PFNS = ioctlNumbers.iow(KMMAP_IOC_MAGIC, 0x12, KMMAP_PFNS.size);
export const KMMAP_IOC_FILL = ioctlNumbers.iow(KMMAP_IOC_MAGIC, 0x13, KMMAP_FILL.size);
export const KMMAP_IOC_CHECKSUM = ioctlNumbers.iowr(KMMAP_IOC_MAGIC, 0x14, KMMAP_CHECKSUM.size);
