/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Copyright (C) 2026 The uptr authors
 */
#ifndef _UPTR_DRV_H_
#define _UPTR_DRV_H_

#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/sizes.h>

#include <drm/drm_device.h>

#include "uptr_mirror.h"

struct drm_file;
struct platform_device;

#define UPTR_DRIVER_NAME	"uptr"
#define UPTR_DRIVER_DESC	"userptr GEM objects mirrored with HMM"
#define UPTR_DRIVER_DATE	"20261126"
#define UPTR_DRIVER_MAJOR	1
#define UPTR_DRIVER_MINOR	0

/** UPTR_MAX_OBJECT_SIZE - largest userptr object, in bytes */
#define UPTR_MAX_OBJECT_SIZE	SZ_16G

/**
 * struct uptr_device - the uptr virtual device
 */
struct uptr_device {
	/** @drm: the DRM device, first so container_of() is free */
	struct drm_device drm;
	/** @pdev: platform device the DRM device hangs off, or NULL in tests */
	struct platform_device *pdev;
	/** @stats: totals of the counters of all mirrors, for debugfs */
	struct uptr_mirror_stats stats;
	/**
	 * @objects_lock: protects @objects. Taken in process context only,
	 * never with a mirror's notifier lock held.
	 */
	struct mutex objects_lock;
	/** @objects: every &struct uptr_userptr, for debugfs */
	struct list_head objects;
};

/**
 * to_uptr_device() - upcast from the DRM device
 * @drm: DRM device embedded in a &struct uptr_device
 *
 * Return: the containing &struct uptr_device.
 */
static inline struct uptr_device *to_uptr_device(struct drm_device *drm)
{
	return container_of(drm, struct uptr_device, drm);
}

extern const struct drm_driver uptr_drm_driver;

int uptr_device_init(struct uptr_device *udev);
void uptr_debugfs_init(struct uptr_device *udev);

int uptr_ioctl_get_param(struct drm_device *drm, void *data,
			 struct drm_file *file);

#endif /* _UPTR_DRV_H_ */
