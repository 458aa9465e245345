// SPDX-License-Identifier: GPL-2.0-only
/*
 * Copyright (C) 2026 The uptr authors
 */

#include <linux/dma-resv.h>
#include <linux/mm.h>
#include <linux/overflow.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include <drm/drm_device.h>
#include <drm/drm_file.h>
#include <drm/drm_gem.h>
#include <drm/drm_print.h>
#include <drm/uptr_drm.h>

#include "uptr_drv.h"
#include "uptr_userptr.h"

/**
 * DOC: userptr GEM objects
 *
 * A &struct uptr_userptr is a GEM object whose backing store is a range of
 * the creating process' memory, mirrored by a &struct uptr_mirror. The GEM
 * layer adds to the mirror what the device needs:
 *
 * - argument checking for %DRM_IOCTL_UPTR_CREATE (uptr_userptr_check_args()),
 *   with the optional probe of the VMAs and population at create time;
 * - the binding to the creating mm: device use from another mm fails with
 *   -EXDEV (uptr_userptr_populate());
 * - the jobs' use of its pages: submission records each job's fence over
 *   the pages the job uses (uptr_userptr_busy_add_locked()), which is
 *   what an invalidation of those pages waits for; the object's dma_resv
 *   holds the same fences for implicit synchronisation and teardown;
 * - teardown in the right order (uptr_userptr_free()): wait for every
 *   fence in the object's dma_resv, *then* remove the notifier and free
 *   the chunks (uptr_mirror_fini()). Removing the notifier first would let
 *   an munmap() or reclaim in between skip the wait for the device, which
 *   could then write to freed pages. Jobs hold a reference on every object
 *   they use, so the wait normally finds nothing. Teardown runs where the
 *   last reference goes, and a job's fence never depends on that context:
 *   jobs drop their references on the engine's free workqueue, not in the
 *   scheduler's free_job (mmu_interval_notifier_remove() waits for any
 *   invalidation running in the mm, which may wait for a job). So closing
 *   the last handle of an object no job holds, or the process exiting with
 *   no job in flight, releases it and its memory (and memory cgroup
 *   charges) before returning; otherwise its last job's release does;
 * - refusal of what a userptr object cannot do: it has no mmap offset
 *   (-EINVAL from the mmap-offset ioctl) and cannot be exported as a
 *   dma-buf (-EPERM), because its pages belong to the user's mapping.
 */

static const struct drm_gem_object_funcs uptr_userptr_funcs;

struct uptr_userptr *to_uptr_userptr(struct drm_gem_object *obj)
{
	if (obj->funcs != &uptr_userptr_funcs)
		return NULL;
	return container_of(obj, struct uptr_userptr, base);
}

/* An invalidation that really waits for the device, for debugfs. */
static void uptr_userptr_waiting(struct uptr_mirror *mirror, bool begin)
{
	struct uptr_userptr *uobj =
		container_of(mirror, struct uptr_userptr, mirror);
	struct uptr_device *udev = to_uptr_device(uobj->base.dev);

	if (begin) {
		atomic64_inc(&udev->invalidation_waits);
		atomic_inc(&udev->invalidations_waiting);
	} else {
		atomic_dec(&udev->invalidations_waiting);
	}
}

static const struct uptr_mirror_ops uptr_userptr_mirror_ops = {
	.waiting = uptr_userptr_waiting,
};

static void uptr_userptr_free(struct drm_gem_object *obj)
{
	struct uptr_userptr *uobj = to_uptr_userptr(obj);
	struct uptr_device *udev = to_uptr_device(obj->dev);

	mutex_lock(&udev->objects_lock);
	list_del(&uobj->link);
	mutex_unlock(&udev->objects_lock);

	/* The device first, then the notifier: see uptr_mirror_fini(). */
	dma_resv_wait_timeout(obj->resv, DMA_RESV_USAGE_BOOKKEEP, false,
			      MAX_SCHEDULE_TIMEOUT);
	uptr_mirror_fini(&uobj->mirror);
	drm_gem_object_release(obj);
	kfree(uobj);
}

static struct dma_buf *uptr_userptr_export(struct drm_gem_object *obj,
					   int flags)
{
	drm_dbg_driver(obj->dev, "userptr objects cannot be exported\n");
	return ERR_PTR(-EPERM);
}

static const struct drm_gem_object_funcs uptr_userptr_funcs = {
	.free = uptr_userptr_free,
	.export = uptr_userptr_export,
};

/**
 * uptr_userptr_check_args() - validate %DRM_IOCTL_UPTR_CREATE arguments
 * @args: the arguments
 * @start: receives the untagged start address
 *
 * Context: Process context, in the caller's mm (for untagged_addr() and
 * access_ok()).
 * Return: 0, -EINVAL, -E2BIG or -EFAULT as documented in uptr_drm.h.
 */
int uptr_userptr_check_args(const struct drm_uptr_create *args,
			    unsigned long *start)
{
	unsigned long addr, end;

	if (args->extensions || args->pad ||
	    args->flags & ~DRM_UPTR_CREATE_FLAGS)
		return -EINVAL;
	if (!args->user_size)
		return -EINVAL;
	if (args->user_ptr != (unsigned long)args->user_ptr ||
	    args->user_size != (unsigned long)args->user_size)
		return -EINVAL;

	addr = untagged_addr((unsigned long)args->user_ptr);
	if (!PAGE_ALIGNED(addr) || !PAGE_ALIGNED(args->user_size))
		return -EINVAL;
	if (check_add_overflow(addr, (unsigned long)args->user_size, &end))
		return -EINVAL;
	if (args->user_size > UPTR_MAX_OBJECT_SIZE)
		return -E2BIG;
	if (!access_ok((void __user *)addr, args->user_size))
		return -EFAULT;

	*start = addr;
	return 0;
}

/**
 * uptr_userptr_create() - create a userptr object in the current mm
 * @udev: the device
 * @args: %DRM_IOCTL_UPTR_CREATE arguments; only the inputs are used
 *
 * Context: Process context with a user mm; may sleep. Takes mmap_lock.
 * Return: the new object holding one reference, or an ERR_PTR() with the
 * errnos documented for %DRM_IOCTL_UPTR_CREATE.
 */
struct uptr_userptr *uptr_userptr_create(struct uptr_device *udev,
					 const struct drm_uptr_create *args)
{
	struct uptr_mirror_desc desc = {
		.mm = current->mm,
		.size = args->user_size,
		.writable = !(args->flags & DRM_UPTR_CREATE_READ_ONLY),
		.ops = &uptr_userptr_mirror_ops,
		.lock = &udev->notifier_lock,
		.totals = &udev->stats,
	};
	struct uptr_userptr *uobj;
	int ret;

	ret = uptr_userptr_check_args(args, &desc.start);
	if (ret)
		return ERR_PTR(ret);
	if (!current->mm)
		return ERR_PTR(-EFAULT);

	if (args->flags & DRM_UPTR_CREATE_PROBE) {
		ret = uptr_mirror_probe(current->mm, desc.start, desc.size);
		if (ret)
			return ERR_PTR(ret);
	}

	uobj = kzalloc(sizeof(*uobj), UPTR_GFP_USER);
	if (!uobj)
		return ERR_PTR(-ENOMEM);
	uobj->base.funcs = &uptr_userptr_funcs;
	uobj->flags = args->flags;
	INIT_LIST_HEAD(&uobj->link);
	drm_gem_private_object_init(&udev->drm, &uobj->base, args->user_size);

	ret = uptr_mirror_init(&uobj->mirror, &desc);
	if (ret)
		goto err_release_gem;

	mutex_lock(&udev->objects_lock);
	list_add_tail(&uobj->link, &udev->objects);
	mutex_unlock(&udev->objects_lock);

	if (args->flags & DRM_UPTR_CREATE_POPULATE) {
		ret = uptr_mirror_populate(&uobj->mirror, 0,
					   uobj->mirror.npages, NULL);
		if (ret) {
			drm_gem_object_put(&uobj->base);
			return ERR_PTR(ret);
		}
	}
	return uobj;

err_release_gem:
	drm_gem_object_release(&uobj->base);
	kfree(uobj);
	return ERR_PTR(ret);
}

/**
 * uptr_userptr_populate() - fault in pages for device use
 * @uobj: the object
 * @pgoff: first page
 * @npages: number of pages
 * @seq: receives the sequence for uptr_mirror_range_valid_locked()
 *
 * The one check that an object is used only from the address space that
 * created it (SUBMIT and %DRM_UPTR_CREATE_POPULATE both come here).
 *
 * Context: Process context; may sleep; no dma_resv or notifier lock held.
 * Return: 0; -EXDEV if the caller's mm is not the one that created the
 * object; otherwise as uptr_mirror_populate().
 */
int uptr_userptr_populate(struct uptr_userptr *uobj, unsigned long pgoff,
			  unsigned long npages, unsigned long *seq)
{
	if (current->mm != uobj->mirror.notifier.mm) {
		drm_dbg_driver(uobj->base.dev,
			       "userptr used from another address space\n");
		return -EXDEV;
	}
	return uptr_mirror_populate(&uobj->mirror, pgoff, npages, seq);
}

/**
 * uptr_userptr_address() - the user address of a byte of the object
 * @uobj: the object
 * @offset: the byte's offset in the object
 *
 * Context: Any.
 * Return: its address in the address space that created the object.
 */
unsigned long uptr_userptr_address(const struct uptr_userptr *uobj,
				   u64 offset)
{
	return uobj->mirror.start + offset;
}

/**
 * uptr_userptr_range_valid_locked() - is a fault-in still current?
 * @uobj: the object
 * @pgoff: first page
 * @npages: number of pages
 * @seq: the sequence uptr_userptr_populate() returned for them
 *
 * Context: &uptr_device.notifier_lock held.
 * Return: as uptr_mirror_range_valid_locked().
 */
bool uptr_userptr_range_valid_locked(struct uptr_userptr *uobj,
				     unsigned long pgoff, unsigned long npages,
				     unsigned long seq)
{
	return uptr_mirror_range_valid_locked(&uobj->mirror, pgoff, npages,
					      seq);
}

/**
 * uptr_userptr_get_pages_locked() - the pages of a valid range
 * @uobj: the object
 * @pgoff: first page
 * @npages: number of pages
 * @pages: receives @npages pages
 *
 * Context: &uptr_device.notifier_lock held, after
 * uptr_userptr_range_valid_locked() said the range is valid.
 * Return: as uptr_mirror_get_pages_locked().
 */
bool uptr_userptr_get_pages_locked(struct uptr_userptr *uobj,
				   unsigned long pgoff, unsigned long npages,
				   struct page **pages)
{
	return uptr_mirror_get_pages_locked(&uobj->mirror, pgoff, npages,
					    pages);
}

/**
 * uptr_userptr_busy_add_locked() - a job uses pages of the object
 * @uobj: the object
 * @busy: from uptr_mirror_busy_alloc(); the object owns it now
 * @pgoff: first page
 * @npages: number of pages, not zero
 * @fence: the job's fence
 *
 * Context: &uptr_device.notifier_lock held, in the critical section in
 * which the pages were resolved for the job.
 */
void uptr_userptr_busy_add_locked(struct uptr_userptr *uobj,
				  struct uptr_mirror_busy *busy,
				  unsigned long pgoff, unsigned long npages,
				  struct dma_fence *fence)
{
	uptr_mirror_busy_add_locked(&uobj->mirror, busy, pgoff, npages, fence);
}

/**
 * uptr_ioctl_create() - handler of %DRM_IOCTL_UPTR_CREATE
 * @drm: the uptr DRM device
 * @data: &struct drm_uptr_create
 * @file: the caller's DRM file, which gets the handle
 *
 * Context: Process context; may sleep.
 * Return: 0 with &drm_uptr_create.handle set, or a negative errno as
 * documented in uptr_drm.h.
 */
int uptr_ioctl_create(struct drm_device *drm, void *data,
		      struct drm_file *file)
{
	struct drm_uptr_create *args = data;
	struct uptr_userptr *uobj;
	int ret;

	uobj = uptr_userptr_create(to_uptr_device(drm), args);
	if (IS_ERR(uobj)) {
		drm_dbg_driver(drm, "create: %pe\n", uobj);
		return PTR_ERR(uobj);
	}

	ret = drm_gem_handle_create(file, &uobj->base, &args->handle);
	drm_gem_object_put(&uobj->base);
	return ret;
}
