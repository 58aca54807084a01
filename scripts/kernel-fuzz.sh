#!/usr/bin/env bash
# Runs kfuzz (test/kfuzz/), the seeded syscall-sequence fuzzer for kmmap.ko,
# in a real kernel: compiles it here, boots the VM (vm/run, module inserted),
# runs it there, then checks the guest's kernel log for trouble.
#
#   npm run fuzz:kernel -- [--kernel LINE] [--seed N] [--seconds N]
#                          [--calls N] [--procs N] [--threads N]
#
# Defaults: --kernel debug, --seed 1, 600 s or 1,000,000 calls, whichever
# comes first, 3 processes of 3 threads (plus the reloader, which unloads
# and reloads the module under them). Prints one summary line and exits 0
# when the fuzzer found nothing and the kernel logged no trouble, 1
# otherwise (the VM runner's own statuses, 124 timeout and 125 run failure,
# pass through).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/lib/common.sh
source "$repo/scripts/lib/common.sh"
kernel=debug seed=1 seconds=600 calls=1000000 procs=3 threads=3

usage() {
  sed -n '2,15p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  exit 2
}
number() { # name value
  [[ "$2" =~ ^[0-9]+$ ]] || { echo "kernel-fuzz: $1 needs a number, got '$2'" >&2; exit 2; }
}

while [ $# -gt 0 ]; do
  case "$1" in
    --kernel) kernel=${2:?--kernel needs a line}; shift 2 ;;
    --seed) number "$1" "${2:-}"; seed=$2; shift 2 ;;
    --seconds) number "$1" "${2:-}"; seconds=$2; shift 2 ;;
    --calls) number "$1" "${2:-}"; calls=$2; shift 2 ;;
    --procs) number "$1" "${2:-}"; procs=$2; shift 2 ;;
    --threads) number "$1" "${2:-}"; threads=$2; shift 2 ;;
    -h|--help) usage ;;
    *) echo "kernel-fuzz: unknown argument '$1'" >&2; usage ;;
  esac
done

# The guest sees the repository at the same path, so the binary, the guest
# script and the fuzzer's data file live in a directory of it (gitignored),
# one per run.
mkdir -p "$repo/.kfuzz-build"
build=$(mktemp -d "$repo/.kfuzz-build/run.XXXXXX")
trap 'rm -rf "$build"' EXIT

kmmap_compile_c "$build/kfuzz" "$repo"/test/kfuzz/*.c

# What the guest runs: the fuzzer, then the log check, then the summary.
cat >"$build/guest.sh" <<'GUEST'
#!/bin/bash
build=$1 repo=$2; shift 2
source "$repo/scripts/lib/common.sh"
# kmemleak (debug kernel): an object is reported once it has looked
# unreferenced for 5 s over two scans. The boot's own leaks are cleared
# first; after the run, only leaks whose allocation went through kmmap count.
kmemleak=/sys/kernel/debug/kmemleak
[ -e $kmemleak ] || mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
scan_leaks() { echo scan >$kmemleak; sleep 6; echo scan >$kmemleak; }
if [ -e $kmemleak ]; then
  scan_leaks
  echo clear >$kmemleak
fi

before=$(dmesg | wc -l)
"$build/kfuzz" --summary "$build/summary" --data-dir "$build" "$@"
status=$?

leaks=0
if [ -e $kmemleak ]; then
  scan_leaks
  report=$(cat $kmemleak 2>/dev/null || true)
  # Objects with a kmmap frame, named or (from a load the reloader has
  # since unloaded) a bare address: scripts/lib/attribution.cjs.
  leaks=$(printf '%s\n' "$report" | node "$repo/scripts/lib/attribution.cjs" kmemleak | grep -c . || true)
  others=$(printf '%s\n' "$report" | grep -c '^unreferenced object' || true)
  echo "kernel-fuzz: kmemleak: $others suspected leaks in all, $leaks through kmmap"
  [ "$leaks" -gt 0 ] && printf '%s\n' "$report"
fi

# Trouble the fuzz run left in the kernel log (boot messages excluded;
# scripts/lib/kernel-trouble.ere). kmemleak's own "new suspected memory
# leaks" line counts only if one of them is kmmap's (above).
new=$(dmesg | tail -n +"$((before + 1))")
trouble=$(printf '%s\n' "$new" | kmmap_kernel_trouble_but_kmemleak || true)
lines=$(printf '%s' "$trouble" | grep -c . || true)
lines=$((lines + leaks))
if [ -n "$trouble" ]; then
  echo "kernel-fuzz: kernel log trouble ($lines lines):"
  printf '%s\n' "$trouble"
  echo "kernel-fuzz: the kernel log since the fuzzer started (last 200 lines):"
  printf '%s\n' "$new" | tail -n 200
fi

read -r s_seed s_calls s_seconds s_failures <"$build/summary" 2>/dev/null ||
  { s_seed=?; s_calls=?; s_seconds=?; s_failures="no summary (fuzzer status $status)"; }
echo "kernel-fuzz: seed $s_seed, $s_calls calls, $s_seconds s, $s_failures failures, $lines dmesg trouble lines (Linux $(uname -r))"
[ "$status" -eq 0 ] && [ "$lines" -eq 0 ]
GUEST

# Boot, module build and the fuzzer's own 120 s grace for stuck workers on
# top of the run itself.
timeout=$((seconds + 900))
set +e
bash "$repo/vm/run" --kernel "$kernel" --timeout "$timeout" -- \
  bash "$build/guest.sh" "$build" "$repo" --seed "$seed" --seconds "$seconds" \
  --calls "$calls" --procs "$procs" --threads "$threads"
status=$?
set -e
exit "$status"
