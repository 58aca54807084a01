#!/usr/bin/env node
// The kmmap command: pagemap of a live process, hexdumps through a mapping,
// and the reference scenario. Exit status: 0 ok, 1 runtime error (the
// message names its code), 2 usage error.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { runReferenceScenario } from './demo';
import { codedError } from './errors';
import { type FileFacts, fileFacts } from './file-bounds';
import { hexdumpLines } from './hexdump';
import { FlagCombination, names as kpfNames } from './kpageflags';
import { LKMC_MMAP_PATH } from './uapi';
import { mapOpened } from './map';
import { PAGE_SIZE } from './page';
import * as pagemap from './pagemap';
import { buildReport, noSuchMapping, Report, ReportRange } from './pagemap-report';
import { closeOpened, openForMapping } from './paths';

/** Where the command writes; tests pass their own. */
export interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
}

const USAGE = `Usage: kmmap <command> [options]

Commands:
  pagemap <pid|self> [range]             pages of a process: PFN or swap, pagemap flags, kpageflags
  dump <path> [--offset N] [--length N]  hexdump of a file or device, read through a mapping
  demo                                   the reference scenario on ${LKMC_MMAP_PATH}

Options for every command:
  --json      machine-readable output (errors too, on stderr)
  -h, --help  help for the command

Run 'kmmap <command> --help' for a command's options.
Exit status: 0 ok, 1 runtime error, 2 usage error.
`;

const PAGEMAP_USAGE = `Usage: kmmap pagemap <pid|self> [range] [--all] [--summary] [--method auto|ioctl|pagemap] [--json]

Shows the pages of a process (self: the kmmap process itself) as
/proc/<pid>/pagemap describes them, one row per page: virtual address,
PFN (or swap type:offset), pagemap flags (soft-dirty, exclusive, uffd-wp,
guard, file, swapped, present) and, where readable (root), the page's
/proc/kpageflags names and /proc/kpagecount. Then summaries: pages by
pagemap flags, and by kpageflags combination as tools/mm/page-types prints.

range:
  START..END      addresses, END exclusive (0x7f0000000000..0x7f0000004000)
  START+LENGTH    LENGTH bytes from START (0x7f0000000000+0x4000)
  START           the page holding START
  NAME            every mapping named NAME in /proc/<pid>/maps: [heap],
                  [stack], a file's path or its base name (libc.so.6)
  (none)          every mapping of the process

Options:
  --all           every page of the range, not only present or swapped ones
  --summary       the summaries only, no rows
  --method M      how present pages are found: auto (PAGEMAP_SCAN where the
                  kernel has it, else pagemap), ioctl or pagemap
  --json          JSON: { pid, method, ranges, pages: [...], summary }

Numbers are decimal or 0x-prefixed hex. PFNs need CAP_SYS_ADMIN: elsewhere
they are hidden (the kernel reports 0) and the kpageflags summary says so.
`;

const DUMP_USAGE = `Usage: kmmap dump <path> [--offset N] [--length N] [-v] [--json]

Maps the file (read-only, shared) and prints its bytes as 'hexdump -C'
does: offset, 16 bytes in hex, the printable ones between bars; runs of
identical lines collapse into '*' unless -v.

Options:
  --offset N   first byte (any N; the mapping itself starts at the page below)
  --length N   bytes to show. Default: to the end of a regular file, and
               never past it (as hexdump -C). Devices and /proc files
               report size 0: give --length.
  -v           show every line, even repeated ones
  --json       JSON: { path, offset, length, hex }
`;

const DEMO_USAGE = `Usage: kmmap demo [--json]

Runs the reference scenario on ${LKMC_MMAP_PATH} (kmmap.ko must be loaded):
two shared mappings of one page, writes seen through both and through
read(2)/write(2), the same physical address from pagemap and the module.
Where the module is not loaded, 'npm run demo' in the kmmap repository
boots a VM with it.
`;

class UsageError extends Error {
  readonly code = 'ERR_KMMAP_USAGE';
  constructor(message: string, readonly command?: string) {
    super(message);
  }
}

const hex = (value: bigint | number) => `0x${value.toString(16)}`;

function parseNumber(name: string, text: string): bigint {
  if (!/^(0x[0-9a-f]+|\d+)$/i.test(text)) throw new UsageError(`${name} must be a decimal or 0x-prefixed hex number, not '${text}'`);
  return BigInt(text);
}

function parsePid(text: string | undefined): pagemap.Pid {
  if (text === undefined) throw new UsageError('pagemap needs a pid (or self)', 'pagemap');
  if (text === 'self') return 'self';
  if (!/^[1-9]\d{0,9}$/.test(text) || Number(text) > 0x7fffffff) throw new UsageError(`'${text}' is not a pid (a positive integer, or self)`, 'pagemap');
  return Number(text);
}

/** Turns the range argument into address ranges, reading the process's maps for a name. */
function parseRange(text: string | undefined, pid: pagemap.Pid): ReportRange[] {
  if (text === undefined) {
    // [vsyscall] sits in the kernel's half of the address space: pagemap has no entries for it.
    return pagemap.maps(pid)
      .filter((area) => area.start < 1n << 63n)
      .map((area) => ({ start: area.start, end: area.end, name: area.name }));
  }
  const span = /^(\w+)(\.\.|\+)(\w+)$/.exec(text);
  if (span) {
    const start = parseNumber('the range start', span[1]!);
    const second = parseNumber(span[2] === '..' ? 'the range end' : 'the range length', span[3]!);
    const end = span[2] === '..' ? second : start + second;
    if (end <= start) throw new UsageError(`the range ${text} is empty: its end must be above its start`, 'pagemap');
    if (end > 1n << 64n) throw new UsageError(`the range ${text} ends beyond 2^64`, 'pagemap');
    return [{ start, end }];
  }
  if (/^(0x[0-9a-f]+|\d+)$/i.test(text)) {
    const start = BigInt(text);
    return [{ start, end: start + 1n }];
  }
  const areas = pagemap.maps(pid).filter((area) => area.name === text || (area.name !== '' && path.basename(area.name) === text));
  if (areas.length === 0) throw noSuchMapping(text, pid);
  return areas.map((area) => ({ start: area.start, end: area.end, name: area.name }));
}

function pageFlagsLine(combo: FlagCombination): string {
  const pages = String(combo.pages).padStart(10);
  const mb = String(Math.floor((combo.pages * PAGE_SIZE) / 2 ** 20)).padStart(8);
  return `0x${combo.flags.toString(16).padStart(16, '0')}\t${pages} ${mb}  ${combo.symbolic}\t${combo.names.join(',')}\n`;
}

function reportText(report: Report, options: { rows: boolean }, out: (text: string) => void): void {
  out(`pid ${report.pid}: ${report.pages.length} pages (found by ${report.method})\n`);
  if (options.rows && report.pages.length > 0) {
    out(`${'address'.padEnd(18)} ${'pfn/swap'.padEnd(22)} ${'flags'.padEnd(32)} map  page flags\n`);
    let chunk = '';
    for (const page of report.pages) {
      const e = page.entry;
      const where = e.present ? (e.pfnHidden ? 'hidden' : hex(e.pfn!)) : e.swap ? `swap:${e.swap.type}:${hex(e.swap.offset)}` : '-';
      const count = page.mapCount === null ? '-' : String(page.mapCount);
      const names = page.pageFlags === null ? '-' : kpfNames(page.pageFlags).join(',') || '(none)';
      chunk += `${hex(e.address).padEnd(18)} ${where.padEnd(22)} ${(pagemap.flagNames(e).join(',') || '-').padEnd(32)} ${count.padStart(3)}  ${names}\n`;
      if (chunk.length > 1 << 16) {
        out(chunk);
        chunk = '';
      }
    }
    out(chunk);
  }
  out('\npagemap flags                      pages\n');
  for (const combo of report.pagemapSummary) out(`${(combo.flags.join(',') || '(none)').padEnd(32)} ${String(combo.pages).padStart(8)}\n`);
  out('\npage flags (/proc/kpageflags)\n');
  if (report.pageFlagsSummary === null) {
    out(`unavailable: ${report.pageFlagsUnavailable!.message} [${report.pageFlagsUnavailable!.code}]\n`);
    return;
  }
  out('             flags\tpage-count       MB  symbolic-flags\tlong-symbolic-flags\n');
  for (const combo of report.pageFlagsSummary) out(pageFlagsLine(combo));
  const total = report.pageFlagsSummary.reduce((sum, combo) => sum + combo.pages, 0);
  out(`             total\t${String(total).padStart(10)} ${String(Math.floor((total * PAGE_SIZE) / 2 ** 20)).padStart(8)}\n`);
}

function reportJson(report: Report, options: { rows: boolean }): unknown {
  return {
    pid: report.pid,
    method: report.method,
    ranges: report.ranges.map((range) => ({ start: hex(range.start), end: hex(range.end), name: range.name ?? null })),
    pages: options.rows
      ? report.pages.map(({ entry: e, pageFlags, mapCount }) => ({
          address: hex(e.address),
          raw: hex(e.raw),
          pfn: e.pfn === null ? null : hex(e.pfn),
          pfnHidden: e.pfnHidden,
          swap: e.swap === null ? null : { type: e.swap.type, offset: hex(e.swap.offset) },
          flags: pagemap.flagNames(e),
          pageFlags: pageFlags === null ? null : kpfNames(pageFlags),
          mapCount: mapCount === null ? null : Number(mapCount),
        }))
      : null,
    summary: {
      pagemap: report.pagemapSummary,
      pageFlags: report.pageFlagsSummary === null
        ? null
        : report.pageFlagsSummary.map((combo) => ({ flags: hex(combo.flags), names: combo.names, symbolic: combo.symbolic, pages: combo.pages })),
      pageFlagsUnavailable: report.pageFlagsUnavailable,
    },
  };
}

type Parsed = ReturnType<typeof parseArgs<{ options: Record<string, { type: 'string' | 'boolean'; short?: string }>; allowPositionals: true; strict: true }>>;

function parse(command: string, args: string[], options: Record<string, { type: 'string' | 'boolean'; short?: string }>): Parsed {
  try {
    return parseArgs({ args, options: { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' }, ...options }, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message, command);
  }
}

/**
 * The library's hints name its options; the command has flags. Rewords the
 * few hints that reach `kmmap pagemap` from pagemap.scan().
 */
function inCommandTerms(err: unknown): unknown {
  if (err instanceof Error) err.message = err.message.replace("use method 'pagemap' or 'auto'", 'use --method pagemap (or auto)');
  return err;
}

function commandPagemap(args: string[], io: Io): void {
  const { values, positionals } = parse('pagemap', args, {
    all: { type: 'boolean' },
    summary: { type: 'boolean' },
    method: { type: 'string' },
  });
  if (values.help) return io.out(PAGEMAP_USAGE);
  if (positionals.length > 2) throw new UsageError(`pagemap takes a pid and at most one range, not ${positionals.length} arguments`, 'pagemap');
  const method = (values.method as string | undefined) ?? 'auto';
  if (method !== 'auto' && method !== 'ioctl' && method !== 'pagemap') throw new UsageError(`--method must be auto, ioctl or pagemap, not '${method}'`, 'pagemap');
  const pid = parsePid(positionals[0]);
  const ranges = parseRange(positionals[1], pid);
  let report: Report;
  try {
    report = buildReport(ranges, { pid, all: values.all === true, method });
  } catch (err) {
    throw inCommandTerms(err);
  }
  const rows = values.summary !== true;
  if (values.json) io.out(`${JSON.stringify(reportJson(report, { rows }), null, 2)}\n`);
  else reportText(report, { rows }, io.out);
}

/**
 * What `kmmap dump` shows of a file, as hexdump -C: never past the end of a
 * regular file or block device (an offset past it shows the end's offset;
 * bytes past it are not the file's), and an explicit --length for a device
 * or kernel file, whose size stat cannot tell.
 */
function dumpRange(file: string, fd: number, offset: bigint, length: bigint | undefined): { start: bigint; shown: bigint; facts: FileFacts } {
  const facts = fileFacts(fd, file);
  if (facts.kind === 'unsized') {
    if (length === undefined) {
      throw codedError('ERR_KMMAP_LENGTH_REQUIRED',
        `${file} is a device or a kernel file whose size stat cannot tell (it says ${facts.size}): give --length, e.g. --length ${PAGE_SIZE}`);
    }
    return { start: offset, shown: length, facts };
  }
  const start = offset < facts.size ? offset : facts.size;
  const rest = facts.size - start;
  return { start, shown: length === undefined || length > rest ? rest : length, facts };
}

function commandDump(args: string[], io: Io): void {
  const { values, positionals } = parse('dump', args, {
    offset: { type: 'string' },
    length: { type: 'string' },
    v: { type: 'boolean', short: 'v' },
  });
  if (values.help) return io.out(DUMP_USAGE);
  if (positionals.length !== 1) throw new UsageError('dump takes exactly one path', 'dump');
  const file = positionals[0]!;
  const offset = values.offset === undefined ? 0n : parseNumber('--offset', values.offset as string);
  const length = values.length === undefined ? undefined : parseNumber('--length', values.length as string);
  if (offset > BigInt(Number.MAX_SAFE_INTEGER)) throw new UsageError('--offset must be below 2^53', 'dump');
  if (length !== undefined && length > BigInt(Number.MAX_SAFE_INTEGER)) throw new UsageError('--length must be below 2^53', 'dump');
  const emit = (view: Uint8Array, base: bigint) => {
    if (values.json) {
      io.out(`${JSON.stringify({ path: file, offset: Number(offset), length: view.length, hex: Buffer.from(view.buffer, view.byteOffset, view.length).toString('hex') })}\n`);
      return;
    }
    if (length === 0n) return; // hexdump -n 0 prints nothing, not even an offset
    let chunk = '';
    for (const text of hexdumpLines(view, { base: Number(base), squeeze: values.v !== true })) {
      chunk += text;
      if (chunk.length > 1 << 16) {
        io.out(chunk);
        chunk = '';
      }
    }
    io.out(chunk);
  };
  // Opened here (non-blocking, so a FIFO cannot hang it) to learn the size from the same fd that is mapped.
  const fd = openForMapping(file, false);
  try {
    const { start, shown, facts } = dumpRange(file, fd, offset, length);
    if (shown === 0n) return emit(new Uint8Array(0), start);
    // map() maps from the page below `start`: skip the bytes before it.
    const delta = start % BigInt(PAGE_SIZE);
    // A shared mapping of /dev/zero is new memory that an offset would reach past; a private one is zeros everywhere.
    using mapping = mapOpened(fd, file, { offset: start - delta, length: Number(shown + delta), access: facts.device === 'zero' ? 'copy' : 'r' });
    emit(mapping.view(Number(delta), Number(shown)), start);
  } finally {
    closeOpened(fd);
  }
}

function commandDemo(args: string[], io: Io): void {
  const { values, positionals } = parse('demo', args, {});
  if (values.help) return io.out(DEMO_USAGE);
  if (positionals.length > 0) throw new UsageError('demo takes no arguments', 'demo');
  if (!fs.existsSync(LKMC_MMAP_PATH)) {
    throw codedError('ERR_KMMAP_MODULE_NOT_LOADED',
      `${LKMC_MMAP_PATH} does not exist: the kmmap.ko module is not loaded on this machine. ` +
        'Run `npm run demo` in the kmmap repository, which boots a VM with the module inserted, ' +
        'or load it here: make -C kernel && sudo insmod kernel/kmmap.ko');
  }
  const steps: string[] = [];
  runReferenceScenario(LKMC_MMAP_PATH, (step) => {
    steps.push(step);
    if (!values.json) io.out(`${step}\n`);
  });
  if (values.json) io.out(`${JSON.stringify({ path: LKMC_MMAP_PATH, ok: true, steps })}\n`);
}

const COMMANDS: Record<string, { run: (args: string[], io: Io) => void; usage: string }> = {
  pagemap: { run: commandPagemap, usage: PAGEMAP_USAGE },
  dump: { run: commandDump, usage: DUMP_USAGE },
  demo: { run: commandDemo, usage: DEMO_USAGE },
};

function version(): string {
  const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

/** Runs the command line `argv` (without node and the script) and returns the exit status. */
export function main(argv: string[], io: Io = { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) }): number {
  const json = argv.includes('--json');
  const [command, ...rest] = argv;
  try {
    if (command === undefined) {
      io.err(USAGE);
      return 2;
    }
    if (command === '--help' || command === '-h' || command === 'help') {
      const topic = command === 'help' ? rest[0] : undefined;
      if (topic !== undefined && !Object.hasOwn(COMMANDS, topic)) throw new UsageError(`unknown command '${topic}'`);
      io.out(topic !== undefined ? COMMANDS[topic]!.usage : USAGE);
      return 0;
    }
    if (command === '--version') {
      io.out(`${version()}\n`);
      return 0;
    }
    const found = Object.hasOwn(COMMANDS, command) ? COMMANDS[command] : undefined;
    if (!found) throw new UsageError(`unknown command '${command}'`);
    found.run(rest, io);
    return 0;
  } catch (err) {
    const usage = err instanceof UsageError;
    const e = err as Error & { code?: string; errno?: number; syscall?: string; path?: string };
    if (json) {
      const error = { code: e.code ?? null, message: e.message, errno: e.errno ?? null, syscall: e.syscall ?? null, path: e.path ?? null };
      io.err(`${JSON.stringify({ error })}\n`);
    } else {
      const where = usage ? 'kmmap' : `kmmap ${command}`;
      io.err(`${where}: ${e.message}${e.code && !usage ? ` [${e.code}]` : ''}\n`);
      if (usage) io.err(`Run 'kmmap ${(err as UsageError).command ?? ''}${(err as UsageError).command ? ' ' : ''}--help' for usage.\n`);
    }
    return usage ? 2 : 1;
  }
}

if (require.main === module) {
  // A closed pipe (kmmap ... | head) ends the output, not the process with a stack trace.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
  });
  process.exitCode = main(process.argv.slice(2));
}
