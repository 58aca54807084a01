#!/usr/bin/env bash
# npm run test:vm-runner [-- LINE]: vm/run's own tests. A guest that dies
# before the command starts is booted again (and says so, with the console
# lines that explain it); a command's exit status, or a kernel that dies while
# the command runs, is never retried. Deaths before the command are made with
# vm/run's KMMAP_VM_FAULT; the command's own panic with sysrq. Each command
# appends a line to a file in the repository, so the file counts how often the
# command ran. Needs root, like vm/run; about 10 boots (a minute and a half on
# a quiet machine). LINE: the kernel line to boot (default 6.1).
set -uo pipefail

repo=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)
line=${1:-6.1}
work=$repo/.test-results/vm-runner
rm -rf -- "$work"
mkdir -p -- "$work"
runs=$work/runs

passed=0 failed=0 problems=() rc=0 err=

# vm_run NAME [VAR=value...] -- vm/run args: runs vm/run with its output in
# $work/NAME.{out,err} and its exit status in $rc; $runs starts empty.
vm_run() {
  local name=$1 env=()
  shift
  while [[ $1 != -- ]]; do env+=("$1"); shift; done
  shift
  : >"$runs"
  err=$work/$name.err rc=0
  env ${env[@]+"${env[@]}"} bash "$repo/vm/run" --kernel "$line" --no-module "$@" \
    >"$work/$name.out" 2>"$err" || rc=$?
}

# The command the guest runs: note the run in $runs (synced, so a panic right
# after cannot lose it), then do what the argument says.
counted() { printf 'echo ran >>%q && sync && %s' "$runs" "$1"; }

expect_status() { ((rc == $1)) || problems+=("exit status $rc, expected $1"); }
expect_runs() {
  local n
  n=$(wc -l <"$runs")
  ((n == $1)) || problems+=("the command ran $n times, expected $1")
}
expect_said() { grep -qF -e "$1" "$err" || problems+=("stderr lacks: $1"); }
expect_unsaid() { ! grep -qF -e "$1" "$err" || problems+=("stderr has: $1"); }

finish() { # test name
  if ((${#problems[@]} == 0)); then
    passed=$((passed + 1))
    echo "ok   $1"
  else
    failed=$((failed + 1))
    echo "FAIL $1"
    printf '     %s\n' "${problems[@]}"
    echo "     --- last lines of stderr ($err):"
    tail -n 30 "$err" | sed 's/^/     /'
  fi
  problems=()
}

echo "vm/run tests on kernel $line"

# 1. The command's own failure is its exit status, once.
vm_run status -- -- sh -c "$(counted 'exit 3')"
expect_status 3
expect_runs 1
expect_unsaid 'booting again'
finish "a command's non-zero exit status is passed through and not retried"

# 2. A guest that panics before the command: booted again, the command runs
#    once, and the run succeeds.
vm_run panic-before KMMAP_VM_FAULT=panic-before-command -- -- sh -c "$(counted 'exit 0')"
expect_status 0
expect_runs 1
expect_said 'boot 1 of 3 died before the command started (kernel panic); booting again'
# The console lines that explain the retry follow the message (the live
# console went to stdout).
expect_said 'Kernel panic - not syncing: sysrq triggered crash'
expect_said 'note: the command ran on boot 2 of 3'
finish "a guest that panics before the command is booted again and the command runs once"

# 3. A command that panics the kernel: one boot, 125, the console tail.
vm_run panic-during -- -- sh -c "$(counted 'echo c >/proc/sysrq-trigger; sleep 30')"
expect_status 125
expect_runs 1
expect_unsaid 'booting again'
# The console tail: which of its headings depends on how long the trace is.
expect_said 'Kernel panic - not syncing: sysrq triggered crash'
expect_said 'the guest kernel panicked while the command ran (not retried)'
finish "a command that panics the kernel is not retried: one boot, exit 125, console tail"

# 4. The retries are bounded: with one boot allowed, a death before the
#    command is the run's failure.
vm_run bounded KMMAP_VM_FAULT=panic-before-command -- --boots 1 -- sh -c "$(counted 'exit 0')"
expect_status 125
expect_runs 0
expect_said 'the guest died before the command started on all 1 boots (last: kernel panic)'
expect_said 'Kernel panic - not syncing: sysrq triggered crash'
finish "--boots bounds the boots: a guest that always dies before the command fails with 125"

# 5. A boot that hangs before the command is killed after --boot-timeout and
#    booted again.
vm_run hang-before KMMAP_VM_FAULT=hang-before-command -- --boot-timeout 60 -- \
  sh -c "$(counted 'exit 0')"
expect_status 0
expect_runs 1
expect_said 'boot 1 of 3 died before the command started (no command after 60s); booting again'
expect_said 'test fault: hanging before the command starts'
finish "a boot that hangs before the command is killed after --boot-timeout and booted again"

# 6. An unknown fault is a usage error, before any boot.
vm_run bad-fault KMMAP_VM_FAULT=bogus -- -- true
expect_status 2
expect_said 'KMMAP_VM_FAULT must be'
finish "an unknown KMMAP_VM_FAULT is a usage error (exit 2)"

echo "vm/run tests: $passed passed, $failed failed"
((failed == 0))
