// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The uptr authors
 *
 * DRM_IOCTL_UPTR_GET_PARAM through the real render node: every parameter,
 * and the errno userspace gets for bad arguments.
 */
#include <stdint.h>
#include <unistd.h>

#include "../../kselftest_harness.h"
#include "uptr_util.h"

FIXTURE(uptr) {
	int fd;
};

FIXTURE_SETUP(uptr)
{
	self->fd = uptr_open_render();
	if (self->fd < 0)
		SKIP(return, "no uptr render node (driver not loaded?)");
}

FIXTURE_TEARDOWN(uptr)
{
	if (self->fd >= 0)
		close(self->fd);
}

/* The driver's version, UPTR_DRIVER_MAJOR and UPTR_DRIVER_MINOR. */
#define UPTR_VERSION_MAJOR	1
#define UPTR_VERSION_MINOR	2

TEST_F(uptr, version_is_uptr_1_2)
{
	char name[16] = {}, date[16] = {}, desc[128] = {};
	struct drm_version v = {
		.name = name, .name_len = sizeof(name) - 1,
		.date = date, .date_len = sizeof(date) - 1,
		.desc = desc, .desc_len = sizeof(desc) - 1,
	};

	ASSERT_EQ(0, uptr_ioctl(self->fd, DRM_IOCTL_VERSION, &v));
	EXPECT_STREQ("uptr", name);
	EXPECT_EQ(UPTR_VERSION_MAJOR, v.version_major);
	EXPECT_EQ(UPTR_VERSION_MINOR, v.version_minor);
}

/* Every feature of this version, and no reserved bit (bit 0: before 1.2). */
TEST_F(uptr, features_are_userptr_and_engine)
{
	struct drm_uptr_get_param p = { .param = DRM_UPTR_PARAM_FEATURES };

	ASSERT_EQ(0, uptr_ioctl(self->fd, DRM_IOCTL_UPTR_GET_PARAM, &p));
	EXPECT_EQ((__u64)(DRM_UPTR_FEATURE_USERPTR | DRM_UPTR_FEATURE_ENGINE),
		  p.value);
}

TEST_F(uptr, page_size_matches_sysconf)
{
	struct drm_uptr_get_param p = { .param = DRM_UPTR_PARAM_PAGE_SIZE };

	ASSERT_EQ(0, uptr_ioctl(self->fd, DRM_IOCTL_UPTR_GET_PARAM, &p));
	EXPECT_EQ((uint64_t)sysconf(_SC_PAGESIZE), p.value);
}

TEST_F(uptr, max_object_size_is_page_multiple)
{
	struct drm_uptr_get_param p = {
		.param = DRM_UPTR_PARAM_MAX_OBJECT_SIZE,
	};

	ASSERT_EQ(0, uptr_ioctl(self->fd, DRM_IOCTL_UPTR_GET_PARAM, &p));
	EXPECT_GE(p.value, (uint64_t)1 << 30);
	EXPECT_EQ(0ULL, p.value % (uint64_t)sysconf(_SC_PAGESIZE));
}

TEST_F(uptr, unknown_param_einval)
{
	struct drm_uptr_get_param p = { .param = 0x7fff, .value = 42 };

	EXPECT_EQ(-EINVAL, uptr_ioctl(self->fd, DRM_IOCTL_UPTR_GET_PARAM, &p));
}

TEST_F(uptr, nonzero_pad_einval)
{
	struct drm_uptr_get_param p = {
		.param = DRM_UPTR_PARAM_FEATURES,
		.pad = 1,
	};

	EXPECT_EQ(-EINVAL, uptr_ioctl(self->fd, DRM_IOCTL_UPTR_GET_PARAM, &p));
}

TEST_F(uptr, bad_pointer_efault)
{
	EXPECT_EQ(-EFAULT, uptr_ioctl(self->fd, DRM_IOCTL_UPTR_GET_PARAM,
				      (void *)16));
}

TEST_HARNESS_MAIN
