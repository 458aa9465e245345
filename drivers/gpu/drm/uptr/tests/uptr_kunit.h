/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Copyright (C) 2026 The uptr authors
 *
 * Helpers shared by the uptr KUnit suites: user address spaces, user
 * memory patterns and mirrors torn down with the test.
 */
#ifndef _UPTR_KUNIT_H_
#define _UPTR_KUNIT_H_

#include <kunit/test.h>

#include "../uptr_mirror.h"

struct mm_struct;
struct uptr_device;

struct uptr_device *uptr_test_device(struct kunit *test);

struct mm_struct *uptr_test_mm_alloc(struct kunit *test);
void uptr_test_switch_mm(struct mm_struct *from, struct mm_struct *to);
unsigned long uptr_test_map(struct kunit *test, unsigned long npages,
			    unsigned long prot);
void uptr_test_fill(struct kunit *test, unsigned long addr,
		    unsigned long npages, u32 seed);
bool uptr_test_page_has(struct page *page, u32 value);
struct uptr_mirror_desc uptr_test_mirror_desc(struct kunit *test,
					      struct mm_struct *mm,
					      unsigned long addr,
					      unsigned long npages,
					      bool writable);
struct uptr_mirror *uptr_test_mirror(struct kunit *test, unsigned long addr,
				     unsigned long npages, bool writable);

#endif /* _UPTR_KUNIT_H_ */
