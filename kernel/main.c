// SPDX-License-Identifier: GPL-2.0-only
/*
 * kmmap: share kernel memory with user space through mmap.
 *
 * This file only wires the module together; each interface lives in its own
 * file:
 *   lkmc_mmap.c  /proc/lkmc_mmap, one zeroed page per open, mapped by a
 *                .fault handler (the classic answer, with its bugs fixed);
 *   device.c     /dev/kmmap, one multi-page buffer shared by every open,
 *                mapped in any of the four ways the kernel offers;
 *   buffer.c     the memory behind it (contig or vmalloc backing).
 * It also keeps the count of pages both hold, for leak checks.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/sysfs.h>

#include "kmmap_internal.h"

/*
 * Pages of memory the module has allocated and not yet let go of: the
 * /dev/kmmap buffer from load to unload, and each /proc/lkmc_mmap page from
 * open until the last file that holds it is released. Once every file and
 * mapping is closed, it is exactly the buffer's size; a leak shows as more.
 */
static atomic_long_t kmmap_pages_held = ATOMIC_LONG_INIT(0);

void kmmap_pages_alloced(unsigned long nr)
{
	atomic_long_add(nr, &kmmap_pages_held);
}

void kmmap_pages_freed(unsigned long nr)
{
	atomic_long_sub(nr, &kmmap_pages_held);
}

static int kmmap_pages_held_get(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf, "%ld\n", atomic_long_read(&kmmap_pages_held));
}

/* insmod would call .set for "pages_held=N" (a NULL .set would oops). */
static int kmmap_pages_held_set(const char *val, const struct kernel_param *kp)
{
	pr_err("pages_held is a count the module keeps, not a setting\n");
	return -EINVAL;
}

static const struct kernel_param_ops kmmap_pages_held_ops = {
	.set	= kmmap_pages_held_set,
	.get	= kmmap_pages_held_get,
};

/* A parameter only to be read: /sys/module/kmmap/parameters/pages_held. */
module_param_cb(pages_held, &kmmap_pages_held_ops, NULL, 0444);
MODULE_PARM_DESC(pages_held, "Pages the module holds now, read-only: the /dev/kmmap buffer plus one per live /proc/lkmc_mmap page");

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
