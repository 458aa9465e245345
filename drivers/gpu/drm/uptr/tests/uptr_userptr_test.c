// SPDX-License-Identifier: GPL-2.0-only
/*
 * Copyright (C) 2026 The uptr authors
 */

#include <kunit/test.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/sched/mm.h>

#include <drm/drm_gem.h>
#include <drm/uptr_drm.h>

#include "../uptr_drv.h"
#include "../uptr_userptr.h"
#include "uptr_kunit.h"

/**
 * DOC: KUnit tests for userptr objects
 *
 * The %DRM_IOCTL_UPTR_CREATE argument checks as a table, and object
 * creation with PROBE, POPULATE and READ_ONLY on a KUnit-owned device and
 * address space, including the refusal of use from another mm.
 */

struct uptr_create_case {
	const char *name;
	u64 extensions, ptr, size, pad;
	u32 flags;
	int ret;
};

#define BASE	0x10000000ULL

static const struct uptr_create_case uptr_create_cases[] = {
	{ "valid", 0, BASE, PAGE_SIZE, 0, 0, 0 },
	{ "valid_all_flags", 0, BASE, PAGE_SIZE, 0, DRM_UPTR_CREATE_FLAGS, 0 },
	{ "unknown_flag", 0, BASE, PAGE_SIZE, 0, 1u << 3, -EINVAL },
	{ "top_flag", 0, BASE, PAGE_SIZE, 0, 1u << 31, -EINVAL },
	{ "extensions", 1, BASE, PAGE_SIZE, 0, 0, -EINVAL },
	{ "pad", 0, BASE, PAGE_SIZE, 1, 0, -EINVAL },
	{ "size_zero", 0, BASE, 0, 0, 0, -EINVAL },
	{ "ptr_unaligned", 0, BASE + 1, PAGE_SIZE, 0, 0, -EINVAL },
	{ "size_unaligned", 0, BASE, PAGE_SIZE - 1, 0, 0, -EINVAL },
	{ "overflow", 0, ~0ULL & PAGE_MASK, 2 * PAGE_SIZE, 0, 0, -EINVAL },
	{ "above_cap", 0, BASE, UPTR_MAX_OBJECT_SIZE + PAGE_SIZE, 0, 0, -E2BIG },
	{ "at_cap", 0, BASE, UPTR_MAX_OBJECT_SIZE, 0, 0, 0 },
	{ "kernel_address", 0, 0xffffffff80000000ULL, PAGE_SIZE, 0, 0, -EFAULT },
	{ "non_canonical", 0, 0x8000000000000000ULL, PAGE_SIZE, 0, 0, -EFAULT },
};

static void uptr_create_case_desc(const struct uptr_create_case *c, char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(uptr_create, uptr_create_cases, uptr_create_case_desc);

static void uptr_userptr_test_check_args(struct kunit *test)
{
	const struct uptr_create_case *c = test->param_value;
	struct drm_uptr_create args = {
		.extensions = c->extensions,
		.user_ptr = c->ptr,
		.user_size = c->size,
		.flags = c->flags,
		.pad = c->pad,
	};
	unsigned long start = 0;

	KUNIT_EXPECT_EQ(test, uptr_userptr_check_args(&args, &start), c->ret);
	if (!c->ret)
		KUNIT_EXPECT_EQ(test, start, (unsigned long)c->ptr);
}

static struct uptr_userptr *uptr_test_create(struct uptr_device *udev,
					     unsigned long addr,
					     unsigned long npages, u32 flags)
{
	struct drm_uptr_create args = {
		.user_ptr = addr,
		.user_size = npages << PAGE_SHIFT,
		.flags = flags,
	};

	return uptr_userptr_create(udev, &args);
}

static void uptr_userptr_test_create_flags(struct kunit *test)
{
	struct uptr_device *udev = uptr_test_device(test);
	unsigned long rw = uptr_test_map(test, 8, PROT_READ | PROT_WRITE);
	unsigned long ro = uptr_test_map(test, 8, PROT_READ);
	struct uptr_userptr *uobj;

	/* Lazy by default: nothing faulted at create. */
	uobj = uptr_test_create(udev, rw, 8, 0);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, uobj);
	KUNIT_EXPECT_EQ(test, uobj->mirror.nvalid, 0);
	KUNIT_EXPECT_TRUE(test, uobj->mirror.writable);
	KUNIT_EXPECT_PTR_EQ(test, to_uptr_userptr(&uobj->base), uobj);
	KUNIT_EXPECT_EQ(test, uobj->base.size, 8 << PAGE_SHIFT);
	drm_gem_object_put(&uobj->base);

	/* POPULATE faults everything in. */
	uobj = uptr_test_create(udev, rw, 8, DRM_UPTR_CREATE_POPULATE);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, uobj);
	KUNIT_EXPECT_EQ(test, uobj->mirror.nvalid, 8);
	KUNIT_EXPECT_EQ(test, atomic64_read(&udev->stats.stat[UPTR_STAT_PAGES_FAULTED]), 8);
	drm_gem_object_put(&uobj->base);

	/* Read-only object on a read-only mapping works... */
	uobj = uptr_test_create(udev, ro, 8, DRM_UPTR_CREATE_READ_ONLY |
				DRM_UPTR_CREATE_POPULATE | DRM_UPTR_CREATE_PROBE);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, uobj);
	KUNIT_EXPECT_FALSE(test, uobj->mirror.writable);
	KUNIT_EXPECT_EQ(test, uobj->mirror.nvalid, 8);
	drm_gem_object_put(&uobj->base);

	/* ...a writable one gets -EPERM when populated. */
	uobj = uptr_test_create(udev, ro, 8, DRM_UPTR_CREATE_POPULATE);
	KUNIT_EXPECT_EQ(test, PTR_ERR_OR_ZERO(uobj), -EPERM);

	/* Every object left the device list with its last reference. */
	KUNIT_EXPECT_TRUE(test, list_empty(&udev->objects));
}

static void uptr_userptr_test_probe(struct kunit *test)
{
	struct uptr_device *udev = uptr_test_device(test);
	unsigned long addr = uptr_test_map(test, 8, PROT_READ | PROT_WRITE);
	struct uptr_userptr *uobj;

	/* A hole in the middle: PROBE refuses, without PROBE it is lazy. */
	KUNIT_ASSERT_EQ(test, vm_munmap(addr + (3 << PAGE_SHIFT), PAGE_SIZE), 0);
	uobj = uptr_test_create(udev, addr, 8, DRM_UPTR_CREATE_PROBE);
	KUNIT_EXPECT_EQ(test, PTR_ERR_OR_ZERO(uobj), -EFAULT);
	uobj = uptr_test_create(udev, addr, 8, DRM_UPTR_CREATE_POPULATE);
	KUNIT_EXPECT_EQ(test, PTR_ERR_OR_ZERO(uobj), -EFAULT);

	uobj = uptr_test_create(udev, addr, 8, 0);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, uobj);
	KUNIT_EXPECT_EQ(test, uptr_userptr_populate(uobj, 0, 3, NULL), 0);
	KUNIT_EXPECT_EQ(test, uptr_userptr_populate(uobj, 3, 1, NULL), -EFAULT);
	KUNIT_EXPECT_EQ(test, uptr_userptr_populate(uobj, 4, 4, NULL), 0);
	KUNIT_EXPECT_EQ(test, uobj->mirror.nvalid, 7);
	drm_gem_object_put(&uobj->base);

	/* The whole range mapped: PROBE accepts. */
	uobj = uptr_test_create(udev, addr, 3, DRM_UPTR_CREATE_PROBE);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, uobj);
	drm_gem_object_put(&uobj->base);
}

static void uptr_userptr_test_other_mm(struct kunit *test)
{
	struct uptr_device *udev = uptr_test_device(test);
	unsigned long addr = uptr_test_map(test, 4, PROT_READ | PROT_WRITE);
	struct mm_struct *mine = current->mm, *other;
	struct uptr_userptr *uobj;
	int ret;

	uobj = uptr_test_create(udev, addr, 4, 0);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, uobj);

	other = uptr_test_mm_alloc(test);
	uptr_test_switch_mm(mine, other);
	ret = uptr_userptr_populate(uobj, 0, 4, NULL);
	uptr_test_switch_mm(other, mine);
	mmput(other);

	KUNIT_EXPECT_EQ(test, ret, -EXDEV);
	KUNIT_EXPECT_EQ(test, uobj->mirror.nvalid, 0);
	KUNIT_EXPECT_EQ(test, uptr_userptr_populate(uobj, 0, 4, NULL), 0);
	drm_gem_object_put(&uobj->base);
}

static struct kunit_case uptr_userptr_test_cases[] = {
	KUNIT_CASE_PARAM(uptr_userptr_test_check_args, uptr_create_gen_params),
	KUNIT_CASE(uptr_userptr_test_create_flags),
	KUNIT_CASE(uptr_userptr_test_probe),
	KUNIT_CASE(uptr_userptr_test_other_mm),
	{}
};

static struct kunit_suite uptr_userptr_test_suite = {
	.name = "uptr_userptr",
	.test_cases = uptr_userptr_test_cases,
};

kunit_test_suite(uptr_userptr_test_suite);
