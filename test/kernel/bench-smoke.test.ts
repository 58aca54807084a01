// The kernel benchmark (bench/kernel.mjs) runs end to end at its tiny size,
// so that it can't rot. No timing is judged here: only that every kernel
// case ran and produced numbers, and that the module is given back as it was.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO, tempDir } from '../helpers';

interface Row {
  label: string;
  samplesNs: number[];
  n: number;
  median: number;
  min: number;
  max: number;
  q1: number;
  q3: number;
}

interface Results {
  cases: { id: string; where: string; rows: Row[]; ratios: { label: string; value: number | null; goal?: unknown }[] }[];
}

const parameters = () =>
  Object.fromEntries(
    fs.readdirSync('/sys/module/kmmap/parameters').map((name) => [name, fs.readFileSync(`/sys/module/kmmap/parameters/${name}`, 'utf8')]),
  );

describe('bench/kernel.mjs --tiny', () => {
  it('runs every kernel case once, with finite numbers, and reloads the module as it found it', () => {
    const before = parameters();
    const { dir, remove } = tempDir('kmmap-bench-smoke-');
    try {
      const json = path.join(dir, 'kernel.json');
      const run = spawnSync(process.execPath, ['bench/kernel.mjs', '--tiny', '--json', json], {
        cwd: REPO,
        encoding: 'utf8',
        timeout: 240_000,
      });
      expect(run.error).toBeUndefined();
      expect(run.status, run.stderr).toBe(0);
      expect(parameters()).toEqual(before);
      expect(fs.existsSync('/dev/kmmap')).toBe(true);

      const results = JSON.parse(fs.readFileSync(json, 'utf8')) as Results;
      expect(results.cases.map((c) => c.id)).toEqual(['copy-kmmap', 'zero-copy-kmmap', 'kernel-methods']);
      for (const c of results.cases) {
        expect(c.where).toBe('kernel');
        expect(c.rows.length).toBeGreaterThan(0);
        for (const row of c.rows) {
          expect(row.n, `${c.id}: ${row.label}`).toBe(1);
          expect(row.samplesNs).toHaveLength(1);
          for (const field of ['median', 'min', 'max', 'q1', 'q3'] as const) {
            expect(Number.isFinite(row[field]), `${c.id}: ${row.label}: ${field}`).toBe(true);
          }
        }
        for (const ratio of c.ratios) expect(Number.isFinite(ratio.value), `${c.id}: ${ratio.label}`).toBe(true);
      }
      const methods = results.cases[2]!.rows.map((row) => row.label.split(':')[0]);
      expect(new Set(methods)).toEqual(
        new Set(['contig/fault', 'contig/fault_around', 'contig/pages', 'contig/pfn', 'vmalloc/fault', 'vmalloc/vmalloc']),
      );
      expect(results.cases[2]!.ratios.some((ratio) => ratio.goal !== undefined)).toBe(true);
    } finally {
      remove();
    }
  }, 300_000);
});
