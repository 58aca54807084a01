# shellcheck shell=bash disable=SC2034,SC2154 # globals of vm/run, set and read across files
# Sourced by vm/run. Owns the release's build chroot under the cache: making it
# (debootstrap, plus the release's kernel package unpacked beside it), adding
# packages it lacks, running commands in it, building the module in it, and
# --chroot's throwaway overlay of it. Needs say, die and remove_dirs (vm/lib/
# host.sh), and the globals that vm/run sets (cache, release, mirror, job,
# mode, module_src, make_args; root, ver and module_kdir once the kernel is
# known).

# What the build chroot holds besides minbase: compiler, make and headers for
# the module, kmod for depmod, and perl with its whole library for the
# kernel-doc check that W=1 builds run (its Pod::Usage is not in perl-base).
readonly chroot_packages=(gcc make linux-headers-amd64 kmod perl)

# Run a command in a chroot with /proc mounted (objtool reads it), unmounting
# /proc afterwards whatever happens.
in_chroot() {
  local root=$1 rc=0
  shift
  mount -t proc proc "$root/proc"
  mounts+=("$root/proc")
  chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LC_ALL=C "$@" || rc=$?
  umount -- "$root/proc"
  unset 'mounts[-1]'
  return "$rc"
}

# The headers' version is the kernel's: linux-headers-<version> in the chroot.
kernel_version() {
  local dirs=("$1"/usr/src/linux-headers-*-amd64)
  ((${#dirs[@]})) || return 1
  printf '%s\n' "${dirs[@]##*/linux-headers-}" | sort -V | tail -n 1
}

# Where the kernel package put the kernel: /boot, or beside its modules (sid).
kernel_image() {
  local f
  for f in "$1/boot/vmlinuz-$2" "$1/lib/modules/$2/vmlinuz"; do
    [[ -f $f ]] && { printf '%s\n' "$f"; return; }
  done
}

# $cache/$release/{root,kernel}: the chroot with the compiler and headers, and
# the matching kernel package unpacked. Built aside and renamed when complete,
# so an interrupted run leaves nothing half-made under the final name.
prepare_release() {
  local dest=$cache/$release tmp ver
  [[ -d $dest ]] && return 0
  for tmp in "$cache/.$release".*; do remove_tree "$tmp"; done
  tmp=$(mktemp -d "$cache/.$release.XXXXXX")
  remove_dirs+=("$tmp")

  say "creating the $release chroot in $dest (once; about a minute)"
  debootstrap --variant=minbase --include="$(IFS=,; printf '%s' "${chroot_packages[*]}")" \
    --keyring=/usr/share/keyrings/debian-archive-keyring.gpg \
    "$release" "$tmp/root" "$mirror" >"$tmp/debootstrap.log" 2>&1 ||
    { tail -n 30 "$tmp/debootstrap.log" >&2; die "debootstrap $release failed"; }
  ver=$(kernel_version "$tmp/root") || die "no linux-headers-*-amd64 in the $release chroot"

  # The kernel package, unpacked with the release's own dpkg and indexed with
  # its own depmod (some packages ship no modules.dep, and only the release's
  # kmod surely knows its module format). sid splits the kernel out of
  # linux-image-* into linux-binary-* and linux-modules-*: take what exists.
  # Newer packages put modules under usr/lib only: lib/modules must work too.
  # shellcheck disable=SC2016 # expanded by the chroot's sh
  in_chroot "$tmp/root" /bin/sh -ec '
    ver=$1
    shift
    mkdir /kmmap-kernel /kmmap-debs
    chmod 777 /kmmap-debs # apt-get download runs as _apt
    cd /kmmap-debs
    for p; do
      if apt-cache show "$p" >/dev/null 2>&1; then apt-get download -q "$p"; fi
    done
    for deb in *.deb; do dpkg -x "$deb" /kmmap-kernel; done
    rm -r /kmmap-debs
    [ -e /kmmap-kernel/lib ] || ln -s usr/lib /kmmap-kernel/lib
    depmod -b /kmmap-kernel "$ver"
  ' sh "$ver" "linux-image-$ver" "linux-binary-$ver" "linux-modules-$ver" \
    >"$tmp/kernel.log" 2>&1 ||
    { tail -n 30 "$tmp/kernel.log" >&2; die "getting the kernel package for $ver failed"; }
  mv "$tmp/root/kmmap-kernel" "$tmp/kernel"
  [[ -n $(kernel_image "$tmp/kernel" "$ver") ]] || die "no kernel image in the $ver packages"
  rm -f "$tmp"/*.log
  mv -T "$tmp" "$dest"
}

# Install the packages a chroot lacks (once): those of chroot_packages that
# joined after it was made, or the debug kernel's build packages.
complete_chroot() {
  local root=$1 missing=() p log
  shift
  for p; do
    # shellcheck disable=SC2016 # a dpkg-query format
    [[ $(chroot "$root" dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null) == installed ]] ||
      missing+=("$p")
  done
  ((${#missing[@]})) || return 0
  say "installing ${missing[*]} in the $release chroot (once)"
  log=$(mktemp)
  remove_dirs+=("$log")
  # The chroot's package lists may be older than the archive: update them
  # only when the install needs it. A mirror that serves a frozen sid has an
  # expired Release file; its signature still counts.
  # shellcheck disable=SC2016 # expanded by the chroot's sh
  in_chroot "$root" /bin/sh -c '
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y --no-install-recommends "$@" ||
      { apt-get update -o Acquire::Check-Valid-Until=false &&
        apt-get install -y --no-install-recommends "$@"; }
  ' sh "${missing[@]}" >"$log" 2>&1 ||
    { tail -n 30 "$log" >&2; die "installing ${missing[*]} in $root failed"; }
}

# Build the module in the chroot from a fresh copy of its source, so edits are
# always picked up and the host's tree gets no build products.
build_module() {
  local root=$1 ver=$2 work ko log
  [[ -f $module_src/Makefile ]] || die "no Makefile in $module_src (set KMMAP_MODULE_SRC?)"
  work=$(mktemp -d "$root/tmp/kmmap-build.XXXXXX")
  remove_dirs+=("$work")
  cp -a -- "$module_src/." "$work/"
  log=$work/build.log
  local kdir=${module_kdir:-/usr/src/linux-headers-$ver} inside=/tmp/${work##*/}
  # shellcheck disable=SC2016 # expanded by the chroot's sh
  if ! in_chroot "$root" /bin/sh -c \
      'd=$1 k=$2; shift 2; make -s -C "$d" KDIR="$k" clean >/dev/null 2>&1; make -C "$d" KDIR="$k" "$@"' \
      sh "$inside" "$kdir" ${make_args[@]+"${make_args[@]}"} >"$log" 2>&1; then
    # Name the source files by their host paths, for the reader and editors.
    sed "s|$inside/|$module_src/|g" "$log" >&2
    die "building the module from $module_src against $ver failed"
  fi
  if [[ $mode == build ]]; then
    sed "s|$inside/|$module_src/|g" "$log"
  else
    grep -E 'warning:' "$log" | sed "s|$inside/|$module_src/|g" >&2 || true
  fi
  ko=$work/kmmap.ko
  if [[ ! -f $ko ]]; then
    local kos=("$work"/*.ko)
    ((${#kos[@]} == 1)) || die "expected one .ko in $module_src, found ${#kos[@]}"
    ko=${kos[0]}
  fi
  # Into this run's own directory: concurrent runs (other checkouts, other
  # sources) must not swap modules under each other.
  cp -- "$ko" "$job/kmmap.ko"
}

# --chroot: the command runs as root in an overlay of the release's chroot,
# whose writes vanish with it, with /proc and the repository (read-only, at
# its own path) mounted; what it makes, it hands out on stdout. The chroot
# stays as it was for every other run. Sets exit_status to the command's.
run_in_chroot_copy() {
  local tmp merged rc=0 env_args=() var
  tmp=$(mktemp -d "$cache/.$release-chroot.XXXXXX")
  merged=$tmp/merged
  mkdir "$tmp/upper" "$tmp/work" "$merged"
  mount -t overlay overlay -o "lowerdir=$root,upperdir=$tmp/upper,workdir=$tmp/work" "$merged" ||
    die "cannot mount an overlay of $root"
  # Should the run be killed, the trap unmounts both and removes tmp after.
  mounts+=("$merged")
  remove_dirs+=("$tmp")
  mkdir -p -- "$merged$repo"
  # Read-only: nothing in the chroot can change the repository, nor could a
  # removal of tmp that went wrong reach into it.
  if mount --bind -- "$repo" "$merged$repo" && mounts+=("$merged$repo") &&
      mount -o remount,bind,ro -- "$merged$repo"; then
    # A fresh resolver configuration, for apt-get; the chroot's is debootstrap's.
    cp -L /etc/resolv.conf "$merged/etc/resolv.conf" 2>/dev/null || true
    while IFS= read -r var; do
      case $var in CI | KMMAP_*) env_args+=("$var=${!var}") ;; esac
    done < <(compgen -e)
    # shellcheck disable=SC2016 # expanded by the chroot's sh
    in_chroot "$merged" /bin/sh -c 'cd -- "$0" && exec "$@"' "$repo" \
      /usr/bin/env ${env_args[@]+"${env_args[@]}"} KMMAP_KERNEL_VERSION="$ver" "$@" || rc=$?
  else
    rc=$RUNNER_FAILED
  fi
  if [[ ${mounts[-1]} == "$merged$repo" ]]; then
    umount -- "$merged$repo" || umount -l -- "$merged$repo"
    unset 'mounts[-1]'
  fi
  umount -- "$merged" || umount -l -- "$merged"
  unset 'mounts[-1]'
  # The trap removes tmp, after detaching whatever is still mounted below it.
  exit_status=$rc
}
