// SPDX-License-Identifier: MIT
/*
 * The reloader: a process that unloads and reloads kmmap.ko under the
 * workers' feet.
 *
 *   busy check   opens /dev/kmmap itself and calls delete_module: the
 *                module is certainly in use, so the unload must be
 *                refused (the kernel says EAGAIN, "in use", which kmod's
 *                rmmod prints; EBUSY if it is already going away);
 *   opportunistic  delete_module whenever: refused while any worker holds
 *                a descriptor or mapping (the usual case), or it works and
 *                the module is inserted again at once;
 *   drain        asks every worker to let go of /dev/kmmap and of every
 *                mapping (they keep /proc/lkmc_mmap descriptors, which do
 *                not hold the module), waits for all of them, then the
 *                unload must work; the module comes back with other
 *                parameters (backing, default method, fault-around batch).
 *
 * shared->seq is odd from just before delete_module until the module is
 * back, and shared->instance counts unloads: that is how workers tell a
 * /proc/lkmc_mmap call that raced an unload from a wrong answer.
 */
#include "kfuzz.h"

static int ko_fd = -1;

static const char *const param_sets[] = {
	"",
	"backing=vmalloc",
	"backing=vmalloc method=vmalloc",
	"method=pages",
	"method=pfn",
	"method=fault_around fault_around_pages=1",
	"method=fault_around fault_around_pages=512",
	"backing=vmalloc method=fault_around fault_around_pages=3",
};

static void seq_bump(void)
{
	__atomic_add_fetch(&sh->seq, 1, __ATOMIC_SEQ_CST);
}

static int delete_module(void)
{
	return (int)syscall(SYS_delete_module, "kmmap", O_NONBLOCK);
}

static int refcnt(void)
{
	char buf[32] = "";
	int fd = open("/sys/module/kmmap/refcnt", O_RDONLY);

	if (fd < 0)
		return -1;
	if (read(fd, buf, sizeof(buf) - 1) < 0)
		buf[0] = 0;
	close(fd);
	return atoi(buf);
}

static bool insmod(struct worker *w)
{
	char params[160];
	const char *set = param_sets[below(&w->rng, sizeof(param_sets) /
					   sizeof(param_sets[0]))];
	int r, e;

	/* the buffer keeps its size: the workers' slices depend on it */
	snprintf(params, sizeof(params), "size=%llu %s",
		 (unsigned long long)sh->buf_size, set);
	w->op = OP_INSMOD;
	count_op(OP_INSMOD);
	r = (int)syscall(SYS_finit_module, ko_fd, params, 0);
	e = errno;
	count_call();
	wlog(w, "finit_module(%s, \"%s\") = %d %s", opt.ko, params, r,
	     r ? errname(e) : "");
	if (r) {
		fail(w, "insmod %s %s failed: %s", opt.ko, params, errname(e));
		return false;
	}
	outcome(OUT_INSMOD_OK);
	return true;
}

/*
 * One unload attempt (must: it has to work, retried while something
 * asynchronous still lets go), and the reload if it worked.
 */
static void unload(struct worker *w, bool must)
{
	int r, e, tries = 0;

	w->op = OP_RMMOD;
	count_op(OP_RMMOD);
	seq_bump();
	for (;;) {
		r = delete_module();
		e = errno;
		count_call();
		wlog(w, "delete_module(kmmap, O_NONBLOCK) = %d %s (refcnt %d)",
		     r, r ? errname(e) : "", r ? refcnt() : 0);
		if (!r || !must || (e != EAGAIN && e != EBUSY) || ++tries > 200)
			break;
		usleep(50000);
	}
	if (!r) {
		__atomic_add_fetch(&sh->instance, 1, __ATOMIC_SEQ_CST);
		outcome(OUT_RMMOD_OK);
		insmod(w);
	}
	seq_bump();
	if (r) {
		if (must)
			fail(w, "rmmod failed with every worker drained: %s (refcnt %d)",
			     errname(e), refcnt());
		else if (e != EAGAIN && e != EBUSY)
			fail(w, "rmmod refused with %s, expected EAGAIN (in use) or EBUSY",
			     errname(e));
		else
			outcome(OUT_RMMOD_REFUSED);
	}
}

static void busy_check(struct worker *w)
{
	int fd, r, e;

	w->op = OP_RMMOD;
	count_op(OP_RMMOD);
	fd = open(DEV_PATH, O_RDONLY | O_CLOEXEC);
	e = errno;
	count_call();
	wlog(w, "open(%s) = %d %s", DEV_PATH, fd, fd < 0 ? errname(e) : "");
	if (fd < 0) {
		fail(w, "open(%s) failed while the module is loaded: %s",
		     DEV_PATH, errname(e));
		return;
	}
	seq_bump();
	r = delete_module();
	e = errno;
	count_call();
	wlog(w, "delete_module(kmmap) holding fd %d = %d %s", fd, r,
	     r ? errname(e) : "");
	if (!r) {
		__atomic_add_fetch(&sh->instance, 1, __ATOMIC_SEQ_CST);
		fail(w, "rmmod succeeded while this process held /dev/kmmap open");
		insmod(w);
	} else if (e != EAGAIN && e != EBUSY) {
		fail(w, "rmmod of a module in use failed with %s, expected EAGAIN or EBUSY",
		     errname(e));
	} else {
		outcome(OUT_RMMOD_BUSY_OK);
	}
	seq_bump();
	close(fd);
}

static void drain(struct worker *w)
{
	int waited = 0;

	w->op = OP_DRAIN;
	count_op(OP_DRAIN);
	wlog(w, "drain: asking %d workers to let go", sh->nworkers);
	__atomic_store_n(&sh->drain, 1, __ATOMIC_SEQ_CST);
	while (__atomic_load_n(&sh->drain_acks, __ATOMIC_SEQ_CST) <
	       sh->nworkers && !stopping()) {
		usleep(10000);
		/* a long fork or io_uring op under emulation takes a while */
		if (++waited > 18000) {
			fail(w, "drain: only %d of %d workers let go within 180 s",
			     sh->drain_acks, sh->nworkers);
			break;
		}
	}
	if (!stopping()) {
		wlog(w, "drain: all %d workers let go after %d ms",
		     sh->nworkers, waited * 10);
		unload(w, true);
		outcome(OUT_DRAINS);
	}
	__atomic_store_n(&sh->drain, 0, __ATOMIC_SEQ_CST);
}

static bool loaded(void)
{
	return access("/sys/module/kmmap", F_OK) == 0;
}

void reloader_run(void)
{
	struct worker *w = calloc(1, sizeof(*w));

	w->proc = -1;
	w->thread = 0;
	w->rng.s = sh->seed * 0x2545f4914f6cdd1dULL ^ 0x72656c6f6164ULL;
	set_current_worker(w);
	ko_fd = open(opt.ko, O_RDONLY | O_CLOEXEC);
	if (ko_fd < 0) {
		out("kfuzz: reloader: cannot open %s: %s", opt.ko,
		    strerror(errno));
		__atomic_fetch_add(&sh->failures, 1, __ATOMIC_SEQ_CST);
		__atomic_store_n(&sh->stop, 1, __ATOMIC_SEQ_CST);
		return;
	}
	while (!stopping()) {
		unsigned ms = 1000 + (unsigned)below(&w->rng, 3000);

		for (unsigned t = 0; t < ms && !stopping(); t += 50)
			usleep(50000);
		if (stopping())
			break;
		unsigned k = (unsigned)below(&w->rng, 10);

		if (k < 3)
			busy_check(w);
		else if (k < 7)
			unload(w, false);
		else
			drain(w);
	}
	/* leave the module loaded, as it was found */
	if (!loaded() && !w->failed) {
		seq_bump();
		insmod(w);
		seq_bump();
	}
}
