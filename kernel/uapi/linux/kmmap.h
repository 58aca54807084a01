/* SPDX-License-Identifier: GPL-2.0-only WITH Linux-syscall-note */
/*
 * kmmap user-space ABI. lib/uapi.ts mirrors every number and layout defined
 * here (test/host/uapi.test.ts compiles this header and compares); change
 * both together.
 */
#ifndef _UAPI_LINUX_KMMAP_H
#define _UAPI_LINUX_KMMAP_H

#include <linux/ioctl.h>
#include <linux/types.h>

/*
 * 0xB9, numbers 0x00-0x1F: a code that
 * Documentation/userspace-api/ioctl/ioctl-number.rst assigns to nobody
 * (0xB5, kmmap's first choice, is rpmsg's).
 */
#define KMMAP_IOC_MAGIC 0xB9

/*
 * /proc/lkmc_mmap: physical address of the page behind this open file, as
 * /proc/self/pagemap would report it for a mapping of that file
 * (PFN * PAGE_SIZE). The caller needs CAP_SYS_ADMIN.
 */
#define LKMC_MMAP_IOC_PHYS_ADDR _IOR(KMMAP_IOC_MAGIC, 0x01, __u64)

/* /dev/kmmap: one buffer shared by every open of the device. */

/* How the buffer's memory was allocated (module parameter "backing"). */
enum kmmap_backing {
	/* Runs of physically contiguous pages from the page allocator. */
	KMMAP_BACKING_CONTIG = 0,
	/* vmalloc_user(): virtually contiguous, page by page physically. */
	KMMAP_BACKING_VMALLOC = 1,
};

/* How mmap() hands the buffer to user space; chosen per open file. */
enum kmmap_method {
	KMMAP_METHOD_FAULT = 0,		/* .fault returns one page per fault */
	KMMAP_METHOD_FAULT_AROUND = 1,	/* .fault maps a batch of pages */
	KMMAP_METHOD_PAGES = 2,		/* vm_insert_pages() at mmap time */
	KMMAP_METHOD_PFN = 3,		/* remap_pfn_range(), contig only */
	KMMAP_METHOD_VMALLOC = 4,	/* remap_vmalloc_range(), vmalloc only */
	KMMAP_METHOD_COUNT = 5,
};

struct kmmap_info {
	__u64 size;		/* bytes, a multiple of page_size */
	__u32 page_size;
	__u32 backing;		/* enum kmmap_backing */
	__u32 method;		/* this file's enum kmmap_method */
	__u32 methods;		/* bit (1 << method) per method the backing allows */
	/*
	 * Longest physically contiguous run, in pages; 0 (hidden) to a
	 * caller without CAP_SYS_ADMIN.
	 */
	__u32 max_chunk_pages;
	__u32 mappings;		/* VMAs that map the buffer now, all processes */
};

/* Pages [first, first + count) of the buffer: their PFNs into pfns[]. */
struct kmmap_pfns {
	__u64 first;
	__u64 count;
	__u64 pfns;		/* user pointer to count __u64 */
};

/* Fill flag: each 8-byte word gets pattern + its byte offset in the buffer. */
#define KMMAP_FILL_ADD_OFFSET 0x1U

/*
 * Bytes [offset, offset + length) of the buffer get the low pattern_len
 * bytes of pattern (little-endian) repeated, so that a byte at buffer offset
 * o holds pattern byte o % pattern_len. With KMMAP_FILL_ADD_OFFSET, offset
 * and length must be multiples of 8 and pattern_len is 8.
 */
struct kmmap_fill {
	__u64 offset;
	__u64 length;
	__u64 pattern;
	__u32 pattern_len;	/* 1 to 8 */
	__u32 flags;
};

/* CRC-32 (ISO-HDLC, as zlib's crc32()) of bytes [offset, offset + length). */
struct kmmap_checksum {
	__u64 offset;
	__u64 length;
	__u32 crc32;		/* out */
	__u32 reserved;		/* must be 0 */
};

#define KMMAP_IOC_INFO		_IOR(KMMAP_IOC_MAGIC, 0x10, struct kmmap_info)
#define KMMAP_IOC_SET_METHOD	_IOW(KMMAP_IOC_MAGIC, 0x11, __u32)
#define KMMAP_IOC_PFNS		_IOW(KMMAP_IOC_MAGIC, 0x12, struct kmmap_pfns)
#define KMMAP_IOC_FILL		_IOW(KMMAP_IOC_MAGIC, 0x13, struct kmmap_fill)
#define KMMAP_IOC_CHECKSUM	_IOWR(KMMAP_IOC_MAGIC, 0x14, struct kmmap_checksum)

#endif /* _UAPI_LINUX_KMMAP_H */
