# shellcheck shell=bash
# The dev tooling of scripts/lib for bash scripts (source it): the kernel
# lines, whether kmmap.ko is loaded here, compiling the project's C, and the
# kernel log's trouble lines. Each function does what its JavaScript
# counterpart in scripts/lib does, from the same data files. No process
# substitution: a vm/run guest has no /dev/fd.

kmmap_lib=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
kmmap_repo=$(cd -- "$kmmap_lib/../.." && pwd -P)

# The lines of a data file that are neither empty nor comments.
kmmap_data() { # file
  grep -v -e '^#' -e '^[[:space:]]*$' -- "$1"
}

# The kernel lines of vm/kernel-lines, oldest first, one per line
# (kernel-lines.cjs).
kmmap_kernel_lines() {
  kmmap_data "$kmmap_repo/vm/kernel-lines" | awk '{ print $1 }'
}

# Whether kmmap.ko is loaded in the kernel this runs on (module.cjs isLoaded).
kmmap_loaded() {
  [ -e /sys/module/kmmap ]
}

# Compiles SOURCES into OUTPUT with $CC (default cc), the flags of
# scripts/lib/cflags and kernel/uapi on the include path (compile.cjs).
kmmap_compile_c() { # output source...
  local output=$1 flags
  shift
  read -r -a flags <<<"$(kmmap_data "$kmmap_lib/cflags" | tr '\n' ' ')"
  "${CC:-cc}" "${flags[@]}" -I "$kmmap_repo/kernel/uapi" -o "$output" "$@"
}

# One extended regular expression of the patterns of a .ere file here, as
# alternatives (kernel-trouble.cjs joins them the same way).
kmmap_ere() { # name
  kmmap_data "$kmmap_lib/$1" | sed 's/.*/(&)/' | paste -s -d '|'
}

# The kernel log lines on stdin that mean trouble: those matching a pattern
# of kernel-trouble.ere and none of kernel-expected.ere
# (kernel-trouble.cjs). Exits 1 when there are none, as grep does.
kmmap_kernel_trouble() {
  grep -a -E -e "$(kmmap_ere kernel-trouble.ere)" |
    grep -a -v -E -e "$(kmmap_ere kernel-expected.ere)"
}

# The same, less kmemleak's own "N new suspected memory leaks" line: for the
# runs that read kmemleak's report themselves and judge it on its own.
kmmap_kernel_trouble_but_kmemleak() {
  kmmap_kernel_trouble | grep -a -v -E -e 'kmemleak: [0-9]+ new suspected'
}
