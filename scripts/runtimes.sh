# Sourced by the scripts that run kmmap under other JavaScript runtimes
# (test-runtimes.sh): where Bun and Deno are cached, and how each is fetched
# from the npm registry. The `bun` and `deno` packages only pick a platform
# package and copy its binary in a postinstall script; the platform package
# (@oven/bun-linux-<cpu>, @deno/linux-<cpu>-glibc) holds the binary itself,
# so it is fetched directly with `npm pack`, as node-builds.sh does for Node,
# with no install script and no network but the npm registry.
#
# The cache is $KMMAP_RUNTIME_CACHE, by default /var/cache/kmmap-runtimes for
# root (outside the checkout, readable by all) and ~/.cache/kmmap-runtimes
# for other users.
# shellcheck shell=bash

if [[ -z ${KMMAP_RUNTIME_CACHE:-} ]]; then
  if ((EUID == 0)); then
    KMMAP_RUNTIME_CACHE=/var/cache/kmmap-runtimes
  else
    KMMAP_RUNTIME_CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/kmmap-runtimes
  fi
fi

# The versions the README promises; a different one can be asked for
# (KMMAP_BUN_VERSION=1.4, KMMAP_DENO_VERSION=2.9: any npm version range).
KMMAP_BUN_VERSION=${KMMAP_BUN_VERSION:-1.4}
KMMAP_DENO_VERSION=${KMMAP_DENO_VERSION:-2.9}

# runtime_binary NAME: prints the path of bun's or deno's binary for this
# machine's CPU, fetching its platform package into the cache first if the
# cached one is missing or not of the asked version range.
runtime_binary() {
  local name=$1 cpu pkg version binary dir tarball
  case $(uname -m) in
    x86_64) cpu=x64 ;;
    aarch64) cpu=arm64 ;;
    *) echo "runtimes.sh: no $name build for $(uname -m)" >&2; return 1 ;;
  esac
  case $name in
    bun)
      version=$KMMAP_BUN_VERSION
      pkg=@oven/bun-linux-$([[ $cpu == x64 ]] && echo x64 || echo aarch64)
      binary=package/bin/bun
      ;;
    deno)
      version=$KMMAP_DENO_VERSION
      pkg=@deno/linux-$cpu-glibc
      binary=package/deno
      ;;
    *) echo "runtimes.sh: unknown runtime '$name' (bun or deno)" >&2; return 1 ;;
  esac
  dir=$KMMAP_RUNTIME_CACHE/$name-$cpu-$version
  if [[ ! -x $dir/$binary ]]; then
    rm -rf "$dir"
    mkdir -p "$dir"
    tarball=$(cd "$dir" && npm pack --silent "$pkg@$version")
    tar -xzf "$dir/$tarball" -C "$dir"
    rm -f "$dir/$tarball"
    chmod -R a+rX "$KMMAP_RUNTIME_CACHE"
  fi
  printf '%s\n' "$dir/$binary"
}
