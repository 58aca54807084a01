#!/bin/sh
# Runs inside a vm/run guest for scripts/test-kernels.mjs: notes the kernel,
# runs the command (the kernel test project), then saves what the kernel
# logged, whatever the command's outcome, and exits with its status.
#
# On a kernel with KMEMLEAK (the debug kernel), the leaks the boot left are
# saved and cleared first, so that what is reported at the end is the suite's;
# at the end kmemleak scans with the module loaded, and again after the
# module is unloaded (what the module still held at unload). The report is
# read after the unload, so kmmap's frames print as bare addresses:
# scripts/test-kernels.mjs attributes them. With PAGE_OWNER (page_owner=on), the
# allocation stacks of the pages still allocated after the module is unloaded
# are saved too: a page kmmap allocated and never freed (a missing put_page)
# shows there, although kmemleak does not track pages.
#
#   kernel-suite.sh OUT -- command [args...]
# writes OUT.release, OUT.dmesg and, with KMEMLEAK, OUT.kmemleak-boot,
# OUT.kmemleak and, with PAGE_OWNER, OUT.page-owner.
out=$1
shift
[ "$1" = -- ] && shift
uname -r >"$out.release"

leaks=/sys/kernel/debug/kmemleak
[ -e /sys/kernel/debug/kmemleak ] || mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
# An object is reported once it has been unreferenced for 5 s and two scans.
scan_leaks() {
  echo scan >"$leaks"
  sleep 6
  echo scan >"$leaks"
}
if [ -e "$leaks" ]; then
  scan_leaks
  cat "$leaks" >"$out.kmemleak-boot"
  echo clear >"$leaks"
fi

"$@"
status=$?

if [ -e "$leaks" ]; then
  scan_leaks
  rmmod kmmap 2>/dev/null
  scan_leaks
  cat "$leaks" >"$out.kmemleak"
fi
stacks=/sys/kernel/debug/page_owner_stacks/show_stacks
[ ! -e "$stacks" ] || cat "$stacks" >"$out.page-owner"
dmesg >"$out.dmesg"
exit "$status"
