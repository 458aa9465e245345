// SPDX-License-Identifier: GPL-2.0-only
/*
 * Copyright (C) 2026 The uptr authors
 */

#include <linux/slab.h>

#include <drm/drm_device.h>
#include <drm/drm_file.h>
#include <drm/drm_gem.h>
#include <drm/drm_print.h>
#include <drm/drm_vma_manager.h>
#include <drm/uptr_drm.h>

#include "uptr_bo.h"
#include "uptr_drv.h"
#include "uptr_userptr.h"

/**
 * DOC: device buffers
 *
 * Device buffers are the virtual device's own memory: shmem GEM objects
 * (drm_gem_shmem_helper) whose pages are pinned from creation to release,
 * so the engine can use &drm_gem_shmem_object.pages directly. The CPU maps
 * them through %DRM_IOCTL_UPTR_BO_MMAP_OFFSET and mmap() on the DRM file;
 * both see the same pages. They give tests a second path to the data: what
 * the device copied out of a userptr object is read back through the
 * buffer's own mapping.
 */

static const struct drm_gem_object_funcs uptr_bo_funcs;

/**
 * to_uptr_bo() - downcast from the GEM object
 * @obj: a GEM object
 *
 * Return: the device buffer, or NULL if @obj is not one.
 */
struct uptr_bo *to_uptr_bo(struct drm_gem_object *obj)
{
	if (obj->funcs != &uptr_bo_funcs)
		return NULL;
	return container_of(obj, struct uptr_bo, shmem.base);
}

static void uptr_bo_free(struct drm_gem_object *obj)
{
	struct drm_gem_shmem_object *shmem = to_drm_gem_shmem_obj(obj);

	if (shmem->pages)
		drm_gem_shmem_unpin(shmem);
	drm_gem_shmem_free(shmem);
}

static const struct drm_gem_object_funcs uptr_bo_funcs = {
	.free = uptr_bo_free,
	.print_info = drm_gem_shmem_object_print_info,
	.pin = drm_gem_shmem_object_pin,
	.unpin = drm_gem_shmem_object_unpin,
	.get_sg_table = drm_gem_shmem_object_get_sg_table,
	.vmap = drm_gem_shmem_object_vmap,
	.vunmap = drm_gem_shmem_object_vunmap,
	.mmap = drm_gem_shmem_object_mmap,
	.vm_ops = &drm_gem_shmem_vm_ops,
};

/**
 * uptr_bo_create_object() - &drm_driver.gem_create_object
 * @drm: the device
 * @size: size in bytes
 *
 * Return: the GEM object of a new, not yet initialized, device buffer.
 */
struct drm_gem_object *uptr_bo_create_object(struct drm_device *drm,
					     size_t size)
{
	struct uptr_bo *bo = kzalloc(sizeof(*bo), GFP_KERNEL_ACCOUNT);

	if (!bo)
		return ERR_PTR(-ENOMEM);
	bo->shmem.base.funcs = &uptr_bo_funcs;
	return &bo->shmem.base;
}

/**
 * uptr_bo_create() - create a device buffer with its pages pinned
 * @drm: the device
 * @size: size in bytes, not zero, at most %UPTR_MAX_BO_SIZE
 *
 * Context: Process context; may sleep.
 * Return: the buffer with one reference, or an ERR_PTR().
 */
struct uptr_bo *uptr_bo_create(struct drm_device *drm, u64 size)
{
	struct drm_gem_shmem_object *shmem;
	int ret;

	shmem = drm_gem_shmem_create(drm, PAGE_ALIGN(size));
	if (IS_ERR(shmem))
		return ERR_CAST(shmem);
	ret = drm_gem_shmem_pin(shmem);
	if (ret) {
		drm_gem_object_put(&shmem->base);
		return ERR_PTR(ret);
	}
	return container_of(shmem, struct uptr_bo, shmem);
}

/**
 * uptr_ioctl_bo_create() - handler of %DRM_IOCTL_UPTR_BO_CREATE
 * @drm: the device
 * @data: &struct drm_uptr_bo_create
 * @file: the caller's DRM file
 *
 * Context: Process context; may sleep.
 * Return: 0, -EINVAL (zero size, flags), -E2BIG (above 1 GiB) or -ENOMEM.
 */
int uptr_ioctl_bo_create(struct drm_device *drm, void *data,
			 struct drm_file *file)
{
	struct drm_uptr_bo_create *args = data;
	struct uptr_bo *bo;
	int ret;

	if (args->flags || !args->size)
		return -EINVAL;
	if (args->size > UPTR_MAX_BO_SIZE)
		return -E2BIG;

	bo = uptr_bo_create(drm, args->size);
	if (IS_ERR(bo))
		return PTR_ERR(bo);
	ret = drm_gem_handle_create(file, &bo->shmem.base, &args->handle);
	drm_gem_object_put(&bo->shmem.base);
	return ret;
}

/**
 * uptr_ioctl_bo_mmap_offset() - handler of %DRM_IOCTL_UPTR_BO_MMAP_OFFSET
 * @drm: the device
 * @data: &struct drm_uptr_bo_mmap_offset
 * @file: the caller's DRM file
 *
 * Context: Process context; may sleep.
 * Return: 0; -ENOENT for an unknown handle; -EINVAL for a non-zero pad or
 * an object that is not a device buffer (userptr objects have no offset).
 */
int uptr_ioctl_bo_mmap_offset(struct drm_device *drm, void *data,
			      struct drm_file *file)
{
	struct drm_uptr_bo_mmap_offset *args = data;
	struct drm_gem_object *obj;
	int ret;

	if (args->pad)
		return -EINVAL;
	obj = drm_gem_object_lookup(file, args->handle);
	if (!obj)
		return -ENOENT;

	if (!to_uptr_bo(obj)) {
		drm_dbg_driver(drm, "mmap offset of a userptr object\n");
		ret = -EINVAL;
		goto out_put;
	}
	ret = drm_gem_create_mmap_offset(obj);
	if (!ret)
		args->offset = drm_vma_node_offset_addr(&obj->vma_node);
out_put:
	drm_gem_object_put(obj);
	return ret;
}
