// The canonical hex+ASCII layout of `hexdump -C` (and `xxd`-like tools),
// streamed line by line so that a large mapping never becomes one string.

/** Options of hexdumpLines(). */
export interface HexdumpOptions {
  /** Offset shown for bytes[0]: the dump's position in its file. Default 0. */
  base?: number;
  /**
   * Collapse runs of identical 16-byte lines into one '*' line, as hexdump
   * does unless -v. Default true.
   */
  squeeze?: boolean;
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

function offsetText(offset: number): string {
  return offset.toString(16).padStart(8, '0');
}

/** One line: offset, two groups of 8 hex bytes, and the printable bytes between bars. */
function line(bytes: Uint8Array, from: number, to: number, offset: number): string {
  let hex = '';
  let text = '';
  for (let i = 0; i < 16; i++) {
    if (i === 8) hex += ' ';
    const index = from + i;
    if (index < to) {
      const byte = bytes[index]!;
      hex += `${HEX[byte]} `;
      text += byte >= 0x20 && byte < 0x7f ? String.fromCharCode(byte) : '.';
    } else {
      hex += '   ';
    }
  }
  return `${offsetText(offset)}  ${hex} |${text}|\n`;
}

function sameLine(bytes: Uint8Array, a: number, b: number): boolean {
  for (let i = 0; i < 16; i++) if (bytes[a + i] !== bytes[b + i]) return false;
  return true;
}

/**
 * Yields `hexdump -C` output for `bytes`, a line at a time, ending with the
 * offset one past the last byte. No bytes: only that offset, or nothing at
 * all at offset 0, as hexdump prints an empty file, or an offset at or past
 * the end of a file.
 */
export function* hexdumpLines(bytes: Uint8Array, options: HexdumpOptions = {}): Generator<string> {
  const base = options.base ?? 0;
  const squeeze = options.squeeze ?? true;
  if (bytes.length === 0) {
    if (base > 0) yield `${offsetText(base)}\n`;
    return;
  }
  let starred = false;
  for (let from = 0; from < bytes.length; from += 16) {
    const full = from + 16 <= bytes.length;
    if (squeeze && full && from >= 16 && sameLine(bytes, from, from - 16)) {
      if (!starred) yield '*\n';
      starred = true;
      continue;
    }
    starred = false;
    yield line(bytes, from, Math.min(from + 16, bytes.length), base + from);
  }
  yield `${offsetText(base + bytes.length)}\n`;
}
