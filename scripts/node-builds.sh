# Sourced by the scripts that run other builds of Node (test-node-versions.sh,
# test-consumer.sh, test-arm64.sh): where those builds are cached, and how one
# is fetched from the npm registry (its node-linux-<cpu> packages; no other
# network is needed).
#
# The cache is $KMMAP_NODE_CACHE, by default /var/cache/kmmap-node for root:
# outside the checkout, which other users may not be able to enter, and
# readable by all, since the tests run that node as "nobody" too. Other users
# cache in the checkout's node_modules/.cache/kmmap-node.
# shellcheck shell=bash

if [[ -z ${KMMAP_NODE_CACHE:-} ]]; then
  if ((EUID == 0)); then
    KMMAP_NODE_CACHE=/var/cache/kmmap-node
  else
    KMMAP_NODE_CACHE=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)/node_modules/.cache/kmmap-node
  fi
fi

# node_build CPU MAJOR: prints the path of that Node's binary, fetching
# node-linux-CPU@MAJOR into the cache first if it is not there.
node_build() {
  local cpu=$1 major=$2 dir tarball
  dir=$KMMAP_NODE_CACHE/$major
  [[ $cpu == x64 ]] || dir=$KMMAP_NODE_CACHE/$cpu-$major
  if [[ ! -x $dir/package/bin/node ]]; then
    mkdir -p "$dir"
    tarball=$(cd "$dir" && npm pack --silent "node-linux-$cpu@$major")
    tar -xzf "$dir/$tarball" -C "$dir"
    rm -f "$dir/$tarball"
    chmod -R a+rX "$KMMAP_NODE_CACHE"
  fi
  printf '%s\n' "$dir/package/bin/node"
}
