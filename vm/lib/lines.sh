# shellcheck shell=bash disable=SC2034,SC2154 # globals of vm/run, set and read across files
# Sourced by vm/run. Owns the kernel lines: reads vm/kernel-lines (the one list
# of lines and the Debian release that ships each) and turns what --kernel
# says, a line or a release, into both. Needs say and die from vm/run.

# Line -> release, and the lines in the file's order (oldest first).
declare -A release_of=()
kernel_lines=()

# Fill release_of and kernel_lines from vm/kernel-lines: comment lines, then
# one "LINE RELEASE" row per line.
load_kernel_lines() {
  local file=$repo/vm/kernel-lines line release extra
  [[ -r $file ]] || die "cannot read $file"
  while read -r line release extra || [[ -n $line ]]; do
    if [[ -z $line || $line == \#* ]]; then continue; fi
    [[ -n $release && -z $extra ]] || die "$file: not a \"LINE RELEASE\" row: $line $release $extra"
    release_of[$line]=$release
    kernel_lines+=("$line")
  done <"$file"
  ((${#kernel_lines[@]})) || die "no kernel lines in $file"
}

# "5.10 (bullseye), 6.1 (bookworm), ...", for the help text.
describe_kernel_lines() {
  local line out=
  for line in "${kernel_lines[@]}"; do out+="${out:+, }$line (${release_of[$line]})"; done
  printf '%s\n' "$out"
}

# The line of the machine's own Debian release: a host tests the kernel its own
# release ships. sid names itself after the coming release (forky today).
default_line() {
  local codename line
  # shellcheck disable=SC1091 # the host's file
  codename=$(. /etc/os-release 2>/dev/null && printf '%s' "${VERSION_CODENAME:-}") || codename=
  [[ $codename == forky ]] && codename=sid
  for line in "${kernel_lines[@]}"; do
    [[ ${release_of[$line]} == "$codename" ]] && { printf '%s\n' "$line"; return; }
  done
  say "note: this machine's release (${codename:-unknown}) has no kernel line here: using 6.1 (bookworm)"
  printf '6.1\n'
}

# Resolve --kernel (a line, a release, or "debug") into the globals kernel (the
# line), release and debug (non-empty for the debug kernel). Returns 1 when
# it names no line.
resolve_kernel() { # what --kernel said
  local line
  kernel=$1 release='' debug=''
  if [[ $kernel == debug ]]; then
    release=trixie debug=1
  elif [[ -v release_of[$kernel] ]]; then
    release=${release_of[$kernel]}
  else
    for line in "${kernel_lines[@]}"; do
      [[ ${release_of[$line]} == "$kernel" ]] && { release=$kernel; kernel=$line; }
    done
  fi
  [[ -n $release ]]
}
