// SPDX-License-Identifier: MIT
/*
 * kfuzz operations that bring other kernel subsystems onto kmmap's pages:
 * fork (the child inherits the mappings), vmsplice (the pipe takes page
 * references), O_DIRECT and io_uring fixed buffers (the block or file
 * layer writes into pinned pages), and SET_METHOD racing mmap.
 */
#include "kfuzz.h"

#include <linux/io_uring.h>

/* A shared dev mapping with prot bits `need` and at least one own page. */
static bool dev_own(struct worker *w, struct map *m, int need)
{
	if (m->kind != K_DEV || !m->shared || (m->prot & need) != need)
		return false;
	return m->dev_off < w->slice_off + w->slice_len &&
	       m->dev_off + m->len > w->slice_off;
}

static bool dev_own_rw(struct worker *w, struct map *m)
{
	return dev_own(w, m, PROT_READ | PROT_WRITE);
}

static bool readable_map(struct worker *w, struct map *m)
{
	if (!(m->prot & PROT_READ))
		return false;
	if (m->kind == K_DEV)
		return dev_own(w, m, PROT_READ);
	return m->shared || m->priv != PRIV_UNKNOWN;
}

/*
 * The own pages of a mapping: a random run of at most max_pages of them,
 * as an address, a buffer offset and a page count.
 */
static void own_run(struct worker *w, struct map *m, size_t max_pages,
		    uint8_t **addr, uint64_t *boff, size_t *pages)
{
	uint64_t lo = m->dev_off > w->slice_off ? m->dev_off : w->slice_off;
	uint64_t hi = m->dev_off + m->len < w->slice_off + w->slice_len ?
		      m->dev_off + m->len : w->slice_off + w->slice_len;
	size_t avail = (size_t)((hi - lo) / PG);
	size_t first = below(&w->rng, avail);
	size_t n = 1 + below(&w->rng, avail - first);

	if (n > max_pages)
		n = max_pages;
	*boff = lo + first * PG;
	*addr = m->addr + (*boff - m->dev_off);
	*pages = n;
}

/* ------------------------------------------------------------------ fork */

void op_fork(struct worker *w)
{
	int mi = find_map(w, dev_own_rw), st = 0;
	uint8_t *a = NULL, buf[64];
	uint64_t boff = 0;
	size_t pages = 0, n = 1 + below(&w->rng, sizeof(buf));
	bool drop = chance(&w->rng, 50);
	pid_t pid;

	/* The child's store: where and what, decided before the fork. */
	if (mi >= 0 && chance(&w->rng, 60) && !w->maps[mi].dontfork) {
		own_run(w, &w->maps[mi], 1, &a, &boff, &pages);
		size_t at = below(&w->rng, PG - n + 1);

		a += at;
		boff += at;
		for (size_t i = 0; i < n; i++)
			buf[i] = (uint8_t)rnd(&w->rng);
	}
	pid = fork();
	count_call();
	if (pid < 0) {
		wlog(w, "fork() = -1 %s", errname(errno));
		if (errno != EAGAIN && errno != ENOMEM)
			fail(w, "fork failed: %s", errname(errno));
		return;
	}
	if (pid == 0) {
		w->in_child = true;
		wlog(w, "fork child %d: checking %s", (int)getpid(),
		     a ? "and storing" : "only");
		for (int i = 0; i < MAX_MAPS; i++)
			if (w->maps[i].used && !check_map(w, &w->maps[i], true))
				_exit(1);
		if (a) {
			int sig = probe_write(w, a, buf, n);

			wlog(w, "child store %zu bytes at %p: signal %d", n,
			     (void *)a, sig);
			if (sig) {
				fail(w, "fork child: store into an inherited writable mapping got signal %d",
				     sig);
				_exit(1);
			}
		}
		/* unmapping in the child runs vm_close on the copies */
		if (drop)
			for (int i = 0; i < MAX_MAPS; i++)
				if (w->maps[i].used)
					munmap(w->maps[i].addr, w->maps[i].len);
		_exit(a ? 10 : 0);
	}
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	wlog(w, "fork() = %d; child status %#x%s", (int)pid, st,
	     a ? " (it stored)" : "");
	if (WIFEXITED(st) && WEXITSTATUS(st) == 10 && a) {
		shadow_set(w, boff, buf, n);
		outcome(OUT_FORK_WROTE);
		return;
	}
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		fail(w, "fork child %d ended with status %#x (%s)", (int)pid,
		     st, WIFSIGNALED(st) ? "killed by a signal" :
		     "it reported a failure");
}

/* -------------------------------------------------------------- vmsplice */

void op_vmsplice(struct worker *w)
{
	int mi = find_map(w, readable_map), p[2], e;
	struct map *m;
	uint8_t *a;
	uint64_t boff;
	size_t pages, len;
	struct iovec iov;
	ssize_t r;
	static __thread uint8_t *back;

	if (mi < 0)
		return;
	if (!back)
		back = malloc(16 * PG);
	m = &w->maps[mi];
	if (m->kind == K_DEV) {
		own_run(w, m, 16, &a, &boff, &pages);
	} else {
		a = m->addr;
		boff = 0;
		pages = 1;
	}
	len = pages * PG;
	if (pipe2(p, O_CLOEXEC)) {
		fail(w, "pipe2: %s", errname(errno));
		return;
	}
	count_call();
	iov = (struct iovec){ a, len };
	r = vmsplice(p[1], &iov, 1, SPLICE_F_NONBLOCK);
	e = errno;
	count_call();
	wlog(w, "vmsplice(%p, %#zx) method %d = %zd %s", (void *)a, len,
	     m->method, r, r < 0 ? errname(e) : "");
	if (r < 0) {
		/*
		 * A pfn mapping has no struct pages to take references to;
		 * every other method's pages are normal pages.
		 */
		if (e == EFAULT && (m->kind == K_DEV &&
				    (m->method == KMMAP_METHOD_PFN || m->method < 0))) {
			outcome(OUT_VMSPLICE_EFAULT);
		} else {
			fail(w, "vmsplice of a readable mapping (method %d) failed: %s",
			     m->method, errname(e));
		}
		goto out;
	}
	outcome(OUT_VMSPLICE_OK);
	size_t got = 0;

	while (got < (size_t)r) {
		ssize_t k = read(p[0], back + got, (size_t)r - got);

		if (k <= 0) {
			fail(w, "reading the vmspliced pages back: %zd %s", k,
			     errname(errno));
			goto out;
		}
		got += (size_t)k;
	}
	count_call();
	wlog(w, "read back %zu bytes from the pipe", got);
	if (m->kind == K_DEV) {
		check_dev_bytes(w, boff, back, got, "vmsplice read-back");
	} else {
		const uint8_t *view = m->shared || m->priv == PRIV_SHARED ?
				      w->ofds[m->ofd].page : m->privpage;

		if (view && memcmp(back, view, got))
			fail(w, "vmsplice of a lkmc page reads back other bytes than the page holds");
	}
out:
	close(p[0]);
	close(p[1]);
}

/* ------------------------------------------------------------- the file */

static char data_path[200];

/*
 * The data file O_DIRECT and io_uring read from: its bytes are
 * data_byte(i). O_DIRECT needs a file system that takes it: tmpfs from 6.6
 * on, the repository's 9p share perhaps; the first candidate where an
 * O_DIRECT read works is used, and the file stays buffered-only otherwise.
 */
void setup_data_file(const char *extra_dir)
{
	const char *dirs[] = { extra_dir, "/dev/shm", "/tmp" };
	uint8_t *block = aligned_alloc(PG, 16 * PG);
	uint8_t *probe = aligned_alloc(PG, PG);

	sh->data_len = 1 << 20;
	for (size_t k = 0; k < sizeof(dirs) / sizeof(dirs[0]); k++) {
		if (!dirs[k])
			continue;
		snprintf(data_path, sizeof(data_path), "%.150s/kfuzz-data.%d",
			 dirs[k], (int)getpid());
		int fd = open(data_path, O_RDWR | O_CREAT | O_TRUNC, 0600);

		if (fd < 0)
			continue;
		bool ok = true;

		for (uint64_t off = 0; off < sh->data_len && ok; off += 16 * PG) {
			for (size_t i = 0; i < 16 * PG; i++)
				block[i] = data_byte(off + i);
			ok = pwrite(fd, block, 16 * PG, (off_t)off) == 16 * PG;
		}
		fsync(fd);
		close(fd);
		if (!ok) {
			unlink(data_path);
			continue;
		}
		if (!sh->odirect_path[0])
			snprintf(sh->odirect_path, sizeof(sh->odirect_path),
				 "%s", data_path);
		fd = open(data_path, O_RDONLY | O_DIRECT);
		if (fd >= 0 && pread(fd, probe, PG, PG) == (ssize_t)PG &&
		    probe[7] == data_byte(PG + 7)) {
			close(fd);
			/* this one takes O_DIRECT: use it for everything */
			if (strcmp(sh->odirect_path, data_path))
				unlink(sh->odirect_path);
			snprintf(sh->odirect_path, sizeof(sh->odirect_path),
				 "%s", data_path);
			snprintf(sh->odirect_where, sizeof(sh->odirect_where),
				 "%s", dirs[k]);
			break;
		}
		if (fd >= 0)
			close(fd);
		if (strcmp(sh->odirect_path, data_path))
			unlink(data_path);
	}
	free(block);
	free(probe);
}

void remove_data_file(void)
{
	if (sh->odirect_path[0])
		unlink(sh->odirect_path);
}

/* ------------------------------------------------------------- O_DIRECT */

/*
 * A read of `len` bytes from the data file at `foff` into the worker's slice
 * at `boff` moved `got` of them: the shadow takes the file's bytes for those,
 * and the rest of the range is unknown (a short read may have written part).
 */
static void shadow_from_data_file(struct worker *w, uint64_t boff, uint64_t foff,
				  size_t got, size_t len)
{
	uint8_t tmp[PG];

	for (size_t done = 0; done < got; done += PG) {
		size_t k = got - done < PG ? got - done : PG;

		for (size_t i = 0; i < k; i++)
			tmp[i] = data_byte(foff + done + i);
		shadow_set(w, boff + done, tmp, k);
	}
	if (got < len)
		shadow_unknown(w, boff + got, len - got);
}

void op_odirect(struct worker *w)
{
	int mi = find_map(w, dev_own_rw), fd, e;
	struct map *m;
	uint8_t *a;
	uint64_t boff, foff;
	size_t pages, len;
	ssize_t r;

	if (mi < 0)
		return;
	if (!sh->odirect_where[0]) {
		/* nowhere takes O_DIRECT: record that, once per call */
		outcome(OUT_ODIRECT_NOFILE);
		return;
	}
	m = &w->maps[mi];
	own_run(w, m, 16, &a, &boff, &pages);
	len = pages * PG;
	foff = PG * below(&w->rng, sh->data_len / PG - pages + 1);
	fd = open(sh->odirect_path, O_RDONLY | O_DIRECT | O_CLOEXEC);
	count_call();
	if (fd < 0) {
		fail(w, "open(%s, O_DIRECT): %s", sh->odirect_path,
		     errname(errno));
		return;
	}
	r = pread(fd, a, len, (off_t)foff);
	e = errno;
	count_call();
	wlog(w, "O_DIRECT pread(%p, %#zx, file %#llx) method %d = %zd %s",
	     (void *)a, len, (unsigned long long)foff, m->method, r,
	     r < 0 ? errname(e) : "");
	close(fd);
	if (r < 0) {
		outcome(e == EFAULT ? OUT_ODIRECT_EFAULT :
			e == EINVAL ? OUT_ODIRECT_EINVAL : OUT_ODIRECT_OTHER);
		if (e == EFAULT && m->method >= 0 && m->method != KMMAP_METHOD_PFN)
			outcome(OUT_ODIRECT_EFAULT_PAGES);
		/* a pfn mapping cannot be pinned: nothing was read */
		if (m->method != KMMAP_METHOD_PFN)
			shadow_unknown(w, boff, len);
		return;
	}
	outcome(OUT_ODIRECT_OK);
	shadow_from_data_file(w, boff, foff, (size_t)r, len);
	check_map(w, m, false);
}

/* -------------------------------------------------------------- io_uring */

static int uring_setup(unsigned entries, struct io_uring_params *p)
{
	return (int)syscall(__NR_io_uring_setup, entries, p);
}

static int uring_enter(int fd, unsigned submit, unsigned wait, unsigned flags)
{
	return (int)syscall(__NR_io_uring_enter, fd, submit, wait, flags,
			    NULL, 0);
}

static int uring_register(int fd, unsigned op, void *arg, unsigned n)
{
	return (int)syscall(__NR_io_uring_register, fd, op, arg, n);
}

void op_iouring(struct worker *w)
{
	int mi = find_map(w, dev_own_rw), ring, r, e;
	struct io_uring_params p;
	struct map *m;
	uint8_t *a, *sq = MAP_FAILED, *cq = MAP_FAILED;
	struct io_uring_sqe *sqes = MAP_FAILED;
	size_t sq_len, cq_len, pages, len;
	uint64_t boff, foff;
	struct iovec iov;

	if (mi < 0 || w->datafd < 0)
		return;
	m = &w->maps[mi];
	memset(&p, 0, sizeof(p));
	ring = uring_setup(4, &p);
	count_call();
	if (ring < 0) {
		wlog(w, "io_uring_setup = -1 %s", errname(errno));
		outcome(OUT_URING_UNAVAILABLE);
		return;
	}
	sq_len = p.sq_off.array + p.sq_entries * sizeof(uint32_t);
	cq_len = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
	if (p.features & IORING_FEAT_SINGLE_MMAP) {
		if (cq_len > sq_len)
			sq_len = cq_len;
		cq_len = sq_len;
	}
	sq = mmap(NULL, sq_len, PROT_READ | PROT_WRITE, MAP_SHARED |
		  MAP_POPULATE, ring, IORING_OFF_SQ_RING);
	cq = p.features & IORING_FEAT_SINGLE_MMAP ? sq :
	     mmap(NULL, cq_len, PROT_READ | PROT_WRITE, MAP_SHARED |
		  MAP_POPULATE, ring, IORING_OFF_CQ_RING);
	sqes = mmap(NULL, p.sq_entries * sizeof(struct io_uring_sqe),
		    PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, ring,
		    IORING_OFF_SQES);
	if (sq == MAP_FAILED || cq == MAP_FAILED || sqes == MAP_FAILED) {
		fail(w, "mapping the io_uring rings: %s", errname(errno));
		goto out;
	}

	own_run(w, m, 8, &a, &boff, &pages);
	len = pages * PG;
	iov = (struct iovec){ a, len };
	r = uring_register(ring, IORING_REGISTER_BUFFERS, &iov, 1);
	e = errno;
	count_call();
	wlog(w, "io_uring REGISTER_BUFFERS(%p, %#zx) method %d = %d %s",
	     (void *)a, len, m->method, r, r < 0 ? errname(e) : "");
	if (r < 0) {
		outcome(e == EFAULT ? OUT_URING_REG_EFAULT :
			e == EOPNOTSUPP ? OUT_URING_REG_EOPNOTSUPP :
			OUT_URING_REG_OTHER);
		if (e == EFAULT && m->method >= 0 && m->method != KMMAP_METHOD_PFN)
			outcome(OUT_URING_EFAULT_PAGES);
		goto out;
	}

	/* One READ_FIXED from the data file into the registered buffer. */
	uint32_t *sq_tail = (uint32_t *)(sq + p.sq_off.tail);
	uint32_t *sq_mask = (uint32_t *)(sq + p.sq_off.ring_mask);
	uint32_t *sq_array = (uint32_t *)(sq + p.sq_off.array);
	uint32_t *cq_head = (uint32_t *)(cq + p.cq_off.head);
	uint32_t *cq_tail = (uint32_t *)(cq + p.cq_off.tail);
	uint32_t *cq_mask = (uint32_t *)(cq + p.cq_off.ring_mask);
	struct io_uring_cqe *cqes = (struct io_uring_cqe *)(cq + p.cq_off.cqes);
	uint32_t tail = *sq_tail, idx = tail & *sq_mask;
	struct io_uring_sqe *sqe = &sqes[idx];

	foff = PG * below(&w->rng, sh->data_len / PG - pages + 1);
	memset(sqe, 0, sizeof(*sqe));
	sqe->opcode = IORING_OP_READ_FIXED;
	sqe->fd = w->datafd;
	sqe->addr = (uintptr_t)a;
	sqe->len = (uint32_t)len;
	sqe->off = foff;
	sqe->buf_index = 0;
	sqe->user_data = 0x6b66757aULL;
	sq_array[idx] = idx;
	__atomic_store_n(sq_tail, tail + 1, __ATOMIC_RELEASE);
	r = uring_enter(ring, 1, 1, IORING_ENTER_GETEVENTS);
	e = errno;
	count_call();
	if (r < 0) {
		wlog(w, "io_uring_enter = -1 %s", errname(e));
		fail(w, "io_uring_enter failed: %s", errname(e));
		goto unregister;
	}
	uint32_t head = *cq_head;

	if (head == __atomic_load_n(cq_tail, __ATOMIC_ACQUIRE)) {
		fail(w, "io_uring_enter returned with no completion");
		goto unregister;
	}
	int res = cqes[head & *cq_mask].res;

	__atomic_store_n(cq_head, head + 1, __ATOMIC_RELEASE);
	wlog(w, "io_uring READ_FIXED(%p, %#zx, file %#llx) res %d", (void *)a,
	     len, (unsigned long long)foff, res);
	if (res < 0) {
		outcome(OUT_URING_READ_ERR);
		shadow_unknown(w, boff, len);
	} else {
		outcome(OUT_URING_OK);
		shadow_from_data_file(w, boff, foff, (size_t)res, len);
	}
unregister:
	r = uring_register(ring, IORING_UNREGISTER_BUFFERS, NULL, 0);
	e = errno;
	count_call();
	wlog(w, "io_uring UNREGISTER_BUFFERS = %d %s", r, r < 0 ? errname(e) : "");
	if (r < 0 && !w->failed)
		fail(w, "io_uring UNREGISTER_BUFFERS failed: %s", errname(e));
	if (!w->failed)
		check_map(w, m, false);
out:
	if (sqes != MAP_FAILED)
		munmap(sqes, p.sq_entries * sizeof(struct io_uring_sqe));
	if (cq != MAP_FAILED && cq != sq)
		munmap(cq, cq_len);
	if (sq != MAP_FAILED)
		munmap(sq, sq_len);
	close(ring);
}

/* ------------------------------------------------------ SET_METHOD race */

struct race {
	int fd;
	uint32_t methods;
	uint64_t seed;
	int go;
	unsigned calls;
};

static void *race_thread(void *arg)
{
	struct race *rc = arg;
	struct rng rng = { rc->seed };

	/* bounded: the race is with 4 mmaps, not a call-count inflater */
	while (__atomic_load_n(&rc->go, __ATOMIC_ACQUIRE) && rc->calls < 256) {
		uint32_t how = (uint32_t)below(&rng, KMMAP_METHOD_COUNT + 1);

		ioctl(rc->fd, KMMAP_IOC_SET_METHOD, &how);
		count_call();
		rc->calls++;
	}
	return NULL;
}

static bool dev_readable_fd(struct worker *w, int fi)
{
	struct ofd *o = &w->ofds[w->fds[fi].ofd];

	return w->fds[fi].fd >= 0 && o->kind == K_DEV && o->acc != O_WRONLY;
}

/*
 * One thread flips the file's method while this one maps it: each mmap
 * sees one method or another, never a mix, and every mapping must show the
 * same bytes whatever method made it.
 */
void op_method_race(struct worker *w)
{
	int fi = -1, free_slots = 0;
	struct race rc;
	pthread_t t;
	struct ofd *o;

	for (int i = 0; i < MAX_FDS; i++)
		if (dev_readable_fd(w, i) && (fi < 0 || chance(&w->rng, 50)))
			fi = i;
	for (int i = 0; i < MAX_MAPS; i++)
		free_slots += !w->maps[i].used;
	if (fi < 0 || free_slots < 8)
		return;
	o = &w->ofds[w->fds[fi].ofd];
	rc = (struct race){ .fd = w->fds[fi].fd, .methods = o->methods,
			    .seed = rnd(&w->rng), .go = 1 };
	if (pthread_create(&t, NULL, race_thread, &rc)) {
		fail(w, "pthread_create: %s", errname(errno));
		return;
	}
	int made[4], nmade = 0;

	for (int k = 0; k < 4; k++) {
		size_t pages = 1 + below(&w->rng, w->slice_len / PG);
		uint64_t off = w->slice_off +
			       PG * below(&w->rng, w->slice_len / PG - pages + 1);
		int prot = o->acc == O_RDWR && chance(&w->rng, 50) ?
			   PROT_READ | PROT_WRITE : PROT_READ;
		uint8_t *a = mmap(NULL, pages * PG, prot, MAP_SHARED,
				  w->fds[fi].fd, (off_t)off);
		int e = errno;

		count_call();
		wlog(w, "mmap(%#zx, prot %#x, off %#llx) racing SET_METHOD = %p %s",
		     pages * PG, prot, (unsigned long long)off,
		     a == MAP_FAILED ? NULL : (void *)a,
		     a == MAP_FAILED ? errname(e) : "");
		if (a == MAP_FAILED) {
			fail(w, "mmap racing SET_METHOD failed: %s", errname(e));
			break;
		}
		int mi = -1;

		for (int i = 0; i < MAX_MAPS; i++)
			if (!w->maps[i].used) {
				mi = i;
				break;
			}
		struct map *m = &w->maps[mi];

		memset(m, 0, sizeof(*m));
		m->used = true;
		m->kind = K_DEV;
		m->addr = a;
		m->len = pages * PG;
		m->prot = prot;
		m->shared = true;
		m->may_write = prot & PROT_WRITE;
		m->may_exec = !sh->noexec[K_DEV];
		m->dev_off = off;
		m->method = -1;
		made[nmade++] = mi;
		outcome(OUT_RACE_MAPS);
	}
	__atomic_store_n(&rc.go, 0, __ATOMIC_RELEASE);
	pthread_join(t, NULL);
	wlog(w, "SET_METHOD racer made %u calls", rc.calls);
	o->method = -1;		/* whichever the racer set last */
	for (int k = 0; k < nmade && !w->failed; k++)
		check_map(w, &w->maps[made[k]], false);
}
