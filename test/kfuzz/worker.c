// SPDX-License-Identifier: MIT
/*
 * kfuzz workers: one per thread. Each keeps a model of what it holds
 * (descriptors, open files, mappings) and of the bytes it may expect
 * (its slice of /dev/kmmap, each /proc/lkmc_mmap page it opened), issues
 * random calls, predicts each result from the model, and checks it.
 *
 * /dev/kmmap's buffer is shared by every opener, so each worker owns a
 * slice of it that only it writes (write, pwrite, writev, FILL, stores
 * through a mapping, O_DIRECT and io_uring reads into a mapping); it checks
 * that slice through read, pread, readv, CHECKSUM, loads from mappings,
 * vmsplice and fork children. Other slices are read and mapped too, never
 * checked. A fresh module (after rmmod/insmod) has a zeroed buffer: the
 * worker notices the new instance when it next opens the device (it cannot
 * be unloaded while the worker holds a descriptor or a mapping) and resets
 * its shadow to zeros.
 */
#include "kfuzz.h"

#define MAX_RW_COUNT (0x7fffffffL & ~(long)(PG - 1))
#define KERNEL_ADDR ((uint8_t *)0xffffffff81000000UL)
#define UNMAPPED_ADDR ((uint8_t *)0x1000UL)	/* below mmap_min_addr */

/* ------------------------------------------------------------ expectations */

/* A set of acceptable errnos (0 in it means success is acceptable). */
struct expect {
	int e[8];
	int n;
};

static void ex_add(struct expect *x, int e)
{
	for (int i = 0; i < x->n; i++)
		if (x->e[i] == e)
			return;
	if (x->n < 8)
		x->e[x->n++] = e;
}

/* e and nothing else: an outcome that overrides every other expectation. */
static void ex_only(struct expect *x, int e)
{
	x->n = 0;
	ex_add(x, e);
}

static bool ex_has(const struct expect *x, int e)
{
	for (int i = 0; i < x->n; i++)
		if (x->e[i] == e)
			return true;
	return false;
}

static const char *ex_str(const struct expect *x)
{
	static __thread char buf[128];
	size_t n = 0;

	buf[0] = 0;
	for (int i = 0; i < x->n && n < sizeof(buf) - 16; i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%s",
				      i ? "|" : "", errname(x->e[i]));
	return buf;
}

/* ------------------------------------------------------------------ model */

static struct ofd *ofd_of(struct worker *w, int fdi)
{
	return &w->ofds[w->fds[fdi].ofd];
}

static void ofd_put(struct worker *w, int oi)
{
	struct ofd *o = &w->ofds[oi];

	if (o->nfds == 0 && o->nmaps == 0)
		o->used = false;
}

static int free_fd_slot(struct worker *w)
{
	for (int i = 0; i < MAX_FDS; i++)
		if (w->fds[i].fd < 0)
			return i;
	return -1;
}

static int free_ofd_slot(struct worker *w)
{
	for (int i = 0; i < MAX_OFDS; i++)
		if (!w->ofds[i].used)
			return i;
	return -1;
}

static int free_map_slots(struct worker *w)
{
	int n = 0;

	for (int i = 0; i < MAX_MAPS; i++)
		n += !w->maps[i].used;
	return n;
}

static int map_alloc(struct worker *w)
{
	for (int i = 0; i < MAX_MAPS; i++)
		if (!w->maps[i].used) {
			memset(&w->maps[i], 0, sizeof(w->maps[i]));
			w->maps[i].used = true;
			return i;
		}
	return -1;
}

static void map_free(struct worker *w, int i)
{
	struct map *m = &w->maps[i];

	if (m->kind == K_LKMC) {
		w->ofds[m->ofd].nmaps--;
		ofd_put(w, m->ofd);
	}
	free(m->privpage);
	m->privpage = NULL;
	m->used = false;
}

/* Picks a random descriptor of that kind (-1: any kind), or -1. */
static int pick_fd(struct worker *w, int kind)
{
	int idx[MAX_FDS], n = 0;

	for (int i = 0; i < MAX_FDS; i++)
		if (w->fds[i].fd >= 0 &&
		    (kind < 0 || (int)ofd_of(w, i)->kind == kind))
			idx[n++] = i;
	return n ? idx[below(&w->rng, (uint64_t)n)] : -1;
}

static int pick_map(struct worker *w, int kind)
{
	int idx[MAX_MAPS], n = 0;

	for (int i = 0; i < MAX_MAPS; i++)
		if (w->maps[i].used &&
		    (kind < 0 || (int)w->maps[i].kind == kind))
			idx[n++] = i;
	return n ? idx[below(&w->rng, (uint64_t)n)] : -1;
}

int find_map(struct worker *w, bool (*pred)(struct worker *, struct map *))
{
	int idx[MAX_MAPS], n = 0;

	for (int i = 0; i < MAX_MAPS; i++)
		if (w->maps[i].used && pred(w, &w->maps[i]))
			idx[n++] = i;
	return n ? idx[below(&w->rng, (uint64_t)n)] : -1;
}

/* Splits record i at byte offset off; returns the tail's index or -1. */
static int map_split(struct worker *w, int i, size_t off)
{
	int j = map_alloc(w);
	struct map *m = &w->maps[i], *t;

	if (j < 0)
		return -1;
	t = &w->maps[j];
	*t = *m;
	t->addr = m->addr + off;
	t->len = m->len - off;
	t->dev_off = m->dev_off + off;
	t->privpage = NULL;	/* lkmc records are one page: never split */
	m->len = off;
	if (m->kind == K_LKMC)
		w->ofds[m->ofd].nmaps++;
	return j;
}

/*
 * Makes [addr + off, + len) of record i a record of its own; returns its
 * index, or -1 when there are not enough free slots (nothing changed).
 */
static int map_isolate(struct worker *w, int i, size_t off, size_t len)
{
	int need = (off > 0) + (off + len < w->maps[i].len);

	if (free_map_slots(w) < need)
		return -1;
	if (off + len < w->maps[i].len)
		map_split(w, i, off + len);
	if (off > 0)
		i = map_split(w, i, off);
	return i;
}

/* Forgets the model's mappings inside [a, b): the kernel unmapped them. */
static void records_remove_range(struct worker *w, uint8_t *a, uint8_t *b)
{
	for (int i = 0; i < MAX_MAPS; i++) {
		struct map *m = &w->maps[i];
		uint8_t *s, *e;

		if (!m->used)
			continue;
		s = m->addr;
		e = m->addr + m->len;
		if (e <= a || s >= b)
			continue;
		if (s >= a && e <= b) {
			map_free(w, i);
		} else if (s < a && e > b) {
			/* middle: callers made sure a slot is free */
			int t = map_split(w, i, (size_t)(b - s));

			if (t < 0)
				abort();
			m->len = (size_t)(a - s);
		} else if (s < a) {
			m->len = (size_t)(a - s);
		} else {
			m->dev_off += (size_t)(b - s);
			m->len = (size_t)(e - b);
			m->addr = b;
		}
	}
}

static bool in_region(struct worker *w, uint8_t *a)
{
	return a >= w->region && a < w->region + REGION_PAGES * PG;
}

/*
 * A hole appeared in the worker's region (munmap, mremap's old range or
 * shrunk tail): reserve it again so that nothing else lands there. The
 * region sits far below where the kernel places mappings on its own, but a
 * page something else took anyway is marked lost, never a target again.
 */
static void region_refill(struct worker *w, uint8_t *a, size_t len)
{
	uint8_t *end = a + len;

	if (a < w->region)
		a = w->region;
	if (end > w->region + REGION_PAGES * PG)
		end = w->region + REGION_PAGES * PG;
	if (a >= end)
		return;
	if (mmap(a, (size_t)(end - a), PROT_NONE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE |
		 MAP_FIXED_NOREPLACE, -1, 0) == a)
		return;
	for (uint8_t *p = a; p < end; p += PG) {
		void *r = mmap(p, PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS |
			       MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);

		if (r == MAP_FAILED || r != p) {
			if (r != MAP_FAILED)
				munmap(r, PG);
			w->lost[(p - w->region) / PG] = 1;
		}
	}
}

/*
 * A page-aligned range of len bytes in the region without lost pages;
 * with avoid_maps also without the worker's own mappings. NULL if none.
 */
static uint8_t *region_pick(struct worker *w, size_t len, bool avoid_maps)
{
	size_t pages = len / PG;

	if (!pages || pages > REGION_PAGES)
		return NULL;
	for (int tries = 0; tries < 8; tries++) {
		size_t first = below(&w->rng, REGION_PAGES - pages + 1);
		uint8_t *a = w->region + first * PG, *b = a + len;
		bool ok = true;

		for (size_t p = first; p < first + pages && ok; p++)
			ok = !w->lost[p];
		for (int i = 0; avoid_maps && ok && i < MAX_MAPS; i++) {
			struct map *m = &w->maps[i];

			if (m->used && m->addr < b && m->addr + m->len > a)
				ok = false;
		}
		if (ok)
			return a;
	}
	return NULL;
}

/* -------------------------------------------------------------- shadows */

static bool own_page(struct worker *w, uint64_t boff)
{
	return boff >= w->slice_off && boff < w->slice_off + w->slice_len;
}

void shadow_set(struct worker *w, uint64_t boff, const uint8_t *src,
		size_t len)
{
	for (size_t i = 0; i < len; i++) {
		uint64_t o = boff + i;

		if (own_page(w, o))
			w->shadow[o - w->slice_off] = src[i];
	}
}

void shadow_unknown(struct worker *w, uint64_t boff, size_t len)
{
	for (uint64_t o = boff & ~(PG - 1); o < boff + len; o += PG)
		if (own_page(w, o))
			w->known[(o - w->slice_off) / PG] = 0;
}

static bool range_known(struct worker *w, uint64_t boff, size_t len)
{
	for (uint64_t o = boff & ~(PG - 1); o < boff + len; o += PG)
		if (own_page(w, o) && !w->known[(o - w->slice_off) / PG])
			return false;
	return true;
}

/* Compares bytes read from buffer offset boff with the shadow (own slice,
 * known pages only). */
bool check_dev_bytes(struct worker *w, uint64_t boff, const uint8_t *got,
		     size_t len, const char *what)
{
	if (len && boff < w->slice_off + w->slice_len &&
	    boff + len > w->slice_off)
		outcome(OUT_READS_COMPARED);
	for (size_t i = 0; i < len; i++) {
		uint64_t o = boff + i;
		uint64_t so = o - w->slice_off;

		if (!own_page(w, o) || !w->known[so / PG])
			continue;
		if (got[i] != w->shadow[so]) {
			fail(w, "%s: byte at buffer offset %#llx (slice +%#llx) is %#x, expected %#x",
			     what, (unsigned long long)o,
			     (unsigned long long)so, got[i], w->shadow[so]);
			return false;
		}
	}
	return true;
}

/* ----------------------------------------------------------------- calls */

static void ret_log(struct worker *w, long r, int e, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Logs "call(args) = r" or "= -1 ERRNO". */
static void ret_log(struct worker *w, long r, int e, const char *fmt, ...)
{
	char call[LOG_TEXT];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(call, sizeof(call), fmt, ap);
	va_end(ap);
	count_call();
	if (r < 0 && r > -4096)
		wlog(w, "%s = -1 %s", call, errname(e));
	else
		wlog(w, "%s = %#lx", call, (unsigned long)r);
}

/* r (with errno e) must be ok_value, or an errno of x when x is set. */
static bool expect_result(struct worker *w, long r, int e, long ok_value,
			  const struct expect *x, const char *what)
{
	if (x->n) {
		if (r >= 0) {
			fail(w, "%s returned %ld, expected failure %s", what, r,
			     ex_str(x));
			return false;
		}
		if (!ex_has(x, e)) {
			fail(w, "%s failed with %s, expected %s", what,
			     errname(e), ex_str(x));
			return false;
		}
		return true;
	}
	if (r != ok_value) {
		if (r < 0)
			fail(w, "%s failed with %s, expected %ld", what,
			     errname(e), ok_value);
		else
			fail(w, "%s returned %ld, expected %ld", what, r,
			     ok_value);
		return false;
	}
	return true;
}

/* lkmc file: was the module that owns it loaded during the call? */
enum lk { LK_ALIVE, LK_DEAD, LK_UNSURE };

static enum lk lkmc_state(struct ofd *o, uint32_t s1)
{
	uint32_t i = inst_read(), s2 = seq_read();

	if (o->dead)
		return LK_DEAD;
	if (o->inst < 0 || s1 != s2 || (s1 & 1))
		return LK_UNSURE;
	return (int64_t)i == o->inst ? LK_ALIVE : LK_DEAD;
}

/* ------------------------------------------------------------ open/close */

static bool device_info(struct worker *w, int fd, struct ofd *o, bool strict);

static void dev_opened(struct worker *w, struct ofd *o, int fd)
{
	int64_t i = inst_read();

	/* Nothing can unload the module now: fd holds it. */
	if (i != w->dev_inst) {
		memset(w->shadow, 0, w->slice_len);
		memset(w->known, 1, w->slice_len / PG);
		w->dev_inst = i;
		w->pfn0 = 0;
		wlog(w, "module instance %lld: a fresh, zeroed buffer",
		     (long long)i);
	}
	o->inst = i;
	o->method = -1;
	device_info(w, fd, o, false);
}

static void op_open(struct worker *w)
{
	static const int extras[] = { O_CLOEXEC, O_NONBLOCK, O_SYNC,
				      O_NOATIME, O_TRUNC, O_DIRECT, O_NOCTTY };
	int fi = free_fd_slot(w), oi = free_ofd_slot(w);
	enum kind kind = chance(&w->rng, 60) ? K_DEV : K_LKMC;
	int acc, flags, fd, e;
	uint32_t s1, s2;
	int64_t inst;
	struct expect x = { .n = 0 };
	const char *path = kind == K_DEV ? DEV_PATH : LKMC_PATH;

	if (fi < 0 || oi < 0)
		return;
	switch (below(&w->rng, 10)) {
	case 0: case 1: acc = O_RDONLY; break;
	case 2: acc = O_WRONLY; break;
	default: acc = O_RDWR; break;
	}
	flags = acc;
	for (size_t i = 0; i < sizeof(extras) / sizeof(extras[0]); i++)
		if (chance(&w->rng, extras[i] == O_DIRECT ? 4 : 15))
			flags |= extras[i];
	if (acc == O_RDONLY)
		flags &= ~O_TRUNC;
	if (flags & O_DIRECT)
		ex_add(&x, EINVAL);	/* neither file takes O_DIRECT */

	s1 = seq_read();
	fd = open(path, flags);
	e = errno;
	inst = inst_read();
	s2 = seq_read();
	ret_log(w, fd, e, "open(%s, %#x)", path, flags);
	if (fd < 0 && (e == ENOENT || e == ENODEV || e == ENXIO) &&
	    (s1 != s2 || (s1 & 1))) {
		outcome(OUT_OPEN_GONE);	/* the module was being reloaded */
		return;
	}
	if (!expect_result(w, fd < 0 ? -1 : 0, e, 0, &x, "open"))
		return;
	if (fd < 0)
		return;

	struct ofd *o = &w->ofds[oi];

	memset(o, 0, sizeof(*o));
	o->used = true;
	o->kind = kind;
	o->acc = acc;
	o->nfds = 1;
	w->fds[fi].fd = fd;
	w->fds[fi].ofd = oi;
	if (kind == K_DEV) {
		dev_opened(w, o, fd);
	} else {
		memcpy(o->page, "asdf", LKMC_MSG);
		o->inst = (s1 == s2 && !(s1 & 1)) ? inst : -1;
	}
}

static void close_fd(struct worker *w, int fi)
{
	int fd = w->fds[fi].fd, oi = w->fds[fi].ofd;
	int r = close(fd), e = errno;

	ret_log(w, r, e, "close(%d)", fd);
	if (r)
		fail(w, "close(%d) failed: %s", fd, errname(e));
	w->fds[fi].fd = -1;
	w->ofds[oi].nfds--;
	ofd_put(w, oi);
}

static void op_close(struct worker *w)
{
	int fi = pick_fd(w, -1);

	if (fi >= 0)
		close_fd(w, fi);
}

static void op_dup(struct worker *w)
{
	int fi = pick_fd(w, -1), ni = free_fd_slot(w), fd, e;
	int how = (int)below(&w->rng, 3);

	if (fi < 0 || ni < 0)
		return;
	if (how == 0)
		fd = dup(w->fds[fi].fd);
	else if (how == 1)
		fd = fcntl(w->fds[fi].fd, F_DUPFD_CLOEXEC, 64);
	else
		fd = dup3(w->fds[fi].fd, 200 + w->index * MAX_FDS + ni,
			  O_CLOEXEC);
	e = errno;
	ret_log(w, fd, e, "%s(%d)", how == 0 ? "dup" : how == 1 ?
		"fcntl-dupfd" : "dup3", w->fds[fi].fd);
	if (fd < 0) {
		fail(w, "dup failed: %s", errname(e));
		return;
	}
	w->fds[ni].fd = fd;
	w->fds[ni].ofd = w->fds[fi].ofd;
	ofd_of(w, fi)->nfds++;
}

/* ------------------------------------------------------------ the ioctls */

static void *bad_ptr(struct worker *w)
{
	switch (below(&w->rng, 3)) {
	case 0: return w->guard + PG;		/* PROT_NONE */
	case 1: return UNMAPPED_ADDR;
	default: return KERNEL_ADDR;
	}
}

static bool device_info(struct worker *w, int fd, struct ofd *o, bool strict)
{
	struct kmmap_info info;
	int r, e;

	memset(&info, 0xa5, sizeof(info));
	r = ioctl(fd, KMMAP_IOC_INFO, &info);
	e = errno;
	ret_log(w, r, e, "ioctl(%d, INFO) size=%llu method=%u methods=%#x mappings=%u",
		fd, (unsigned long long)info.size, info.method, info.methods,
		info.mappings);
	if (r) {
		fail(w, "INFO failed: %s", errname(e));
		return false;
	}
	if (info.size != sh->buf_size || info.page_size != PG ||
	    info.backing > KMMAP_BACKING_VMALLOC ||
	    info.methods != (info.backing == KMMAP_BACKING_VMALLOC ? 0x17U : 0x0fU) ||
	    info.method >= KMMAP_METHOD_COUNT ||
	    !(info.methods & (1U << info.method))) {
		fail(w, "INFO is inconsistent: size %llu (expected %llu) page_size %u backing %u method %u methods %#x",
		     (unsigned long long)info.size,
		     (unsigned long long)sh->buf_size, info.page_size,
		     info.backing, info.method, info.methods);
		return false;
	}
	/* its own mappings count among the buffer's (VMAs may merge: >= 1) */
	for (int i = 0; i < MAX_MAPS; i++)
		if (w->maps[i].used && w->maps[i].kind == K_DEV &&
		    info.mappings == 0) {
			fail(w, "INFO says 0 mappings while this worker maps the buffer at %p",
			     (void *)w->maps[i].addr);
			return false;
		}
	if (strict && o->method >= 0 && info.method != (uint32_t)o->method) {
		fail(w, "INFO says method %u, this file was set to %d",
		     info.method, o->method);
		return false;
	}
	o->method = (int)info.method;
	o->methods = info.methods;
	return true;
}

static void op_info(struct worker *w)
{
	int fi = pick_fd(w, -1), r, e;
	struct ofd *o;
	uint32_t s1;

	if (fi < 0)
		return;
	o = ofd_of(w, fi);
	if (o->kind == K_DEV && chance(&w->rng, 80)) {
		device_info(w, w->fds[fi].fd, o, true);
		return;
	}
	void *p = o->kind == K_DEV ? bad_ptr(w) : (void *)w->scratch;

	s1 = seq_read();
	r = ioctl(w->fds[fi].fd, KMMAP_IOC_INFO, p);
	e = errno;
	ret_log(w, r, e, "ioctl(%d, INFO, %p)", w->fds[fi].fd, p);
	struct expect x = { .n = 0 };

	ex_add(&x, o->kind == K_DEV ? EFAULT : ENOTTY);
	(void)s1;
	expect_result(w, r, e, 0, &x, "INFO");
}

static int random_method(struct worker *w)
{
	static const uint32_t odd[] = { 5, 6, 7, 31, 0x80000000U, 0xffffffffU };

	if (chance(&w->rng, 80))
		return (int)below(&w->rng, KMMAP_METHOD_COUNT);
	return (int)odd[below(&w->rng, sizeof(odd) / sizeof(odd[0]))];
}

static void set_method(struct worker *w, int fi, uint32_t how, bool bad)
{
	struct ofd *o = ofd_of(w, fi);
	int fd = w->fds[fi].fd, r, e;
	void *p = bad ? bad_ptr(w) : &how;
	struct expect x = { .n = 0 };

	r = ioctl(fd, KMMAP_IOC_SET_METHOD, p);
	e = errno;
	ret_log(w, r, e, "ioctl(%d, SET_METHOD, %s%u)", fd, bad ? "bad " : "",
		how);
	if (o->kind == K_LKMC)
		ex_add(&x, ENOTTY);
	else if (bad)
		ex_add(&x, EFAULT);
	else if (how >= KMMAP_METHOD_COUNT)
		ex_add(&x, EINVAL);
	else if (!(o->methods & (1U << how)))
		ex_add(&x, EOPNOTSUPP);
	if (expect_result(w, r, e, 0, &x, "SET_METHOD") && !r)
		o->method = (int)how;
}

static void op_set_method(struct worker *w)
{
	int fi = pick_fd(w, chance(&w->rng, 90) ? K_DEV : -1);

	if (fi >= 0)
		set_method(w, fi, (uint32_t)random_method(w),
			   chance(&w->rng, 5));
}

/*
 * A length that makes off + length wrap past 2^64, landing on a small
 * value below off (and below max). With off == 0 nothing can wrap: the
 * longest length there is, which runs past the end all the same.
 */
static uint64_t wrapping_length(struct worker *w, uint64_t off, uint64_t max)
{
	if (off == 0)
		return UINT64_MAX;
	return UINT64_MAX - off + 1 + below(&w->rng, off < max ? off : max);
}

static void op_pfns(struct worker *w)
{
	int fi = pick_fd(w, K_DEV), r, e;
	uint64_t nr = sh->buf_size / PG;
	struct kmmap_pfns req;
	struct expect x = { .n = 0 };
	void *arg = &req;
	int variant = (int)below(&w->rng, 8);

	if (fi < 0)
		return;
	req.first = below(&w->rng, nr);
	req.count = below(&w->rng, nr - req.first + 1);
	req.pfns = (uintptr_t)w->pfnbuf;
	switch (variant) {
	case 0:		/* count past the end */
		req.count = nr - req.first + 1 + below(&w->rng, 1000);
		ex_add(&x, EINVAL);
		break;
	case 1:		/* first + count wraps around */
		req.first = 1 + below(&w->rng, nr);
		req.count = wrapping_length(w, req.first, 4);
		ex_add(&x, EINVAL);
		break;
	case 2:		/* first past the end */
		req.first = nr + 1 + below(&w->rng, 1ULL << 40);
		req.count = below(&w->rng, 2);
		ex_add(&x, EINVAL);
		break;
	case 3:		/* a bad output array (nothing to copy: fine) */
		req.pfns = (uintptr_t)bad_ptr(w);
		if (req.count)
			ex_add(&x, EFAULT);
		break;
	case 4:		/* output array running into the PROT_NONE page */
		req.count = PG / 8 + 1 + below(&w->rng, 64);
		if (req.count > nr)
			req.count = nr;
		req.first = below(&w->rng, nr - req.count + 1);
		req.pfns = (uintptr_t)(w->guard + PG - 8 * below(&w->rng, 64));
		if (req.count * 8 > PG)
			ex_add(&x, EFAULT);
		break;
	case 5:
		arg = bad_ptr(w);
		ex_add(&x, EFAULT);
		break;
	default:
		break;
	}
	r = ioctl(w->fds[fi].fd, KMMAP_IOC_PFNS, arg);
	e = errno;
	ret_log(w, r, e, "ioctl(%d, PFNS, first=%llu count=%llu pfns=%#llx%s)",
		w->fds[fi].fd, (unsigned long long)req.first,
		(unsigned long long)req.count, (unsigned long long)req.pfns,
		arg == &req ? "" : " bad arg");
	if (geteuid() != 0)
		ex_only(&x, EPERM);
	if (!expect_result(w, r, e, 0, &x, "PFNS") || r)
		return;
	if (req.pfns != (uintptr_t)w->pfnbuf)
		return;
	uint64_t p0 = w->slice_off / PG;

	for (uint64_t i = 0; i < req.count; i++)
		if (!w->pfnbuf[i]) {
			fail(w, "PFNS: page %llu has PFN 0",
			     (unsigned long long)(req.first + i));
			return;
		}
	if (p0 >= req.first && p0 < req.first + req.count) {
		uint64_t pfn = w->pfnbuf[p0 - req.first];

		if (w->pfn0 && w->pfn0_inst == w->dev_inst && pfn != w->pfn0) {
			fail(w, "PFNS: the slice's first page moved from PFN %#llx to %#llx",
			     (unsigned long long)w->pfn0,
			     (unsigned long long)pfn);
			return;
		}
		w->pfn0 = pfn;
		w->pfn0_inst = w->dev_inst;
	}
}

/* What FILL does to byte o (o inside the filled range). */
static uint8_t fill_byte(const struct kmmap_fill *f, uint64_t o)
{
	if (f->flags & KMMAP_FILL_ADD_OFFSET) {
		uint64_t word = o & ~7ULL;

		return (uint8_t)((f->pattern + word) >> (8 * (o - word)));
	}
	return (uint8_t)(f->pattern >> (8 * (o % f->pattern_len)));
}

/* Checks the whole slice with CHECKSUM against the shadow (if readable). */
static void verify_slice(struct worker *w, int fd, struct ofd *o,
			 const char *after)
{
	struct kmmap_checksum c = { .offset = w->slice_off,
				    .length = w->slice_len };
	int r, e;

	if (o->acc == O_WRONLY || !range_known(w, w->slice_off, w->slice_len))
		return;
	r = ioctl(fd, KMMAP_IOC_CHECKSUM, &c);
	e = errno;
	ret_log(w, r, e, "ioctl(%d, CHECKSUM, slice) crc=%#x", fd, c.crc32);
	if (r) {
		fail(w, "CHECKSUM of the slice failed: %s", errname(e));
		return;
	}
	uint32_t want = crc32_zlib(0, w->shadow, w->slice_len);

	outcome(OUT_CRC_COMPARED);
	if (c.crc32 != want)
		fail(w, "after %s the slice's CRC-32 is %#x, the shadow's %#x: something changed",
		     after, c.crc32, want);
}

/* verify_slice() through any descriptor of the worker that may read. */
static void verify_slice_any(struct worker *w, const char *after)
{
	for (int i = 0; i < MAX_FDS; i++)
		if (w->fds[i].fd >= 0 && ofd_of(w, i)->kind == K_DEV &&
		    ofd_of(w, i)->acc != O_WRONLY) {
			verify_slice(w, w->fds[i].fd, ofd_of(w, i), after);
			return;
		}
}

static void op_fill(struct worker *w)
{
	int fi = pick_fd(w, K_DEV), r, e;
	struct kmmap_fill f;
	struct expect x = { .n = 0 };
	void *arg = &f;
	int variant = (int)below(&w->rng, 12);
	struct ofd *o;

	if (fi < 0)
		return;
	o = ofd_of(w, fi);
	f.offset = w->slice_off + below(&w->rng, w->slice_len);
	f.length = below(&w->rng, w->slice_off + w->slice_len - f.offset + 1);
	f.pattern = rnd(&w->rng);
	f.pattern_len = 1 + (uint32_t)below(&w->rng, 8);
	f.flags = 0;
	if (chance(&w->rng, 25)) {
		f.flags = KMMAP_FILL_ADD_OFFSET;
		f.pattern_len = 8;
		f.offset &= ~7ULL;
		f.length &= ~7ULL;
	}
	switch (variant) {
	case 0:		/* pattern_len 0 or 9 and up */
		f.pattern_len = chance(&w->rng, 50) ? 0 :
				9 + (uint32_t)below(&w->rng, 3);
		if (chance(&w->rng, 10))
			f.pattern_len = 0xffffffffU;
		ex_add(&x, EINVAL);
		break;
	case 1:		/* offset + length wraps around */
		f.length = wrapping_length(w, f.offset, PG);
		ex_add(&x, EINVAL);
		break;
	case 2:		/* runs past the end of the buffer */
		f.length = sh->buf_size - f.offset + 1 + below(&w->rng, PG);
		ex_add(&x, EINVAL);
		break;
	case 3:		/* offset past the end */
		f.offset = sh->buf_size + 1 + below(&w->rng, 1ULL << 50);
		f.length = below(&w->rng, 2);
		ex_add(&x, EINVAL);
		break;
	case 4:		/* unknown flags */
		f.flags |= 2U << below(&w->rng, 31);
		ex_add(&x, EINVAL);
		break;
	case 5:		/* ADD_OFFSET with a misaligned range or short pattern */
		f.flags = KMMAP_FILL_ADD_OFFSET;
		f.pattern_len = 8;
		f.offset &= ~7ULL;	/* aligned first, then one thing off */
		f.length &= ~7ULL;
		if (chance(&w->rng, 50))
			f.pattern_len = 1 + (uint32_t)below(&w->rng, 7);
		else if (f.length >= 8 && chance(&w->rng, 50))
			f.length -= 1 + below(&w->rng, 7);
		else if (f.offset + 8 < w->slice_off + w->slice_len)
			f.offset += 1 + below(&w->rng, 7);
		else
			f.pattern_len = 4;
		ex_add(&x, EINVAL);
		break;
	case 6:
		arg = bad_ptr(w);
		ex_add(&x, EFAULT);
		break;
	default:
		break;
	}
	if (o->acc == O_RDONLY)
		ex_only(&x, EBADF);
	r = ioctl(w->fds[fi].fd, KMMAP_IOC_FILL, arg);
	e = errno;
	ret_log(w, r, e, "ioctl(%d, FILL, off=%#llx len=%#llx pat=%#llx plen=%u flags=%#x%s)",
		w->fds[fi].fd, (unsigned long long)f.offset,
		(unsigned long long)f.length, (unsigned long long)f.pattern,
		f.pattern_len, f.flags, arg == &f ? "" : " bad arg");
	if (!expect_result(w, r, e, 0, &x, "FILL"))
		return;
	if (r) {
		/* A refused FILL must leave everything as it was. */
		verify_slice(w, w->fds[fi].fd, o, "a refused FILL");
		return;
	}
	for (uint64_t i = 0; i < f.length; i++) {
		uint64_t so = f.offset + i - w->slice_off;

		w->shadow[so] = fill_byte(&f, f.offset + i);
	}
	/* A whole page filled is known again, whatever it was. */
	for (uint64_t p = (f.offset + PG - 1) & ~(PG - 1);
	     p + PG <= f.offset + f.length; p += PG)
		w->known[(p - w->slice_off) / PG] = 1;
	if (chance(&w->rng, 20))
		verify_slice(w, w->fds[fi].fd, o, "FILL");
}

static void op_checksum(struct worker *w)
{
	int fi = pick_fd(w, K_DEV), r, e;
	struct kmmap_checksum c;
	struct expect x = { .n = 0 };
	void *arg = &c;
	int variant = (int)below(&w->rng, 10);
	bool compare = true;
	struct ofd *o;

	if (fi < 0)
		return;
	o = ofd_of(w, fi);
	c.offset = w->slice_off + below(&w->rng, w->slice_len);
	c.length = below(&w->rng, w->slice_off + w->slice_len - c.offset + 1);
	c.reserved = 0;
	c.crc32 = 0x5a5a5a5a;
	switch (variant) {
	case 0:
		c.reserved = 1U << below(&w->rng, 32);
		ex_add(&x, EINVAL);
		break;
	case 1:
		c.length = wrapping_length(w, c.offset, 64);
		ex_add(&x, EINVAL);
		break;
	case 2:
		c.length = sh->buf_size - c.offset + 1;
		ex_add(&x, EINVAL);
		break;
	case 3:
		c.offset = sh->buf_size + 1 + below(&w->rng, 1ULL << 40);
		c.length = 0;
		ex_add(&x, EINVAL);
		break;
	case 4:
		arg = bad_ptr(w);
		ex_add(&x, EFAULT);
		break;
	case 5:		/* the whole buffer: others' slices, not compared */
		c.offset = 0;
		c.length = sh->buf_size;
		compare = false;
		break;
	default:
		break;
	}
	if (o->acc == O_WRONLY)
		ex_only(&x, EBADF);
	r = ioctl(w->fds[fi].fd, KMMAP_IOC_CHECKSUM, arg);
	e = errno;
	ret_log(w, r, e, "ioctl(%d, CHECKSUM, off=%#llx len=%#llx rsv=%#x%s) crc=%#x",
		w->fds[fi].fd, (unsigned long long)c.offset,
		(unsigned long long)c.length, c.reserved,
		arg == &c ? "" : " bad arg", c.crc32);
	if (!expect_result(w, r, e, 0, &x, "CHECKSUM") || r || !compare)
		return;
	if (!range_known(w, c.offset, c.length))
		return;
	uint32_t want = crc32_zlib(0, w->shadow + (c.offset - w->slice_off),
				   c.length);

	outcome(OUT_CRC_COMPARED);
	if (c.crc32 != want)
		fail(w, "CHECKSUM of [%#llx, +%#llx) is %#x, the shadow's CRC-32 is %#x",
		     (unsigned long long)c.offset,
		     (unsigned long long)c.length, c.crc32, want);
}

static void op_bad_ioctl(struct worker *w)
{
	static const unsigned known_nr[] = { 0x01, 0x10, 0x11, 0x12, 0x13, 0x14 };
	int fi = pick_fd(w, -1), r, e;
	unsigned cmd, nr;
	struct expect x = { .n = 0 };
	struct ofd *o;
	uint32_t s1;

	if (fi < 0)
		return;
	o = ofd_of(w, fi);
	for (;;) {
		bool known = false;

		nr = (unsigned)below(&w->rng, 256);
		for (size_t i = 0; i < 6; i++)
			known |= known_nr[i] == nr;
		if (!known)
			break;
	}
	switch (below(&w->rng, 4)) {
	case 0:
		cmd = _IO(KMMAP_IOC_MAGIC, nr);
		break;
	case 1:
		cmd = _IOC(below(&w->rng, 4), KMMAP_IOC_MAGIC, nr,
			   below(&w->rng, 1 << 14));
		break;
	case 2:		/* a known number with the wrong size or direction */
		cmd = _IOC(below(&w->rng, 4), KMMAP_IOC_MAGIC,
			   known_nr[below(&w->rng, 6)], 1 + below(&w->rng, 7) * 3);
		break;
	default: {	/* the other file's ioctls */
		static const unsigned dev_cmds[] = {
			KMMAP_IOC_INFO, KMMAP_IOC_SET_METHOD, KMMAP_IOC_PFNS,
			KMMAP_IOC_FILL, KMMAP_IOC_CHECKSUM };

		cmd = o->kind == K_DEV ? LKMC_MMAP_IOC_PHYS_ADDR :
		      dev_cmds[below(&w->rng, 5)];
		break;
	}
	}
	if (cmd == KMMAP_IOC_INFO || cmd == KMMAP_IOC_SET_METHOD ||
	    cmd == KMMAP_IOC_PFNS || cmd == KMMAP_IOC_FILL ||
	    cmd == KMMAP_IOC_CHECKSUM || cmd == LKMC_MMAP_IOC_PHYS_ADDR) {
		if ((o->kind == K_DEV) == (cmd != LKMC_MMAP_IOC_PHYS_ADDR))
			return;	/* a real one after all */
	}
	s1 = seq_read();
	r = ioctl(w->fds[fi].fd, cmd, w->scratch);
	e = errno;
	(void)s1;
	ret_log(w, r, e, "ioctl(%d, %#x)", w->fds[fi].fd, cmd);
	ex_add(&x, ENOTTY);
	expect_result(w, r, e, 0, &x, "unknown ioctl");
}

static void op_phys(struct worker *w)
{
	int fi = pick_fd(w, chance(&w->rng, 90) ? K_LKMC : -1), r, e;
	uint64_t phys = 0;
	bool bad = chance(&w->rng, 10);
	void *p = bad ? bad_ptr(w) : &phys;
	struct expect x = { .n = 0 };
	struct ofd *o;
	uint32_t s1;
	enum lk st;

	if (fi < 0)
		return;
	o = ofd_of(w, fi);
	s1 = seq_read();
	r = ioctl(w->fds[fi].fd, LKMC_MMAP_IOC_PHYS_ADDR, p);
	e = errno;
	ret_log(w, r, e, "ioctl(%d, PHYS_ADDR%s) = %#llx", w->fds[fi].fd,
		bad ? ", bad ptr" : "", (unsigned long long)phys);
	if (o->kind == K_DEV) {
		ex_add(&x, ENOTTY);
		expect_result(w, r, e, 0, &x, "PHYS_ADDR on /dev/kmmap");
		return;
	}
	st = lkmc_state(o, s1);
	if (st == LK_UNSURE && r && e == ENOTTY) {
		outcome(OUT_LKMC_UNSURE);
		o->dead = true;
		return;
	}
	if (st == LK_DEAD) {
		o->dead = true;
		outcome(OUT_LKMC_DEAD);
		ex_add(&x, ENOTTY);
	} else if (bad) {
		ex_add(&x, EFAULT);
	} else if (geteuid() != 0) {
		ex_add(&x, EPERM);
	}
	if (!expect_result(w, r, e, 0, &x, "PHYS_ADDR") || r || bad)
		return;
	if (!phys || (phys & (PG - 1))) {
		fail(w, "PHYS_ADDR %#llx is not a page address",
		     (unsigned long long)phys);
		return;
	}
	if (o->phys && o->phys != phys) {
		fail(w, "PHYS_ADDR changed from %#llx to %#llx for the same open",
		     (unsigned long long)o->phys, (unsigned long long)phys);
		return;
	}
	o->phys = phys;
}

/* ------------------------------------------------- read, write, lseek */

enum segkind { SEG_GOOD, SEG_FAULT, SEG_KERNEL };

struct seg {
	uint8_t *base;
	size_t len;
	enum segkind kind;
};

#define MAX_SEGS 5

/*
 * Buffers for a read or write: good pieces of scratch, a piece running
 * into the guard's PROT_NONE page, or bad pointers. max_good limits the
 * good bytes (a write's bytes must stay inside the worker's slice).
 */
static int make_segs(struct worker *w, struct seg *s, bool vector,
		     size_t max_good)
{
	int n = vector ? 1 + (int)below(&w->rng, MAX_SEGS) : 1;
	size_t used = 0, good = 0;
	int i;

	for (i = 0; i < n; i++) {
		int k = (int)below(&w->rng, 20);
		size_t len = below(&w->rng, chance(&w->rng, 70) ? 64 : 3 * PG);

		if (good + len > max_good)
			len = max_good - good;
		if (!vector && k < 3) {	/* into the guard page */
			size_t g = below(&w->rng, PG + 1);

			if (g > max_good)
				g = max_good;
			s[0] = (struct seg){ w->guard + PG - g, g, SEG_GOOD };
			s[1] = (struct seg){ w->guard + PG,
					     1 + below(&w->rng, 2 * PG),
					     SEG_FAULT };
			return 2;
		}
		if (k == 3) {
			s[i] = (struct seg){ k & 1 ? w->guard + PG :
					     UNMAPPED_ADDR, 1 + len, SEG_FAULT };
			if (chance(&w->rng, 50))
				s[i].base = UNMAPPED_ADDR;
			continue;
		}
		if (k == 4 && chance(&w->rng, 50)) {
			s[i] = (struct seg){ KERNEL_ADDR, 1 + len, SEG_KERNEL };
			continue;
		}
		if (used + len > 60 * PG)
			len = 0;
		s[i] = (struct seg){ w->scratch + used, len, SEG_GOOD };
		used += len;
		good += len;
	}
	return n;
}

static size_t segs_total(const struct seg *s, int n)
{
	size_t t = 0;

	for (int i = 0; i < n; i++)
		t += s[i].len;
	return t;
}

/* Good bytes before the first faulting segment. */
static size_t segs_good_prefix(const struct seg *s, int n)
{
	size_t t = 0;

	for (int i = 0; i < n; i++) {
		if (s[i].kind != SEG_GOOD && s[i].len)
			break;
		t += s[i].len;
	}
	return t;
}

static bool segs_kernel(const struct seg *s, int n)
{
	for (int i = 0; i < n; i++)
		if (s[i].kind == SEG_KERNEL && s[i].len)
			return true;
	return false;
}

/* Gathers the first len good bytes of the segments into dst. */
static void segs_gather(const struct seg *s, int n, uint8_t *dst, size_t len)
{
	for (int i = 0; i < n && len; i++) {
		size_t k = s[i].len < len ? s[i].len : len;

		memcpy(dst, s[i].base, k);
		dst += k;
		len -= k;
	}
}

enum rw { RW_READ, RW_WRITE, RW_PREAD, RW_PWRITE, RW_READV, RW_WRITEV };

static const char *const rw_names[] = { "read", "write", "pread", "pwrite",
					"readv", "writev" };

/*
 * The lkmc model. A vectored call is one ->read/->write per segment
 * (do_loop_readv_writev(), stopping at a short or failed one); a plain call
 * is one buffer of which the first `good` bytes are readable. write() copies
 * at most 4 bytes from the start of the buffer and consumes all of it;
 * read() copies what lies between the position and byte 4, short at a
 * fault (simple_read_from_buffer()).
 */
static long lkmc_rw_model(bool wr, bool vec, const struct seg *s, int n,
			  uint64_t *pos, uint8_t *page, int *err)
{
	struct {
		const uint8_t *base;
		size_t len, good;
	} c[MAX_SEGS];
	int nc = 0;
	long ret = 0;

	if (vec) {
		for (int i = 0; i < n; i++)
			if (s[i].len)
				c[nc++] = (typeof(c[0])){ s[i].base, s[i].len,
					s[i].kind == SEG_GOOD ? s[i].len : 0 };
	} else {
		c[nc++] = (typeof(c[0])){ s[0].base, segs_total(s, n),
					  segs_good_prefix(s, n) };
	}
	for (int i = 0; i < nc; i++) {
		size_t len = c[i].len;

		if (wr) {
			size_t k = len < LKMC_MSG ? len : LKMC_MSG;

			if (c[i].good < k) {
				if (!ret)
					*err = EFAULT;
				return ret ? ret : -1;
			}
			memcpy(page, c[i].base, k);
			ret += (long)len;
		} else {
			size_t r = *pos >= LKMC_MSG ? 0 :
				   (len < LKMC_MSG - *pos ? len : LKMC_MSG - *pos);

			if (r > c[i].good) {
				r = c[i].good;
				if (!r) {
					if (!ret)
						*err = EFAULT;
					return ret ? ret : -1;
				}
				*pos += r;
				return ret + (long)r;
			}
			*pos += r;
			ret += (long)r;
			if (r != len)
				break;
		}
	}
	return ret;
}

static void do_rw(struct worker *w, enum rw how)
{
	bool wr = how == RW_WRITE || how == RW_PWRITE || how == RW_WRITEV;
	bool vec = how == RW_READV || how == RW_WRITEV;
	bool positional = how == RW_PREAD || how == RW_PWRITE;
	int fi = pick_fd(w, -1), n, e, fd;
	struct seg s[MAX_SEGS];
	struct iovec iov[MAX_SEGS];
	struct ofd *o;
	int64_t off = 0;
	uint64_t pos;
	size_t max_good = 64 * PG;
	long r;
	uint32_t s1;
	struct expect x = { .n = 0 };
	long want = 0;
	static __thread uint8_t *tmp;

	if (fi < 0)
		return;
	if (!tmp)
		tmp = malloc(64 * PG);
	o = ofd_of(w, fi);
	fd = w->fds[fi].fd;

	/* Where: for the device, mostly inside the own slice. */
	if (o->kind == K_DEV) {
		int where = (int)below(&w->rng, 10);
		uint64_t p;

		if (where < 7 || wr) {
			p = w->slice_off + below(&w->rng, w->slice_len);
			max_good = w->slice_off + w->slice_len - p;
			if (wr && where >= 8) {	/* past the end: ENOSPC */
				p = sh->buf_size + below(&w->rng, 3 * PG);
				max_good = 64 * PG;
			}
		} else {
			p = below(&w->rng, sh->buf_size + 2 * PG);
		}
		if (positional) {
			off = (int64_t)p;
			if (chance(&w->rng, 5))
				off = chance(&w->rng, 50) ? -1 - (int64_t)below(&w->rng, 1 << 20) :
				      INT64_MIN;
		} else if (!vec || chance(&w->rng, 80)) {
			/* position the file first: a call of its own */
			off_t q = lseek(fd, (off_t)p, SEEK_SET);
			int qe = errno;

			ret_log(w, q, qe, "lseek(%d, %#llx, SEEK_SET)", fd,
				(unsigned long long)p);
			if (q != (off_t)p && !(p > sh->buf_size && q < 0)) {
				fail(w, "lseek to %#llx returned %lld (%s)",
				     (unsigned long long)p, (long long)q,
				     errname(qe));
				return;
			}
			if (q >= 0)
				o->pos = p;
			else if (wr)
				return;
		} else if (wr) {
			return;
		}
	} else if (positional) {
		off = (int64_t)below(&w->rng, 8);
		if (chance(&w->rng, 10))
			off = chance(&w->rng, 50) ? -1 : INT64_MAX - 2;
	}

	n = make_segs(w, s, vec, max_good);
	if (o->kind == K_LKMC) {
		/* kernel addresses fail at import already; keep it simple */
		for (int i = 0; i < n; i++)
			if (!s[i].len) {
				/* its own bytes: past what make_segs() uses */
				s[i].base = w->scratch + 61 * PG + (size_t)i * 64;
				s[i].len = 1 + below(&w->rng, 8);
			}
	}
	if (wr)
		for (int i = 0; i < n; i++)
			if (s[i].kind == SEG_GOOD)
				for (size_t k = 0; k < s[i].len; k++)
					s[i].base[k] = (uint8_t)rnd(&w->rng);
	for (int i = 0; i < n; i++)
		iov[i] = (struct iovec){ s[i].base, s[i].len };

	size_t total = segs_total(s, n), good = segs_good_prefix(s, n);
	bool kern = segs_kernel(s, n);

	pos = positional ? (uint64_t)off : o->pos;

	/* The model. */
	uint8_t page_after[PG];
	uint64_t lk_pos = pos;
	int lk_err = 0;
	long lk_ret = 0;

	if (o->kind == K_LKMC)
		memcpy(page_after, o->page, PG);
	if (positional && off < 0) {
		ex_add(&x, EINVAL);	/* ksys_pread64() checks it first */
	} else if (wr ? o->acc == O_RDONLY : o->acc == O_WRONLY) {
		ex_add(&x, EBADF);
		if (vec && kern)
			ex_add(&x, EFAULT);
	} else if (kern) {
		ex_add(&x, EFAULT);
	} else if (positional && (uint64_t)off + total > (uint64_t)INT64_MAX) {
		ex_add(&x, EINVAL);
	} else if (o->kind == K_DEV) {
		uint64_t S = sh->buf_size;

		if (total == 0) {
			want = 0;
		} else if (pos >= S) {
			if (wr)
				ex_add(&x, ENOSPC);
			else
				want = 0;
		} else {
			uint64_t m = total < S - pos ? total : S - pos;

			if ((long)m > MAX_RW_COUNT)
				m = (uint64_t)MAX_RW_COUNT;
			want = (long)(m < good ? m : good);
			if (!want)
				ex_add(&x, EFAULT);
		}
	} else {
		lk_ret = lkmc_rw_model(wr, vec, s, n, &lk_pos, page_after,
				       &lk_err);
		if (lk_ret < 0)
			ex_add(&x, lk_err);
		else
			want = lk_ret;
	}

	s1 = seq_read();
	switch (how) {
	case RW_READ: r = read(fd, s[0].base, total); break;
	case RW_WRITE: r = write(fd, s[0].base, total); break;
	case RW_PREAD: r = pread(fd, s[0].base, total, off); break;
	case RW_PWRITE: r = pwrite(fd, s[0].base, total, off); break;
	case RW_READV: r = readv(fd, iov, n); break;
	default: r = writev(fd, iov, n); break;
	}
	e = errno;
	if (vec)
		ret_log(w, r, e, "%s(%d, %d segs, %zu bytes, good prefix %zu%s) at %#llx",
			rw_names[how], fd, n, total, good, kern ? ", kernel ptr" : "",
			(unsigned long long)pos);
	else
		ret_log(w, r, e, "%s(%d, %p, %zu%s) at %#llx", rw_names[how],
			fd, (void *)s[0].base, total, n > 1 ? " into PROT_NONE" :
			s[0].kind != SEG_GOOD ? " bad" : "",
			(unsigned long long)pos);

	if (o->kind == K_LKMC) {
		enum lk st = lkmc_state(o, s1);

		if (st == LK_DEAD || (st == LK_UNSURE && r < 0 && e == EIO)) {
			o->dead = true;
			outcome(st == LK_DEAD ? OUT_LKMC_DEAD : OUT_LKMC_UNSURE);
			/* file-level checks come first, then EIO */
			if (!x.n || (!ex_has(&x, EBADF) && !ex_has(&x, EFAULT) &&
				     !ex_has(&x, EINVAL)) ||
			    (ex_has(&x, EFAULT) && !kern)) {
				ex_only(&x, EIO);
			}
			expect_result(w, r, e, 0, &x, rw_names[how]);
			return;
		}
		if (st == LK_UNSURE)
			outcome(OUT_LKMC_UNSURE);
	}

	/* A short copy at a fault may stop a little early (see the docs). */
	if (o->kind == K_DEV && !x.n && r >= 0 && r < want && good < total &&
	    want == (long)good) {
		outcome(OUT_SHORT_INEXACT);
		if (wr)
			shadow_unknown(w, pos + (uint64_t)r, (size_t)(want - r));
		want = r;
	}
	if (!expect_result(w, r, e, want, &x, rw_names[how]))
		return;
	/* a refused or short write must not have changed anything more */
	if (o->kind == K_DEV && wr && (r < 0 || (size_t)r < total)) {
		if (r > 0) {
			segs_gather(s, n, tmp, (size_t)r);
			shadow_set(w, pos, tmp, (size_t)r);
			if (!positional)
				o->pos = pos + (uint64_t)r;
		}
		verify_slice_any(w, r < 0 ? "a refused write" : "a short write");
		return;
	}
	if (r < 0)
		return;

	if (o->kind == K_DEV) {
		if (!positional)
			o->pos = pos + (uint64_t)r;
		if (wr) {
			segs_gather(s, n, tmp, (size_t)r);
			shadow_set(w, pos, tmp, (size_t)r);
		} else {
			segs_gather(s, n, tmp, (size_t)r);
			check_dev_bytes(w, pos, tmp, (size_t)r, rw_names[how]);
		}
		return;
	}
	/* lkmc */
	if (wr) {
		memcpy(o->page, page_after, PG);
		return;
	}
	segs_gather(s, n, tmp, (size_t)r);
	if (r)
		outcome(OUT_READS_COMPARED);
	if (memcmp(tmp, o->page + pos, (size_t)r)) {
		fail(w, "%s of /proc/lkmc_mmap at %llu: got \"%.*s\", the page holds \"%.*s\"",
		     rw_names[how], (unsigned long long)pos, (int)r, tmp,
		     (int)r, o->page + pos);
		return;
	}
	if (!positional)
		o->pos = lk_pos;
}

static void op_rw(struct worker *w)
{
	do_rw(w, (enum rw)(w->op - OP_READ));
}

static void op_lseek(struct worker *w)
{
	int fi = pick_fd(w, -1), whence, e;
	struct ofd *o;
	int64_t S, off, nw = 0;
	off_t r;
	struct expect x = { .n = 0 };
	uint32_t s1;

	if (fi < 0)
		return;
	o = ofd_of(w, fi);
	S = o->kind == K_DEV ? (int64_t)sh->buf_size : LKMC_MSG;
	whence = (int)below(&w->rng, 7);
	if (whence == 5)
		whence = 5 + (int)below(&w->rng, 100);
	if (whence == 6)
		whence = -1;
	switch (below(&w->rng, 8)) {
	case 0: off = 0; break;
	case 1: off = (int64_t)below(&w->rng, (uint64_t)S + 2); break;
	case 2: off = S; break;
	case 3: off = -(int64_t)below(&w->rng, (uint64_t)S + 2); break;
	case 4: off = INT64_MAX - (int64_t)below(&w->rng, 2); break;
	case 5: off = INT64_MIN + (int64_t)below(&w->rng, 2); break;
	case 6: off = (int64_t)rnd(&w->rng); break;
	default: off = S + 1; break;
	}
	int64_t cur = (int64_t)o->pos;

	/*
	 * fixed_size_llseek(): SEEK_SET, SEEK_CUR and SEEK_END through
	 * generic_file_llseek_size() with maxsize = eof = S, then
	 * vfs_setpos(); SEEK_DATA, SEEK_HOLE and the rest are EINVAL.
	 */
	switch (whence) {
	case SEEK_SET: nw = off; break;
	case SEEK_CUR: nw = off ? (int64_t)((uint64_t)cur + (uint64_t)off) : cur; break;
	case SEEK_END: nw = (int64_t)((uint64_t)S + (uint64_t)off); break;
	default:
		ex_add(&x, EINVAL);
	}
	if (!x.n && (nw < 0 || nw > S))
		ex_add(&x, EINVAL);

	s1 = seq_read();
	r = lseek(w->fds[fi].fd, off, whence);
	e = errno;
	ret_log(w, r, e, "lseek(%d, %lld, %d) from %lld", w->fds[fi].fd,
		(long long)off, whence, (long long)cur);
	if (o->kind == K_LKMC) {
		enum lk st = lkmc_state(o, s1);

		if (st == LK_DEAD || (st == LK_UNSURE && r < 0 && e == EINVAL &&
				      !x.n)) {
			/* proc_reg_llseek() of a removed entry: EINVAL */
			o->dead = true;
			outcome(st == LK_DEAD ? OUT_LKMC_DEAD : OUT_LKMC_UNSURE);
			if (whence >= 0 && whence <= SEEK_HOLE)
				ex_only(&x, EINVAL);
			expect_result(w, r, e, 0, &x, "lseek");
			return;
		}
	}
	if (expect_result(w, r, e, nw, &x, "lseek") && r >= 0)
		o->pos = (uint64_t)r;
}

/* ------------------------------------------------------------------ mmap */

static int random_prot(struct worker *w)
{
	static const int prots[] = {
		PROT_READ, PROT_READ | PROT_WRITE, PROT_READ | PROT_WRITE,
		PROT_READ | PROT_WRITE, PROT_NONE, PROT_READ | PROT_EXEC,
		PROT_READ | PROT_WRITE | PROT_EXEC, PROT_WRITE, PROT_EXEC,
	};

	return prots[below(&w->rng, sizeof(prots) / sizeof(prots[0]))];
}

/* The page a lkmc mapping shows now (NULL: unknown). */
static const uint8_t *lkmc_view(struct worker *w, struct map *m)
{
	if (!m->shared && m->priv == PRIV_UNKNOWN)
		return NULL;
	if (!m->shared && m->priv == PRIV_COW)
		return m->privpage;
	return w->ofds[m->ofd].page;
}

/* A private lkmc mapping gets its own copy (a write fault broke COW). */
static void lkmc_cow(struct worker *w, struct map *m)
{
	if (m->shared || m->priv != PRIV_SHARED)
		return;
	m->privpage = malloc(PG);
	memcpy(m->privpage, w->ofds[m->ofd].page, PG);
	m->priv = PRIV_COW;
}

static void op_mmap(struct worker *w)
{
	enum kind kind = chance(&w->rng, 75) ? K_DEV : K_LKMC;
	int fi = pick_fd(w, kind), e;
	struct ofd *o;
	size_t len, pages;
	uint64_t off = 0;
	int prot, flags;
	bool fixed = false;
	uint8_t *hint = NULL, *a;
	struct expect x = { .n = 0 };
	uint64_t S = sh->buf_size, nr = S / PG;
	uint32_t s1;

	if (fi < 0) {
		w->op = OP_OPEN;
		op_open(w);
		return;
	}
	if (free_map_slots(w) < 3)
		return;
	o = ofd_of(w, fi);
	if (o->kind == K_DEV && chance(&w->rng, 25))
		set_method(w, fi, (uint32_t)below(&w->rng, KMMAP_METHOD_COUNT),
			   false);

	/* length */
	pages = 1 + below(&w->rng, kind == K_DEV ? w->slice_len / PG + 2 : 2);
	if (kind == K_LKMC && chance(&w->rng, 80))
		pages = 1;
	len = pages * PG;
	switch (below(&w->rng, 20)) {
	case 0: len = 0; break;
	case 1: len = chance(&w->rng, 50) ? (size_t)1 << 40 : SIZE_MAX & ~(PG - 1); break;
	case 2: case 3: len -= 1 + below(&w->rng, PG - 1); break;	/* unaligned */
	default: break;
	}
	pages = (len + PG - 1) / PG;
	if (len > SIZE_MAX - PG)
		pages = SIZE_MAX / PG;

	/* offset */
	if (kind == K_DEV) {
		int where = (int)below(&w->rng, 20);

		if (where < 13 && pages <= w->slice_len / PG)
			off = w->slice_off + PG * below(&w->rng, w->slice_len / PG - pages + 1);
		else if (where < 17)
			off = PG * below(&w->rng, nr);
		else if (where == 17)
			off = S + PG * below(&w->rng, 4);
		else if (where == 18)
			off = PG * below(&w->rng, nr) + 1 + below(&w->rng, PG - 1);
		else
			off = (1ULL << 62) + PG * below(&w->rng, 4);
	} else if (chance(&w->rng, 10)) {
		off = chance(&w->rng, 50) ? PG : 1 + below(&w->rng, PG - 1);
	}
	prot = random_prot(w);
	flags = chance(&w->rng, 90) ? MAP_SHARED :
		(chance(&w->rng, 50) ? MAP_PRIVATE : MAP_SHARED_VALIDATE);
	if (chance(&w->rng, 10))
		flags |= MAP_POPULATE;
	if (chance(&w->rng, 3))
		flags |= MAP_LOCKED;

	/* what the kernel must say */
	bool shared = (flags & MAP_TYPE) != MAP_PRIVATE;

	if (len == 0 || (off & (PG - 1)))
		ex_add(&x, EINVAL);
	if (len > ((size_t)1 << 46))
		ex_add(&x, ENOMEM);
	if (off / PG + pages < off / PG)
		ex_add(&x, EOVERFLOW);
	if (o->acc == O_WRONLY || (shared && (prot & PROT_WRITE) &&
				   o->acc == O_RDONLY))
		ex_add(&x, EACCES);
	if ((prot & PROT_EXEC) && sh->noexec[kind])
		ex_add(&x, EPERM);
	if (kind == K_DEV) {
		if (!shared)
			ex_add(&x, EINVAL);
		if (off >= S) {
			ex_add(&x, ENXIO);
			ex_add(&x, EOVERFLOW);
		} else if (pages > nr - off / PG) {
			ex_add(&x, EINVAL);
			ex_add(&x, ENOMEM);
		}
	} else if (off != 0 || pages != 1) {
		ex_add(&x, EINVAL);
		if (pages > 1)
			ex_add(&x, ENOMEM);
	}
	if (x.n && ex_has(&x, EINVAL))
		ex_add(&x, ENOMEM);

	/* MAP_FIXED into the own region, only where success is expected */
	if (!x.n && chance(&w->rng, 50)) {
		hint = region_pick(w, pages * PG, false);
		if (hint) {
			fixed = true;
			flags |= MAP_FIXED;
			if (free_map_slots(w) < 3)
				return;
		}
	}

	s1 = seq_read();
	a = mmap(hint, len, prot, flags, w->fds[fi].fd, (off_t)off);
	e = errno;
	ret_log(w, a == MAP_FAILED ? -1 : (long)a, e,
		"mmap(%p, %#zx, prot=%#x, flags=%#x, fd=%d, off=%#llx) method=%d",
		(void *)hint, len, prot, flags, w->fds[fi].fd,
		(unsigned long long)off, o->method);
	if (kind == K_LKMC) {
		enum lk st = lkmc_state(o, s1);

		if (st == LK_DEAD || (st == LK_UNSURE && a == MAP_FAILED &&
				      (e == EIO || e == ENODEV))) {
			/*
			 * A removed entry says EIO from get_unmapped_area()
			 * on, so only the syscall's own early checks (length,
			 * offset) come before it.
			 */
			o->dead = true;
			outcome(st == LK_DEAD ? OUT_LKMC_DEAD : OUT_LKMC_UNSURE);
			ex_add(&x, EIO);
			ex_add(&x, ENODEV);
		}
		/*
		 * A live lkmc mapping pins the module: if this one worked
		 * while the entry was going away the unload failed; fine.
		 */
	}
	if (!expect_result(w, a == MAP_FAILED ? -1 : 0, e, 0, &x, "mmap")) {
		if (a != MAP_FAILED && !fixed)
			munmap(a, len);
		return;
	}
	if (a == MAP_FAILED) {
		outcome(OUT_MMAP_ERR);
		/* a MAP_FIXED that failed late may have left a hole */
		if (fixed)
			region_refill(w, hint, pages * PG);
		return;
	}
	outcome(OUT_MMAP_OK);
	if (fixed && a != hint) {
		fail(w, "MAP_FIXED mmap returned %p, asked for %p", (void *)a,
		     (void *)hint);
		return;
	}
	if (fixed)
		records_remove_range(w, a, a + pages * PG);

	int mi = map_alloc(w);
	struct map *m = &w->maps[mi];

	m->kind = kind;
	m->addr = a;
	m->len = pages * PG;
	m->prot = prot;
	m->shared = shared;
	m->may_write = !shared || (kind == K_DEV ? (prot & PROT_WRITE) != 0 :
				   o->acc == O_RDWR);
	m->may_exec = !sh->noexec[kind];
	m->in_region = fixed;
	m->dev_off = off;
	m->method = o->method;
	m->ofd = w->fds[fi].ofd;
	m->priv = PRIV_SHARED;
	if (kind == K_LKMC) {
		o->nmaps++;
		/* populating a private writable mapping breaks COW */
		if (!shared && (prot & PROT_WRITE) &&
		    (flags & (MAP_POPULATE | MAP_LOCKED)))
			lkmc_cow(w, m);
	}
	if (chance(&w->rng, 50))
		check_map(w, m, false);
}

/* Unmaps [a, a + len) of the worker's mappings, refills its region. */
static void unmap_range(struct worker *w, uint8_t *a, size_t len)
{
	int r = munmap(a, len), e = errno;

	ret_log(w, r, e, "munmap(%p, %#zx)", (void *)a, len);
	if (r) {
		fail(w, "munmap(%p, %#zx) failed: %s", (void *)a, len,
		     errname(e));
		return;
	}
	records_remove_range(w, a, a + len);
	if (in_region(w, a) || in_region(w, a + len - 1))
		region_refill(w, a, len);
}

static void op_munmap(struct worker *w)
{
	int mi = pick_map(w, -1);
	struct map *m;
	size_t pages, first, count;

	if (mi < 0)
		return;
	m = &w->maps[mi];
	pages = m->len / PG;
	if (chance(&w->rng, 5)) {	/* misaligned or empty: EINVAL */
		bool empty = chance(&w->rng, 50);
		uint8_t *a = empty ? m->addr : m->addr + 1 + below(&w->rng, PG - 1);
		int r = munmap(a, empty ? 0 : PG), e = errno;
		struct expect x = { .n = 0 };

		ret_log(w, r, e, "munmap(%p, %#lx)", (void *)a, empty ? 0 : PG);
		ex_add(&x, EINVAL);
		expect_result(w, r, e, 0, &x, "munmap");
		return;
	}
	switch (below(&w->rng, 4)) {
	case 0: first = 0; count = pages; break;	/* whole */
	case 1: first = 0; count = 1 + below(&w->rng, pages); break;
	case 2: count = 1 + below(&w->rng, pages); first = pages - count; break;
	default:			/* middle */
		first = below(&w->rng, pages);
		count = 1 + below(&w->rng, pages - first);
		break;
	}
	if (first > 0 && first + count < pages && free_map_slots(w) < 1)
		return;
	unmap_range(w, m->addr + first * PG, count * PG);
}

static void op_mremap(struct worker *w)
{
	int mi = pick_map(w, -1), variant = (int)below(&w->rng, 10), e;
	struct map *m;
	size_t pages, first, count, new_len;
	uint8_t *src, *dst = NULL, *r;
	int flags = 0;
	struct expect x = { .n = 0 };

	if (mi < 0 || free_map_slots(w) < 3)
		return;
	m = &w->maps[mi];
	pages = m->len / PG;
	first = below(&w->rng, pages);
	count = 1 + below(&w->rng, pages - first);
	src = m->addr + first * PG;
	new_len = count * PG;

	if (variant < 2 && count > 1) {			/* shrink */
		new_len = (1 + below(&w->rng, count - 1)) * PG;
	} else if (variant < 6) {			/* move */
		dst = region_pick(w, count * PG, true);
		if (!dst)
			return;
		flags = MREMAP_MAYMOVE | MREMAP_FIXED;
	} else if (variant < 8) {			/* grow: DONTEXPAND */
		new_len = (count + 1 + below(&w->rng, 4)) * PG;
		flags = chance(&w->rng, 50) ? MREMAP_MAYMOVE : 0;
		ex_add(&x, EFAULT);
		if (!flags)
			ex_add(&x, ENOMEM);
	} else if (variant == 8) {			/* DONTUNMAP */
		flags = MREMAP_MAYMOVE | MREMAP_DONTUNMAP;
	} else {					/* nonsense */
		new_len = chance(&w->rng, 50) ? 0 : new_len;
		flags = new_len ? MREMAP_FIXED : 0;	/* FIXED without MAYMOVE */
		ex_add(&x, EINVAL);
	}

	r = mremap(src, count * PG, new_len, flags, dst);
	e = errno;
	ret_log(w, r == MAP_FAILED ? -1 : (long)r, e,
		"mremap(%p, %#zx, %#zx, %#x, %p)", (void *)src, count * PG,
		new_len, flags, (void *)dst);

	if (flags & MREMAP_DONTUNMAP) {
		/* VM_DONTEXPAND refuses it (5.13+); earlier, not anonymous */
		if (r == MAP_FAILED) {
			if (e != EINVAL) {
				fail(w, "mremap DONTUNMAP failed with %s, expected EINVAL",
				     errname(e));
				return;
			}
			outcome(OUT_DONTUNMAP_EINVAL);
			return;
		}
		outcome(OUT_DONTUNMAP_OK);
		/* Both stay: the old range with no PTEs, faulting back in. */
		int ni = map_isolate(w, mi, first * PG, count * PG);

		if (ni < 0 || free_map_slots(w) < 1) {
			munmap(r, new_len);
			return;
		}
		int ci = map_alloc(w);

		w->maps[ci] = w->maps[ni];
		w->maps[ci].addr = r;
		w->maps[ci].in_region = false;
		w->maps[ci].privpage = NULL;
		w->maps[ci].priv = w->maps[ni].shared ? PRIV_SHARED : PRIV_UNKNOWN;
		if (w->maps[ci].kind == K_LKMC)
			w->ofds[w->maps[ci].ofd].nmaps++;
		return;
	}
	if (!expect_result(w, r == MAP_FAILED ? -1 : 0, e, 0, &x, "mremap"))
		return;
	if (r == MAP_FAILED)
		return;
	if (dst && r != dst) {
		fail(w, "mremap FIXED returned %p, asked for %p", (void *)r,
		     (void *)dst);
		return;
	}
	if (!dst) {			/* shrink in place */
		if (r != src) {
			fail(w, "shrinking mremap moved %p to %p", (void *)src,
			     (void *)r);
			return;
		}
		records_remove_range(w, src + new_len, src + count * PG);
		if (m->in_region)
			region_refill(w, src + new_len, count * PG - new_len);
		return;
	}
	/* moved: the record of [src, + count) goes to dst */
	outcome(OUT_MREMAP_MOVED);
	int ni = map_isolate(w, mi, first * PG, count * PG);

	if (ni < 0) {			/* cannot happen: slots checked */
		fail(w, "kfuzz: no record slot for a moved mapping");
		return;
	}
	w->maps[ni].addr = dst;
	bool was_region = w->maps[ni].in_region;

	w->maps[ni].in_region = true;
	if (was_region)
		region_refill(w, src, count * PG);
	if (chance(&w->rng, 50))
		check_map(w, &w->maps[ni], false);
}

static void op_mprotect(struct worker *w)
{
	int mi = pick_map(w, -1), prot = random_prot(w), r, e;
	struct map *m;
	size_t pages, first, count;
	struct expect x = { .n = 0 };

	if (mi < 0 || free_map_slots(w) < 2)
		return;
	m = &w->maps[mi];
	pages = m->len / PG;
	first = below(&w->rng, pages);
	count = 1 + below(&w->rng, pages - first);
	if ((prot & PROT_WRITE) && !m->may_write)
		ex_add(&x, EACCES);
	if ((prot & PROT_EXEC) && !m->may_exec)
		ex_add(&x, EACCES);
	r = mprotect(m->addr + first * PG, count * PG, prot);
	e = errno;
	ret_log(w, r, e, "mprotect(%p, %#zx, %#x) was %#x",
		(void *)(m->addr + first * PG), count * PG, prot, m->prot);
	if (!expect_result(w, r, e, 0, &x, "mprotect") || r)
		return;
	mi = map_isolate(w, mi, first * PG, count * PG);
	w->maps[mi].prot = prot;
	if (chance(&w->rng, 40))
		check_map(w, &w->maps[mi], false);
}

static void op_madvise(struct worker *w)
{
	/* Every advice but MADV_HWPOISON (100) and MADV_SOFT_OFFLINE (101),
	 * which need CAP_SYS_ADMIN and poison or offline real pages; and
	 * values no kernel knows. */
	static const int advice[] = {
		MADV_NORMAL, MADV_RANDOM, MADV_SEQUENTIAL, MADV_WILLNEED,
		MADV_DONTNEED, MADV_DONTNEED, MADV_DONTNEED, 8 /* FREE */,
		9 /* REMOVE */, MADV_DONTFORK, MADV_DOFORK, 12 /* MERGEABLE */,
		13 /* UNMERGEABLE */, 14 /* HUGEPAGE */, 15 /* NOHUGEPAGE */,
		16 /* DONTDUMP */, 17 /* DODUMP */, 18 /* WIPEONFORK */,
		19 /* KEEPONFORK */, 20 /* COLD */, 21 /* PAGEOUT */,
		22 /* POPULATE_READ */, 23 /* POPULATE_WRITE */,
		24 /* DONTNEED_LOCKED */, 25 /* COLLAPSE */, 5, 6, 7, 26, 99,
		103 /* GUARD_REMOVE */, 104, -1,
	};
	int mi = pick_map(w, -1), adv, r, e;
	struct map *m;
	size_t pages, first, count;

	if (mi < 0 || free_map_slots(w) < 2)
		return;
	m = &w->maps[mi];
	adv = advice[below(&w->rng, sizeof(advice) / sizeof(advice[0]))];
	pages = m->len / PG;
	first = below(&w->rng, pages);
	count = 1 + below(&w->rng, pages - first);
	r = madvise(m->addr + first * PG, count * PG, adv);
	e = errno;
	ret_log(w, r, e, "madvise(%p, %#zx, %d) kind=%d prot=%#x method=%d",
		(void *)(m->addr + first * PG), count * PG, adv, m->kind,
		m->prot, m->method);
	if (r) {
		outcome(OUT_MADV_ERR);
		/* a refused POPULATE_WRITE may have broken COW halfway */
		if (adv == 23 && m->kind == K_LKMC && !m->shared)
			m->priv = PRIV_UNKNOWN;
		return;
	}
	outcome(OUT_MADV_OK);
	mi = map_isolate(w, mi, first * PG, count * PG);
	if (mi < 0)
		return;
	m = &w->maps[mi];
	switch (adv) {
	case MADV_DONTFORK: m->dontfork = true; break;
	case MADV_DOFORK: m->dontfork = false; break;
	case MADV_DONTNEED: case 24:
		/* a private mapping drops its copy and sees the file again */
		if (m->kind == K_LKMC && !m->shared) {
			free(m->privpage);
			m->privpage = NULL;
			m->priv = PRIV_SHARED;
		}
		break;
	case 23:
		if (m->kind == K_LKMC && !m->shared)
			lkmc_cow(w, m);
		break;
	case 18:	/* WIPEONFORK: anonymous only; if it took, say so */
		m->dontfork = true;
		break;
	default: break;
	}
	if (chance(&w->rng, 40))
		check_map(w, m, false);
}

static void op_mlock(struct worker *w, bool lock)
{
	int mi = pick_map(w, -1), r, e;
	struct map *m;
	size_t pages, first, count;
	bool onfault = chance(&w->rng, 30);

	if (mi < 0)
		return;
	m = &w->maps[mi];
	pages = m->len / PG;
	first = below(&w->rng, pages);
	count = 1 + below(&w->rng, pages - first);
	if (lock)
		r = (int)syscall(SYS_mlock2, m->addr + first * PG, count * PG,
				 onfault ? 1 /* MLOCK_ONFAULT */ : 0);
	else
		r = munlock(m->addr + first * PG, count * PG);
	e = errno;
	ret_log(w, r, e, "%s(%p, %#zx%s) prot=%#x", lock ? "mlock2" : "munlock",
		(void *)(m->addr + first * PG), count * PG,
		onfault && lock ? ", ONFAULT" : "", m->prot);
	/* PROT_NONE ranges cannot be populated: ENOMEM is what mlock says */
	if (r && !(lock && e == ENOMEM && !(m->prot & (PROT_READ | PROT_WRITE)))) {
		if (lock && e == ENOMEM && m->prot == PROT_WRITE)
			return;
		if (!(lock && (e == EAGAIN || e == EPERM))) {
			fail(w, "%s failed: %s", lock ? "mlock2" : "munlock",
			     errname(e));
			return;
		}
	}
	if (!r && lock && !onfault && m->kind == K_LKMC && !m->shared &&
	    (m->prot & PROT_WRITE))
		lkmc_cow(w, m);
}

/* ---------------------------------------------------------------- touch */

/* Expected content of one page of a mapping, or NULL if not known. */
static const uint8_t *page_expect(struct worker *w, struct map *m, size_t p)
{
	if (m->kind == K_LKMC)
		return lkmc_view(w, m);
	uint64_t boff = m->dev_off + p * PG;

	if (!own_page(w, boff) || !w->known[(boff - w->slice_off) / PG])
		return NULL;
	return w->shadow + (boff - w->slice_off);
}

/*
 * Touches every page of a mapping: loads where they must work (and
 * compares with the model), a load where they must fault, stores of new
 * bytes into writable own pages, a same-value store where a store must
 * fault. A fork child only loads (its stores would not be the parent's).
 */
bool check_map(struct worker *w, struct map *m, bool in_child)
{
	bool readable = (m->prot & (PROT_READ | PROT_WRITE)) != 0;
	bool execonly = m->prot == PROT_EXEC;
	bool gone = in_child && m->dontfork;
	size_t pages = m->len / PG;
	uint8_t v;

	for (size_t p = 0; p < pages; p++) {
		uint8_t *a = m->addr + p * PG;
		const uint8_t *want = page_expect(w, m, p);
		int sig = probe_read(w, a, &v);

		if (gone) {
			/* DONTFORK (or WIPEONFORK taken): not in the child */
			if (!sig && m->kind == K_DEV) {
				fail(w, "fork child: DONTFORK page %p is mapped", (void *)a);
				return false;
			}
			continue;
		}
		if (!readable && !execonly) {
			if (!sig) {
				fail(w, "load from PROT_NONE page %p succeeded", (void *)a);
				return false;
			}
			outcome(OUT_SEGV_EXPECTED);
			continue;
		}
		if (sig) {
			if (execonly) {
				outcome(OUT_SEGV_EXPECTED);
				continue;
			}
			fail(w, "load from page %p (mapping %p+%#zx, prot %#x, %s, buffer offset %#llx, method %d) got signal %d",
			     (void *)a, (void *)m->addr, m->len, m->prot,
			     m->kind == K_DEV ? "kmmap" : "lkmc",
			     (unsigned long long)(m->dev_off + p * PG),
			     m->method, sig);
			return false;
		}
		if (want) {
			size_t diff;

			outcome(OUT_PAGES_COMPARED);
			sig = probe_cmp(w, a, want, PG, &diff);
			if (sig) {
				fail(w, "page %p faulted (signal %d) in the middle of a compare",
				     (void *)a, sig);
				return false;
			}
			if (diff < PG) {
				fail(w, "mapped page %p (%s, buffer offset %#llx, method %d) byte %zu is %#x, expected %#x",
				     (void *)a, m->kind == K_DEV ? "kmmap" : "lkmc",
				     (unsigned long long)(m->dev_off + p * PG),
				     m->method, diff, a[diff], want[diff]);
				return false;
			}
		}
		if (in_child)
			continue;
		bool own = m->kind == K_LKMC ? true :
			   own_page(w, m->dev_off + p * PG);

		if (!own)
			continue;
		if ((m->prot & PROT_WRITE) && chance(&w->rng, 30)) {
			size_t at = below(&w->rng, PG), n = 1 + below(&w->rng, 256);
			uint8_t buf[256];

			if (at + n > PG)
				n = PG - at;
			for (size_t i = 0; i < n; i++)
				buf[i] = (uint8_t)rnd(&w->rng);
			sig = probe_write(w, a + at, buf, n);
			wlog(w, "store %zu bytes at %p", n, (void *)(a + at));
			if (sig) {
				fail(w, "store into writable page %p got signal %d",
				     (void *)a, sig);
				return false;
			}
			if (m->kind == K_DEV) {
				shadow_set(w, m->dev_off + p * PG + at, buf, n);
			} else {
				if (!m->shared)
					lkmc_cow(w, m);
				uint8_t *pg = m->shared ? w->ofds[m->ofd].page :
					      m->priv == PRIV_COW ? m->privpage : NULL;

				if (pg)
					memcpy(pg + at, buf, n);
			}
		} else if (!(m->prot & PROT_WRITE) && readable &&
			   chance(&w->rng, 10)) {
			sig = probe_store_same(w, a);
			wlog(w, "same-value store to read-only %p: signal %d",
			     (void *)a, sig);
			if (!sig) {
				fail(w, "store to read-only page %p succeeded", (void *)a);
				return false;
			}
			outcome(OUT_SEGV_EXPECTED);
		}
	}
	return true;
}

static void op_touch(struct worker *w)
{
	int mi = pick_map(w, -1);

	if (mi < 0)
		return;
	wlog(w, "touch %p+%#zx prot %#x", (void *)w->maps[mi].addr,
	     w->maps[mi].len, w->maps[mi].prot);
	check_map(w, &w->maps[mi], false);
}

/* ------------------------------------------------------------ resync */

/* Reads back own pages whose content the model lost track of. */
static void resync(struct worker *w)
{
	int fi = -1;

	for (int i = 0; i < MAX_FDS; i++)
		if (w->fds[i].fd >= 0 && ofd_of(w, i)->kind == K_DEV &&
		    ofd_of(w, i)->acc != O_WRONLY)
			fi = i;
	if (fi < 0)
		return;
	for (uint64_t p = 0; p < w->slice_len / PG; p++) {
		if (w->known[p])
			continue;
		ssize_t r = pread(w->fds[fi].fd, w->shadow + p * PG, PG,
				  (off_t)(w->slice_off + p * PG));
		int e = errno;

		ret_log(w, r, e, "pread(%d, resync page %llu)", w->fds[fi].fd,
			(unsigned long long)p);
		if (r != (ssize_t)PG) {
			fail(w, "resync pread failed: %s", errname(e));
			return;
		}
		w->known[p] = 1;
		outcome(OUT_RESYNC_PAGES);
	}
}

/* -------------------------------------------------------------- drain */

/* Lets go of everything that holds the module: mappings and device fds. */
static void release_all(struct worker *w)
{
	for (int i = 0; i < MAX_MAPS; i++)
		if (w->maps[i].used)
			unmap_range(w, w->maps[i].addr, w->maps[i].len);
	for (int i = 0; i < MAX_FDS; i++)
		if (w->fds[i].fd >= 0 && ofd_of(w, i)->kind == K_DEV)
			close_fd(w, i);
}

static void drain(struct worker *w)
{
	enum op was = w->op;

	w->op = OP_DRAIN;
	count_op(OP_DRAIN);
	wlog(w, "drain: releasing everything that holds the module");
	release_all(w);
	if (w->failed)
		return;
	__atomic_add_fetch(&sh->drain_acks, 1, __ATOMIC_SEQ_CST);
	/* lkmc descriptors stay open: they do not hold the module */
	while (__atomic_load_n(&sh->drain, __ATOMIC_SEQ_CST) && !stopping()) {
		usleep(5000);
		if (chance(&w->rng, 20)) {
			int fi = pick_fd(w, K_LKMC);

			if (fi >= 0) {
				w->op = chance(&w->rng, 50) ? OP_READ : OP_WRITE;
				count_op(w->op);
				do_rw(w, w->op == OP_READ ? RW_READ : RW_WRITE);
				if (w->failed)
					break;
			}
		}
	}
	__atomic_sub_fetch(&sh->drain_acks, 1, __ATOMIC_SEQ_CST);
	w->op = was;
}

/* ------------------------------------------------------------ the loop */

void worker_init(struct worker *w, int proc, int thread)
{
	uint64_t nr = sh->buf_size / PG;
	uint64_t slice_pages;

	memset(w, 0, sizeof(*w));
	w->proc = proc;
	w->thread = thread;
	w->index = proc * opt.threads + thread;
	w->pid = getpid();
	w->tid = (pid_t)syscall(SYS_gettid);
	w->rng.s = sh->seed * 0x9e3779b97f4a7c15ULL ^
		   ((uint64_t)(proc + 1) << 32 | (uint64_t)(thread + 1));
	rnd(&w->rng);
	for (int i = 0; i < MAX_FDS; i++)
		w->fds[i].fd = -1;
	slice_pages = nr / (uint64_t)sh->nworkers;
	if (slice_pages > 64)
		slice_pages = 64;
	w->slice_off = (uint64_t)w->index * slice_pages * PG;
	w->slice_len = slice_pages * PG;
	w->shadow = calloc(1, w->slice_len);
	w->known = malloc(slice_pages);
	memset(w->known, 1, slice_pages);	/* main zeroed the buffer */
	w->dev_inst = 0;
	w->region = mmap((void *)(REGION_BASE + (uint64_t)w->index *
				  (REGION_PAGES + 16) * PG),
			 REGION_PAGES * PG, PROT_NONE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE |
			 MAP_FIXED_NOREPLACE, -1, 0);
	w->scratch = mmap(NULL, 64 * PG, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	w->guard = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	w->pfnbuf = malloc(nr * 8 + 64);
	if (w->region == MAP_FAILED || w->scratch == MAP_FAILED ||
	    w->guard == MAP_FAILED || !w->shadow || !w->known || !w->pfnbuf) {
		out("kfuzz: worker %d.%d: setup failed: %s", proc, thread,
		    strerror(errno));
		exit(2);
	}
	mprotect(w->guard + PG, PG, PROT_NONE);
	w->datafd = -1;
	if (sh->odirect_path[0])
		w->datafd = open(sh->odirect_path, O_RDONLY);
}

struct weighted {
	enum op op;
	unsigned weight;
};

static const struct weighted weights[] = {
	{ OP_OPEN, 5 }, { OP_CLOSE, 3 }, { OP_DUP, 2 }, { OP_MMAP, 12 },
	{ OP_MUNMAP, 5 }, { OP_MREMAP, 5 }, { OP_MPROTECT, 4 },
	{ OP_MADVISE, 6 }, { OP_MLOCK, 2 }, { OP_MUNLOCK, 1 },
	{ OP_READ, 4 }, { OP_WRITE, 4 }, { OP_PREAD, 4 }, { OP_PWRITE, 4 },
	{ OP_READV, 3 }, { OP_WRITEV, 3 }, { OP_LSEEK, 4 }, { OP_INFO, 2 },
	{ OP_SET_METHOD, 3 }, { OP_PFNS, 2 }, { OP_FILL, 5 },
	{ OP_CHECKSUM, 4 }, { OP_BAD_IOCTL, 2 }, { OP_PHYS, 2 },
	{ OP_TOUCH, 14 }, { OP_FORK, 1 }, { OP_VMSPLICE, 2 },
	{ OP_ODIRECT, 2 }, { OP_IOURING, 1 }, { OP_METHOD_RACE, 1 },
};

static enum op pick_op(struct worker *w)
{
	unsigned total = 0;

	/* splits fill the record table: unmap more when it runs full */
	if (free_map_slots(w) < 10 && chance(&w->rng, 30))
		return OP_MUNMAP;

	for (size_t i = 0; i < sizeof(weights) / sizeof(weights[0]); i++)
		total += weights[i].weight;
	unsigned k = (unsigned)below(&w->rng, total);

	for (size_t i = 0; i < sizeof(weights) / sizeof(weights[0]); i++) {
		if (k < weights[i].weight)
			return weights[i].op;
		k -= weights[i].weight;
	}
	return OP_TOUCH;
}

void worker_run(struct worker *w)
{
	set_current_worker(w);
	while (!stopping() && !w->failed) {
		if (__atomic_load_n(&sh->drain, __ATOMIC_SEQ_CST)) {
			drain(w);
			continue;
		}
		bool unknown = false;

		for (uint64_t p = 0; p < w->slice_len / PG; p++)
			unknown |= !w->known[p];
		if (unknown)
			resync(w);
		w->op = pick_op(w);
		count_op(w->op);
		switch (w->op) {
		case OP_OPEN: op_open(w); break;
		case OP_CLOSE: op_close(w); break;
		case OP_DUP: op_dup(w); break;
		case OP_MMAP: op_mmap(w); break;
		case OP_MUNMAP: op_munmap(w); break;
		case OP_MREMAP: op_mremap(w); break;
		case OP_MPROTECT: op_mprotect(w); break;
		case OP_MADVISE: op_madvise(w); break;
		case OP_MLOCK: op_mlock(w, true); break;
		case OP_MUNLOCK: op_mlock(w, false); break;
		case OP_READ: case OP_WRITE: case OP_PREAD: case OP_PWRITE:
		case OP_READV: case OP_WRITEV:
			op_rw(w);
			break;
		case OP_LSEEK: op_lseek(w); break;
		case OP_INFO: op_info(w); break;
		case OP_SET_METHOD: op_set_method(w); break;
		case OP_PFNS: op_pfns(w); break;
		case OP_FILL: op_fill(w); break;
		case OP_CHECKSUM: op_checksum(w); break;
		case OP_BAD_IOCTL: op_bad_ioctl(w); break;
		case OP_PHYS: op_phys(w); break;
		case OP_TOUCH: op_touch(w); break;
		case OP_FORK: op_fork(w); break;
		case OP_VMSPLICE: op_vmsplice(w); break;
		case OP_ODIRECT: op_odirect(w); break;
		case OP_IOURING: op_iouring(w); break;
		case OP_METHOD_RACE: op_method_race(w); break;
		default: break;
		}
	}
	if (!w->failed) {
		/* leave nothing behind: the reloader may want the module */
		w->op = OP_DRAIN;
		release_all(w);
	}
}
