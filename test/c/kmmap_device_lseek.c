// SPDX-License-Identifier: MIT
/*
 * lseek on /dev/kmmap (Node has no lseek): prints the result or the errno
 * name of each request, one per line, for the test to compare.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void seek(int fd, off_t off, int whence, const char *what)
{
	off_t r = lseek(fd, off, whence);

	if (r < 0)
		printf("%s: %s\n", what, errno == EINVAL ? "EINVAL" : strerror(errno));
	else
		printf("%s: %lld\n", what, (long long)r);
}

int main(int argc, char **argv)
{
	int fd = open(argc > 1 ? argv[1] : "/dev/kmmap", O_RDONLY);

	if (fd < 0) {
		perror("open");
		return 2;
	}
	seek(fd, 0, SEEK_END, "end");
	seek(fd, -10, SEEK_END, "end-10");
	seek(fd, 1, SEEK_END, "end+1");
	seek(fd, 5, SEEK_CUR, "cur+5");
	seek(fd, -1, SEEK_SET, "set-1");
	seek(fd, 4096, SEEK_SET, "set4096");
	return 0;
}
