// lib/uapi.ts and lib/ioctl.ts mirror kernel/uapi/linux/kmmap.h: compile the
// header with the system's C compiler and compare every number and layout.
import { execFileSync } from 'node:child_process';
import { afterAll, expect, it } from 'vitest';
import {
  BACKINGS,
  KMMAP_FILL_ADD_OFFSET,
  KMMAP_IOC_CHECKSUM,
  KMMAP_IOC_FILL,
  KMMAP_IOC_INFO,
  KMMAP_IOC_MAGIC,
  KMMAP_IOC_PFNS,
  KMMAP_IOC_SET_METHOD,
  LKMC_MMAP_IOC_PHYS_ADDR,
  MAPPING_METHODS,
} from '../../dist/index.js';
import { KMMAP_CHECKSUM, KMMAP_FILL, KMMAP_INFO, KMMAP_PFNS } from '../../dist/uapi.js';
import { CC, CFLAGS, compileTestProgram, tempDir } from '../helpers';

const tmp = tempDir('kmmap-uapi-');
afterAll(() => tmp.remove());

it('every ioctl number, enum value and struct layout matches the kernel header', () => {
  const binary = compileTestProgram('kmmap_uapi_dump.c', tmp.dir);
  const header = JSON.parse(execFileSync(binary, { encoding: 'utf8' }));
  expect(header).toEqual({
    ioctls: {
      LKMC_MMAP_IOC_PHYS_ADDR,
      KMMAP_IOC_INFO,
      KMMAP_IOC_SET_METHOD,
      KMMAP_IOC_PFNS,
      KMMAP_IOC_FILL,
      KMMAP_IOC_CHECKSUM,
    },
    magic: KMMAP_IOC_MAGIC,
    fillAddOffset: KMMAP_FILL_ADD_OFFSET,
    backings: BACKINGS.map((_, i) => i),
    methods: MAPPING_METHODS.map((_, i) => i),
    methodCount: MAPPING_METHODS.length,
    info: KMMAP_INFO,
    pfns: KMMAP_PFNS,
    fill: KMMAP_FILL,
    checksum: KMMAP_CHECKSUM,
  });
});

it('the enums are named in the header\'s order', () => {
  const source = execFileSync(CC, [...CFLAGS, '-E', '-dD', '-x', 'c', '-'], {
    input: '#include <linux/kmmap.h>\n', encoding: 'utf8',
  });
  const names = (prefix: string) => [...source.matchAll(new RegExp(`\\b${prefix}_([A-Z_]+) = \\d`, 'g'))].map((m) => m[1]!.toLowerCase());
  expect(names('KMMAP_BACKING')).toEqual([...BACKINGS]);
  expect(names('KMMAP_METHOD').filter((n) => n !== 'count')).toEqual([...MAPPING_METHODS]);
});
