// Relying on the garbage collector must not exhaust the process (issue 11,
// class 4). A dropped mapping is released only after a collection and a
// turn of the event loop (Node runs the finalizers then): a synchronous loop
// of dropped mappings once reached vm.max_map_count, after which V8 itself
// could not allocate and aborted, and dropped shared anonymous mappings (one
// memfd each) ran the process out of fds. kmmap now refuses new mappings
// with ERR_KMMAP_TOO_MANY_MAPPINGS well before either limit. Each case runs
// in a child process (no --expose-gc: the collector decides on its own).
import { spawnSync } from 'node:child_process';
import { expect, it } from 'vitest';
import { perTestFiles, REPO, runNode } from '../helpers';

const files = perTestFiles();

const PROBES = `
  const fs = require('node:fs');
  const { map } = require('./dist');
  const maps = () => fs.readFileSync('/proc/self/maps', 'latin1').split('\\n').length - 1;
  const fds = () => fs.readdirSync('/proc/self/fd').length;
  const turn = () => new Promise((resolve) => setTimeout(resolve, 1));
`;

/** Maps until kmmap refuses (or `cap` mappings), all dropped without close() and without yielding. */
const UNTIL_REFUSED = `
  function untilRefused(make, cap) {
    for (let i = 0; i < cap; i++) {
      try {
        make();
      } catch (err) {
        return { made: i, code: err.code, message: err.message };
      }
    }
    return { made: cap };
  }
`;

it('a synchronous loop of dropped file mappings is refused with ERR_KMMAP_TOO_MANY_MAPPINGS before vm.max_map_count, and recovers', () => {
  const file = files.fileOf(Buffer.alloc(4096, 1));
  const result = runNode(`${PROBES}${UNTIL_REFUSED}
    const max = Number(fs.readFileSync('/proc/sys/vm/max_map_count', 'latin1'));
    const before = maps();
    const outcome = untilRefused(() => map(${JSON.stringify(file)}).buffer[0], max + 1000);
    const atRefusal = maps();
    // Further attempts are refused too, and quickly (no /proc/self/maps read each time).
    const t0 = Date.now();
    let refusedAgain = 0;
    for (let i = 0; i < 2000; i++) {
      try { map(${JSON.stringify(file)}); } catch (err) { if (err.code === 'ERR_KMMAP_TOO_MANY_MAPPINGS') refusedAgain++; }
    }
    const refusalMs = Date.now() - t0;
    // The process still works: V8 can allocate, files open.
    const big = new Array(1e6).fill(1).length;
    fs.closeSync(fs.openSync('/dev/null', 'r'));
    (async () => {
      for (let i = 0; i < 200 && maps() > before + 1000; i++) await turn();
      const again = map(${JSON.stringify(file)});
      console.log(JSON.stringify({ max, before, atRefusal, refusedAgain, refusalMs, after: maps(), big, works: again.buffer[0], ...outcome }));
    })();
  `);
  expect(result.signal, result.stderr).toBe(null);
  expect(result.status, result.stderr).toBe(0);
  const out = JSON.parse(result.stdout);
  expect(out.code).toBe('ERR_KMMAP_TOO_MANY_MAPPINGS');
  expect(out.message).toMatch(/close\(\) mappings you no longer need/);
  // Refused with half of vm.max_map_count still free for V8 and the rest.
  expect(out.made).toBeLessThanOrEqual(out.max / 2);
  expect(out.atRefusal).toBeLessThan(out.max * 0.6);
  expect(out.refusedAgain).toBe(2000);
  expect(out.refusalMs).toBeLessThan(5000);
  // Once the event loop turned, the collected mappings were released.
  expect(out.after).toBeLessThan(out.before + 1000);
  expect(out.works).toBe(1);
}, 120_000);

it('a synchronous loop of dropped shared anonymous mappings is refused before the process runs out of fds, and recovers', () => {
  // A low fd limit, as on many systems, makes the memfds the scarce resource.
  const script = `${PROBES}${UNTIL_REFUSED}
    const before = fds();
    const outcome = untilRefused(() => { map.anonymous(4096).buffer[0] = 1; }, 5000);
    const atRefusal = fds();
    // Still fds to spare for the rest of the process.
    const spare = [];
    for (let i = 0; i < 100; i++) spare.push(fs.openSync('/dev/null', 'r'));
    spare.forEach((fd) => fs.closeSync(fd));
    (async () => {
      for (let i = 0; i < 200 && fds() > before + 100; i++) await turn();
      const again = map.anonymous(4096);
      again.buffer[0] = 2;
      console.log(JSON.stringify({ before, atRefusal, after: fds(), works: again.buffer[0], ...outcome }));
    })();
  `;
  const result = spawnSync('sh', ['-c', `ulimit -n 1024 && exec "${process.execPath}" -e "$0"`, script], {
    cwd: REPO, encoding: 'utf8', timeout: 60_000,
  });
  expect(result.signal, result.stderr).toBe(null);
  expect(result.status, result.stderr).toBe(0);
  const out = JSON.parse(result.stdout);
  expect(out.code).toBe('ERR_KMMAP_TOO_MANY_MAPPINGS');
  expect(out.message).toMatch(/memfds/);
  expect(out.made).toBeLessThan(1024);
  expect(out.atRefusal - out.before).toBeLessThanOrEqual(1024 - 256);
  expect(out.after).toBeLessThan(out.before + 100);
  expect(out.works).toBe(2);
}, 60_000);

it('fd count, map count and RSS stay flat over 20,000 mappings, closed or dropped for the collector', () => {
  const file = files.fileOf(Buffer.alloc(4096, 3));
  const result = runNode(`${PROBES}
    const rss = () => process.memoryUsage().rss;
    const file = ${JSON.stringify(file)};
    async function measure(label, make, close) {
      for (let i = 0; i < 20; i++) await turn();
      const base = { maps: maps(), fds: fds(), rss: rss() };
      const peak = { maps: 0, fds: 0, rss: 0 };
      for (let i = 1; i <= 20000; i++) {
        const m = make();
        if (close) m.close();
        if (i % 1000 === 0) {
          await turn(); // the event loop turns, as in any program that does I/O
          const now = { maps: maps(), fds: fds(), rss: rss() };
          for (const k of Object.keys(peak)) peak[k] = Math.max(peak[k], now[k]);
        }
      }
      for (let i = 0; i < 20; i++) await turn();
      const end = { maps: maps(), fds: fds(), rss: rss() };
      return { label, base, peak, end };
    }
    (async () => {
      const runs = [];
      runs.push(await measure('file close', () => { const m = map(file); m.buffer[0]; return m; }, true));
      runs.push(await measure('shared close', () => { const m = map.anonymous(4096); m.buffer[0] = 1; return m; }, true));
      runs.push(await measure('file drop', () => { const m = map(file); m.buffer[0]; return m; }, false));
      runs.push(await measure('shared drop', () => { const m = map.anonymous(4096); m.buffer[0] = 1; return m; }, false));
      console.log(JSON.stringify(runs));
    })();
  `);
  expect(result.signal, result.stderr).toBe(null);
  expect(result.status, result.stderr).toBe(0);
  type Counts = { maps: number; fds: number; rss: number };
  const runs = JSON.parse(result.stdout) as { label: string; base: Counts; peak: Counts; end: Counts }[];
  for (const run of runs) {
    const closed = run.label.endsWith('close');
    // Closed: nothing accumulates. Dropped: at most what was made between two turns of the event loop, and more collections.
    expect(run.peak.maps - run.base.maps, run.label).toBeLessThan(closed ? 100 : 5000);
    expect(run.peak.fds - run.base.fds, run.label).toBeLessThan(closed ? 10 : 5000);
    expect(run.end.maps - run.base.maps, run.label).toBeLessThan(closed ? 100 : 2500);
    expect(run.end.fds - run.base.fds, run.label).toBeLessThan(closed ? 10 : 2500);
    expect(run.end.rss - run.base.rss, run.label).toBeLessThan(64 << 20);
  }
}, 180_000);

it('a synchronous loop of map() and close() past the budget is never refused: closed ranges merge into few memory areas', () => {
  const file = files.fileOf(Buffer.alloc(4096, 4));
  const result = runNode(`${PROBES}
    const max = Number(fs.readFileSync('/proc/sys/vm/max_map_count', 'latin1'));
    const before = maps();
    let peak = 0;
    // More cycles than the budget (half of max_map_count), never yielding:
    // each closed range stays reserved until its buffer is collected.
    const cycles = Math.ceil(max / 2) + 5000;
    for (let i = 0; i < cycles; i++) {
      const m = map(${JSON.stringify(file)});
      m.buffer[0];
      m.close();
      if (i % 5000 === 0) peak = Math.max(peak, maps());
    }
    console.log(JSON.stringify({ cycles, before, peak }));
  `);
  expect(result.signal, result.stderr).toBe(null);
  expect(result.status, result.stderr).toBe(0);
  const out = JSON.parse(result.stdout);
  expect(out.peak - out.before).toBeLessThan(1000);
}, 120_000);
