// The kernel cases, on /dev/kmmap. Runs where kmmap.ko can be (re)loaded, as
// root: inside the VM (bench/index.mjs starts it there), or on a host where
// the module is loaded. It reloads the module with the sizes it needs and
// gives it back its parameters at the end.
//
// node bench/kernel.mjs [--tiny] [--only IDS] --json PATH
import * as fs from 'node:fs';
import { parseArgs } from 'node:util';
import { copyCase, formatBytes, machineInfo, MiB, touchPages, zeroCopyCase } from './common.mjs';
import { kmmap } from './kmmap.mjs';
import { currentParameters, reload } from './module.mjs';
import { meets, timeRatio, timeRow } from './result.mjs';
import { interleave, summarize } from './stats.mjs';

const { KmmapDevice, KMMAP_DEVICE_PATH } = kmmap;

/** Sizes and repetitions; `tiny` proves the code runs, nothing more. */
export const KERNEL_PLANS = {
  full: {
    bufferBytes: 256 * MiB,
    copy: { bytes: 64 * MiB, rounds: 21, warmup: 2 },
    zeroCopy: { bytes: 64 * MiB, rounds: 21, warmup: 2 },
    methods: { rounds: 11, warmup: 1 },
  },
  tiny: {
    bufferBytes: 1 * MiB,
    copy: { bytes: 1 * MiB, rounds: 1, warmup: 0 },
    zeroCopy: { bytes: 1 * MiB, rounds: 1, warmup: 0 },
    methods: { rounds: 1, warmup: 0 },
  },
};

/** Case 1 on the device: Buffer.copy out of a mapping of the kernel's buffer vs C memcpy. */
async function deviceCopyCase(plan) {
  const device = KmmapDevice.open({ method: 'pages' });
  try {
    device.fill(0x0807060504030201n, { addOffset: true });
    const mapping = device.map({ length: plan.bytes, access: 'r' });
    try {
      return await copyCase('copy-kmmap', `Copy ${formatBytes(plan.bytes)} out of a mapping of /dev/kmmap's buffer`, 'kernel', plan, {
        mapping,
        path: KMMAP_DEVICE_PATH,
        setup:
          `The first ${formatBytes(plan.bytes)} of the module's buffer (backing=contig), mapped populated by each side (kmmap with method pages, ` +
          'C with MAP_POPULATE and the default method) and copied into private, already touched memory. Time per copy.',
      });
    } finally {
      mapping.close();
    }
  } finally {
    device.close();
  }
}

/** Case 4 on the device: scanning the kernel's buffer in place vs read(2) of it. */
async function deviceZeroCopyCase(plan) {
  const absent = 0xff;
  const device = KmmapDevice.open({ method: 'pages' });
  try {
    // Eight distinct bytes, none of them the one the scan looks for.
    device.fill(0x0807060504030201n);
    const mapping = device.map({ length: plan.bytes, access: 'r' });
    try {
      return await zeroCopyCase('zero-copy-kmmap', `Scan ${formatBytes(plan.bytes)} of /dev/kmmap's buffer: through a mapping vs read into a Buffer`, 'kernel', plan, {
        mapping,
        fd: device.fd,
        absent,
        setup:
          `The first ${formatBytes(plan.bytes)} of the module's buffer (backing=contig, method pages), filled by the kernel. Each repetition scans it ` +
          'with Buffer#indexOf for a byte it lacks: in place through the mapping, or after fs.readSync (read(2) of /dev/kmmap, copy_to_user) into a preallocated Buffer.',
      });
    } finally {
      mapping.close();
    }
  } finally {
    device.close();
  }
}

/**
 * Case 5, for the methods one backing allows: each repetition maps the whole
 * buffer, reads one byte of every page, reads them again, unmaps; the three
 * steps are timed separately.
 * @param {string[]} methods
 * @param {{ rounds: number, warmup: number }} plan
 */
async function timeMethods(methods, plan) {
  const phases = new Map(methods.map((m) => [m, { map: [], first: [], second: [], mapFirst: [] }]));
  const devices = new Map(methods.map((m) => [m, KmmapDevice.open({ method: m })]));
  let check = 0;
  try {
    const contenders = methods.map((method) => ({
      name: method,
      run: () => {
        const device = devices.get(method);
        const t0 = process.hrtime.bigint();
        const mapping = device.map({ access: 'r' });
        const t1 = process.hrtime.bigint();
        check += touchPages(mapping.buffer);
        const t2 = process.hrtime.bigint();
        check += touchPages(mapping.buffer);
        const t3 = process.hrtime.bigint();
        mapping.close();
        const p = phases.get(method);
        p.map.push(Number(t1 - t0));
        p.first.push(Number(t2 - t1));
        p.second.push(Number(t3 - t2));
        p.mapFirst.push(Number(t2 - t0));
        return Number(t3 - t0);
      },
    }));
    // Warm-up runs are not recorded by interleave(), but run() records
    // every call: drop those first.
    await interleave(contenders, { rounds: 0, warmup: plan.warmup });
    for (const p of phases.values()) for (const list of Object.values(p)) list.length = 0;
    await interleave(contenders, { rounds: plan.rounds, warmup: 0 });
  } finally {
    for (const device of devices.values()) device.close();
  }
  if (check < 0) throw new Error('unreachable: keeps the touches observable');
  return phases;
}

/** Rows and ratios of one backing's methods, relative to `fault` on the same backing. */
function methodRows(backing, phases) {
  const rows = [];
  const ratios = [];
  const mapFirst = new Map();
  for (const [method, p] of phases) {
    rows.push(
      timeRow(`${backing}/${method}: mmap`, p.map),
      timeRow(`${backing}/${method}: first touch`, p.first),
      timeRow(`${backing}/${method}: second touch`, p.second),
    );
    const row = timeRow(`${backing}/${method}: mmap + first touch`, p.mapFirst);
    rows.push(row);
    mapFirst.set(method, row);
  }
  const fault = mapFirst.get('fault');
  for (const [method, row] of mapFirst) {
    if (method !== 'fault') ratios.push(timeRatio(`${backing}: ${method} speed-up over fault, mmap + first touch`, fault, row));
  }
  return { rows, ratios, mapFirst };
}

async function methodsCase(plan, bufferBytes, log) {
  const results = [];
  for (const [backing, methods] of [
    ['contig', ['fault', 'fault_around', 'pages', 'pfn']],
    ['vmalloc', ['fault', 'vmalloc']],
  ]) {
    log(`kernel: methods, backing=${backing} ...`);
    reload({ size: bufferBytes, backing });
    results.push(methodRows(backing, await timeMethods(methods, plan)));
  }
  const rows = results.flatMap((r) => r.rows);
  const ratios = results.flatMap((r) => r.ratios);
  // The goal: the best method's map + first touch against the reference's
  // way (fault), on the same backing.
  let best = null;
  for (const r of results) {
    const faultNs = summarize(r.mapFirst.get('fault').samplesNs).median;
    for (const [method, row] of r.mapFirst) {
      if (method === 'fault') continue;
      const speedup = faultNs / summarize(row.samplesNs).median;
      if (!best || speedup > best.value) best = { method, row, fault: r.mapFirst.get('fault'), value: speedup };
    }
  }
  const goal = { op: '>=', value: 3 };
  ratios.push({
    ...timeRatio(`best method (${best.row.label.split(':')[0]}) speed-up over fault, mmap + first touch`, best.fault, best.row),
    goal,
    met: meets(best.value, goal),
  });
  return {
    id: 'kernel-methods',
    title: `Mapping methods of /dev/kmmap: ${formatBytes(bufferBytes)} mapped, touched, touched again`,
    where: 'kernel',
    setup:
      `The module loaded with size=${bufferBytes} and backing=contig (fault, fault_around, pages, pfn), then backing=vmalloc (fault, vmalloc). ` +
      'Each repetition maps the whole buffer read-only, reads one byte per page (first touch), again (second touch), and unmaps; methods interleave per repetition.',
    rows,
    ratios,
  };
}

/**
 * Runs the kernel cases and returns their results. Restores the module's
 * parameters at the end.
 * @param {{ tiny: boolean, only?: Set<string>, log: (line: string) => void }} options
 */
export async function runKernelCases({ tiny, only, log }) {
  const plan = tiny ? KERNEL_PLANS.tiny : KERNEL_PLANS.full;
  const saved = currentParameters();
  const cases = [];
  try {
    reload({ size: plan.bufferBytes, backing: 'contig' });
    if (!only || only.has('copy-kmmap')) {
      log('kernel: copy-kmmap ...');
      cases.push(await deviceCopyCase({ ...plan.copy, bytes: Math.min(plan.copy.bytes, plan.bufferBytes) }));
    }
    if (!only || only.has('zero-copy-kmmap')) {
      log('kernel: zero-copy-kmmap ...');
      cases.push(await deviceZeroCopyCase({ ...plan.zeroCopy, bytes: Math.min(plan.zeroCopy.bytes, plan.bufferBytes) }));
    }
    if (!only || only.has('kernel-methods')) cases.push(await methodsCase(plan.methods, plan.bufferBytes, log));
  } finally {
    if (saved) reload(saved);
  }
  return cases;
}

async function main() {
  const { values } = parseArgs({
    options: { tiny: { type: 'boolean', default: false }, json: { type: 'string' }, only: { type: 'string' } },
    strict: true,
  });
  if (!values.json) throw new Error('usage: node bench/kernel.mjs [--tiny] [--only IDS] --json PATH');
  if (process.getuid?.() !== 0) throw new Error('The kernel cases reload kmmap.ko: run them as root');
  const only = values.only === undefined ? undefined : new Set(values.only.split(','));
  const cases = await runKernelCases({ tiny: values.tiny, only, log: (line) => console.error(line) });
  fs.writeFileSync(values.json, `${JSON.stringify({ machine: machineInfo(), cases }, null, 2)}\n`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
