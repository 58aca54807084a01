// A worker thread kept busy inside kmmap until the main thread terminates it
// at a random moment: map/close loops, calls that throw, random programs.
// Only the process's survival is judged (a dying environment must not abort it).
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { parentPort, workerData } from 'node:worker_threads';

const require = createRequire(import.meta.url);
const k = require(path.join(workerData.repo, 'dist', 'index.js'));
const counter = workerData.counter;
const file = workerData.file;

let shared;
try {
  if (workerData.descriptor) shared = k.map.fromDescriptor(workerData.descriptor);
} catch {
  shared = undefined;
}

function quietly(fn) {
  try {
    return fn();
  } catch {
    return undefined;
  }
}

const busy = {
  map() {
    quietly(() => k.map.anonymous(4096).close());
    quietly(() => k.map(file, { access: 'rw' }).close());
    quietly(() => k.map(file, { length: 4096, offset: 4096 }).buffer[0]);
    if (workerData.descriptor) quietly(() => k.map.fromDescriptor(workerData.descriptor).close());
  },
  errors() {
    quietly(() => k.map(-1));
    quietly(() => k.map(file, { length: -1 }));
    quietly(() => k.map.anonymous(0));
    quietly(() => k.pagemap.entry(-1n));
    quietly(() => k.pagemap.scan(2n ** 64n - 4096n, 1));
    quietly(() => shared?.view(-1));
    quietly(() => shared?.resize(2 ** 60));
    quietly(() => shared?.advise('bogus'));
    quietly(() => k.map.fromDescriptor({}));
    quietly(() => k.addressOf(1));
  },
  calls() {
    const m = quietly(() => k.map.anonymous(8192, { shared: true }));
    if (!m) return;
    quietly(() => m.advise('willneed'));
    quietly(() => m.lock());
    quietly(() => m.residency());
    quietly(() => m.sync());
    quietly(() => k.pagemap.entry(m.address));
    quietly(() => m.resize(16384));
    quietly(() => m.descriptor());
    quietly(() => m.protect('r'));
    quietly(() => m.close());
  },
};
busy.mixed = () => {
  busy.map();
  busy.errors();
  busy.calls();
};

const run = busy[workerData.busy] ?? busy.mixed;
run();
// The main thread starts its random delay only now, so that termination lands inside kmmap calls, not in require().
parentPort.postMessage('ready');
for (;;) {
  run();
  Atomics.add(counter, 0, 1);
}
