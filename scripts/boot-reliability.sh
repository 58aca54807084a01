#!/usr/bin/env bash
# npm run boot-reliability -- [options] [LINE...]: boot each kernel line's VM
# (vm/run --no-module --boots 1 -- true) N times, one boot after another, and
# count the boots that died before the command started, the ones that failed
# after it, and the seconds each took (vm/run's whole run: start to exit).
#
#   --boots N     boots per line (default 20)
#   --hog         two busy loops (yes >/dev/null) beside the boots, at this
#                 script's own niceness, stopped at the end
#   --out DIR     where to write boots.tsv and each failed boot's output
#                 (default .boot-results/<date>)
#
# The lines default to all of vm/kernel-lines. vm/run's environment applies: for instance
# KMMAP_VM_TUNING=none measures the kernel's and QEMU's defaults. Prints one
# summary row per line; exits 1 if any boot failed.
set -euo pipefail

repo=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)
# shellcheck source=scripts/lib/common.sh
source "$repo/scripts/lib/common.sh"
boots=20 hog='' out='' lines=()
while (($#)); do
  case $1 in
    --boots) boots=$2; shift 2 ;;
    --hog) hog=1; shift ;;
    --out) out=$2; shift 2 ;;
    -h | --help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "unknown option: $1" >&2; exit 2 ;;
    *) lines+=("$1"); shift ;;
  esac
done
[[ $boots =~ ^[1-9][0-9]*$ ]] || { echo "--boots needs a positive number" >&2; exit 2; }
((${#lines[@]})) || mapfile -t lines <<<"$(kmmap_kernel_lines)"
out=${out:-$repo/.boot-results/$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p -- "$out"
tsv=$out/boots.tsv
# Boot a copy of vm/ taken now, so that edits to the checkout while the boots
# run (bash reads a script as it goes) neither break nor change them.
snapshot=$(mktemp -d "$out/vm-snapshot.XXXXXX")
mkdir "$snapshot/vm"
cp -a -- "$repo/vm/." "$snapshot/vm/"
[[ -s $tsv ]] || printf 'line\tboot\ttuning\thog\tresult\tstatus\tseconds\tended\n' >"$tsv"

hogs=()
stop_hogs() { ((${#hogs[@]})) && kill "${hogs[@]}" 2>/dev/null; hogs=(); return 0; }
trap 'stop_hogs; rm -rf -- "$snapshot"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
if [[ -n $hog ]]; then
  for _ in 1 2; do
    yes >/dev/null &
    hogs+=($!)
  done
fi

tuning=${KMMAP_VM_TUNING:-on}
failed=0
for line in "${lines[@]}"; do
  for ((i = 1; i <= boots; i++)); do
    log=$out/$line-$i.log
    start=$EPOCHREALTIME
    rc=0
    bash "$snapshot/vm/run" --kernel "$line" --no-module --boots 1 --timeout 900 -- true \
      >"$log" 2>&1 || rc=$?
    end=$EPOCHREALTIME
    seconds=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", b - a }')
    if ((rc == 0)); then
      result=ok
      rm -f -- "$log"
    elif grep -q 'died before the command started' "$log"; then
      result=before
    else
      result=after
    fi
    [[ $result == ok ]] || failed=1
    printf '%s\t%d\t%s\t%s\t%s\t%d\t%s\t%s\n' "$line" "$i" "$tuning" "${hog:+hog}" \
      "$result" "$rc" "$seconds" "$(date -u +%FT%TZ)" >>"$tsv"
  done
done
stop_hogs

# One row per line and configuration, over everything boots.tsv holds.
summarize() {
  printf '%-5s %-6s %-4s %6s %6s %6s %8s %8s\n' line tuning hog boots before after median p90
  tail -n +2 "$tsv" | sort -t $'\t' -k1,1V -k3,3 -k4,4 -k7,7n | awk -F '\t' '
    function flush() {
      if (n == 0) return
      m = t[int((n + 1) / 2)]; p = t[int(n * 0.9 + 0.999999)]
      printf "%-5s %-6s %-4s %6d %6d %6d %8.1f %8.1f\n", key[1], key[2], key[3], n, bf, af, m, p
    }
    { k = $1 SUBSEP $3 SUBSEP $4
      if (k != last) { flush(); n = bf = af = 0; last = k; key[1] = $1; key[2] = $3; key[3] = ($4 == "" ? "-" : $4) }
      t[++n] = $7; bf += ($5 == "before"); af += ($5 == "after") }
    END { flush() }'
}
summarize | tee "$out/summary.txt"
echo "boots: $tsv; output of failed boots: $out/LINE-N.log"
exit "$failed"
