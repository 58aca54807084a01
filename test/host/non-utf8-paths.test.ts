// A path whose bytes are not UTF-8 stays those bytes from map() to every
// later stat, open and descriptor (issue 11, class 10): decoded lossily it
// would name another file, and descriptor() and resize() would then claim
// the file was renamed or deleted.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { map, PAGE_SIZE } from '../../dist/index.js';
import { expectError, perTestFiles, runNode } from '../helpers';

const files = perTestFiles();
/** Latin-1 'café' (0xe9 alone is not UTF-8) and two bytes that never are. */
const NAME = Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x2d, 0xff, 0xfe]);

function fileWithRawName(bytes: Buffer): Buffer {
  const file = Buffer.concat([Buffer.from(`${files.dir}/`), NAME]);
  fs.writeFileSync(file, bytes);
  return file;
}

describe('a path that is not UTF-8', () => {
  it('maps by Buffer, and descriptor() gives its bytes back, so fromDescriptor() maps the same file (also through JSON)', () => {
    const file = fileWithRawName(Buffer.alloc(2 * PAGE_SIZE));
    using m = map(file, { access: 'rw', length: PAGE_SIZE });
    const d = m.descriptor();
    expect(Buffer.from(d.pathBytes!, 'base64')).toEqual(file);
    expect(d.path).toBe(file.toString());
    using again = map.fromDescriptor(JSON.parse(JSON.stringify(d)));
    again.buffer.write('same file');
    expect(m.buffer.toString('latin1', 0, 9)).toBe('same file');
    expect(fs.readFileSync(file).toString('latin1', 0, 9)).toBe('same file');
  });

  it('resize() still finds the file to check its size', () => {
    const file = fileWithRawName(Buffer.alloc(2 * PAGE_SIZE));
    using m = map(file, { access: 'rw', length: PAGE_SIZE });
    expect(m.resize(2 * PAGE_SIZE)!.length).toBe(2 * PAGE_SIZE);
    expectError(() => m.resize(2 * PAGE_SIZE + 1), { code: 'ERR_KMMAP_BEYOND_END' }, new RegExp(`reaches past the end of .* \\(${2 * PAGE_SIZE} bytes\\)`));
  });

  it('maps as a file: URL with percent-encoded bytes, the same file', () => {
    const file = fileWithRawName(Buffer.from('url bytes'));
    const url = new URL(`file://${files.dir}/${[...NAME].map((byte) => `%${byte.toString(16).padStart(2, '0')}`).join('')}`);
    using m = map(url);
    expect(m.buffer.toString()).toBe('url bytes');
    expect(Buffer.from(m.descriptor().pathBytes!, 'base64')).toEqual(file);
  });

  it('found from an fd: descriptor() names the file by its bytes', () => {
    const file = fileWithRawName(Buffer.alloc(PAGE_SIZE, 1));
    const fd = fs.openSync(file, 'r');
    try {
      using m = map(fd);
      expect(Buffer.from(m.descriptor().pathBytes!, 'base64')).toEqual(file);
    } finally {
      fs.closeSync(fd);
    }
  });

  it('relative to the working directory, made absolute with its bytes', () => {
    fileWithRawName(Buffer.from('relative'));
    const result = runNode(`
      const { map } = require('./dist');
      process.chdir(${JSON.stringify(files.dir)});
      const m = map(Buffer.from(${JSON.stringify([...NAME])}));
      console.log(JSON.stringify({ text: m.buffer.toString(), bytes: [...Buffer.from(m.descriptor().pathBytes, 'base64')] }));
    `);
    expect(result.status, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ text: 'relative', bytes: [...Buffer.from(path.join(files.dir, '/')), ...NAME] });
  });

  it('a UTF-8 path needs no bytes: descriptor() has no pathBytes', () => {
    const file = files.fileOf(Buffer.from('plain'), 'naïve.bin');
    using m = map(Buffer.from(file));
    expect(m.descriptor()).not.toHaveProperty('pathBytes');
    expect(m.descriptor().path).toBe(file);
  });
});
