// The files, devices and fds a program works on. Made once per child
// process; reset() restores every file's contents before each program.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';

export const PAGE = 4096;

/** Test files: name and size. Sizes sit on and around page boundaries, with one file of 5 bytes. */
const FILES = [['f0', 0], ['f1', 5], ['f2', 4095], ['f3', 4096], ['f4', 4097], ['f5', 3 * PAGE + 100], ['f6', 65536]];
/** A file whose name is not UTF-8. */
const NON_UTF8 = Buffer.from([0x6e, 0x75, 0xff, 0xfe, 0x2e, 0x62, 0x69, 0x6e]);

function contentOf(name, size) {
  // Deterministic, nonzero, different per file and offset.
  const seed = name.charCodeAt(1);
  const buf = Buffer.alloc(size);
  for (let i = 0; i < size; i++) buf[i] = ((i * 31 + seed * 7) & 0xff) | 1;
  return buf;
}

export class Env {
  constructor() {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kmmap-fuzz-'));
    this.files = [];
    for (const [name, size] of FILES) this.files.push({ name, path: path.join(this.dir, name), initial: contentOf(name, size) });
    const weird = Buffer.concat([Buffer.from(`${this.dir}/`), NON_UTF8]);
    this.files.push({ name: 'nonUtf8', path: weird, initial: contentOf('n8', 2 * PAGE) });
    this.fifo = path.join(this.dir, 'fifo');
    execFileSync('mkfifo', [this.fifo]);
    this.scratch = path.join(this.dir, 'scratch');
    fs.writeFileSync(this.scratch, Buffer.alloc(2 ** 20, 0x5a));
    /** Paths map() and the CLI are pointed at; a file index is also its target index. */
    this.targets = [
      ...this.files.map((f) => ({ name: f.name, path: f.path })),
      { name: 'devZero', path: '/dev/zero' },
      { name: 'fifo', path: this.fifo },
      { name: 'dir', path: this.dir },
      { name: 'procVersion', path: '/proc/version' },
      { name: 'procMaps', path: '/proc/self/maps' },
      { name: 'devNull', path: '/dev/null' },
      { name: 'missing', path: path.join(this.dir, 'missing') },
      { name: 'procPagemap', path: '/proc/self/pagemap' },
      { name: 'devUrandom', path: '/dev/urandom' },
      { name: 'devKmmap', path: '/dev/kmmap' },
      { name: 'lkmc', path: '/proc/lkmc_mmap' },
      { name: 'sysThp', path: '/sys/kernel/mm/transparent_hugepage/enabled' },
      { name: 'procStatus', path: '/proc/self/status' },
    ];
    this.zeroRdev = fs.statSync('/dev/zero').rdev;
  }

  /** Restores every file, opens the fds a program may use. */
  reset() {
    for (const f of this.files) {
      if (f.fd === undefined) {
        fs.writeFileSync(f.path, f.initial);
        f.fd = fs.openSync(f.path, 'r+');
      } else {
        // Rewrite only what a program changed: truncating costs a journal commit.
        const size = fs.fstatSync(f.fd).size;
        const now = Buffer.alloc(size);
        fs.readSync(f.fd, now, 0, size, 0);
        if (!now.equals(f.initial)) {
          if (size !== f.initial.length) fs.ftruncateSync(f.fd, f.initial.length);
          fs.writeSync(f.fd, f.initial, 0, f.initial.length, 0);
        }
      }
      const st = fs.fstatSync(f.fd, { bigint: true });
      f.ino = st.ino;
      f.dev = st.dev;
      f.content = Buffer.from(f.initial);
      f.stale = false;
    }
    this.closeUserFds();
    const open = (p, flags) => {
      try {
        return fs.openSync(p, flags);
      } catch {
        return 1_000_000; // an fd number that is not open
      }
    };
    this.userFds = [
      open(this.files[1].path, 'r'), open(this.files[5].path, 'r+'), open(this.files[3].path, 'r'), open('/dev/zero', 'r'),
      open('/dev/zero', 'r+'), open('/dev/null', 'r'), open(this.dir, 'r'), open('/proc/self/pagemap', 'r'),
      open(this.files[7].path, 'r+'), open(this.files[2].path, 'r+'), open('/proc/version', 'r'), -1, 1_000_000, 2 ** 31 - 1,
    ];
    this.openUserFds = new Set(this.userFds.filter((fd) => fd >= 3 && fd < 1_000_000));
  }

  closeUserFds() {
    for (const fd of this.openUserFds ?? []) {
      try {
        fs.closeSync(fd);
      } catch {
        // closed by the program
      }
    }
    this.openUserFds = new Set();
  }

  /** The test file with this inode (after a stat of what a program mapped), if any. */
  fileByIno(ino, dev) {
    return this.files.find((f) => f.ino === ino && f.dev === dev);
  }

  remove() {
    this.closeUserFds();
    for (const f of this.files) if (f.fd !== undefined) fs.closeSync(f.fd);
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
