// The page size, read once from the addon.
import { native } from './binding';

/** Size of a page on this machine, in bytes. */
export const PAGE_SIZE: number = native.pageSize;
