// test/c/pagemap_target.c, compiled and started: a process whose memory is in
// known states, read from outside by pid. Shared by host and kernel tests.
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { compileTestProgram, tempDir } from './helpers';

/** What the target printed: addresses of its regions and what this kernel allowed. */
export interface TargetInfo {
  pid: number;
  pageSize: number;
  softDirty: bigint;
  clearRefs: boolean;
  privateAnon: bigint;
  sharedAnon: bigint;
  file: bigint;
  zero: bigint;
  guard: bigint;
  guardInstalled: boolean;
  uffd: bigint;
  uffdProtected: boolean;
  lruDrained: boolean;
}

/** A running target; stop() ends it and removes its files. */
export interface Target {
  info: TargetInfo;
  /** The 4-page file it maps. */
  fileBytes: Buffer;
  dir: string;
  stop(): Promise<void>;
}

export async function startTarget(): Promise<Target> {
  const tmp = tempDir('kmmap-target-');
  const binary = compileTestProgram('pagemap_target.c', tmp.dir);
  const filePath = path.join(tmp.dir, 'mapped');
  const fileBytes = Buffer.alloc(4 * 65536, 0x5a);
  fs.writeFileSync(filePath, fileBytes);
  const child: ChildProcess = spawn(binary, [filePath], { stdio: ['pipe', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve, reject) => {
    let text = '';
    child.stdout!.on('data', (data: Buffer) => {
      text += data.toString();
      if (text.includes('\n')) resolve(text.slice(0, text.indexOf('\n')));
    });
    child.on('error', reject);
    child.on('exit', (code) => reject(new Error(`pagemap_target exited with status ${code} before reporting`)));
  });
  const raw = JSON.parse(line) as Record<string, unknown>;
  const info = Object.fromEntries(
    Object.entries(raw).map(([key, value]) => [key, typeof value === 'string' ? BigInt(value) : value]),
  ) as unknown as TargetInfo;
  return {
    info,
    fileBytes,
    dir: tmp.dir,
    async stop() {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.stdin!.end();
      await exited;
      tmp.remove();
    },
  };
}

/** The Linux version as [major, minor]. */
export function kernelVersion(release: string): [number, number] {
  const match = /^(\d+)\.(\d+)/.exec(release);
  if (!match) throw new Error(`unexpected kernel release '${release}'`);
  return [Number(match[1]), Number(match[2])];
}

/** true when the running kernel is at least major.minor. */
export function kernelAtLeast(release: string, major: number, minor: number): boolean {
  const [ma, mi] = kernelVersion(release);
  return ma > major || (ma === major && mi >= minor);
}

/**
 * Whether this kernel tracks soft-dirty (CONFIG_MEM_SOFT_DIRTY): new
 * mappings then carry the 'sd' VmFlag in /proc/<pid>/smaps.
 */
/**
 * Whether a read fault on private anonymous memory maps the shared zero
 * page, as Linux does unless told otherwise: some hypervisor kernels take
 * `pvm_no_zero_page=1`, and then a read allocates a page of its own.
 */
export function kernelMapsZeroPage(): boolean {
  return !/(^|\s)pvm_no_zero_page=(1|y|Y)\b/.test(fs.readFileSync('/proc/cmdline', 'utf8'));
}

export function kernelHasSoftDirty(): boolean {
  return /^VmFlags:.* sd\b/m.test(fs.readFileSync('/proc/self/smaps', 'utf8'));
}
