# shellcheck shell=bash disable=SC2034,SC2154 # globals of vm/run, set and read across files
# Sourced by vm/run. Owns what the guest is handed in the job directory: the
# initramfs (static busybox, the modules the guest needs to reach its root,
# vm/guest-init.sh as /init and the settings it reads) and the command script
# the guest runs. Needs die and need_packages (vm/lib/host.sh), and the globals
# that vm/run sets (repo, job, load_module, ko, ver, modules_dir).

# Quote for the guest's busybox sh: single quotes, no bash-only forms.
sh_quote() { printf "'%s'" "${1//\'/\'\\\'\'}"; }

# Copy into DIR, as NN-NAME.ko in load order, the modules the guest needs to
# reach its root (virtio PCI, 9p, overlay), with their dependencies first,
# resolved from this kernel's modules.dep. One that modules.dep does not list
# is built in (not every release ships modules.builtin to say so); were it
# missing, the guest's mount would fail.
copy_boot_modules() { # dir
  local dir=$1 line mod name src dst i=0
  # queue_module, below, reads and fills these (bash scoping is dynamic).
  local -A dep_of=() path_of=() queued=()
  local load_order=()
  while IFS= read -r line; do
    mod=${line%%:*} name=${mod##*/}
    name=${name%%.ko*} name=${name//-/_}
    path_of[$name]=$mod dep_of[$name]=${line#*:}
  done <"$modules_dir/modules.dep"
  for name in virtio_pci 9pnet_virtio 9p overlay; do queue_module "$name"; done

  for name in "${load_order[@]}"; do
    src=$modules_dir/${path_of[$name]}
    printf -v dst '%s/%02d-%s.ko' "$dir" $((i += 1)) "$name"
    case $src in
      *.ko) cp "$src" "$dst" ;;
      *.ko.xz) need_packages xz-utils; xz -dc "$src" >"$dst" ;;
      *.ko.zst) need_packages zstd; zstd -qdc "$src" >"$dst" ;;
      *.ko.gz) gzip -dc "$src" >"$dst" ;;
      *) die "unknown module format: $src" ;;
    esac
  done
}

# Append a module to copy_boot_modules' load_order after its dependencies.
queue_module() { # name
  local name=${1//-/_} dep
  [[ -v queued[$name] || ! -v path_of[$name] ]] && return 0
  queued[$name]=1
  for dep in ${dep_of[$name]}; do
    dep=${dep##*/}
    queue_module "${dep%%.ko*}"
  done
  load_order+=("$name")
}

# $job/initramfs.cpio, built from the tree $job/initramfs.
build_initramfs() {
  local initrd=$job/initramfs busybox host_tty=
  mkdir -p "$initrd"/{bin,dev,etc,lib/modules,proc,sys}
  # busybox --install links every applet to the path busybox runs from on the
  # host, so the initramfs holds busybox at that same path.
  busybox=$(readlink -f /bin/busybox)
  mkdir -p "$initrd${busybox%/*}"
  cp "$busybox" "$initrd$busybox"
  /bin/busybox --install -s "$initrd/bin"
  cp "$repo/vm/guest-init.sh" "$initrd/init"
  chmod 755 "$initrd/init"
  copy_boot_modules "$initrd/lib/modules"

  # What the guest's /init needs to know, read by it with `.`.
  [[ -t 1 ]] && host_tty=1
  {
    printf 'REPO=%s\n' "$(sh_quote "$repo")"
    printf 'JOB=%s\n' "$(sh_quote "$job")"
    printf 'KO=%s\n' "$(sh_quote "${load_module:+$ko}")"
    printf 'SHELL_BIN=%s\n' "$(sh_quote "$BASH")"
    printf 'TTY=%s\n' "$host_tty"
  } >"$initrd/etc/kmmap-vm.conf"

  (cd "$initrd" && find . | LC_ALL=C sort | cpio -o -H newc --quiet) >"$job/initramfs.cpio"
}

# $job/command: the command, as a bash script the guest runs with an empty
# environment; printf %q keeps every argument intact whatever it contains.
write_guest_command() { # command [args...]
  local path=$PATH dir var
  {
    printf 'cd -- %q || exit 125\n' "$repo"
    for dir in /usr/local/sbin /usr/local/bin /usr/sbin /usr/bin /sbin /bin; do
      [[ :$path: == *:$dir:* ]] || path+=:$dir
    done
    printf 'export PATH=%q\n' "$path"
    printf 'export HOME=/root TERM=dumb KMMAP_VM=1\n'
    while IFS= read -r var; do
      case $var in
        CI | KMMAP_* | VITEST* | NODE_OPTIONS) printf 'export %s=%q\n' "$var" "${!var}" ;;
      esac
    done < <(compgen -e)
    if [[ -n $load_module ]]; then printf 'export KMMAP_KO=%q\n' "$ko"; fi
    # The guest kernel's modules where modprobe and depmod look for them; what
    # they write there lands in the guest's tmpfs, not in the cache.
    printf '[ -e /lib/modules/%q ] || { mkdir -p /lib/modules && ln -s -- %q /lib/modules/%q; }\n' \
      "$ver" "$modules_dir" "$ver"
    printf 'exec'
    printf ' %q' "$@"
    printf '\n'
  } >"$job/command"
}
