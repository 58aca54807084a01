# Sourced by vm/run for `--kernel debug`: a 6.12 kernel built from Debian's
# linux-source-6.12 with the kernel's own checkers on (vm/debug-kernel.config),
# in the trixie chroot, once, into the cache.
#
# x86_64_defconfig, then kvm_guest.config, then vm/debug-kernel.config, merged
# by the kernel's own merge_config.sh and completed by olddefconfig; every line
# of vm/debug-kernel.config is then checked against the result, so a checker
# that Kconfig silently drops fails the build instead of giving a kernel that
# reports nothing. The tree stays in the chroot at $debug_tree: the module is
# built against it with the chroot's compiler, the one that built the kernel.
#
# The build is keyed by the source package's version, a hash of the config
# fragment and debug_recipe: bump debug_recipe when the build steps below
# change, and the next run builds again (edits to comments do not).

readonly debug_packages=(linux-source-6.12 bc flex bison libelf-dev libssl-dev xz-utils cpio)
readonly debug_tree=/usr/src/kmmap-debug-6.12
readonly debug_localversion=-kmmap-debug
readonly debug_recipe=1

# Sets ver, kdir (the unpacked kernel: boot/ and lib/modules/) and module_kdir.
prepare_debug_kernel() {
  local root=$1 dest=$cache/debug-6.12 key have= log tmp start
  local fragment=$repo/vm/debug-kernel.config
  key=$(
    chroot "$root" dpkg-query -W -f='${Version}\n' linux-source-6.12
    printf 'recipe %s\n' "$debug_recipe"
    sha256sum <"$fragment" | cut -d' ' -f1
  )
  [[ -f $dest/key ]] && have=$(<"$dest/key")
  if [[ $have != "$key" || ! -f $root$debug_tree/build/Module.symvers ]]; then
    remove_tree "$dest"
    tmp=$(mktemp -d "$cache/.debug-6.12.XXXXXX")
    remove_dirs+=("$tmp")
    log=$tmp/build.log
    say "building the debug kernel from linux-source-6.12 (once; about 30 minutes on 2 cores; log: $log)"
    start=$SECONDS
    cp -- "$fragment" "$root/tmp/kmmap-debug.config"
    # shellcheck disable=SC2016 # expanded by the chroot's sh
    if ! in_chroot "$root" /bin/sh -ec '
        tree=$1 localversion=$2 jobs=$3
        rm -rf "$tree"
        mkdir -p "$tree"
        tar -C "$tree" -xf /usr/src/linux-source-6.12.tar.xz
        mv "$tree/linux-source-6.12" "$tree/src"
        cd "$tree/src"
        make -s O=../build x86_64_defconfig
        printf "CONFIG_LOCALVERSION=\"%s\"\n# CONFIG_LOCALVERSION_AUTO is not set\n" "$localversion" \
          >>/tmp/kmmap-debug.config
        scripts/kconfig/merge_config.sh -m -O ../build ../build/.config \
          kernel/configs/kvm_guest.config /tmp/kmmap-debug.config
        make -s O=../build olddefconfig
        # Every line of the fragment must have survived olddefconfig.
        missing=0
        while IFS= read -r line; do
          case $line in
            CONFIG_*=*) want=$line ;;
            "# CONFIG_"*" is not set") want=$line ;;
            *) continue ;;
          esac
          name=${want#\# }; name=${name%%[= ]*}
          if ! grep -qxF -- "$want" ../build/.config; then
            # "is not set" is also met by an option that no longer exists.
            case $want in "# "*) grep -q "^$name=" ../build/.config || continue ;; esac
            echo "debug kernel: Kconfig dropped \"$want\" (have: $(grep -E "(^|# )$name[= ]" ../build/.config || echo nothing))" >&2
            missing=1
          fi
        done </tmp/kmmap-debug.config
        [ "$missing" = 0 ]
        make O=../build -j"$jobs" bzImage modules
        make -s O=../build INSTALL_MOD_PATH=/tmp/kmmap-debug-kernel INSTALL_MOD_STRIP=1 modules_install
        make -s O=../build kernelrelease >/tmp/kmmap-debug-kernel/release
        # Keep what module builds need: the objects are gigabytes.
        find ../build -name "*.o" ! -path "*/scripts/*" ! -path "*/tools/*" -delete
        rm -rf "$tree/build/.tmp"*
      ' sh "$debug_tree" "$debug_localversion" "$(nproc)" >"$log" 2>&1; then
      grep -E 'debug kernel:|error|Error' "$log" | tail -n 20 >&2
      tail -n 30 "$log" >&2
      die "building the debug kernel failed (the lines above are from its log)"
    fi
    ver=$(<"$root/tmp/kmmap-debug-kernel/release")
    mkdir -p "$tmp/kernel/boot"
    mv "$root/tmp/kmmap-debug-kernel/lib" "$tmp/kernel/lib" 2>/dev/null ||
      mkdir -p "$tmp/kernel/lib/modules/$ver"
    rm -rf "$root/tmp/kmmap-debug-kernel"
    cp -- "$root$debug_tree/build/arch/x86/boot/bzImage" "$tmp/kernel/boot/vmlinuz-$ver"
    cp -- "$root$debug_tree/build/.config" "$tmp/kernel/boot/config-$ver"
    cp -- "$root$debug_tree/build/System.map" "$tmp/kernel/boot/System.map-$ver"
    depmod -b "$tmp/kernel" "$ver"
    printf '%s\n' "$ver" >"$tmp/version"
    printf 'built in %d s on %d CPUs\n' $((SECONDS - start)) "$(nproc)" >"$tmp/build-time"
    say "debug kernel $ver $(<"$tmp/build-time")"
    printf '%s\n' "$key" >"$tmp/key"
    rm -f -- "$log"
    mv -T "$tmp" "$dest"
  fi
  ver=$(<"$dest/version")
  kdir=$dest/kernel
  module_kdir=$debug_tree/build
}
