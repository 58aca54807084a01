// A contender that runs in its own process: the C counterparts, and
// JavaScript contenders that must not share a heap (and its garbage
// collector) with kmmap's. Set-up (mapping and populating memory) happens
// once, while the timed runs interleave with the other contenders'.
//
// Protocol: the program sets up from its arguments and prints "ready"; then
// for each "run" line on stdin it does one timed repetition and prints
// "<nanoseconds> <check>" (measured inside, so process start-up is not
// counted); it exits 0 at end of input. Errors go to stderr, non-zero exit.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

/** A running contender: call run() for each timed repetition, then close(). */
export class Coprocess {
  #child;
  #lines;
  #stderr = '';
  #exit;
  #label;

  /**
   * @param {string} label names the program in errors
   * @param {string} command
   * @param {string[]} args its set-up arguments
   */
  constructor(label, command, args) {
    this.#label = label;
    this.#child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    this.#child.stderr.setEncoding('utf8');
    this.#child.stderr.on('data', (chunk) => {
      this.#stderr += chunk;
    });
    this.#exit = new Promise((resolve) => {
      this.#child.on('close', (code, signal) => resolve({ code, signal }));
      this.#child.on('error', (error) => resolve({ code: null, signal: null, error }));
    });
    // A program that died makes writes to it fail (EPIPE); #line() reports
    // why it died, which says more.
    this.#child.stdin.on('error', () => {});
    this.#lines = createInterface({ input: this.#child.stdout })[Symbol.asyncIterator]();
  }

  async #line() {
    const next = await this.#lines.next();
    if (!next.done) return next.value;
    const { code, signal, error } = await this.#exit;
    const why = error ? error.message : signal ? `killed by ${signal}` : `exit status ${code}`;
    throw new Error(`${this.#label} stopped (${why}): ${this.#stderr.trim() || 'no message'}`);
  }

  /** Waits until the program has set up. */
  async ready() {
    const line = await this.#line();
    if (line !== 'ready') throw new Error(`${this.#label}: expected "ready", got ${JSON.stringify(line)}`);
  }

  /** One timed repetition; resolves to its duration in ns. */
  async run() {
    this.#child.stdin.write('run\n');
    const line = await this.#line();
    const ns = Number(line.split(' ')[0]);
    if (!Number.isFinite(ns)) throw new Error(`${this.#label}: expected a duration, got ${JSON.stringify(line)}`);
    return ns;
  }

  /** Ends the program (end of input) and waits for it. */
  async close() {
    this.#child.stdin.end();
    const { code, signal } = await this.#exit;
    if (code !== 0) throw new Error(`${this.#label} exited with ${signal ?? code}: ${this.#stderr.trim()}`);
  }

  /** Kills the program without waiting (on an error elsewhere). */
  kill() {
    this.#child.kill();
  }
}

/**
 * @typedef {object} CoprocessSpec
 * @property {string} label names the program in errors
 * @property {string} command
 * @property {string[]} args
 */

/**
 * Starts coprocesses, waits until all have set up, and gives them to `use`
 * in the same order; always ends them all.
 * @template T
 * @param {CoprocessSpec[]} specs
 * @param {(programs: Coprocess[]) => Promise<T>} use
 * @returns {Promise<T>}
 */
export async function withCoprocesses(specs, use) {
  const programs = [];
  try {
    // One at a time: their set-ups populate memory, which is faster alone.
    for (const spec of specs) {
      const program = new Coprocess(spec.label, spec.command, spec.args);
      programs.push(program);
      await program.ready();
    }
    const result = await use(programs);
    for (const program of programs) await program.close();
    return result;
  } catch (err) {
    for (const program of programs) program.kill();
    throw err;
  }
}
