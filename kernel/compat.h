/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Every kernel API difference kmmap meets between Linux 5.10 and 7.x lives
 * here, so that kmmap.c holds no version checks of its own.
 */
#ifndef KMMAP_COMPAT_H
#define KMMAP_COMPAT_H

#include <linux/mm.h>
#include <linux/version.h>

/* 6.3 made vm_flags read-only and added accessors that take the VMA lock. */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 3, 0)
static inline void kmmap_vm_flags_set(struct vm_area_struct *vma,
				      vm_flags_t flags)
{
	vm_flags_set(vma, flags);
}
#else
static inline void kmmap_vm_flags_set(struct vm_area_struct *vma,
				      vm_flags_t flags)
{
	vma->vm_flags |= flags;
}
#endif

#endif /* KMMAP_COMPAT_H */
