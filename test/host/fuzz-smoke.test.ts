// The fuzzer (test/fuzz/, npm run fuzz) in npm test: a short fixed-seed run
// that must violate no oracle, and the harness's own guarantees: a crash or
// a hang in a child process is seen at the program that caused it, the
// programs after it still run, and a seed alone regenerates its program.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { REPO, tempDir } from '../helpers';

interface Failure { seed: number | null; kind: string; where: string; detail: string }
interface Runner {
  runPrograms(list: { seed: number; program: unknown[] }[], options: { hangMs: number; cliTimeout: number }): Promise<{ programs: number; failures: Failure[]; results: { seed: number }[] }>;
  programOf(seed: number): unknown[];
  programSeed(runSeed: number, i: number): number;
}

const runnerUrl = pathToFileURL(path.join(REPO, 'test', 'fuzz', 'runner.mjs')).href;
const loadRunner = async (): Promise<Runner> => (await import(runnerUrl)) as Runner;
const valuesUrl = pathToFileURL(path.join(REPO, 'test', 'fuzz', 'values.mjs')).href;

const anon = { c: 'anon', len: { t: 'n', v: 4096 }, opts: { t: 'undef' } };
const write = { c: 'write', slot: 0, at: 0, len: 64, via: 'buffer', byte: 7 };
const check = { c: 'check', slot: 0, via: 'mapping' };

describe('npm run fuzz', () => {
  it('finds no oracle violation in a fixed-seed run of 3000 calls and 9 leak phases of 5000 mappings', () => {
    const tmp = tempDir();
    try {
      const report = path.join(tmp.dir, 'report.json');
      const r = spawnSync(process.execPath, [
        path.join(REPO, 'scripts', 'fuzz.mjs'), '--seed', '20261125', '--calls', '3000', '--leak', '5000',
        '--no-shrink', '--quiet', '--json', report,
      ], { cwd: REPO, encoding: 'utf8', timeout: 280_000 });
      expect(r.error).toBeUndefined();
      const summary = JSON.parse(fs.readFileSync(report, 'utf8')) as {
        calls: number; classes: { class: string; count: number; seeds: number[]; detail: string }[]; leak: { name: string; count: number }[];
      };
      // Each class with its seeds: `npm run fuzz -- --seed <seed> --replay` shows the minimal program.
      expect(summary.classes.map((c) => `${c.class} (seeds ${c.seeds.slice(0, 3).join(', ')}): ${c.detail.slice(0, 300)}`)).toEqual([]);
      expect(r.status, r.stdout.slice(-2000)).toBe(0);
      expect(summary.calls).toBeGreaterThanOrEqual(3000);
      expect(summary.leak.map((p) => `${p.name} ${p.count}`)).toEqual(
        ['close', 'drop', 'drop-sync'].flatMap((how) => ['file', 'shared', 'private'].map((kind) => `${kind}-${how} 5000`)),
      );
    } finally {
      tmp.remove();
    }
  }, 300_000);

  it('sees a signal at the program that raised it, and still runs the programs after it', async () => {
    const runner = await loadRunner();
    const r = await runner.runPrograms([
      { seed: 1, program: [anon, write, check] },
      { seed: 2, program: [anon, { c: 'selfCrash', signal: 'SIGSEGV' }, check] },
      { seed: 3, program: [anon, write, check] },
    ], { hangMs: 20_000, cliTimeout: 4000 });
    expect(r.failures).toEqual([expect.objectContaining({ seed: 2, kind: 'signal:SIGSEGV', where: 'selfCrash' })]);
    expect(r.results.map((x) => x.seed)).toEqual([1, 3]);
    expect(r.programs).toBe(3);
  }, 60_000);

  it('sees an abort and a hang as failures of their programs', async () => {
    const runner = await loadRunner();
    const r = await runner.runPrograms([
      { seed: 4, program: [anon, { c: 'selfCrash', signal: 'SIGABRT' }] },
      { seed: 5, program: [anon, { c: 'selfHang' }] },
    ], { hangMs: 3000, cliTimeout: 4000 });
    expect(r.failures.map((f) => [f.seed, f.kind, f.where])).toEqual([[4, 'abort', 'selfCrash'], [5, 'hang', 'selfHang']]);
  }, 60_000);

  it('regenerates a program from its seed alone, and the seeds of two runs differ', async () => {
    const runner = await loadRunner();
    const { encode } = (await import(valuesUrl)) as { encode: (v: unknown) => string };
    const seed = runner.programSeed(7, 3);
    expect(encode(runner.programOf(seed))).toBe(encode(runner.programOf(seed)));
    const run = (s: number) => new Set(Array.from({ length: 200 }, (_, i) => runner.programSeed(s, i)));
    const a = run(1);
    const shared = [...run(2)].filter((s) => a.has(s));
    expect(a.size).toBe(200);
    expect(shared).toEqual([]);
  });
});
