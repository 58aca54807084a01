#!/usr/bin/env bash
# Runs a command where kmmap.ko is loaded: right here if it is loaded in
# this host's kernel, otherwise in the VM runner, which boots a real kernel
# with the module inserted.
set -euo pipefail
# shellcheck source=scripts/lib/common.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/lib/common.sh"
if kmmap_loaded; then
  exec "$@"
fi
echo "kmmap.ko is not loaded here: running in a VM (vm/run)" >&2
exec bash "$kmmap_repo/vm/run" -- "$@"
