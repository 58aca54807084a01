// The README's "script that uses every option and method" runs as printed,
// so the README cannot drift from the API.
import * as fs from 'node:fs';
import * as path from 'node:path';
import ts from 'typescript';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { REPO, runNode, tempDir } from '../helpers';

let tmp: ReturnType<typeof tempDir>;
beforeAll(() => {
  tmp = tempDir();
});
afterAll(() => tmp.remove());

function readmeScript(): string {
  const readme = fs.readFileSync(path.join(REPO, 'README.md'), 'utf8');
  const start = readme.indexOf('A script that uses every option and method:');
  const match = /```ts\n([\s\S]*?)```/.exec(readme.slice(start));
  if (start < 0 || !match) throw new Error('README has no script that uses every option and method');
  return match[1]!;
}

it("the README's script using every option and method runs, and reports the kernel's errors it shows", () => {
  // /tmp/data in the README: keep this run's file to itself.
  const data = path.join(tmp.dir, 'data');
  const source = readmeScript()
    .replaceAll("'/tmp/data'", JSON.stringify(data))
    .replace("from 'kmmap'", `from ${JSON.stringify(path.join(REPO, 'dist'))}`);
  // Node 20 cannot parse `using`: TypeScript lowers it, as it does for users.
  const { outputText } = ts.transpileModule(source, {
    compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.CommonJS, lib: ['esnext.disposable'] },
  });
  const script = path.join(tmp.dir, 'readme-script.js');
  fs.writeFileSync(script, outputText);
  const result = runNode(`require(${JSON.stringify(script)})`);
  expect(result.stderr).toBe('');
  expect(result.status).toBe(0);
  const lines = result.stdout.trim().split('\n');
  expect(lines.shift()).toMatch(/^\d+ 0n 1048576 rw false$/);
  // The huge page attempt prints the kernel's ENOMEM only where none are free.
  const free2MB = Number(fs.readFileSync('/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages', 'latin1'));
  if (free2MB === 0) expect(lines.shift()).toMatch(/^ENOMEM .*nr_hugepages/);
  expect(lines).toEqual([expect.stringMatching(/^ENOTSUP .*DAX/)]);
  expect(fs.readFileSync(data).toString('latin1', 100, 105)).toBe('hello');
});
