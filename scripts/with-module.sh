#!/usr/bin/env bash
# Runs a command where kmmap.ko is loaded: right here if /proc/lkmc_mmap
# exists (the module was inserted on this host), otherwise in the VM runner,
# which boots a real kernel with the module inserted.
set -euo pipefail
if [ -e /proc/lkmc_mmap ]; then
  exec "$@"
fi
echo "kmmap.ko is not loaded here: running in a VM (vm/run)" >&2
exec bash "$(dirname "$0")/../vm/run" -- "$@"
