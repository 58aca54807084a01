// Running a command from a script, a benchmark or a test: run() for a step
// whose output goes straight to the terminal, capture() for one whose output
// the caller reads. Neither goes through a shell.
'use strict';
const { spawnSync } = require('node:child_process');
const { REPO } = require('./paths.cjs');

/**
 * Runs `command` with its output on this process's terminal, from the
 * repository's root unless `cwd` says otherwise; returns its exit status (1
 * when a signal ended it). Throws when it cannot be started at all.
 * @param {string} command
 * @param {string[]} args
 * @param {{ cwd?: string }} [options]
 * @returns {number}
 */
function run(command, args, options = {}) {
  const result = spawnSync(command, args, { cwd: options.cwd ?? REPO, stdio: 'inherit' });
  if (result.error) throw result.error;
  return result.status ?? 1;
}

/**
 * Runs `command` and returns its exit status (null when a signal or the
 * timeout, default 60 s, ended it) and its output as text. Throws when it
 * cannot be started at all.
 * @param {string} command
 * @param {string[]} args
 * @param {{ cwd?: string, timeout?: number, input?: string }} [options]
 * @returns {{ status: number | null, stdout: string, stderr: string }}
 */
function capture(command, args, options = {}) {
  const result = spawnSync(command, args, {
    cwd: options.cwd,
    input: options.input,
    encoding: 'utf8',
    timeout: options.timeout ?? 60_000,
  });
  if (result.error) throw result.error;
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

module.exports = { run, capture };
