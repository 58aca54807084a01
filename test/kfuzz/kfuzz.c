// SPDX-License-Identifier: MIT
/*
 * kfuzz: a seeded, reproducible syscall-sequence fuzzer for kmmap.ko.
 *
 * Several processes (fork), each with several threads, issue random
 * sequences of calls on /dev/kmmap and /proc/lkmc_mmap: open, close, dup,
 * mmap (every method, odd lengths and offsets, MAP_FIXED into the worker's
 * own address region), munmap (whole, head, middle, tail), mremap (shrink,
 * move, grow, MREMAP_DONTUNMAP), mprotect, madvise (every advice but
 * HWPOISON and SOFT_OFFLINE), mlock, read/write/pread/pwrite/readv/writev
 * with good and bad buffers, lseek, every ioctl with boundary arguments,
 * loads and stores through the mappings, fork, vmsplice, O_DIRECT, io_uring
 * fixed buffers, SET_METHOD racing mmap; and a reloader process unloads and
 * reloads the module under all of it (reload.c).
 *
 * Every result is predicted from a model of what the worker holds and
 * checked; content is checked against shadows (worker.c explains the
 * slices). A failure prints the seed, the worker, the call and its result,
 * and the worker's last 64 calls, and makes the exit status 1.
 *
 * Reproducible: every choice comes from the seed (each worker thread's
 * generator is derived from it and its process and thread numbers).
 * Threads and processes still interleave as the scheduler decides, so a
 * rerun makes the same choices per worker, not the same global order.
 *
 * Usage: kfuzz [--seed N] [--seconds N] [--calls N] [--procs N]
 *              [--threads N] [--no-reload] [--summary FILE] [--data-dir DIR]
 * The reloader runs when KMMAP_KO names the module file (vm/run sets it).
 * Exit: 0 clean, 1 failures, 2 usage or set-up error.
 */
#include "kfuzz.h"

#include <sys/statvfs.h>
#include <time.h>

struct shared *sh;
struct options opt = {
	.seed = 1, .seconds = 600, .calls = 1000000, .procs = 3, .threads = 3,
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void usage(void)
{
	out("usage: kfuzz [--seed N] [--seconds N] [--calls N] [--procs N] [--threads N]\n"
	    "             [--no-reload] [--summary FILE] [--data-dir DIR]");
	exit(2);
}

static uint64_t num(const char *s)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s ? s : "", &end, 0);
	if (!s || !*s || *end || errno)
		usage();
	return v;
}

static void *thread_main(void *arg)
{
	worker_run(arg);
	return NULL;
}

static void worker_process(int proc)
{
	pthread_t t[64];
	struct worker *w[64];

	for (int i = 0; i < opt.threads; i++) {
		w[i] = malloc(sizeof(struct worker));
		worker_init(w[i], proc, i);
		if (pthread_create(&t[i], NULL, thread_main, w[i])) {
			out("kfuzz: pthread_create: %s", strerror(errno));
			__atomic_fetch_add(&sh->failures, 1, __ATOMIC_SEQ_CST);
			__atomic_store_n(&sh->stop, 1, __ATOMIC_SEQ_CST);
			_exit(2);
		}
	}
	for (int i = 0; i < opt.threads; i++)
		pthread_join(t[i], NULL);
	_exit(0);
}

/* Zeroes the whole buffer so that every slice starts as its shadow. */
static void prepare_device(void)
{
	struct kmmap_info info;
	struct kmmap_fill f = { .offset = 0, .pattern = 0, .pattern_len = 1 };
	int fd = open(DEV_PATH, O_RDWR | O_CLOEXEC);

	if (fd < 0 || ioctl(fd, KMMAP_IOC_INFO, &info)) {
		out("kfuzz: %s: %s (is kmmap.ko loaded?)", DEV_PATH,
		    strerror(errno));
		exit(2);
	}
	sh->buf_size = info.size;
	f.length = info.size;
	if (ioctl(fd, KMMAP_IOC_FILL, &f)) {
		out("kfuzz: zeroing the buffer: %s", strerror(errno));
		exit(2);
	}
	close(fd);
	if ((uint64_t)sh->nworkers > info.size / PG) {
		out("kfuzz: %d workers need at least that many pages; the buffer has %llu",
		    sh->nworkers, (unsigned long long)(info.size / PG));
		exit(2);
	}
	out("kfuzz: /dev/kmmap: %llu bytes, backing %s, slices of %llu pages",
	    (unsigned long long)info.size,
	    info.backing == KMMAP_BACKING_VMALLOC ? "vmalloc" : "contig",
	    (unsigned long long)((info.size / PG / (uint64_t)sh->nworkers) > 64 ?
				 64 : info.size / PG / (uint64_t)sh->nworkers));
}

/* The kernel stacks of a process that would not stop: where it hangs. */
static void show_stacks(pid_t pid)
{
	char path[64], buf[4096];
	int fd;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/stack", (int)pid);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n > 0) {
		buf[n] = 0;
		out("kfuzz: kernel stack of %d:\n%s", (int)pid, buf);
	}
}

int main(int argc, char **argv)
{
	const char *data_dir = NULL;
	bool no_reload = false;
	pid_t pids[65];
	int npids = 0, exit_bad = 0;
	double start, elapsed;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "--seed"))
			opt.seed = num(v), i++;
		else if (!strcmp(a, "--seconds"))
			opt.seconds = (unsigned)num(v), i++;
		else if (!strcmp(a, "--calls"))
			opt.calls = num(v), i++;
		else if (!strcmp(a, "--procs"))
			opt.procs = (int)num(v), i++;
		else if (!strcmp(a, "--threads"))
			opt.threads = (int)num(v), i++;
		else if (!strcmp(a, "--summary") && v)
			opt.summary = v, i++;
		else if (!strcmp(a, "--data-dir") && v)
			data_dir = v, i++;
		else if (!strcmp(a, "--no-reload"))
			no_reload = true;
		else
			usage();
	}
	if (opt.procs < 1 || opt.procs > 64 || opt.threads < 1 ||
	    opt.threads > 64)
		usage();
	opt.ko = getenv("KMMAP_KO");
	opt.reload = opt.ko && *opt.ko && !no_reload;

	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED) {
		perror("kfuzz: mmap");
		return 2;
	}
	sh->seed = opt.seed;
	sh->max_calls = opt.calls;
	sh->nworkers = opt.procs * opt.threads;
	out("kfuzz: seed=%llu procs=%d threads=%d seconds=%u calls=%llu reload=%s",
	    (unsigned long long)opt.seed, opt.procs, opt.threads, opt.seconds,
	    (unsigned long long)opt.calls,
	    opt.reload ? opt.ko : "off (KMMAP_KO unset or --no-reload)");
	prepare_device();
	/*
	 * PROT_EXEC on a file of a noexec mount gets EPERM; procfs is noexec
	 * whatever its mount flags say (SB_I_NOEXEC on the superblock).
	 */
	struct statvfs vfs;

	sh->noexec[K_DEV] = !statvfs(DEV_PATH, &vfs) && (vfs.f_flag & ST_NOEXEC);
	sh->noexec[K_LKMC] = true;
	setup_data_file(data_dir);
	out("kfuzz: data file %s; O_DIRECT %s", sh->odirect_path,
	    sh->odirect_where[0] ? "works there" : "works nowhere here (recorded, not run)");
	crc32_zlib(0, NULL, 0);		/* builds the table before any fork */
	install_fault_handler();

	start = now();
	for (int p = 0; p < opt.procs; p++) {
		pid_t pid = fork();

		if (pid == 0)
			worker_process(p);
		if (pid < 0) {
			perror("kfuzz: fork");
			__atomic_store_n(&sh->stop, 1, __ATOMIC_SEQ_CST);
			break;
		}
		pids[npids++] = pid;
	}
	if (opt.reload) {
		pid_t pid = fork();

		if (pid == 0) {
			reloader_run();
			_exit(0);
		}
		if (pid > 0)
			pids[npids++] = pid;
	}

	double last = start;

	while (!stopping()) {
		usleep(200000);
		if (now() - start >= opt.seconds)
			__atomic_store_n(&sh->stop, 1, __ATOMIC_SEQ_CST);
		if (now() - last >= 15) {
			last = now();
			out("kfuzz: %.0f s, %llu calls", last - start,
			    (unsigned long long)__atomic_load_n(&sh->calls,
								 __ATOMIC_RELAXED));
		}
	}
	elapsed = now() - start;

	/* Everyone stops at the next call; one that does not is stuck. */
	double deadline = now() + 120;
	int left = npids;

	while (left && now() < deadline) {
		for (int i = 0; i < npids; i++) {
			int st;

			if (pids[i] <= 0 || waitpid(pids[i], &st, WNOHANG) != pids[i])
				continue;
			if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
				out("kfuzz: FAILURE seed=%llu: process %d ended with status %#x",
				    (unsigned long long)opt.seed, (int)pids[i], st);
				exit_bad++;
			}
			pids[i] = 0;
			left--;
		}
		usleep(100000);
	}
	for (int i = 0; i < npids; i++) {
		if (pids[i] <= 0)
			continue;
		out("kfuzz: FAILURE seed=%llu: process %d did not stop within 120 s",
		    (unsigned long long)opt.seed, (int)pids[i]);
		show_stacks(pids[i]);
		kill(pids[i], SIGKILL);
		waitpid(pids[i], NULL, 0);
		exit_bad++;
	}
	remove_data_file();

	out("kfuzz: calls per operation:");
	for (int i = 0; i < OP_COUNT; i++)
		if (sh->op_count[i])
			out("kfuzz:   %-18s %llu", op_names[i],
			    (unsigned long long)sh->op_count[i]);
	out("kfuzz: outcomes:");
	for (int i = 0; i < OUT_COUNT; i++)
		if (sh->outcome[i])
			out("kfuzz:   %-52s %llu", outcome_names[i],
			    (unsigned long long)sh->outcome[i]);

	int failures = sh->failures + exit_bad;

	out("kfuzz: result seed=%llu calls=%llu seconds=%.1f failures=%d calls/s=%.0f",
	    (unsigned long long)opt.seed, (unsigned long long)sh->calls,
	    elapsed, failures, (double)sh->calls / (elapsed > 0 ? elapsed : 1));
	if (opt.summary) {
		FILE *f = fopen(opt.summary, "w");

		if (f) {
			fprintf(f, "%llu %llu %.1f %d\n",
				(unsigned long long)opt.seed,
				(unsigned long long)sh->calls, elapsed, failures);
			fclose(f);
		}
	}
	return failures ? 1 : 0;
}
