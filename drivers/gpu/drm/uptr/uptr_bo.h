/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Copyright (C) 2026 The uptr authors
 */
#ifndef _UPTR_BO_H_
#define _UPTR_BO_H_

#include <linux/sizes.h>

#include <drm/drm_gem_shmem_helper.h>

struct drm_device;
struct page;

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

/**
 * uptr_bo_pages() - the pages of a device buffer
 * @bo: the buffer
 *
 * Context: Any; the pages are pinned from creation to release.
 * Return: the array of the buffer's pages, one per page of its size.
 */
static inline struct page **uptr_bo_pages(struct uptr_bo *bo)
{
	return bo->shmem.pages;
}

#endif /* _UPTR_BO_H_ */
