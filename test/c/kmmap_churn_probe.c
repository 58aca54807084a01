// SPDX-License-Identifier: MIT
/*
 * Eight threads read a kmmap mapping and check every word against the
 * pattern the buffer holds, while other threads pull the mapping's page
 * tables from under them:
 *
 *   dontneed  MADV_DONTNEED over random page ranges of the read mapping
 *             (a pfn mapping refuses with EINVAL, every time);
 *   rewrite   stores the value each word already holds, so write faults
 *             race with the zaps and the readers see no change;
 *   mremap    moves a second mapping between two slots the readers also
 *             read, shrinks it, splits it with a partial munmap, tries to
 *             grow it (EFAULT: device mappings cannot grow) and maps it
 *             afresh over the old one;
 *   fork      forks children that read (and zap, where allowed) their
 *             copies, then exit, closing every inherited mapping.
 *
 * A read inside a slot may hit a slot the mapping just left: SIGSEGV there
 * is expected and counted. Any other signal, any SIGBUS, and any word that
 * does not hold its pattern is a failure. Written against the uapi header
 * only.
 *
 * Usage: kmmap_churn_probe FILE METHOD MILLISECONDS
 *   FILE    /dev/kmmap (64 pages read, 8 moved, filled by KMMAP_IOC_FILL)
 *           or /proc/lkmc_mmap (its one page, filled through the mapping)
 *   METHOD  fault, fault_around, pages, pfn or vmalloc; "-" for lkmc_mmap
 *
 * Prints "name: value" lines (counts, and the first failure of each kind)
 * and exits 0 when nothing failed, 1 when something did, 2 on setup errors.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
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

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

#define PATTERN 0x6b6d6d6170000000ULL	/* "kmmap" in the high bytes */
#define READERS 8

static const char *const method_names[] = {
	"fault", "fault_around", "pages", "pfn", "vmalloc",
};

static int fd, pfn;
static long page;
static uint8_t *area;		/* the mapping the readers read */
static size_t area_len;
static uint8_t *slot[2];	/* where the moving mapping lives */
static size_t slot_len;
static volatile int stop;

/* Counts, and the first failure of each kind as a message. */
static unsigned long reads, wrong, slot_segv, unexpected;
static unsigned long zaps, zaps_einval, zap_failures;
static unsigned long cycles, mremap_failures, forks, fork_failures;
static char first_wrong[128], first_unexpected[128], first_zap[128];
static char first_mremap[128], first_fork[128];
static pthread_mutex_t report_lock = PTHREAD_MUTEX_INITIALIZER;

static void count(unsigned long *n, unsigned long by)
{
	__atomic_fetch_add(n, by, __ATOMIC_RELAXED);
}

/* Counts a failure and keeps the first message of its kind. */
static void fail(unsigned long *n, char *first, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void fail(unsigned long *n, char *first, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&report_lock);
	if (!(*n)++) {
		va_start(ap, fmt);
		vsnprintf(first, 128, fmt, ap);
		va_end(ap);
	}
	pthread_mutex_unlock(&report_lock);
}

static void die(const char *what)
{
	fprintf(stderr, "kmmap_churn_probe: %s: %s\n", what, strerror(errno));
	exit(2);
}

static uint64_t next_random(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* ------------------------------------------------------------- signals */

/*
 * Per thread: where a fault returns to (if guarded), whether it may be a
 * slot's, and the thread's random state (here, so that a return through
 * siglongjmp finds it intact).
 */
static __thread sigjmp_buf fault_return;
static __thread int guarded;
static __thread volatile int in_slot;
static __thread uint64_t seed;

/*
 * Counts the fault and returns to the read loop, which goes on: a fault in
 * the slots is expected, any other is a failure. The handler runs on a
 * signal that is never blocked (SA_NODEFER), so siglongjmp need not
 * restore a mask. Only async-signal-safe steps: no locks, no stdio.
 */
static void on_fault(int sig, siginfo_t *si, void *ctx)
{
	(void)ctx;
	if (sig == SIGSEGV && in_slot) {
		count(&slot_segv, 1);
	} else if (!__atomic_fetch_add(&unexpected, 1, __ATOMIC_RELAXED)) {
		snprintf(first_unexpected, sizeof(first_unexpected),
			 "%s at %p (code %d)", sig == SIGBUS ? "SIGBUS" :
			 "SIGSEGV", si->si_addr, si->si_code);
	}
	if (!guarded) {
		static const char msg[] = "kmmap_churn_probe: a fault outside a guarded access\n";

		if (write(2, msg, sizeof(msg) - 1) < 0)
			_exit(3);
		_exit(3);
	}
	siglongjmp(fault_return, 1);
}

/* ------------------------------------------------------------- threads */

static uint64_t word_at(const uint8_t *p, size_t off)
{
	return *(volatile const uint64_t *)(p + off);
}

static void *reader(void *arg)
{
	size_t area_words = area_len / 8, slot_words = slot_len / 8;
	unsigned long n;
	int k;

	seed = (uintptr_t)arg * 0x9e3779b97f4a7c15ULL + 1;
	guarded = 1;
	/* Each thread runs at least once, however late it starts. */
	do {
		/* Back from a fault: look at stop before going on. */
		if (sigsetjmp(fault_return, 0)) {
			in_slot = 0;
			continue;
		}
		for (n = 0; n < 1024; n++) {
			size_t off = next_random(&seed) % area_words * 8;
			uint64_t v = word_at(area, off);

			if (v != PATTERN + off)
				fail(&wrong, first_wrong,
				     "area offset %zu: %#llx", off,
				     (unsigned long long)v);
		}
		count(&reads, n);
		in_slot = 1;
		for (k = 0; k < 64; k++) {
			uint64_t r = next_random(&seed);
			size_t off = r % slot_words * 8;
			uint64_t v = word_at(slot[r >> 63], off);

			if (v != PATTERN + off)
				fail(&wrong, first_wrong,
				     "slot %d offset %zu: %#llx",
				     (int)(r >> 63), off,
				     (unsigned long long)v);
		}
		in_slot = 0;
		count(&reads, k);
	} while (!stop);
	return NULL;
}

static void *rewriter(void *arg)
{
	size_t area_words = area_len / 8;

	(void)arg;
	seed = 0x5eed;
	guarded = 1;
	sigsetjmp(fault_return, 0);
	while (!stop) {
		size_t off = next_random(&seed) % area_words * 8;

		*(volatile uint64_t *)(area + off) = PATTERN + off;
	}
	return NULL;
}

static void *zapper(void *arg)
{
	size_t pages = area_len / page;

	(void)arg;
	seed = 0x2a;
	do {
		size_t first = next_random(&seed) % pages;
		size_t n = 1 + next_random(&seed) % (pages - first);
		int rc = madvise(area + first * page, n * page, MADV_DONTNEED);
		int e = errno;

		if (pfn && rc == -1 && e == EINVAL)
			count(&zaps_einval, 1);
		else if (!pfn && rc == 0)
			count(&zaps, 1);
		else
			fail(&zap_failures, first_zap,
			     "MADV_DONTNEED pages %zu+%zu: %s", first, n,
			     rc ? strerror(e) : "succeeded on a pfn mapping");
	} while (!stop);
	return NULL;
}

/* Puts an inaccessible placeholder where the moving mapping left a hole. */
static int reserve(uint8_t *at, size_t len)
{
	void *p = mmap(at, len, PROT_NONE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);

	if (p == at)
		return 0;
	fail(&mremap_failures, first_mremap, "re-reserve %p: %s", (void *)at,
	     p == MAP_FAILED ? strerror(errno) : "landed elsewhere");
	return -1;
}

#define EXPECT_AT(call, want, what)					\
	do {								\
		void *got_ = (call);					\
		if (got_ != (void *)(want)) {				\
			fail(&mremap_failures, first_mremap, "%s: %s",	\
			     what, got_ == MAP_FAILED ? strerror(errno) : \
			     "landed elsewhere");			\
			return NULL;					\
		}							\
	} while (0)

/*
 * At the start of each cycle slot 0 holds the moving mapping, offset 0 of
 * the file, and slot 1 a placeholder; so at the end.
 */
static void *mover(void *arg)
{
	size_t cur = slot_len;
	void *p;

	(void)arg;
	do {
		EXPECT_AT(mremap(slot[0], slot_len, slot_len,
				 MREMAP_MAYMOVE | MREMAP_FIXED, slot[1]),
			  slot[1], "move to slot 1");
		if (reserve(slot[0], slot_len))
			return NULL;

		p = mremap(slot[1], slot_len, 2 * slot_len, MREMAP_MAYMOVE);
		if (p != MAP_FAILED || errno != EFAULT)
			fail(&mremap_failures, first_mremap, "grow: %s",
			     p == MAP_FAILED ? strerror(errno) : "grew");
		if (p != MAP_FAILED)
			return NULL;

		cur = slot_len;
		if (slot_len > (size_t)page) {
			cur = slot_len / 2;
			EXPECT_AT(mremap(slot[1], slot_len, cur, 0), slot[1],
				  "shrink");
			if (reserve(slot[1] + cur, slot_len - cur))
				return NULL;
		}
		EXPECT_AT(mremap(slot[1], cur, cur,
				 MREMAP_MAYMOVE | MREMAP_FIXED, slot[0]),
			  slot[0], "move back to slot 0");
		if (reserve(slot[1], cur))
			return NULL;

		if (cur > (size_t)(2 * page)) {
			/* Split it: the two ends stay, the middle goes. */
			if (munmap(slot[0] + page, page))
				fail(&mremap_failures, first_mremap,
				     "partial munmap: %s", strerror(errno));
			if (reserve(slot[0] + page, page))
				return NULL;
		}
		EXPECT_AT(mmap(slot[0], slot_len, PROT_READ | PROT_WRITE,
			       MAP_SHARED | MAP_FIXED, fd, 0),
			  slot[0], "map afresh over slot 0");
		count(&cycles, 1);
	} while (!stop);
	return NULL;
}

/* In a child: every word of the area, zapped and read again if allowed. */
static int child_checks(void)
{
	size_t off;
	int pass;

	guarded = 1;
	in_slot = 0;
	if (sigsetjmp(fault_return, 0))
		return 3;
	for (pass = 0; pass < 2; pass++) {
		for (off = 0; off < area_len; off += 8) {
			if (word_at(area, off) != PATTERN + off)
				return 1;
		}
		if (pfn)
			break;
		if (madvise(area, area_len, MADV_DONTNEED))
			return 2;
	}
	return 0;
}

static void *forker(void *arg)
{
	(void)arg;
	do {
		pid_t child = fork();
		int status;

		if (child == 0)
			_exit(child_checks());
		if (child < 0 || waitpid(child, &status, 0) != child) {
			fail(&fork_failures, first_fork, "fork/wait: %s",
			     strerror(errno));
			return NULL;
		}
		if (!WIFEXITED(status) || WEXITSTATUS(status))
			fail(&fork_failures, first_fork, "child %s %d",
			     WIFEXITED(status) ? "exit" : "signal",
			     WIFEXITED(status) ? WEXITSTATUS(status) :
			     WTERMSIG(status));
		count(&forks, 1);
	} while (!stop);
	return NULL;
}

/* ---------------------------------------------------------------- main */

static void fill(int lkmc)
{
	struct kmmap_fill f = {
		.length = area_len,
		.pattern = PATTERN,
		.pattern_len = 8,
		.flags = KMMAP_FILL_ADD_OFFSET,
	};
	size_t off;

	if (!lkmc) {
		if (ioctl(fd, KMMAP_IOC_FILL, &f))
			die("KMMAP_IOC_FILL");
		return;
	}
	for (off = 0; off < area_len; off += 8)
		*(uint64_t *)(area + off) = PATTERN + off;
}

/* "name: count", and the first failure's message if there was one. */
static void report(const char *name, unsigned long n, const char *first)
{
	printf("%s: %lu%s%s\n", name, n, first && n ? ": " : "",
	       first && n ? first : "");
}

static unsigned int mappings(int lkmc)
{
	struct kmmap_info i;

	if (lkmc)
		return 0;
	if (ioctl(fd, KMMAP_IOC_INFO, &i))
		die("KMMAP_IOC_INFO");
	return i.mappings;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { 0 };
	pthread_t readers[READERS], others[4];
	void *(*const churners[4])(void *) = { rewriter, zapper, mover, forker };
	unsigned int baseline;
	struct timespec ms;
	int lkmc, i, failed;
	uint8_t *both;

	if (argc != 4) {
		fprintf(stderr, "usage: %s FILE METHOD MILLISECONDS\n", argv[0]);
		return 2;
	}
	page = sysconf(_SC_PAGESIZE);
	lkmc = strcmp(argv[2], "-") == 0;
	area_len = (lkmc ? 1 : 64) * page;
	slot_len = (lkmc ? 1 : 8) * page;
	/* Whatever hangs is a failure too. */
	alarm(60);

	fd = open(argv[1], O_RDWR);
	if (fd < 0)
		die(argv[1]);
	if (!lkmc) {
		__u32 m;

		for (m = 0; m < KMMAP_METHOD_COUNT; m++) {
			if (!strcmp(argv[2], method_names[m]))
				break;
		}
		if (m == KMMAP_METHOD_COUNT) {
			fprintf(stderr, "unknown method %s\n", argv[2]);
			return 2;
		}
		if (ioctl(fd, KMMAP_IOC_SET_METHOD, &m))
			die("KMMAP_IOC_SET_METHOD");
		pfn = m == KMMAP_METHOD_PFN;
	}
	baseline = mappings(lkmc);

	area = mmap(NULL, area_len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (area == MAP_FAILED)
		die("mmap");
	fill(lkmc);
	/* Both slots inaccessible, then the moving mapping into slot 0. */
	both = mmap(NULL, 2 * slot_len, PROT_NONE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (both == MAP_FAILED)
		die("mmap the slots");
	slot[0] = both;
	slot[1] = both + slot_len;
	if (mmap(slot[0], slot_len, PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_FIXED, fd, 0) != slot[0])
		die("mmap slot 0");

	sa.sa_sigaction = on_fault;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSEGV, &sa, NULL) || sigaction(SIGBUS, &sa, NULL))
		die("sigaction");

	for (i = 0; i < READERS; i++) {
		if (pthread_create(&readers[i], NULL, reader,
				   (void *)(uintptr_t)(i + 1)))
			die("pthread_create");
	}
	for (i = 0; i < 4; i++) {
		if (pthread_create(&others[i], NULL, churners[i], NULL))
			die("pthread_create");
	}
	ms.tv_sec = atoi(argv[3]) / 1000;
	ms.tv_nsec = atoi(argv[3]) % 1000 * 1000000L;
	nanosleep(&ms, NULL);
	stop = 1;
	for (i = 0; i < READERS; i++)
		pthread_join(readers[i], NULL);
	for (i = 0; i < 4; i++)
		pthread_join(others[i], NULL);

	if (munmap(area, area_len) || munmap(both, 2 * slot_len))
		die("munmap");

	report("reads", reads, NULL);
	report("slot-segv", slot_segv, NULL);
	report("wrong", wrong, first_wrong);
	report("unexpected-signals", unexpected, first_unexpected);
	report("dontneed", zaps, NULL);
	report("dontneed-einval", zaps_einval, NULL);
	report("dontneed-failures", zap_failures, first_zap);
	report("mremap-cycles", cycles, NULL);
	report("mremap-failures", mremap_failures, first_mremap);
	report("forks", forks, NULL);
	report("fork-failures", fork_failures, first_fork);
	printf("mappings-left: %d\n", (int)mappings(lkmc) - (int)baseline);

	failed = wrong || unexpected || zap_failures || mremap_failures ||
		 fork_failures || !reads || !cycles || !forks ||
		 !(pfn ? zaps_einval : zaps) || mappings(lkmc) != baseline;
	return failed ? 1 : 0;
}
