// npm run test:kernels: the whole kernel test project on every kernel line the
// module supports, one VM after another (vm/run --kernel LINE), then a table:
// the exact kernel, tests passed / failed / skipped, and warnings in the
// kernel log after the suite. Exits non-zero if any line has a failed or
// skipped test, a kernel warning, or no report; the lines below the table
// name each failing test and its kernel.
//
//   npm run test:kernels              all four lines
//   npm run test:kernels -- 5.10 7.2  only these
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const ALL_LINES = ['5.10', '6.1', '6.12', '7.2'];
const unknown = process.argv.slice(2).filter((line) => !ALL_LINES.includes(line));
if (unknown.length > 0) {
  console.error(`unknown kernel line: ${unknown.join(', ')} (known: ${ALL_LINES.join(', ')})`);
  process.exit(2);
}
const LINES = process.argv.length > 2 ? process.argv.slice(2) : ALL_LINES;

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const results = path.join(repo, '.test-results');
const vitest = path.join(repo, 'node_modules', 'vitest', 'vitest.mjs');
const tsc = path.join(repo, 'node_modules', 'typescript', 'bin', 'tsc');

/**
 * Kernel log lines that mean trouble, plus the kinds of trouble
 * test/kernel/module.ts's KERNEL_TROUBLE also watches for. Case matters: the
 * boot log says "report a bug" and "loops" harmlessly.
 */
const TROUBLE = /WARNING|BUG|Oops|Call Trace|general protection|UBSAN|KASAN|Bad page|kmmap.*([Ww]arn|[Ee]rror|WARN|ERROR)/;
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
  const files = { report: `${base}.json`, release: `${base}.release`, dmesg: `${base}.dmesg` };
  // In the guest: note the kernel, run the suite, then save the kernel log
  // whatever the suite's outcome, and exit with the suite's status.
  const script = 'r=$1 d=$2; shift 2; uname -r >"$r"; "$@"; s=$?; dmesg >"$d"; exit $s';
  const command = [
    'sh', '-c', script, 'sh', files.release, files.dmesg,
    process.execPath, vitest, 'run', '--project', 'kernel',
    '--reporter=default', '--reporter=json', `--outputFile.json=${files.report}`,
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
  return {
    line,
    status,
    seconds,
    release: readIfExists(files.release)?.trim() ?? '?',
    counts: json && { passed: json.numPassedTests, failed: json.numFailedTests, skipped: json.numPendingTests + json.numTodoTests },
    failedTests,
    warnings,
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

const rows = [
  ['line', 'kernel', 'passed', 'failed', 'skipped', 'dmesg warnings', 'time', 'result'],
  ...outcomes.map((r) => [
    r.line,
    r.release,
    String(r.counts?.passed ?? '-'),
    String(r.counts?.failed ?? '-'),
    String(r.counts?.skipped ?? '-'),
    String(r.warnings?.length ?? '-'),
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
