// SPDX-License-Identifier: MIT
/* Prints kernel/uapi/linux/kmmap.h as JSON, for test/host/uapi.test.ts. */
#include <stddef.h>
#include <stdio.h>

#include <linux/kmmap.h>

#define FIELD(type, f) printf("%s\"%s\":%zu", first++ ? "," : "", #f, offsetof(struct type, f))

int main(void)
{
	int first;

	printf("{\"ioctls\":{\"LKMC_MMAP_IOC_PHYS_ADDR\":%lu,\"KMMAP_IOC_INFO\":%lu,"
	       "\"KMMAP_IOC_SET_METHOD\":%lu,\"KMMAP_IOC_PFNS\":%lu,"
	       "\"KMMAP_IOC_FILL\":%lu,\"KMMAP_IOC_CHECKSUM\":%lu},",
	       (unsigned long)LKMC_MMAP_IOC_PHYS_ADDR, (unsigned long)KMMAP_IOC_INFO,
	       (unsigned long)KMMAP_IOC_SET_METHOD, (unsigned long)KMMAP_IOC_PFNS,
	       (unsigned long)KMMAP_IOC_FILL, (unsigned long)KMMAP_IOC_CHECKSUM);
	printf("\"magic\":%d,\"fillAddOffset\":%u,", KMMAP_IOC_MAGIC, (unsigned int)KMMAP_FILL_ADD_OFFSET);
	printf("\"backings\":[%d,%d],", KMMAP_BACKING_CONTIG, KMMAP_BACKING_VMALLOC);
	printf("\"methods\":[%d,%d,%d,%d,%d],\"methodCount\":%d,", KMMAP_METHOD_FAULT,
	       KMMAP_METHOD_FAULT_AROUND, KMMAP_METHOD_PAGES, KMMAP_METHOD_PFN,
	       KMMAP_METHOD_VMALLOC, KMMAP_METHOD_COUNT);

	printf("\"info\":{\"size\":%zu,\"offsets\":{", sizeof(struct kmmap_info));
	first = 0;
	FIELD(kmmap_info, size); FIELD(kmmap_info, page_size); FIELD(kmmap_info, backing);
	FIELD(kmmap_info, method); FIELD(kmmap_info, methods); FIELD(kmmap_info, max_chunk_pages);
	FIELD(kmmap_info, mappings);
	printf("}},\"pfns\":{\"size\":%zu,\"offsets\":{", sizeof(struct kmmap_pfns));
	first = 0;
	FIELD(kmmap_pfns, first); FIELD(kmmap_pfns, count); FIELD(kmmap_pfns, pfns);
	printf("}},\"fill\":{\"size\":%zu,\"offsets\":{", sizeof(struct kmmap_fill));
	first = 0;
	FIELD(kmmap_fill, offset); FIELD(kmmap_fill, length); FIELD(kmmap_fill, pattern);
	FIELD(kmmap_fill, pattern_len); FIELD(kmmap_fill, flags);
	printf("}},\"checksum\":{\"size\":%zu,\"offsets\":{", sizeof(struct kmmap_checksum));
	first = 0;
	FIELD(kmmap_checksum, offset); FIELD(kmmap_checksum, length); FIELD(kmmap_checksum, crc32);
	FIELD(kmmap_checksum, reserved);
	printf("}}}\n");
	return 0;
}
