/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Copyright (C) 2026 The uptr authors
 */
#ifndef _UPTR_JOB_H_
#define _UPTR_JOB_H_

#include <linux/list.h>
#include <linux/types.h>
#include <linux/workqueue.h>

#include <drm/gpu_scheduler.h>

struct dma_fence;
struct drm_gem_object;
struct page;
struct uptr_engine;
struct uptr_fence;
struct uptr_mirror_busy;
struct uptr_userptr;

/**
 * struct uptr_job_range - the bytes of one object that one command uses
 */
struct uptr_job_range {
	/** @obj: the object; the job holds a reference through its objs[] */
	struct drm_gem_object *obj;
	/** @uobj: the object as a userptr, or NULL for a device buffer */
	struct uptr_userptr *uobj;
	/** @offset: first byte, in the object */
	u64 offset;
	/** @length: number of bytes */
	u64 length;
	/** @pgoff: first page of the object touched */
	unsigned long pgoff;
	/** @npages: pages touched */
	unsigned long npages;
	/** @seq: notifier sequence from the fault-in (userptr only) */
	unsigned long seq;
	/**
	 * @busy: userptr only: the record of the job's use of these pages,
	 * allocated before any lock, handed to the object when the job is
	 * armed (then NULL)
	 */
	struct uptr_mirror_busy *busy;
	/**
	 * @pages: the @npages pages, resolved at submit under the notifier
	 * lock (userptr) or pinned for the object's life (device buffer)
	 */
	struct page **pages;
};

/**
 * struct uptr_job_cmd - one validated command
 */
struct uptr_job_cmd {
	/** @op: &enum drm_uptr_op */
	u32 op;
	/** @pattern: FILL's value */
	u32 pattern;
	/** @src: what COPY and CHECKSUM read */
	struct uptr_job_range src;
	/** @dst: what COPY, FILL and CHECKSUM write */
	struct uptr_job_range dst;
};

/* Bits of &uptr_job.flags, changed under &uptr_engine.lock */
#define UPTR_JOB_CLAIMED	0	/* executed, timed out or aborted */
#define UPTR_JOB_HW_FENCE	1	/* @hw_fence was initialized */

/**
 * struct uptr_job - a job of the copy engine
 */
struct uptr_job {
	/** @base: the scheduler job */
	struct drm_sched_job base;
	/** @engine: the engine that executes the job */
	struct uptr_engine *engine;
	/**
	 * @hw_fence: signalled by the engine when the job is done (or by
	 * the timeout or unplug with an error); allocated at submit,
	 * initialized in run_job
	 */
	struct dma_fence *hw_fence;
	/**
	 * @flags: UPTR_JOB_* bits, set under &uptr_engine.lock.
	 * %UPTR_JOB_CLAIMED is set, with test-and-set, by whoever completes
	 * the job (the engine before it touches any page, the timeout or
	 * unplug); only the claimer signals @hw_fence.
	 */
	unsigned long flags;
	/**
	 * @stop: 0, or the error (-ENODEV: unplug) with which the engine
	 * must end the job at its next slice boundary. Written under
	 * &uptr_engine.lock while the engine executes the job; read by the
	 * engine without the lock.
	 */
	int stop;
	/**
	 * @deadline: jiffies by which the job must be over; set when the
	 * engine takes the job (under &uptr_engine.lock), read by the
	 * engine between two slices and while it pretends to hang
	 */
	unsigned long deadline;
	/** @slice_left: bytes left in the current slice; engine only */
	u64 slice_left;
	/** @slice_delay_ms: fault injection: sleep after each slice */
	u32 slice_delay_ms;
	/** @link: in &uptr_engine.queue, under &uptr_engine.lock */
	struct list_head link;
	/**
	 * @free_work: uptr_job_free() on &uptr_engine.free_wq, once the
	 * scheduler is done with the job
	 */
	struct work_struct free_work;
	/** @ncmds: number of commands */
	u32 ncmds;
	/** @cmds: the commands */
	struct uptr_job_cmd *cmds;
	/** @nobjs: number of distinct objects */
	u32 nobjs;
	/** @objs: the objects, each with a reference */
	struct drm_gem_object **objs;
	/** @obj_write: whether the job writes objs[i] */
	bool *obj_write;
	/** @page_store: backing of the userptr ranges' @pages arrays */
	struct page **page_store;
	/**
	 * @out_fence: allocated with the job, owned by the job until submit
	 * arms it (then NULL: the fence is reference counted)
	 */
	struct uptr_fence *out_fence;
};

struct uptr_job *uptr_job_alloc(struct uptr_engine *engine, u32 ncmds,
				u32 nobjs);
void uptr_job_free(struct uptr_job *job);
int uptr_job_execute(struct uptr_job *job);

/**
 * uptr_job_get_range() - one range of a job, by index
 * @job: the job
 * @i: 0 .. 2 * &uptr_job.ncmds - 1: the source (even @i) or destination
 *	(odd @i) of command @i / 2
 *
 * Lets a walk over every range of a job be one loop.
 *
 * Return: the range; unused sides of a command have no object.
 */
static inline struct uptr_job_range *
uptr_job_get_range(struct uptr_job *job, u32 i)
{
	struct uptr_job_cmd *cmd = &job->cmds[i / 2];

	return i % 2 ? &cmd->dst : &cmd->src;
}

#endif /* _UPTR_JOB_H_ */
