# shellcheck shell=bash
# Sourced by vm/run. Owns what the runner does to the host itself: the Debian
# packages it installs, and the undoing, however a run ends, of what it left
# behind (mounts, temporary directories, the boot watchdog). Needs say and die
# from vm/run.

# Everything that must be undone however the run ends, undone by cleanup (the
# EXIT trap). Mounts are undone newest first.
mounts=() remove_dirs=() watchdog=

# Remove a directory, first detaching what a killed run left mounted in it (a
# chroot's /proc): rm must never descend into a mount.
remove_tree() {
  local mnt
  while read -r _ mnt _; do
    mnt=$(printf '%b' "$mnt") # /proc/mounts escapes blanks as \040
    [[ $mnt == "$1"/* ]] && umount -l -- "$mnt"
  done < <(tac /proc/self/mounts)
  rm -rf --one-file-system -- "$1"
}

# shellcheck disable=SC2317 # called by the trap
cleanup() {
  local i m d
  [[ -z $watchdog ]] || kill "$watchdog" 2>/dev/null || true
  for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do
    m=${mounts[i]}
    umount -- "$m" 2>/dev/null || umount -l -- "$m" || true
  done
  for d in "${remove_dirs[@]}"; do remove_tree "$d"; done
}

installed() { [[ $(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null) == installed ]]; }

# Install the Debian packages that are missing (as root), or say how to.
need_packages() {
  local missing=() p log
  for p; do installed "$p" || missing+=("$p"); done
  ((${#missing[@]})) || return 0
  ((EUID == 0)) || die_usage "missing packages; run: apt-get install -y --no-install-recommends ${missing[*]}"
  say "installing ${missing[*]}"
  log=$(mktemp)
  remove_dirs+=("$log")
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y --no-install-recommends "${missing[@]}" >"$log" 2>&1; then
    apt-get update >>"$log" 2>&1 || true
    apt-get install -y --no-install-recommends "${missing[@]}" >>"$log" 2>&1 ||
      { tail -n 30 "$log" >&2; die "apt-get install ${missing[*]} failed"; }
  fi
}
