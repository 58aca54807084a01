// npm run test:package (first part): the package holds exactly the files
// listed here, every file it holds is needed, and what `make -C kernel`,
// node-gyp and older builds leave in the checkout never gets in.
//
// 1. `npm pack --dry-run --json` of the checkout equals EXPECTED.
// 2. Every relative require() of a packed .js and every relative import of
//    a packed .d.ts resolves to a packed file, and every packed dist/ file is
//    reached from an entry point: .js from "main" and "bin", .d.ts from
//    "types". So a file is missing or internal, never silently both.
// 3. No packed .js names a source map (none is shipped).
// 4. A scratch copy of the packed files plus every kind of build product
//    packs to the same list.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

// The run-time JavaScript (cli.js needs demo.js, hexdump.js and
// pagemap-report.js), the declarations that index.d.ts reaches, the
// prebuilt addons, what a build from source needs (binding.gyp, native/),
// the module's source for DKMS with its licence, and the licences.
const EXPECTED = `
CHANGELOG.md
LICENSE
README.md
binding.gyp
dist/binding.js
dist/cli.js
dist/demo.js
dist/descriptor.d.ts
dist/descriptor.js
dist/device.d.ts
dist/device.js
dist/errors.d.ts
dist/errors.js
dist/file-bounds.js
dist/hexdump.js
dist/hints.js
dist/index.d.ts
dist/index.js
dist/ioctl.d.ts
dist/ioctl.js
dist/kpageflags.d.ts
dist/kpageflags.js
dist/lkmc.d.ts
dist/lkmc.js
dist/map.d.ts
dist/map.js
dist/map-options.d.ts
dist/map-options.js
dist/mapping.d.ts
dist/mapping.js
dist/page.d.ts
dist/page.js
dist/pagemap-report.js
dist/pagemap.d.ts
dist/pagemap.js
dist/paths.js
dist/procfs.d.ts
dist/procfs.js
dist/source.js
dist/uapi.d.ts
dist/uapi.js
dist/validate.js
kernel/COPYING
kernel/Kbuild
kernel/Makefile
kernel/buffer.c
kernel/buffer.h
kernel/compat.h
kernel/device.c
kernel/dkms.conf
kernel/kmmap_internal.h
kernel/lkmc_mmap.c
kernel/main.c
kernel/uapi/linux/kmmap.h
native/addon.cc
native/addon.h
native/errors.cc
native/errors.h
native/helpers.cc
native/helpers.h
native/ioctl.cc
native/live_mapping.h
native/mapping.cc
native/memory.cc
native/pagemap.cc
package.json
prebuilds/linux-arm64/kmmap.glibc.node
prebuilds/linux-x64/kmmap.glibc.node
`.trim().split('\n');

// What builds leave behind: Kbuild's products (5.10 to 7.x), node-gyp's,
// tsc's older source maps and declarations of internal modules.
const LEFTOVERS = [
  'kernel/kmmap.ko', 'kernel/kmmap.o', 'kernel/main.o', 'kernel/device.o', 'kernel/lkmc_mmap.o',
  'kernel/kmmap.mod', 'kernel/kmmap.mod.c', 'kernel/kmmap.mod.o', 'kernel/.kmmap.o.cmd', 'kernel/.kmmap.ko.cmd',
  'kernel/.main.o.cmd', 'kernel/.module-common.o', 'kernel/Module.symvers', 'kernel/modules.order',
  'kernel/.tmp_versions/kmmap.mod', 'kernel/.cache.mk', 'kernel/main.o.d', 'kernel/uapi/linux/.kmmap.h.swp',
  'build/Release/kmmap.node', 'build/Makefile', 'build/config.gypi',
  'dist/index.js.map', 'dist/demo.js.map', 'dist/binding.d.ts', 'dist/demo.d.ts', 'dist/cli.d.ts',
  'prebuilds/linux-x64/kmmap.glibc.node.tmp', 'native/addon.o', '.test-results/host.json', 'lib/index.ts',
];

let failures = 0;
function fail(message) {
  failures += 1;
  console.log(`error: ${message}`);
}

function packList(dir) {
  const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const [entry] = JSON.parse(out);
  return { files: entry.files.map((f) => f.path).sort(), size: entry.size, unpackedSize: entry.unpackedSize };
}

function compare(actual, what) {
  const expected = [...EXPECTED].sort();
  const extra = actual.filter((f) => !expected.includes(f));
  const missing = expected.filter((f) => !actual.includes(f));
  for (const f of extra) fail(`${what} packs ${f}, which is not in the intended list (scripts/test-package-files.mjs)`);
  for (const f of missing) {
    const hint = f.startsWith('prebuilds/') ? ' (run `npm run prebuild`)' : f.startsWith('dist/') ? ' (run `npm run build`)' : '';
    fail(`${what} does not pack ${f}${hint}`);
  }
}

const pkg = JSON.parse(fs.readFileSync(path.join(repo, 'package.json'), 'utf8'));
const packed = packList(repo);
compare(packed.files, 'the checkout');

// 2. Closure over relative imports, from the entry points.
function relativeImports(file) {
  const text = fs.readFileSync(path.join(repo, file), 'utf8');
  const pattern = file.endsWith('.d.ts')
    ? /(?:from\s+|import\(\s*)['"](\.{1,2}\/[^'"]+)['"]/g
    : /require\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)/g;
  return [...text.matchAll(pattern)].map((m) => {
    const target = path.posix.join(path.posix.dirname(file), m[1]);
    return file.endsWith('.d.ts') ? `${target.replace(/\.js$/, '')}.d.ts` : target.endsWith('.js') ? target : `${target}.js`;
  });
}

function reach(entries) {
  const seen = new Set();
  const queue = entries.map((e) => path.posix.normalize(e));
  while (queue.length > 0) {
    const file = queue.pop();
    if (seen.has(file)) continue;
    seen.add(file);
    if (!packed.files.includes(file)) {
      fail(`${file} is needed at run time or by the types but is not packed`);
      continue;
    }
    queue.push(...relativeImports(file));
  }
  return seen;
}

const bins = typeof pkg.bin === 'string' ? [pkg.bin] : Object.values(pkg.bin ?? {});
const js = reach([pkg.main, pkg.exports['.'].default, ...bins]);
const dts = reach([pkg.types, pkg.exports['.'].types]);
for (const file of packed.files.filter((f) => f.startsWith('dist/'))) {
  if (file.endsWith('.d.ts') ? !dts.has(file) : !js.has(file)) {
    fail(`${file} is packed but no entry point reaches it: drop it from "files" in package.json and from the list here`);
  }
}

// 3. No dangling source map comments.
for (const file of packed.files.filter((f) => f.endsWith('.js'))) {
  if (/^\/\/# sourceMappingURL=/m.test(fs.readFileSync(path.join(repo, file), 'utf8'))) {
    fail(`${file} names a source map, which is not shipped (tsconfig.build.json must not set sourceMap)`);
  }
}

// 4. Build products next to the packed files.
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'kmmap-files-'));
try {
  for (const file of packed.files) {
    fs.mkdirSync(path.join(scratch, path.dirname(file)), { recursive: true });
    fs.copyFileSync(path.join(repo, file), path.join(scratch, file));
  }
  for (const file of LEFTOVERS) {
    fs.mkdirSync(path.join(scratch, path.dirname(file)), { recursive: true });
    fs.writeFileSync(path.join(scratch, file), 'build product\n');
  }
  compare(packList(scratch).files, 'a checkout with build products');
} finally {
  fs.rmSync(scratch, { recursive: true, force: true });
}

console.log(`package: ${packed.files.length} files, ${(packed.size / 1024).toFixed(1)} kB packed, ${(packed.unpackedSize / 1024).toFixed(1)} kB unpacked`);
if (failures > 0) {
  console.log(`${failures} problem(s) with the package's contents`);
  process.exit(1);
}
console.log('package contents: as intended');
