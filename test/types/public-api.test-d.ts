// Type tests of the public API: `npx tsc -p tsconfig.json` (the first step
// of `npm test`) checks this file, so a call marked @ts-expect-error that
// type-checks, or an expectTypeOf that does not hold, fails the run. Nothing
// here runs: expectTypeOf(...).toBeCallableWith() only checks the call's
// types, and the values are declared, not made.
import { expectTypeOf } from 'vitest';
import {
  type Access, type Advice, type AreaPermissions, type CodedError, type DeviceInfo, type ErrorCode, type KmmapError,
  type KmmapErrorCode, KmmapDevice, kpageflags, map, Mapping, type MappingDescriptor, type MemoryArea, type NodeErrorCode,
  type PageFlag, type PageFlagName, pagemap, type PagemapFlagName, type Protection, type ScanResult, type SystemError,
  type UnnamedBit,
} from '../../lib/index';

declare const mapping: Mapping;
declare const device: KmmapDevice;
declare const error: KmmapError;
declare const unknownError: unknown;

// kpageflags: flag names are a union, checked at compile time.
expectTypeOf(kpageflags.mask).toBeCallableWith('anonymous', 'lru');
expectTypeOf(kpageflags.mask).toBeCallableWith();
// @ts-expect-error: 'anon' is no KPF_* flag ('anonymous' is).
expectTypeOf(kpageflags.mask).toBeCallableWith('anon');
// @ts-expect-error: names, not bits.
expectTypeOf(kpageflags.mask).toBeCallableWith(12);
expectTypeOf(kpageflags.mask).parameters.toEqualTypeOf<PageFlagName[]>();
expectTypeOf<PageFlag['name']>().toEqualTypeOf<PageFlagName>();
expectTypeOf<'locked' | 'anonymous' | 'thp' | 'arch_3'>().toMatchTypeOf<PageFlagName>();
expectTypeOf<'anon'>().not.toMatchTypeOf<PageFlagName>();
expectTypeOf(kpageflags.names).returns.toEqualTypeOf<(PageFlagName | UnnamedBit)[]>();
expectTypeOf<'bit60'>().toMatchTypeOf<UnnamedBit>();
expectTypeOf(kpageflags.PAGE_FLAGS).toEqualTypeOf<readonly PageFlag[]>();
expectTypeOf(kpageflags.lookup).returns.items.toHaveProperty('names').toEqualTypeOf<(PageFlagName | UnnamedBit)[]>();
expectTypeOf(kpageflags.summarize).returns.items.toHaveProperty('names').toEqualTypeOf<(PageFlagName | UnnamedBit)[]>();

// pagemap: flag names, categories, permissions and methods are unions.
expectTypeOf(pagemap.flagNames).returns.toEqualTypeOf<PagemapFlagName[]>();
expectTypeOf<MemoryArea['permissions']>().toEqualTypeOf<AreaPermissions>();
expectTypeOf<'r-xp' | 'rw-s' | '---p'>().toMatchTypeOf<AreaPermissions>();
expectTypeOf<'rwx'>().not.toMatchTypeOf<AreaPermissions>();
expectTypeOf<ScanResult['method']>().toEqualTypeOf<'ioctl' | 'pagemap'>();
expectTypeOf(pagemap.scan).toBeCallableWith(0n, 1, { method: 'ioctl', pid: 'self' });
// @ts-expect-error: method is 'auto', 'ioctl' or 'pagemap'.
expectTypeOf(pagemap.scan).toBeCallableWith(0n, 1, { method: 'kernel' });
// @ts-expect-error: pid is a number or 'self'.
expectTypeOf(pagemap.entry).toBeCallableWith(0n, { pid: 'init' });
// The internal error maker is not part of the namespace.
expectTypeOf(pagemap).not.toHaveProperty('pfnHiddenError');

// map() and its options.
expectTypeOf(map).toBeCallableWith('/dev/zero', { length: 4096, access: 'copy', hugetlb: '2MB' });
expectTypeOf(map).toBeCallableWith(3, { offset: 1n << 60n });
// @ts-expect-error: access is 'r', 'rw' or 'copy'.
expectTypeOf(map).toBeCallableWith('/dev/zero', { access: 'w' });
// @ts-expect-error: length is a number.
expectTypeOf(map).toBeCallableWith('/dev/zero', { length: '4096' });
// @ts-expect-error: a huge page size has a unit (or is a number of bytes).
expectTypeOf(map).toBeCallableWith('/dev/zero', { hugetlb: '2M' });
// @ts-expect-error: no such option.
expectTypeOf(map).toBeCallableWith('/dev/zero', { lenght: 4096 });
expectTypeOf(map.anonymous).toBeCallableWith(4096, { shared: false, access: 'r' });
// @ts-expect-error: anonymous memory has no private copy of a file to make.
expectTypeOf(map.anonymous).toBeCallableWith(4096, { access: 'copy' });
// @ts-expect-error: a descriptor comes from mapping.descriptor().
expectTypeOf(map.fromDescriptor).toBeCallableWith({ path: '/dev/zero' });
expectTypeOf(mapping.descriptor).returns.toEqualTypeOf<MappingDescriptor>();
expectTypeOf<MappingDescriptor['access']>().toEqualTypeOf<Access>();

// Mapping: methods take the literal unions.
expectTypeOf(mapping.access).toEqualTypeOf<Access>();
expectTypeOf(mapping.memfd).toEqualTypeOf<number | undefined>();
expectTypeOf(mapping.advise).parameter(0).toEqualTypeOf<Advice>();
expectTypeOf(mapping.advise).toBeCallableWith('dontneed', { offset: 0, length: 4096 });
// @ts-expect-error: 'dont_need' is no madvise advice.
expectTypeOf(mapping.advise).toBeCallableWith('dont_need');
expectTypeOf(mapping.protect).parameter(0).toEqualTypeOf<Protection>();
// @ts-expect-error: protections are 'none', 'r' and 'rw'.
expectTypeOf(mapping.protect).toBeCallableWith('rwx');
// @ts-expect-error: the range is an object.
expectTypeOf(mapping.sync).toBeCallableWith(4096);
expectTypeOf(mapping.resize).returns.toEqualTypeOf<Buffer | null>();

// Mapping is a type and works with instanceof, but has no public constructor.
expectTypeOf(unknownError instanceof Mapping).toEqualTypeOf<boolean>();
export function useMapping(value: unknown): bigint | undefined {
  return value instanceof Mapping ? value.address : undefined;
}
export function constructMapping(): Mapping {
  // @ts-expect-error: Mappings are made by map(), map.anonymous() and map.fromDescriptor().
  return new Mapping();
}
export function constructDevice(): KmmapDevice {
  // @ts-expect-error: devices are opened with KmmapDevice.open().
  return new KmmapDevice(3, '/dev/kmmap', 'rw');
}

// KmmapDevice: methods and open options are unions.
expectTypeOf(KmmapDevice.open).toBeCallableWith({ access: 'r', method: 'pages' });
// @ts-expect-error: no mapping method 'mmap'.
expectTypeOf(KmmapDevice.open).toBeCallableWith({ method: 'mmap' });
// @ts-expect-error: a device is opened 'r' or 'rw'.
expectTypeOf(KmmapDevice.open).toBeCallableWith({ access: 'copy' });
expectTypeOf(device.info).returns.toEqualTypeOf<DeviceInfo>();
expectTypeOf<DeviceInfo['method']>().toEqualTypeOf<'fault' | 'fault_around' | 'pages' | 'pfn' | 'vmalloc'>();
expectTypeOf<DeviceInfo['backing']>().toEqualTypeOf<'contig' | 'vmalloc'>();

// Error codes: a union to narrow on.
expectTypeOf<'ERR_KMMAP_CLOSED' | 'ERR_KMMAP_BEYOND_END' | 'ERR_KMMAP_TOO_MANY_MAPPINGS'>().toMatchTypeOf<KmmapErrorCode>();
expectTypeOf<'ERR_KMMAP_CLOSE'>().not.toMatchTypeOf<KmmapErrorCode>();
expectTypeOf<'ERR_INVALID_ARG_TYPE' | 'ERR_OUT_OF_RANGE' | 'ERR_ILLEGAL_CONSTRUCTOR'>().toMatchTypeOf<NodeErrorCode>();
expectTypeOf<ErrorCode>().toEqualTypeOf<KmmapErrorCode | NodeErrorCode>();
expectTypeOf<CodedError['code']>().toEqualTypeOf<ErrorCode>();
expectTypeOf<SystemError['code']>().toEqualTypeOf<string>();

export function narrowCoded(err: CodedError): void {
  if (err.code === 'ERR_KMMAP_CLOSED') expectTypeOf(err.code).toEqualTypeOf<'ERR_KMMAP_CLOSED'>();
  else expectTypeOf(err.code).toEqualTypeOf<Exclude<ErrorCode, 'ERR_KMMAP_CLOSED'>>();
  // @ts-expect-error: a misspelt code has no overlap with the union.
  if (err.code === 'ERR_KMMAP_CLOSD') return;
}

export function narrowCaught(): void {
  try {
    mapping.sync();
  } catch (caught) {
    const err = caught as KmmapError;
    if (err.code === 'ERR_KMMAP_CLOSED') expectTypeOf(err).toMatchTypeOf<Error>();
    if ('errno' in err) expectTypeOf(err).toEqualTypeOf<SystemError>();
  }
  expectTypeOf(error).toEqualTypeOf<CodedError | SystemError>();
}
