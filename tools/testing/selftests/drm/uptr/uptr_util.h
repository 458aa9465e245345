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
