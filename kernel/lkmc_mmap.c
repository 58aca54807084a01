// SPDX-License-Identifier: GPL-2.0-only
/*
 * /proc/lkmc_mmap: one zeroed page per open file, starting with "asdf".
 *
 * Three views of that page stay coherent because they are the same memory:
 * read() returns the first LKMC_MSG_SIZE bytes from the file position;
 * write() replaces up to LKMC_MSG_SIZE bytes from byte 0 whatever the file
 * position, and consumes the whole write (the reference test relies on it);
 * mmap() of one page at offset 0 maps the page itself through .fault.
 *
 *	int fd = open("/proc/lkmc_mmap", O_RDWR | O_SYNC);
 *	char *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
 *	puts(p);					// "asdf"
 *	__u64 phys;
 *	ioctl(fd, LKMC_MMAP_IOC_PHYS_ADDR, &phys);	// CAP_SYS_ADMIN only
 *
 * Lifetime: proc_ops has no .owner. An open file cannot outlive the proc
 * entry (remove_proc_entry() releases open files itself), but a mapping can,
 * and its vm_ops point into this module. A module reference dropped by the
 * module itself (module_put() in vm_close) would leave a window: once the
 * last reference is gone, a concurrent rmmod may free the module while the
 * closing task is still returning through its code. So the module never
 * drops its own last reference; the kernel's code does, as it does for
 * dma-buf mappings: mmap() points the VMA at a file of this module's own
 * (an anonymous inode whose fops have .owner), which holds the module and
 * the page. The core copies vm_file on fork and split and drops it with
 * fput() after vm_close, from its own code; the last fput() releases the
 * page and then the module. rmmod fails with EBUSY while any mapping lives.
 * /proc/<pid>/maps names such a mapping "anon_inode:lkmc_mmap".
 *
 * The page's holders (the open file and each mapping's file) are counted
 * apart from its page references, so that the module knows when it lets go
 * of the page (pages_held, main.c): the page tables' references are the
 * core's, dropped when it unmaps, before it releases the mapping's file.
 *
 * The page is charged to the opener's memory cgroup where the kernel allows
 * a charged page to be mapped (see KMMAP_GFP_MAPPED_PAGE in compat.h).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/anon_inodes.h>
#include <linux/capability.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/kmmap.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/pfn.h>
#include <linux/proc_fs.h>
#include <linux/refcount.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "compat.h"
#include "kmmap_internal.h"

#define LKMC_MMAP_NAME	"lkmc_mmap"
/* Each opener gets a private page, so letting anyone open it is harmless. */
#define LKMC_MMAP_MODE	0666
/* read() and write() see only this many bytes at the start of the page. */
#define LKMC_MSG_SIZE	4

static struct proc_dir_entry *lkmc_entry;

/* One open's page, shared by the open file and its mappings' files. */
struct lkmc_page {
	struct page *page;
	refcount_t holders;		/* files that hold it (see the top) */
};

static struct lkmc_page *lkmc_page_new(void)
{
	struct lkmc_page *lp;

	lp = kmalloc(sizeof(*lp), GFP_KERNEL_ACCOUNT);
	if (!lp)
		return NULL;
	/* Charged to the opener's memory cgroup: anyone may open this file. */
	lp->page = alloc_page(KMMAP_GFP_MAPPED_PAGE);
	if (!lp->page) {
		kfree(lp);
		return NULL;
	}
	memcpy(page_address(lp->page), "asdf", LKMC_MSG_SIZE);
	refcount_set(&lp->holders, 1);
	kmmap_pages_alloced(1);
	return lp;
}

static void lkmc_page_get(struct lkmc_page *lp)
{
	refcount_inc(&lp->holders);
}

static void lkmc_page_put(struct lkmc_page *lp)
{
	if (!refcount_dec_and_test(&lp->holders))
		return;
	/* Frees the page, unless get_user_pages() still pins it. */
	put_page(lp->page);
	kmmap_pages_freed(1);
	kfree(lp);
}

static struct page *lkmc_page(struct file *file)
{
	struct lkmc_page *lp = file->private_data;

	return lp->page;
}

static vm_fault_t lkmc_vm_fault(struct vm_fault *vmf)
{
	struct page *page = vmf->vma->vm_private_data;

	pr_debug("vm_fault pgoff %lu at %#lx\n", vmf->pgoff, vmf->address);
	/* mmap() admits one page at offset 0; anything else does not exist. */
	if (vmf->pgoff != 0)
		return VM_FAULT_SIGBUS;

	/* The page table's reference, dropped by the core when it unmaps. */
	get_page(page);
	vmf->page = page;
	return 0;
}

static const struct vm_operations_struct lkmc_vm_ops = {
	.fault	= lkmc_vm_fault,
};

/* The last fput() of a mapping's file: the kernel then drops the module. */
static int lkmc_map_release(struct inode *inode, struct file *file)
{
	lkmc_page_put(file->private_data);
	return 0;
}

/* The file every mapping holds instead of /proc/lkmc_mmap (see the top). */
static const struct file_operations lkmc_map_fops = {
	.owner		= THIS_MODULE,
	.release	= lkmc_map_release,
};

static int lkmc_open(struct inode *inode, struct file *file)
{
	struct lkmc_page *lp;

	lp = lkmc_page_new();
	if (!lp)
		return -ENOMEM;

	file->private_data = lp;
	pr_debug("open\n");
	return 0;
}

static int lkmc_release(struct inode *inode, struct file *file)
{
	pr_debug("release\n");
	lkmc_page_put(file->private_data);
	return 0;
}

static ssize_t lkmc_read(struct file *file, char __user *buf, size_t len,
			 loff_t *pos)
{
	pr_debug("read %zu at %lld\n", len, *pos);
	return simple_read_from_buffer(buf, len, pos,
				       page_address(lkmc_page(file)),
				       LKMC_MSG_SIZE);
}

static ssize_t lkmc_write(struct file *file, const char __user *buf,
			  size_t len, loff_t *pos)
{
	char msg[LKMC_MSG_SIZE];
	size_t n = min(len, sizeof(msg));

	pr_debug("write %zu\n", len);
	/* Copy in first so that a bad buffer leaves the page untouched. */
	if (copy_from_user(msg, buf, n))
		return -EFAULT;

	memcpy(page_address(lkmc_page(file)), msg, n);
	return len;
}

static loff_t lkmc_lseek(struct file *file, loff_t offset, int whence)
{
	return fixed_size_llseek(file, offset, whence, LKMC_MSG_SIZE);
}

static int lkmc_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct lkmc_page *lp = file->private_data;
	struct file *map_file;

	pr_debug("mmap %lu pages at pgoff %lu\n", vma_pages(vma),
		 vma->vm_pgoff);
	if (vma->vm_pgoff != 0 || vma_pages(vma) != 1)
		return -EINVAL;

	/*
	 * Takes the module reference (fops.owner); fails only while the
	 * module is being unloaded. The new file holds the page too.
	 */
	lkmc_page_get(lp);
	map_file = anon_inode_getfile(LKMC_MMAP_NAME, &lkmc_map_fops, lp,
				      file->f_flags & O_ACCMODE);
	if (IS_ERR(map_file)) {
		/* Never the last holder: the open file still is one. */
		lkmc_page_put(lp);
		return PTR_ERR(map_file) == -ENOENT ? -ENODEV :
						       PTR_ERR(map_file);
	}
	kmmap_vma_set_file(vma, map_file);
	fput(map_file);

	vma->vm_ops = &lkmc_vm_ops;
	vma->vm_private_data = lp->page;
	kmmap_vm_flags_set(vma, VM_DONTEXPAND | VM_DONTDUMP);
	return 0;
}

static long lkmc_ioctl(struct file *file, unsigned int cmd,
		       unsigned long arg)
{
	u64 phys;

	switch (cmd) {
	case LKMC_MMAP_IOC_PHYS_ADDR:
		/* The caller's CAP_SYS_ADMIN, as for /dev/kmmap's PFNs. */
		if (!capable(CAP_SYS_ADMIN))
			return -EPERM;
		phys = PFN_PHYS(page_to_pfn(lkmc_page(file)));
		return put_user(phys, (u64 __user *)arg);
	default:
		return -ENOTTY;
	}
}

static const struct proc_ops lkmc_proc_ops = {
	.proc_open		= lkmc_open,
	.proc_release		= lkmc_release,
	.proc_read		= lkmc_read,
	.proc_write		= lkmc_write,
	.proc_lseek		= lkmc_lseek,
	.proc_mmap		= lkmc_mmap,
	.proc_ioctl		= lkmc_ioctl,
#ifdef CONFIG_COMPAT
	.proc_compat_ioctl	= compat_ptr_ioctl,
#endif
};

int lkmc_mmap_init(void)
{
	lkmc_entry = proc_create(LKMC_MMAP_NAME, LKMC_MMAP_MODE, NULL,
				 &lkmc_proc_ops);
	if (!lkmc_entry) {
		pr_err("cannot create /proc/%s\n", LKMC_MMAP_NAME);
		return -ENOMEM;
	}
	return 0;
}

void lkmc_mmap_exit(void)
{
	proc_remove(lkmc_entry);
}
