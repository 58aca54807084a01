// SPDX-License-Identifier: GPL-2.0-only
/*
 * kmmap: share kernel memory with user space through mmap.
 *
 * This file only wires the module together; each interface lives in its own
 * file:
 *   lkmc_mmap.c  /proc/lkmc_mmap, one zeroed page per open, mapped by a
 *                .fault handler (the classic answer, with its bugs fixed).
 *   device.c     /dev/kmmap, one multi-page buffer shared by every open,
 *                mapped in any of the four ways the kernel offers.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>

#include "kmmap.h"

static int __init kmmap_init(void)
{
	int err;

	err = lkmc_mmap_init();
	if (err)
		return err;

	err = kmmap_device_init();
	if (err)
		goto err_lkmc;

	return 0;

err_lkmc:
	lkmc_mmap_exit();
	return err;
}

static void __exit kmmap_exit(void)
{
	kmmap_device_exit();
	lkmc_mmap_exit();
}

module_init(kmmap_init);
module_exit(kmmap_exit);

MODULE_DESCRIPTION("Share kernel memory with user space through mmap");
MODULE_AUTHOR("The kmmap authors");
MODULE_LICENSE("GPL");
MODULE_VERSION("0.1.0");
