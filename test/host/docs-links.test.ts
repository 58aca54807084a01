// Every relative link in the README and docs/ leads somewhere: to a file of
// the repository and, with a #fragment, to a heading of that file as GitHub
// names its anchors. The long reference moved out of the README into docs/,
// so a renamed heading or file would otherwise leave a dead link.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { expect, it } from 'vitest';
import { REPO } from '../helpers';

const DOCUMENTS = [
  'README.md',
  'vm/README.md',
  ...fs.readdirSync(path.join(REPO, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`),
];

/** The lines of a Markdown file outside fenced code blocks. */
function proseLines(text: string): string[] {
  let fenced = false;
  return text.split('\n').filter((line) => {
    if (/^\s*```/.test(line)) {
      fenced = !fenced;
      return false;
    }
    return !fenced;
  });
}

/** GitHub's anchors for a file's headings: lower case, punctuation dropped, spaces to '-', repeats numbered. */
function anchors(file: string): Set<string> {
  const seen = new Map<string, number>();
  const result = new Set<string>();
  for (const line of proseLines(fs.readFileSync(path.join(REPO, file), 'utf8'))) {
    const heading = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!heading) continue;
    const base = heading[1]!.toLowerCase().replace(/[^\p{L}\p{N}_\- ]/gu, '').replace(/ /g, '-');
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    result.add(count === 0 ? base : `${base}-${count}`);
  }
  return result;
}

it.each(DOCUMENTS)('every relative link in %s resolves to a file and heading', (doc) => {
  const dead: string[] = [];
  const text = proseLines(fs.readFileSync(path.join(REPO, doc), 'utf8')).join('\n').replace(/`[^`\n]*`/g, '``');
  for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
    if (/^[a-z]+:/i.test(target!)) continue;
    const [file, fragment] = target!.split('#') as [string, string | undefined];
    const resolved = file === '' ? doc : path.posix.normalize(path.posix.join(path.posix.dirname(doc), file));
    if (resolved.startsWith('..') || !fs.existsSync(path.join(REPO, resolved))) {
      dead.push(`${target}: no file ${resolved}`);
    } else if (fragment !== undefined && !anchors(resolved).has(fragment)) {
      dead.push(`${target}: no heading #${fragment} in ${resolved}`);
    }
  }
  expect(dead).toEqual([]);
});

it('the documents are all linked from the README', () => {
  const readme = fs.readFileSync(path.join(REPO, 'README.md'), 'utf8');
  const unlinked = DOCUMENTS.filter((doc) => doc !== 'README.md' && !readme.includes(`](${doc})`));
  expect(unlinked).toEqual([]);
});
