/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Every kernel API difference kmmap meets between Linux 5.10 and 7.x lives
 * here, so that the module's logic holds no version checks of its own.
 */
#ifndef KMMAP_COMPAT_H
#define KMMAP_COMPAT_H

#include <linux/file.h>
#include <linux/fs.h>
#include <linux/gfp.h>
#include <linux/mm.h>
#include <linux/mmzone.h>
#include <linux/version.h>

/* 6.3 made vm_flags read-only and added accessors that take the VMA lock. */
#if KERNEL_VERSION(6, 3, 0) <= LINUX_VERSION_CODE
static inline void kmmap_vm_flags_set(struct vm_area_struct *vma,
				      vm_flags_t flags)
{
	vm_flags_set(vma, flags);
}

static inline void kmmap_vm_flags_clear(struct vm_area_struct *vma,
					vm_flags_t flags)
{
	vm_flags_clear(vma, flags);
}
#else
static inline void kmmap_vm_flags_set(struct vm_area_struct *vma,
				      vm_flags_t flags)
{
	vma->vm_flags |= flags;
}

static inline void kmmap_vm_flags_clear(struct vm_area_struct *vma,
					vm_flags_t flags)
{
	vma->vm_flags &= ~flags;
}
#endif

/*
 * GFP flags for a page that user space maps. Before 5.11 a page charged to a
 * memory cgroup as kernel memory (__GFP_ACCOUNT, from any cgroup but the
 * root) carries the PageKmemcg page *type*, which lives in page->_mapcount:
 * mapping such a page corrupts its mapcount ("Bad page map ... mapcount:-512"
 * on munmap). 5.11 moved the kmemcg mark into page->memcg_data, so from then
 * on the page can be both charged and mapped. Older kernels leave it
 * uncharged.
 */
#if KERNEL_VERSION(5, 11, 0) <= LINUX_VERSION_CODE
#define KMMAP_GFP_MAPPED_PAGE	(GFP_KERNEL_ACCOUNT | __GFP_ZERO)
#else
#define KMMAP_GFP_MAPPED_PAGE	(GFP_KERNEL | __GFP_ZERO)
#endif

/* 5.11 added vma_set_file(); before it, the same three steps by hand. */
#if KERNEL_VERSION(5, 11, 0) <= LINUX_VERSION_CODE
static inline void kmmap_vma_set_file(struct vm_area_struct *vma,
				      struct file *file)
{
	vma_set_file(vma, file);
}
#else
static inline void kmmap_vma_set_file(struct vm_area_struct *vma,
				      struct file *file)
{
	get_file(file);
	swap(vma->vm_file, file);
	fput(file);
}
#endif

/*
 * The largest order alloc_pages() accepts. MAX_ORDER counted one past it
 * until 6.4, then named it; 6.8 renamed it MAX_PAGE_ORDER.
 */
#if defined(MAX_PAGE_ORDER)
#define KMMAP_MAX_ORDER		MAX_PAGE_ORDER
#elif KERNEL_VERSION(6, 4, 0) <= LINUX_VERSION_CODE
#define KMMAP_MAX_ORDER		MAX_ORDER
#else
#define KMMAP_MAX_ORDER		(MAX_ORDER - 1)
#endif

#endif /* KMMAP_COMPAT_H */
