// SPDX-License-Identifier: MIT
/*
 * Case "map-cycle": CYCLES times, map LENGTH bytes of a file (shared,
 * read-only), read one byte of every page, unmap. Usage:
 * map_cycle PATH LENGTH CYCLES; each run prints the time of all CYCLES.
 */
#include "protocol.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	size_t length, cycles, page = (size_t)sysconf(_SC_PAGESIZE), c, i;
	uint64_t start, check;
	int fd;

	if (argc != 4) {
		fputs("usage: map_cycle PATH LENGTH CYCLES\n", stderr);
		return 2;
	}
	length = parse_size("LENGTH", argv[2]);
	cycles = parse_size("CYCLES", argv[3]);
	fd = open(argv[1], O_RDONLY);
	if (fd < 0)
		die(argv[1]);
	ready();
	while (next_run()) {
		check = 0;
		start = now_ns();
		for (c = 0; c < cycles; c++) {
			volatile const uint8_t *map = mmap(NULL, length, PROT_READ, MAP_SHARED, fd, 0);

			if (map == MAP_FAILED)
				die("mmap");
			for (i = 0; i < length; i += page)
				check += map[i];
			if (munmap((void *)map, length) != 0)
				die("munmap");
		}
		report(now_ns() - start, check);
	}
	return 0;
}
