#!/usr/bin/env bash
# npm run check:kernel: the module's source is clean on every kernel line.
#
#   1. No kernel version test outside kernel/compat.h: the module's logic is
#      the same on every kernel, and compat.h carries every API difference.
#   2. The module compiles without a single warning at W=1 against the headers
#      of each kernel line (vm/kernel-lines), with that release's compiler
#      (vm/run --build-only, in the release's chroot).
#   3. It builds for 32-bit x86 as well, at W=1, without a warning and
#      without an undefined symbol (a 64-bit division compiles there into a
#      call to libgcc's __udivdi3/__umoddi3, which no kernel exports), against
#      Debian's bookworm 686-pae headers. It is a cross build in the 6.1 line's
#      amd64 chroot, so it works on hosts that cannot run 32-bit programs; the
#      headers are fetched once into the VM runner's cache.
#   4. checkpatch.pl --strict finds nothing in kernel/*.c, kernel/*.h and
#      kernel/uapi/linux/*.h. checkpatch comes from Debian's linux-source
#      package, fetched once into the VM runner's cache, never into the repository.
#
# Every check runs even when an earlier one fails; the exit status is non-zero
# if any failed, and the last line names the checks that did.
set -euo pipefail
shopt -s nullglob

repo=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)
cd -- "$repo"
# shellcheck source=scripts/lib/common.sh
source scripts/lib/common.sh

mapfile -t lines <<<"$(kmmap_kernel_lines)"
readonly lines
# The release whose linux-source provides checkpatch.pl: Debian's stable one.
readonly checkpatch_line=6.12
cache=${KMMAP_VM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kmmap-vm}
failed=()

section() { printf '\n== %s ==\n' "$*"; }

# ------------------------------------------------------------ version tests

section "kernel version tests outside kernel/compat.h"
# Kbuild and Makefile too: a version test there is one as well.
if found=$(grep -nE '\b(LINUX_VERSION_CODE|KERNEL_VERSION)\b' \
    kernel/*.c kernel/*.h kernel/uapi/linux/*.h kernel/Kbuild kernel/Makefile |
    grep -v '^kernel/compat\.h:'); then
  printf '%s\n' "$found"
  echo "error: put kernel API differences in kernel/compat.h, not in the module's logic"
  failed+=("version tests outside compat.h")
else
  echo "none"
fi

# ---------------------------------------------------------------------- W=1

# A build's verdict: 0 if it succeeded with no warning lines; otherwise says
# why, adds NAME to the failures and returns 1.
build_verdict() { # name status warning-lines what-they-are
  if (($2 != 0)); then
    echo "error: the $1 build failed (status $2)"
  elif (($3 > 0)); then
    echo "error: $3 $4 lines in the $1 build"
  else
    return 0
  fi
  failed+=("$1")
  return 1
}

for line in "${lines[@]}"; do
  section "W=1 build against $line"
  log=$(mktemp)
  status=0
  bash vm/run --kernel "$line" --build-only --make W=1 >"$log" 2>&1 || status=$?
  # Compiler and kernel-doc warnings say "warning:", modpost says "WARNING:".
  warnings=$(grep -ciE 'warning|error' "$log" || true)
  grep -vE '^make(\[[0-9]+\])?: (Entering|Leaving) directory' "$log" || true
  rm -f -- "$log"
  if build_verdict "W=1 $line" "$status" "$warnings" warning; then
    echo "no warnings"
  fi
done

# -------------------------------------------------------------------- i386

# A cross build: the module is built for i386 in a throwaway overlay of the
# 6.1 line's amd64 bookworm chroot (vm/run --chroot). Its gcc-12, the compiler
# Debian builds bookworm's i386 kernels with, emits 32-bit code (-m32, which
# the 686-pae headers' .config selects; a module needs no libc), and kbuild's
# host tools (fixdep, modpost) are the chroot's amd64 ones, so nothing 32-bit
# ever runs: some hosts cannot execute i386 binaries at all, even with
# CONFIG_IA32_EMULATION=y.
readonly i386_line=6.1
readonly i386_dir=$cache/i386-headers-$i386_line
# Exit status of the build when the chroot's headers changed since the fetch.
readonly i386_stale=75

# Debian's linux-headers-<abi>-686-pae, fetched once into i386_dir (aside,
# then renamed) inside a throwaway copy of the chroot, with i386 added as a
# foreign architecture, and streamed out as a tar archive: root/usr/src/...,
# and BASE, the chroot's kernel and headers version when they were fetched.
# They come in the version of the chroot's own linux-headers-<abi>-common and
# linux-kbuild, which they use; should the archive no longer have it, its
# current 686-pae headers come with the common headers and amd64 kbuild tools
# of their version, which then replace the chroot's in the build's overlay.
fetch_i386_headers() {
  local tmp
  tmp=$(mktemp -d "$cache/.i386-headers-$i386_line.XXXXXX")
  echo "fetching Debian's 686-pae headers for the $i386_line chroot (once)"
  # shellcheck disable=SC2016 # expanded by the chroot's sh
  if ! bash vm/run --kernel "$i386_line" --chroot -- sh -ec '
      exec 3>&1 1>&2  # stdout carries the archive only
      abi=${KMMAP_KERNEL_VERSION%-amd64}
      base=$(dpkg-query -W -f="\${Version}" "linux-headers-$abi-common")
      dpkg --add-architecture i386
      apt-get update -q >/dev/null
      mkdir /tmp/debs /tmp/out
      chmod 777 /tmp/debs  # apt-get download runs as _apt
      cd /tmp/debs
      if ! apt-get download -q "linux-headers-$abi-686-pae:i386=$base"; then
        echo "linux-headers-$abi-686-pae $base is gone from the archive: taking the current headers"
        hdr=$(apt-cache depends linux-headers-686-pae:i386 |
          sed -n "s/^ *Depends: \(linux-headers-.*-686-pae\)\(:i386\)\{0,1\}\$/\1/p" | head -n 1)
        ver=$(apt-cache show "$hdr:i386" | sed -n "s/^Version: //p" | head -n 1)
        kbuild=$(apt-cache show "$hdr:i386=$ver" |
          sed -n "s/^Depends: .*\(linux-kbuild-[0-9.]*\).*/\1/p" | head -n 1)
        [ -n "$hdr" ] && [ -n "$ver" ] && [ -n "$kbuild" ] || { echo "no 686-pae headers in the archive"; exit 1; }
        apt-get download -q "$hdr:i386=$ver" "${hdr%-686-pae}-common=$ver" "$kbuild:amd64=$ver"
      fi
      for deb in *.deb; do dpkg-deb -x "$deb" /tmp/out/root; done
      echo "$KMMAP_KERNEL_VERSION $base" >/tmp/out/BASE
      tar -C /tmp/out -c . >&3
    ' | tar -x -C "$tmp"; then
    rm -rf -- "$tmp"
    return 1
  fi
  [[ -f $tmp/BASE && -d $tmp/root/usr/src ]] || { rm -rf -- "$tmp"; return 1; }
  rm -rf -- "$i386_dir"
  mv -T -- "$tmp" "$i386_dir"
}

# The headers (usr/ only: not the packages' lib/modules/*/build link) go into
# the overlay beside or over the chroot's own, then the module is built from a
# copy of kernel/ (mounted read-only at its own path). Status i386_stale if the
# chroot is not the one the headers were fetched for.
build_i386() {
  # shellcheck disable=SC2016 # expanded by the chroot's sh
  tar -C "$i386_dir/root" -c usr |
    bash vm/run --kernel "$i386_line" --chroot -- sh -c '
      tar -x -C / || exit
      abi=${KMMAP_KERNEL_VERSION%-amd64}
      now="$KMMAP_KERNEL_VERSION $(dpkg-query -W -f="\${Version}" "linux-headers-$abi-common")"
      if [ "$now" != "$1" ]; then
        echo "the $2 chroot is now $now, its 686-pae headers were fetched for $1"
        exit "$3"
      fi
      k=$(ls -d /usr/src/linux-headers-*-686-pae | sort -V | tail -n 1)
      echo "headers: ${k##*/}"
      mkdir /tmp/kmmap-i386 && cp -a kernel/. /tmp/kmmap-i386/ &&
        make -C /tmp/kmmap-i386 KDIR="$k" W=1 || exit
      h=$(readelf -h /tmp/kmmap-i386/kmmap.ko) || exit
      echo "built: kmmap.ko, $(echo "$h" | sed -n "s/^ *Class: *//p"), $(echo "$h" | sed -n "s/^ *Machine: *//p")"
    ' sh "$(cat "$i386_dir/BASE")" "$i386_line" "$i386_stale"
}

section "W=1 build for i386 (32-bit)"
mkdir -p -- "$cache"
log=$(mktemp)
status=0
# One check at a time fetches or reads the headers.
exec {i386_lock}>"$cache/i386-headers-$i386_line.lock"
flock "$i386_lock"
if [[ ! -f $i386_dir/BASE ]] && ! fetch_i386_headers; then
  status=fetch
else
  build_i386 >"$log" 2>&1 || status=$?
  if ((status == i386_stale)); then
    # The chroot was made again since: headers for the new one.
    cat -- "$log"
    status=0
    if fetch_i386_headers; then build_i386 >"$log" 2>&1 || status=$?; else status=fetch; fi
  fi
fi
exec {i386_lock}>&-
if [[ $status == fetch ]]; then
  echo "error: could not fetch Debian's 686-pae headers"
  failed+=("i386 (headers not fetched)")
else
  grep -vE '^make(\[[0-9]+\])?: (Entering|Leaving) directory' "$log" | sed 's|/tmp/kmmap-i386/|kernel/|g' || true
  # modpost reports a symbol no kernel exports as '... "x" [...] undefined!'.
  warnings=$(grep -ciE 'warning|error|undefined' "$log" || true)
  if build_verdict i386 "$status" "$warnings" "warning or undefined-symbol"; then
    if grep -qx 'built: kmmap.ko, ELF32, Intel 80386' "$log"; then
      echo "no warnings, no undefined symbols"
    else
      echo "error: the i386 build made no 32-bit x86 kmmap.ko"
      failed+=("i386")
    fi
  fi
fi
rm -f -- "$log"

# --------------------------------------------------------------- checkpatch

# checkpatch.pl with the two data files it reads from its own directory,
# extracted from linux-source-<line> inside that release's chroot (a
# throwaway copy of it) and streamed out as a tar archive.
fetch_checkpatch() {
  local dest=$1 tmp
  tmp=$(mktemp -d "$cache/.checkpatch.XXXXXX")
  echo "fetching checkpatch.pl from Debian's linux-source for $checkpatch_line (once)"
  # shellcheck disable=SC2016 # expanded by the chroot's sh
  if ! bash vm/run --kernel "$checkpatch_line" --chroot -- sh -ec '
      exec 3>&1 1>&2  # stdout carries the archive only
      cd /tmp
      apt-get update -q >/dev/null
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q -o Dpkg::Use-Pty=0 --no-install-recommends xz-utils >/dev/null
      pkg=$(apt-cache depends linux-source | sed -n "s/^ *Depends: \(linux-source-[0-9.]*\)$/\1/p" | head -n 1)
      [ -n "$pkg" ] || { echo "no linux-source-* package"; exit 1; }
      apt-get download -q "$pkg"
      mkdir out
      dpkg-deb --fsys-tarfile "$pkg"_*.deb | tar -xO --wildcards "./usr/src/$pkg.tar.*" |
        tar -xJ -C out --strip-components=2 --wildcards "*/scripts/checkpatch.pl" \
          "*/scripts/spelling.txt" "*/scripts/const_structs.checkpatch"
      dpkg-deb -f "$pkg"_*.deb Version >out/VERSION
      echo "$pkg" >out/PACKAGE
      tar -C out -c . >&3
    ' | tar -x -C "$tmp"; then
    rm -rf -- "$tmp"
    return 1
  fi
  [[ -f $tmp/checkpatch.pl ]] || { rm -rf -- "$tmp"; return 1; }
  rm -rf -- "$dest"
  mv -T -- "$tmp" "$dest"
}

section "checkpatch.pl --strict"
checkpatch_dir=$cache/checkpatch-$checkpatch_line
mkdir -p -- "$cache"
if [[ -f $checkpatch_dir/checkpatch.pl ]] || fetch_checkpatch "$checkpatch_dir"; then
  echo "checkpatch.pl from $(cat "$checkpatch_dir/PACKAGE") $(cat "$checkpatch_dir/VERSION")"
  checkpatch() {
    perl "$checkpatch_dir/checkpatch.pl" --strict --no-tree --show-types --color=never -f "$@"
  }
  status=0
  # compat.h is where version tests belong (see the first check), so there,
  # and only there, checkpatch's advice against LINUX_VERSION_CODE is moot.
  checkpatch --ignore LINUX_VERSION_CODE kernel/compat.h || status=1
  for file in kernel/*.c kernel/*.h kernel/uapi/linux/*.h; do
    [[ $file == kernel/compat.h ]] || checkpatch "$file" || status=1
  done
  ((status == 0)) || failed+=("checkpatch")
else
  echo "error: could not fetch checkpatch.pl"
  failed+=("checkpatch (not fetched)")
fi

section "summary"
if ((${#failed[@]})); then
  echo "check:kernel failed: ${failed[*]}"
  exit 1
fi
echo "check:kernel passed: no version tests outside compat.h, W=1 clean on ${lines[*]} and i386, checkpatch --strict clean"
