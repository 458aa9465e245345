/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Copyright (C) 2026 The uptr authors
 *
 * Helpers of the uptr kselftests that are built once, in uptr_util.c, and
 * linked into every test: reading the driver's counters so that a missing
 * one fails the test, and telling whether memory is backed by a
 * transparent huge page.
 */
#ifndef _UPTR_UTIL_H_
#define _UPTR_UTIL_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Read the counter @key of the debugfs file @file of the uptr device into
 * *@value. Returns 0, -ENODEV without the device's debugfs directory,
 * -errno if @file cannot be read, -ENOENT if it has no @key.
 */
int uptr_counter_read(const char *file, const char *key, long long *value);

/*
 * The counter @key of debugfs file @file, in a kselftest_harness test or
 * fixture: a missing file or key fails the test at once (ASSERT), so that
 * two reads of a missing counter can never compare equal.
 */
#define UPTR_COUNTER(file, key) ({					\
	const char *__uptr_f = (file), *__uptr_k = (key);		\
	long long __uptr_v = 0;						\
	ASSERT_EQ(0, uptr_counter_read(__uptr_f, __uptr_k, &__uptr_v))	\
		TH_LOG("no counter %s in debugfs file %s",		\
		       __uptr_k, __uptr_f);				\
	__uptr_v;							\
})

/*
 * Read the number that the file @path (a sysfs attribute, say) holds into
 * *@value. Returns 0, -errno if it cannot be opened, -EINVAL if it holds
 * no number.
 */
int uptr_read_number(const char *path, long long *value);

/* The number in the file @path, or -1 if it cannot be read. */
long long uptr_number(const char *path);

/*
 * Write the string @s to the file @path (a sysfs or procfs knob, say),
 * opened O_WRONLY | O_CLOEXEC | @flags. Returns 0, -errno, or -EIO for a
 * short write.
 */
int uptr_write_str(const char *path, const char *s, int flags);

/*
 * Read the file @path into @buf (at most @len - 1 bytes, NUL-terminated,
 * one trailing newline dropped). Returns 0 or -errno.
 */
int uptr_read_str(const char *path, char *buf, size_t len);

/* Bits of a /proc/self/pagemap entry. */
#define PM_PRESENT	0x8000000000000000ULL	/* bit 63 */
#define PM_PFN		0x007fffffffffffffULL	/* bits 0-54 */

/* The /proc/self/pagemap entry of the page at @addr; 0 if unreadable. */
unsigned long long uptr_pagemap(const void *addr);

/* The frame number of the page at @addr; 0 if not present (or no root). */
unsigned long long uptr_pfn(const void *addr);

/*
 * Bind the first free loop device to the image file @img, with autoclear:
 * it goes away with its last user. Its path goes to @dev (@len bytes).
 * Returns the loop device's fd, which keeps it bound until closed, or
 * -errno.
 */
int uptr_loop_attach(const char *img, char *dev, size_t len);

/*
 * The file and the file offset of the executable, private text mapping
 * of this process that contains @addr (for a uprobe on it), from
 * /proc/self/maps. Returns 0, -ENOENT if @addr is in no such mapping, or
 * -errno.
 */
int uptr_text_file_offset(uintptr_t addr, char *path, size_t len,
			  unsigned long *file_off);

/*
 * AnonHugePages, in kB, of the mapping of /proc/self/smaps that contains
 * @addr; -1 if it cannot be read.
 */
long uptr_anon_huge_kb(const void *addr);

/*
 * Is [@addr, @addr + @len) mapped by transparent huge pages? Tells it
 * from the KPF_THP flag of each page's frame (/proc/self/pagemap and
 * /proc/kpageflags). Returns 1 if every page is part of a THP, 0 if one is
 * not (or is not present), -errno if the flags cannot be read.
 */
int uptr_thp_backed(const void *addr, size_t len);

#endif /* _UPTR_UTIL_H_ */
