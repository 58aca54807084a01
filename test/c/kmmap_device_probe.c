// SPDX-License-Identifier: MIT
/*
 * An independent check of /dev/kmmap's mmap rules, written against the
 * uapi header only. For every method the loaded backing allows, it maps the
 * device at assorted offsets and lengths, in and out of range, and checks
 * that each request gets exactly the documented outcome:
 *
 *   offset at or past the end          ENXIO
 *   range running past the end         EINVAL
 *   MAP_PRIVATE                        EINVAL
 *   offset not page-aligned, length 0  EINVAL (the core's own checks)
 *   in range                           maps the buffer's own bytes there
 *
 * and the lifetime rules: mremap cannot grow (EFAULT) but can shrink and
 * move, partial munmap keeps the rest, a PROT_READ mapping cannot gain
 * PROT_WRITE (EACCES), fork shares the buffer, MADV_DONTNEED refaults the
 * same bytes (EINVAL on a pfn mapping), and the mapping count returns to
 * where it started.
 *
 * Usage: kmmap_device_probe [/dev/kmmap]. Prints one line per method and
 * exits 0 only if every case passed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/kmmap.h>

#define PATTERN 0x6b6d6d6170000000ULL	/* "kmmap" in the high bytes */

static const char *const method_names[] = {
	"fault", "fault_around", "pages", "pfn", "vmalloc",
};

static int fd;
static long page;
static uint64_t nr_pages;
static unsigned int failures, cases;
static unsigned int baseline_mappings;	/* other processes' mappings */

#define CHECK(cond, ...)						\
	do {								\
		cases++;						\
		if (!(cond)) {						\
			failures++;					\
			fprintf(stderr, "FAIL %s:%d: ", __func__, __LINE__); \
			fprintf(stderr, __VA_ARGS__);			\
			fputc('\n', stderr);				\
		}							\
	} while (0)

static struct kmmap_info info(void)
{
	struct kmmap_info i;

	if (ioctl(fd, KMMAP_IOC_INFO, &i)) {
		perror("KMMAP_IOC_INFO");
		exit(2);
	}
	return i;
}

/* Every word the kernel filled holds PATTERN + its byte offset. */
static int bytes_ok(const char *p, uint64_t first_page, uint64_t pages)
{
	uint64_t i;

	for (i = 0; i < pages; i++) {
		uint64_t off = (first_page + i) * page;
		uint64_t w0, wl;

		memcpy(&w0, p + i * page, 8);
		memcpy(&wl, p + i * page + page - 8, 8);
		if (w0 != PATTERN + off || wl != PATTERN + off + page - 8)
			return 0;
	}
	return 1;
}

/* The documented outcome of mmap(offset pages, length pages). */
static int expected_errno(uint64_t off_pages, uint64_t len_pages)
{
	if (off_pages >= nr_pages)
		return ENXIO;
	if (len_pages > nr_pages - off_pages)
		return EINVAL;
	return 0;
}

static void probe_range(uint64_t off_pages, uint64_t len_pages)
{
	int want = expected_errno(off_pages, len_pages);
	char *p = mmap(NULL, len_pages * page, PROT_READ, MAP_SHARED, fd,
		       off_pages * page);
	int got = p == MAP_FAILED ? errno : 0;

	CHECK(got == want, "offset %" PRIu64 " pages, length %" PRIu64
	      " pages: errno %d (%s), want %d (%s)", off_pages, len_pages,
	      got, strerror(got), want, strerror(want));
	if (p == MAP_FAILED)
		return;
	CHECK(bytes_ok(p, off_pages, len_pages),
	      "offset %" PRIu64 " pages: wrong bytes", off_pages);
	munmap(p, len_pages * page);
}

static void probe_ranges(void)
{
	uint64_t n = nr_pages, seed = 42;
	int i;

	/* The edges. */
	probe_range(0, 1);
	probe_range(0, n);
	probe_range(n - 1, 1);
	probe_range(n - 1, 2);
	probe_range(0, n + 1);
	probe_range(1, n);
	probe_range(n, 1);
	probe_range(n + 1, 1);
	probe_range(1ULL << 30, 1);
	/* The largest offset the core lets through to a driver. */
	probe_range((UINT64_MAX >> 12) / 2, 1);

	/* And a deterministic spread in between, half of it out of range. */
	for (i = 0; i < 200; i++) {
		uint64_t off, len;

		seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
		off = (seed >> 33) % (n + 4);
		seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
		len = 1 + (seed >> 33) % (i % 2 ? n + 4 : (n - off % n));
		probe_range(off, len);
	}
}

static void probe_bad_requests(void)
{
	void *p;

	p = mmap(NULL, page, PROT_READ, MAP_PRIVATE, fd, 0);
	CHECK(p == MAP_FAILED && errno == EINVAL, "MAP_PRIVATE: %s",
	      p == MAP_FAILED ? strerror(errno) : "mapped");
	if (p != MAP_FAILED)
		munmap(p, page);

	p = mmap(NULL, page, PROT_READ, MAP_SHARED, fd, page / 2);
	CHECK(p == MAP_FAILED && errno == EINVAL, "unaligned offset: %s",
	      p == MAP_FAILED ? strerror(errno) : "mapped");

	p = mmap(NULL, 0, PROT_READ, MAP_SHARED, fd, 0);
	CHECK(p == MAP_FAILED && errno == EINVAL, "length 0: %s",
	      p == MAP_FAILED ? strerror(errno) : "mapped");
}

static void probe_lifetime(int method)
{
	size_t len = 4 * page;
	char *p, *q, *r;
	pid_t child;
	int status;

	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	CHECK(p != MAP_FAILED, "mmap 4 pages: %s", strerror(errno));
	if (p == MAP_FAILED)
		return;

	/* Growth is refused; the mapping is left as it was. */
	q = mremap(p, len, 2 * len, MREMAP_MAYMOVE);
	CHECK(q == MAP_FAILED && errno == EFAULT, "mremap grow: %s",
	      q == MAP_FAILED ? strerror(errno) : "grew");

	/* Move it, then drop its two middle pages. */
	r = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	q = mremap(p, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, r);
	CHECK(q == r, "mremap move: %s", strerror(errno));
	if (q != r) {
		munmap(r, len);
		q = p;
	}
	CHECK(bytes_ok(q, 0, 4), "bytes after the move");
	CHECK(munmap(q + page, 2 * page) == 0, "partial munmap: %s",
	      strerror(errno));
	CHECK(bytes_ok(q, 0, 1) && bytes_ok(q + 3 * page, 3, 1),
	      "bytes around the hole");
	CHECK(info().mappings == baseline_mappings + 2,
	      "two VMAs after the hole, got %u", info().mappings);
	CHECK(munmap(q, page) == 0 && munmap(q + 3 * page, page) == 0,
	      "munmap the pieces: %s", strerror(errno));

	/* Shrinking keeps the head. */
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	q = mremap(p, len, page, 0);
	CHECK(q == p, "mremap shrink: %s", strerror(errno));
	CHECK(bytes_ok(q, 0, 1), "bytes after the shrink");
	munmap(q, page);

	/* fork() shares the buffer: the child's write is the parent's. */
	p = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	child = fork();
	if (child == 0) {
		memcpy(p + 64, "child", 5);
		_exit(0);
	}
	waitpid(child, &status, 0);
	CHECK(WIFEXITED(status) && !memcmp(p + 64, "child", 5),
	      "fork: parent does not see the child's write");
	memcpy(p + 64, &(uint64_t){ PATTERN + 64 }, 8);
	munmap(p, page);

	/* A read-only mapping stays read-only. */
	p = mmap(NULL, page, PROT_READ, MAP_SHARED, fd, 0);
	CHECK(mprotect(p, page, PROT_READ | PROT_WRITE) == -1 &&
	      errno == EACCES, "mprotect upgrade: %s",
	      strerror(errno));
	munmap(p, page);

	/* Zapped PTEs come back as the same bytes. */
	p = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (method == KMMAP_METHOD_PFN) {
		CHECK(madvise(p, 2 * page, MADV_DONTNEED) == -1 &&
		      errno == EINVAL, "MADV_DONTNEED on pfn: %s",
		      strerror(errno));
	} else {
		CHECK(madvise(p, 2 * page, MADV_DONTNEED) == 0,
		      "MADV_DONTNEED: %s", strerror(errno));
		CHECK(bytes_ok(p, 0, 2), "bytes after MADV_DONTNEED");
	}
	munmap(p, 2 * page);
}

int main(int argc, char **argv)
{
	const char *path = argc > 1 ? argv[1] : "/dev/kmmap";
	struct kmmap_fill fill = { 0 };
	struct kmmap_info i;
	__u32 m;

	page = sysconf(_SC_PAGESIZE);
	fd = open(path, O_RDWR);
	if (fd < 0) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return 2;
	}
	i = info();
	nr_pages = i.size / page;
	baseline_mappings = i.mappings;
	fill.length = i.size;
	fill.pattern = PATTERN;
	fill.pattern_len = 8;
	fill.flags = KMMAP_FILL_ADD_OFFSET;
	if (ioctl(fd, KMMAP_IOC_FILL, &fill)) {
		perror("KMMAP_IOC_FILL");
		return 2;
	}

	for (m = 0; m < KMMAP_METHOD_COUNT; m++) {
		unsigned int before = failures, start = cases;
		int rc = ioctl(fd, KMMAP_IOC_SET_METHOD, &m);

		if (!(i.methods & (1U << m))) {
			CHECK(rc == -1 && errno == EOPNOTSUPP,
			      "method %s on this backing: %s", method_names[m],
			      rc ? strerror(errno) : "accepted");
			continue;
		}
		CHECK(rc == 0, "set method %s: %s", method_names[m],
		      strerror(errno));
		probe_ranges();
		probe_bad_requests();
		probe_lifetime(m);
		CHECK(info().mappings == baseline_mappings,
		      "%u mappings left, %u before", info().mappings,
		      baseline_mappings);
		printf("%s: %u cases, %u failed\n", method_names[m],
		       cases - start, failures - before);
	}
	m = KMMAP_METHOD_COUNT;
	CHECK(ioctl(fd, KMMAP_IOC_SET_METHOD, &m) == -1 && errno == EINVAL,
	      "unknown method: %s", strerror(errno));

	printf("%u cases, %u failed\n", cases, failures);
	return failures ? 1 : 0;
}
