/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Copyright (C) 2026 The uptr authors
 *
 * Helpers shared by the uptr kselftests: finding the uptr render node and
 * issuing raw ioctls.
 */
#ifndef _UPTR_COMMON_H_
#define _UPTR_COMMON_H_

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <drm/drm.h>
#include <drm/uptr_drm.h>

#define UPTR_RENDER_MINOR_FIRST	128
#define UPTR_RENDER_MINOR_LAST	191

/*
 * Open the render node whose DRM_IOCTL_VERSION name is "uptr".
 * Returns the fd, or -1 with errno set (ENODEV when no such node exists).
 */
static inline int uptr_open_render(void)
{
	int minor;

	for (minor = UPTR_RENDER_MINOR_FIRST; minor <= UPTR_RENDER_MINOR_LAST;
	     minor++) {
		struct drm_version v;
		char path[64];
		char name[32];
		int fd;

		snprintf(path, sizeof(path), "/dev/dri/renderD%d", minor);
		fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			continue;

		memset(&v, 0, sizeof(v));
		memset(name, 0, sizeof(name));
		v.name = name;
		v.name_len = sizeof(name) - 1;
		if (ioctl(fd, DRM_IOCTL_VERSION, &v) == 0 &&
		    !strcmp(name, "uptr"))
			return fd;
		close(fd);
	}

	errno = ENODEV;
	return -1;
}

/* ioctl() that returns 0 or -errno, restarting on EINTR/EAGAIN. */
static inline int uptr_ioctl(int fd, unsigned long request, void *arg)
{
	int ret;

	do {
		ret = ioctl(fd, request, arg);
	} while (ret == -1 && (errno == EINTR || errno == EAGAIN));

	return ret ? -errno : 0;
}

/* ioctl() that returns 0 or -errno, once, without restarting. */
static inline int uptr_ioctl_once(int fd, unsigned long request, void *arg)
{
	return ioctl(fd, request, arg) ? -errno : 0;
}

#endif /* _UPTR_COMMON_H_ */
