#!/usr/bin/env bash
# npm run prebuild: the addon for linux-x64 and linux-arm64 (glibc), into
# prebuilds/<platform>-<arch>/kmmap.glibc.node, where node-gyp-build finds it
# when build/Release does not exist (an installed package). One Node-API build
# serves every Node version.
#
# Each architecture builds in its own scratch copy under node_modules/.cache,
# so build/Release (the checkout's own addon, which node-gyp-build prefers)
# is never replaced by a foreign binary. arm64 is cross-compiled with Debian's
# g++-aarch64-linux-gnu, installed here with apt-get when missing (as root;
# otherwise the command to run is printed). Node's headers come from the
# running Node's own prefix when it has them (no download from nodejs.org).
set -euo pipefail
repo=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$repo"
archs=("$@")
((${#archs[@]})) || archs=(x64 arm64)

need=()
for arch in "${archs[@]}"; do
  case $arch in
    x64) command -v g++ >/dev/null && command -v make >/dev/null || need+=(g++ make) ;;
    arm64) command -v aarch64-linux-gnu-g++ >/dev/null || need+=(g++-aarch64-linux-gnu binutils-aarch64-linux-gnu) ;;
    *) echo "error: no cross toolchain known for '$arch' (x64 or arm64)" >&2; exit 2 ;;
  esac
done
command -v python3 >/dev/null || need+=(python3)
if ((${#need[@]})); then
  if ((EUID != 0)); then
    echo "error: missing ${need[*]}; run: sudo apt-get install -y --no-install-recommends ${need[*]}" >&2
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${need[@]}"
fi

prefix=$(dirname -- "$(dirname -- "$(readlink -f -- "$(command -v node)")")")
if [[ -z ${npm_config_nodedir:-} && -f $prefix/include/node/node_api.h ]]; then
  export npm_config_nodedir=$prefix
fi

prebuildify=$repo/node_modules/prebuildify/bin.js
for arch in "${archs[@]}"; do
  scratch=$repo/node_modules/.cache/kmmap-prebuild/$arch
  rm -rf "$scratch"
  mkdir -p "$scratch"
  cp -a package.json binding.gyp native "$scratch/"
  rm -rf "prebuilds/linux-$arch"
  env=()
  strip=strip
  if [[ $arch == arm64 && $(uname -m) != aarch64 ]]; then
    env=(CC=aarch64-linux-gnu-gcc CXX=aarch64-linux-gnu-g++ LINK=aarch64-linux-gnu-g++ AR=aarch64-linux-gnu-ar)
    strip=aarch64-linux-gnu-strip
  fi
  echo "== prebuild linux-$arch =="
  env "${env[@]}" node "$prebuildify" "$scratch" --out "$repo" --napi --strip --strip-bin "$strip" \
    --tag-libc --arch "$arch" --platform linux --cache "$repo/node_modules/.cache/kmmap-prebuild/node-gyp"
  rm -rf "$scratch"
done
ls -l prebuilds/linux-*/
