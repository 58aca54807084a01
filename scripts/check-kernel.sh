#!/usr/bin/env bash
# npm run check:kernel: the module's source is clean on every kernel line.
#
#   1. No kernel version test outside kernel/compat.h: the module's logic is
#      the same on every kernel, and compat.h carries every API difference.
#   2. The module compiles without a single warning at W=1 against the headers
#      of each kernel line (5.10, 6.1, 6.12, 7.2), with that release's compiler
#      (vm/run --build-only, in the release's chroot).
#   3. It builds for 32-bit x86 as well, at W=1, without a warning and
#      without an undefined symbol (a 64-bit division compiles there into a
#      call to libgcc's __udivdi3/__umoddi3, which no kernel exports), in a
#      bookworm i386 chroot of its own (32-bit programs run natively here).
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

readonly lines=(5.10 6.1 6.12 7.2)
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

for line in "${lines[@]}"; do
  section "W=1 build against $line"
  log=$(mktemp)
  status=0
  bash vm/run --kernel "$line" --build-only --make W=1 >"$log" 2>&1 || status=$?
  # Compiler and kernel-doc warnings say "warning:", modpost says "WARNING:".
  warnings=$(grep -ciE 'warning|error' "$log" || true)
  grep -vE '^make(\[[0-9]+\])?: (Entering|Leaving) directory' "$log" || true
  rm -f -- "$log"
  if ((status != 0)); then
    echo "error: the W=1 build against $line failed (status $status)"
    failed+=("W=1 $line")
  elif ((warnings > 0)); then
    echo "error: $warnings warning lines in the W=1 build against $line"
    failed+=("W=1 $line")
  else
    echo "no warnings"
  fi
done

# -------------------------------------------------------------------- i386

# The chroot: i386 bookworm with gcc, make and the 686-pae kernel headers,
# made once into the cache (aside, then renamed, as vm/run does).
readonly i386_root=$cache/bookworm-i386
make_i386_chroot() {
  local tmp
  [[ -d $i386_root ]] && return 0
  tmp=$(mktemp -d "$cache/.bookworm-i386.XXXXXX")
  echo "creating the bookworm i386 chroot in $i386_root (once; about a minute)"
  if ! debootstrap --arch=i386 --variant=minbase --include=gcc,make,perl,linux-headers-686-pae \
      --keyring=/usr/share/keyrings/debian-archive-keyring.gpg \
      bookworm "$tmp/root" "${KMMAP_VM_MIRROR:-http://deb.debian.org/debian}" >"$tmp/log" 2>&1; then
    tail -n 20 "$tmp/log"
    rm -rf --one-file-system -- "$tmp"
    return 1
  fi
  mv -T -- "$tmp/root" "$i386_root"
  rm -rf -- "$tmp"
}

section "W=1 build for i386 (32-bit)"
mkdir -p -- "$cache"
if ! command -v debootstrap >/dev/null; then
  # vm/run installed it for the builds above; it cannot be missing unless they failed.
  echo "error: debootstrap is missing"
  failed+=("i386")
elif ! make_i386_chroot; then
  echo "error: debootstrap of bookworm i386 failed"
  failed+=("i386")
else
  work=$(mktemp -d "$i386_root/tmp/kmmap-build.XXXXXX")
  cp -a kernel/. "$work/"
  log=$work/build.log
  status=0
  # shellcheck disable=SC2016 # expanded by the chroot's sh
  chroot "$i386_root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C sh -c \
    'k=$(ls -d /usr/src/linux-headers-*-686-pae | sort -V | tail -n 1) &&
     echo "headers: ${k##*/}" && make -C "$1" KDIR="$k" W=1' sh "/tmp/${work##*/}" >"$log" 2>&1 || status=$?
  grep -vE '^make(\[[0-9]+\])?: (Entering|Leaving) directory' "$log" | sed "s|/tmp/${work##*/}/|kernel/|g" || true
  # modpost reports a symbol no kernel exports as 'WARNING: ... "x" [...] undefined!'.
  warnings=$(grep -ciE 'warning|error|undefined' "$log" || true)
  [[ -f $work/kmmap.ko ]] && echo "built: $(file -b "$work/kmmap.ko" 2>/dev/null || echo kmmap.ko)"
  rm -rf -- "$work"
  if ((status != 0)); then
    echo "error: the i386 build failed (status $status)"
    failed+=("i386")
  elif ((warnings > 0)); then
    echo "error: $warnings warning or undefined-symbol lines in the i386 build"
    failed+=("i386")
  else
    echo "no warnings, no undefined symbols"
  fi
fi

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
