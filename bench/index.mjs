// npm run bench [-- options]: kmmap against C, the reference program's
// method and mmap-io, side by side in one run. Prints a table (stdout) and
// writes the results as JSON. Progress goes to stderr.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { machineInfo } from './common.mjs';
import { runHostCases } from './host.mjs';
import { runKernelPart } from './kernel-part.mjs';
import { loadMmapIo, MMAP_IO_VERSION } from './mmap-io.mjs';
import { BUN_VERSION, findPython, loadBun } from './peers.mjs';
import { RESULTS_DIR } from './paths.mjs';
import { formatText } from './table.mjs';

const USAGE = `usage: npm run bench -- [--tiny] [--host-only] [--no-mmap-io] [--no-bun] [--only IDS] [--json PATH]

  --tiny        smallest sizes, one repetition: proves the cases run, measures nothing
  --host-only   skip the kernel cases (they need /dev/kmmap: here, or in the VM)
  --no-mmap-io  don't install or run mmap-io (its rows show n/a); no network
  --no-bun      don't fetch or run Bun (its rows show n/a); no network
  --only IDS    only these cases, comma-separated: copy, map-cycle, pagemap,
                zero-copy, scan, copy-kmmap, zero-copy-kmmap, kernel-methods
  --json PATH   write the results there (default .bench-results/<time>.json
                and .bench-results/latest.json)`;

function parseOptions(argv) {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        tiny: { type: 'boolean', default: false },
        'host-only': { type: 'boolean', default: false },
        'no-mmap-io': { type: 'boolean', default: false },
        'no-bun': { type: 'boolean', default: false },
        json: { type: 'string' },
        only: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
      allowPositionals: false,
    });
  } catch (err) {
    console.error(`${err.message}\n\n${USAGE}`);
    process.exit(2);
  }
  if (parsed.values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  return parsed.values;
}

const log = (line) => console.error(line);

async function main() {
  const options = parseOptions(process.argv.slice(2));
  const started = new Date();
  const mmapIo = options['no-mmap-io']
    ? { reason: `skipped: --no-mmap-io (mmap-io@${MMAP_IO_VERSION} was not installed or run)` }
    : loadMmapIo({ log });
  if (mmapIo.reason) log(`mmap-io: n/a: ${mmapIo.reason}`);
  const python = findPython();
  if (python.reason) log(`Python: n/a: ${python.reason}`);
  const bun = options['no-bun']
    ? { reason: `skipped: --no-bun (Bun ${BUN_VERSION} was not fetched or run)` }
    : loadBun({ log });
  if (bun.reason) log(`Bun: n/a: ${bun.reason}`);

  const only = options.only === undefined ? undefined : new Set(options.only.split(','));
  const cases = await runHostCases({ tiny: options.tiny, mmapIo, python, bun, only, log });
  const skipped = [];
  let kernelMachine = null;
  if (options['host-only']) {
    skipped.push({ id: 'kernel', reason: '--host-only' });
  } else {
    const kernel = await runKernelPart({ tiny: options.tiny, only, log });
    cases.push(...kernel.cases);
    kernelMachine = kernel.machine ?? null;
    skipped.push(...kernel.skipped);
  }

  const results = {
    version: 1,
    date: started.toISOString(),
    seconds: (Date.now() - started.getTime()) / 1000,
    options: { tiny: options.tiny, hostOnly: options['host-only'], mmapIo: !options['no-mmap-io'], bun: !options['no-bun'], only: options.only ?? null },
    peers: { python: python.version ?? null, bun: bun.version ?? null },
    machine: machineInfo(),
    // Where the kernel cases ran: the VM's kernel and virtual CPUs.
    kernelMachine,
    cases,
    skipped,
  };
  const text = `${JSON.stringify(results, null, 2)}\n`;
  let where = options.json;
  if (where === undefined) {
    fs.mkdirSync(RESULTS_DIR, { recursive: true });
    where = path.join(RESULTS_DIR, `${started.toISOString().replace(/[:.]/g, '-')}.json`);
    fs.writeFileSync(path.join(RESULTS_DIR, 'latest.json'), text);
  }
  fs.writeFileSync(where, text);

  const m = results.machine;
  console.log(`\nkmmap bench${options.tiny ? ' (--tiny: one repetition at the smallest sizes; these numbers mean nothing)' : ''}`);
  console.log(`${m.cpus} × ${m.cpuModel}, ${m.memoryGiB} GiB, Linux ${m.kernel}, Node ${m.node}${m.root ? ', root' : ''}`);
  const k = results.kernelMachine;
  if (k) console.log(`kernel cases: Linux ${k.kernel}${k.vm ? ' in the VM (vm/run)' : ''}, ${k.cpus} × ${k.cpuModel}, ${k.memoryGiB} GiB`);
  console.log('');
  console.log(formatText(results));
  console.log(`\nresults: ${where}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
