/* SPDX-License-Identifier: GPL-2.0-only */
/* The /dev/kmmap buffer (buffer.c), and how to reach a byte of it. */
#ifndef KMMAP_BUFFER_H
#define KMMAP_BUFFER_H

#include <linux/kmmap.h>
#include <linux/mm.h>
#include <linux/types.h>

/*
 * Allocated at load and freed at unload, never changed in between, so
 * readers need no lock; concurrent read()/write()/mmap access to the same
 * bytes races exactly as it would on any shared memory.
 */
struct kmmap_buffer {
	enum kmmap_backing backing;	/* set before kmmap_buffer_alloc() */
	unsigned long nr_pages;		/* likewise */
	struct page **pages;		/* every page, in buffer order */
	void *vaddr;			/* vmalloc backing: the whole buffer */
	u32 max_chunk_pages;		/* longest run of consecutive PFNs */
};

int kmmap_buffer_alloc(struct kmmap_buffer *buf);
void kmmap_buffer_free(struct kmmap_buffer *buf);

static inline size_t kmmap_buffer_size(const struct kmmap_buffer *buf)
{
	return buf->nr_pages << PAGE_SHIFT;
}

/* Kernel address of byte @off; valid up to the end of its page. */
static inline void *kmmap_buffer_addr(const struct kmmap_buffer *buf,
				      size_t off)
{
	if (buf->backing == KMMAP_BACKING_VMALLOC)
		return buf->vaddr + off;
	/* GFP_KERNEL pages are never highmem: always in the direct map. */
	return page_address(buf->pages[off >> PAGE_SHIFT]) +
	       offset_in_page(off);
}

#endif /* KMMAP_BUFFER_H */
