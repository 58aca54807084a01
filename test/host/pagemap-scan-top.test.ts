// pagemap.scan() of ranges that end exactly at 2^64, the top of the
// address space, or lie wholly above user space (issue 11, class 8): the
// same answers from every method, never an internal error from the addon.
// In a child process: a whole address space is cheaper to walk in a small one.
import * as os from 'node:os';
import { describe, expect, it } from 'vitest';
import { PAGE_SIZE, pagemap } from '../../dist/index.js';
import { expectError, runNode } from '../helpers';
import { kernelAtLeast } from '../pagemap-target';

const methods = kernelAtLeast(os.release(), 6, 7) ? ['auto', 'ioctl', 'pagemap'] : ['auto', 'pagemap'];

describe('pagemap.scan at the top of the address space', { timeout: 60_000 }, () => {
  it(`ends at 2^64, starts above user space, or covers everything: no error, the same pages (methods: ${methods.join(', ')})`, () => {
    const result = runNode(`
      const { map, pagemap, PAGE_SIZE } = require('./dist');
      const page = BigInt(PAGE_SIZE);
      const top = 1n << 64n;
      const m = map.anonymous(3 * PAGE_SIZE, { shared: false });
      m.buffer[PAGE_SIZE] = 1;
      const out = {};
      for (const method of ${JSON.stringify(methods)}) {
        const whole = pagemap.scan(0n, Number(top / page), { method });
        const ours = whole.regions.filter((r) => r.start <= m.address + page && r.end > m.address + page);
        out[method] = {
          ours: ours.map((r) => r.categories.includes('present')),
          fromOurs: pagemap.scan(m.address, Number((top - m.address) / page), { method }).regions
            .filter((r) => r.categories.includes('present') && r.start < m.address + 3n * page).map((r) => [String(r.start - m.address), String(r.end - m.address)]),
          lastPage: pagemap.scan(top - page, 1, { method }).regions.length,
          kernelHalf: pagemap.scan(1n << 63n, Number((1n << 63n) / page), { method }).regions.length,
        };
      }
      console.log(JSON.stringify(out));
    `, { timeout: 60_000 });
    expect(result.status, result.stderr).toBe(0);
    const out = JSON.parse(result.stdout);
    for (const method of methods) {
      expect(out[method], method).toEqual({
        ours: [true],
        fromOurs: [[String(PAGE_SIZE), String(2 * PAGE_SIZE)]],
        lastPage: 0,
        kernelHalf: 0,
      });
    }
  });

  it('refuses a range that ends beyond 2^64 before reading anything', () => {
    expectError(() => pagemap.scan((1n << 64n) - BigInt(PAGE_SIZE), 2), { code: 'ERR_OUT_OF_RANGE' }, /pages/);
    expectError(() => pagemap.scan(0n, Number((1n << 64n) / BigInt(PAGE_SIZE)) + 1), { code: 'ERR_OUT_OF_RANGE' });
  });
});
