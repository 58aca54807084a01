/* SPDX-License-Identifier: MIT */
/*
 * The protocol every C counterpart speaks with bench/coprocess.mjs: set up, print
 * "ready"; then per "run" line on stdin, one timed repetition, printed as
 * "<nanoseconds> <check>"; exit 0 at end of input. The check value is
 * derived from the data the run touched, so the compiler cannot drop the
 * work, and it is printed so that it cannot be dropped either.
 */
#ifndef BENCH_PROTOCOL_H
#define BENCH_PROTOCOL_H

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

static void die(const char *what)
{
	fprintf(stderr, "%s: %s\n", what, strerror(errno));
	exit(1);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		die("clock_gettime");
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void ready(void)
{
	puts("ready");
	fflush(stdout);
}

/* Waits for the next "run" line; 0 at end of input. */
static int next_run(void)
{
	char line[64];

	if (!fgets(line, sizeof(line), stdin))
		return 0;
	if (strcmp(line, "run\n") != 0) {
		fprintf(stderr, "unexpected command: %s", line);
		exit(1);
	}
	return 1;
}

static void report(uint64_t ns, uint64_t check)
{
	printf("%llu %llu\n", (unsigned long long)ns, (unsigned long long)check);
	fflush(stdout);
}

/* Parses a non-negative integer argument, or exits naming it. */
static uint64_t parse_size(const char *name, const char *text)
{
	char *end;
	unsigned long long value;

	errno = 0;
	value = strtoull(text, &end, 10);
	if (errno || end == text || *end) {
		fprintf(stderr, "%s: not a number: %s\n", name, text);
		exit(2);
	}
	return value;
}

/*
 * Maps length bytes of path read-only and shared, faulted in up front
 * (MAP_POPULATE) so that no run pays for the first touch; exits on failure.
 */
static inline const uint8_t *map_populated(const char *path, size_t length)
{
	int fd = open(path, O_RDONLY);
	void *map;

	if (fd < 0)
		die(path);
	map = mmap(NULL, length, PROT_READ, MAP_SHARED | MAP_POPULATE, fd, 0);
	if (map == MAP_FAILED)
		die("mmap");
	return map;
}

#endif /* BENCH_PROTOCOL_H */
