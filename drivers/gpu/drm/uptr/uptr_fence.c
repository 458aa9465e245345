// SPDX-License-Identifier: GPL-2.0-only
/*
 * Copyright (C) 2026 The uptr authors
 */

#include <linux/module.h>
#include <linux/slab.h>

#include "uptr_drv.h"
#include "uptr_fence.h"

/**
 * DOC: out fences
 *
 * What others see of a job, in its out-syncobj and in its objects'
 * reservations, is not the scheduler's finished fence but a
 * &struct uptr_fence, signalled with the finished fence's error from a
 * callback on it. Fences outlive the files and the device that made
 * them: a syncobj's fence can be exported as a sync_file, a reservation's
 * with %DMA_BUF_IOCTL_EXPORT_SYNC_FILE, and either kept after every DRM
 * file is closed. The finished fence would name its timeline through its
 * &drm_gpu_scheduler, which lives in the device, and its ops live in the
 * scheduler's module. A &struct uptr_fence has its own lock, names its
 * timeline with a constant of this module and holds a reference on the
 * module until it is released: a sync_file stays valid for as long as
 * anyone holds it, and the module cannot be unloaded meanwhile.
 */

static const char *uptr_fence_driver_name(struct dma_fence *fence)
{
	return "uptr";
}

static const char *uptr_fence_timeline_name(struct dma_fence *fence)
{
	return "uptr-job";
}

static void uptr_fence_release(struct dma_fence *fence)
{
	dma_fence_free(fence);
	/* Last: what is left of the module's code here is the return. */
	module_put(THIS_MODULE);
}

static const struct dma_fence_ops uptr_fence_ops = {
	.get_driver_name = uptr_fence_driver_name,
	.get_timeline_name = uptr_fence_timeline_name,
	.release = uptr_fence_release,
};

/**
 * uptr_fence_alloc() - allocate the out fence of a job
 *
 * Free it with kfree() as long as uptr_fence_arm() has not been called.
 *
 * Context: Process context; may sleep.
 * Return: the fence, or NULL when out of memory.
 */
struct uptr_fence *uptr_fence_alloc(void)
{
	return kzalloc(sizeof(struct uptr_fence), UPTR_GFP_USER);
}

static void uptr_fence_finished(struct dma_fence *finished,
				struct dma_fence_cb *cb)
{
	struct uptr_fence *fence = container_of(cb, struct uptr_fence, cb);

	if (finished->error)
		dma_fence_set_error(&fence->base, finished->error);
	dma_fence_signal(&fence->base);
	/* The callback's reference. */
	dma_fence_put(&fence->base);
}

/**
 * uptr_fence_arm() - make the out fence of an armed job
 * @fence: from uptr_fence_alloc()
 * @finished: the job's scheduler finished fence
 * @context: the fence context of the job's DRM file
 * @seqno: the job's sequence number in @context
 *
 * From now on @fence is reference counted: the caller receives one
 * reference, the callback on @finished holds another until @finished
 * signals, and the module is pinned until the last is dropped.
 *
 * Context: Any; the caller holds a reference on this module (an ioctl).
 * Return: @fence as a &struct dma_fence, with a reference for the caller.
 */
struct dma_fence *uptr_fence_arm(struct uptr_fence *fence,
				 struct dma_fence *finished, u64 context,
				 u64 seqno)
{
	__module_get(THIS_MODULE);
	spin_lock_init(&fence->lock);
	dma_fence_init(&fence->base, &uptr_fence_ops, &fence->lock, context,
		       seqno);
	dma_fence_get(&fence->base);
	if (dma_fence_add_callback(finished, &fence->cb, uptr_fence_finished))
		uptr_fence_finished(finished, &fence->cb);
	return &fence->base;
}
