/* SPDX-License-Identifier: GPL-2.0-only */
/* Declarations shared between the parts of kmmap.ko. */
#ifndef KMMAP_H
#define KMMAP_H

int lkmc_mmap_init(void);
void lkmc_mmap_exit(void);

int kmmap_device_init(void);
void kmmap_device_exit(void);

void kmmap_pages_alloced(unsigned long nr);
void kmmap_pages_freed(unsigned long nr);

#endif /* KMMAP_H */
