// One batch, in a child process of the runner: node --expose-gc child.mjs <job>.
// Reports on stdout, one line each, written synchronously so that the
// parent knows where a crash happened:
//   P <seed>          a program starts
//   C <i> <label>     its command i starts
//   T <json line>     a line of the program's source (when asked for)
//   R <json>          a program's result
//   L <json>          a leak phase's figures
//   D <json>          the batch is done
//   E <dir>           its temporary directory (the parent removes it if the child dies)
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { Env } from './env.mjs';
import { Executor } from './executor.mjs';
import { runLeak } from './leak.mjs';
import { decode } from './values.mjs';

const job = decode(fs.readFileSync(process.argv[2], 'utf8'));
const require = createRequire(import.meta.url);
const kmmap = require(path.join(job.repo, 'dist', 'index.js'));

function out(line) {
  const data = Buffer.from(`${line}\n`);
  let done = 0;
  while (done < data.length) {
    try {
      done += fs.writeSync(1, data, done);
    } catch (err) {
      if (err.code !== 'EAGAIN') throw err;
    }
  }
}

// An exception that escapes a callback (e.g. a finalizer) is a finding too.
process.on('uncaughtException', (err) => {
  out(`R ${JSON.stringify({ seed: null, violation: { kind: 'uncaught', where: 'process', detail: String(err?.stack ?? err).slice(0, 500) } })}`);
  process.exit(3);
});

if (job.mode === 'leak') {
  const dir = fs.mkdtempSync('/tmp/kmmap-fuzz-leak-');
  out(`E ${dir}`);
  try {
    const r = await runLeak(kmmap, dir, job.count, out);
    out(`D ${JSON.stringify(r)}`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
} else {
  const env = new Env();
  out(`E ${env.dir}`);
  let calls = 0;
  for (const { seed, program } of job.programs) {
    out(`P ${seed}`);
    env.reset();
    const executor = new Executor(kmmap, env, {
      repo: job.repo,
      cliTimeout: job.cliTimeout,
      onCommand: (i, label) => out(`C ${i} ${label}`),
      onTrace: job.trace ? (line) => out(`T ${JSON.stringify(line)}`) : undefined,
    });
    const started = performance.now();
    const r = await executor.run(program);
    calls += r.calls;
    out(`R ${JSON.stringify({ seed, calls: r.calls, workerCalls: r.workerCalls, checks: r.checks, violation: r.violation, ms: performance.now() - started })}`);
  }
  env.remove();
  out(`D ${JSON.stringify({ calls })}`);
}
// Workers, timers or a stuck async operation must not keep the batch alive.
process.exit(0);
