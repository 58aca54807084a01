// SPDX-License-Identifier: MIT
/*
 * An independent reader of /proc/PID/pagemap, to check kmmap against:
 * one pread per page, decoded here. Usage: pagemap_reader PID START PAGES
 * (START in hex). Prints one line per page:
 *
 *   0xADDRESS PFN|SWAP|- FLAGS
 *
 * PFN is 0x<pfn> for a present page (0x0 when the kernel hides it), SWAP is
 * swap:<type>:0x<offset> for a swapped page (a guard marker, bit 58, reads
 * as swapped but holds no swap slot: '-'), FLAGS are comma-separated names
 * in bit order (soft-dirty, exclusive, uffd-wp, guard, file, swapped,
 * present) or '-'.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	static const struct { int bit; const char *name; } flags[] = {
		{ 55, "soft-dirty" }, { 56, "exclusive" }, { 57, "uffd-wp" },
		{ 58, "guard" }, { 61, "file" }, { 62, "swapped" },
		{ 63, "present" },
	};
	const uint64_t frame_mask = (UINT64_C(1) << 55) - 1;
	long page = sysconf(_SC_PAGESIZE);
	char path[64];
	uint64_t start, entry;
	long pages, i;
	size_t f;
	int fd;

	if (argc != 4) {
		fprintf(stderr, "usage: %s PID START PAGES\n", argv[0]);
		return 2;
	}
	snprintf(path, sizeof(path), "/proc/%s/pagemap", argv[1]);
	start = strtoull(argv[2], NULL, 16) / page * page;
	pages = strtol(argv[3], NULL, 10);
	fd = open(path, O_RDONLY);
	if (fd < 0) {
		perror(path);
		return 1;
	}
	for (i = 0; i < pages; i++) {
		uint64_t address = start + (uint64_t)i * page;
		int any = 0;

		if (pread(fd, &entry, 8, address / page * 8) != 8) {
			perror("pread");
			return 1;
		}
		printf("0x%" PRIx64 " ", address);
		if (entry >> 63)
			printf("0x%" PRIx64, entry & frame_mask);
		else if (((entry >> 62) & 1) && !((entry >> 58) & 1))
			printf("swap:%" PRIu64 ":0x%" PRIx64, entry & 0x1f,
			       (entry & frame_mask) >> 5);
		else
			printf("-");
		putchar(' ');
		for (f = 0; f < sizeof(flags) / sizeof(flags[0]); f++) {
			if ((entry >> flags[f].bit) & 1) {
				printf("%s%s", any ? "," : "", flags[f].name);
				any = 1;
			}
		}
		printf("%s\n", any ? "" : "-");
	}
	close(fd);
	return 0;
}
