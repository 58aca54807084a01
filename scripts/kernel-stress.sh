#!/usr/bin/env bash
# npm run stress:kernel -- [--kernel LINE] [--procs N] [--cycles N] [--timeout SECS]
#
# The stress run with accounting (test/kstress/run.sh) in a VM: N processes
# (default 16) x N cycles (default 10000) of open, mmap, touch, fork,
# mremap, munmap and close over every mapping method of /dev/kmmap and over
# /proc/lkmc_mmap, once per backing (contig, vmalloc), with free pages, slab,
# the module's pages_held and page_owner measured before and after.
#
#   --kernel LINE   vm/run's kernel line (default debug: KASAN, KMEMLEAK,
#                   lockdep, DEBUG_VM, page_owner=on)
#   --procs N       worker processes (default 16)
#   --cycles N      cycles per process and backing (default 10000)
#   --timeout SECS  vm/run's limit for the whole run (default 7200)
#   --boot-timeout SECS
#                   vm/run's limit for one boot (its default: 300; the debug
#                   kernel on a busy machine may need more)
#
# --fork-every N, --mremap-every N and --seed N go to kstress as they are.
# Exits with run.sh's status: 0 when nothing leaked and nothing failed.
set -euo pipefail

repo=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)
kernel=debug timeout=7200 vm_args=() args=()
while (($#)); do
  case $1 in
    --kernel) kernel=${2:?--kernel needs a line}; shift 2 ;;
    --timeout) timeout=${2:?--timeout needs seconds}; shift 2 ;;
    --boot-timeout) vm_args+=(--boot-timeout "${2:?--boot-timeout needs seconds}"); shift 2 ;;
    --procs | --cycles | --fork-every | --mremap-every | --seed)
      [[ ${2:-} =~ ^[0-9]+$ ]] || { echo "$1 needs a number" >&2; exit 2; }
      args+=("$1" "$2"); shift 2 ;;
    -h | --help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown option: $1 (see --help)" >&2; exit 2 ;;
  esac
done
cd "$repo"
exec bash vm/run --kernel "$kernel" --timeout "$timeout" "${vm_args[@]}" -- bash test/kstress/run.sh "${args[@]}"
