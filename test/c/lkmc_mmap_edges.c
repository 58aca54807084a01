// SPDX-License-Identifier: MIT
/*
 * /proc/lkmc_mmap behaviour Node cannot reach directly: lseek, and mmap
 * requests the module must refuse. Exits non-zero on the first failed
 * check, naming it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define CHECK(cond)                                                        \
	do {                                                               \
		if (!(cond)) {                                             \
			fprintf(stderr, "check failed at line %d: %s "     \
				"(errno %d)\n", __LINE__, #cond, errno);   \
			exit(1);                                           \
		}                                                          \
	} while (0)

int main(void)
{
	long page_size = sysconf(_SC_PAGESIZE);
	char buf[8] = { 0 };
	void *p;
	int fd = open("/proc/lkmc_mmap", O_RDWR);

	CHECK(fd >= 0);

	/* lseek moves within the 4-byte message, and no further. */
	CHECK(lseek(fd, 2, SEEK_SET) == 2);
	CHECK(read(fd, buf, sizeof(buf)) == 2 && memcmp(buf, "df", 2) == 0);
	CHECK(lseek(fd, 0, SEEK_CUR) == 4);
	CHECK(read(fd, buf, sizeof(buf)) == 0);
	CHECK(lseek(fd, -1, SEEK_END) == 3);
	CHECK(read(fd, buf, 1) == 1 && buf[0] == 'f');
	errno = 0;
	CHECK(lseek(fd, 5, SEEK_SET) == -1 && errno == EINVAL);
	errno = 0;
	CHECK(lseek(fd, -1, SEEK_SET) == -1 && errno == EINVAL);

	/* A write lands at byte 0 whatever the position. */
	CHECK(lseek(fd, 3, SEEK_SET) == 3);
	CHECK(write(fd, "QW", 2) == 2);
	CHECK(pread(fd, buf, 4, 0) == 4 && memcmp(buf, "QWdf", 4) == 0);

	/* Only one page at offset 0 exists. */
	errno = 0;
	p = mmap(NULL, 2 * page_size, PROT_READ, MAP_SHARED, fd, 0);
	CHECK(p == MAP_FAILED && errno == EINVAL);
	errno = 0;
	p = mmap(NULL, page_size, PROT_READ, MAP_SHARED, fd, page_size);
	CHECK(p == MAP_FAILED && errno == EINVAL);

	/* The mapping cannot grow (VM_DONTEXPAND). */
	p = mmap(NULL, page_size, PROT_READ, MAP_SHARED, fd, 0);
	CHECK(p != MAP_FAILED);
	errno = 0;
	CHECK(mremap(p, page_size, 2 * page_size, MREMAP_MAYMOVE) == MAP_FAILED);
	CHECK(errno == EFAULT || errno == EINVAL);
	CHECK(memcmp(p, "QWdf", 4) == 0);
	CHECK(munmap(p, page_size) == 0);

	CHECK(close(fd) == 0);
	puts("edges ok");
	return 0;
}
