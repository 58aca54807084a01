// Where things are, for the scripts, the benchmarks and the tests.
'use strict';
const path = require('node:path');

/** The repository's root. */
const REPO = path.resolve(__dirname, '..', '..');

module.exports = { REPO };
