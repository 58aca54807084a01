// Hostile callers: user space that pins the mapped pages (vmsplice, O_DIRECT,
// io_uring fixed buffers) and then takes away the mapping, the file and the
// module, and user space that pulls the page tables from under eight reading
// threads (MADV_DONTNEED, mremap, fork). The probes are C programs in test/c/;
// after each case the kernel log must hold no new trouble.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Backing, KMMAP_DEVICE_PATH, LKMC_MMAP_PATH, type MappingMethod } from '../../dist/index.js';
import { compileCAsync, REPO, tempDir } from '../helpers';
import { kernelAtLeast } from '../pagemap-target';
import { capture, dmesg, isLoaded, refcount, reload, troubleSince } from './module';

const METHODS_OF: Record<Backing, MappingMethod[]> = {
  contig: ['fault', 'fault_around', 'pages', 'pfn'],
  vmalloc: ['fault', 'fault_around', 'pages', 'vmalloc'],
};
/** Memory the pin probe allocates, touches, forks over and frees after the unload. */
const CHURN_MIB = 64;
/** How long each churn case runs. */
const CHURN_MS = 1000;
const release = os.release();
/*
 * io_uring refused file-backed memory as a fixed buffer (EOPNOTSUPP) until
 * 6.5 handed that check to GUP ("io_uring: rsrc: delegate VMA file-backed
 * check to GUP"), which lets a mapping that needs no dirty tracking (a
 * device's) be pinned long-term.
 */
const uringPins = kernelAtLeast(release, 6, 5);

const tmp = tempDir('kmmap-hostile-');
let pinProbe: string;
let churnProbe: string;
let loopDevice: string;

function compile(name: string): Promise<string> {
  return compileCAsync([path.join(REPO, 'test', 'c', `${name}.c`)], path.join(tmp.dir, name));
}

// Compiling takes seconds under software emulation, a minute on a busy
// host: both at once.
beforeAll(async () => {
  [pinProbe, churnProbe] = await Promise.all([compile('kmmap_pin_probe'), compile('kmmap_churn_probe')]);
  // O_DIRECT needs a block device or a file system that takes it; the guest's
  // root is an overlay with a tmpfs upper, which refuses O_DIRECT before 6.6.
  // A loop device over a file of our own takes it on every line and on any
  // host, and its bios pin the user pages as any direct I/O does.
  expect(capture('modprobe', ['loop']).status).toBe(0);
  const image = path.join(tmp.dir, 'disk');
  fs.writeFileSync(image, Buffer.alloc(1 << 20));
  const out = capture('losetup', ['--find', '--show', image]);
  expect(out.stderr).toBe('');
  loopDevice = out.stdout.trim();
  expect(loopDevice).toMatch(/^\/dev\/loop\d+$/);
}, 180_000);

afterAll(() => {
  if (loopDevice) capture('losetup', ['--detach', loopDevice]);
  tmp.remove();
  // Other files expect the module loaded with its defaults.
  reload();
}, 60_000);

/** Runs `fn`, then expects no kernel log line of trouble since it began. */
function withCleanLog<T>(fn: () => T): T {
  const before = dmesg().length;
  try {
    return fn();
  } finally {
    // Checked even when fn failed: the log says why, and comes first.
    expect(troubleSince(before)).toEqual([]);
  }
}

/** What the pin probe must print for a mapping that get_user_pages() can pin. */
function pinnedLines(): string[] {
  return [
    'odirect-read: ok, kernel view ok',
    'vmsplice: ok',
    'odirect-write: ok',
    ...(uringPins ? ['io_uring-register: ok', 'io_uring-read-pending: ok'] : ['io_uring-register: EOPNOTSUPP']),
    'munmap: ok',
    'close: ok',
    'rmmod: ok',
    'churn: ok',
    'vmsplice-readback: ok',
    'odirect-readback: ok',
    ...(uringPins ? ['io_uring-read-complete: ok', 'io_uring-readback: ok'] : []),
  ];
}

/* A VM_PFNMAP mapping has no pages to pin: every pin fails with EFAULT. */
const PFN_LINES = [
  'odirect-read: EFAULT',
  'vmsplice: EFAULT',
  'odirect-write: EFAULT',
  'io_uring-register: EFAULT',
  'munmap: ok',
  'close: ok',
  'rmmod: ok',
  'churn: ok',
];

function pin(file: string, method: string): string[] {
  const out = spawnSync(pinProbe, [file, method, loopDevice, String(CHURN_MIB)], { encoding: 'utf8', timeout: 60_000 });
  expect(out.stderr).toBe('');
  expect(out.status).toBe(0);
  return out.stdout.trim().split('\n');
}

function churn(file: string, method: string): Record<string, string> {
  const before = refcount();
  const out = spawnSync(churnProbe, [file, method, String(CHURN_MS)], { encoding: 'utf8', timeout: 60_000 });
  expect(out.stderr).toBe('');
  const counts = Object.fromEntries(out.stdout.trim().split('\n').map((line) => {
    const colon = line.indexOf(': ');
    return [line.slice(0, colon), line.slice(colon + 2)];
  }));
  expect(counts).toMatchObject({
    wrong: '0', 'unexpected-signals': '0', 'dontneed-failures': '0', 'mremap-failures': '0',
    'fork-failures': '0', 'mappings-left': '0',
  });
  for (const key of ['reads', 'mremap-cycles', 'forks', method === 'pfn' ? 'dontneed-einval' : 'dontneed']) {
    expect(Number(counts[key]), key).toBeGreaterThan(0);
  }
  expect(counts[method === 'pfn' ? 'dontneed' : 'dontneed-einval']).toBe('0');
  expect(out.status).toBe(0);
  // Every mapping, the children's included, gave its module reference back.
  expect(refcount()).toBe(before);
  return counts;
}

describe.each(['contig', 'vmalloc'] as const)('/dev/kmmap, backing=%s', (backing) => {
  const params = [`backing=${backing}`];

  it.each(METHODS_OF[backing])(
    `method %s: pinned pages outlive munmap, close and rmmod and keep their bytes (Linux ${release})`,
    (method) => {
      reload(params);
      const lines = withCleanLog(() => pin(KMMAP_DEVICE_PATH, method));
      expect(lines).toEqual(method === 'pfn' ? PFN_LINES : pinnedLines());
      // Nothing but the pins was left, so the probe's delete_module() unloaded it.
      expect(isLoaded()).toBe(false);
    },
  );

  it.each(METHODS_OF[backing])('method %s: 8 readers see the pattern while MADV_DONTNEED, mremap and fork churn', (method) => {
    reload(params);
    withCleanLog(() => churn(KMMAP_DEVICE_PATH, method));
  });
});

describe('/proc/lkmc_mmap', () => {
  it(`its page, pinned, outlives munmap, close and rmmod and keeps its bytes (Linux ${release})`, () => {
    reload();
    const lines = withCleanLog(() => pin(LKMC_MMAP_PATH, '-'));
    expect(lines).toEqual(pinnedLines());
    expect(isLoaded()).toBe(false);
  });

  it('8 readers see the pattern while MADV_DONTNEED, mremap and fork churn', () => {
    reload();
    withCleanLog(() => churn(LKMC_MMAP_PATH, '-'));
  });
});
