# shellcheck shell=bash disable=SC2034,SC2154 # globals of vm/run, set and read across files
# Sourced by vm/run. Owns the virtual machine: the KVM probe, the accelerator
# and CPU, the kernel parameters that keep boots reliable (KMMAP_VM_TUNING) or
# break them on purpose (KMMAP_VM_FAULT), and QEMU's arguments. Booting it is
# vm/lib/boot.sh's. Needs say and die_usage from vm/run, kernel_image (vm/lib/
# chroot.sh), and the globals that vm/run sets (repo, cache, job, kdir, ver,
# debug, memory, cpus).

readonly qemu=qemu-system-x86_64

# The environment this file reads, checked before anything is built.
check_machine_environment() {
  case ${KMMAP_VM_ACCEL:-} in
    '' | kvm | tcg) ;;
    *) die_usage "KMMAP_VM_ACCEL must be kvm or tcg" ;;
  esac
  case ${KMMAP_VM_TUNING:-on} in
    on | single | none) ;;
    *) die_usage "KMMAP_VM_TUNING must be on, single or none" ;;
  esac
  case ${KMMAP_VM_FAULT:-} in
    '' | panic-before-command | hang-before-command) ;;
    *) die_usage "KMMAP_VM_FAULT must be panic-before-command or hang-before-command" ;;
  esac
}

# KVM can be present yet unusable: a paravirtual KVM that stock guest kernels
# cannot drive either makes QEMU abort while it resets the vCPU, or lets QEMU
# start and then never runs the guest (seen on these machines: not one byte on
# the console, until the timeout). So the probe boots this very kernel with no
# initramfs and waits for its first console line; with working KVM it panics
# ("unable to mount root fs") within a second or two and QEMU exits. The
# verdict holds until the host reboots.
kvm_usable() {
  local verdict=$cache/kvm-verdict boot_id log=$job/kvm-probe.log
  boot_id=$(</proc/sys/kernel/random/boot_id)
  if [[ -f $verdict && $(sed -n 1p "$verdict") == "$boot_id" ]]; then
    [[ $(sed -n 2p "$verdict") == usable ]]
    return
  fi
  local answer=unusable
  timeout -k 5 20 "$qemu" -accel kvm -cpu host -m 256M -smp 1 -nodefaults -nographic \
    -no-reboot -bios qboot.rom -serial "file:$job/kvm-probe.console" \
    -kernel "$(kernel_image "$kdir" "$ver")" -append "console=ttyS0 panic=-1" \
    </dev/null >"$log" 2>&1 || true
  if grep -q 'Linux version' "$job/kvm-probe.console" 2>/dev/null; then
    answer=usable
  else
    local why
    why=$(grep -m1 -o 'error: .*' "$log") || why="the guest printed nothing in 20 s"
    say "KVM is unusable here (${why#error: }): using software emulation (TCG)"
  fi
  printf '%s\n%s\n' "$boot_id" "$answer" >"$verdict"
  [[ $answer == usable ]]
}

# Sets accel (kvm or tcg) and cpu: KMMAP_VM_ACCEL, else KVM when it works.
choose_accel() {
  accel=${KMMAP_VM_ACCEL:-}
  if [[ -z $accel ]]; then
    accel=tcg
    if [[ -r /dev/kvm && -w /dev/kvm ]] && kvm_usable; then accel=kvm; fi
  fi
  case $accel in
    kvm) cpu=host ;;
    tcg) cpu=max ;;
  esac
}

# Sets kernel_params and accel_opts (QEMU's -accel): what keeps boots reliable
# under software emulation (vm/README.md, "Boot failures"), unless
# KMMAP_VM_TUNING=none boots with the defaults, to measure them; and what the
# debug kernel needs.
choose_kernel_params() {
  kernel_params=(console=ttyS0 panic=-1 quiet)
  accel_opts=$accel
  case ${KMMAP_VM_TUNING:-on} in
    on | single)
      if [[ $accel == tcg ]]; then
        # Under TCG, 6.12 and 7.2 take the guest's TSC for stable and flip the
        # sched_clock_stable static key late in boot, patching their own text
        # while the other vCPU runs through it; now and then that vCPU dies of
        # an int3 there. A TSC unstable from the start never flips it.
        kernel_params+=(tsc=unstable)
        # On a busy host the vCPU can miss the ticks that the kernel's early
        # check of the IO-APIC timer counts, and the kernel panics ("IO-APIC +
        # timer doesn't work!"). QEMU's timer works: skip the check.
        kernel_params+=(no_timer_check)
        # single: one host thread runs all vCPUs in turn (to measure; see
        # vm/README.md).
        [[ ${KMMAP_VM_TUNING:-on} != single ]] || accel_opts=tcg,thread=single
      fi
      ;;
    none) ;;
  esac

  if [[ -n $debug ]]; then
    # The debug kernel: every KASAN report, not only the first; page poisoning
    # and page_owner are built in but off unless asked for; a log buffer large
    # enough that no report is pushed out before the suite reads it.
    kernel_params+=(kasan_multi_shot page_poison=1 page_owner=on log_buf_len=8M)
    # Under software emulation the debug kernel's ACPI interpreter is slow
    # enough that the PCI routing method (_PRT, a loop in QEMU's tables) hits
    # ACPI's 30 s loop timeout, three times per boot: route PCI interrupts
    # without ACPI.
    kernel_params+=(pci=noacpi)
  fi
}

# A 9p share for -virtfs.
share() { # tag path [readonly]
  printf 'local,path=%s,mount_tag=%s,security_model=none,multidevs=remap%s' \
    "${2//,/,,}" "$1" "${3:+,readonly=on}"
}

# Sets accel, cpu, accel_opts, kernel_params and qemu_args: everything a boot
# passes QEMU but its console, kernel command line and pid file; and fault,
# the test fault the first boot's kernel command line asks the guest for.
configure_machine() {
  choose_accel
  choose_kernel_params
  fault=${KMMAP_VM_FAULT:-}
  qemu_args=(
    -accel "$accel_opts" -cpu "$cpu" -m "${memory}M" -smp "$cpus"
    -nodefaults -nographic -no-reboot -bios qboot.rom
    -kernel "$(kernel_image "$kdir" "$ver")"
    -initrd "$job/initramfs.cpio"
    -virtfs "$(share hostroot / readonly)"
    -virtfs "$(share repo "$repo")"
    -virtfs "$(share job "$job")"
  )
}
