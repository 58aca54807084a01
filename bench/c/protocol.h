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
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

#endif /* BENCH_PROTOCOL_H */
