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
  options: { tiny: boolean; hostOnly: boolean; mmapIo: boolean };
  machine: { cpus: number; cpuModel: string; node: string; kernel: string };
  cases: { id: string; where: string; rows: Row[]; ratios: { label: string; value: number | null }[] }[];
  skipped: { id: string; reason: string }[];
}

describe('npm run bench -- --tiny --host-only --no-mmap-io', () => {
  it('runs every host case once and writes finite numbers for each', () => {
    const { dir, remove } = tempDir('kmmap-bench-smoke-');
    try {
      const json = path.join(dir, 'results.json');
      // --no-mmap-io: the test never installs packages or touches the network.
      const run = spawnSync(process.execPath, ['bench/index.mjs', '--tiny', '--host-only', '--no-mmap-io', '--json', json], {
        cwd: REPO,
        encoding: 'utf8',
        timeout: 120_000,
      });
      expect(run.error).toBeUndefined();
      expect(run.status, run.stderr).toBe(0);
      expect(run.stderr).not.toMatch(/installing mmap-io/);
      expect(run.stdout).toMatch(/mmap-io 1\.1\.7: skipped: --no-mmap-io/);

      const results = JSON.parse(fs.readFileSync(json, 'utf8')) as Results;
      expect(results.options).toMatchObject({ tiny: true, hostOnly: true, mmapIo: false });
      expect(results.machine.cpus).toBeGreaterThan(0);
      expect(results.cases.map((c) => c.id)).toEqual(['copy', 'map-cycle', 'pagemap', 'zero-copy']);
      expect(results.skipped).toEqual([{ id: 'kernel', reason: '--host-only' }]);

      for (const c of results.cases) {
        expect(c.where).toBe('host');
        expect(c.rows.length, c.id).toBeGreaterThan(0);
        for (const row of c.rows) {
          if (row.unavailable !== undefined) {
            // Only mmap-io may be missing, and only because it was told to be.
            expect(row.label, c.id).toMatch(/mmap-io/);
            expect(row.unavailable).toMatch(/--no-mmap-io/);
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
          if (/mmap-io/.test(ratio.label)) expect(ratio.value).toBeNull();
          else expect(Number.isFinite(ratio.value), `${c.id}: ${ratio.label}`).toBe(true);
        }
      }
    } finally {
      remove();
    }
  }, 180_000);
});
