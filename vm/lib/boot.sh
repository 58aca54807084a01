# shellcheck shell=bash disable=SC2034,SC2154 # globals of vm/run, set and read across files
# Sourced by vm/run. Owns booting the machine that vm/lib/qemu.sh configured
# until the command has run, and what each boot's end means: the command's
# exit status, a timeout (124), a kernel that broke under the command (125,
# never retried), or a guest that died before the command started (booted
# again, at most --boots times, with the console lines that explain it). Needs
# say and the exit codes from vm/run, watchdog (vm/lib/host.sh), and the
# globals that vm/run and vm/lib/qemu.sh set (job, timeout, boots,
# boot_timeout; qemu, qemu_args, kernel_params, fault).

# Signs on the console that the guest kernel broke.
readonly KERNEL_TROUBLE='Kernel panic|Oops|BUG:|general protection|invalid opcode|Call Trace'

# The console on stderr: from the first sign of kernel trouble on (an oops's
# first lines name what broke, and its trace can push them out of a tail),
# else its last 40 lines; and what QEMU said.
console_tail() { # console log
  local n first
  n=$(wc -l <"$1")
  first=$(grep -a -n -m 1 -E "$KERNEL_TROUBLE|cut here" "$1" | cut -d: -f1) || first=
  if [[ -z $first ]] || ((first > n - 40)); then
    say "last lines of the console:"
    tail -n 40 "$1"
  elif ((n - first < 100)); then
    say "the console from its first sign of trouble on:"
    sed -n "$first,\$p" "$1"
  else
    say "the console: 60 lines from its first sign of trouble on, then its last 40"
    sed -n "$first,$((first + 59))p" "$1"
    echo "[...]"
    tail -n 40 "$1"
  fi | sed 's/\r$//' >&2
  [[ -s $job/qemu.err ]] && { say "QEMU said:"; cat "$job/qemu.err" >&2; }
  return 0
}

# Kills QEMU when the guest has not started the command boot_timeout seconds
# after QEMU did; the guest writes $job/started right before it inserts the
# module and runs the command.
# shellcheck disable=SC2317 # runs in the background
watch_boot() {
  local end=$((SECONDS + boot_timeout))
  while ((SECONDS < end)); do
    [[ -e $job/started ]] && return 0
    sleep 0.5
  done
  [[ -e $job/started ]] && return 0
  : >"$job/boot-hung"
  [[ -s $job/qemu.pid ]] && kill -TERM "$(<"$job/qemu.pid")"
}

# One boot, its console live on stdout and in CONSOLE, until the guest powers
# off, QEMU dies, the boot watchdog kills it or SECONDS_LEFT run out. Sets
# qemu_rc to QEMU's exit status (124 on timeout).
boot_once() { # boot console seconds_left
  local boot=$1 console=$2 left=$3 params=("${kernel_params[@]}")
  rm -f -- "$job/started" "$job/status" "$job/qemu.pid" "$job/boot-hung"
  [[ -n $fault && $boot == 1 ]] && params+=("kmmap_vm.fault=$fault")
  watch_boot </dev/null >/dev/null 2>&1 &
  watchdog=$!
  # Console to stdout live, without the serial line's \r. QEMU gets no stdin:
  # CI has none, and a terminal must stay in its normal mode.
  qemu_rc=0
  timeout --foreground -k 10 "$left" "$qemu" "${qemu_args[@]}" \
    -chardev "stdio,id=console,logfile=$console" -serial chardev:console \
    -append "${params[*]}" -pidfile "$job/qemu.pid" </dev/null 2>"$job/qemu.err" |
    sed -u 's/\r$//' || qemu_rc=${PIPESTATUS[0]}
  kill "$watchdog" 2>/dev/null || true
  wait "$watchdog" 2>/dev/null || true
  watchdog=
}

# What a boot's end means for the run. Sets exit_status when the run is over:
# the command's status, 124 on timeout, 125 when the command started and no
# status came back, or when the guest's /init failed cleanly (booting again
# won't help). Leaves it empty when the guest died before the command.
judge_boot() { # boot console qemu_rc
  local boot=$1 console=$2 rc=$3 status guest_said
  if [[ -s $job/status ]]; then
    status=$(<"$job/status")
    if [[ $status =~ ^[0-9]+$ ]]; then
      ((boot == 1)) || say "note: the command ran on boot $boot of $boots; $((boot - 1)) died before it started (above)"
      exit_status=$status
      return 0
    fi
  fi
  if ((rc == 124)) && [[ ! -e $job/boot-hung ]]; then
    console_tail "$console"
    if [[ -e $job/started ]]; then
      say "timed out after ${timeout}s"
    else
      say "timed out after ${timeout}s, on boot $boot, before the command started"
    fi
    exit_status=$TIMED_OUT
    return 0
  fi
  if [[ -e $job/started ]]; then
    console_tail "$console"
    if grep -a -q 'Kernel panic' "$console"; then
      say "the guest kernel panicked while the command ran (not retried)"
    else
      say "the guest reported no exit status (QEMU exited with $rc)"
    fi
    exit_status=$RUNNER_FAILED
    return 0
  fi

  # The guest died before the command started.
  guest_said=$(grep -a -o 'kmmap-vm: guest: .*' "$console" | tail -n 1 | tr -d '\r') || guest_said=
  if [[ -n $guest_said ]] && ! grep -a -q -E "$KERNEL_TROUBLE" "$console"; then
    # Its /init failed cleanly (a mount, a module): booting again won't help.
    console_tail "$console"
    say "the guest failed: ${guest_said#kmmap-vm: guest: }"
    exit_status=$RUNNER_FAILED
  fi
  return 0
}

# Why a guest died before the command started, in a few words.
death_cause() { # console qemu_rc
  if [[ -e $job/boot-hung ]]; then
    printf 'no command after %ss\n' "$boot_timeout"
  elif grep -a -q 'Kernel panic' "$1"; then
    printf 'kernel panic\n'
  elif grep -a -q -E "$KERNEL_TROUBLE" "$1"; then
    printf 'kernel oops\n'
  else
    printf 'QEMU exited with %s\n' "$2"
  fi
}

# Boot until the command starts, at most $boots times: a guest that dies
# before it (a kernel that breaks while booting, a boot that hangs) is booted
# again, with the console lines that explain each death on stderr. Once the
# command started, whatever happens is its result and is never retried: its
# exit status, or 125 when the kernel broke under it, or 124 on timeout.
# Sets exit_status.
boot_until_command_runs() {
  local deadline=$((SECONDS + timeout)) boot=0 console left why
  exit_status=
  while :; do
    boot=$((boot + 1))
    console=$job/console-$boot.log
    left=$((deadline - SECONDS))
    ((left > 0)) || left=1
    boot_once "$boot" "$console" "$left"
    judge_boot "$boot" "$console" "$qemu_rc"
    [[ -z $exit_status ]] || return 0

    why=$(death_cause "$console" "$qemu_rc")
    if ((boot >= boots)); then
      console_tail "$console"
      say "the guest died before the command started on all $boots boots (last: $why)"
      exit_status=$RUNNER_FAILED
      return 0
    fi
    say "boot $boot of $boots died before the command started ($why); booting again"
    console_tail "$console"
  done
}
