// Terminating a worker while it is inside kmmap (issue 11, class 3): once a
// worker's environment shuts down, Node-API calls fail, and an addon that
// then tries to throw (or aborts when it cannot) takes the whole process
// down. Workers map, touch, resize, close and provoke native errors in a
// loop and are terminated at random moments, hundreds of times; the parent,
// a child process of the test, must survive them all.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { expect, it } from 'vitest';
import { perTestFiles, REPO, runNode } from '../helpers';

const files = perTestFiles();

const WORKER = `
  const { workerData } = require('node:worker_threads');
  const { map } = require(workerData.dist);
  const coded = (fn) => { try { fn(); } catch (err) { if (!err.code) throw err; } };
  for (let i = 1; ; i++) {
    const m = i % 3 === 0 ? map.anonymous(4096 * (1 + (i % 4))) : map(workerData.file, { access: 'rw', length: 4096 });
    m.buffer[i % 4096] = i;
    m.view(0, 16).fill(1);
    if (i % 5 === 0) m.resize(8192, { allowBeyondEnd: true });
    // Errors thrown by the addon itself: mmap, mremap, mlock2, madvise.
    coded(() => map('/dev/null', { length: 4096 }));
    coded(() => m.resize(2 ** 52));
    coded(() => m.lock({}, { offset: 0, length: 1 }));
    coded(() => m.advise('collapse'));
    coded(() => m.protect('bogus'));
    if (i % 2 === 0) m.close();
  }
`;

it('terminating workers at random moments inside kmmap never takes the process down', () => {
  const file = files.fileOf(Buffer.alloc(8192));
  const workers = 240;
  const result = runNode(`
    const { Worker } = require('node:worker_threads');
    const code = ${JSON.stringify(WORKER)};
    const workerData = { dist: ${JSON.stringify(path.join(REPO, 'dist'))}, file: ${JSON.stringify(file)} };
    let started = 0;
    let ended = 0;
    let errors = 0;
    function start() {
      if (started === ${workers}) return;
      started++;
      const worker = new Worker(code, { eval: true, workerData });
      worker.on('error', (err) => { errors++; console.error(err); });
      worker.on('online', () => setTimeout(() => worker.terminate(), Math.random() * 15));
      worker.on('exit', () => {
        if (++ended === ${workers}) console.log('ended', ended, 'errors', errors);
        else start();
      });
    }
    for (let k = 0; k < 4; k++) start();
  `);
  expect(result.signal, result.stderr).toBe(null);
  expect(result.stderr).not.toMatch(/FATAL ERROR/);
  expect(result.status, result.stderr).toBe(0);
  // Every worker ran until terminated: none died of an error of its own.
  expect(result.stdout).toContain(`ended ${workers} errors 0`);
  expect(fs.statSync(file).size).toBe(8192);
}, 120_000);
