// SPDX-License-Identifier: GPL-2.0-only
/*
 * /dev/kmmap: one buffer of kernel memory (buffer.c), shared by every open
 * of the device, that user space maps with mmap(MAP_SHARED) in the way the
 * open file chose. This file holds the module parameters that shape it, the
 * VMA operations, the file operations and the ioctls.
 *
 *	int fd = open("/dev/kmmap", O_RDWR);
 *	struct kmmap_info info;
 *	ioctl(fd, KMMAP_IOC_INFO, &info);
 *	__u32 method = KMMAP_METHOD_PAGES;
 *	ioctl(fd, KMMAP_IOC_SET_METHOD, &method);	// optional
 *	char *p = mmap(NULL, info.size, PROT_READ | PROT_WRITE, MAP_SHARED,
 *		       fd, 0);
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/capability.h>
#include <linux/crc32.h>
#include <linux/fs.h>
#include <linux/kmmap.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <linux/uio.h>
#include <linux/vmalloc.h>

#include "buffer.h"
#include "compat.h"
#include "kmmap_internal.h"

#define KMMAP_DEFAULT_SIZE	(4UL << 20)
/* The kernel's own fault-around default: 64 KiB. */
#define KMMAP_DEFAULT_BATCH	16
#define KMMAP_MAX_BATCH		512
/* PFNs copied to user space per copy_to_user(). */
#define KMMAP_PFN_BATCH		64

/* ---------------------------------------------------- module parameters */

/* Read at load only (kmmap_parse_params()); the names are user-visible. */
static unsigned long kmmap_param_size = KMMAP_DEFAULT_SIZE;
module_param_named(size, kmmap_param_size, ulong, 0444);
MODULE_PARM_DESC(size, "Bytes in the /dev/kmmap buffer, rounded up to whole pages (default 4 MiB, at most half of RAM)");

static char *kmmap_param_backing = "contig";
module_param_named(backing, kmmap_param_backing, charp, 0444);
MODULE_PARM_DESC(backing, "Memory behind /dev/kmmap: contig (physically contiguous runs of pages) or vmalloc (vmalloc_user) (default contig)");

static char *kmmap_param_method = "fault";
module_param_named(method, kmmap_param_method, charp, 0444);
MODULE_PARM_DESC(method, "Default mmap method of a new /dev/kmmap file: fault, fault_around, pages, pfn (contig only) or vmalloc (vmalloc only) (default fault)");

static ushort kmmap_param_mode = 0600;
module_param_named(mode, kmmap_param_mode, ushort, 0444);
MODULE_PARM_DESC(mode, "Permissions of the /dev/kmmap node (default 0600)");

static uint kmmap_param_fault_around_pages = KMMAP_DEFAULT_BATCH;
module_param_named(fault_around_pages, kmmap_param_fault_around_pages, uint,
		   0444);
MODULE_PARM_DESC(fault_around_pages, "Pages the fault_around method maps per fault, 1 to 512 (default 16)");

static const char * const kmmap_backing_names[] = {
	[KMMAP_BACKING_CONTIG]		= "contig",
	[KMMAP_BACKING_VMALLOC]		= "vmalloc",
};

static const char * const kmmap_method_names[] = {
	[KMMAP_METHOD_FAULT]		= "fault",
	[KMMAP_METHOD_FAULT_AROUND]	= "fault_around",
	[KMMAP_METHOD_PAGES]		= "pages",
	[KMMAP_METHOD_PFN]		= "pfn",
	[KMMAP_METHOD_VMALLOC]		= "vmalloc",
};

/* ---------------------------------------------------------------- state */

/* Set up at load and unchanged until unload but for the count of VMAs. */
static struct kmmap_device {
	struct kmmap_buffer buf;
	u32 methods;			/* BIT(method) for each allowed method */
	u32 default_method;		/* of a new open file */
	atomic_t mappings;		/* live VMAs, for KMMAP_IOC_INFO */
} kmmap_dev;

/* Per open file. */
struct kmmap_file {
	u32 method;			/* READ_ONCE/WRITE_ONCE: set by ioctl */
};

static size_t kmmap_size(void)
{
	return kmmap_buffer_size(&kmmap_dev.buf);
}

static void *kmmap_addr(size_t off)
{
	return kmmap_buffer_addr(&kmmap_dev.buf, off);
}

/* Bytes from @off to the end of its page, at most @len. */
static size_t kmmap_page_chunk(size_t off, size_t len)
{
	return min_t(size_t, len, PAGE_SIZE - offset_in_page(off));
}

static bool kmmap_method_allowed(u32 how)
{
	return how < KMMAP_METHOD_COUNT && (kmmap_dev.methods & BIT(how));
}

/* Is [off, off + len) inside the buffer? Written so nothing can overflow. */
static bool kmmap_range_ok(u64 off, u64 len)
{
	return off <= kmmap_size() && len <= kmmap_size() - off;
}

/* ------------------------------------------------------------------ VMAs */

/*
 * Lifetime: the buffer outlives every mapping. Every VMA holds its file
 * (vm_file), the file holds the module (fops.owner), and the core drops both
 * only after vm_close has returned, so rmmod fails with EBUSY while any
 * mapping or open file remains and no module code runs after its last
 * reference is gone. vm_open and vm_close only count the VMAs.
 */
static void kmmap_vm_open(struct vm_area_struct *vma)
{
	pr_debug("vm_open %#lx-%#lx\n", vma->vm_start, vma->vm_end);
	atomic_inc(&kmmap_dev.mappings);
}

static void kmmap_vm_close(struct vm_area_struct *vma)
{
	pr_debug("vm_close %#lx-%#lx\n", vma->vm_start, vma->vm_end);
	atomic_dec(&kmmap_dev.mappings);
}

/*
 * One page per fault. Also the fallback of the pages and vmalloc methods,
 * which map everything up front: madvise(MADV_DONTNEED) may zap their PTEs
 * and the next touch must find the same page again, not SIGBUS.
 */
static vm_fault_t kmmap_vm_fault(struct vm_fault *vmf)
{
	struct page *page;

	pr_debug("vm_fault pgoff %lu at %#lx\n", vmf->pgoff, vmf->address);
	/* mmap() checked the range and VM_DONTEXPAND keeps it; be sure. */
	if (vmf->pgoff >= kmmap_dev.buf.nr_pages)
		return VM_FAULT_SIGBUS;

	page = kmmap_dev.buf.pages[vmf->pgoff];
	/* The page table's reference, dropped by the core when it unmaps. */
	get_page(page);
	vmf->page = page;
	return 0;
}

/*
 * Maps the aligned batch of pages around the faulting one. Pages another
 * fault mapped meanwhile make vm_insert_pages() stop with EBUSY; skip them.
 */
static vm_fault_t kmmap_vm_fault_around(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	unsigned long batch = kmmap_param_fault_around_pages;
	pgoff_t vma_first = vma->vm_pgoff;
	pgoff_t vma_end = vma->vm_pgoff + vma_pages(vma);
	pgoff_t pgoff, end;

	if (vmf->pgoff >= kmmap_dev.buf.nr_pages || vmf->pgoff < vma_first)
		return VM_FAULT_SIGBUS;

	pgoff = max_t(pgoff_t, rounddown(vmf->pgoff, batch), vma_first);
	end = min3(pgoff + batch, vma_end, (pgoff_t)kmmap_dev.buf.nr_pages);
	pr_debug("vm_fault_around pgoff %lu: %lu-%lu\n", vmf->pgoff, pgoff,
		 end);

	while (pgoff < end) {
		unsigned long addr = vma->vm_start +
				     ((pgoff - vma_first) << PAGE_SHIFT);
		unsigned long left = end - pgoff;
		int err;

		err = vm_insert_pages(vma, addr, &kmmap_dev.buf.pages[pgoff],
				      &left);
		pgoff = end - left;
		if (!err)
			break;
		if (err != -EBUSY)
			return vmf_error(err);
		pgoff++;
	}
	return VM_FAULT_NOPAGE;
}

static const struct vm_operations_struct kmmap_fault_vm_ops = {
	.open	= kmmap_vm_open,
	.close	= kmmap_vm_close,
	.fault	= kmmap_vm_fault,
};

static const struct vm_operations_struct kmmap_fault_around_vm_ops = {
	.open	= kmmap_vm_open,
	.close	= kmmap_vm_close,
	.fault	= kmmap_vm_fault_around,
};

/* Every PTE is set at mmap() time and PFN maps cannot be zapped by users. */
static const struct vm_operations_struct kmmap_pfn_vm_ops = {
	.open	= kmmap_vm_open,
	.close	= kmmap_vm_close,
};

/* ---------------------------------------------------- mmap, per method */

/*
 * fault: .fault returns one page per first touch, as the classic answer
 * does. Nothing is mapped until used, which suits sparse access; a first
 * touch of every page costs one fault per page.
 */
static int kmmap_mmap_fault(struct vm_area_struct *vma)
{
	vma->vm_ops = &kmmap_fault_vm_ops;
	return 0;
}

/*
 * fault_around: .fault maps an aligned batch of "fault_around_pages" pages
 * with vm_insert_pages() and returns VM_FAULT_NOPAGE, so a sequential first
 * pass costs one fault per batch. This is what the kernel's own .map_pages
 * does for the page cache; .map_pages itself runs in atomic context (struct
 * vm_fault's prealloc_pte comment), where nothing may sleep or allocate page
 * tables, and the helpers that fill PTEs there are not exported, so a module
 * batches from .fault.
 */
static int kmmap_mmap_fault_around(struct vm_area_struct *vma)
{
	/* vm_insert_pages() from .fault needs it set under mmap_lock. */
	kmmap_vm_flags_set(vma, VM_MIXEDMAP);
	vma->vm_ops = &kmmap_fault_around_vm_ops;
	return 0;
}

/*
 * pages: vm_insert_pages() maps every page at mmap() time: no faults later,
 * mmap() itself costs time proportional to the length. The pages stay
 * refcounted normal pages (pagemap sees them, get_user_pages() works,
 * O_DIRECT into them works).
 */
static int kmmap_mmap_pages(struct vm_area_struct *vma)
{
	unsigned long left = vma_pages(vma);
	int err;

	kmmap_vm_flags_set(vma, VM_MIXEDMAP);
	vma->vm_ops = &kmmap_fault_vm_ops;
	err = vm_insert_pages(vma, vma->vm_start,
			      &kmmap_dev.buf.pages[vma->vm_pgoff], &left);
	/* Nothing else can map into a VMA that mmap() is still setting up. */
	WARN_ON_ONCE(!err && left);
	return err;
}

/*
 * pfn (contig backing only): remap_pfn_range() over each physically
 * contiguous run of the range. The way to map memory that has no struct
 * page or must not be refcounted (device memory). Trap: the PTEs carry no
 * page reference, so nothing but the driver keeps the memory alive; here the
 * buffer lives until unload and unload waits for every mapping. The VMA
 * becomes VM_IO | VM_PFNMAP: get_user_pages() fails on it (no O_DIRECT,
 * vmsplice or io_uring fixed buffers) and the kernel's page walkers,
 * /proc/<pid>/pagemap included, skip it: pagemap reports such pages as not
 * present.
 */
static int kmmap_mmap_pfn(struct vm_area_struct *vma)
{
	struct page **pages = kmmap_dev.buf.pages;
	pgoff_t first = vma->vm_pgoff, end = first + vma_pages(vma);
	pgoff_t run = first;

	vma->vm_ops = &kmmap_pfn_vm_ops;
	while (run < end) {
		unsigned long pfn = page_to_pfn(pages[run]);
		pgoff_t next = run + 1;
		int err;

		while (next < end &&
		       page_to_pfn(pages[next]) == pfn + (next - run))
			next++;
		err = remap_pfn_range(vma, vma->vm_start +
				      ((run - first) << PAGE_SHIFT), pfn,
				      (next - run) << PAGE_SHIFT,
				      vma->vm_page_prot);
		if (err)
			return err;
		run = next;
	}
	return 0;
}

/*
 * vmalloc (vmalloc backing only): remap_vmalloc_range(), the standard way
 * to hand a vmalloc_user() buffer to user space, with the bounds checked
 * against the vmalloc area itself.
 */
static int kmmap_mmap_vmalloc(struct vm_area_struct *vma)
{
	vma->vm_ops = &kmmap_fault_vm_ops;
	return remap_vmalloc_range(vma, kmmap_dev.buf.vaddr, vma->vm_pgoff);
}

/*
 * The rules every method shares. MAP_SHARED only (MAP_PRIVATE gets EINVAL:
 * a private copy of a shared device buffer would silently stop seeing the
 * device's writes); an offset at or past the end gets ENXIO, a range running
 * past the end EINVAL. fork() shares: the child's mapping is the same
 * buffer, like any MAP_SHARED mapping.
 */
static int kmmap_mmap_check(struct vm_area_struct *vma)
{
	/* VM_SHARED is cleared for read-only files; VM_MAYSHARE is not. */
	if (!(vma->vm_flags & VM_MAYSHARE))
		return -EINVAL;
	if (vma->vm_pgoff >= kmmap_dev.buf.nr_pages)
		return -ENXIO;
	if (vma_pages(vma) > kmmap_dev.buf.nr_pages - vma->vm_pgoff)
		return -EINVAL;
	return 0;
}

/*
 * Guards first, then the open file's method. VM_DONTEXPAND: mremap() cannot
 * grow a mapping (it can shrink or move one); a mapping made without
 * PROT_WRITE cannot gain it through mprotect() (VM_MAYWRITE cleared).
 */
static int kmmap_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct kmmap_file *kf = file->private_data;
	u32 how = READ_ONCE(kf->method);
	int err;

	/* SET_METHOD admits only allowed methods; be sure before indexing. */
	if (WARN_ON_ONCE(!kmmap_method_allowed(how)))
		return -EINVAL;
	pr_debug("mmap %s: %lu pages at pgoff %lu\n", kmmap_method_names[how],
		 vma_pages(vma), vma->vm_pgoff);
	err = kmmap_mmap_check(vma);
	if (err)
		return err;

	kmmap_vm_flags_set(vma, VM_DONTEXPAND | VM_DONTDUMP);
	if (!(vma->vm_flags & VM_WRITE))
		kmmap_vm_flags_clear(vma, VM_MAYWRITE);
	vma->vm_private_data = &kmmap_dev;

	switch (how) {
	case KMMAP_METHOD_FAULT:
		err = kmmap_mmap_fault(vma);
		break;
	case KMMAP_METHOD_FAULT_AROUND:
		err = kmmap_mmap_fault_around(vma);
		break;
	case KMMAP_METHOD_PAGES:
		err = kmmap_mmap_pages(vma);
		break;
	case KMMAP_METHOD_PFN:
		err = kmmap_mmap_pfn(vma);
		break;
	case KMMAP_METHOD_VMALLOC:
		err = kmmap_mmap_vmalloc(vma);
		break;
	default:
		return -EINVAL;
	}
	/*
	 * On failure the core unmaps whatever was mapped and never calls
	 * vm_close, so the mapping is counted on success only.
	 */
	if (err) {
		pr_debug("mmap %s failed: %d\n", kmmap_method_names[how], err);
		return err;
	}
	atomic_inc(&kmmap_dev.mappings);
	return 0;
}

/* ------------------------------------------------- read, write, lseek */

/*
 * read(), write() and the ioctls respect the file's open mode: bytes leave
 * the buffer only through a file open for reading (read, CHECKSUM) and enter
 * it only through one open for writing (write, FILL), as with mmap(). write()
 * copies with copy_from_iter(), which leaves the bytes past a faulting source
 * untouched (copy_from_user() would zero them in the shared buffer), so
 * nothing beyond what write() reports as written ever changes.
 *
 * kmmap_copy_iter() does the copying for both: len bytes at iocb->ki_pos,
 * page by page (the contig backing is not virtually contiguous), stopping at
 * the first short copy and reporting what was copied. A fatal signal ends a
 * long copy early, as a short count.
 */
static ssize_t kmmap_copy_iter(struct kiocb *iocb, struct iov_iter *iter,
			       size_t len, bool to_buffer)
{
	loff_t pos = iocb->ki_pos;
	size_t done = 0;

	while (done < len) {
		size_t n = kmmap_page_chunk(pos + done, len - done);
		void *addr = kmmap_addr(pos + done);
		/* Each copies exactly what it reports; the rest stays as it was. */
		size_t copied = to_buffer ? copy_from_iter(addr, n, iter) :
					    copy_to_iter(addr, n, iter);

		done += copied;
		if (copied < n || fatal_signal_pending(current))
			break;
		cond_resched();
	}
	if (!done)
		return fatal_signal_pending(current) ? -EINTR : -EFAULT;
	iocb->ki_pos = pos + done;
	return done;
}

static ssize_t kmmap_read_iter(struct kiocb *iocb, struct iov_iter *to)
{
	loff_t pos = iocb->ki_pos;
	size_t len = iov_iter_count(to);

	if (pos < 0)
		return -EINVAL;
	if (pos >= kmmap_size() || !len)
		return 0;
	return kmmap_copy_iter(iocb, to, min_t(size_t, len, kmmap_size() - pos),
			       false);
}

static ssize_t kmmap_write_iter(struct kiocb *iocb, struct iov_iter *from)
{
	loff_t pos = iocb->ki_pos;
	size_t len = iov_iter_count(from);

	if (pos < 0)
		return -EINVAL;
	if (!len)
		return 0;
	if (pos >= kmmap_size())
		return -ENOSPC;
	return kmmap_copy_iter(iocb, from,
			       min_t(size_t, len, kmmap_size() - pos), true);
}

static loff_t kmmap_llseek(struct file *file, loff_t offset, int whence)
{
	return fixed_size_llseek(file, offset, whence, kmmap_size());
}

/* ------------------------------------------------------------- ioctls */

/*
 * Physical layout is CAP_SYS_ADMIN's business: the caller's, at the call, so
 * that a descriptor handed to a less privileged process reveals nothing to it.
 * (pagemap checks the opener instead; kmmap's rule is the stricter one.)
 */
static bool kmmap_may_see_layout(void)
{
	return capable(CAP_SYS_ADMIN);
}

static long kmmap_ioctl_info(struct kmmap_file *kf, void __user *uarg)
{
	struct kmmap_info info = {
		.size		= kmmap_size(),
		.page_size	= PAGE_SIZE,
		.backing	= kmmap_dev.buf.backing,
		.method		= READ_ONCE(kf->method),
		.methods	= kmmap_dev.methods,
		.mappings	= atomic_read(&kmmap_dev.mappings),
	};

	/* How contiguous the buffer is would hint at its PFNs: 0 = hidden. */
	if (kmmap_may_see_layout())
		info.max_chunk_pages = kmmap_dev.buf.max_chunk_pages;

	return copy_to_user(uarg, &info, sizeof(info)) ? -EFAULT : 0;
}

/* A method that does not fit the backing fails with EOPNOTSUPP. */
static long kmmap_ioctl_set_method(struct kmmap_file *kf, u32 __user *uarg)
{
	u32 how;

	if (get_user(how, uarg))
		return -EFAULT;
	if (how >= KMMAP_METHOD_COUNT)
		return -EINVAL;
	if (!kmmap_method_allowed(how))
		return -EOPNOTSUPP;
	WRITE_ONCE(kf->method, how);
	pr_debug("method %s\n", kmmap_method_names[how]);
	return 0;
}

static long kmmap_ioctl_pfns(void __user *uarg)
{
	struct kmmap_pfns req;
	u64 pfns[KMMAP_PFN_BATCH];
	u64 __user *out;
	u64 i;

	if (!kmmap_may_see_layout())
		return -EPERM;
	if (copy_from_user(&req, uarg, sizeof(req)))
		return -EFAULT;
	if (req.first > kmmap_dev.buf.nr_pages ||
	    req.count > kmmap_dev.buf.nr_pages - req.first)
		return -EINVAL;

	out = u64_to_user_ptr(req.pfns);
	for (i = 0; i < req.count; i += KMMAP_PFN_BATCH) {
		u64 n = min_t(u64, KMMAP_PFN_BATCH, req.count - i);
		u64 j;

		for (j = 0; j < n; j++)
			pfns[j] = page_to_pfn(kmmap_dev.buf.pages[req.first + i + j]);
		if (copy_to_user(out + i, pfns, n * sizeof(pfns[0])))
			return -EFAULT;
		if (fatal_signal_pending(current))
			return -EINTR;
		cond_resched();
	}
	return 0;
}

static long kmmap_ioctl_fill(void __user *uarg)
{
	struct kmmap_fill req;
	u64 done = 0, tmp;
	u32 byte;

	if (copy_from_user(&req, uarg, sizeof(req)))
		return -EFAULT;
	if (req.flags & ~KMMAP_FILL_ADD_OFFSET)
		return -EINVAL;
	if (req.pattern_len < 1 || req.pattern_len > sizeof(req.pattern))
		return -EINVAL;
	if (!kmmap_range_ok(req.offset, req.length))
		return -EINVAL;
	if ((req.flags & KMMAP_FILL_ADD_OFFSET) &&
	    (req.pattern_len != sizeof(u64) || !IS_ALIGNED(req.offset, 8) ||
	     !IS_ALIGNED(req.length, 8)))
		return -EINVAL;

	/*
	 * The pattern byte of buffer offset o is o % pattern_len: computed once
	 * (do_div: 32-bit kernels have no 64-bit '%'), then carried along.
	 */
	tmp = req.offset;
	byte = do_div(tmp, req.pattern_len);
	while (done < req.length) {
		u64 off = req.offset + done;
		size_t n = kmmap_page_chunk(off, req.length - done);
		u8 *dst = kmmap_addr(off);
		size_t k;

		if (fatal_signal_pending(current))
			return -EINTR;
		if (req.flags & KMMAP_FILL_ADD_OFFSET) {
			__le64 *word = (__le64 *)dst;

			for (k = 0; k < n / 8; k++)
				word[k] = cpu_to_le64(req.pattern + off + 8 * k);
		} else if (req.pattern_len == 1) {
			memset(dst, req.pattern & 0xff, n);
		} else {
			for (k = 0; k < n; k++) {
				dst[k] = req.pattern >> (8 * byte);
				if (++byte == req.pattern_len)
					byte = 0;
			}
		}
		done += n;
		cond_resched();
	}
	return 0;
}

static long kmmap_ioctl_checksum(struct kmmap_checksum __user *uarg)
{
	struct kmmap_checksum req;
	u32 crc = ~0U;
	u64 done = 0;

	if (copy_from_user(&req, uarg, sizeof(req)))
		return -EFAULT;
	if (req.reserved || !kmmap_range_ok(req.offset, req.length))
		return -EINVAL;

	while (done < req.length) {
		u64 off = req.offset + done;
		size_t n = kmmap_page_chunk(off, req.length - done);

		if (fatal_signal_pending(current))
			return -EINTR;
		crc = crc32_le(crc, kmmap_addr(off), n);
		done += n;
		cond_resched();
	}
	/* zlib's crc32() starts from and finishes with all bits inverted. */
	return put_user(~crc, &uarg->crc32);
}

static long kmmap_ioctl(struct file *file, unsigned int cmd,
			unsigned long arg)
{
	struct kmmap_file *kf = file->private_data;
	void __user *uarg = (void __user *)arg;

	switch (cmd) {
	case KMMAP_IOC_INFO:
		return kmmap_ioctl_info(kf, uarg);
	case KMMAP_IOC_SET_METHOD:
		return kmmap_ioctl_set_method(kf, uarg);
	case KMMAP_IOC_PFNS:
		return kmmap_ioctl_pfns(uarg);
	case KMMAP_IOC_FILL:
		/* Writes the buffer: only through a file open for writing. */
		if (!(file->f_mode & FMODE_WRITE))
			return -EBADF;
		return kmmap_ioctl_fill(uarg);
	case KMMAP_IOC_CHECKSUM:
		/* Reveals the bytes: only through a file open for reading. */
		if (!(file->f_mode & FMODE_READ))
			return -EBADF;
		return kmmap_ioctl_checksum(uarg);
	default:
		return -ENOTTY;
	}
}

/* --------------------------------------------------------- open, close */

static int kmmap_open(struct inode *inode, struct file *file)
{
	struct kmmap_file *kf;

	kf = kzalloc(sizeof(*kf), GFP_KERNEL);
	if (!kf)
		return -ENOMEM;
	kf->method = kmmap_dev.default_method;
	/* misc_open() left our struct miscdevice here; we need no more. */
	file->private_data = kf;
	pr_debug("open\n");
	return 0;
}

static int kmmap_release(struct inode *inode, struct file *file)
{
	pr_debug("release\n");
	kfree(file->private_data);
	return 0;
}

static const struct file_operations kmmap_fops = {
	.owner		= THIS_MODULE,
	.open		= kmmap_open,
	.release	= kmmap_release,
	.read_iter	= kmmap_read_iter,
	.write_iter	= kmmap_write_iter,
	.llseek		= kmmap_llseek,
	.mmap		= kmmap_mmap,
	.unlocked_ioctl	= kmmap_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
};

static struct miscdevice kmmap_misc = {
	.minor		= MISC_DYNAMIC_MINOR,
	.name		= "kmmap",
	.fops		= &kmmap_fops,
};

/* ------------------------------------------------------- init, exit */

/* Checks the parameters, with a message that names the one at fault. */
static int kmmap_parse_params(void)
{
	int b, m;

	b = match_string(kmmap_backing_names, ARRAY_SIZE(kmmap_backing_names),
			 kmmap_param_backing);
	if (b < 0) {
		pr_err("backing=%s: must be contig or vmalloc\n",
		       kmmap_param_backing);
		return -EINVAL;
	}
	kmmap_dev.buf.backing = b;
	kmmap_dev.methods = BIT(KMMAP_METHOD_FAULT) |
			    BIT(KMMAP_METHOD_FAULT_AROUND) |
			    BIT(KMMAP_METHOD_PAGES);
	kmmap_dev.methods |= b == KMMAP_BACKING_VMALLOC ?
			     BIT(KMMAP_METHOD_VMALLOC) : BIT(KMMAP_METHOD_PFN);

	m = match_string(kmmap_method_names, ARRAY_SIZE(kmmap_method_names),
			 kmmap_param_method);
	if (m < 0) {
		pr_err("method=%s: must be fault, fault_around, pages, pfn or vmalloc\n",
		       kmmap_param_method);
		return -EINVAL;
	}
	if (!kmmap_method_allowed(m)) {
		pr_err("method=%s does not work with backing=%s\n",
		       kmmap_param_method, kmmap_param_backing);
		return -EINVAL;
	}
	kmmap_dev.default_method = m;

	if (!kmmap_param_fault_around_pages ||
	    kmmap_param_fault_around_pages > KMMAP_MAX_BATCH) {
		pr_err("fault_around_pages=%u: must be 1 to %u\n",
		       kmmap_param_fault_around_pages, KMMAP_MAX_BATCH);
		return -EINVAL;
	}
	if (kmmap_param_mode & ~0777) {
		pr_err("mode=%#o: only permission bits (0 to 0777)\n",
		       kmmap_param_mode);
		return -EINVAL;
	}

	if (!kmmap_param_size) {
		pr_err("size=0: the buffer needs at least one page\n");
		return -EINVAL;
	}
	/* Compared in pages, so that rounding up cannot overflow. */
	if (kmmap_param_size / PAGE_SIZE >= totalram_pages() / 2) {
		pr_err("size=%lu: more than half of RAM (%lu MiB)\n",
		       kmmap_param_size, totalram_pages() >> (20 - PAGE_SHIFT));
		return -EINVAL;
	}
	kmmap_dev.buf.nr_pages = DIV_ROUND_UP(kmmap_param_size, PAGE_SIZE);
	return 0;
}

int kmmap_device_init(void)
{
	int err;

	err = kmmap_parse_params();
	if (err)
		return err;

	err = kmmap_buffer_alloc(&kmmap_dev.buf);
	if (err) {
		pr_err("size=%lu: cannot allocate %lu pages of %s memory\n",
		       kmmap_param_size, kmmap_dev.buf.nr_pages,
		       kmmap_param_backing);
		return err;
	}

	kmmap_misc.mode = kmmap_param_mode;
	err = misc_register(&kmmap_misc);
	if (err) {
		pr_err("cannot register /dev/%s: %d\n", kmmap_misc.name, err);
		goto err_free;
	}
	pr_debug("/dev/%s: %lu pages, %s, longest run %u pages\n",
		 kmmap_misc.name, kmmap_dev.buf.nr_pages, kmmap_param_backing,
		 kmmap_dev.buf.max_chunk_pages);
	return 0;

err_free:
	kmmap_buffer_free(&kmmap_dev.buf);
	return err;
}

void kmmap_device_exit(void)
{
	misc_deregister(&kmmap_misc);
	kmmap_buffer_free(&kmmap_dev.buf);
}
