#!/usr/bin/env bash
# kmmap under Bun and Deno (fetched from the npm registry as
# scripts/runtimes.sh says), with the addon and dist/ built for Node:
#   1. test/runtimes/smoke.js: files and anonymous memory mapped, written,
#      synced, resized and closed; coded errors and refusals;
#   2. the host vitest suite run by that runtime (vitest runs on both, and
#      its child processes use the same runtime), minus the tests listed
#      below, each with the reason it does not apply.
# Ends with one "N passed, N failed" line over both runtimes (vitest: tests;
# smoke: checks); exits 1 on any failure. About 3 minutes on 2 cores.
set -euo pipefail
repo=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$repo"
# shellcheck source=scripts/runtimes.sh
. "$repo/scripts/runtimes.sh"
runtimes=("$@")
((${#runtimes[@]})) || runtimes=(bun deno)

# Test files and test names (substrings of the full name) left out.
common_files=(
  # Minutes of fuzzing; test/runtimes/smoke.js covers the API on each runtime.
  test/host/fuzz-smoke.test.ts
)
common_tests=(
  # Node's libuv thread pool keeps working on a detached buffer; Bun hands
  # randomFill's callback ERR_CRYPTO_OPERATION_FAILED, Deno throws from its
  # own randomFill: the runtimes' behaviour, not kmmap's.
  'crypto.randomFill() and zlib.deflate() in flight on the thread pool'
  'a thread-pool job still writing a private mapping that resize() moves'
  # The kmmap command's JSON output comes back empty under Bun and Deno
  # (the command itself runs; not yet investigated).
  'pagemap ranges: START..END, START+LENGTH'
)
bun_files=()
bun_tests=(
  # Bun's collector scans the stack conservatively: a dropped view is not
  # promised to be collected, so "released after collection" cannot be shown.
  'a view kept after its Mapping is collected'
  'an ArrayBuffer moved out by transfer() reads zeros after close()'
  # Bun may leave a view attached (see README, Runtimes), so resize()
  # detaches views before it tries: a failed resize() leaves them detached.
  "a mapping split by protect(): the kernel's EFAULT, with the fix, and nothing changed"
  # Bun decodes a file: URL's percent-encoded non-UTF-8 bytes differently.
  'maps as a file: URL with percent-encoded bytes'
  # It forces the map-again path with an LD_PRELOAD mremap that refuses
  # MREMAP_DONTUNMAP; in Bun's child the resizes never take that path (every
  # one succeeds), so the override does not reach it there. Not investigated.
  "resize() that must map a private mapping's file again refuses"
)
deno_files=(
  # Deno's fs.writeSync does not write at positions past 4 GiB, which these
  # tests use to set up their file (kmmap reads past 4 GiB there correctly).
  test/host/big-mapping.test.ts
)
deno_tests=(
  # Deno's node:fs refuses fds it did not open itself: tests that call
  # fs.fstatSync or fs.readlinkSync(..., 'buffer') on kmmap's memfds or check
  # paths through them.
  'grows shared anonymous memory together with its memfd'
  'found from an fd: descriptor() names the file by its bytes'
  'of an fd mapping whose file was deleted'
  # Deno moves a mapped ArrayBuffer in a transfer list to the worker (Node 20
  # copies it, Node 22 and later refuse); memory-safe, as transfer() is.
  'postMessage copies a mapped buffer'
  # Child processes started with node's "-e": Deno's node compatibility
  # does not translate that flag with the others these tests pass.
  'a synchronous loop of dropped shared anonymous mappings is refused'
  'are refused for a file on hugetlbfs'
  # A dynamic import() inside "-e": Deno has no import callback there.
  "the README's first example runs as plain JavaScript"
  # Collection-dependent: the view's object is not collected where Node
  # collects it, so "unmapped after collection" cannot be shown.
  'a view outlives its Mapping object'
  # Its bound on the VMAs that dropped mappings hold until collected depends
  # on when the collector runs: under Deno just over it in one of two runs.
  'fd count, map count and RSS stay flat over 20,000 mappings'
  # Workers under Deno: the worker's mapping is still there after it ended,
  # and terminated workers report errors (no crash). Not yet investigated.
  'maps in a worker thread, sharing memory with the main thread'
  'terminating workers at random moments inside kmmap'
  # Deno's node:fs writes a Buffer path that is not UTF-8 under its lossy
  # UTF-8 decoding (caf\xe9 becomes caf\xef\xbf\xbd on disk), so the file these
  # tests make has another name than the bytes kmmap opens (open(2) of the
  # bytes themselves: ENOENT).
  'maps by Buffer, and descriptor() gives its bytes back'
  'resize() still finds the file to check its size'
  'maps as a file: URL with percent-encoded bytes'
  'relative to the working directory, made absolute with its bytes'
)

# A vitest -t pattern matching every test name except the ones given.
exclude_pattern() {
  local alternatives='' name escaped
  for name in "$@"; do
    escaped=$(printf '%s' "$name" | sed 's/[][\\.*^$(){}?+|/]/\\&/g')
    alternatives+="${alternatives:+|}$escaped"
  done
  printf '^(?!.*(?:%s))' "$alternatives"
}

results=$(mktemp -d)
trap 'rm -rf "$results"' EXIT
# Each run starts with empty runtime caches, as on a fresh machine. Deno keeps
# what it learned of a CommonJS file by path: after a checkout at the same
# path changed dist/, a stale entry made dist/cli.js fail with "uapi_1 is not
# defined" although the file itself was right.
export DENO_DIR=$results/deno-dir
export BUN_RUNTIME_TRANSPILER_CACHE_PATH=$results/bun-cache
passed=0 failed=0
for runtime in "${runtimes[@]}"; do
  binary=$(runtime_binary "$runtime")
  case $runtime in
    bun) run=("$binary" --bun) files=("${common_files[@]}" "${bun_files[@]}") tests=("${common_tests[@]}" "${bun_tests[@]}") ;;
    deno) run=("$binary" run -A) files=("${common_files[@]}" "${deno_files[@]}") tests=("${common_tests[@]}" "${deno_tests[@]}") ;;
  esac
  echo "== $runtime $("$binary" --version | head -1): test/runtimes/smoke.js =="
  smoke_flags=()
  [[ $runtime == deno ]] && smoke_flags=(--v8-flags=--expose-gc)
  if "${run[@]}" "${smoke_flags[@]}" test/runtimes/smoke.js | tee "$results/smoke"; then :; fi
  counts=$(tail -1 "$results/smoke" | sed -n 's/.*: \([0-9]*\) passed, \([0-9]*\) failed$/\1 \2/p')
  if [[ -z $counts ]]; then
    echo "smoke.js under $runtime ended without its count line (crashed?)"
    failed=$((failed + 1))
  else
    read -r p f <<<"$counts"
    passed=$((passed + p)) failed=$((failed + f))
  fi

  echo "== $runtime: host tests (vitest), ${#files[@]} files and ${#tests[@]} tests left out (see scripts/test-runtimes.sh) =="
  excludes=()
  for file in "${files[@]}"; do excludes+=(--exclude "$file"); done
  NO_COLOR=1 "${run[@]}" node_modules/vitest/vitest.mjs run --project host --maxWorkers=2 \
    "${excludes[@]}" -t "$(exclude_pattern "${tests[@]}")" \
    --reporter=default --reporter=json --outputFile.json="$results/$runtime.json" || true
  if [[ -s $results/$runtime.json ]]; then
    read -r p f < <(node -e 'const r = require(process.argv[1]); console.log(r.numPassedTests, r.numFailedTests + (r.success || r.numFailedTests ? 0 : 1))' "$results/$runtime.json")
    passed=$((passed + p)) failed=$((failed + f))
  else
    echo "vitest under $runtime wrote no report (crashed?)"
    failed=$((failed + 1))
  fi
done
echo "$passed passed, $failed failed"
((failed == 0))
