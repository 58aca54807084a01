// npm run test:kernels: the whole kernel test project on every kernel line the
// module supports, one VM after another (vm/run --kernel LINE), then a table:
// the exact kernel, tests passed / failed / skipped, and warnings in the
// kernel log after the suite. Exits non-zero if any line has a failed or
// skipped test, a kernel warning, or no report; the lines below the table
// name each failing test and its kernel.
//
//   npm run test:kernels              all four lines
//   npm run test:kernels -- 5.10 7.2  only these
//   npm run test:debug-kernel         the debug kernel (vm/debug-kernel.sh):
//                                     6.12 with KASAN, KFENCE, KMEMLEAK, UBSAN,
//                                     lockdep, DEBUG_VM; fails on any report of
//                                     theirs and on any leak kmemleak finds
//   npm run test:debug-kernel -- -- test/kernel/lkmc-mmap.test.ts
//                                     only these test files (vitest filters)
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const ALL_LINES = ['5.10', '6.1', '6.12', '7.2'];
/** Built from source with the kernel's checkers; run on its own, not by default. */
const DEBUG_LINE = 'debug';
const args = process.argv.slice(2);
const dashes = args.indexOf('--');
const lineArgs = dashes === -1 ? args : args.slice(0, dashes);
/** vitest file filters, after a second `--`: the whole project without any. */
const filters = dashes === -1 ? [] : args.slice(dashes + 1);
const unknown = lineArgs.filter((line) => !ALL_LINES.includes(line) && line !== DEBUG_LINE);
if (unknown.length > 0) {
  console.error(`unknown kernel line: ${unknown.join(', ')} (known: ${[...ALL_LINES, DEBUG_LINE].join(', ')})`);
  process.exit(2);
}
const LINES = lineArgs.length > 0 ? lineArgs : ALL_LINES;

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const results = path.join(repo, '.test-results');
const vitest = path.join(repo, 'node_modules', 'vitest', 'vitest.mjs');
const tsc = path.join(repo, 'node_modules', 'typescript', 'bin', 'tsc');

/**
 * Kernel log lines that mean trouble, plus the kinds of trouble
 * test/kernel/module.ts's KERNEL_TROUBLE also watches for, and the reports of
 * the debug kernel's checkers (KFENCE, lockdep, DEBUG_ATOMIC_SLEEP, the hung
 * task detector). Case matters: the boot log says "report a bug" and "loops"
 * harmlessly.
 */
const TROUBLE =
  /WARNING|BUG|Oops|Call Trace|general protection|UBSAN|KASAN|KFENCE|Bad page|circular locking|recursive locking|inconsistent lock state|lock held when returning|sleeping function called from invalid context|blocked for more than|soft lockup|kmemleak: \d+ new suspected|kmmap.*([Ww]arn|[Ee]rror|WARN|ERROR)/;
/** Expected whenever an unsigned out-of-tree module loads. */
const EXPECTED = /loading out-of-tree module taints kernel|module verification failed: signature and\/or required key missing/;

function run(command, args) {
  const result = spawnSync(command, args, { cwd: repo, stdio: 'inherit' });
  if (result.error) throw result.error;
  return result.status ?? 1;
}

function readIfExists(file) {
  return fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : null;
}

/** Boots the line's kernel, runs the kernel project there, collects what it left. */
function testLine(line) {
  const base = path.join(results, `kernel-${line}`);
  const files = {
    report: `${base}.json`,
    release: `${base}.release`,
    dmesg: `${base}.dmesg`,
    kmemleak: `${base}.kmemleak`,
    kmemleakBoot: `${base}.kmemleak-boot`,
    pageOwner: `${base}.page-owner`,
  };
  for (const file of Object.values(files)) fs.rmSync(file, { force: true });
  // In the guest: note the kernel, run the suite, then save the kernel log
  // (and kmemleak's findings, where the kernel has it) whatever the suite's
  // outcome, and exit with the suite's status.
  const command = [
    'sh', path.join(repo, 'scripts', 'guest', 'kernel-suite.sh'), base, '--',
    process.execPath, vitest, 'run', '--project', 'kernel',
    '--reporter=default', '--reporter=json', `--outputFile.json=${files.report}`,
    ...filters,
  ];
  console.log(`\n== kernel ${line} ==`);
  const started = Date.now();
  const status = run('bash', [path.join(repo, 'vm', 'run'), '--kernel', line, '--', ...command]);
  const seconds = (Date.now() - started) / 1000;

  const report = readIfExists(files.report);
  const json = report ? JSON.parse(report) : null;
  const failedTests = json
    ? json.testResults.flatMap((file) =>
        file.assertionResults
          .filter((test) => test.status === 'failed')
          .map((test) => `${path.relative(repo, file.name)} > ${test.fullName}`)
          .concat(
            // A file that failed to load has no test results, only a message.
            file.status === 'failed' && file.assertionResults.length === 0
              ? [`${path.relative(repo, file.name)}: ${file.message.split('\n')[0]}`]
              : [],
          ),
      )
    : [];
  const dmesg = readIfExists(files.dmesg);
  const warnings = dmesg === null ? null : dmesg.split('\n').filter((l) => TROUBLE.test(l) && !EXPECTED.test(l));
  const leaks = line === DEBUG_LINE ? kmemleakFindings(files) : null;
  const pages = line === DEBUG_LINE ? pagesLeftByKmmap(files) : null;
  return {
    line,
    status,
    seconds,
    release: readIfExists(files.release)?.trim() ?? '?',
    counts: json && { passed: json.numPassedTests, failed: json.numFailedTests, skipped: json.numPendingTests + json.numTodoTests },
    failedTests,
    warnings,
    leaks,
    pages,
  };
}

/**
 * Whether a backtrace (kmemleak's or page_owner's, read after rmmod) has a
 * frame in kmmap: one named after a kmmap function (the module was still
 * loaded), or one that prints as a bare address, which is code no longer
 * loaded: the debug kernel has everything else built in, so after rmmod that
 * is kmmap's, whichever of the suite's many loads of the module it came from.
 */
function backtraceInKmmap(text) {
  return /\[kmmap\]|\b(kmmap|lkmc)_\w+\+0x/.test(text) || /^\s*(\[<[^>]*>\]\s*)?0xffff[0-9a-f]{12}\s*$/m.test(text);
}

/**
 * Pages still allocated after the module was unloaded that kmmap itself
 * allocated (page_owner_stacks: one stack, innermost frame first, then
 * "nr_base_pages: N"), or null when the kernel has no page_owner stacks. As
 * test/kstress/run.sh does, a stack that reaches a kmmap frame through a new
 * slab, a page table, KASAN's shadow or a vmalloc area's own page array (two
 * __vmalloc_node_range frames) is the kernel's structure, which it may keep
 * or reuse: not counted.
 */
function pagesLeftByKmmap(files) {
  const text = readIfExists(files.pageOwner);
  if (text === null) return null;
  let pages = 0;
  for (const record of text.split(/\n\s*\n/)) {
    const count = /nr_base_pages:\s*(\d+)/.exec(record);
    if (!count) continue;
    let kernelStructure = false;
    let vmallocAreas = 0;
    for (const frame of record.split('\n')) {
      if (backtraceInKmmap(frame)) {
        if (!kernelStructure && vmallocAreas < 2) pages += Number(count[1]);
        break;
      }
      if (/allocate_slab|new_slab|___slab_alloc|pte_alloc|pmd_alloc|pud_alloc|p4d_alloc|pgd_alloc|kasan/.test(frame)) kernelStructure = true;
      else if (/__vmalloc_node_range/.test(frame)) vmallocAreas += 1;
    }
  }
  return pages;
}

/**
 * kmemleak's report after the suite (null if there is none), each object with
 * who allocated it (kmmap or not; see backtraceInKmmap). Also counts what the boot
 * itself leaked, which the guest cleared before the suite.
 */
function kmemleakFindings(files) {
  const text = readIfExists(files.kmemleak);
  if (text === null) return null;
  const objects = text.split(/^(?=unreferenced object)/m).filter((o) => o.startsWith('unreferenced object'));
  const boot = readIfExists(files.kmemleakBoot) ?? '';
  return {
    objects: objects.map((o) => ({ kmmap: backtraceInKmmap(o), text: o.trim() })),
    bootObjects: (boot.match(/^unreferenced object/gm) ?? []).length,
  };
}

/** What makes a line fail, one sentence each. */
function problems(r) {
  const list = [];
  if (!r.counts) list.push(`no test report (vm/run exited with status ${r.status})`);
  else {
    if (r.counts.passed === 0) list.push('no test passed');
    if (r.counts.skipped > 0) list.push(`${r.counts.skipped} tests skipped; kernel tests must run`);
    if (r.status !== 0 && r.counts.failed === 0 && r.failedTests.length === 0) list.push(`the suite exited with status ${r.status}`);
  }
  list.push(...r.failedTests.map((test) => `failed: ${test}`));
  if (r.warnings === null) list.push('no kernel log was collected');
  else list.push(...r.warnings.map((w) => `kernel log: ${w}`));
  if (r.line === DEBUG_LINE) {
    if (r.leaks === null) list.push('no kmemleak report was collected');
    else
      list.push(
        ...r.leaks.objects.map(
          (o) => `kmemleak (${o.kmmap ? 'allocated by kmmap' : 'not allocated by kmmap'}): ${o.text.split('\n').join(' | ')}`,
        ),
      );
    if (r.pages === null) list.push('no page_owner stacks were collected');
    else if (r.pages > 0) list.push(`${r.pages} pages allocated by kmmap are still allocated after rmmod (page_owner)`);
  }
  return list;
}

fs.mkdirSync(results, { recursive: true });
const started = Date.now();
// As npm test does: type-check lib/ and test/, then build dist/ (what the
// tests import) from lib/.
for (const project of ['tsconfig.json', 'tsconfig.build.json']) {
  if (run(process.execPath, [tsc, '-p', project]) !== 0) {
    console.log(`error: tsc -p ${project} failed`);
    process.exit(1);
  }
}
const outcomes = LINES.map(testLine);

// kmemleak: objects leaked during the suite (and, in brackets, during boot,
// which are not the suite's and were cleared before it ran).
const leakCell = (r) => (r.leaks ? `${r.leaks.objects.length} (boot ${r.leaks.bootObjects})` : '-');
// page_owner: pages kmmap allocated and never freed, counted after rmmod.
const pagesCell = (r) => (r.pages === null || r.pages === undefined ? '-' : String(r.pages));
const rows = [
  ['line', 'kernel', 'passed', 'failed', 'skipped', 'dmesg warnings', 'kmemleak', 'pages left', 'time', 'result'],
  ...outcomes.map((r) => [
    r.line,
    r.release,
    String(r.counts?.passed ?? '-'),
    String(r.counts?.failed ?? '-'),
    String(r.counts?.skipped ?? '-'),
    String(r.warnings?.length ?? '-'),
    leakCell(r),
    pagesCell(r),
    `${r.seconds.toFixed(0)} s`,
    problems(r).length === 0 ? 'ok' : 'FAIL',
  ]),
];
const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
console.log('\n== kernels ==');
for (const row of rows) console.log(row.map((cell, i) => cell.padEnd(widths[i])).join('  ').trimEnd());

let failedLines = 0;
for (const r of outcomes) {
  const list = problems(r);
  if (list.length === 0) continue;
  failedLines += 1;
  for (const problem of list) console.log(`error: kernel ${r.line} (${r.release}): ${problem}`);
}
const total = ((Date.now() - started) / 1000).toFixed(0);
console.log(
  failedLines === 0
    ? `all ${LINES.length} kernel lines passed (${total} s)`
    : `${failedLines} of ${LINES.length} kernel lines failed (${total} s)`,
);
process.exit(failedLines === 0 ? 0 : 1);
