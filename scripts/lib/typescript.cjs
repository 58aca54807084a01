// What every test run does first: type-check lib/ and test/
// (tsconfig.json), then build dist/, what the tests import, from lib/
// (tsconfig.build.json), with the compiler's output on the terminal.
'use strict';
const path = require('node:path');
const { REPO } = require('./paths.cjs');
const { run } = require('./run.cjs');

const TSC = path.join(REPO, 'node_modules', 'typescript', 'bin', 'tsc');

/**
 * Type-checks, then builds dist/; stops at the first project that fails.
 * @returns {string | null} the tsconfig file that failed, or null
 */
function typecheckAndBuild() {
  for (const project of ['tsconfig.json', 'tsconfig.build.json']) {
    if (run(process.execPath, [TSC, '-p', project]) !== 0) return project;
  }
  return null;
}

module.exports = { typecheckAndBuild };
