// npm run test:kernels: the whole kernel test project on every kernel line the
// module supports, one VM after another (vm/run --kernel LINE), then a table:
// the exact kernel, tests passed / failed / skipped, and warnings in the
// kernel log after the suite. Exits non-zero if any line has a failed or
// skipped test, a kernel warning, or no report; the lines below the table
// name each failing test and its kernel.
//
//   npm run test:kernels              every line of vm/kernel-lines
//   npm run test:kernels -- 5.10 7.2  only these
//   npm run test:debug-kernel         the debug kernel (vm/debug-kernel.sh):
//                                     6.12 with KASAN, KFENCE, KMEMLEAK, UBSAN,
//                                     lockdep, DEBUG_VM; fails on any report of
//                                     theirs and on any leak kmemleak finds
//   npm run test:debug-kernel -- -- test/kernel/lkmc-mmap.test.ts
//                                     only these test files (vitest filters)
//   npm run test:kernels -- --help    this text and the known lines
import * as fs from 'node:fs';
import * as path from 'node:path';
import { kmemleakObjects, pageOwnerCounts } from './lib/attribution.cjs';
import { kernelLines } from './lib/kernel-lines.cjs';
import { isTrouble } from './lib/kernel-trouble.cjs';
import { REPO as repo } from './lib/paths.cjs';
import { run } from './lib/run.cjs';
import { typecheckAndBuild } from './lib/typescript.cjs';
import { counts, failedTests as failedTestsOf, readReport, vitestArgs } from './lib/vitest-report.cjs';

const ALL_LINES = kernelLines().map((k) => k.line);
/** Built from source with the kernel's checkers; run on its own, not by default. */
const DEBUG_LINE = 'debug';
const args = process.argv.slice(2);
if (args[0] === '--help' || args[0] === '-h') {
  // The comment this file starts with.
  const text = fs.readFileSync(new URL(import.meta.url), 'utf8').split('\n');
  const header = text.slice(0, text.findIndex((l) => !l.startsWith('//')));
  console.log(header.map((l) => l.replace(/^\/\/ ?/, '')).join('\n'));
  console.log(`known lines: ${[...ALL_LINES, DEBUG_LINE].join(', ')}`);
  process.exit(0);
}
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

const results = path.join(repo, '.test-results');

/**
 * On the debug kernel a test gets 180 s before it counts as hung instead of
 * vitest.config.mts's 60 s, and the whole run 3,600 s instead of vm/run's
 * default 1,800 s. Its checkers (KASAN above all) make the suite about three
 * times slower than on a release kernel (1,146 s against 316-467 s, alone on
 * 2 cores), and a busy neighbour on a shared machine slows it down as much
 * again: 1,814 s was seen, killed by the 1,800 s limit, with one test at 75 s.
 */
const DEBUG_TEST_LIMIT = ['--testTimeout=180000'];
const DEBUG_RUN_LIMIT = ['--timeout', '3600'];

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
  const debug = line === DEBUG_LINE;
  const command = [
    'sh', path.join(repo, 'scripts', 'guest', 'kernel-suite.sh'), base, '--',
    process.execPath, ...vitestArgs('kernel', files.report, filters), ...(debug ? DEBUG_TEST_LIMIT : []),
  ];
  console.log(`\n== kernel ${line} ==`);
  const started = Date.now();
  const status = run('bash', [path.join(repo, 'vm', 'run'), '--kernel', line, ...(debug ? DEBUG_RUN_LIMIT : []), '--', ...command]);
  const seconds = (Date.now() - started) / 1000;

  const json = readReport(files.report);
  const failedTests = json ? failedTestsOf(json) : [];
  const dmesg = readIfExists(files.dmesg);
  const warnings = dmesg === null ? null : dmesg.split('\n').filter(isTrouble);
  const leaks = line === DEBUG_LINE ? kmemleakFindings(files) : null;
  const pages = line === DEBUG_LINE ? pagesLeftByKmmap(files) : null;
  return {
    line,
    status,
    seconds,
    release: readIfExists(files.release)?.trim() ?? '?',
    counts: json && counts(json),
    failedTests,
    warnings,
    leaks,
    pages,
  };
}

/**
 * Pages still allocated after the module was unloaded that kmmap itself
 * allocated (page_owner_stacks), or null when the kernel has no page_owner
 * stacks. As test/kstress/run.sh does, pages of the kernel's own structures
 * allocated under kmmap code are not counted (scripts/lib/attribution.cjs).
 * The stacks are read after rmmod, so kmmap's frames are bare addresses:
 * the debug kernel has everything else built in, so any is kmmap's.
 */
function pagesLeftByKmmap(files) {
  const text = readIfExists(files.pageOwner);
  return text === null ? null : pageOwnerCounts(text).data;
}

/**
 * kmemleak's report after the suite (null if there is none), each object with
 * whether kmmap allocated it (as for the pages above). Also counts what the
 * boot itself leaked, which the guest cleared before the suite.
 */
function kmemleakFindings(files) {
  const text = readIfExists(files.kmemleak);
  if (text === null) return null;
  const boot = readIfExists(files.kmemleakBoot) ?? '';
  return {
    objects: kmemleakObjects(text),
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
const tscFailed = typecheckAndBuild();
if (tscFailed) {
  console.log(`error: tsc -p ${tscFailed} failed`);
  process.exit(1);
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
