// Hostile argument values, as plain data that fast-check can generate and
// shrink, that JSON can carry to a child process, and that the executor
// turns into real values (materialize) and into JavaScript source for the
// printed program (the same pass returns both).
import fc from 'fast-check';

/** Numbers a hostile caller passes: page-sized, off by one, fractional, huge, non-finite. */
export const EDGE_NUMBERS = [
  0, -0, 1, -1, 5, 7, 8, 63, 64, 4095, 4096, 4097, 8191, 8192, 12288, 65536, 65537, 0.5, 1.5, 4095.5, -4096,
  2 ** 21, 2 ** 22 + 1, 2 ** 27 + 1, 2 ** 30, 2 ** 31 - 1, 2 ** 31, 2 ** 32, 2 ** 32 + 4096, 2 ** 53 - 1, 2 ** 53,
  2 ** 53 + 2, 2 ** 63, 2 ** 64, -(2 ** 31), -(2 ** 53), Number.MAX_VALUE, Number.MIN_VALUE, Number.EPSILON,
  Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY,
];

/** Bigints at the edges of what the API's 64-bit quantities hold. */
export const EDGE_BIGINTS = [
  0n, 1n, -1n, 4096n, 4097n, 2n ** 53n, 2n ** 53n + 1n, 2n ** 55n, 2n ** 63n - 1n, 2n ** 63n, 2n ** 64n - 4096n,
  2n ** 64n - 1n, 2n ** 64n, -(2n ** 63n), 2n ** 47n, 2n ** 47n - 4096n, 0x7f0000000000n,
];

export const EDGE_STRINGS = [
  '', 'r', 'rw', 'copy', 'none', 'self', 'auto', 'ioctl', 'pagemap', '2MB', '1GB', '64KB', '3MB', 'willneed', 'dontneed',
  'remove', 'free', 'normal', 'hugepage', 'populate_write', 'constructor', '__proto__', 'toString', '4096', '0x1000',
  '-1', 'NaN', '\u0000', '\ud800', 'r\u0000', 'kmmap.mapping/1', 'lru', 'anonymous', 'bit63', 'huge', 'mmap',
];

/** Property names that the API's options, ranges and descriptors read. */
export const PROP_NAMES = [
  'offset', 'length', 'access', 'allowBeyondEnd', 'populate', 'locked', 'noreserve', 'hugetlb', 'sync', 'shared',
  'async', 'invalidate', 'onFault', 'pid', 'method', 'kind', 'path', 'dev', 'ino', 'present', 'softDirty', 'exclusive',
  'uffdWriteProtected', 'guard', 'fileOrSharedAnon', 'swapped', 'raw', 'address', 'addOffset',
];

/** Side effects a getter, valueOf or proxy trap performs before returning its value. */
export const ACTIONS = ['none', 'close', 'resize', 'gc', 'throw', 'protect', 'closeOther'];

const smallNat = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 0, max: 16 }) },
  { weight: 3, arbitrary: fc.integer({ min: 0, max: 70000 }) },
);

/** An action descriptor: what to do (to which mapping slot) when the hostile value is looked at. */
export const action = fc.record({
  a: fc.constantFrom(...ACTIONS),
  slot: fc.nat(7),
  len: fc.constantFrom(1, 5, 4096, 4097, 8192, 65536),
});

/** A number, mostly edge values. Never a count between 2^17 and 2^27: those are valid and allocate up to a GiB. */
export const number = fc.oneof(
  { weight: 5, arbitrary: fc.constantFrom(...EDGE_NUMBERS) },
  { weight: 3, arbitrary: smallNat },
  { weight: 1, arbitrary: fc.double().filter((v) => !(Math.abs(v) > 2 ** 17 && Math.abs(v) <= 2 ** 27)) },
);

const leaf = fc.oneof(
  { weight: 6, arbitrary: number.map((v) => ({ t: 'n', v })) },
  { weight: 3, arbitrary: fc.oneof(fc.constantFrom(...EDGE_BIGINTS), fc.bigInt({ min: -(2n ** 65n), max: 2n ** 65n })).map((v) => ({ t: 'b', v })) },
  { weight: 3, arbitrary: fc.oneof(fc.constantFrom(...EDGE_STRINGS), fc.string({ maxLength: 8 })).map((v) => ({ t: 's', v })) },
  { weight: 2, arbitrary: fc.boolean().map((v) => ({ t: 'bool', v })) },
  { weight: 2, arbitrary: fc.constantFrom({ t: 'null' }, { t: 'undef' }, { t: 'sym' }, { t: 'fn' }, { t: 'detached' }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('fake'), proto: fc.constantFrom('ArrayBuffer', 'Mapping', 'URL', 'Uint8Array', 'Buffer', 'BigUint64Array', 'Error', 'Date', 'null') }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('typed'), type: fc.constantFrom('Uint8Array', 'BigUint64Array', 'Float64Array', 'DataView', 'ArrayBuffer', 'SharedArrayBuffer', 'Buffer'), len: fc.constantFrom(0, 1, 8, 4096) }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('mbuf'), slot: fc.nat(7), how: fc.constantFrom('buffer', 'sub', 'u8', 'ab', 'u64') }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('mapping'), slot: fc.nat(7) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('path'), which: fc.nat(31) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('bpath'), which: fc.nat(31) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('url'), which: fc.nat(31) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('fd'), which: fc.nat(31) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('addr'), slot: fc.nat(7), plus: fc.constantFrom(0n, 4096n, -4096n, 2n ** 64n) }) },
);

/** Any hostile value, nested: objects whose getters act, valueOf, proxies, arrays. */
export const { value } = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    { weight: 8, arbitrary: leaf },
    { weight: 2, arbitrary: fc.record({ t: fc.constant('obj'), props: fc.array(fc.tuple(fc.constantFrom(...PROP_NAMES), tie('value')), { maxLength: 4 }) }) },
    { weight: 2, arbitrary: fc.record({ t: fc.constant('get'), key: fc.constantFrom(...PROP_NAMES), act: action, val: tie('value'), props: fc.array(fc.tuple(fc.constantFrom(...PROP_NAMES), tie('value')), { maxLength: 2 }) }) },
    { weight: 2, arbitrary: fc.record({ t: fc.constant('valueOf'), act: action, val: number }) },
    { weight: 1, arbitrary: fc.record({ t: fc.constant('toString'), act: action, val: fc.constantFrom(...EDGE_STRINGS) }) },
    { weight: 1, arbitrary: fc.record({ t: fc.constant('proxy'), act: action, inner: tie('value') }) },
    { weight: 1, arbitrary: fc.record({ t: fc.constant('arr'), items: fc.array(tie('value'), { maxLength: 4 }) }) },
  ),
}));

/** A mostly valid options object for map(), with hostile values now and then. */
export function optionsOf(fields) {
  const entries = Object.entries(fields).map(([key, valid]) => fc.option(fc.oneof(
    { weight: 6, arbitrary: valid },
    { weight: 1, arbitrary: value },
    { weight: 1, arbitrary: fc.record({ t: fc.constant('get'), key: fc.constant(key), act: action, val: valid, props: fc.constant([]) }).map((g) => ({ ...g, inline: true })) },
  ), { nil: undefined, freq: 2 }).map((v) => (v === undefined ? undefined : [key, v])));
  return fc.tuple(...entries).map((pairs) => ({ t: 'obj', props: pairs.filter((p) => p !== undefined) }));
}

export const n = (v) => ({ t: 'n', v });
export const s = (v) => ({ t: 's', v });
export const bool = (v) => ({ t: 'bool', v });

/** JSON that keeps bigints, -0, NaN and infinities (for the job file and --replay). */
export function encode(data) {
  return JSON.stringify(data, (_key, v) => {
    if (typeof v === 'bigint') return { $b: v.toString() };
    if (typeof v === 'number' && (!Number.isFinite(v) || Object.is(v, -0))) return { $n: Object.is(v, -0) ? '-0' : String(v) };
    return v;
  });
}

export function decode(text) {
  return JSON.parse(text, (_key, v) => {
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      if (typeof v.$b === 'string' && Object.keys(v).length === 1) return BigInt(v.$b);
      if (typeof v.$n === 'string' && Object.keys(v).length === 1) return v.$n === '-0' ? -0 : Number(v.$n);
    }
    return v;
  });
}

/** JavaScript source of a number or bigint as a reader would type it. */
export function numberSource(v) {
  if (typeof v === 'bigint') return `${v}n`;
  if (Object.is(v, -0)) return '-0';
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return 'Infinity';
  if (v === -Infinity) return '-Infinity';
  if (Number.isInteger(v) && Math.abs(v) >= 2 ** 20) {
    const log = Math.round(Math.log2(Math.abs(v)));
    if (2 ** log === Math.abs(v)) return `${v < 0 ? '-' : ''}2 ** ${log}`;
    if (2 ** log - 1 === Math.abs(v)) return `${v < 0 ? '-' : ''}(2 ** ${log} - 1)`;
  }
  return String(v);
}
