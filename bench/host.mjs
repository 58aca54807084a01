// The cases that need no kernel module: mappings of tmpfs files, and pagemap.
import { randomFillSync } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { cProgram } from './c.mjs';
import { withCoprocesses } from './coprocess.mjs';
import { kmmap } from './kmmap.mjs';
import { copyCase, formatBytes, GiB, KiB, MiB, populate, zeroCopyCase } from './common.mjs';
import { MMAP_IO_VERSION } from './mmap-io.mjs';
import { BUN_VERSION } from './peers.mjs';
import { REPO } from './paths.mjs';
import { rateRow, timeRatio, timeRow, unavailableRow } from './result.mjs';
import { interleave, timeNs } from './stats.mjs';

const { map, pagemap, PAGE_SIZE } = kmmap;
const TMPFS_MAGIC = 0x01021994;

/** One round, no warm-up: proves a case runs, measures nothing. */
const ONCE = { rounds: 1, warmup: 0 };

/**
 * Sizes and repetitions of each case. `tiny` runs everything once at the
 * smallest sizes, to prove the code works, not to measure.
 */
export const PLANS = {
  full: {
    copy: { bytes: 64 * MiB, rounds: 31, warmup: 3 },
    mapCycle: {
      sizes: [
        { bytes: 4 * KiB, cycles: 2000 },
        { bytes: 1 * MiB, cycles: 100 },
        { bytes: 64 * MiB, cycles: 3 },
      ],
      rounds: 21,
      warmup: 2,
    },
    // The reference method takes about a second a pass; the others get
    // more samples in between.
    pagemap: { bytes: 1 * GiB, rounds: 9, warmup: 1, fastPerRound: 5 },
    zeroCopy: { bytes: 64 * MiB, rounds: 31, warmup: 3 },
    scan: { bytes: 64 * MiB, rounds: 31, warmup: 3 },
  },
  tiny: {
    copy: { bytes: 1 * MiB, ...ONCE },
    mapCycle: { sizes: [4 * KiB, 64 * KiB, 1 * MiB].map((bytes) => ({ bytes, cycles: 2 })), ...ONCE },
    pagemap: { bytes: 4 * MiB, fastPerRound: 1, ...ONCE },
    zeroCopy: { bytes: 1 * MiB, ...ONCE },
    scan: { bytes: 1 * MiB, ...ONCE },
  },
};

/**
 * A directory on tmpfs for the cases' files: /dev/shm, which every Linux
 * system mounts. Memory-backed, so timings measure mapping, not a disk.
 */
function tmpfsDir() {
  const base = '/dev/shm';
  let type;
  try {
    type = Number(fs.statfsSync(base).type);
  } catch (err) {
    throw new Error(`The host cases need a tmpfs at ${base}: ${err.message}`);
  }
  if (type !== TMPFS_MAGIC) throw new Error(`${base} is not a tmpfs (filesystem type 0x${type.toString(16)})`);
  return fs.mkdtempSync(path.join(base, 'kmmap-bench-'));
}

/** Writes `bytes` of pseudo-random data to a new file, 64 MiB at a time. */
function writeDataFile(file, bytes, { avoidByte } = {}) {
  const chunk = Buffer.allocUnsafe(Math.min(bytes, 64 * MiB));
  randomFillSync(chunk);
  if (avoidByte !== undefined) {
    for (let i = 0; i < chunk.length; i++) if (chunk[i] === avoidByte) chunk[i] = 0;
  }
  const fd = fs.openSync(file, 'w');
  try {
    for (let done = 0; done < bytes; done += chunk.length) {
      fs.writeSync(fd, chunk, 0, Math.min(chunk.length, bytes - done), done);
    }
  } finally {
    fs.closeSync(fd);
  }
}

/** Case 1 on the host: a tmpfs file. */
async function hostCopyCase(dir, plan) {
  const file = path.join(dir, 'copy');
  writeDataFile(file, plan.bytes);
  const mapping = map(file);
  try {
    return await copyCase('copy', `Copy ${formatBytes(plan.bytes)} out of a mapping of a tmpfs file`, 'host', plan, {
      mapping,
      path: file,
      setup: 'Both map the same populated /dev/shm file (MAP_SHARED, read-only) and copy all of it into private, already touched memory. Time per copy.',
    });
  } finally {
    mapping.close();
  }
}

/**
 * Case 2: map, touch every page, unmap, per size: kmmap (by fd and by path)
 * vs C, mmap-io, Python's mmap (by fd and by path) and Bun.mmap (by path).
 */
async function mapCycleCase(dir, plan, { mmapIo, python, bun }) {
  const largest = Math.max(...plan.sizes.map((s) => s.bytes));
  const file = path.join(dir, 'map-cycle');
  writeDataFile(file, largest);
  const script = path.join(REPO, 'bench', 'map-cycle-js.mjs');
  const pythonScript = path.join(REPO, 'bench', 'peers', 'map_cycle.py');
  const bunScript = path.join(REPO, 'bench', 'peers', 'map-cycle-bun.mjs');
  const rows = [];
  const ratios = [];
  for (const { bytes, cycles } of plan.sizes) {
    const size = formatBytes(bytes);
    const args = [file, String(bytes), String(cycles)];
    const js = (library, ...extra) => ({
      label: `bench/map-cycle-js.mjs ${library}`,
      command: process.execPath,
      args: [script, library, ...args, ...extra],
    });
    const py = (mode) => ({ label: `bench/peers/map_cycle.py ${mode}`, command: python.command, args: [pythonScript, mode, ...args] });
    /** @type {[string, import('./coprocess.mjs').CoprocessSpec | undefined][]} */
    const contenders = [
      ['kmmap', js('kmmap')],
      ['kmmap-path', js('kmmap-path')],
      ['c', cProgram('map_cycle', args)],
      ['mmap-io', mmapIo.module ? js('mmap-io', mmapIo.prefix) : undefined],
      ['python', python.command ? py('fd') : undefined],
      ['python-path', python.command ? py('path') : undefined],
      ['bun', bun.command ? { label: 'bench/peers/map-cycle-bun.mjs', command: bun.command, args: [bunScript, ...args] } : undefined],
    ];
    const running = contenders.filter(([, spec]) => spec !== undefined);
    const samples = await withCoprocesses(running.map(([, spec]) => spec), (programs) =>
      interleave(programs.map((program, i) => ({ name: running[i][0], run: () => program.run() })), plan),
    );
    // An unavailable peer's row is named without the method: "4 KiB: Bun 1.4".
    const row = (name, label, peer, peerName) =>
      samples.has(name)
        ? rateRow(`${size}: ${label}`, samples.get(name), cycles, 'cycles/s')
        : unavailableRow(`${size}: ${peerName}`, 'cycles/s', peer.reason);
    const kmmapRow = row('kmmap', 'kmmap map(fd), close()');
    const kmmapPathRow = row('kmmap-path', 'kmmap map(path), close()');
    const cRow = row('c', 'C mmap, munmap');
    const mmapIoRow = row('mmap-io', `mmap-io ${MMAP_IO_VERSION} map(fd), GC`, mmapIo, `mmap-io ${MMAP_IO_VERSION}`);
    const pythonRow = row('python', `Python ${python.version} mmap.mmap(fd), close()`, python, 'Python mmap(fd)');
    const pythonPathRow = row('python-path', `Python ${python.version} open, mmap.mmap, close fd, close()`, python, 'Python mmap(path)');
    const bunRow = row('bun', `Bun ${bun.version} Bun.mmap(path), GC`, bun, `Bun ${BUN_VERSION}`);
    rows.push(kmmapRow, kmmapPathRow, cRow, mmapIoRow, pythonRow, pythonPathRow, bunRow);
    ratios.push(
      timeRatio(`${size}: kmmap time / C time`, kmmapRow, cRow, { op: '<=', value: 1.3 }),
      timeRatio(`${size}: mmap-io time / kmmap time`, mmapIoRow, kmmapRow, { op: '>', value: 1 }),
      timeRatio(`${size}: kmmap map(fd) time / Python mmap(fd) time`, kmmapRow, pythonRow, { op: '<=', value: 1 }),
      timeRatio(`${size}: kmmap map(path) time / Python open+mmap time`, kmmapPathRow, pythonPathRow, { op: '<=', value: 1 }),
      timeRatio(`${size}: kmmap map(path) time / Bun.mmap(path) time`, kmmapPathRow, bunRow, { op: '<=', value: 1 }),
    );
  }
  return {
    id: 'map-cycle',
    title: 'Map, touch every page, unmap a tmpfs file',
    where: 'host',
    setup:
      'Each cycle maps LENGTH bytes of a /dev/shm file (MAP_SHARED, read-only), reads one byte per page and unmaps. "fd": one fd opened at ' +
      'set-up; "path": each cycle opens the file, maps it, closes the fd. Each contender runs in its own process, in turn. mmap-io and ' +
      'Bun.mmap cannot unmap: their mappings go when the garbage collector frees their buffers, so each of their repetitions ends with ' +
      'full collections and lasts until /proc/self/maps shows them gone (mmap-io: all but the last, which goes in the next repetition).',
    rows,
    ratios,
  };
}

/** Case 5: read one byte per cache line of a populated mapping: kmmap vs Bun.mmap, the same loop. */
async function scanCase(dir, plan, { python, bun }) {
  const file = path.join(dir, 'scan');
  writeDataFile(file, plan.bytes);
  const script = path.join(REPO, 'bench', 'scan-js.mjs');
  const specs = [
    { label: 'bench/scan-js.mjs kmmap', command: process.execPath, args: [script, 'kmmap', file] },
    ...(bun.command ? [{ label: 'bench/scan-js.mjs bun', command: bun.command, args: [script, 'bun', file] }] : []),
  ];
  const samples = await withCoprocesses(specs, ([kmmapProgram, bunProgram]) =>
    interleave(
      [
        { name: 'kmmap', run: () => kmmapProgram.run() },
        ...(bunProgram ? [{ name: 'bun', run: () => bunProgram.run() }] : []),
      ],
      plan,
    ),
  );
  const kmmapRow = timeRow('kmmap map(path), Node', samples.get('kmmap'));
  const bunRow = samples.has('bun')
    ? timeRow(`Bun ${bun.version} Bun.mmap(path)`, samples.get('bun'))
    : unavailableRow(`Bun ${BUN_VERSION}`, 'ms', bun.reason);
  const pythonRow = unavailableRow(python.version ? `Python ${python.version} mmap` : 'Python mmap', 'ms',
    'not comparable: a Python loop over a million bytes measures the interpreter, and a slice or sum() copies or converts instead of reading in place');
  return {
    id: 'scan',
    title: `Scan ${formatBytes(plan.bytes)} of a mapping, one byte per 64`,
    where: 'host',
    setup:
      'Each process maps the same /dev/shm file once and touches every page; each repetition reads one byte of every 64 (a cache line) ' +
      'with the same JavaScript loop, under Node for kmmap and under Bun for Bun.mmap. Time per scan.',
    rows: [kmmapRow, bunRow, pythonRow],
    ratios: [timeRatio('kmmap scan time / Bun.mmap scan time', kmmapRow, bunRow, { op: '<=', value: 1 })],
  };
}

/** Case 3: pagemap entries of every page of a populated mapping. */
async function pagemapCase(dir, plan) {
  const pages = plan.bytes / PAGE_SIZE;
  const file = path.join(dir, 'pagemap');
  writeDataFile(file, plan.bytes);
  const mapping = map(file);
  let samples;
  let pfnsVisible;
  try {
    populate(mapping.buffer);
    const check = pagemap.read(mapping.address, pages);
    const missing = check.findIndex((raw) => raw >> 63n === 0n);
    if (missing !== -1) throw new Error(`pagemap: page ${missing} of the populated mapping is not present`);
    pfnsVisible = check.every((raw) => (raw & ((1n << 55n) - 1n)) !== 0n);

    // C reuses one array for the entries; so does readInto().
    const entries = new BigUint64Array(pages);
    const args = [file, String(plan.bytes)];
    samples = await withCoprocesses([cProgram('pagemap', ['reference', ...args]), cProgram('pagemap', ['batched', ...args])], ([reference, batched]) =>
      interleave(
        [
          { name: 'readInto', run: () => timeNs(() => pagemap.readInto(mapping.address, entries)), perRound: plan.fastPerRound },
          { name: 'read', run: () => timeNs(() => pagemap.read(mapping.address, pages)), perRound: plan.fastPerRound },
          { name: 'reference', run: () => reference.run() },
          { name: 'batched', run: () => batched.run(), perRound: plan.fastPerRound },
        ],
        plan,
      ),
    );
  } finally {
    mapping.close();
  }
  const kmmapRow = timeRow('kmmap: pagemap.readInto(), one array reused', samples.get('readInto'));
  const readRow = timeRow('kmmap: pagemap.read(), a new array each time', samples.get('read'));
  const referenceRow = timeRow('C, reference method: open, pread 8 bytes, close per page', samples.get('reference'));
  const batchedRow = timeRow('C: pread of 65,536 entries at a time, one array reused', samples.get('batched'));
  return {
    id: 'pagemap',
    title: `Pagemap entries of every page of a populated ${formatBytes(plan.bytes)} mapping (${pages.toLocaleString('en')} pages)`,
    where: 'host',
    setup:
      `Each process maps the same /dev/shm file and touches every page, then reads /proc/self/pagemap for all of them. ` +
      `PFNs ${pfnsVisible ? 'were visible (run as root)' : 'were hidden (not root): entries read, PFNs 0'}. Time per pass over all pages.`,
    pfnsVisible,
    rows: [kmmapRow, readRow, referenceRow, batchedRow],
    ratios: [
      timeRatio('readInto() speed relative to the reference method', referenceRow, kmmapRow, { op: '>=', value: 100 }),
      timeRatio('readInto() speed relative to C batched pread', batchedRow, kmmapRow, { op: '>=', value: 0.9 }),
      timeRatio('read() speed relative to the reference method', referenceRow, readRow),
      timeRatio('read() speed relative to C batched pread', batchedRow, readRow),
    ],
  };
}

async function hostZeroCopyCase(dir, plan) {
  const file = path.join(dir, 'zero-copy');
  const absent = 0xff;
  writeDataFile(file, plan.bytes, { avoidByte: absent });
  const mapping = map(file);
  const fd = fs.openSync(file, 'r');
  try {
    return await zeroCopyCase('zero-copy', `Scan ${formatBytes(plan.bytes)} of a tmpfs file: through a mapping vs read into a Buffer`, 'host', plan, {
      mapping,
      fd,
      absent,
      setup:
        'A /dev/shm file, mapped once and populated. Each repetition scans it with Buffer#indexOf for a byte it lacks (every byte read): ' +
        'in place through the mapping, or after fs.readSync of all of it into a preallocated Buffer.',
    });
  } finally {
    fs.closeSync(fd);
    mapping.close();
  }
}

/**
 * Runs the host cases in order, each on its own files, and returns their
 * results. The files are removed at the end, also on failure.
 * @param {{ tiny: boolean, mmapIo: import('./mmap-io.mjs').MmapIoResult, only?: Set<string>, log: (line: string) => void }} options
 * @returns {Promise<import('./result.mjs').CaseResult[]>}
 */
export async function runHostCases({ tiny, mmapIo, python, bun, only, log }) {
  const plan = tiny ? PLANS.tiny : PLANS.full;
  const dir = tmpfsDir();
  const results = [];
  try {
    const steps = [
      ['copy', () => hostCopyCase(dir, plan.copy)],
      ['map-cycle', () => mapCycleCase(dir, plan.mapCycle, { mmapIo, python, bun })],
      ['pagemap', () => pagemapCase(dir, plan.pagemap)],
      ['zero-copy', () => hostZeroCopyCase(dir, plan.zeroCopy)],
      ['scan', () => scanCase(dir, plan.scan, { python, bun })],
    ];
    for (const [id, step] of steps) {
      if (only && !only.has(id)) continue;
      log(`host: ${id} ...`);
      const started = Date.now();
      results.push(await step());
      log(`host: ${id} done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      // Each case's files go before the next, to hold at most one case's memory.
      for (const name of fs.readdirSync(dir)) fs.rmSync(path.join(dir, name));
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return results;
}
