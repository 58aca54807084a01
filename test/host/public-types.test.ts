// The published declarations (dist/*.d.ts, as the package ships them): a
// consumer project type-checks them on their own (strict, skipLibCheck off,
// no automatic @types), the exported error-code unions hold every code lib/
// and native/ throw and no other, and the internals stay out. The type tests
// of the API itself are test/types/*.test-d.ts, checked by tsc.
import * as fs from 'node:fs';
import * as path from 'node:path';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as kmmap from '../../dist/index.js';
import { REPO, tempDir } from '../helpers';

const ENTRY = path.join(REPO, 'dist', 'index.d.ts');

// What a user writes: the package by name, Node's types only through kmmap's
// own reference to them, and a lib without DOM or esnext.disposable.
const CONSUMER = `
import { kpageflags, map, Mapping, type CodedError, type KmmapError, type KmmapErrorCode } from 'kmmap';
export function use(path: string): KmmapErrorCode | bigint {
  try {
    using m = map(path, { access: 'copy' });
    m.advise('sequential');
    return m instanceof Mapping ? m.address | kpageflags.mask('anonymous') : 0n;
  } catch (caught) {
    const err = caught as KmmapError;
    if (err.code === 'ERR_KMMAP_CLOSED' || err.code === 'ERR_KMMAP_BEYOND_END') return err.code;
    throw err as CodedError;
  }
}
`;

const OPTIONS: ts.CompilerOptions = {
  strict: true,
  skipLibCheck: false,
  noEmit: true,
  target: ts.ScriptTarget.ES2022,
  lib: ['lib.es2022.d.ts'],
  module: ts.ModuleKind.Node16,
  moduleResolution: ts.ModuleResolutionKind.Node16,
  types: [],
};

// Building a program with Node's types takes seconds on a busy machine.
const SLOW = 120_000;

let project: ReturnType<typeof tempDir>;
let consumerFile: string;
/** The consumer's program as the package is. */
let compiled: ReturnType<typeof compile>;

beforeAll(() => {
  // A project with kmmap installed: node_modules/kmmap is this checkout.
  project = tempDir('kmmap-types-');
  fs.mkdirSync(path.join(project.dir, 'node_modules'));
  fs.symlinkSync(REPO, path.join(project.dir, 'node_modules', 'kmmap'));
  consumerFile = path.join(project.dir, 'consumer.ts');
  fs.writeFileSync(consumerFile, CONSUMER);
  compiled = compile();
}, SLOW);
afterAll(() => project.remove());

/** A program of the consumer; `edit` may change what the compiler reads of a file. */
function compile(edit?: (file: string, text: string) => string): { program: ts.Program; errors: string[] } {
  const host = ts.createCompilerHost(OPTIONS, true);
  if (edit) {
    const readFile = host.readFile.bind(host);
    host.readFile = (file) => {
      const text = readFile(file);
      return text === undefined ? undefined : edit(file, text);
    };
    const getSourceFile = host.getSourceFile.bind(host);
    host.getSourceFile = (file, language) => {
      const text = host.readFile(file);
      return text === undefined ? getSourceFile(file, language) : ts.createSourceFile(file, text, language);
    };
  }
  const program = ts.createProgram([consumerFile], OPTIONS, host);
  const errors = ts.getPreEmitDiagnostics(program).map((d) => {
    const where = d.file ? `${path.relative(REPO, d.file.fileName)}: ` : '';
    return `${where}${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
  });
  return { program, errors };
}

/** The string literals of an exported union type of dist/index.d.ts. */
function unionMembers(program: ts.Program, name: string): string[] {
  const checker = program.getTypeChecker();
  const entry = program.getSourceFile(ENTRY);
  if (!entry) throw new Error(`${ENTRY} is not in the program`);
  const exported = checker.getExportsOfModule(checker.getSymbolAtLocation(entry)!).find((s) => s.name === name);
  if (!exported) throw new Error(`dist/index.d.ts does not export ${name}`);
  const type = checker.getDeclaredTypeOfSymbol(checker.getAliasedSymbol(exported));
  const members = type.isUnion() ? type.types : [type];
  return members.map((t) => {
    if (!t.isStringLiteral()) throw new Error(`${name} has a member that is no string literal: ${checker.typeToString(t)}`);
    return t.value;
  }).sort();
}

/** Every quoted 'ERR_*' code in lib/ and native/ but the unions' own declarations. */
function codesInSources(): Map<string, string[]> {
  const found = new Map<string, string[]>();
  const files = [
    ...fs.readdirSync(path.join(REPO, 'lib')).filter((f) => f.endsWith('.ts')).map((f) => path.join('lib', f)),
    ...fs.readdirSync(path.join(REPO, 'native')).filter((f) => /\.(cc|h)$/.test(f)).map((f) => path.join('native', f)),
  ];
  for (const file of files) {
    const text = fs.readFileSync(path.join(REPO, file), 'utf8').replace(/export type (Kmmap|Node)ErrorCode =[^;]*;/g, '');
    for (const [, code] of text.matchAll(/['"](ERR_[A-Z0-9_]+)['"]/g)) found.set(code!, [...(found.get(code!) ?? []), file]);
  }
  return found;
}

describe('the published declarations', () => {
  it('type-check in a strict consumer with no @types of its own: dist/index.d.ts brings in Node\'s', () => {
    expect(fs.readFileSync(ENTRY, 'utf8')).toMatch(/^\/\/\/ <reference types="node"/m);
    const { program, errors } = compiled;
    expect(errors).toEqual([]);
    // Node's types came from kmmap's reference, not from the project.
    expect(program.getSourceFiles().some((f) => f.fileName.includes('/node_modules/@types/node/'))).toBe(true);
  });

  it('need that reference: without it, Buffer and the rest are unknown to such a consumer', () => {
    const { errors } = compile((file, text) => (file === ENTRY ? text.replace(/^\/\/\/ <reference types="node".*$/m, '') : text));
    expect(errors.join('\n')).toMatch(/Cannot find name 'Buffer'/);
  }, SLOW);

  it('export unions of the error codes that hold every code lib/ and native/ throw, and no other', () => {
    const { program } = compiled;
    const kmmapCodes = unionMembers(program, 'KmmapErrorCode');
    const nodeCodes = unionMembers(program, 'NodeErrorCode');
    expect(unionMembers(program, 'ErrorCode')).toEqual([...kmmapCodes, ...nodeCodes].sort());
    expect(kmmapCodes.every((code) => code.startsWith('ERR_KMMAP_'))).toBe(true);
    expect(nodeCodes.some((code) => code.startsWith('ERR_KMMAP_'))).toBe(false);

    const thrown = codesInSources();
    // Sanity: the scan sees codes of lib/ and of the addon.
    expect(thrown.get('ERR_KMMAP_CLOSED')).toContain(path.join('lib', 'mapping.ts'));
    expect(thrown.get('ERR_KMMAP_TOO_MANY_MAPPINGS')).toContain(path.join('native', 'mapping.cc'));
    const missing = [...thrown.keys()].filter((code) => !kmmapCodes.includes(code) && !nodeCodes.includes(code));
    expect(missing, 'codes thrown but missing from KmmapErrorCode / NodeErrorCode (lib/errors.ts)').toEqual([]);
    const stale = [...kmmapCodes, ...nodeCodes].filter((code) => !thrown.has(code));
    expect(stale, 'codes in the unions that nothing throws').toEqual([]);
  });

  it('leave the internals out', () => {
    const text = fs.readFileSync(path.join(REPO, 'dist', 'mapping.d.ts'), 'utf8');
    expect(text).toMatch(/^ {4}private constructor\(\);$/m);
    expect(text).not.toMatch(/MappingInit|interface Source\b/);
    expect(fs.readFileSync(path.join(REPO, 'dist', 'device.d.ts'), 'utf8')).toMatch(/^ {4}private constructor\(\);$/m);
    expect(fs.readFileSync(path.join(REPO, 'dist', 'pagemap.d.ts'), 'utf8')).not.toMatch(/pfnHiddenError/);
    // The same at run time: no pagemap.pfnHiddenError, and `new Mapping()` is refused.
    expect(Object.keys(kmmap.pagemap)).not.toContain('pfnHiddenError');
    const Ctor = kmmap.Mapping as unknown as new () => unknown;
    expect(() => new Ctor()).toThrow(expect.objectContaining({ code: 'ERR_ILLEGAL_CONSTRUCTOR', name: 'TypeError' }));
    using anon = kmmap.map.anonymous(4096, { shared: false });
    expect(anon).toBeInstanceOf(kmmap.Mapping);
  });
});
