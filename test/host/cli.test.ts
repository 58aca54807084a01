// The kmmap command's interface: help, usage errors (exit 2), runtime
// errors with codes (exit 1), and the shape of its --json output.
import * as fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { isRoot, NOBODY, REPO, runCli } from '../helpers';

// Each test starts the command several times: timeouts allow for a slow machine
// (the VM's software emulation).
describe('kmmap command line', { timeout: 60_000 }, () => {
  it('package.json names dist/cli.js as the kmmap command, which starts with a shebang', () => {
    const pkg = JSON.parse(fs.readFileSync(`${REPO}/package.json`, 'utf8'));
    expect(pkg.bin).toEqual({ kmmap: 'dist/cli.js' });
    expect(fs.readFileSync(`${REPO}/dist/cli.js`, 'utf8').split('\n')[0]).toBe('#!/usr/bin/env node');
  });

  it('--help on the command and on each subcommand prints usage and exits 0', () => {
    for (const args of [['--help'], ['-h'], ['help'], ['help', 'dump'], ['pagemap', '--help'], ['dump', '-h'], ['demo', '--help']]) {
      const result = runCli(args);
      expect(result.status, args.join(' ')).toBe(0);
      expect(result.stdout).toMatch(/^Usage: kmmap/);
      expect(result.stderr).toBe('');
    }
    expect(runCli(['pagemap', '--help']).stdout).toMatch(/START\.\.END/);
    expect(runCli(['dump', '--help']).stdout).toMatch(/--offset N/);
  });

  it('--version prints the package version', () => {
    const pkg = JSON.parse(fs.readFileSync(`${REPO}/package.json`, 'utf8'));
    expect(runCli(['--version'])).toMatchObject({ status: 0, stdout: `${pkg.version}\n` });
  });

  it('usage errors exit 2 with a message and where to find help', () => {
    const cases: [string[], RegExp][] = [
      [[], /^Usage: kmmap/],
      [['frobnicate'], /unknown command 'frobnicate'/],
      [['help', 'frobnicate'], /unknown command 'frobnicate'/],
      [['pagemap'], /needs a pid/],
      [['pagemap', 'me'], /'me' is not a pid/],
      [['pagemap', '0'], /'0' is not a pid/],
      [['pagemap', 'self', '0x2000..0x1000'], /is empty/],
      [['pagemap', 'self', '0x1000+zz'], /must be a decimal or 0x-prefixed hex number/],
      [['pagemap', 'self', '[heap]', 'extra'], /at most one range/],
      [['pagemap', 'self', '--method', 'fast'], /--method must be auto, ioctl or pagemap/],
      [['pagemap', 'self', '--bogus'], /Unknown option '--bogus'/],
      [['dump'], /exactly one path/],
      [['dump', '/etc/hostname', '--offset=-1'], /--offset must be/],
      [['dump', '/etc/hostname', '--length'], /argument missing/],
      [['demo', 'now'], /takes no arguments/],
    ];
    for (const [args, message] of cases) {
      const result = runCli(args);
      expect(result.status, args.join(' ')).toBe(2);
      expect(result.stdout).toBe('');
      expect(result.stderr).toMatch(message);
      if (args.length > 0) expect(result.stderr).toMatch(/--help' for usage/);
    }
  });

  it('runtime errors exit 1 with the message and its code', () => {
    const gone = runCli(['pagemap', '2147483000']);
    expect(gone.status).toBe(1);
    expect(gone.stderr).toMatch(/^kmmap pagemap: ENOENT: no such file or directory, open '\/proc\/2147483000\/maps'\. There is no process 2147483000 \[ENOENT\]\n$/);
    const noMapping = runCli(['pagemap', 'self', 'no-such-library.so']);
    expect(noMapping.status).toBe(1);
    expect(noMapping.stderr).toMatch(/no mapping named 'no-such-library\.so' .*\[ERR_KMMAP_NO_SUCH_MAPPING\]/);
    const missing = runCli(['dump', '/no/such/file']);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/ENOENT.*'\/no\/such\/file'.*\[ENOENT\]/);
  });

  it('with --json, errors are one JSON object on stderr with code, errno, syscall and path', () => {
    const result = runCli(['pagemap', '2147483000', '--json']);
    expect(result.status).toBe(1);
    expect(JSON.parse(result.stderr)).toEqual({
      error: { code: 'ENOENT', errno: -2, syscall: 'open', path: '/proc/2147483000/maps', message: expect.stringMatching(/no process/) },
    });
    const usage = runCli(['pagemap', '--json']);
    expect(usage.status).toBe(2);
    expect(JSON.parse(usage.stderr)).toMatchObject({ error: { code: 'ERR_KMMAP_USAGE', message: expect.stringMatching(/needs a pid/) } });
  });

  it('reading another user\'s process is refused with EACCES, its path and what is missing', () => {
    // pid 1 belongs to root; as nobody (or any non-root user) its pagemap is out of reach.
    const result = isRoot ? runCli(['pagemap', '1', '--json'], { uid: NOBODY, gid: NOBODY }) : runCli(['pagemap', '1', '--json']);
    expect(result.status).toBe(1);
    const { error } = JSON.parse(result.stderr);
    expect(error).toMatchObject({ code: 'EACCES', syscall: 'open', path: '/proc/1/maps' });
    expect(error.message).toMatch(/ptrace access .*CAP_SYS_PTRACE/);
    // With an address range, maps is not needed: pagemap itself is refused.
    const direct = isRoot ? runCli(['pagemap', '1', '0x1000'], { uid: NOBODY, gid: NOBODY }) : runCli(['pagemap', '1', '0x1000']);
    expect(direct.status).toBe(1);
    expect(direct.stderr).toMatch(/EACCES: permission denied, open '\/proc\/1\/pagemap'\. .*ptrace.* \[EACCES\]/);
  });

  it('pagemap --json has pid, method, ranges, per-page rows and both summaries', () => {
    const result = runCli(['pagemap', 'self', '[stack]', '--json']);
    expect(result.status).toBe(0);
    const report = JSON.parse(result.stdout);
    expect(Object.keys(report)).toEqual(['pid', 'method', 'ranges', 'pages', 'summary']);
    expect(report.pid).toBe('self');
    expect(['ioctl', 'pagemap']).toContain(report.method);
    expect(report.ranges).toEqual([{ start: expect.stringMatching(/^0x[0-9a-f]+$/), end: expect.stringMatching(/^0x[0-9a-f]+$/), name: '[stack]' }]);
    expect(report.pages.length).toBeGreaterThan(0);
    for (const page of report.pages) {
      expect(Object.keys(page)).toEqual(['address', 'raw', 'pfn', 'pfnHidden', 'swap', 'flags', 'pageFlags', 'mapCount']);
      expect(page.flags).toContain('present');
      expect(BigInt(page.address) >= BigInt(report.ranges[0].start) && BigInt(page.address) < BigInt(report.ranges[0].end)).toBe(true);
      if (isRoot) {
        expect(page.pfn).toMatch(/^0x[0-9a-f]+$/);
        expect(page.pageFlags).toEqual(expect.arrayContaining(['mmap', 'anonymous']));
        expect(page.mapCount).toBe(1);
      }
    }
    expect(Object.keys(report.summary)).toEqual(['pagemap', 'pageFlags', 'pageFlagsUnavailable']);
    expect(report.summary.pagemap.reduce((sum: number, c: { pages: number }) => sum + c.pages, 0)).toBe(report.pages.length);
    if (isRoot) {
      expect(report.summary.pageFlagsUnavailable).toBeNull();
      expect(report.summary.pageFlags.reduce((sum: number, c: { pages: number }) => sum + c.pages, 0)).toBe(report.pages.length);
      expect(report.summary.pageFlags[0]).toEqual({ flags: expect.stringMatching(/^0x/), names: expect.any(Array), symbolic: expect.any(String), pages: expect.any(Number) });
    }
  });

  it('without CAP_SYS_ADMIN, pagemap says PFNs are hidden instead of showing 0, and still exits 0', () => {
    const script = ['pagemap', 'self', '[stack]'];
    const text = isRoot ? runCli(script, { uid: NOBODY, gid: NOBODY }) : runCli(script);
    expect(text.status).toBe(0);
    expect(text.stdout).toMatch(/^0x[0-9a-f]+ +hidden +\S*present/m);
    expect(text.stdout).toMatch(/unavailable: .*CAP_SYS_ADMIN.*\[ERR_KMMAP_PFN_HIDDEN\]/);
    const json = isRoot ? runCli([...script, '--json'], { uid: NOBODY, gid: NOBODY }) : runCli([...script, '--json']);
    const report = JSON.parse(json.stdout);
    expect(report.pages.every((p: { pfn: null; pfnHidden: boolean }) => p.pfn === null && p.pfnHidden)).toBe(true);
    expect(report.summary.pageFlags).toBeNull();
    expect(report.summary.pageFlagsUnavailable).toMatchObject({ code: 'ERR_KMMAP_PFN_HIDDEN' });
  });

  it('pagemap text output: rows with address, pfn, flags; then the summaries', () => {
    const result = runCli(['pagemap', 'self', '[stack]']);
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^pid self: \d+ pages \(found by (ioctl|pagemap)\)\naddress +pfn\/swap +flags +map +page flags\n/);
    expect(result.stdout).toMatch(/\npagemap flags +pages\n/);
    expect(result.stdout).toMatch(/\npage flags \(\/proc\/kpageflags\)\n/);
    if (isRoot) expect(result.stdout).toMatch(/ +flags\tpage-count +MB +symbolic-flags\tlong-symbolic-flags\n0x[0-9a-f]{16}\t +\d+ +\d+ +[_a-zA-Z]+\t[a-z_0-9,]+\n/);
    const summary = runCli(['pagemap', 'self', '[stack]', '--summary']);
    expect(summary.stdout).not.toMatch(/^address/m);
    expect(summary.stdout).toMatch(/pagemap flags/);
  });

  it('pagemap ranges: START..END, START+LENGTH, one address and a mapping name select the same pages; none means every mapping', () => {
    const stack = JSON.parse(runCli(['pagemap', 'self', '[stack]', '--json', '--all']).stdout);
    const { start, end } = stack.ranges[0];
    const length = (BigInt(end) - BigInt(start)).toString();
    const forms = [`${start}..${end}`, `${start}+${length}`];
    for (const form of forms) {
      const report = JSON.parse(runCli(['pagemap', 'self', form, '--json', '--all']).stdout);
      expect(report.pages.map((p: { address: string }) => p.address)).toEqual(stack.pages.map((p: { address: string }) => p.address));
    }
    const one = JSON.parse(runCli(['pagemap', 'self', start, '--json', '--all']).stdout);
    expect(one.pages.map((p: { address: string }) => p.address)).toEqual([start]);
    const everything = runCli(['pagemap', 'self', '--json', '--summary']);
    expect(everything.status).toBe(0);
    const all = JSON.parse(everything.stdout);
    expect(all.ranges.map((r: { name: string }) => r.name)).toEqual(expect.arrayContaining(['[heap]', '[stack]']));
    // [vsyscall] lies in the kernel's half of the address space, where pagemap has no entries.
    expect(all.ranges.some((r: { name: string }) => r.name === '[vsyscall]')).toBe(false);
    expect(all.pages).toBeNull();
    const lib = JSON.parse(runCli(['pagemap', 'self', 'node', '--json', '--summary']).stdout);
    expect(lib.ranges.length).toBeGreaterThan(0);
    expect(lib.ranges.every((r: { name: string }) => r.name.endsWith('/node'))).toBe(true);
  });

  it(`demo ${fs.existsSync('/proc/lkmc_mmap') ? 'runs the reference scenario' : 'says the module is missing and points to npm run demo'}`, () => {
    const result = runCli(['demo']);
    if (fs.existsSync('/proc/lkmc_mmap')) {
      expect(result.status).toBe(0);
      expect(result.stdout).toMatch(/^open pathname = \/proc\/lkmc_mmap\n/);
      return;
    }
    expect(result.status).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/\/proc\/lkmc_mmap does not exist: the kmmap\.ko module is not loaded.*npm run demo.*\[ERR_KMMAP_MODULE_NOT_LOADED\]/);
    const json = runCli(['demo', '--json']);
    expect(JSON.parse(json.stderr)).toMatchObject({ error: { code: 'ERR_KMMAP_MODULE_NOT_LOADED' } });
  });
});
