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

#include "uptr_engine.h"
#include "uptr_mirror.h"

struct drm_file;
struct platform_device;

#define UPTR_DRIVER_NAME	"uptr"
#define UPTR_DRIVER_DESC	"userptr GEM objects mirrored with HMM"
#define UPTR_DRIVER_DATE	"20261126"
#define UPTR_DRIVER_MAJOR	1
#define UPTR_DRIVER_MINOR	2

/** UPTR_MAX_OBJECT_SIZE - largest userptr object, in bytes */
#define UPTR_MAX_OBJECT_SIZE	SZ_16G
/** UPTR_SUBMIT_MAX_CMDS - most commands in one job */
#define UPTR_SUBMIT_MAX_CMDS	256
/** UPTR_SUBMIT_MAX_SYNCS - most in-syncobjs of one job */
#define UPTR_SUBMIT_MAX_SYNCS	64
/** UPTR_CMD_SIZE_V1 - size of the first version of struct drm_uptr_cmd */
#define UPTR_CMD_SIZE_V1	48
/** UPTR_CMD_MAX_STRIDE - largest &drm_uptr_submit.cmd_stride */
#define UPTR_CMD_MAX_STRIDE	SZ_4K
/**
 * UPTR_SUBMIT_MAX_BYTES - most bytes the commands of one job process
 *
 * The sum of &drm_uptr_cmd.length over a job. It bounds the engine time a
 * job can ask for (the timeout stops a job that overruns) and, with
 * %UPTR_SUBMIT_MAX_PAGES, what a submission allocates and resolves.
 */
#define UPTR_SUBMIT_MAX_BYTES	SZ_1G
/**
 * UPTR_SUBMIT_MAX_PAGES - most userptr pages one job resolves
 *
 * Summed over the job's userptr ranges (a page used by two commands counts
 * twice): it bounds the job's page array and the work done under the
 * notifier lock when the pages are handed to the engine.
 */
#define UPTR_SUBMIT_MAX_PAGES	(2 * (SZ_1G >> PAGE_SHIFT))

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
	/**
	 * @notifier_lock: the notifier lock of every userptr object's
	 * mirror (&uptr_mirror.lock). Taken by the invalidate callbacks and
	 * by submission, which holds it from the final validity check of
	 * the job's userptr ranges until the job's fence is in every
	 * object's dma_resv. Lock order: dma_resv -> @notifier_lock. No
	 * memory allocation and no wait for a fence while it is held.
	 */
	struct mutex notifier_lock;
	/** @engine: the copy engine */
	struct uptr_engine engine;
	/** @jobs_submitted: jobs queued by SUBMIT */
	atomic64_t jobs_submitted;
	/** @submit_retries: SUBMIT commits that collided and faulted again */
	atomic64_t submit_retries;
	/**
	 * @submit_stall: debugfs knob: this many next submissions with a
	 * userptr range stall after their fault-in until the range is
	 * invalidated (see uptr_submit_stall())
	 */
	atomic_t submit_stall;
	/** @submit_stalls: submissions that entered that stall */
	atomic64_t submit_stalls;
	/**
	 * @invalidation_waits: blocking invalidations that found the fence
	 * of a job that uses pages they dropped unsignalled, and waited
	 */
	atomic64_t invalidation_waits;
	/** @invalidations_waiting: invalidations waiting for a fence now */
	atomic_t invalidations_waiting;
};

/**
 * struct uptr_file - per DRM file state
 */
struct uptr_file {
	/** @entity: the file's scheduler entity on the engine's ring */
	struct drm_sched_entity entity;
	/** @fence_context: the context of the file's out fences */
	u64 fence_context;
	/** @fence_seqno: the last out fence's seqno in @fence_context */
	atomic64_t fence_seqno;
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

struct drm_uptr_submit;
int uptr_submit_check_args(const struct drm_uptr_submit *args);

/* The ioctls of uptr_ioctls[], each in the file of what it creates. */
int uptr_ioctl_get_param(struct drm_device *drm, void *data,
			 struct drm_file *file);
int uptr_ioctl_create(struct drm_device *drm, void *data,
		      struct drm_file *file);
int uptr_ioctl_bo_create(struct drm_device *drm, void *data,
			 struct drm_file *file);
int uptr_ioctl_bo_mmap_offset(struct drm_device *drm, void *data,
			      struct drm_file *file);
int uptr_ioctl_submit(struct drm_device *drm, void *data,
		      struct drm_file *file);

#endif /* _UPTR_DRV_H_ */
