// SPDX-License-Identifier: GPL-2.0-only
/*
 * Copyright (C) 2026 The uptr authors
 */

#include <kunit/test.h>

#include <drm/drm_drv.h>
#include <drm/uptr_drm.h>

#include "../uptr_drv.h"
#include "../uptr_userptr.h"
#include "uptr_kunit.h"

/**
 * DOC: KUnit tests for device parameters
 *
 * Calls the GET_PARAM handler on a KUnit-managed uptr device and checks
 * each parameter's value and the rejection of bad arguments. The expected
 * limits are written out, not taken from the macros the handler returns,
 * and the reported object size limit is the one CREATE enforces.
 */

static struct drm_device *uptr_test_drm(struct kunit *test)
{
	return &uptr_test_device(test)->drm;
}

struct uptr_param_case {
	const char *name;
	u32 param;
	u32 pad;
	int ret;
	u64 value;
};

static const struct uptr_param_case uptr_param_cases[] = {
	{ "features_userptr_and_engine", DRM_UPTR_PARAM_FEATURES, 0, 0,
	  DRM_UPTR_FEATURE_USERPTR | DRM_UPTR_FEATURE_ENGINE },
	{ "max_object_size_16g", DRM_UPTR_PARAM_MAX_OBJECT_SIZE, 0, 0, SZ_16G },
	{ "page_size", DRM_UPTR_PARAM_PAGE_SIZE, 0, 0, PAGE_SIZE },
	{ "max_job_bytes_1g", DRM_UPTR_PARAM_MAX_JOB_BYTES, 0, 0, SZ_1G },
	/* Both sides of 1 GiB of commands. */
	{ "max_job_pages_2g", DRM_UPTR_PARAM_MAX_JOB_PAGES, 0, 0,
	  2 * (SZ_1G >> PAGE_SHIFT) },
	{ "unknown_param_einval", 0x7fff, 0, -EINVAL, 0 },
	{ "u32_max_param_einval", U32_MAX, 0, -EINVAL, 0 },
	{ "nonzero_pad_einval", DRM_UPTR_PARAM_FEATURES, 1, -EINVAL, 0 },
};

static void uptr_param_case_desc(const struct uptr_param_case *c, char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(uptr_param, uptr_param_cases, uptr_param_case_desc);

static void uptr_test_get_param(struct kunit *test)
{
	const struct uptr_param_case *c = test->param_value;
	struct drm_device *drm = uptr_test_drm(test);
	struct drm_uptr_get_param args = {
		.param = c->param,
		.pad = c->pad,
		.value = 0xdeadbeefULL,
	};
	int ret;

	ret = uptr_ioctl_get_param(drm, &args, NULL);
	KUNIT_EXPECT_EQ(test, ret, c->ret);
	if (!c->ret)
		KUNIT_EXPECT_EQ(test, args.value, c->value);
}

/* CREATE accepts an object of the reported maximum size, not one larger. */
static void uptr_test_max_object_size_enforced(struct kunit *test)
{
	struct drm_uptr_get_param p = {
		.param = DRM_UPTR_PARAM_MAX_OBJECT_SIZE,
	};
	struct drm_uptr_create args = { .user_ptr = SZ_256M };
	unsigned long start;

	KUNIT_ASSERT_EQ(test, uptr_ioctl_get_param(uptr_test_drm(test), &p,
						   NULL), 0);
	args.user_size = p.value;
	KUNIT_EXPECT_EQ(test, uptr_userptr_check_args(&args, &start), 0);
	args.user_size = p.value + PAGE_SIZE;
	KUNIT_EXPECT_EQ(test, uptr_userptr_check_args(&args, &start), -E2BIG);
}

static void uptr_test_driver_identity(struct kunit *test)
{
	struct drm_device *drm = uptr_test_drm(test);

	KUNIT_EXPECT_STREQ(test, drm->driver->name, "uptr");
	KUNIT_EXPECT_TRUE(test, drm_core_check_feature(drm, DRIVER_RENDER));
	KUNIT_EXPECT_TRUE(test, drm_core_check_feature(drm, DRIVER_SYNCOBJ));
	KUNIT_EXPECT_FALSE(test, drm_core_check_feature(drm, DRIVER_MODESET));
}

static struct kunit_case uptr_params_test_cases[] = {
	KUNIT_CASE_PARAM(uptr_test_get_param, uptr_param_gen_params),
	KUNIT_CASE(uptr_test_max_object_size_enforced),
	KUNIT_CASE(uptr_test_driver_identity),
	{}
};

static struct kunit_suite uptr_params_test_suite = {
	.name = "uptr_params",
	.test_cases = uptr_params_test_cases,
};

kunit_test_suite(uptr_params_test_suite);
