// The addon needs nothing from its host process but Node-API: Bun and Deno
// load Node-API addons but provide libuv in part (Bun aborts on uv_strerror)
// or not at all (Deno: the first call of a libuv function ends the process).
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { expect, it } from 'vitest';
import { REPO } from '../helpers';

it('imports from its host process only Node-API functions (napi_*, node_api_*), no libuv or V8', () => {
  const addon = path.join(REPO, 'build', 'Release', 'kmmap.node');
  const undefinedSymbols = execFileSync('nm', ['-D', '--undefined-only', addon], { encoding: 'utf8' })
    .split('\n').map((line) => line.trim().split(/\s+/).pop() ?? '').filter(Boolean);
  expect(undefinedSymbols.some((name) => name.startsWith('napi_'))).toBe(true);
  // Versioned symbols come from libc, libstdc++ and libgcc; unversioned ones from the process.
  const fromProcess = undefinedSymbols.filter((name) => !name.includes('@') && !/^_ITM_|^__gmon_start__$/.test(name));
  expect(fromProcess.filter((name) => !/^(napi_|node_api_)/.test(name))).toEqual([]);
});
