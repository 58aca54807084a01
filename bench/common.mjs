// Helpers and the cases that the host and the kernel parts share.
import * as fs from 'node:fs';
import * as os from 'node:os';
import { cProgram } from './c.mjs';
import { withCoprocesses } from './coprocess.mjs';
import { kmmap } from './kmmap.mjs';
import { timeRatio, timeRow } from './result.mjs';
import { interleave, timeNs } from './stats.mjs';

/** Bytes in a kibibyte, mebibyte, gibibyte. */
export const KiB = 1024;
/** @see KiB */
export const MiB = 1024 * KiB;
/** @see KiB */
export const GiB = 1024 * MiB;

/** Human size: 4 KiB, 1 MiB, 1 GiB. */
export function formatBytes(bytes) {
  for (const [unit, size] of [['GiB', GiB], ['MiB', MiB], ['KiB', KiB]]) {
    if (bytes >= size && bytes % size === 0) return `${bytes / size} ${unit}`;
  }
  return `${bytes} B`;
}

/** The machine the numbers come from. */
export function machineInfo() {
  const cpuinfo = fs.readFileSync('/proc/cpuinfo', 'utf8');
  const model = /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1] ?? 'unknown';
  return {
    cpus: os.cpus().length,
    cpuModel: model,
    memoryGiB: Math.round(os.totalmem() / GiB),
    node: process.version,
    kernel: os.release(),
    root: process.getuid?.() === 0,
    // Set by vm/run in the guest.
    vm: process.env.KMMAP_VM === '1',
  };
}

/**
 * Reads one byte of every page, as the C counterparts do, and returns
 * their sum: callers keep it, so the optimiser cannot drop the reads.
 */
export function touchPages(buffer) {
  let sum = 0;
  for (let i = 0; i < buffer.length; i += kmmap.PAGE_SIZE) sum += buffer[i];
  return sum;
}

/** Where populate() keeps its sums, so that its reads are never dropped. */
export const populated = { sum: 0 };

/** Touches every page before timing starts, so that no fault is timed. */
export function populate(buffer) {
  populated.sum += touchPages(buffer);
}

/**
 * Case 4: scanning data in place through a mapping vs reading it into a
 * Buffer first. The scan is Buffer#indexOf of a byte the data lacks, which
 * reads every byte at memchr speed: what remains is the cost of the copy.
 * @param {string} id
 * @param {string} title
 * @param {string} where
 * @param {{ bytes: number, rounds: number, warmup: number }} plan
 * @param {{ mapping: import('../dist/index.js').Mapping, fd: number, absent: number, setup: string }} source
 */
export async function zeroCopyCase(id, title, where, plan, source) {
  const { mapping, fd, absent } = source;
  const copy = Buffer.alloc(plan.bytes);
  populate(mapping.buffer);
  const scanMapping = () => {
    if (mapping.buffer.indexOf(absent) !== -1) throw new Error(`${id}: the data holds the byte it must lack`);
  };
  const readAndScan = () => {
    const got = fs.readSync(fd, copy, 0, plan.bytes, 0);
    if (got !== plan.bytes) throw new Error(`${id}: read ${got} of ${plan.bytes} bytes`);
    if (copy.indexOf(absent) !== -1) throw new Error(`${id}: the data holds the byte it must lack`);
  };
  const samples = await interleave(
    [
      { name: 'mapping', run: () => timeNs(scanMapping) },
      { name: 'read', run: () => timeNs(readAndScan) },
    ],
    plan,
  );
  const mappingRow = timeRow('kmmap: scan the mapping in place', samples.get('mapping'));
  const readRow = timeRow('fs.readSync into a Buffer, then scan it', samples.get('read'));
  return caseResult(id, title, where, source, [mappingRow, readRow], [
    timeRatio('zero-copy speed-up (read time / mapping time)', readRow, mappingRow, { op: '>=', value: 2 }),
  ]);
}

/**
 * A case's result as the report prints it.
 * @param {string} id
 * @param {string} title
 * @param {'host' | 'kernel'} where
 * @param {{ setup: string }} source
 * @param {object[]} rows
 * @param {object[]} ratios
 */
function caseResult(id, title, where, source, rows, ratios) {
  return { id, title, where, setup: source.setup, rows, ratios };
}

/**
 * Case 1: Buffer.copy out of a mapping vs C memcpy out of a mapping of the
 * same file or device, made by bench/c/copy.c.
 * @param {string} id
 * @param {string} title
 * @param {'host' | 'kernel'} where
 * @param {{ bytes: number, rounds: number, warmup: number }} plan
 * @param {{ mapping: import('../dist/index.js').Mapping, path: string, setup: string }} source
 */
export async function copyCase(id, title, where, plan, source) {
  const { mapping } = source;
  populate(mapping.buffer);
  const dest = Buffer.alloc(plan.bytes);
  // The control: the same copy between two ordinary Buffers. It tells what
  // the mapping costs (nothing, if the two agree) from what Node's copy
  // costs wherever it runs (under QEMU's emulation, more than memcpy).
  const ordinary = Buffer.from(mapping.buffer.subarray(0, plan.bytes));
  const samples = await withCoprocesses([cProgram('copy', [source.path, String(plan.bytes)])], ([c]) =>
    interleave(
      [
        { name: 'kmmap', run: () => timeNs(() => mapping.buffer.copy(dest, 0, 0, plan.bytes)) },
        { name: 'c', run: () => c.run() },
        { name: 'ordinary', run: () => timeNs(() => ordinary.copy(dest, 0, 0, plan.bytes)) },
      ],
      plan,
    ),
  );
  if (!dest.equals(mapping.buffer.subarray(0, plan.bytes))) throw new Error(`${id}: the copied bytes differ from the mapping`);
  const kmmapRow = timeRow('kmmap: mapping.buffer.copy(buffer)', samples.get('kmmap'));
  const cRow = timeRow('C: memcpy', samples.get('c'));
  const ordinaryRow = timeRow('control: Buffer.copy between two ordinary Buffers', samples.get('ordinary'));
  return caseResult(id, title, where, source, [kmmapRow, cRow, ordinaryRow], [
    timeRatio('kmmap speed relative to C (C time / kmmap time)', cRow, kmmapRow, { op: '>=', value: 0.95 }),
    timeRatio('kmmap speed relative to the control (ordinary Buffer copy)', ordinaryRow, kmmapRow),
  ]);
}
