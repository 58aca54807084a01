// Paths as the kernel sees them: bytes. A path that is not valid UTF-8
// stays a Buffer from the argument to every later stat, open and
// descriptor, so it never turns into another (lossily decoded) name. And
// opening a path to map it never blocks.
import * as fs from 'node:fs';
import * as nodePath from 'node:path';
import { isUtf8 } from 'node:buffer';
import { fileURLToPath } from 'node:url';
import { types } from 'node:util';
import { native } from './binding';
import { invalidArgValue, withContext } from './errors';

/** A path as kmmap keeps it: a string, or a Buffer when its bytes are not valid UTF-8. */
export type RawPath = string | Buffer;

/** How messages show a path (a Buffer decoded as Node's own fs errors do it). */
export function pathText(path: RawPath): string;
export function pathText(path: RawPath | undefined): string | undefined;
export function pathText(path: RawPath | undefined): string | undefined {
  return path === undefined || typeof path === 'string' ? path : path.toString();
}

function fromBytes(bytes: Buffer): RawPath {
  return isUtf8(bytes) ? bytes.toString() : bytes;
}

const urlHref = Object.getOwnPropertyDescriptor(URL.prototype, 'href')!.get!;

/** The href of a real URL (not an object that only has URL's prototype), or undefined. */
function hrefOf(value: unknown): string | undefined {
  if (!(value instanceof URL)) return undefined;
  try {
    return urlHref.call(value) as string;
  } catch {
    return undefined;
  }
}

/**
 * A path argument as kmmap keeps it: a string as given; a Buffer copied
 * (the caller may change or unmap it later), as a string when it is valid
 * UTF-8; a file: URL decoded, to bytes where they are not UTF-8 (where
 * fileURLToPath gives up). Undefined when `value` is none of these.
 */
export function rawPathOf(value: unknown): RawPath | undefined {
  if (typeof value === 'string') return value;
  if (types.isUint8Array(value) && Buffer.isBuffer(value)) return fromBytes(Buffer.from(value));
  const href = hrefOf(value);
  if (href === undefined) return undefined;
  try {
    return fileURLToPath(href);
  } catch (err) {
    // fileURLToPath checked the scheme, the host and encoded slashes before
    // it failed to decode bytes that are not UTF-8: decode them as bytes.
    if (!(err instanceof URIError)) throw err;
    const { pathname } = new URL(href);
    const bytes = Buffer.from(pathname.replace(/%([0-9a-f]{2})/gi, (_, hex: string) => String.fromCharCode(parseInt(hex, 16))), 'latin1');
    return fromBytes(bytes);
  }
}

/** An absolute form of `path`, keeping a Buffer's bytes. */
export function absolute(path: RawPath): RawPath {
  if (typeof path === 'string') return nodePath.resolve(path);
  return path[0] === 0x2f ? path : Buffer.concat([Buffer.from(`${nodePath.resolve('.')}/`), path]);
}

/** Where the fd's file can be opened again by path, if anywhere (not a memfd or a deleted file); bytes kept. */
export function linkTarget(fd: number): RawPath | undefined {
  try {
    const target = fs.readlinkSync(`/proc/self/fd/${fd}`, { encoding: 'buffer' });
    if (target[0] !== 0x2f || target.subarray(-10).toString('latin1') === ' (deleted)') return undefined;
    return fromBytes(target);
  } catch {
    return undefined;
  }
}

const { O_RDONLY, O_RDWR, O_NONBLOCK, O_NOCTTY } = fs.constants;

/**
 * Opens a path to map it: read-only, or read-write for `write`. O_NONBLOCK,
 * because open(2) of a FIFO with no writer (or of a tty waiting for carrier)
 * blocks, and nothing can interrupt a synchronous open; fileFacts() then
 * refuses what cannot be mapped. O_NOCTTY, so a terminal never becomes the
 * process's controlling terminal. The fd is only mmap'ed and closed, so
 * O_NONBLOCK changes nothing else. Through the addon, not fs.openSync:
 * map(path) opens a file per call, and fs's own checks cost more than the
 * system call (docs/performance.md). Close the fd with closeOpened().
 * Errors are Node's: ERR_INVALID_ARG_VALUE for a NUL byte, else a system
 * error with `path`, as from fs.openSync.
 */
export function openForMapping(path: RawPath, write: boolean): number {
  if (typeof path === 'string' ? path.includes('\0') : path.includes(0)) {
    throw invalidArgValue('path', pathText(path), 'must be a string, Uint8Array, or URL without null bytes');
  }
  try {
    // Bytes as a Uint8Array of their own: Deno's Node-API gives a pooled Buffer's memory without its offset.
    return native.open(typeof path === 'string' ? path : new Uint8Array(path), (write ? O_RDWR : O_RDONLY) | O_NONBLOCK | O_NOCTTY);
  } catch (err) {
    throw withContext(err, { path: pathText(path) });
  }
}

/** Closes an fd that openForMapping() opened (Deno's fs.closeSync refuses fds it did not open itself). */
export function closeOpened(fd: number): void {
  native.close(fd);
}
