#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# The stress run with accounting, inside a guest that vm/run booted with
# kmmap.ko inserted (KMMAP_KO names it). scripts/kernel-stress.sh starts it:
#
#   bash vm/run --kernel debug -- bash test/kstress/run.sh --procs 16 --cycles 10000
#
# With the module unloaded, it measures free pages, slab and the pages that
# page_owner attributes to kmmap; then for each backing (contig, vmalloc) it
# inserts the module, runs test/kstress/kstress.c, checks the module's own
# page count (pages_held) is back to the buffer's size, unloads it and
# measures again. It fails when
#   - kstress reports a failure;
#   - pages_held is not the buffer's size after load or after the stress;
#   - page_owner (where the kernel was booted with page_owner=on) does not
#     attribute exactly the buffer's pages to kmmap while it is loaded and
#     idle, or attributes any page to it after rmmod;
#   - kmemleak (where the kernel has it) finds a leaked object allocated
#     under kmmap code;
#   - the kernel log shows trouble;
#   - free pages or slab moved by more than a generous bound (KSTRESS_SLACK_MB,
#     default 64 MiB): those figures are noisy (per-CPU page lists, KASAN's
#     quarantine, slab caches that keep empty slabs, lazily freed vmalloc
#     areas), so they are reported, and only a gross change fails.
set -u -o pipefail

procs=16 cycles=10000 extra=()
while (($#)); do
  case $1 in
    --procs) procs=${2:?}; shift 2 ;;
    --cycles) cycles=${2:?}; shift 2 ;;
    --fork-every|--mremap-every|--seed) extra+=("$1" "${2:?}"); shift 2 ;;
    *) echo "usage: run.sh [--procs N] [--cycles N] [--fork-every N] [--mremap-every N] [--seed N]" >&2; exit 2 ;;
  esac
done
: "${KMMAP_KO:?run.sh runs in a guest of vm/run, which sets KMMAP_KO}"
slack_pages=$(( ${KSTRESS_SLACK_MB:-64} * 256 ))
repo=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=scripts/lib/common.sh
source "$repo/scripts/lib/common.sh"
work=$(mktemp -d /tmp/kstress.XXXXXX)
failures=()
fail() { failures+=("$*"); echo "FAIL: $*"; }
now() { date +%s; }
t_start=$(now)

kmmap_compile_c "$work/kstress" "$repo/test/kstress/kstress.c" || exit 2

log_start=$(dmesg | wc -l)

mountpoint -q /sys/kernel/debug || mount -t debugfs none /sys/kernel/debug
page_owner=/sys/kernel/debug/page_owner_stacks/show_stacks
kmemleak=/sys/kernel/debug/kmemleak
[[ -r $page_owner ]] || page_owner=
[[ -w $kmemleak ]] && echo clear > "$kmemleak" 2>/dev/null || kmemleak=

# ------------------------------------------------------------ attribution

# After rmmod the kernel cannot name the module's functions any more: a
# stack frame in its text prints as a bare address. So every load's text
# ranges are kept (start from /sys/module/kmmap/sections, size from the
# .ko's section headers), as "start end" in 16-digit hex, for
# scripts/lib/attribution.cjs.
ranges=$work/ranges
: > "$ranges"
record_text_ranges() {
  local sec name start size
  for sec in /sys/module/kmmap/sections/.text* /sys/module/kmmap/sections/.exit.text /sys/module/kmmap/sections/.init.text; do
    [[ -r $sec ]] || continue
    name=${sec##*/}
    start=$(<"$sec")
    size=$(readelf -SW "$KMMAP_KO" | awk -v n="$name" '
      { sub(/^ *\[ *[0-9]+\] */, "") } $1 == n { print "0x" $5; exit }')
    [[ -n $size && $start != 0x0000000000000000 ]] || continue
    printf '%016x %016x\n' "$start" $((start + size)) >> "$ranges"
    echo "kmmap $name: $(tail -1 "$ranges")"
  done
}

# The pages page_owner_stacks/show_stacks attributes to kmmap, by kind
# (scripts/lib/attribution.cjs, which scripts/test-kernels.mjs uses too):
# "data slab pgtable kasan vmalloc_array", what kmmap allocated itself, then
# what the kernel allocated for its own structures while kmmap code was on
# the stack, which the kernel may keep or reuse. (The per-page file,
# /sys/kernel/debug/page_owner, is hundreds of thousands of records on a
# 2 GiB guest, and a reader whose buffer is smaller than one record gets
# ENOMEM.)
page_owner_counts() {
  node "$repo/scripts/lib/attribution.cjs" page-owner --ranges "$ranges" < "$page_owner"
}

# ------------------------------------------------------------ measuring

settle() {
  local f
  sync
  echo 3 > /proc/sys/vm/drop_caches
  for f in /sys/kernel/slab/*/shrink; do echo 1 > "$f" 2>/dev/null; done
  sleep 2
}

# Slab pages of the caches kmmap's paths allocate from: kmalloc (the per-open
# structs), files (every open and every lkmc_mmap mapping), VMAs, vmalloc
# areas, and what fork and exit allocate.
watched_slab_pages() {
  awk 'NR > 2 && $1 ~ /^(kmalloc-|filp$|vm_area_struct$|vmap_area$|maple_node$|anon_vma|mm_struct$|task_struct$|files_cache$|signal_cache$|sighand_cache$|cred_jar$|pid$)/ {
         pages += $15 * $6 } END { print pages + 0 }' /proc/slabinfo
}

rows=()
declare -A free pcp slab sunreclaim watched held po_data po_other
# measure LABEL: settles, then records one row of the table.
measure() {
  local label=$1 t0 counts
  t0=$(now)
  settle
  rows+=("$label")
  free[$label]=$(awk '$1 == "nr_free_pages" { print $2 }' /proc/vmstat)
  # Free pages on the per-CPU lists, which nr_free_pages does not count.
  pcp[$label]=$(awk '$1 == "count:" { n += $2 } END { print n + 0 }' /proc/zoneinfo)
  slab[$label]=$(awk '$1 == "Slab:" { print $2 }' /proc/meminfo)
  sunreclaim[$label]=$(awk '$1 == "SUnreclaim:" { print $2 }' /proc/meminfo)
  watched[$label]=$(watched_slab_pages)
  held[$label]=-
  [[ -r /sys/module/kmmap/parameters/pages_held ]] && held[$label]=$(</sys/module/kmmap/parameters/pages_held)
  if [[ -n $page_owner ]]; then
    counts=($(page_owner_counts))
    po_data[$label]=${counts[0]}
    po_other[$label]="slab ${counts[1]}, page tables ${counts[2]}, kasan ${counts[3]}, vmalloc arrays ${counts[4]}"
  else
    po_data[$label]=-
    po_other[$label]=-
  fi
  echo "measured $label in $(($(now) - t0)) s: free ${free[$label]}, held ${held[$label]}, page_owner kmmap ${po_data[$label]} (${po_other[$label]})"
}

buffer_pages() {
  local size
  size=$(</sys/module/kmmap/parameters/size)
  echo $(( (size + 4095) / 4096 ))
}

# ------------------------------------------------------------ the run

echo "kernel $(uname -r); page_owner ${page_owner:-off (boot with page_owner=on to count)}; kmemleak ${kmemleak:-off}"

# The runner inserted the module at boot; its text counts for attribution.
if [[ -d /sys/module/kmmap ]]; then
  record_text_ranges
  if ! rmmod kmmap; then echo "rmmod kmmap failed" >&2; exit 2; fi
fi
measure before
if [[ -n $page_owner && ${po_data[before]} != 0 ]]; then
  fail "page_owner attributes ${po_data[before]} pages to kmmap after the boot-time module was unloaded"
fi

for backing in contig vmalloc; do
  if ! insmod "$KMMAP_KO" backing=$backing; then
    fail "insmod backing=$backing failed"
    continue
  fi
  record_text_ranges
  nr=$(buffer_pages)
  loaded=$(</sys/module/kmmap/parameters/pages_held)
  [[ $loaded == "$nr" ]] || fail "$backing: pages_held $loaded after load, not the buffer's $nr pages"

  echo "--- kstress, backing=$backing"
  t0=$(now)
  "$work/kstress" --procs "$procs" --cycles "$cycles" "${extra[@]}" || fail "$backing: kstress reported failures"
  echo "kstress backing=$backing: $(($(now) - t0)) s"

  measure "$backing loaded"
  [[ ${held["$backing loaded"]} == "$nr" ]] ||
    fail "$backing: pages_held ${held["$backing loaded"]} after the stress, not the buffer's $nr pages"
  if [[ -n $page_owner && ${po_data["$backing loaded"]} != "$nr" ]]; then
    fail "$backing: page_owner attributes ${po_data["$backing loaded"]} pages to kmmap after the stress, not the buffer's $nr"
  fi

  rmmod kmmap || { fail "$backing: rmmod kmmap failed"; continue; }
  measure "$backing unloaded"
  if [[ -n $page_owner && ${po_data["$backing unloaded"]} != 0 ]]; then
    fail "$backing: page_owner attributes ${po_data["$backing unloaded"]} pages to kmmap after rmmod"
  fi
  dfree=$(( ${free[before]} + ${pcp[before]} - ${free["$backing unloaded"]} - ${pcp["$backing unloaded"]} ))
  dslab=$(( (${slab["$backing unloaded"]} - ${slab[before]}) / 4 ))
  (( dfree <= slack_pages )) || fail "$backing: $dfree fewer free pages than before, beyond the $slack_pages-page sanity bound"
  (( dslab <= slack_pages )) || fail "$backing: slab grew by $dslab pages, beyond the $slack_pages-page sanity bound"
done

# ------------------------------------------------------------ the verdict

# Kernel log lines that mean trouble (scripts/lib/kernel-trouble.ere), less
# kmemleak's own "new suspected" line: kmemleak is judged on its own below.
if dmesg | tail -n +$((log_start + 1)) | kmmap_kernel_trouble_but_kmemleak > "$work/trouble"; then
  fail "the kernel log shows trouble:"
  head -40 "$work/trouble"
fi

if [[ -n $kmemleak ]]; then
  t0=$(now)
  echo scan > "$kmemleak"
  # Leaked objects whose allocation stack has a kmmap frame (by name, or by
  # address once the module is gone): scripts/lib/attribution.cjs.
  node "$repo/scripts/lib/attribution.cjs" kmemleak --ranges "$ranges" < "$kmemleak" > "$work/leaks"
  leaks=$(wc -l < "$work/leaks")
  echo "kmemleak scan: $(grep -c '^unreferenced object' "$kmemleak") suspected leaks in all, $leaks under kmmap code ($(($(now) - t0)) s)"
  if ((leaks)); then
    fail "kmemleak: $leaks leaked objects allocated under kmmap code"
    head -20 "$work/leaks"
  fi
fi

echo
echo "free pages, slab and the pages attributed to kmmap; each row after sync, drop_caches, slab shrink and 2 s"
echo "(free pages and slab are noisy: caches the kernel keeps, KASAN quarantine, lazily freed vmalloc areas; pages_held and page_owner are exact)"
echo "(d_free: the change in free pages, nr_free_pages plus the per-CPU lists' pcp, since before)"
printf '%-18s %11s %6s %8s %9s %10s %12s %10s %10s  %s\n' state free_pages pcp d_free slab_kB d_slab_kB watched_slab pages_held page_owner "page_owner, kernel structures under kmmap frames"
for r in "${rows[@]}"; do
  printf '%-18s %11s %6s %8s %9s %10s %12s %10s %10s  %s\n' "$r" "${free[$r]}" "${pcp[$r]}" \
    $(( ${free[$r]} + ${pcp[$r]} - ${free[before]} - ${pcp[before]} )) \
    "${slab[$r]}" $(( ${slab[$r]} - ${slab[before]} )) "${watched[$r]}" "${held[$r]}" "${po_data[$r]}" "${po_other[$r]}"
done
echo "SUnreclaim kB: $(for r in "${rows[@]}"; do printf '%s=%s  ' "$r" "${sunreclaim[$r]}"; done)"
echo "total $(($(now) - t_start)) s"

# Leave the module loaded, as the runner had it.
[[ -d /sys/module/kmmap ]] || insmod "$KMMAP_KO" || true

rm -rf "$work"
if ((${#failures[@]})); then
  echo "kstress: ${#failures[@]} failures:"
  printf '  %s\n' "${failures[@]}"
  exit 1
fi
echo "kstress: ok, 0 pages leaked (pages_held back to the buffer after each backing${page_owner:+, page_owner: 0 kmmap pages after rmmod})"
