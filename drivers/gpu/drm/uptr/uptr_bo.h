/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Copyright (C) 2026 The uptr authors
 */
#ifndef _UPTR_BO_H_
#define _UPTR_BO_H_

#include <linux/sizes.h>

#include <drm/drm_gem_shmem_helper.h>

struct drm_device;
struct drm_file;

/** UPTR_MAX_BO_SIZE - largest device buffer, in bytes */
#define UPTR_MAX_BO_SIZE	SZ_1G

/**
 * struct uptr_bo - a device buffer: shmem pages pinned for its lifetime
 */
struct uptr_bo {
	/** @shmem: the shmem GEM object; its pages stay pinned */
	struct drm_gem_shmem_object shmem;
};

struct uptr_bo *to_uptr_bo(struct drm_gem_object *obj);
struct drm_gem_object *uptr_bo_create_object(struct drm_device *drm,
					     size_t size);
struct uptr_bo *uptr_bo_create(struct drm_device *drm, u64 size);
int uptr_ioctl_bo_create(struct drm_device *drm, void *data,
			 struct drm_file *file);
int uptr_ioctl_bo_mmap_offset(struct drm_device *drm, void *data,
			      struct drm_file *file);

#endif /* _UPTR_BO_H_ */
