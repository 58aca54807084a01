// The addon is context-aware: it loads in worker threads, and mappings made
// there are unmapped when the worker ends.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { map, PAGE_SIZE } from '../../dist/index.js';
import { REPO, tempDir } from '../helpers';

let tmp: ReturnType<typeof tempDir>;
let file: string;
beforeAll(() => {
  tmp = tempDir();
  file = path.join(tmp.dir, 'shared');
  fs.writeFileSync(file, Buffer.alloc(PAGE_SIZE));
});
afterAll(() => tmp.remove());

function runWorker(code: string, workerData: unknown): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(code, { eval: true, workerData });
    let message: unknown;
    worker.on('message', (value) => {
      message = value;
    });
    worker.on('error', reject);
    worker.on('exit', (status) => (status === 0 ? resolve(message) : reject(new Error(`worker exited with ${status}`))));
  });
}

it('maps in a worker thread, sharing memory with the main thread, and unmaps when the worker ends', async () => {
  using mine = map(file, { access: 'rw' });
  const reply = await runWorker(`
    const { parentPort, workerData } = require('node:worker_threads');
    const { map } = require(workerData.dist);
    const m = map(workerData.file, { access: 'rw' });
    m.buffer.write('from the worker');
    parentPort.postMessage(m.address.toString(16));
    // Left open on purpose: the worker's teardown must unmap it.
  `, { dist: path.join(REPO, 'dist'), file });
  expect(mine.buffer.toString('latin1', 0, 15)).toBe('from the worker');
  const maps = fs.readFileSync('/proc/self/maps', 'latin1');
  expect(maps.split('\n').some((line) => line.startsWith(`${reply}-`))).toBe(false);
});
