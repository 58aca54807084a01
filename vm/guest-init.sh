#!/bin/sh
# /init of the VM that vm/run boots: busybox, in an initramfs that vm/run builds
# per run. It makes the host's root the guest's root (read-only, with a tmpfs
# overlay on top), mounts the repository and the run's job directory read-write
# at their host paths, inserts the module, runs the job's command and leaves its
# exit status in the job directory. Any failure before the command runs powers
# off without a status, which vm/run reports with the console's last lines.
# Right before the module goes in, it leaves $JOB/started: vm/run boots again
# a guest that died without it, never one that died after.

export PATH=/bin

mount -t devtmpfs devtmpfs /dev
# Nobody types into the console: whatever reads stdin gets end-of-file at once.
exec </dev/null >/dev/console 2>&1
mount -t proc proc /proc
mount -t sysfs sysfs /sys

# REPO, JOB, KO (empty with --no-module), SHELL_BIN and TTY (non-empty when
# the host's output is a terminal), written by vm/run.
# shellcheck source=/dev/null
. /etc/kmmap-vm.conf

power_off() {
	# Keep even "reboot: Power down" off the console: it is the command's.
	echo 0 >/proc/sys/kernel/printk
	sync
	poweroff -f
}

fail() {
	echo "kmmap-vm: guest: $*"
	dmesg | tail -n 20
	power_off
}

# virtio, 9p and overlay, dependencies first, as vm/run ordered them (none
# when the kernel has them built in, as the debug kernel does).
for ko in /lib/modules/*.ko; do
	[ -e "$ko" ] || continue
	insmod "$ko" || fail "cannot load $ko"
done

# Tags are the ones vm/run gives QEMU's -virtfs shares. msize: older 9p
# clients pick a tiny one unless told.
mount9p() { # tag dir options
	mount -t 9p -o "trans=virtio,version=9p2000.L,msize=512000,$3" "$1" "$2" ||
		fail "cannot mount the 9p share $1 on $2"
}

# cache=loose: the guest is the only one using these files during a run, so
# it may cache them; metadata-heavy work (node resolving modules) runs two to
# three times faster than uncached. It also allows shared writable mmap of
# repository files, which uncached 9p refuses.
mkdir -p /lower /rw /newroot
mount9p hostroot /lower ro,cache=loose
mount -t tmpfs -o mode=0755 tmpfs /rw
mkdir /rw/upper /rw/work
mount -t overlay overlay -o lowerdir=/lower,upperdir=/rw/upper,workdir=/rw/work /newroot ||
	fail "cannot mount the overlay root"

mkdir -p "/newroot$REPO" "/newroot$JOB"
mount9p repo "/newroot$REPO" cache=loose
# Uncached: the host reads the exit status from here.
mount9p job "/newroot$JOB" cache=none

mount -t proc proc /newroot/proc
mount -t sysfs sysfs /newroot/sys
mount -t devtmpfs devtmpfs /newroot/dev
# cgroup v2 with the memory controller on for child groups. The command runs
# in a child group (run_command), as every login session's processes do: a
# page charged to a memory cgroup (GFP_KERNEL_ACCOUNT) is only ever charged
# outside the root group, so a root-group run would hide what that does.
CGROUP=/newroot/sys/fs/cgroup
mount -t cgroup2 cgroup2 "$CGROUP" || fail "cannot mount cgroup2"
echo +memory >"$CGROUP/cgroup.subtree_control" ||
	fail "cannot enable the memory controller for child cgroups"
mkdir "$CGROUP/kmmap-vm"
mkdir -p /newroot/dev/pts /newroot/dev/shm
mount -t devpts -o newinstance,ptmxmode=0666 devpts /newroot/dev/pts
mount -t tmpfs -o mode=1777 tmpfs /newroot/dev/shm
# /tmp needs no mount of its own: the overlay makes it writable, and a fresh
# tmpfs would hide a repository or job directory that lives under the host's /tmp.

# Test faults from vm/run (KMMAP_VM_FAULT), on the kernel command line of a
# boot that is to die before the command starts.
read -r cmdline </proc/cmdline
for arg in $cmdline; do
	case $arg in
	kmmap_vm.fault=panic-before-command)
		echo "kmmap-vm: test fault: panicking before the command starts"
		echo c >/proc/sysrq-trigger
		;;
	kmmap_vm.fault=hang-before-command)
		echo "kmmap-vm: test fault: hanging before the command starts"
		while :; do sleep 60; done
		;;
	esac
done

# From here on, what happens is the command's (inserting the module is part
# of it): the job share is uncached, so the host sees this file at once.
: >"/newroot$JOB/started" || fail "cannot write to the job directory $JOB"

if [ -n "$KO" ]; then
	insmod "/newroot$KO" || fail "insmod $KO failed"
fi

# The command script exports its own environment; start it from an empty one.
run_command() {
	# shellcheck disable=SC2016 # $$ is the inner shell's, which then execs
	sh -c 'echo $$ >"$1/cgroup.procs" || exit 125; shift; exec "$@"' sh "$CGROUP/kmmap-vm" \
		chroot /newroot /usr/bin/env -i "$SHELL_BIN" "$JOB/command"
	echo $? >"/newroot$JOB/status"
}

if [ -n "$TTY" ]; then
	run_command
else
	# The host's output is no terminal, so the command's is none either, and it
	# writes what it would write on the host: no progress bars, no cursor moves.
	mkfifo /output
	cat /output &
	reader=$!
	run_command >/output 2>&1
	# Whatever the command left running may hold the pipe open: wait briefly.
	(sleep 2 && kill "$reader") 2>/dev/null &
	wait "$reader" 2>/dev/null
fi
power_off
