/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the parts of kmmap.ko call in one another: main.c starts and stops
 * each interface and keeps the count of pages they hold.
 */
#ifndef KMMAP_INTERNAL_H
#define KMMAP_INTERNAL_H

/* lkmc_mmap.c */
int lkmc_mmap_init(void);
void lkmc_mmap_exit(void);

/* device.c */
int kmmap_device_init(void);
void kmmap_device_exit(void);

/* main.c: pages_held */
void kmmap_pages_alloced(unsigned long nr);
void kmmap_pages_freed(unsigned long nr);

#endif /* KMMAP_INTERNAL_H */
