// The kernel lines kmmap is built and tested on, from the one list of them,
// vm/kernel-lines. scripts/lib/common.sh reads it the same way for bash.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { REPO } = require('./paths.cjs');

/** The data file: comment lines, then one "LINE RELEASE" row per line. */
const KERNEL_LINES_FILE = path.join(REPO, 'vm', 'kernel-lines');

/**
 * The kernel lines, oldest first, each with the Debian release that ships it.
 * @returns {{ line: string, release: string }[]}
 */
function kernelLines() {
  return fs
    .readFileSync(KERNEL_LINES_FILE, 'utf8')
    .split('\n')
    .filter((row) => row.trim() !== '' && !row.startsWith('#'))
    .map((row) => {
      const [line, release] = row.trim().split(/\s+/);
      if (!line || !release) throw new Error(`${KERNEL_LINES_FILE}: a row is "LINE RELEASE", not "${row}"`);
      return { line, release };
    });
}

module.exports = { KERNEL_LINES_FILE, kernelLines };
