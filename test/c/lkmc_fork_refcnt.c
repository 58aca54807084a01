// SPDX-License-Identifier: MIT
/*
 * Module references held by mappings of /proc/lkmc_mmap, across fork():
 * prints kmmap's refcnt before mapping, with one mapping, and in a forked
 * child that holds a copy of that mapping. Every mapping holds one file
 * that pins the module, and the child's VMA copy shares that file, so the
 * last two numbers are equal.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

static long refcnt(void)
{
	FILE *f = fopen("/sys/module/kmmap/refcnt", "r");
	long n = -1;

	if (!f || fscanf(f, "%ld", &n) != 1) {
		perror("/sys/module/kmmap/refcnt");
		exit(1);
	}
	fclose(f);
	return n;
}

int main(void)
{
	long before = refcnt(), mapped;
	int fd = open("/proc/lkmc_mmap", O_RDWR);
	char *p;
	pid_t pid;
	int status;

	if (fd < 0) {
		perror("open /proc/lkmc_mmap");
		return 1;
	}
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	close(fd);
	p[0] = 'x';
	mapped = refcnt();
	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		perror("fork");
		return 1;
	}
	if (pid == 0) {
		printf("%ld %ld %ld %c\n", before, mapped, refcnt(), p[0]);
		fflush(stdout);
		_exit(0);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status)) {
		fprintf(stderr, "child failed\n");
		return 1;
	}
	munmap(p, 4096);
	return 0;
}
