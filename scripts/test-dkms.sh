#!/usr/bin/env bash
# npm run test:dkms: kernel/dkms.conf works the way the README tells users to
# install the module permanently, on one kernel line (6.1, bookworm):
#
#   1. In a throwaway copy of the release's build chroot (vm/run --chroot, so
#      the cached chroot itself never changes): install dkms, copy kernel/ to
#      /usr/src/kmmap-VERSION, then dkms add, dkms build -k KVER and
#      dkms install -k KVER. What dkms installed under
#      /lib/modules/KVER/updates/ comes out as a tar stream on stdout, into
#      .test-results/dkms/.
#   2. Boot that kernel without the runner's own module (--no-module), put the
#      dkms-installed tree into the guest's /lib/modules/KVER, run depmod and
#      `modprobe kmmap`, and check that /proc/lkmc_mmap appears and serves
#      its page.
set -euo pipefail

repo=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)
cd -- "$repo"

readonly line=6.1
out=.test-results/dkms
rm -rf -- "$out"
mkdir -p -- "$out"
started=$SECONDS

version=$(sed -n 's/^PACKAGE_VERSION="\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' kernel/dkms.conf)
[[ -n $version ]] || { echo "error: no PACKAGE_VERSION in kernel/dkms.conf"; exit 1; }

echo "== dkms add, build, install kmmap/$version in the $line chroot =="
# shellcheck disable=SC2016 # expanded by the chroot's sh
bash vm/run --kernel "$line" --chroot -- sh -ec '
  exec 3>&1 1>&2  # stdout carries the archive only
  version=$1 kver=$KMMAP_KERNEL_VERSION
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null
  apt-get install -y -q -o Dpkg::Use-Pty=0 --no-install-recommends dkms >/dev/null
  dkms --version
  cp -a kernel "/usr/src/kmmap-$version"
  set -x
  dkms add -m kmmap -v "$version"
  dkms build -m kmmap -v "$version" -k "$kver"
  dkms install -m kmmap -v "$version" -k "$kver"
  dkms status -m kmmap
  set +x
  find "/lib/modules/$kver/updates" -type f
  echo "$kver" >"/lib/modules/$kver/kernel-version"
  tar -C "/lib/modules/$kver" -c kernel-version updates >&3
' sh "$version" | tar -x -C "$out"

kver=$(cat "$out/kernel-version")
kos=("$out"/updates/dkms/kmmap.ko*)
[[ -f ${kos[0]} ]] || { echo "error: dkms installed no kmmap.ko under /lib/modules/$kver/updates/dkms"; exit 1; }

echo "== modprobe kmmap from the dkms-installed tree, in $kver =="
# shellcheck disable=SC2016 # expanded by the guest's sh
bash vm/run --kernel "$line" --no-module -- sh -ec '
  out=$1 kver=$(uname -r)
  [ "$kver" = "$(cat "$out/kernel-version")" ] || { echo "booted $kver, dkms built for $(cat "$out/kernel-version")"; exit 1; }
  [ ! -e /proc/lkmc_mmap ] || { echo "kmmap is loaded before modprobe"; exit 1; }
  # The runner links the kernel s own modules at /lib/modules/KVER; writes
  # there land in the guest s tmpfs.
  cp -a "$out/updates" "/lib/modules/$kver/"
  depmod -a "$kver"
  echo "modprobe resolves kmmap to: $(modinfo -n kmmap)"
  case $(modinfo -n kmmap) in
    "/lib/modules/$kver/updates/dkms/kmmap.ko"*) ;;
    *) echo "modinfo -n kmmap is not the dkms-installed module"; exit 1 ;;
  esac
  modprobe kmmap
  [ -e /proc/lkmc_mmap ] || { echo "/proc/lkmc_mmap is missing after modprobe kmmap"; exit 1; }
  page=$(head -c 4 /proc/lkmc_mmap)
  [ "$page" = asdf ] || { echo "/proc/lkmc_mmap reads \"$page\", not \"asdf\""; exit 1; }
  echo "/proc/lkmc_mmap reads $page"
  modprobe -r kmmap
  [ ! -e /proc/lkmc_mmap ] || { echo "/proc/lkmc_mmap stays after modprobe -r kmmap"; exit 1; }
' sh "$out"

echo "dkms: kmmap/$version added, built and installed for $kver; modprobe kmmap loaded it in the VM ($((SECONDS - started)) s)"
