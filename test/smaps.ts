// Reads this process's /proc/self/smaps entry for a mapping: the kernel's
// own account of its flags (VmFlags) and sizes, to prove what a call did.
import * as fs from 'node:fs';

export interface SmapsEntry {
  /** The header line: range, permissions ('rw-s'), offset, device, inode, path. */
  header: string;
  /** Two-letter VmFlags ('lo' locked, 'nr' noreserve, 'rr' random, ...). */
  flags: Set<string>;
  /** The "Name: N kB" fields, in kB. */
  kB: Record<string, number>;
}

/** The smaps entry of the memory area that holds `address`; throws if there is none. */
export function smapsAt(address: bigint): SmapsEntry {
  const block = fs.readFileSync('/proc/self/smaps', 'latin1').split(/\n(?=[0-9a-f]+-[0-9a-f]+ )/).find((b) => {
    const [start, end] = b.slice(0, b.indexOf(' ')).split('-').map((hex) => BigInt(`0x${hex}`));
    return start! <= address && address < end!;
  });
  if (block === undefined) throw new Error(`no memory area holds 0x${address.toString(16)}`);
  const [header, ...lines] = block.split('\n');
  const kB: Record<string, number> = {};
  let flags = new Set<string>();
  for (const line of lines) {
    const size = /^(\w+):\s+(\d+) kB$/.exec(line);
    if (size) kB[size[1]!] = Number(size[2]);
    if (line.startsWith('VmFlags:')) flags = new Set(line.slice(8).trim().split(/\s+/));
  }
  return { header: header!, flags, kB };
}

/** Whether any memory area of this process holds `address`. */
export function isMapped(address: bigint): boolean {
  try {
    smapsAt(address);
    return true;
  } catch {
    return false;
  }
}
