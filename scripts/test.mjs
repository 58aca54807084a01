// npm test: the host tests, then the kernel tests inside a real kernel:
// directly where kmmap.ko is loaded, otherwise in a VM booted by vm/run.
// Ends with one "N passed, N failed" line for both.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isLoaded } from './lib/module.cjs';
import { REPO as repo } from './lib/paths.cjs';
import { run } from './lib/run.cjs';
import { typecheckAndBuild } from './lib/typescript.cjs';
import { counts as reportCounts, readReport, vitestArgs } from './lib/vitest-report.cjs';

const results = path.join(repo, '.test-results');
const reportOf = (project) => path.join(results, `${project}.json`);

function counts(project) {
  const report = readReport(reportOf(project));
  return report && reportCounts(report);
}

fs.rmSync(results, { recursive: true, force: true });
fs.mkdirSync(results, { recursive: true });

// Type-check lib/ and test/, then rebuild dist/ (what the tests import) so
// that it matches lib/.
const tscFailed = typecheckAndBuild();
if (tscFailed) {
  console.log(`0 passed, 1 failed\nerror: tsc -p ${tscFailed} failed`);
  process.exit(1);
}

console.log('\n== host tests ==');
const hostStatus = run(process.execPath, vitestArgs('host', reportOf('host')));

console.log('\n== kernel tests ==');
const releaseFile = path.join(results, 'kernel-release');
const kernelCommand = ['sh', '-c', 'uname -r > "$0" && exec "$@"', releaseFile, process.execPath, ...vitestArgs('kernel', reportOf('kernel'))];
// with-module.sh decides: here if the module is loaded, otherwise the VM.
const where = isLoaded() ? 'on this host' : 'in a VM';
const kernelStatus = run('bash', [path.join(repo, 'scripts', 'with-module.sh'), ...kernelCommand]);

const host = counts('host');
const kernel = counts('kernel');
const release = fs.existsSync(releaseFile) ? fs.readFileSync(releaseFile, 'utf8').trim() : 'unknown kernel';
const problems = [];
if (!host) problems.push('the host tests produced no report');
if (!kernel) problems.push(`the kernel tests produced no report (status ${kernelStatus})`);
if (kernel && kernel.passed === 0) problems.push('no kernel test passed');
if (kernel && kernel.skipped > 0) problems.push(`${kernel.skipped} kernel tests were skipped; kernel tests must run`);
if (hostStatus !== 0 && !(host && host.failed > 0)) problems.push(`the host test run exited with status ${hostStatus}`);
if (kernelStatus !== 0 && !(kernel && kernel.failed > 0)) problems.push(`the kernel test run exited with status ${kernelStatus}`);

const line = (name, c) => (c ? `${name}: ${c.passed} passed, ${c.failed} failed, ${c.skipped} skipped` : `${name}: no report`);
console.log('\n== summary ==');
console.log(line('host tests', host));
console.log(`${line('kernel tests', kernel)} (${where}, Linux ${release})`);
for (const problem of problems) console.log(`error: ${problem}`);
const passed = (host?.passed ?? 0) + (kernel?.passed ?? 0);
// A run with problems but no failed test still counts as one failure.
const failed = Math.max((host?.failed ?? 0) + (kernel?.failed ?? 0), problems.length > 0 ? 1 : 0);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
