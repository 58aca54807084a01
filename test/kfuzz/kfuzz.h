/* SPDX-License-Identifier: MIT */
/*
 * kfuzz: a seeded syscall-sequence fuzzer for kmmap.ko (/dev/kmmap and
 * /proc/lkmc_mmap). See kfuzz.c for the overall design; this header holds
 * what the parts share: options, the shared-memory block every process
 * sees, the per-thread worker state, the content model (shadows) and the
 * logging/failure helpers.
 */
#ifndef KFUZZ_H
#define KFUZZ_H

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/kmmap.h>

#define PG 4096UL
#define DEV_PATH "/dev/kmmap"
#define LKMC_PATH "/proc/lkmc_mmap"
#define LKMC_MSG 4		/* read()/write() see the first 4 bytes */

#define MAX_FDS 8		/* descriptors a worker holds at once */
#define MAX_OFDS 8		/* open files (dup shares one) */
#define MAX_MAPS 40		/* mapping records (≈ VMAs) per worker */
#define REGION_PAGES 512	/* each worker's own MAP_FIXED area */
#define REGION_BASE 0x100000000000UL	/* low, far below mmap_base */
#define LOG_ENTRIES 64
#define LOG_TEXT 200

/* Operations: counted per kind, named in the log and the summary. */
enum op {
	OP_OPEN, OP_CLOSE, OP_DUP, OP_MMAP, OP_MUNMAP, OP_MREMAP, OP_MPROTECT,
	OP_MADVISE, OP_MLOCK, OP_MUNLOCK, OP_READ, OP_WRITE, OP_PREAD,
	OP_PWRITE, OP_READV, OP_WRITEV, OP_LSEEK, OP_INFO, OP_SET_METHOD,
	OP_PFNS, OP_FILL, OP_CHECKSUM, OP_BAD_IOCTL, OP_PHYS, OP_TOUCH,
	OP_FORK, OP_VMSPLICE, OP_ODIRECT, OP_IOURING, OP_METHOD_RACE,
	OP_DRAIN, OP_RMMOD, OP_INSMOD,
	OP_COUNT,
};

/*
 * Outcomes that are legitimate but worth knowing about (which way the
 * kernel went where several are acceptable). Printed at the end.
 */
enum outcome {
	OUT_SEGV_EXPECTED, OUT_OPEN_GONE, OUT_LKMC_DEAD, OUT_LKMC_UNSURE,
	OUT_RMMOD_REFUSED, OUT_RMMOD_OK, OUT_RMMOD_BUSY_OK, OUT_INSMOD_OK,
	OUT_DRAINS, OUT_ODIRECT_OK, OUT_ODIRECT_EFAULT, OUT_ODIRECT_EINVAL,
	OUT_ODIRECT_OTHER, OUT_ODIRECT_NOFILE, OUT_URING_OK,
	OUT_URING_REG_EFAULT, OUT_URING_REG_EOPNOTSUPP, OUT_URING_REG_OTHER,
	OUT_URING_READ_ERR, OUT_URING_UNAVAILABLE, OUT_VMSPLICE_OK,
	OUT_VMSPLICE_EFAULT, OUT_DONTUNMAP_EINVAL, OUT_DONTUNMAP_OK,
	OUT_SHORT_INEXACT, OUT_FORK_WROTE, OUT_MADV_OK, OUT_MADV_ERR,
	OUT_MMAP_OK, OUT_MMAP_ERR, OUT_MREMAP_MOVED, OUT_RESYNC_PAGES,
	OUT_RACE_MAPS, OUT_PAGES_COMPARED, OUT_CRC_COMPARED, OUT_READS_COMPARED,
	OUT_ODIRECT_EFAULT_PAGES, OUT_URING_EFAULT_PAGES,
	OUT_COUNT,
};

extern const char *const op_names[OP_COUNT];
extern const char *const outcome_names[OUT_COUNT];

/* One block of MAP_SHARED memory, made before fork: all processes see it. */
struct shared {
	uint64_t seed;
	int stop;			/* set once: time or calls up, or failure */
	int failures;
	int reported;			/* the first failure prints the full report */
	uint64_t calls;			/* system calls issued, all processes */
	uint64_t max_calls;
	uint64_t op_count[OP_COUNT];
	uint64_t outcome[OUT_COUNT];
	/*
	 * Module reloads. seq is odd while the reloader runs delete_module
	 * or finit_module; instance counts successful unloads. A worker that
	 * reads the same even seq before and after a call knows no unload
	 * happened during it, and instance tells which module it talked to.
	 */
	uint32_t seq;
	uint32_t instance;
	/* Drain: every worker lets go of the module so that rmmod can work. */
	int drain;
	int drain_acks;
	int nworkers;
	uint64_t buf_size;		/* /dev/kmmap's size; kept across reloads */
	char odirect_path[256];		/* a file that takes O_DIRECT, or "" */
	char odirect_where[64];
	uint64_t data_len;		/* bytes of the data file */
	bool noexec[2];			/* per enum kind: mounted noexec */
};

struct options {
	uint64_t seed;
	unsigned seconds;
	uint64_t calls;
	int procs, threads;
	bool reload;			/* KMMAP_KO set and not --no-reload */
	const char *ko;
	const char *summary;		/* file for the one-line result */
};

extern struct shared *sh;
extern struct options opt;

/* splitmix64: every random choice comes from here, seeded per thread. */
struct rng {
	uint64_t s;
};

static inline uint64_t rnd(struct rng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static inline uint64_t below(struct rng *r, uint64_t n)
{
	return n ? rnd(r) % n : 0;
}

static inline bool chance(struct rng *r, unsigned pct)
{
	return below(r, 100) < pct;
}

/* Byte i of the data file (O_DIRECT and io_uring reads): from the seed. */
static inline uint8_t data_byte(uint64_t i)
{
	struct rng r = { sh->seed ^ (i / 8) * 0x2545f4914f6cdd1dULL };

	return (uint8_t)(rnd(&r) >> (8 * (i % 8)));
}

enum kind { K_DEV, K_LKMC };

/* An open file description: what dup() shares and a mapping references. */
struct ofd {
	bool used;
	enum kind kind;
	int acc;			/* O_RDONLY, O_WRONLY or O_RDWR */
	int nfds, nmaps;		/* references from fds and mappings */
	uint64_t pos;			/* file position, shared by dups */
	int method;			/* dev: -1 = unknown (method race) */
	uint32_t methods;		/* dev: allowed, from INFO */
	/* lkmc: the page's content, and which module instance owns it */
	uint8_t page[PG];
	int64_t inst;			/* -1: unknown (opened during a reload) */
	bool dead;			/* lkmc: entry removed, calls get EIO */
	uint64_t phys;			/* lkmc: PHYS_ADDR, 0 = not asked yet */
};

struct fdrec {
	int fd;				/* -1 = free slot */
	int ofd;
};

/* Private lkmc mappings: what they show. */
enum priv_state { PRIV_SHARED, PRIV_COW, PRIV_UNKNOWN };

/* One mapping record: a page range with uniform attributes (≈ one VMA). */
struct map {
	bool used;
	enum kind kind;
	uint8_t *addr;
	size_t len;			/* whole pages */
	int prot;
	bool shared, may_write, may_exec, in_region, dontfork;
	uint64_t dev_off;		/* dev: buffer offset of addr */
	int method;			/* dev: -1 = unknown */
	int ofd;			/* lkmc: the open whose page it maps */
	enum priv_state priv;
	uint8_t *privpage;		/* PRIV_COW: the private copy (malloc) */
};

struct logent {
	char text[LOG_TEXT];
};

struct worker {
	int proc, thread, index;	/* index: proc * threads + thread */
	pid_t pid, tid;
	struct rng rng;
	enum op op;			/* what it is doing now */
	/* the ring log of its last LOG_ENTRIES calls */
	struct logent log[LOG_ENTRIES];
	unsigned log_next;
	uint64_t log_total;
	/* faults inside a probe land here */
	sigjmp_buf jb;
	volatile int armed;
	volatile int fault_sig;
	void *volatile fault_addr;
	bool in_child;			/* a fork child: report and _exit */
	/* the model */
	struct fdrec fds[MAX_FDS];
	struct ofd ofds[MAX_OFDS];
	struct map maps[MAX_MAPS];
	uint8_t *region;		/* REGION_PAGES pages, PROT_NONE reserve */
	uint8_t lost[REGION_PAGES];	/* pages taken by someone else */
	uint64_t slice_off, slice_len;	/* its own bytes of /dev/kmmap */
	uint8_t *shadow;		/* slice_len bytes */
	uint8_t *known;			/* per slice page: shadow is exact */
	int64_t dev_inst;		/* module instance the shadow is for */
	uint64_t pfn0;			/* PFN of the slice's first page, 0 = ? */
	int64_t pfn0_inst;
	uint8_t *scratch;		/* 64 pages of plain memory */
	uint8_t *guard;			/* one RW page, then one PROT_NONE page */
	uint64_t *pfnbuf;		/* room for every PFN of the buffer */
	int datafd;			/* the data file, buffered (io_uring) */
	bool failed;
};

/* util.c */
void out(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void wlog(struct worker *w, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void fail(struct worker *w, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void count_call(void);
void count_op(enum op op);
void outcome(enum outcome o);
uint32_t crc32_zlib(uint32_t crc, const uint8_t *p, size_t len);
void install_fault_handler(void);
void set_current_worker(struct worker *w);
int probe_read(struct worker *w, const volatile uint8_t *p, uint8_t *val);
int probe_cmp(struct worker *w, const uint8_t *p, const uint8_t *expect,
	      size_t len, size_t *diff);
int probe_copy_in(struct worker *w, uint8_t *dst, const uint8_t *src,
		  size_t len);
int probe_store_same(struct worker *w, volatile uint8_t *p);
int probe_write(struct worker *w, uint8_t *dst, const uint8_t *src,
		size_t len);
const char *errname(int e);
bool stopping(void);
uint32_t seq_read(void);
uint32_t inst_read(void);

/* worker.c */
void worker_init(struct worker *w, int proc, int thread);
void worker_run(struct worker *w);
bool check_map(struct worker *w, struct map *m, bool in_child);
int find_map(struct worker *w, bool (*pred)(struct worker *, struct map *));
bool own_dev_range(struct worker *w, struct map *m, size_t *first,
		   size_t *pages, bool need_write);
void shadow_set(struct worker *w, uint64_t boff, const uint8_t *src,
		size_t len);
void shadow_unknown(struct worker *w, uint64_t boff, size_t len);
bool check_dev_bytes(struct worker *w, uint64_t boff, const uint8_t *got,
		     size_t len, const char *what);

/* extra.c: fork, vmsplice, O_DIRECT, io_uring, the SET_METHOD race */
void op_fork(struct worker *w);
void op_vmsplice(struct worker *w);
void op_odirect(struct worker *w);
void op_iouring(struct worker *w);
void op_method_race(struct worker *w);
void setup_data_file(const char *extra_dir);
void remove_data_file(void);

/* reload.c */
void reloader_run(void);

#endif /* KFUZZ_H */
