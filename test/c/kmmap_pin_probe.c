// SPDX-License-Identifier: MIT
/*
 * Pins the pages of a kmmap mapping every way user space can, then takes
 * away everything else that keeps them alive, and reads the pinned bytes
 * back. Written against the uapi header only.
 *
 *   1. map the file (MAP_SHARED, read-write) and O_DIRECT-read a known
 *      pattern P from the block device into the mapping (a pin for write:
 *      the kernel's view of the buffer must then hold P);
 *   2. vmsplice() the mapping into a pipe (the pipe holds page references);
 *   3. O_DIRECT-write the mapping to the block device (a pin for read);
 *   4. register the mapping as an io_uring fixed buffer (a long-term pin)
 *      and leave a READ_FIXED from an empty pipe pending into its tail;
 *   5. munmap, close, and unload the module (delete_module): nothing but
 *      the pins may remain, so the unload must succeed;
 *   6. churn memory: allocate and touch CHURN_MIB, fork a child that
 *      rewrites all of it, free it, so that freed pages get reused;
 *   7. read the pins back: the pipe, the block device, and the fixed buffer
 *      (complete the pending read with a pattern Q, then WRITE_FIXED the
 *      whole buffer into a pipe): each must hold exactly what was written.
 *
 * A VM_PFNMAP mapping (method pfn) has no pages to pin: every pin fails.
 *
 * Usage: kmmap_pin_probe FILE METHOD BLOCKDEV CHURN_MIB
 *   FILE      /dev/kmmap (8 pages mapped) or /proc/lkmc_mmap (its one page)
 *   METHOD    fault, fault_around, pages, pfn or vmalloc; "-" for lkmc_mmap
 *   BLOCKDEV  a block device O_DIRECT works on, at least 3 mappings long;
 *             its first three mapping-sized blocks are overwritten
 *   CHURN_MIB memory to churn after the unload
 *
 * Prints "step: outcome" per step, the outcome being "ok", an errno name
 * or what went wrong, and exits 0 when it could run every step (the
 * outcomes are for the caller to judge), 2 when it could not set up.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/io_uring.h>
#include <linux/kmmap.h>

static const char *const method_names[] = {
	"fault", "fault_around", "pages", "pfn", "vmalloc",
};

static void die(const char *what)
{
	fprintf(stderr, "kmmap_pin_probe: %s: %s\n", what, strerror(errno));
	exit(2);
}

static const char *errno_name(int e)
{
	static char other[32];

	switch (e) {
	case EFAULT: return "EFAULT";
	case EOPNOTSUPP: return "EOPNOTSUPP";
	case EINVAL: return "EINVAL";
	case EPERM: return "EPERM";
	case EBUSY: return "EBUSY";
	case EAGAIN: return "EAGAIN";
	case ENOMEM: return "ENOMEM";
	case ENOSYS: return "ENOSYS";
	case ENXIO: return "ENXIO";
	case EIO: return "EIO";
	case ESPIPE: return "ESPIPE";
	}
	snprintf(other, sizeof(other), "errno %d", e);
	return other;
}

/* Byte o of pattern @seed: varies within every page and between pages. */
static uint8_t pattern_byte(unsigned int seed, size_t o)
{
	uint32_t x = (uint32_t)o * 2654435761u + seed * 40503u;

	return (uint8_t)(x >> 13 ^ x >> 24 ^ o >> 12);
}

static void fill_pattern(uint8_t *p, size_t len, unsigned int seed, size_t at)
{
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = pattern_byte(seed, at + i);
}

/* "ok", or how @got differs from @want. */
static const char *compare(const uint8_t *got, const uint8_t *want, size_t len)
{
	static char msg[128];
	size_t i, bad = 0, first = 0;

	for (i = 0; i < len; i++) {
		if (got[i] != want[i] && !bad++)
			first = i;
	}
	if (!bad)
		return "ok";
	snprintf(msg, sizeof(msg),
		 "%zu of %zu bytes wrong, first at %zu: %#x, want %#x", bad,
		 len, first, got[first], want[first]);
	return msg;
}

/* Reads exactly @len bytes from a pipe; "ok" or what happened. */
static const char *read_all(int fd, uint8_t *buf, size_t len)
{
	static char msg[64];
	size_t done = 0;

	while (done < len) {
		ssize_t n = read(fd, buf + done, len - done);

		if (n <= 0) {
			snprintf(msg, sizeof(msg), "read %zu of %zu: %s", done,
				 len, n ? errno_name(errno) : "end of file");
			return msg;
		}
		done += n;
	}
	return "ok";
}

/* ------------------------------------------------ io_uring, raw syscalls */

struct ring {
	int fd;
	unsigned int *sq_tail, *sq_mask, *sq_array;
	unsigned int *cq_head, *cq_tail, *cq_mask;
	struct io_uring_sqe *sqes;
	struct io_uring_cqe *cqes;
};

/* 0 or -errno. */
static int ring_setup(struct ring *r)
{
	struct io_uring_params p = { 0 };
	size_t sq_len, cq_len;
	uint8_t *sq, *cq;

	r->fd = syscall(__NR_io_uring_setup, 4, &p);
	if (r->fd < 0)
		return -errno;
	sq_len = p.sq_off.array + p.sq_entries * sizeof(unsigned int);
	cq_len = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
	if (p.features & IORING_FEAT_SINGLE_MMAP) {
		if (cq_len > sq_len)
			sq_len = cq_len;
	}
	sq = mmap(NULL, sq_len, PROT_READ | PROT_WRITE, MAP_SHARED, r->fd,
		  IORING_OFF_SQ_RING);
	if (sq == MAP_FAILED)
		die("mmap the io_uring SQ ring");
	cq = sq;
	if (!(p.features & IORING_FEAT_SINGLE_MMAP)) {
		cq = mmap(NULL, cq_len, PROT_READ | PROT_WRITE, MAP_SHARED,
			  r->fd, IORING_OFF_CQ_RING);
		if (cq == MAP_FAILED)
			die("mmap the io_uring CQ ring");
	}
	r->sqes = mmap(NULL, p.sq_entries * sizeof(struct io_uring_sqe),
		       PROT_READ | PROT_WRITE, MAP_SHARED, r->fd,
		       IORING_OFF_SQES);
	if (r->sqes == MAP_FAILED)
		die("mmap the io_uring SQEs");
	r->sq_tail = (unsigned int *)(sq + p.sq_off.tail);
	r->sq_mask = (unsigned int *)(sq + p.sq_off.ring_mask);
	r->sq_array = (unsigned int *)(sq + p.sq_off.array);
	r->cq_head = (unsigned int *)(cq + p.cq_off.head);
	r->cq_tail = (unsigned int *)(cq + p.cq_off.tail);
	r->cq_mask = (unsigned int *)(cq + p.cq_off.ring_mask);
	r->cqes = (struct io_uring_cqe *)(cq + p.cq_off.cqes);
	return 0;
}

/* Submits one fixed-buffer read or write of @fd at buffer address @addr. */
static void ring_submit(struct ring *r, int opcode, int fd, void *addr,
			size_t len)
{
	unsigned int tail = *r->sq_tail, i = tail & *r->sq_mask;
	struct io_uring_sqe *sqe = &r->sqes[i];

	memset(sqe, 0, sizeof(*sqe));
	sqe->opcode = opcode;
	sqe->fd = fd;
	sqe->addr = (uintptr_t)addr;
	sqe->len = len;
	sqe->buf_index = 0;
	r->sq_array[i] = i;
	__atomic_store_n(r->sq_tail, tail + 1, __ATOMIC_RELEASE);
	if (syscall(__NR_io_uring_enter, r->fd, 1, 0, 0, NULL, 0) != 1)
		die("io_uring_enter (submit)");
}

/* The next completion's result; waits for it only if @wait. */
static int ring_reap(struct ring *r, int wait, int *res)
{
	for (;;) {
		unsigned int head = *r->cq_head;

		if (head != __atomic_load_n(r->cq_tail, __ATOMIC_ACQUIRE)) {
			*res = r->cqes[head & *r->cq_mask].res;
			__atomic_store_n(r->cq_head, head + 1,
					 __ATOMIC_RELEASE);
			return 1;
		}
		if (!wait)
			return 0;
		if (syscall(__NR_io_uring_enter, r->fd, 0, 1,
			    IORING_ENTER_GETEVENTS, NULL, 0) < 0 &&
		    errno != EINTR)
			die("io_uring_enter (wait)");
	}
}

/* ------------------------------------------------------------- the probe */

/* Allocates and touches @mib MiB, has a child rewrite it all, frees it. */
static const char *churn(size_t mib)
{
	size_t len = mib << 20, i;
	long page = sysconf(_SC_PAGESIZE);
	uint8_t *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	pid_t child;
	int status;

	if (p == MAP_FAILED)
		return errno_name(errno);
	for (i = 0; i < len; i += page)
		memset(p + i, (int)(i >> 12), page);
	child = fork();
	if (child == 0) {
		for (i = 0; i < len; i += page)
			memset(p + i, (int)~(i >> 12), page);
		_exit(0);
	}
	if (child < 0 || waitpid(child, &status, 0) != child ||
	    !WIFEXITED(status) || WEXITSTATUS(status))
		return "the child failed";
	munmap(p, len);
	return "ok";
}

static void *map_anon(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		die("mmap scratch");
	return p;
}

int main(int argc, char **argv)
{
	const char *file, *method;
	int lkmc, fd, bdev, splice_pipe[2], uring_pipe[2], out_pipe[2];
	size_t len, tail, mib;
	uint8_t *map, *want, *got;
	struct ring ring;
	struct iovec iov;
	ssize_t n;
	int vmspliced, dio_written, registered, res, err;

	if (argc != 5) {
		fprintf(stderr, "usage: %s FILE METHOD BLOCKDEV CHURN_MIB\n",
			argv[0]);
		return 2;
	}
	file = argv[1];
	method = argv[2];
	mib = strtoul(argv[4], NULL, 10);
	lkmc = strcmp(method, "-") == 0;
	len = (lkmc ? 1 : 8) * sysconf(_SC_PAGESIZE);
	/* The pending io_uring read fills the tail: half a page at most. */
	tail = sysconf(_SC_PAGESIZE) / 2;
	/* Whatever hangs is a failure too. */
	alarm(60);

	fd = open(file, O_RDWR);
	if (fd < 0)
		die(file);
	if (!lkmc) {
		__u32 m;

		for (m = 0; m < KMMAP_METHOD_COUNT; m++) {
			if (!strcmp(method, method_names[m]))
				break;
		}
		if (m == KMMAP_METHOD_COUNT) {
			fprintf(stderr, "unknown method %s\n", method);
			return 2;
		}
		if (ioctl(fd, KMMAP_IOC_SET_METHOD, &m))
			die("KMMAP_IOC_SET_METHOD");
	}
	map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		die("mmap");
	bdev = open(argv[3], O_RDWR | O_DIRECT);
	if (bdev < 0)
		die(argv[3]);
	want = map_anon(len);
	got = map_anon(len);

	/* 1. Pattern P onto the device, then O_DIRECT into the mapping. */
	fill_pattern(want, len, 'P', 0);
	if (pwrite(bdev, want, len, 0) != (ssize_t)len)
		die("O_DIRECT write of the pattern");
	n = pread(bdev, map, len, 0);
	if (n == (ssize_t)len) {
		const char *mapped = compare(map, want, len);

		/* What the kernel sees through read(), which for lkmc_mmap
		 * is only the first 4 bytes. */
		size_t seen = lkmc ? 4 : len;

		if (pread(fd, got, seen, 0) != (ssize_t)seen)
			die("read the file");
		printf("odirect-read: %s", mapped);
		printf(", kernel view %s\n", compare(got, want, seen));
	} else {
		printf("odirect-read: %s\n",
		       n < 0 ? errno_name(errno) : "short");
		memcpy(map, want, len);
	}

	/* 2. vmsplice: the pipe holds the pages themselves. */
	if (pipe(splice_pipe))
		die("pipe");
	iov.iov_base = map;
	iov.iov_len = len;
	n = vmsplice(splice_pipe[1], &iov, 1, 0);
	vmspliced = n == (ssize_t)len;
	printf("vmsplice: %s\n", vmspliced ? "ok" :
	       n < 0 ? errno_name(errno) : "short");

	/* 3. O_DIRECT from the mapping to the second block. */
	n = pwrite(bdev, map, len, len);
	dio_written = n == (ssize_t)len;
	printf("odirect-write: %s\n", dio_written ? "ok" :
	       n < 0 ? errno_name(errno) : "short");

	/* 4. A fixed buffer, and a read into its tail left pending. */
	registered = 0;
	err = ring_setup(&ring);
	if (err) {
		printf("io_uring-setup: %s\n", errno_name(-err));
	} else {
		err = syscall(__NR_io_uring_register, ring.fd,
			      IORING_REGISTER_BUFFERS, &iov, 1) ? errno : 0;
		registered = !err;
		printf("io_uring-register: %s\n", err ? errno_name(err) : "ok");
	}
	if (registered) {
		if (pipe(uring_pipe))
			die("pipe");
		ring_submit(&ring, IORING_OP_READ_FIXED, uring_pipe[0],
			    map + len - tail, tail);
		printf("io_uring-read-pending: %s\n",
		       ring_reap(&ring, 0, &res) ? "completed early" : "ok");
	}

	/* 5. Nothing but the pins. */
	printf("munmap: %s\n", munmap(map, len) ? errno_name(errno) : "ok");
	printf("close: %s\n", close(fd) ? errno_name(errno) : "ok");
	printf("rmmod: %s\n", syscall(__NR_delete_module, "kmmap", O_NONBLOCK) ?
	       errno_name(errno) : "ok");

	/* 6. */
	printf("churn: %s\n", churn(mib));

	/* 7. Every pin still holds P; the fixed buffer's tail then gets Q. */
	if (vmspliced) {
		const char *r = read_all(splice_pipe[0], got, len);

		printf("vmsplice-readback: %s\n",
		       strcmp(r, "ok") ? r : compare(got, want, len));
	}
	if (dio_written) {
		n = pread(bdev, got, len, len);
		printf("odirect-readback: %s\n", n != (ssize_t)len ?
		       (n < 0 ? errno_name(errno) : "short") :
		       compare(got, want, len));
	}
	if (registered) {
		fill_pattern(want + len - tail, tail, 'Q', len - tail);
		if (write(uring_pipe[1], want + len - tail, tail) !=
		    (ssize_t)tail)
			die("write the io_uring pipe");
		ring_reap(&ring, 1, &res);
		printf("io_uring-read-complete: %s\n", res == (int)tail ? "ok" :
		       res < 0 ? errno_name(-res) : "short");
		if (pipe(out_pipe))
			die("pipe");
		/* The buffer's address still names it after the munmap. */
		ring_submit(&ring, IORING_OP_WRITE_FIXED, out_pipe[1], map,
			    len);
		ring_reap(&ring, 1, &res);
		if (res != (int)len) {
			printf("io_uring-readback: write %s\n",
			       res < 0 ? errno_name(-res) : "short");
		} else {
			const char *r = read_all(out_pipe[0], got, len);

			printf("io_uring-readback: %s\n",
			       strcmp(r, "ok") ? r : compare(got, want, len));
		}
	}
	return 0;
}
