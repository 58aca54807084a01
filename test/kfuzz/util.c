// SPDX-License-Identifier: MIT
/*
 * kfuzz helpers: output, the per-thread ring log, failure reports, counters,
 * zlib's CRC-32, and the fault probes.
 *
 * Output goes through write(2) from a stack buffer, never stdio: a fork
 * child of a multithreaded process (op_fork) may report a failure, and a
 * stdio lock another thread held at fork time would never be released.
 */
#include "kfuzz.h"

const char *const op_names[OP_COUNT] = {
	[OP_OPEN] = "open", [OP_CLOSE] = "close", [OP_DUP] = "dup",
	[OP_MMAP] = "mmap", [OP_MUNMAP] = "munmap", [OP_MREMAP] = "mremap",
	[OP_MPROTECT] = "mprotect", [OP_MADVISE] = "madvise",
	[OP_MLOCK] = "mlock", [OP_MUNLOCK] = "munlock", [OP_READ] = "read",
	[OP_WRITE] = "write", [OP_PREAD] = "pread", [OP_PWRITE] = "pwrite",
	[OP_READV] = "readv", [OP_WRITEV] = "writev", [OP_LSEEK] = "lseek",
	[OP_INFO] = "ioctl-info", [OP_SET_METHOD] = "ioctl-set-method",
	[OP_PFNS] = "ioctl-pfns", [OP_FILL] = "ioctl-fill",
	[OP_CHECKSUM] = "ioctl-checksum", [OP_BAD_IOCTL] = "ioctl-unknown",
	[OP_PHYS] = "ioctl-phys-addr", [OP_TOUCH] = "touch",
	[OP_FORK] = "fork", [OP_VMSPLICE] = "vmsplice",
	[OP_ODIRECT] = "odirect-read", [OP_IOURING] = "io_uring-fixed",
	[OP_METHOD_RACE] = "set-method-race", [OP_DRAIN] = "drain",
	[OP_RMMOD] = "rmmod", [OP_INSMOD] = "insmod",
};

const char *const outcome_names[OUT_COUNT] = {
	[OUT_SEGV_EXPECTED] = "expected SIGSEGV/SIGBUS caught",
	[OUT_OPEN_GONE] = "open ENOENT/ENODEV/ENXIO during a reload",
	[OUT_LKMC_DEAD] = "lkmc call on a removed entry (EIO)",
	[OUT_LKMC_UNSURE] = "lkmc call racing an unload (either outcome)",
	[OUT_RMMOD_REFUSED] = "rmmod refused while in use",
	[OUT_RMMOD_OK] = "rmmod succeeded",
	[OUT_RMMOD_BUSY_OK] = "rmmod refused while the reloader held an fd",
	[OUT_INSMOD_OK] = "insmod succeeded",
	[OUT_DRAINS] = "drains (all workers let go)",
	[OUT_ODIRECT_OK] = "O_DIRECT read into a mapping: ok",
	[OUT_ODIRECT_EFAULT] = "O_DIRECT read into a mapping: EFAULT",
	[OUT_ODIRECT_EINVAL] = "O_DIRECT read into a mapping: EINVAL",
	[OUT_ODIRECT_OTHER] = "O_DIRECT read into a mapping: other error",
	[OUT_ODIRECT_NOFILE] = "O_DIRECT: no file system here takes it",
	[OUT_URING_OK] = "io_uring READ_FIXED into a mapping: ok",
	[OUT_URING_REG_EFAULT] = "io_uring register buffers: EFAULT",
	[OUT_URING_REG_EOPNOTSUPP] = "io_uring register buffers: EOPNOTSUPP",
	[OUT_URING_REG_OTHER] = "io_uring register buffers: other error",
	[OUT_URING_READ_ERR] = "io_uring READ_FIXED: error result",
	[OUT_URING_UNAVAILABLE] = "io_uring unavailable",
	[OUT_VMSPLICE_OK] = "vmsplice of mapped pages: ok",
	[OUT_VMSPLICE_EFAULT] = "vmsplice of mapped pages: EFAULT",
	[OUT_DONTUNMAP_EINVAL] = "mremap MREMAP_DONTUNMAP: EINVAL",
	[OUT_DONTUNMAP_OK] = "mremap MREMAP_DONTUNMAP: ok",
	[OUT_SHORT_INEXACT] = "short copy stopped before the bad byte",
	[OUT_FORK_WROTE] = "fork child stores seen by the parent",
	[OUT_MADV_OK] = "madvise ok",
	[OUT_MADV_ERR] = "madvise refused",
	[OUT_MMAP_OK] = "mmap ok",
	[OUT_MMAP_ERR] = "mmap refused as expected",
	[OUT_MREMAP_MOVED] = "mremap moves",
	[OUT_RESYNC_PAGES] = "pages resynced (content was unknown)",
	[OUT_RACE_MAPS] = "mappings made while SET_METHOD raced",
	[OUT_PAGES_COMPARED] = "mapped pages compared with a shadow",
	[OUT_CRC_COMPARED] = "CHECKSUMs compared with the shadow's CRC-32",
	[OUT_READS_COMPARED] = "reads (read, vmsplice) compared with a shadow",
	[OUT_ODIRECT_EFAULT_PAGES] = "O_DIRECT EFAULT, method with struct pages",
	[OUT_URING_EFAULT_PAGES] = "io_uring register EFAULT, method with struct pages",
};

static void write_all(const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(STDERR_FILENO, buf, len);

		if (n <= 0) {
			if (n < 0 && errno == EINTR)
				continue;
			return;
		}
		buf += n;
		len -= (size_t)n;
	}
}

static void vout(const char *fmt, va_list ap)
{
	char buf[1024];
	int n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);

	if (n < 0)
		return;
	if ((size_t)n > sizeof(buf) - 2)
		n = sizeof(buf) - 2;
	buf[n++] = '\n';
	write_all(buf, (size_t)n);
}

void out(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vout(fmt, ap);
	va_end(ap);
}

void wlog(struct worker *w, const char *fmt, ...)
{
	struct logent *e = &w->log[w->log_next];
	va_list ap;
	int n;

	n = snprintf(e->text, sizeof(e->text), "#%llu %s: ",
		     (unsigned long long)w->log_total, op_names[w->op]);
	if (n < 0 || n >= (int)sizeof(e->text))
		n = 0;
	va_start(ap, fmt);
	vsnprintf(e->text + n, sizeof(e->text) - (size_t)n, fmt, ap);
	va_end(ap);
	w->log_next = (w->log_next + 1) % LOG_ENTRIES;
	w->log_total++;
}

void fail(struct worker *w, const char *fmt, ...)
{
	char msg[768];
	va_list ap;
	unsigned i;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	w->failed = true;
	__atomic_fetch_add(&sh->failures, 1, __ATOMIC_SEQ_CST);
	__atomic_store_n(&sh->stop, 1, __ATOMIC_SEQ_CST);

	/* The first failure gets the whole report; later ones one line. */
	if (__atomic_exchange_n(&sh->reported, 1, __ATOMIC_SEQ_CST)) {
		out("kfuzz: FAILURE (also) seed=%llu proc=%d thread=%d op=%s: %s",
		    (unsigned long long)sh->seed, w->proc, w->thread,
		    op_names[w->op], msg);
		return;
	}
	out("kfuzz: FAILURE seed=%llu proc=%d thread=%d (pid %d tid %d%s) op=%s",
	    (unsigned long long)sh->seed, w->proc, w->thread, (int)getpid(),
	    (int)syscall(SYS_gettid), w->in_child ? ", fork child" : "",
	    op_names[w->op]);
	out("kfuzz:   %s", msg);
	out("kfuzz: last %d calls of this thread, oldest first:",
	    LOG_ENTRIES);
	for (i = 0; i < LOG_ENTRIES; i++) {
		struct logent *e = &w->log[(w->log_next + i) % LOG_ENTRIES];

		if (e->text[0])
			out("kfuzz:   %s", e->text);
	}
	out("kfuzz: reproduce with --seed %llu (same --procs/--threads)",
	    (unsigned long long)sh->seed);
}

void count_call(void)
{
	uint64_t n = __atomic_add_fetch(&sh->calls, 1, __ATOMIC_RELAXED);

	if (sh->max_calls && n >= sh->max_calls)
		__atomic_store_n(&sh->stop, 1, __ATOMIC_RELAXED);
}

void count_op(enum op op)
{
	__atomic_add_fetch(&sh->op_count[op], 1, __ATOMIC_RELAXED);
}

void outcome(enum outcome o)
{
	__atomic_add_fetch(&sh->outcome[o], 1, __ATOMIC_RELAXED);
}

bool stopping(void)
{
	return __atomic_load_n(&sh->stop, __ATOMIC_RELAXED);
}

uint32_t seq_read(void)
{
	return __atomic_load_n(&sh->seq, __ATOMIC_SEQ_CST);
}

uint32_t inst_read(void)
{
	return __atomic_load_n(&sh->instance, __ATOMIC_SEQ_CST);
}

/*
 * CRC-32 as zlib's crc32() (reflected, polynomial 0xEDB88320, inverted in
 * and out): KMMAP_IOC_CHECKSUM returns ~crc32_le(~0, ...), the same thing.
 */
static uint32_t crc_table[256];

static void crc_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;

		for (int k = 0; k < 8; k++)
			c = c & 1 ? 0xEDB88320U ^ (c >> 1) : c >> 1;
		crc_table[i] = c;
	}
}

uint32_t crc32_zlib(uint32_t crc, const uint8_t *p, size_t len)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, crc_init);
	crc = ~crc;
	while (len--)
		crc = crc_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

const char *errname(int e)
{
	static const struct {
		int e;
		const char *name;
	} names[] = {
		{ 0, "0" }, { EPERM, "EPERM" }, { ENOENT, "ENOENT" },
		{ EINTR, "EINTR" }, { EIO, "EIO" }, { ENXIO, "ENXIO" },
		{ EBADF, "EBADF" }, { EAGAIN, "EAGAIN" }, { ENOMEM, "ENOMEM" },
		{ EACCES, "EACCES" }, { EFAULT, "EFAULT" }, { EBUSY, "EBUSY" },
		{ EEXIST, "EEXIST" }, { ENODEV, "ENODEV" }, { EINVAL, "EINVAL" },
		{ ENOSPC, "ENOSPC" }, { ESPIPE, "ESPIPE" }, { ENOTTY, "ENOTTY" },
		{ EOVERFLOW, "EOVERFLOW" }, { ENOSYS, "ENOSYS" },
		{ EOPNOTSUPP, "EOPNOTSUPP" }, { ETXTBSY, "ETXTBSY" },
		{ EMFILE, "EMFILE" },
	};
	static __thread char buf[16];

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].e == e)
			return names[i].name;
	snprintf(buf, sizeof(buf), "errno%d", e);
	return buf;
}

/* ---------------------------------------------------------- fault probes */

static __thread struct worker *current_worker;

void set_current_worker(struct worker *w)
{
	current_worker = w;
}

/*
 * SIGSEGV/SIGBUS: inside a probe (armed), jump back to it with the signal;
 * anywhere else it is a failure of its own (a page that had to be there was
 * not, or a bug in kfuzz), reported with the log before the process dies.
 * SA_NODEFER: the jump leaves the handler without sigreturn, so the signal
 * must not stay blocked (sigsetjmp(, 0) does not save the mask: no syscall
 * per probe).
 */
static void on_fault(int sig, siginfo_t *si, void *uc)
{
	struct worker *w = current_worker;

	(void)uc;
	if (w && w->armed) {
		w->armed = 0;
		w->fault_sig = sig;
		w->fault_addr = si->si_addr;
		siglongjmp(w->jb, 1);
	}
	if (w) {
		fail(w, "signal %d (%s) at %p outside any probe", sig,
		     sig == SIGBUS ? "SIGBUS" : "SIGSEGV", si->si_addr);
	} else {
		out("kfuzz: FAILURE seed=%llu: signal %d at %p outside any worker",
		    (unsigned long long)sh->seed, sig, si->si_addr);
		__atomic_fetch_add(&sh->failures, 1, __ATOMIC_SEQ_CST);
		__atomic_store_n(&sh->stop, 1, __ATOMIC_SEQ_CST);
	}
	_exit(3);
}

void install_fault_handler(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_fault;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
}

/*
 * Each probe returns 0, or the signal (SIGSEGV/SIGBUS) that interrupted it.
 * PROBE runs `access` armed; sigsetjmp must sit in the probe's own frame (the
 * handler jumps back into it), hence a macro, not a helper function.
 */
#define PROBE(w, access)					\
	do {							\
		if (sigsetjmp((w)->jb, 0))			\
			return (w)->fault_sig;			\
		(w)->armed = 1;					\
		access;						\
		(w)->armed = 0;					\
		return 0;					\
	} while (0)

int probe_read(struct worker *w, const volatile uint8_t *p, uint8_t *val)
{
	PROBE(w, *val = *p);
}

/* *diff: the first byte that differs, or len if none does. */
static void compare_bytes(const volatile uint8_t *p, const uint8_t *expect,
			  size_t len, size_t *diff)
{
	*diff = len;
	if (!memcmp((const uint8_t *)p, expect, len))
		return;
	for (size_t i = 0; i < len; i++)
		if (p[i] != expect[i]) {
			*diff = i;
			return;
		}
}

int probe_cmp(struct worker *w, const uint8_t *p, const uint8_t *expect,
	      size_t len, size_t *diff)
{
	PROBE(w, compare_bytes(p, expect, len, diff));
}

int probe_copy_in(struct worker *w, uint8_t *dst, const uint8_t *src,
		  size_t len)
{
	PROBE(w, memcpy(dst, src, len));
}

/* Stores the byte the location already holds: a write probe that, if the
 * store is wrongly allowed, changes nothing. */
int probe_store_same(struct worker *w, volatile uint8_t *p)
{
	PROBE(w, *p = *p);
}

/* Byte by byte through volatile stores, which the compiler may not merge. */
static void store_bytes(volatile uint8_t *dst, const uint8_t *src, size_t len)
{
	for (size_t i = 0; i < len; i++)
		dst[i] = src[i];
}

int probe_write(struct worker *w, uint8_t *dst, const uint8_t *src,
		size_t len)
{
	PROBE(w, store_bytes(dst, src, len));
}
