// The host benchmark runs end to end at its tiny size, so that it can't rot.
// No timing is judged here: only that every case ran and produced numbers.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO, tempDir } from '../helpers';

interface Row {
  label: string;
  unit: string;
  samplesNs: number[];
  unavailable?: string;
  n?: number;
  median?: number;
  min?: number;
  max?: number;
  q1?: number;
  q3?: number;
}

interface Results {
  options: { tiny: boolean; hostOnly: boolean; mmapIo: boolean; bun: boolean };
  peers: { python: string | null; bun: string | null };
  machine: { cpus: number; cpuModel: string; node: string; kernel: string };
  cases: { id: string; where: string; rows: Row[]; ratios: { label: string; value: number | null }[] }[];
  skipped: { id: string; reason: string }[];
}

describe('npm run bench -- --tiny --host-only --no-mmap-io --no-bun', () => {
  it('runs every host case once and writes finite numbers for each', () => {
    const { dir, remove } = tempDir('kmmap-bench-smoke-');
    try {
      const json = path.join(dir, 'results.json');
      // --no-mmap-io, --no-bun: the test never installs packages or touches the network.
      const run = spawnSync(process.execPath, ['bench/index.mjs', '--tiny', '--host-only', '--no-mmap-io', '--no-bun', '--json', json], {
        cwd: REPO,
        encoding: 'utf8',
        timeout: 120_000,
      });
      expect(run.error).toBeUndefined();
      expect(run.status, run.stderr).toBe(0);
      expect(run.stderr).not.toMatch(/installing mmap-io/);
      expect(run.stdout).toMatch(/mmap-io 1\.1\.7: skipped: --no-mmap-io/);
      expect(run.stderr).not.toMatch(/fetching @oven/);
      expect(run.stdout).toMatch(/Bun 1\.4: skipped: --no-bun/);

      const results = JSON.parse(fs.readFileSync(json, 'utf8')) as Results;
      expect(results.options).toMatchObject({ tiny: true, hostOnly: true, mmapIo: false, bun: false });
      // Python's mmap is a contender wherever python3 runs, as on every machine this project supports.
      expect(results.peers.python).toMatch(/^3\.\d+\.\d+$/);
      expect(results.machine.cpus).toBeGreaterThan(0);
      expect(results.cases.map((c) => c.id)).toEqual(['copy', 'map-cycle', 'pagemap', 'zero-copy', 'scan']);
      expect(results.skipped).toEqual([{ id: 'kernel', reason: '--host-only' }]);

      for (const c of results.cases) {
        expect(c.where).toBe('host');
        expect(c.rows.length, c.id).toBeGreaterThan(0);
        for (const row of c.rows) {
          if (row.unavailable !== undefined) {
            // Only mmap-io and Bun may be missing, and only because they were told to be;
            // Python's scan row says why it does not compare.
            if (/mmap-io/.test(row.label)) expect(row.unavailable).toMatch(/--no-mmap-io/);
            else if (/Bun/.test(row.label)) expect(row.unavailable).toMatch(/--no-bun/);
            else expect(`${c.id}: ${row.label}: ${row.unavailable}`).toMatch(/^scan: Python .*: not comparable/);
            continue;
          }
          expect(row.n, `${c.id}: ${row.label}`).toBe(1);
          expect(row.samplesNs).toHaveLength(1);
          for (const field of ['median', 'min', 'max', 'q1', 'q3'] as const) {
            expect(Number.isFinite(row[field]), `${c.id}: ${row.label}: ${field}`).toBe(true);
            expect(row[field]).toBeGreaterThan(0);
          }
        }
        for (const ratio of c.ratios) {
          if (/mmap-io|Bun/.test(ratio.label)) expect(ratio.value).toBeNull();
          else expect(Number.isFinite(ratio.value), `${c.id}: ${ratio.label}`).toBe(true);
        }
      }
    } finally {
      remove();
    }
  }, 180_000);
});
