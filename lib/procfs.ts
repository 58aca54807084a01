// What the pagemap toolkit needs from /proc besides the page-indexed files'
// contents: opening them with errors that say what permission is missing,
// batched reads of their 8-byte entries, and a process's list of mappings.
import * as fs from 'node:fs';
import { native } from './binding';
import { validateInteger } from './validate';
import { type Hint, withContext } from './errors';
import { processAccessHint } from './hints';

/** A process: its pid, or 'self' for the calling process. */
export type Pid = number | 'self';

/** Checks a pid option and returns the /proc directory of that process. */
export function procDir(pid: unknown = 'self'): string {
  if (pid !== 'self') validateInteger('pid', pid, 1, 0x7fffffff);
  return `/proc/${pid as Pid}`;
}

/**
 * Opens a /proc file for reading. Errors keep Node's shape (code, errno,
 * syscall 'open', path) and gain `hint`'s advice (what permission is
 * missing, or what is absent).
 */
export function openProcFile(path: string, hint: Hint): number {
  try {
    return fs.openSync(path, 'r');
  } catch (err) {
    throw withContext(err, {}, hint);
  }
}

/** Entries per pread: 512 KiB of entries. */
export const BATCH = 65536;

/**
 * Fills `out` with the 8-byte entries of an open page-indexed /proc file
 * from index `first`, BATCH entries per pread. Returns entries read: fewer
 * than out.length only at the end of the file.
 */
export function readEntries(fd: number, path: string, first: number, out: BigUint64Array): number {
  let done = 0;
  while (done < out.length) {
    const want = Math.min(out.length - done, BATCH);
    let got: number;
    try {
      got = native.readEntries(fd, first + done, out.subarray(done, done + want));
    } catch (err) {
      throw withContext(err, { path });
    }
    done += got;
    if (got < want) break;
  }
  return done;
}

/** The permissions column of /proc/<pid>/maps: 'r-xp', 'rw-s', '---p'... */
export type AreaPermissions = `${'r' | '-'}${'w' | '-'}${'x' | '-'}${'p' | 's'}`;

/** One line of /proc/<pid>/maps: a virtual memory area. */
export interface MemoryArea {
  /** First byte. */
  start: bigint;
  /** One past the last byte. */
  end: bigint;
  /** 'rwxp' style: read, write, execute ('-' where not), p(rivate) or s(hared). */
  permissions: AreaPermissions;
  /** Offset in the mapped file. */
  offset: bigint;
  /** 'major:minor' of the file's device. */
  device: string;
  inode: number;
  /** The file's path, '[heap]', '[stack]', '[vdso]'..., or '' for anonymous memory. */
  name: string;
}

const MAPS_LINE = /^([0-9a-f]+)-([0-9a-f]+) (\S{4}) ([0-9a-f]+) (\S+) (\d+)\s*(.*)$/;

/** The virtual memory areas of a process, from /proc/<pid>/maps. */
export function maps(pid: Pid = 'self'): MemoryArea[] {
  const path = `${procDir(pid)}/maps`;
  const fd = openProcFile(path, processAccessHint(pid));
  let text: string;
  try {
    text = fs.readFileSync(fd, 'latin1');
  } catch (err) {
    throw withContext(err, { path });
  } finally {
    fs.closeSync(fd);
  }
  const areas: MemoryArea[] = [];
  for (const line of text.split('\n')) {
    const m = MAPS_LINE.exec(line);
    if (!m) continue;
    areas.push({
      start: BigInt(`0x${m[1]}`),
      end: BigInt(`0x${m[2]}`),
      permissions: m[3] as AreaPermissions,
      offset: BigInt(`0x${m[4]}`),
      device: m[5]!,
      inode: Number(m[6]),
      name: m[7]!,
    });
  }
  return areas;
}
