/* SPDX-License-Identifier: GPL-2.0-only WITH Linux-syscall-note */
/*
 * kmmap user-space ABI. lib/ioctl.ts mirrors every number defined here;
 * change both together.
 */
#ifndef _UAPI_LINUX_KMMAP_H
#define _UAPI_LINUX_KMMAP_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define KMMAP_IOC_MAGIC 0xB5

/*
 * /proc/lkmc_mmap: physical address of the page behind this open file, as
 * /proc/self/pagemap would report it for a mapping of that file
 * (PFN * PAGE_SIZE). CAP_SYS_ADMIN only, like PFNs in pagemap.
 */
#define LKMC_MMAP_IOC_PHYS_ADDR _IOR(KMMAP_IOC_MAGIC, 0x01, __u64)

#endif /* _UAPI_LINUX_KMMAP_H */
