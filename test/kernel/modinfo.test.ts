// What `modinfo kmmap.ko` tells an administrator: what the module is, its
// version, author and license, and every parameter with its description.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { REPO } from '../helpers';
import { capture, MODULE_KO } from './module';

const KERNEL_DIR = path.join(REPO, 'kernel');

/** modinfo's "field: value" lines; a field may repeat (parm, alias). */
function modinfo(ko: string): Map<string, string[]> {
  const result = capture('modinfo', [ko]);
  expect(result.status, result.stderr).toBe(0);
  const fields = new Map<string, string[]>();
  for (const line of result.stdout.split('\n')) {
    const match = /^(\w+):\s*(.*)$/.exec(line);
    if (!match) continue;
    const [, key = '', value = ''] = match;
    fields.set(key, [...(fields.get(key) ?? []), value]);
  }
  return fields;
}

/** The source text of kernel/*.c with comments blanked out. */
function moduleSources(): { file: string; text: string }[] {
  return fs
    .readdirSync(KERNEL_DIR)
    .filter((name) => name.endsWith('.c'))
    .map((name) => ({
      file: `kernel/${name}`,
      text: fs.readFileSync(path.join(KERNEL_DIR, name), 'utf8').replace(/\/\*[\s\S]*?\*\/|\/\/[^\n]*/g, ' '),
    }));
}

/**
 * Parameter names the sources declare: the first argument of module_param()
 * and of its variants (_named, _cb, _array, _string, _unsafe), which is the
 * name user space sees.
 */
function declaredParameters(): string[] {
  const names = moduleSources().flatMap(({ text }) =>
    [...text.matchAll(/\bmodule_param(?:_named|_cb|_array|_string|_unsafe)*\s*\(\s*(\w+)/g)].map((m) => m[1] ?? ''),
  );
  return [...new Set(names)].sort();
}

/** MODULE_PARM_DESC(name, "..." ...) descriptions by parameter name. */
function describedParameters(): Map<string, string> {
  const descriptions = new Map<string, string>();
  for (const { text } of moduleSources()) {
    for (const m of text.matchAll(/\bMODULE_PARM_DESC\s*\(\s*(\w+)\s*,\s*((?:"(?:[^"\\]|\\.)*"\s*)+)\)/g)) {
      // Adjacent string literals concatenate, as in C.
      const [, name = '', literals = ''] = m;
      descriptions.set(name, [...literals.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((s) => s[1]).join(''));
    }
  }
  return descriptions;
}

/** The value of a simple KEY="value" line of kernel/dkms.conf. */
function dkmsConf(key: string): string | undefined {
  const text = fs.readFileSync(path.join(KERNEL_DIR, 'dkms.conf'), 'utf8');
  return new RegExp(`^${key.replace(/[[\]]/g, '\\$&')}="?([^"\\n]*)"?$`, 'm').exec(text)?.[1];
}

describe('modinfo', () => {
  let info: Map<string, string[]>;
  beforeAll(() => {
    info = modinfo(MODULE_KO);
  });

  it('names the module, its author and a GPL license the kernel accepts without tainting', () => {
    expect(info.get('name')).toEqual(['kmmap']);
    expect(info.get('description')?.[0]).toMatch(/kernel memory/i);
    expect(info.get('author')?.[0]).toMatch(/\S/);
    // "GPL" is what the kernel's license_is_gpl_compatible() accepts for GPL-2.0-only code.
    expect(info.get('license')).toEqual(['GPL']);
  });

  it('carries the version the npm package and dkms.conf carry', () => {
    const version = info.get('version');
    const pkg = JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { version: string };
    expect(version).toEqual([pkg.version]);
    expect(dkmsConf('PACKAGE_VERSION')).toBe(pkg.version);
  });

  it('was built for the running kernel', () => {
    expect(info.get('vermagic')?.[0]?.split(' ')[0]).toBe(os.release());
  });

  it('lists exactly the parameters the sources declare, each with its description', () => {
    const listed = new Map(
      (info.get('parm') ?? []).map((line) => {
        const [, name, description] = /^(\w+):(.*?)\s*(?:\([^()]*\))?$/.exec(line) ?? [];
        return [name, description] as const;
      }),
    );
    const declared = declaredParameters();
    expect([...listed.keys()].sort()).toEqual(declared);
    for (const name of declared) expect(listed.get(name), `parameter ${name} has no description`).toMatch(/\S/);
  });

  it('every module_param in kernel/*.c has a MODULE_PARM_DESC', () => {
    const descriptions = describedParameters();
    const undescribed = declaredParameters().filter((name) => !/\S/.test(descriptions.get(name) ?? ''));
    expect(undescribed).toEqual([]);
    // And no description names a parameter that does not exist.
    expect([...descriptions.keys()].filter((name) => !declaredParameters().includes(name))).toEqual([]);
  });
});
