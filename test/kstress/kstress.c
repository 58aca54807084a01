// SPDX-License-Identifier: MIT
/*
 * Stress for kmmap.ko: many processes open, map, touch, fork, mremap,
 * unmap and close its files over and over, so that a page or a reference
 * lost on any path adds up to something test/kstress/run.sh can see.
 *
 * Each process runs --cycles cycles. Cycle c of process p uses target
 * (p + c) % T, where the targets are every mapping method the loaded
 * buffer allows (KMMAP_IOC_INFO: fault, fault_around, pages and pfn on a
 * contig buffer; fault, fault_around, pages and vmalloc on a vmalloc one)
 * and /proc/lkmc_mmap. One cycle:
 *
 *   /dev/kmmap      open, KMMAP_IOC_SET_METHOD, mmap 1 to 8 pages at a
 *                   random page of this process's own slice of the buffer
 *                   (the slices do not overlap, so what a process finds
 *                   there is what it last wrote), check every page holds
 *                   what was last written there, write a new pattern over
 *                   every page and read it back; every 16th cycle compare
 *                   the kernel's KMMAP_IOC_CHECKSUM with our own CRC-32.
 *   /proc/lkmc_mmap open, mmap its page, check "asdf" and zeros, write
 *                   the page and read it back, read() sees the mapping,
 *                   write() is seen through the mapping; now and then a
 *                   second mapping of the same file must show the same
 *                   bytes, and a two-page mapping must fail with EINVAL.
 *
 * Mixed in, on either target: fork (every --fork-every cycles; the child
 * checks the inherited mapping, writes its own pattern and exits; the
 * parent then finds the child's pattern: MAP_SHARED), and mremap (every
 * --mremap-every cycles): shrink by at least a page where the mapping has
 * more than one, grow (refused: these mappings are VM_DONTEXPAND, and
 * mremap documents EFAULT for that, with or without MREMAP_MAYMOVE), and
 * move to a new address with MREMAP_FIXED, checking the bytes there.
 * Half of the cycles close the file before unmapping, so that the mapping
 * alone keeps the memory alive until munmap.
 *
 * Any unexpected result is counted and its first message kept; a worker
 * killed by a signal (SIGBUS, SIGSEGV) counts too. Prints counts per target
 * and in all, and exits 0 when nothing failed, 1 when something did, 2 on a
 * usage or setup error. Written against the uapi header only.
 *
 * Usage: kstress [--procs N] [--cycles N] [--fork-every N]
 *                [--mremap-every N] [--seed N]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/kmmap.h>

#define DEVICE_PATH	"/dev/kmmap"
#define LKMC_PATH	"/proc/lkmc_mmap"
#define MAX_WINDOW	8		/* pages per /dev/kmmap mapping */
#define WORD_STRIDE	8		/* one 64-bit word per 64-byte line */
#define CHECKSUM_EVERY	16
#define PROGRESS_EVERY	1000
#define MAX_PROCS	256
#define TARGET_LKMC	KMMAP_METHOD_COUNT	/* after the method numbers */
#define NR_TARGETS	(KMMAP_METHOD_COUNT + 1)

static const char *const target_names[NR_TARGETS] = {
	[KMMAP_METHOD_FAULT]		= "fault",
	[KMMAP_METHOD_FAULT_AROUND]	= "fault_around",
	[KMMAP_METHOD_PAGES]		= "pages",
	[KMMAP_METHOD_PFN]		= "pfn",
	[KMMAP_METHOD_VMALLOC]		= "vmalloc",
	[TARGET_LKMC]			= "lkmc_mmap",
};

/* Counts of one worker, in memory every process shares with the parent. */
struct worker_stats {
	unsigned long cycles[NR_TARGETS];
	unsigned long pages_touched;
	unsigned long checksums;
	unsigned long forks;
	unsigned long shrinks;
	unsigned long grows_refused;
	unsigned long moves;
	unsigned long close_first;
	unsigned long failures;
	char first_failure[200];
};

static long page;
static unsigned long buffer_pages;
static int targets[NR_TARGETS], nr_targets;
static unsigned long opt_procs = 16, opt_cycles = 10000;
static unsigned long opt_fork_every = 10, opt_mremap_every = 3;
static unsigned long opt_seed = 1;

/* This worker's state. */
static struct worker_stats *me;
static unsigned long me_index;
static uint64_t rnd;
static unsigned long slice_first, slice_pages;
/* Per page of the slice: the tag last written there, 0 if none yet. */
static uint64_t *slice_tags;

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void fail(const char *fmt, ...)
{
	va_list ap;

	if (!me->failures++) {
		int n = snprintf(me->first_failure, sizeof(me->first_failure),
				 "process %lu: ", me_index);

		va_start(ap, fmt);
		vsnprintf(me->first_failure + n,
			  sizeof(me->first_failure) - n, fmt, ap);
		va_end(ap);
	}
}

static void die(const char *what)
{
	fprintf(stderr, "kstress: %s: %s\n", what, strerror(errno));
	exit(2);
}

static uint64_t next_random(void)
{
	rnd ^= rnd << 13;
	rnd ^= rnd >> 7;
	rnd ^= rnd << 17;
	return rnd;
}

/* ---------------------------------------------------------- patterns */

/* The word at byte @off of a page that buffer page @pg holds with @tag. */
static uint64_t pattern(uint64_t tag, unsigned long pg, size_t off)
{
	return tag ^ ((uint64_t)pg << 16) ^ off;
}

static void fill_page(uint8_t *p, uint64_t tag, unsigned long pg)
{
	size_t off;

	for (off = 0; off < (size_t)page; off += 8 * WORD_STRIDE)
		*(volatile uint64_t *)(p + off) = pattern(tag, pg, off);
}

/* Checks one page; says what differs (once per page) and returns 0 if so. */
static int check_page(const uint8_t *p, uint64_t tag, unsigned long pg,
		      const char *when)
{
	size_t off;

	for (off = 0; off < (size_t)page; off += 8 * WORD_STRIDE) {
		uint64_t v = *(volatile const uint64_t *)(p + off);

		if (v != pattern(tag, pg, off)) {
			fail("%s: page %lu offset %zu holds %#llx, not %#llx",
			     when, pg, off, (unsigned long long)v,
			     (unsigned long long)pattern(tag, pg, off));
			return 0;
		}
	}
	return 1;
}

/* A tag no other write of any process uses: process, cycle, step. */
static uint64_t new_tag(unsigned long cycle, unsigned int step)
{
	return ((uint64_t)(me_index + 1) << 56) ^ ((uint64_t)cycle << 8) ^
	       step ^ 0x6b6d6d6170000000ULL;
}

/* zlib's CRC-32, as KMMAP_IOC_CHECKSUM computes it. */
static uint32_t crc_table[256];

static void crc_init(void)
{
	uint32_t i, k, c;

	for (i = 0; i < 256; i++) {
		for (c = i, k = 0; k < 8; k++)
			c = c & 1 ? 0xedb88320U ^ (c >> 1) : c >> 1;
		crc_table[i] = c;
	}
}

static uint32_t crc32_of(const uint8_t *p, size_t len)
{
	uint32_t c = ~0U;

	while (len--)
		c = crc_table[(c ^ *p++) & 0xff] ^ (c >> 8);
	return ~c;
}

/* ------------------------------------------------------- shared steps */

/*
 * Forks a child that checks @pages pages at @p (buffer pages from @pg, each
 * holding tags[i]), writes @child_tag over them and exits; then checks the
 * child's writes from here. Returns 0 if anything failed.
 */
static int fork_and_touch(uint8_t *p, unsigned long pages, unsigned long pg,
			  const uint64_t *tags, uint64_t child_tag)
{
	unsigned long i;
	int status, ok = 1;
	pid_t pid;

	pid = fork();
	if (pid < 0) {
		fail("fork: %s", strerror(errno));
		return 0;
	}
	if (!pid) {
		unsigned long before = me->failures;

		for (i = 0; i < pages; i++)
			if (tags[i])
				check_page(p + i * page, tags[i], pg + i,
					   "child, inherited mapping");
		for (i = 0; i < pages; i++)
			fill_page(p + i * page, child_tag, pg + i);
		_exit(me->failures == before ? 0 : 1);
	}
	me->forks++;
	if (waitpid(pid, &status, 0) < 0) {
		fail("waitpid: %s", strerror(errno));
		return 0;
	}
	if (WIFSIGNALED(status)) {
		fail("forked child killed by signal %d", WTERMSIG(status));
		return 0;
	}
	if (WEXITSTATUS(status))
		return 0;	/* the child recorded why */
	for (i = 0; i < pages; i++)
		ok &= check_page(p + i * page, child_tag, pg + i,
				 "parent, after the child wrote");
	return ok;
}

/*
 * Growing must fail with EFAULT (VM_DONTEXPAND), in place or moving.
 * Returns 0 if it did anything else.
 */
static int grow_refused(uint8_t *p, size_t len)
{
	static const int flags[] = { 0, MREMAP_MAYMOVE };
	unsigned int i;

	for (i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
		void *q = mremap(p, len, len + page, flags[i]);

		if (q != MAP_FAILED) {
			fail("mremap grew a VM_DONTEXPAND mapping (flags %d)",
			     flags[i]);
			munmap(q, len + page);
			return 0;
		}
		if (errno != EFAULT) {
			fail("mremap grow (flags %d): %s, not EFAULT",
			     flags[i], strerror(errno));
			return 0;
		}
	}
	me->grows_refused++;
	return 1;
}

/*
 * Moves the mapping at *@p (@len bytes) to a fresh address, reserved first
 * so that MREMAP_FIXED replaces nothing of ours. Returns 0 on failure, with
 * *@p unchanged.
 */
static int move_mapping(uint8_t **p, size_t len)
{
	void *to, *q;

	to = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (to == MAP_FAILED) {
		fail("mmap of a place to move to: %s", strerror(errno));
		return 0;
	}
	q = mremap(*p, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, to);
	if (q != to) {
		fail("mremap move: %s", q == MAP_FAILED ? strerror(errno) :
		     "landed elsewhere");
		munmap(to, len);
		return 0;
	}
	*p = q;
	me->moves++;
	return 1;
}

/* Unmaps and closes in the order the cycle chose. */
static void unmap_and_close(int close_first, int fd, void *p, size_t len)
{
	if (close_first) {
		me->close_first++;
		if (close(fd))
			fail("close: %s", strerror(errno));
	}
	if (munmap(p, len))
		fail("munmap: %s", strerror(errno));
	if (!close_first && close(fd))
		fail("close: %s", strerror(errno));
}

/* --------------------------------------------------------- /dev/kmmap */

static void device_cycle(unsigned long cycle, int method)
{
	unsigned long first, pages, i;
	uint64_t tags[MAX_WINDOW], tag;
	int fd, close_first = next_random() & 1;
	size_t len;
	uint8_t *p;
	__u32 how = method;

	first = next_random() % slice_pages;
	pages = 1 + next_random() % (slice_pages - first < MAX_WINDOW ?
				     slice_pages - first : MAX_WINDOW);
	len = pages * page;

	fd = open(DEVICE_PATH, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		fail("open %s: %s", DEVICE_PATH, strerror(errno));
		return;
	}
	if (ioctl(fd, KMMAP_IOC_SET_METHOD, &how)) {
		fail("SET_METHOD %s: %s", target_names[method],
		     strerror(errno));
		close(fd);
		return;
	}
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		 (off_t)(slice_first + first) * page);
	if (p == MAP_FAILED) {
		fail("mmap %s: %lu pages at page %lu: %s",
		     target_names[method], pages, slice_first + first,
		     strerror(errno));
		close(fd);
		return;
	}

	/* What the last write left, then a new pattern, read back. */
	for (i = 0; i < pages; i++)
		if (slice_tags[first + i])
			check_page(p + i * page, slice_tags[first + i],
				   slice_first + first + i, "mapped afresh");
	tag = new_tag(cycle, 0);
	for (i = 0; i < pages; i++) {
		fill_page(p + i * page, tag, slice_first + first + i);
		slice_tags[first + i] = tag;
		tags[i] = tag;
	}
	for (i = 0; i < pages; i++)
		check_page(p + i * page, tag, slice_first + first + i,
			   "just written");
	me->pages_touched += pages;

	/* The kernel reads the same bytes through its own address. */
	if (cycle % CHECKSUM_EVERY == 0) {
		struct kmmap_checksum sum = {
			.offset = (slice_first + first) * page,
			.length = len,
		};

		if (ioctl(fd, KMMAP_IOC_CHECKSUM, &sum))
			fail("CHECKSUM: %s", strerror(errno));
		else if (sum.crc32 != crc32_of(p, len))
			fail("%s: the kernel's CRC-32 %#x of %lu pages differs from the mapping's %#x",
			     target_names[method], sum.crc32, pages,
			     crc32_of(p, len));
		me->checksums++;
	}

	if (opt_fork_every && cycle % opt_fork_every == 0) {
		tag = new_tag(cycle, 1);
		if (fork_and_touch(p, pages, slice_first + first, tags, tag))
			for (i = 0; i < pages; i++)
				slice_tags[first + i] = tags[i] = tag;
		else
			/* Unknown now: do not check these pages again. */
			for (i = 0; i < pages; i++)
				slice_tags[first + i] = 0;
	}

	if (opt_mremap_every && cycle % opt_mremap_every == 0) {
		if (pages > 1) {
			unsigned long keep = 1 + next_random() % (pages - 1);
			void *q = mremap(p, len, keep * page, 0);

			if (q != p) {
				fail("mremap shrink %lu to %lu pages: %s",
				     pages, keep, q == MAP_FAILED ?
				     strerror(errno) : "moved");
			} else {
				pages = keep;
				len = keep * page;
				me->shrinks++;
			}
		}
		grow_refused(p, len);
		if (move_mapping(&p, len))
			for (i = 0; i < pages; i++)
				check_page(p + i * page, tags[i],
					   slice_first + first + i, "moved");
	}

	unmap_and_close(close_first, fd, p, len);
}

/* ---------------------------------------------------- /proc/lkmc_mmap */

/* A fresh page: "asdf", then zeros. */
static void check_fresh_lkmc(const uint8_t *p)
{
	long i;

	if (memcmp(p, "asdf", 4)) {
		fail("lkmc_mmap: a new page starts with %.4s, not asdf", p);
		return;
	}
	for (i = 4; i < page; i++)
		if (p[i]) {
			fail("lkmc_mmap: a new page has %#x at byte %ld", p[i],
			     i);
			return;
		}
}

static void lkmc_cycle(unsigned long cycle)
{
	int fd, close_first = next_random() & 1;
	char msg[4];
	uint64_t tag;
	uint8_t *p;
	void *q;

	fd = open(LKMC_PATH, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		fail("open %s: %s", LKMC_PATH, strerror(errno));
		return;
	}
	p = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		fail("mmap %s: %s", LKMC_PATH, strerror(errno));
		close(fd);
		return;
	}
	check_fresh_lkmc(p);

	tag = new_tag(cycle, 0);
	fill_page(p, tag, 0);
	check_page(p, tag, 0, "lkmc_mmap, just written");
	me->pages_touched++;

	/* read() sees the mapping's first 4 bytes; write() lands there. */
	if (pread(fd, msg, 4, 0) != 4 || memcmp(msg, p, 4))
		fail("lkmc_mmap: read() does not see the mapping's bytes");
	if (write(fd, "zxcv", 4) != 4 || memcmp(p, "zxcv", 4))
		fail("lkmc_mmap: write() is not seen through the mapping");
	fill_page(p, tag, 0);

	if (cycle % 7 == 0) {
		q = mmap(NULL, page, PROT_READ, MAP_SHARED, fd, 0);
		if (q == MAP_FAILED) {
			fail("lkmc_mmap: second mmap: %s", strerror(errno));
		} else {
			check_page(q, tag, 0, "lkmc_mmap, second mapping");
			munmap(q, page);
		}
		q = mmap(NULL, 2 * page, PROT_READ, MAP_SHARED, fd, 0);
		if (q != MAP_FAILED) {
			fail("lkmc_mmap: a two-page mapping was accepted");
			munmap(q, 2 * page);
		} else if (errno != EINVAL) {
			fail("lkmc_mmap: two-page mmap: %s, not EINVAL",
			     strerror(errno));
		}
	}

	if (opt_fork_every && cycle % opt_fork_every == 0) {
		uint64_t child_tag = new_tag(cycle, 1);

		if (fork_and_touch(p, 1, 0, &tag, child_tag))
			tag = child_tag;
	}

	/* One page: nothing to shrink; it can move and cannot grow. */
	if (opt_mremap_every && cycle % opt_mremap_every == 0) {
		grow_refused(p, page);
		if (move_mapping(&p, page))
			check_page(p, tag, 0, "lkmc_mmap, moved");
	}

	unmap_and_close(close_first, fd, p, page);
}

/* ------------------------------------------------------------ workers */

static void worker(struct worker_stats *stats, unsigned long index)
{
	unsigned long cycle;

	me = stats;
	me_index = index;
	rnd = opt_seed * 0x9e3779b97f4a7c15ULL + index * 0xbf58476d1ce4e5b9ULL;
	if (!rnd)
		rnd = 1;
	slice_pages = buffer_pages / opt_procs;
	if (slice_pages > 64)
		slice_pages = 64;
	slice_first = index * slice_pages;
	slice_tags = calloc(slice_pages, sizeof(*slice_tags));
	if (!slice_tags)
		die("calloc");

	for (cycle = 0; cycle < opt_cycles; cycle++) {
		int target = targets[(index + cycle) % nr_targets];

		/* Signs of life in a long run, from the first worker only. */
		if (!index && cycle && cycle % PROGRESS_EVERY == 0) {
			printf("process 0: cycle %lu of %lu\n", cycle,
			       opt_cycles);
			fflush(stdout);
		}

		if (target == TARGET_LKMC)
			lkmc_cycle(cycle);
		else
			device_cycle(cycle, target);
		me->cycles[target]++;
	}
	exit(me->failures ? 1 : 0);
}

static unsigned long parse_count(const char *name, const char *arg,
				 unsigned long min, unsigned long max)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(arg, &end, 10);
	if (errno || end == arg || *end || v < min || v > max) {
		fprintf(stderr, "kstress: --%s %s: must be %lu to %lu\n", name,
			arg, min, max);
		exit(2);
	}
	return v;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: kstress [--procs N] [--cycles N] [--fork-every N] [--mremap-every N] [--seed N]\n");
	exit(2);
}

static void parse_args(int argc, char **argv)
{
	static const struct option options[] = {
		{ "procs",		required_argument, NULL, 'p' },
		{ "cycles",		required_argument, NULL, 'c' },
		{ "fork-every",		required_argument, NULL, 'f' },
		{ "mremap-every",	required_argument, NULL, 'm' },
		{ "seed",		required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
		switch (c) {
		case 'p':
			opt_procs = parse_count("procs", optarg, 1, MAX_PROCS);
			break;
		case 'c':
			opt_cycles = parse_count("cycles", optarg, 1,
						 100000000);
			break;
		case 'f':
			/* 0: never fork */
			opt_fork_every = parse_count("fork-every", optarg, 0,
						     1000000);
			break;
		case 'm':
			opt_mremap_every = parse_count("mremap-every", optarg,
						       0, 1000000);
			break;
		case 's':
			opt_seed = parse_count("seed", optarg, 0, ~0UL);
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
}

/* The buffer's size and the methods its backing allows. */
static void probe_device(void)
{
	struct kmmap_info info;
	int fd, m;

	fd = open(DEVICE_PATH, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		die("open " DEVICE_PATH);
	if (ioctl(fd, KMMAP_IOC_INFO, &info))
		die("KMMAP_IOC_INFO");
	close(fd);
	if (info.page_size != (__u32)page) {
		fprintf(stderr, "kstress: the buffer's page size %u is not %ld\n",
			info.page_size, page);
		exit(2);
	}
	buffer_pages = info.size / info.page_size;
	if (buffer_pages < opt_procs) {
		fprintf(stderr, "kstress: %lu buffer pages cannot give each of %lu processes a page of its own\n",
			buffer_pages, opt_procs);
		exit(2);
	}
	for (m = 0; m < KMMAP_METHOD_COUNT; m++)
		if (info.methods & (1U << m))
			targets[nr_targets++] = m;
	targets[nr_targets++] = TARGET_LKMC;
	printf("buffer: %lu pages, backing %s; targets:", buffer_pages,
	       info.backing == KMMAP_BACKING_VMALLOC ? "vmalloc" : "contig");
	for (m = 0; m < nr_targets; m++)
		printf(" %s", target_names[targets[m]]);
	printf("\n");
}

int main(int argc, char **argv)
{
	struct worker_stats *stats, sum = { 0 };
	struct timespec t0, t1;
	unsigned long i, failed_workers = 0;
	int t;

	page = sysconf(_SC_PAGESIZE);
	parse_args(argc, argv);
	crc_init();
	probe_device();
	printf("%lu processes x %lu cycles, fork every %lu, mremap every %lu, seed %lu\n",
	       opt_procs, opt_cycles, opt_fork_every, opt_mremap_every,
	       opt_seed);
	fflush(stdout);

	stats = mmap(NULL, opt_procs * sizeof(*stats), PROT_READ | PROT_WRITE,
		     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (stats == MAP_FAILED)
		die("mmap of the shared counts");

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < opt_procs; i++) {
		pid_t pid = fork();

		if (pid < 0)
			die("fork");
		if (!pid)
			worker(&stats[i], i);
	}
	for (i = 0; i < opt_procs; i++) {
		int status;
		pid_t pid = wait(&status);

		if (pid < 0)
			die("wait");
		if (WIFSIGNALED(status)) {
			printf("failure: a worker was killed by signal %d (%s)\n",
			       WTERMSIG(status), strsignal(WTERMSIG(status)));
			failed_workers++;
		} else if (WEXITSTATUS(status) == 2) {
			failed_workers++;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);

	for (i = 0; i < opt_procs; i++) {
		for (t = 0; t < NR_TARGETS; t++)
			sum.cycles[t] += stats[i].cycles[t];
		sum.pages_touched += stats[i].pages_touched;
		sum.checksums += stats[i].checksums;
		sum.forks += stats[i].forks;
		sum.shrinks += stats[i].shrinks;
		sum.grows_refused += stats[i].grows_refused;
		sum.moves += stats[i].moves;
		sum.close_first += stats[i].close_first;
		sum.failures += stats[i].failures;
		if (stats[i].failures)
			printf("first failure: %s (%lu in all)\n",
			       stats[i].first_failure, stats[i].failures);
	}
	for (t = 0; t < NR_TARGETS; t++)
		if (sum.cycles[t])
			printf("cycles %-12s %lu\n", target_names[t],
			       sum.cycles[t]);
	printf("pages touched %lu, checksums %lu, forks %lu, shrinks %lu, grows refused %lu, moves %lu, closed before munmap %lu\n",
	       sum.pages_touched, sum.checksums, sum.forks, sum.shrinks,
	       sum.grows_refused, sum.moves, sum.close_first);
	printf("elapsed %.1f s\n", (t1.tv_sec - t0.tv_sec) +
	       (t1.tv_nsec - t0.tv_nsec) / 1e9);
	printf("failures %lu\n", sum.failures + failed_workers);
	return sum.failures || failed_workers ? 1 : 0;
}
