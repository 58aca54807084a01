// SPDX-License-Identifier: MIT
/*
 * A process whose memory is in known states, for tests that read its
 * pagemap from outside (by pid). Usage: pagemap_target FILE (a file of at
 * least 4 pages). Prints one JSON line with each region's address and what
 * could be set up on this kernel, then waits until stdin closes.
 *
 *   softDirty    2 pages written, clear_refs "4", then page 0 written again
 *                (kept from merging with later mappings: see main)
 *   privateAnon  8 pages, 0-3 written, 4-7 untouched; the written pages are
 *                on the LRU (written on one CPU, whose batch of new pages
 *                MADV_COLD then drains), so kpageflags shows lru
 *   sharedAnon   4 pages MAP_SHARED, page 0 written
 *   file         FILE's first 4 pages MAP_SHARED, page 0 read
 *   zero         2 pages, page 0 read only (the shared zero page)
 *   guard        4 pages, 0 and 3 written, 1-2 MADV_GUARD_INSTALL (6.13+)
 *   uffd         2 pages written, page 0 write-protected by userfaultfd
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102
#endif
#ifndef MADV_COLD
#define MADV_COLD 20
#endif
#ifndef UFFD_USER_MODE_ONLY
#define UFFD_USER_MODE_ONLY 1
#endif

static long page;

static char *anon(int pages, int flags)
{
	char *p = mmap(NULL, pages * page, PROT_READ | PROT_WRITE,
		       flags | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED) {
		perror("mmap");
		exit(1);
	}
	return p;
}

static int clear_soft_dirty(void)
{
	int fd = open("/proc/self/clear_refs", O_WRONLY);
	int ok = fd >= 0 && write(fd, "4", 1) == 1;

	if (fd >= 0)
		close(fd);
	return ok;
}

/* Write-protects the first page of p (2 pages) through userfaultfd. */
static int uffd_protect(char *p)
{
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg = {
		.range = { .start = (unsigned long)p, .len = 2 * page },
		.mode = UFFDIO_REGISTER_MODE_WP,
	};
	struct uffdio_writeprotect wp = {
		.range = { .start = (unsigned long)p, .len = page },
		.mode = UFFDIO_WRITEPROTECT_MODE_WP,
	};
	/* User-mode only: allowed without privilege since Linux 5.11. */
	int fd = syscall(SYS_userfaultfd, O_CLOEXEC | UFFD_USER_MODE_ONLY);

	if (fd < 0)
		return 0;
	/* The fd stays open: closing it would drop the protection. */
	return ioctl(fd, UFFDIO_API, &api) == 0 &&
	       ioctl(fd, UFFDIO_REGISTER, &reg) == 0 &&
	       ioctl(fd, UFFDIO_WRITEPROTECT, &wp) == 0;
}

int main(int argc, char **argv)
{
	char *soft_dirty, *private_anon, *shared_anon, *file, *zero, *guard, *uffd;
	int clear_refs, guard_installed, uffd_protected, pinned, drained, fd, cpu;
	cpu_set_t cpus;
	volatile char sink;
	char buf[16];

	page = sysconf(_SC_PAGESIZE);
	if (argc != 2) {
		fprintf(stderr, "usage: %s FILE\n", argv[0]);
		return 2;
	}

	/*
	 * First, because clear_refs acts on the whole process. Mappings made
	 * after it are soft-dirty as a whole; MADV_DONTFORK gives this one
	 * different flags, so that none of them merges into it.
	 */
	soft_dirty = anon(2, MAP_PRIVATE);
	madvise(soft_dirty, 2 * page, MADV_DONTFORK);
	soft_dirty[0] = 1;
	soft_dirty[page] = 1;
	clear_refs = clear_soft_dirty();
	soft_dirty[0] = 2;

	/*
	 * New pages reach the LRU through a per-CPU batch; MADV_COLD drains
	 * the batch of the CPU it runs on, so write and drain on one CPU.
	 */
	CPU_ZERO(&cpus);
	sched_getaffinity(0, sizeof(cpus), &cpus);
	for (cpu = 0; !CPU_ISSET(cpu, &cpus); cpu++)
		;
	CPU_ZERO(&cpus);
	CPU_SET(cpu, &cpus);
	pinned = sched_setaffinity(0, sizeof(cpus), &cpus) == 0;
	private_anon = anon(8, MAP_PRIVATE);
	memset(private_anon, 1, 4 * page);
	drained = madvise(private_anon, 4 * page, MADV_COLD) == 0;

	shared_anon = anon(4, MAP_SHARED);
	shared_anon[0] = 1;

	fd = open(argv[1], O_RDONLY);
	if (fd < 0) {
		perror(argv[1]);
		return 1;
	}
	file = mmap(NULL, 4 * page, PROT_READ, MAP_SHARED, fd, 0);
	if (file == MAP_FAILED) {
		perror("mmap file");
		return 1;
	}
	close(fd);
	sink = file[0];

	zero = anon(2, MAP_PRIVATE);
	sink = zero[0];
	(void)sink;

	guard = anon(4, MAP_PRIVATE);
	guard[0] = 1;
	guard[3 * page] = 1;
	guard_installed = madvise(guard + page, 2 * page, MADV_GUARD_INSTALL) == 0;

	uffd = anon(2, MAP_PRIVATE);
	uffd[0] = 1;
	uffd[page] = 1;
	uffd_protected = uffd_protect(uffd);

	/*
	 * A first, empty read faults in the code and stack the wait below
	 * uses: after the report, no page of this process changes.
	 */
	if (read(0, buf, 0) < 0)
		perror("read");
	printf("{\"pid\":%d,\"pageSize\":%ld,\"softDirty\":\"%p\",\"clearRefs\":%s,"
	       "\"privateAnon\":\"%p\",\"sharedAnon\":\"%p\",\"file\":\"%p\","
	       "\"zero\":\"%p\",\"guard\":\"%p\",\"guardInstalled\":%s,"
	       "\"uffd\":\"%p\",\"uffdProtected\":%s,\"lruDrained\":%s}\n",
	       getpid(), page, soft_dirty, clear_refs ? "true" : "false",
	       private_anon, shared_anon, file, zero, guard,
	       guard_installed ? "true" : "false", uffd,
	       uffd_protected ? "true" : "false",
	       pinned && drained ? "true" : "false");
	fflush(stdout);

	while (read(0, buf, sizeof(buf)) > 0)
		;
	return 0;
}
