// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The uptr authors
 *
 * uptr as the module distributions ship: it cannot be unloaded while
 * anything of it is in use (an open DRM file, a device buffer still
 * mapped or exported as a dma-buf after its file was closed, a job's fence
 * kept as a sync_file), the refusal changes nothing, and once nothing is
 * left it unloads and loads again and works. Runs last: its final test
 * unloads and reloads the module (with modprobe). Skips when uptr is
 * built in.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/sync_file.h>

#include "../../kselftest_harness.h"
#include "uptr_util.h"

#define PAGE		UPTR_PAGE
#define REFCNT		"/sys/module/uptr/refcnt"

/* The module's reference count; -1 when uptr is not a loaded module. */
static long long uptr_module_refcnt(void)
{
	return uptr_number(REFCNT);
}

/* delete_module("uptr") without waiting. Returns 0 or -errno. */
static int uptr_module_unload(void)
{
	return syscall(SYS_delete_module, "uptr", O_NONBLOCK) ? -errno : 0;
}

FIXTURE(module) {
	int fd;
};

FIXTURE_SETUP(module)
{
	if (uptr_module_refcnt() < 0)
		SKIP(return, "uptr is not a loaded module");
	self->fd = uptr_open_render();
	ASSERT_LE(0, self->fd);
}

FIXTURE_TEARDOWN(module)
{
	if (self->fd >= 0)
		close(self->fd);
}

/*
 * Try to unload the module while something holds it: the refusal is
 * -EWOULDBLOCK, the module stays with the same reference count, and
 * the device still works afterwards.
 */
static void module_expect_refusal(struct __test_metadata *_metadata)
{
	long long refs = uptr_module_refcnt();

	ASSERT_LT(0, refs);
	EXPECT_EQ(-EWOULDBLOCK, uptr_module_unload());
	EXPECT_EQ(refs, uptr_module_refcnt());
}

/* A FILL of a fresh device buffer through @fd; its out fence in @sync. */
static int module_fill(int fd, __u32 sync, __u32 *bo, void **map)
{
	struct uptr_batch j = {};
	int ret;

	ret = uptr_bo_create(fd, PAGE, bo, map);
	if (ret)
		return ret;
	uptr_batch_cmd(&j, DRM_UPTR_OP_FILL, 0, 0, *bo, 0, PAGE, 0x6d6d6d6d);
	return uptr_batch_run(fd, sync, &j);
}

TEST_F(module, unload_refused_while_a_file_is_open)
{
	void *map;
	__u32 bo, sync;

	module_expect_refusal(_metadata);
	ASSERT_EQ(0, uptr_syncobj_create(self->fd, &sync));
	ASSERT_EQ(1, module_fill(self->fd, sync, &bo, &map));
	EXPECT_EQ(0x6d, ((unsigned char *)map)[PAGE - 1]);
	munmap(map, PAGE);
}

/* A device buffer mapped after its DRM file was closed holds the module. */
TEST_F(module, unload_refused_while_a_buffer_is_mapped)
{
	unsigned char *map;
	__u32 bo, sync;
	void *m;

	ASSERT_EQ(0, uptr_syncobj_create(self->fd, &sync));
	ASSERT_EQ(1, module_fill(self->fd, sync, &bo, &m));
	map = m;
	close(self->fd);
	self->fd = -1;

	module_expect_refusal(_metadata);
	EXPECT_EQ(0x6d, map[0]);
	map[0] = 1;
	EXPECT_EQ(0, munmap(map, PAGE));
}

/* So does a device buffer exported as a dma-buf. */
TEST_F(module, unload_refused_while_a_buffer_is_exported)
{
	struct drm_prime_handle prime = { .flags = DRM_CLOEXEC };
	__u32 sync;
	void *map;

	ASSERT_EQ(0, uptr_syncobj_create(self->fd, &sync));
	ASSERT_EQ(1, module_fill(self->fd, sync, &prime.handle, &map));
	munmap(map, PAGE);
	ASSERT_EQ(0, uptr_ioctl(self->fd, DRM_IOCTL_PRIME_HANDLE_TO_FD,
				&prime));
	close(self->fd);
	self->fd = -1;

	module_expect_refusal(_metadata);
	EXPECT_EQ(0, close(prime.fd));
}

/*
 * A job's fence kept as a sync_file after the DRM file was closed: the
 * module stays (the fence names its driver and timeline with the
 * module's strings), and the fence still answers SYNC_IOC_FILE_INFO.
 * Without that pin the module would unload, and the query would read
 * freed memory.
 */
TEST_F(module, unload_refused_while_a_sync_file_lives)
{
	struct drm_syncobj_handle h = {
		.flags = DRM_SYNCOBJ_HANDLE_TO_FD_FLAGS_EXPORT_SYNC_FILE,
	};
	struct sync_fence_info fi = {};
	struct sync_file_info info = {
		.num_fences = 1, .sync_fence_info = (__u64)(uintptr_t)&fi,
	};
	__u32 bo;
	void *map;

	ASSERT_EQ(0, uptr_syncobj_create(self->fd, &h.handle));
	ASSERT_EQ(1, module_fill(self->fd, h.handle, &bo, &map));
	munmap(map, PAGE);
	ASSERT_EQ(0, uptr_ioctl(self->fd, DRM_IOCTL_SYNCOBJ_HANDLE_TO_FD, &h));
	close(self->fd);
	self->fd = -1;

	module_expect_refusal(_metadata);
	ASSERT_EQ(0, ioctl(h.fd, SYNC_IOC_FILE_INFO, &info));
	EXPECT_EQ(1, info.status);
	EXPECT_STREQ("uptr", fi.driver_name);
	EXPECT_EQ(1, fi.status);
	EXPECT_EQ(0, close(h.fd));
}

/*
 * With nothing left, the module unloads (its device and render node go
 * away) and loads again, and the reloaded device runs a job. Last test:
 * the suites that run after it use the reloaded module.
 */
TEST_F(module, unloads_and_reloads_when_unused)
{
	struct stat st;
	void *map;
	__u32 bo, sync;
	int fd;

	close(self->fd);
	self->fd = -1;
	ASSERT_EQ(0, uptr_module_unload());
	EXPECT_NE(0, stat("/sys/module/uptr", &st));
	EXPECT_GT(0, uptr_open_render());

	ASSERT_EQ(0, system("modprobe uptr"));
	ASSERT_LE(0, uptr_module_refcnt());
	fd = uptr_open_render();
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, uptr_syncobj_create(fd, &sync));
	EXPECT_EQ(1, module_fill(fd, sync, &bo, &map));
	EXPECT_EQ(0x6d, ((unsigned char *)map)[0]);
	munmap(map, PAGE);
	close(fd);
}

TEST_HARNESS_MAIN
