// Running a vitest project with a JSON report beside the usual output, and
// counting the report: the counts a run ends with, and the tests that failed.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { REPO } = require('./paths.cjs');

/**
 * @typedef {{ name: string, status: string, message: string,
 *   assertionResults: { status: string, fullName: string }[] }} FileResult
 * @typedef {{ numPassedTests: number, numFailedTests: number,
 *   numPendingTests: number, numTodoTests: number, testResults: FileResult[] }} Report
 */

const VITEST = path.join(REPO, 'node_modules', 'vitest', 'vitest.mjs');

/**
 * Node's arguments for `vitest run` of `project`, the usual output on the
 * terminal and the JSON report into `file`; `filters` narrow it to some files.
 * @param {string} project
 * @param {string} file
 * @param {string[]} [filters]
 */
function vitestArgs(project, file, filters = []) {
  return [VITEST, 'run', '--project', project, '--reporter=default', '--reporter=json', `--outputFile.json=${file}`, ...filters];
}

/**
 * The report in `file`, or null when there is none.
 * @param {string} file
 * @returns {Report | null}
 */
function readReport(file) {
  return fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, 'utf8')) : null;
}

/**
 * Tests passed, failed and skipped (skipped and todo together).
 * @param {Report} report
 */
function counts(report) {
  return {
    passed: report.numPassedTests,
    failed: report.numFailedTests,
    skipped: report.numPendingTests + report.numTodoTests,
  };
}

/**
 * Each failed test as "file > full name", and each file that failed to load
 * (it has no test results, only a message) as "file: first line".
 * @param {Report} report
 */
function failedTests(report) {
  return report.testResults.flatMap((file) => {
    const name = path.relative(REPO, file.name);
    const failed = file.assertionResults.filter((test) => test.status === 'failed').map((test) => `${name} > ${test.fullName}`);
    if (file.status === 'failed' && file.assertionResults.length === 0) failed.push(`${name}: ${file.message.split('\n')[0]}`);
    return failed;
  });
}

module.exports = { vitestArgs, readReport, counts, failedTests };
