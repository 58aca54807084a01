// The examples users copy run as printed, so the documents cannot drift from
// the API: the API guide's "script that uses every option and method"
// (docs/api.md) and the README's first example.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import ts from 'typescript';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { REPO, runNode, tempDir } from '../helpers';

let tmp: ReturnType<typeof tempDir>;
beforeAll(() => {
  tmp = tempDir();
});
afterAll(() => tmp.remove());

/** The first code block of `language` after `marker` in `file` (relative to the repository). */
function codeAfter(file: string, marker: string, language: string): string {
  const text = fs.readFileSync(path.join(REPO, file), 'utf8');
  const start = text.indexOf(marker);
  const match = new RegExp('```' + language + '\\n([\\s\\S]*?)```').exec(text.slice(start));
  if (start < 0 || !match) throw new Error(`${file} has no \`\`\`${language} block after "${marker}"`);
  return match[1]!;
}

it("the API guide's script using every option and method runs, and reports the kernel's errors it shows", () => {
  // /tmp/data in the guide: keep this run's file to itself.
  const data = path.join(tmp.dir, 'data');
  const source = codeAfter('docs/api.md', 'A script that uses every option and method:', 'ts')
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

it("the README's first example runs as plain JavaScript (an ES module) on this Node and prints what its comments say", () => {
  const file = path.join(tmp.dir, 'first.txt');
  const source = codeAfter('README.md', '## A first example', 'js')
    .replaceAll("'/tmp/kmmap-first.txt'", JSON.stringify(file))
    .replace("from 'kmmap'", `from ${JSON.stringify(pathToFileURL(path.join(REPO, 'dist', 'index.js')).href)}`);
  const script = path.join(tmp.dir, 'first.mjs');
  fs.writeFileSync(script, source);
  const result = runNode(`import(${JSON.stringify(pathToFileURL(script).href)})`);
  expect(result.stderr).toBe('');
  expect(result.status).toBe(0);
  expect(result.stdout).toBe('hello, world\n\n13 Uint8Array(1) [ 1 ]\nHELLO, world\n\n');
  expect(fs.readFileSync(file, 'utf8')).toBe('HELLO, world\n');
});
