// SPDX-License-Identifier: MIT
/*
 * Case "pagemap": the pagemap entries of every page of a populated shared
 * mapping of a file. Usage: pagemap METHOD PATH LENGTH, where METHOD is
 *   reference  the reference program's way: per page, open
 *              /proc/self/pagemap, pread its 8 bytes, close;
 *   batched    one open, pread of 65,536 entries at a time (as kmmap does).
 * Each run reads every page's entry and checks that all are present.
 */
#include "protocol.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#define PRESENT (1ULL << 63)
#define PFN_MASK ((1ULL << 55) - 1)
#define BATCH 65536

static uint64_t reference(uintptr_t first, size_t pages, size_t page)
{
	uint64_t check = 0, entry;
	size_t i;

	for (i = 0; i < pages; i++) {
		uintptr_t address = first + i * page;
		int fd = open("/proc/self/pagemap", O_RDONLY);

		if (fd < 0)
			die("open /proc/self/pagemap");
		if (pread(fd, &entry, sizeof(entry), (off_t)(address / page * sizeof(entry))) != sizeof(entry))
			die("pread");
		close(fd);
		if (!(entry & PRESENT)) {
			fprintf(stderr, "page %zu is not present\n", i);
			exit(1);
		}
		check += (entry & PFN_MASK) * page + address % page;
	}
	return check;
}

static uint64_t batched(uintptr_t first, size_t pages, size_t page, uint64_t *entries)
{
	uint64_t check = 0;
	size_t done, i;
	int fd = open("/proc/self/pagemap", O_RDONLY);

	if (fd < 0)
		die("open /proc/self/pagemap");
	for (done = 0; done < pages; done += BATCH) {
		size_t want = pages - done < BATCH ? pages - done : BATCH;
		ssize_t got = pread(fd, entries + done, want * sizeof(*entries),
				    (off_t)((first / page + done) * sizeof(*entries)));

		if (got != (ssize_t)(want * sizeof(*entries)))
			die("pread");
	}
	close(fd);
	for (i = 0; i < pages; i++) {
		if (!(entries[i] & PRESENT)) {
			fprintf(stderr, "page %zu is not present\n", i);
			exit(1);
		}
		check += entries[i] & PFN_MASK;
	}
	return check;
}

int main(int argc, char **argv)
{
	size_t length, pages, page = (size_t)sysconf(_SC_PAGESIZE);
	uint64_t *entries, start, check;
	const uint8_t *map;
	int is_reference;

	if (argc != 4 || (strcmp(argv[1], "reference") && strcmp(argv[1], "batched"))) {
		fputs("usage: pagemap reference|batched PATH LENGTH\n", stderr);
		return 2;
	}
	is_reference = !strcmp(argv[1], "reference");
	length = parse_size("LENGTH", argv[3]);
	pages = length / page;
	map = map_populated(argv[2], length);
	entries = calloc(pages, sizeof(*entries));
	if (!entries)
		die("calloc");
	ready();
	while (next_run()) {
		start = now_ns();
		check = is_reference ? reference((uintptr_t)map, pages, page)
				     : batched((uintptr_t)map, pages, page, entries);
		report(now_ns() - start, check);
	}
	return 0;
}
