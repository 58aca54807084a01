// Programs: short sequences of calls on kmmap's whole public API, as plain
// data. Commands name mappings by slot number, taken modulo the live
// mappings when they run, so that any shrunk program still runs.
import fc from 'fast-check';
import { action, bool, n, number, optionsOf, PROP_NAMES, s, value } from './values.mjs';

const slot = fc.nat(7);
const anyOf = (...arbs) => fc.oneof(...arbs);
/** Mostly `valid`, sometimes any hostile value. */
const mostly = (valid, weight = 4) => fc.oneof({ weight, arbitrary: valid }, { weight: 1, arbitrary: value });

const LENGTHS = [1, 5, 64, 100, 4095, 4096, 4097, 8192, 12288, 12388, 65536, 2 ** 20, 2 ** 32 + 4096, 2 ** 40];
const length = anyOf(fc.constantFrom(...LENGTHS).map(n), number.map(n));
const offset = anyOf(
  fc.constantFrom(0, 0, 0, 1, 5, 4095, 4096, 8192, 65536).map(n),
  fc.constantFrom(0n, 4096n, 2n ** 63n - 4096n, 2n ** 63n - 1n, 2n ** 64n - 1n).map((v) => ({ t: 'b', v })),
);
const hugetlb = anyOf(fc.boolean().map(bool), fc.constantFrom('2MB', '1GB', '64KB', 2 ** 21, 3).map((v) => (typeof v === 'number' ? n(v) : s(v))));
const flag = fc.boolean().map(bool);

const mapOptions = optionsOf({
  length,
  offset,
  access: fc.constantFrom('r', 'rw', 'rw', 'copy').map(s),
  allowBeyondEnd: flag,
  populate: flag,
  locked: flag,
  noreserve: flag,
  hugetlb,
  sync: flag,
});

const anonOptions = optionsOf({
  access: fc.constantFrom('r', 'rw', 'rw').map(s),
  shared: flag,
  populate: flag,
  locked: flag,
  noreserve: flag,
  hugetlb,
});

/** Where map() points: mostly the test files, then devices, /proc, FIFOs, fds, Buffer paths, URLs. */
const target = fc.oneof(
  { weight: 10, arbitrary: fc.record({ t: fc.constant('path'), which: fc.nat(7) }) },
  { weight: 4, arbitrary: fc.record({ t: fc.constant('path'), which: fc.nat(31) }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('fd'), which: fc.nat(31) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('bpath'), which: fc.nat(31) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('url'), which: fc.nat(31) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('mfd'), slot }) },
  { weight: 1, arbitrary: value },
);

const range = fc.oneof(
  { weight: 2, arbitrary: fc.constant({ t: 'undef' }) },
  { weight: 4, arbitrary: optionsOf({ offset: fc.constantFrom(0, 1, 4095, 4096, 4097, 8192).map(n), length: fc.constantFrom(1, 5, 4096, 4097, 8192).map(n) }) },
  { weight: 1, arbitrary: value },
);

export const ADVICE_NAMES = [
  'normal', 'random', 'sequential', 'willneed', 'dontneed', 'free', 'remove', 'dontfork', 'dofork', 'mergeable',
  'unmergeable', 'hugepage', 'nohugepage', 'dontdump', 'dodump', 'wipeonfork', 'keeponfork', 'cold', 'pageout',
  'populate_read', 'populate_write', 'collapse',
];

/** Arguments of each Mapping method: valid-looking ones mostly, hostile ones too. */
const METHOD_ARGS = {
  view: fc.tuple(mostly(fc.constantFrom(0, 1, 4095, 4096).map(n)), fc.option(mostly(fc.constantFrom(1, 5, 4096).map(n)), { nil: undefined })),
  sync: fc.tuple(range, fc.option(optionsOf({ async: flag, invalidate: flag }), { nil: undefined })),
  advise: fc.tuple(mostly(fc.constantFrom(...ADVICE_NAMES).map(s), 6), range),
  lock: fc.tuple(mostly(optionsOf({ onFault: flag })), range),
  unlock: fc.tuple(range),
  protect: fc.tuple(mostly(fc.constantFrom('none', 'r', 'rw', 'rw').map(s), 6), range),
  residency: fc.tuple(range),
  resize: fc.tuple(mostly(fc.constantFrom(1, 5, 64, 4096, 4097, 8192, 12388, 65536, 2 ** 20).map(n)), fc.option(mostly(optionsOf({ allowBeyondEnd: flag })), { nil: undefined })),
  descriptor: fc.constant([]),
  close: fc.constant([]),
  dispose: fc.constant([]),
  get: fc.tuple(fc.constantFrom('buffer', 'address', 'baseAddress', 'length', 'offset', 'access', 'memfd', 'closed').map(s)),
};
const methodCall = fc.oneof(...Object.entries(METHOD_ARGS).map(([method, args]) => ({
  weight: method === 'close' ? 3 : method === 'get' ? 2 : 3,
  arbitrary: fc.record({ c: fc.constant('call'), slot, method: fc.constant(method), args: args.map((a) => a.filter((x) => x !== undefined)) }),
})));

const address = fc.oneof(
  { weight: 4, arbitrary: fc.record({ t: fc.constant('addr'), slot, plus: fc.constantFrom(0n, 4096n, -4096n, 2n ** 64n) }) },
  { weight: 2, arbitrary: fc.constantFrom(0n, 4096n, 2n ** 47n - 4096n, 2n ** 63n, 2n ** 64n - 4096n, 2n ** 64n - 1n, 2n ** 64n, -1n).map((v) => ({ t: 'b', v })) },
  { weight: 1, arbitrary: value },
);
const pages = mostly(fc.constantFrom(0, 1, 2, 3, 16).map(n));
const pidOptions = fc.option(mostly(optionsOf({ pid: fc.constantFrom('self', 1, 2 ** 31 - 1).map((v) => (typeof v === 'string' ? s(v) : n(v))), method: fc.constantFrom('auto', 'ioctl', 'pagemap').map(s) })), { nil: undefined });
const pfn = mostly(fc.constantFrom(0, 1, 4096, 2 ** 53 - 1).map(n));
const flags64 = mostly(fc.constantFrom(0n, 1n, 2n ** 63n, 2n ** 64n - 1n).map((v) => ({ t: 'b', v })));
const entryLike = mostly(fc.record({ t: fc.constant('entry'), slot }));
const some = (...arbs) => fc.tuple(...arbs).map((a) => a.filter((x) => x !== undefined));

/** Functions of the API that are not Mapping methods. */
const API_ARGS = {
  'pagemap.decode': some(flags64, address),
  'pagemap.flagNames': some(entryLike),
  'pagemap.read': some(address, pages, pidOptions),
  'pagemap.readInto': some(address, mostly(fc.record({ t: fc.constant('typed'), type: fc.constant('BigUint64Array'), len: fc.constantFrom(0, 1, 4) })), pidOptions),
  'pagemap.range': some(address, pages, pidOptions),
  'pagemap.entry': some(address, pidOptions),
  'pagemap.physicalAddress': some(mostly(fc.oneof(fc.record({ t: fc.constant('mbuf'), slot, how: fc.constantFrom('buffer', 'sub', 'u8') }), fc.record({ t: fc.constant('mapping'), slot }))), fc.option(mostly(fc.constantFrom(0, 1, 4095).map(n)), { nil: undefined })),
  'pagemap.scan': some(address, pages, pidOptions),
  'pagemap.maps': some(fc.option(mostly(fc.constantFrom('self', 1).map((v) => (typeof v === 'string' ? s(v) : n(v)))), { nil: undefined })),
  'kpageflags.mask': fc.array(mostly(fc.constantFrom('lru', 'anonymous', 'huge', 'bogus', 'mlocked').map(s)), { maxLength: 3 }),
  'kpageflags.names': some(flags64),
  'kpageflags.symbolic': some(flags64),
  'kpageflags.read': some(pfn, fc.option(mostly(fc.constantFrom(0, 1, 8).map(n)), { nil: undefined })),
  'kpageflags.mapCounts': some(pfn, fc.option(mostly(fc.constantFrom(0, 1, 8).map(n)), { nil: undefined })),
  'kpageflags.lookup': some(mostly(fc.record({ t: fc.constant('arr'), items: fc.array(flags64, { maxLength: 3 }) }))),
  'kpageflags.summarize': some(mostly(fc.record({ t: fc.constant('arr'), items: fc.array(flags64, { maxLength: 3 }) }))),
  addressOf: some(value),
  'new Mapping': some(value),
  'KmmapDevice.open': some(fc.option(mostly(optionsOf({ path: fc.constantFrom('/dev/kmmap', '/dev/zero').map(s), access: fc.constantFrom('r', 'rw').map(s), method: fc.constantFrom('fault', 'pages', 'pfn', 'vmalloc').map(s) })), { nil: undefined })),
  lkmcPhysicalAddress: some(mostly(fc.record({ t: fc.constant('fd'), which: fc.nat(31) }))),
  ioctl: some(fc.record({ t: fc.constant('fd'), which: fc.nat(31) }), mostly(fc.constantFrom(0x541b, 0x80081272, 0x8008b501, 0xdeadbeef).map(n)), fc.option(mostly(fc.oneof(fc.record({ t: fc.constant('typed'), type: fc.constant('Uint8Array'), len: fc.constantFrom(0, 8, 64) }), fc.constant({ t: 'null' }))), { nil: undefined })),
};
const apiCall = fc.oneof(...Object.entries(API_ARGS).map(([fn, args]) => fc.record({ c: fc.constant('api'), fn: fc.constant(fn), args })));

/** Node's own functions over a mapping's memory, with hostile arguments (getters that close it mid-call). */
export const NODE_OPS = ['fill', 'write', 'copyInto', 'copyFrom', 'set', 'indexOf', 'compare', 'toString', 'writeUInt32LE', 'readUInt32LE', 'reverse', 'sort', 'copyWithin', 'concat', 'equals'];
const nodeOp = fc.record({ c: fc.constant('node'), slot, op: fc.constantFrom(...NODE_OPS), args: fc.array(fc.oneof({ weight: 2, arbitrary: number.map(n) }, { weight: 3, arbitrary: value }), { maxLength: 3 }) });

export const ASYNC_OPS = ['randomFill', 'deflate', 'fsWrite', 'fsRead', 'hash'];

const commands = {
  map: fc.record({ c: fc.constant('map'), target, opts: fc.oneof({ weight: 8, arbitrary: mapOptions }, { weight: 1, arbitrary: fc.constant({ t: 'undef' }) }, { weight: 1, arbitrary: value }) }),
  anon: fc.record({ c: fc.constant('anon'), len: length, opts: fc.oneof({ weight: 8, arbitrary: anonOptions }, { weight: 1, arbitrary: fc.constant({ t: 'undef' }) }, { weight: 1, arbitrary: value }) }),
  fromDesc: fc.record({ c: fc.constant('fromDesc'), d: fc.oneof({ weight: 4, arbitrary: fc.record({ t: fc.constant('desc'), slot, edits: fc.array(fc.tuple(fc.constantFrom(...PROP_NAMES), value), { maxLength: 1 }) }) }, { weight: 1, arbitrary: value }) }),
  call: methodCall,
  write: fc.record({ c: fc.constant('write'), slot, at: fc.nat(70000), len: fc.constantFrom(1, 3, 64, 4096), via: fc.constantFrom('buffer', 'view', 'u8', 'fs', 'other'), byte: fc.nat(255) }),
  check: fc.record({ c: fc.constant('check'), slot, via: fc.constantFrom('mapping', 'fs', 'other') }),
  node: nodeOp,
  async: fc.record({ c: fc.constant('async'), slot, op: fc.constantFrom(...ASYNC_OPS), close: fc.constantFrom('now', 'resize', 'later', 'never'), ticks: fc.nat(3) }),
  transfer: fc.record({ c: fc.constant('transfer'), slot, how: fc.constantFrom('transfer', 'clone', 'port') }),
  touchMoved: fc.constant({ c: 'touchMoved' }),
  gc: fc.constant({ c: 'gc' }),
  tick: fc.record({ c: fc.constant('tick'), n: fc.nat(3) }),
  api: apiCall,
  grow: fc.record({ c: fc.constant('grow'), which: fc.nat(7), by: fc.constantFrom(1, 100, 4096, 8192) }),
  closeFd: fc.record({ c: fc.constant('closeFd'), which: fc.nat(31) }),
  drop: fc.record({ c: fc.constant('drop'), slot }),
};

const WEIGHTS = { map: 14, anon: 8, fromDesc: 3, call: 26, write: 12, check: 10, node: 6, async: 3, transfer: 1, touchMoved: 1, gc: 1, tick: 2, api: 12, grow: 2, closeFd: 1, drop: 2 };
const command = fc.oneof(...Object.entries(commands).map(([name, arbitrary]) => ({ weight: WEIGHTS[name], arbitrary })));

/** A program on the API: 1 to 40 commands. */
export const apiProgram = fc.array(command, { minLength: 1, maxLength: 60, size: 'large' });

/** CLI invocations: kmmap dump and pagemap with edge offsets and lengths, junk arguments. */
const cliNumber = fc.oneof(
  fc.constantFrom('0', '1', '4', '5', '64', '4095', '4096', '4097', '0x1000', '9007199254740992', '18446744073709551615', '-1', 'x', ''),
  fc.nat(70000).map(String),
);
const cliArgs = fc.oneof(
  { weight: 6, arbitrary: fc.record({ cmd: fc.constant('dump'), which: fc.nat(31), offset: fc.option(cliNumber, { nil: undefined }), length: fc.option(cliNumber, { nil: undefined }), json: fc.boolean(), v: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ cmd: fc.constant('pagemap'), pid: fc.constantFrom('self', '1', '0', 'x', '2147483648'), range: fc.option(fc.constantFrom('0xfffffffffffff000+0x1000', '0xfffffffffffff000..0x10000000000000000', '0..0x1000', '[heap]', '[stack]', 'libc.so.6', '0x1000', 'nowhere', '0x7f0000000000+0x4000'), { nil: undefined }), summary: fc.boolean(), json: fc.boolean(), method: fc.option(fc.constantFrom('auto', 'ioctl', 'pagemap', 'bogus'), { nil: undefined }) }) },
  { weight: 1, arbitrary: fc.record({ cmd: fc.constant('raw'), argv: fc.array(fc.constantFrom('dump', 'pagemap', 'demo', 'help', '--help', '--json', '--version', '-v', '--offset', '--length', '1', 'self', 'bogus', '--'), { maxLength: 4 }) }) },
);
export const cliProgram = fc.array(fc.oneof(
  { weight: 4, arbitrary: fc.record({ c: fc.constant('cli'), args: cliArgs }) },
  { weight: 1, arbitrary: commands.grow },
), { minLength: 1, maxLength: 4 });

/** Worker threads running kmmap calls, terminated at random moments. */
export const workerProgram = fc.array(fc.oneof(
  { weight: 2, arbitrary: commands.anon },
  { weight: 2, arbitrary: commands.map },
  { weight: 6, arbitrary: fc.record({ c: fc.constant('worker'), seed: fc.nat(), share: slot, after: fc.oneof(fc.nat(3), fc.nat(40)), busy: fc.constantFrom('calls', 'errors', 'map', 'mixed') }) },
), { minLength: 1, maxLength: 8 });

/** Which kind of program a seed makes: the seed alone reproduces it. */
export function profileOf(seed) {
  const r = ((seed % 64) + 64) % 64;
  if (r === 0 || r === 32) return 'cli';
  if (r === 16 || r === 48) return 'workers';
  return 'api';
}

export function programArbitrary(profile) {
  if (profile === 'cli') return cliProgram;
  if (profile === 'workers') return workerProgram;
  return apiProgram;
}

export { action };
