// SPDX-License-Identifier: GPL-2.0-only
/*
 * The memory behind /dev/kmmap, in one of two backings:
 *   contig   runs of physically contiguous pages from alloc_pages(), split
 *            into independent order-0 pages (vm_insert_page() refuses the
 *            tail pages of an unsplit high-order block). Needed by devices
 *            that DMA into one physical range; large runs may be scarce.
 *   vmalloc  vmalloc_user(): any free pages, virtually contiguous in the
 *            kernel, zeroed and flagged VM_USERMAP. Easy to get in any size.
 * Either way every page is listed in buffer order, and counted in
 * pages_held (main.c) from allocation to freeing.
 */

#include <linux/gfp.h>
#include <linux/log2.h>
#include <linux/mm.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>

#include "buffer.h"
#include "compat.h"
#include "kmmap_internal.h"

/* Longest run of consecutive PFNs, for KMMAP_IOC_INFO. */
static u32 kmmap_longest_run(const struct kmmap_buffer *buf)
{
	unsigned long i, run = 1, best = 1;

	for (i = 1; i < buf->nr_pages; i++) {
		if (page_to_pfn(buf->pages[i]) ==
		    page_to_pfn(buf->pages[i - 1]) + 1)
			run++;
		else
			run = 1;
		best = max(best, run);
	}
	return min_t(unsigned long, best, U32_MAX);
}

/* Frees the first @count pages of a contig buffer. */
static void kmmap_free_contig(struct kmmap_buffer *buf, unsigned long count)
{
	unsigned long i;

	for (i = 0; i < count; i++)
		__free_page(buf->pages[i]);
	kmmap_pages_freed(count);
}

/*
 * The largest blocks the allocator will give without a fight (no retries,
 * no warning), down to single pages, each split so that every page carries
 * its own reference count.
 */
static int kmmap_alloc_contig(struct kmmap_buffer *buf)
{
	unsigned long nr = buf->nr_pages, i = 0;

	while (i < nr) {
		unsigned int order = min_t(unsigned int, ilog2(nr - i),
					   KMMAP_MAX_ORDER);
		struct page *page;
		unsigned long j;

		for (;;) {
			gfp_t gfp = GFP_KERNEL | __GFP_ZERO | __GFP_NOWARN;

			if (order)
				gfp |= __GFP_NORETRY;
			page = alloc_pages(gfp, order);
			if (page || !order)
				break;
			order--;
		}
		if (!page) {
			kmmap_free_contig(buf, i);
			return -ENOMEM;
		}
		split_page(page, order);
		kmmap_pages_alloced(1UL << order);
		for (j = 0; j < (1UL << order); j++)
			buf->pages[i + j] = page + j;
		i += 1UL << order;
		cond_resched();
	}
	return 0;
}

static int kmmap_alloc_vmalloc(struct kmmap_buffer *buf)
{
	unsigned long i;

	buf->vaddr = vmalloc_user(kmmap_buffer_size(buf));
	if (!buf->vaddr)
		return -ENOMEM;
	kmmap_pages_alloced(buf->nr_pages);
	for (i = 0; i < buf->nr_pages; i++)
		buf->pages[i] = vmalloc_to_page(buf->vaddr + (i << PAGE_SHIFT));
	return 0;
}

/* Allocates @buf->nr_pages pages of @buf->backing memory, all zeroed. */
int kmmap_buffer_alloc(struct kmmap_buffer *buf)
{
	int err;

	buf->pages = kvcalloc(buf->nr_pages, sizeof(*buf->pages), GFP_KERNEL);
	if (!buf->pages)
		return -ENOMEM;

	if (buf->backing == KMMAP_BACKING_VMALLOC)
		err = kmmap_alloc_vmalloc(buf);
	else
		err = kmmap_alloc_contig(buf);
	if (err) {
		kvfree(buf->pages);
		return err;
	}
	buf->max_chunk_pages = kmmap_longest_run(buf);
	return 0;
}

void kmmap_buffer_free(struct kmmap_buffer *buf)
{
	if (buf->backing == KMMAP_BACKING_VMALLOC) {
		vfree(buf->vaddr);
		kmmap_pages_freed(buf->nr_pages);
	} else {
		kmmap_free_contig(buf, buf->nr_pages);
	}
	kvfree(buf->pages);
}
