# Python's mmap module in the map-cycle case, as a coprocess
# (bench/coprocess.mjs): set up, print "ready"; per "run" line, one timed
# repetition, printed as "<nanoseconds> <check>".
#
# Usage: python3 map_cycle.py fd|path FILE LENGTH CYCLES
#   fd:   one fd opened at set-up; each cycle mmap.mmap(fd, LENGTH), read one
#         byte per page, close() (munmap)
#   path: each cycle os.open(FILE), mmap.mmap(fd, LENGTH), os.close(fd),
#         read one byte per page, close(): what map(path) does
import mmap
import os
import sys
import time


def main():
    mode, file, length, cycles = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    if mode not in ('fd', 'path') or length <= 0 or cycles <= 0:
        sys.exit('usage: map_cycle.py fd|path FILE LENGTH CYCLES')
    page = mmap.PAGESIZE
    pages = range(0, length, page)
    fd = os.open(file, os.O_RDONLY)

    def by_fd():
        check = 0
        for _ in range(cycles):
            m = mmap.mmap(fd, length, mmap.MAP_SHARED, mmap.PROT_READ)
            for i in pages:
                check += m[i]
            m.close()
        return check

    def by_path():
        check = 0
        for _ in range(cycles):
            opened = os.open(file, os.O_RDONLY)
            try:
                m = mmap.mmap(opened, length, mmap.MAP_SHARED, mmap.PROT_READ)
            finally:
                os.close(opened)
            for i in pages:
                check += m[i]
            m.close()
        return check

    cycle = by_fd if mode == 'fd' else by_path
    print('ready', flush=True)
    for line in sys.stdin:
        if line != 'run\n':
            sys.exit(f'unexpected command: {line!r}')
        start = time.perf_counter_ns()
        check = cycle()
        took = time.perf_counter_ns() - start
        print(took, check, flush=True)


main()
