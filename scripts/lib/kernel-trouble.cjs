// Which kernel log lines mean trouble: the patterns of kernel-trouble.ere,
// less the expected lines of kernel-expected.ere. scripts/lib/common.sh
// reads the same two files for bash.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

/**
 * One RegExp for the patterns of a .ere file here: its lines that are
 * neither empty nor comments, as alternatives.
 * @param {string} name
 */
function patternFile(name) {
  const lines = fs
    .readFileSync(path.join(__dirname, name), 'utf8')
    .split('\n')
    .filter((line) => line !== '' && !line.startsWith('#'));
  return new RegExp(lines.map((line) => `(${line})`).join('|'));
}

/** A kernel log line that means something went wrong in the kernel. */
const KERNEL_TROUBLE = patternFile('kernel-trouble.ere');
/** A line that KERNEL_TROUBLE may match but that is expected. */
const KERNEL_EXPECTED = patternFile('kernel-expected.ere');

/**
 * Whether a kernel log line means trouble.
 * @param {string} line
 */
function isTrouble(line) {
  return KERNEL_TROUBLE.test(line) && !KERNEL_EXPECTED.test(line);
}

/**
 * The lines of `lines` that mean trouble.
 * @param {string[]} lines
 */
function troubleLines(lines) {
  return lines.filter(isTrouble);
}

module.exports = { KERNEL_TROUBLE, KERNEL_EXPECTED, isTrouble, troubleLines };
