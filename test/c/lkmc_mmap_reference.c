// SPDX-License-Identifier: MIT
/*
 * The reference scenario in C, against /proc/lkmc_mmap (or argv[1]):
 * open, map one page twice, check coherence through both mappings, pagemap,
 * read(2) and write(2), then unmap and close. Exits non-zero on the first
 * failed check, naming it.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define CHECK(cond)                                                        \
	do {                                                               \
		if (!(cond)) {                                             \
			fprintf(stderr, "check failed at line %d: %s\n",   \
				__LINE__, #cond);                          \
			exit(1);                                           \
		}                                                          \
	} while (0)

/* Physical address of a virtual one, through /proc/self/pagemap. */
static uint64_t physical_address(const void *virt, long page_size)
{
	uint64_t entry = 0;
	uintptr_t addr = (uintptr_t)virt;
	int fd = open("/proc/self/pagemap", O_RDONLY);

	CHECK(fd >= 0);
	CHECK(pread(fd, &entry, sizeof(entry),
		    (off_t)(addr / page_size * sizeof(entry))) == sizeof(entry));
	close(fd);
	CHECK(entry & (1ULL << 63));	/* present */
	return (entry & ((1ULL << 55) - 1)) * page_size + addr % page_size;
}

int main(int argc, char **argv)
{
	const char *path = argc > 1 ? argv[1] : "/proc/lkmc_mmap";
	long page_size = sysconf(_SC_PAGESIZE);
	char buf[4];
	char *map1, *map2;
	uint64_t paddr1, paddr2;
	int fd;

	printf("open pathname = %s\n", path);
	fd = open(path, O_RDWR | O_SYNC);
	CHECK(fd >= 0);
	printf("fd = %d\n", fd);

	puts("mmap 1");
	map1 = mmap(NULL, page_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	CHECK(map1 != MAP_FAILED);
	puts("mmap 2");
	map2 = mmap(NULL, page_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	CHECK(map2 != MAP_FAILED);
	CHECK(map1 != map2);

	puts("access 1");
	CHECK(strcmp(map1, "asdf") == 0);
	puts("access 2");
	CHECK(strcmp(map2, "asdf") == 0);
	strcpy(map1, "qwer");
	CHECK(strcmp(map2, "qwer") == 0);

	paddr1 = physical_address(map1, page_size);
	paddr2 = physical_address(map2, page_size);
	printf("paddr1 = 0x%" PRIx64 "\n", paddr1);
	printf("paddr2 = 0x%" PRIx64 "\n", paddr2);
	CHECK(paddr1 == paddr2);
	CHECK(paddr1 != 0);

	/* The kernel sees what user space wrote through the mapping... */
	CHECK(read(fd, buf, sizeof(buf)) == sizeof(buf));
	CHECK(memcmp(buf, "qwer", sizeof(buf)) == 0);
	/* ...and user space sees what the kernel wrote (at byte 0). */
	CHECK(write(fd, "zxcv", 4) == 4);
	CHECK(strcmp(map1, "zxcv") == 0);
	CHECK(strcmp(map2, "zxcv") == 0);

	puts("munmap 1");
	CHECK(munmap(map1, page_size) == 0);
	puts("munmap 2");
	CHECK(munmap(map2, page_size) == 0);
	puts("close");
	CHECK(close(fd) == 0);
	return 0;
}
