/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Copyright (C) 2026 The uptr authors
 */
#ifndef _UPTR_USERPTR_H_
#define _UPTR_USERPTR_H_

#include <linux/list.h>

#include <drm/drm_gem.h>

#include "uptr_mirror.h"

struct drm_uptr_create;
struct uptr_device;

/**
 * struct uptr_userptr - a GEM object backed by a range of user memory
 */
struct uptr_userptr {
	/** @base: the GEM object; its size is the range's size */
	struct drm_gem_object base;
	/** @mirror: the HMM mirror of the range */
	struct uptr_mirror mirror;
	/** @flags: DRM_UPTR_CREATE_* given at create; constant */
	u32 flags;
	/** @link: in &uptr_device.objects, under &uptr_device.objects_lock */
	struct list_head link;
};

/**
 * to_uptr_userptr() - downcast from the GEM object
 * @obj: a GEM object
 *
 * Return: the userptr object, or NULL if @obj is not one.
 */
struct uptr_userptr *to_uptr_userptr(struct drm_gem_object *obj);

int uptr_userptr_check_args(const struct drm_uptr_create *args,
			    unsigned long *start);
struct uptr_userptr *uptr_userptr_create(struct uptr_device *udev,
					 const struct drm_uptr_create *args);
int uptr_userptr_populate(struct uptr_userptr *uobj, unsigned long pgoff,
			  unsigned long npages, unsigned long *seq);
unsigned long uptr_userptr_address(const struct uptr_userptr *uobj,
				   u64 offset);
bool uptr_userptr_range_valid_locked(struct uptr_userptr *uobj,
				     unsigned long pgoff, unsigned long npages,
				     unsigned long seq);
bool uptr_userptr_get_pages_locked(struct uptr_userptr *uobj,
				   unsigned long pgoff, unsigned long npages,
				   struct page **pages);
void uptr_userptr_busy_add_locked(struct uptr_userptr *uobj,
				  struct uptr_mirror_busy *busy,
				  unsigned long pgoff, unsigned long npages,
				  struct dma_fence *fence);

#endif /* _UPTR_USERPTR_H_ */
