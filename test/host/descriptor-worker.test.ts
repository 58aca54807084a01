// mapping.descriptor() is plain data that map.fromDescriptor() maps again:
// in a worker thread, the same physical pages for a shared mapping (shared
// writes prove it, and pagemap PFNs too when running as root); in another
// process after JSON. Stale or private descriptors are refused with codes.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { map, type MappingDescriptor, PAGE_SIZE, pagemap } from '../../dist/index.js';
import { expectError, isRoot, REPO, runNode, perTestFiles } from '../helpers';

const files = perTestFiles();
const { fileOf } = files;

interface WorkerReply {
  read: string;
  physicalAddress: bigint | null;
  address: bigint;
}

/**
 * Maps the descriptor in a worker, reads `readLength` bytes, writes `write`
 * at byte 0 and replies with what it read and, as root, the physical address
 * of its first byte.
 */
function inWorker(descriptor: MappingDescriptor, write: string, readLength: number): Promise<WorkerReply> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(`
      const { parentPort, workerData } = require('node:worker_threads');
      const { map, pagemap } = require(workerData.dist);
      const m = map.fromDescriptor(workerData.descriptor);
      const read = m.buffer.toString('latin1', 0, workerData.readLength);
      if (workerData.write) m.buffer.write(workerData.write, 0, 'latin1');
      const physicalAddress = workerData.root ? pagemap.physicalAddress(m) : null;
      parentPort.postMessage({ read, physicalAddress, address: m.address });
      m.close();
    `, { eval: true, workerData: { dist: path.join(REPO, 'dist'), descriptor, write, readLength, root: isRoot } });
    let reply: WorkerReply | undefined;
    worker.on('message', (value: WorkerReply) => {
      reply = value;
    });
    worker.on('error', reject);
    worker.on('exit', (status) => (status === 0 && reply ? resolve(reply) : reject(new Error(`worker exited with ${status}`))));
  });
}

describe('in a worker thread', () => {
  it('a shared file mapping: the same pages (shared writes, and the same PFN as root)', async () => {
    const file = fileOf(Buffer.alloc(2 * PAGE_SIZE));
    using m = map(file, { access: 'rw' });
    m.buffer.write('from main');
    const reply = await inWorker(m.descriptor(), 'from the worker', 9);
    expect(reply.read).toBe('from main');
    expect(reply.address).not.toBe(m.address);
    expect(m.buffer.toString('latin1', 0, 15)).toBe('from the worker');
    if (isRoot) expect(reply.physicalAddress).toBe(pagemap.physicalAddress(m));
    else expect(reply.physicalAddress).toBeNull();
  });

  it('shared anonymous memory: the same memfd pages, through /proc/<pid>/fd', async () => {
    using m = map.anonymous(PAGE_SIZE);
    m.buffer.write('anonymous');
    const descriptor = m.descriptor();
    expect(descriptor.path).toBe(`/proc/${process.pid}/fd/${m.memfd}`);
    const reply = await inWorker(descriptor, 'worker wrote', 9);
    expect(reply.read).toBe('anonymous');
    expect(m.buffer.toString('latin1', 0, 12)).toBe('worker wrote');
    if (isRoot) expect(reply.physicalAddress).toBe(pagemap.physicalAddress(m));
  });

  it('a non-aligned offset: the worker\'s mapping starts at the same byte', async () => {
    const bytes = Buffer.alloc(2 * PAGE_SIZE);
    bytes.write('the 1000th byte', 1000);
    const file = fileOf(bytes);
    using m = map(file, { offset: 1000, length: 100, access: 'rw' });
    const descriptor = m.descriptor();
    expect(descriptor.offset).toBe('1000');
    const reply = await inWorker(descriptor, 'THE', 15);
    expect(reply.read).toBe('the 1000th byte');
    expect(m.buffer.toString('latin1', 0, 15)).toBe('THE 1000th byte');
  });

  it("a 'copy' mapping maps the file again, not this mapping's private writes", async () => {
    const file = fileOf(Buffer.alloc(PAGE_SIZE, 'f'));
    using m = map(file, { access: 'copy' });
    m.buffer.write('private');
    const reply = await inWorker(m.descriptor(), 'worker private', 7);
    expect(reply.read).toBe('fffffff');
    expect(m.buffer.toString('latin1', 0, 7)).toBe('private');
    expect(fs.readFileSync(file).toString('latin1', 0, 7)).toBe('fffffff');
  });
  it('postMessage copies a mapped buffer, and a transfer copies or is refused, so no thread is left over unmapped memory', async () => {
    using m = map.anonymous(PAGE_SIZE);
    m.buffer.write('original');
    const worker = new Worker(`
      const { parentPort } = require('node:worker_threads');
      parentPort.on('message', (memory) => {
        new Uint8Array(memory).set(Buffer.from('CHANGED!'));
        parentPort.postMessage(Buffer.from(memory).toString('latin1', 0, 8));
      });
    `, { eval: true });
    const reply = () => new Promise((resolve) => worker.once('message', resolve));
    const memory = m.buffer.buffer as ArrayBuffer;
    try {
      let answer = reply();
      worker.postMessage(memory);
      expect(await answer).toBe('CHANGED!');
      // In the transfer list: Node 20 copies, Node 22 and later refuse.
      answer = reply();
      let refused: unknown;
      try {
        worker.postMessage(memory, [memory]);
      } catch (err) {
        refused = err;
      }
      if (refused === undefined) expect(await answer).toBe('CHANGED!');
      else expect(refused).toMatchObject({ name: 'DataCloneError' });
    } finally {
      await worker.terminate();
    }
    expect(m.buffer.length).toBe(PAGE_SIZE);
    expect(m.buffer.toString('latin1', 0, 8)).toBe('original');
  });
});

describe('the descriptor itself', () => {
  it('is plain data: JSON carries it to another process, which maps the same file region', () => {
    const file = fileOf(Buffer.alloc(PAGE_SIZE));
    using m = map(file, { access: 'rw', offset: 7, length: 20, populate: true });
    const descriptor = m.descriptor();
    expect(descriptor).toEqual({
      kind: 'kmmap.mapping/1',
      path: file,
      offset: '7',
      length: 20,
      access: 'rw',
      dev: expect.stringMatching(/^\d+$/),
      ino: expect.stringMatching(/^\d+$/),
      populate: true,
      locked: false,
      noreserve: false,
      hugetlb: false,
      sync: false,
      allowBeyondEnd: false,
    });
    const result = runNode(`
      const { map } = require('./dist');
      const m = map.fromDescriptor(JSON.parse(process.argv[1]));
      m.buffer.write('another process');
    `.replace('process.argv[1]', JSON.stringify(JSON.stringify(descriptor))));
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(m.buffer.toString('latin1', 0, 15)).toBe('another process');
    expect(fs.readFileSync(file).toString('latin1', 7, 22)).toBe('another process');
  });

  it('of an fd mapping whose file was deleted: /proc/<pid>/fd/<fd> while the fd is open, then refused', () => {
    const file = fileOf(Buffer.alloc(PAGE_SIZE));
    const fd = fs.openSync(file, 'r+');
    using m = map(fd, { access: 'rw' });
    expect(m.descriptor().path).toBe(file);
    fs.rmSync(file);
    const descriptor = m.descriptor();
    expect(descriptor.path).toBe(`/proc/${process.pid}/fd/${fd}`);
    using again = map.fromDescriptor(descriptor);
    again.buffer.write('deleted but open');
    expect(m.buffer.toString('latin1', 0, 16)).toBe('deleted but open');
    fs.closeSync(fd);
    expectError(() => m.descriptor(), { code: 'ERR_KMMAP_NOT_SHAREABLE' }, /renamed or deleted/);
  });

  it('of private anonymous memory: ERR_KMMAP_NOT_SHAREABLE, naming the shared kind', () => {
    using m = map.anonymous(PAGE_SIZE, { shared: false });
    expectError(() => m.descriptor(), { code: 'ERR_KMMAP_NOT_SHAREABLE' }, /shared: true/);
  });

  it('whose path now names another file: ERR_KMMAP_DESCRIPTOR_STALE, never the wrong file mapped', () => {
    const file = fileOf(Buffer.alloc(PAGE_SIZE, 'o'));
    using m = map(file);
    const descriptor = m.descriptor();
    fs.writeFileSync(`${file}.new`, Buffer.alloc(PAGE_SIZE, 'n'));
    fs.renameSync(`${file}.new`, file);
    expectError(() => map.fromDescriptor(descriptor), { code: 'ERR_KMMAP_DESCRIPTOR_STALE' }, /describe the mapping again/);
  });

  it('malformed: coded argument errors', () => {
    using m = map.anonymous(PAGE_SIZE);
    const good = m.descriptor();
    expectError(() => map.fromDescriptor(null as never), { code: 'ERR_INVALID_ARG_TYPE' }, /descriptor/);
    expectError(() => map.fromDescriptor({ ...good, kind: 'x' } as never), { code: 'ERR_INVALID_ARG_VALUE' }, /descriptor\.kind/);
    expectError(() => map.fromDescriptor({ ...good, offset: -1 } as never), { code: 'ERR_INVALID_ARG_VALUE' }, /descriptor\.offset/);
    expectError(() => map.fromDescriptor({ ...good, length: 0 }), { code: 'ERR_INVALID_ARG_VALUE' }, /descriptor\.length/);
    expectError(() => map.fromDescriptor({ ...good, access: 'w' } as never), { code: 'ERR_INVALID_ARG_VALUE' }, /descriptor\.access/);
    expectError(() => map.fromDescriptor({ ...good, hugetlb: true } as never), { code: 'ERR_INVALID_ARG_VALUE' }, /descriptor\.hugetlb/);
    expectError(() => map.fromDescriptor({ ...good, path: '' }), { code: 'ERR_INVALID_ARG_VALUE' }, /descriptor\.path/);
  });
});
