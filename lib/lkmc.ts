// /proc/lkmc_mmap, the module's one-page-per-open interface.
import { lkmcPhysicalAddressHint } from './hints';
import { ioctl, LKMC_MMAP_IOC_PHYS_ADDR } from './ioctl';
import { LKMC_MMAP_PATH } from './uapi';

/**
 * The physical address of the page behind an open /proc/lkmc_mmap fd, as
 * the kernel sees it. Needs CAP_SYS_ADMIN (the rule pagemap applies to PFNs).
 */
export function lkmcPhysicalAddress(fd: number): bigint {
  const out = new Uint8Array(8);
  ioctl(fd, LKMC_MMAP_IOC_PHYS_ADDR, out, lkmcPhysicalAddressHint(LKMC_MMAP_PATH));
  return Buffer.from(out.buffer).readBigUInt64LE(0);
}
