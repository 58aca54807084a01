// SPDX-License-Identifier: MIT
/*
 * Case "copy": memcpy out of a shared mapping of a file into private memory.
 * Usage: copy PATH LENGTH. The mapping and the destination are populated
 * before the first run, as on the JavaScript side.
 */
#include "protocol.h"

int main(int argc, char **argv)
{
	size_t length, i;
	const uint8_t *source;
	uint8_t *dest;
	uint64_t start, took, check;

	if (argc != 3) {
		fputs("usage: copy PATH LENGTH\n", stderr);
		return 2;
	}
	length = parse_size("LENGTH", argv[2]);
	source = map_populated(argv[1], length);
	dest = aligned_alloc(4096, length);
	if (!dest)
		die("aligned_alloc");
	memset(dest, 0, length);
	ready();
	while (next_run()) {
		start = now_ns();
		memcpy(dest, source, length);
		took = now_ns() - start;
		check = 0;
		for (i = 0; i < length; i += 4096)
			check += dest[i];
		report(took, check);
	}
	return 0;
}
