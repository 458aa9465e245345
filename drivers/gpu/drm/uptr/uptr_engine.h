/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Copyright (C) 2026 The uptr authors
 */
#ifndef _UPTR_ENGINE_H_
#define _UPTR_ENGINE_H_

#include <linux/atomic.h>
#include <linux/list.h>
#include <linux/spinlock.h>
#include <linux/wait.h>
#include <linux/workqueue.h>

#include <drm/gpu_scheduler.h>

struct dma_fence;
struct drm_gem_object;
struct page;
struct uptr_device;
struct uptr_fence;
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
	/** @udev: the device */
	struct uptr_device *udev;
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

/**
 * struct uptr_engine - the software copy engine behind the scheduler
 */
struct uptr_engine {
	/** @sched: the one ring */
	struct drm_gpu_scheduler sched;
	/** @wq: ordered, WQ_MEM_RECLAIM: the engine's "hardware" */
	struct workqueue_struct *wq;
	/**
	 * @timeout_wq: WQ_MEM_RECLAIM, for the scheduler's timeout handler,
	 * which signals fences that reclaim may wait for
	 */
	struct workqueue_struct *timeout_wq;
	/** @timeout: the job timeout, in jiffies */
	unsigned long timeout;
	/** @work: runs the queued jobs in order */
	struct work_struct work;
	/**
	 * @lock: protects @queue, @hung_job, @running, @unplugged, the jobs'
	 * &uptr_job.flags and &uptr_job.stop: every decision to claim or stop
	 * a job. Never held while a page is touched or a fence signalled.
	 */
	spinlock_t lock;
	/** @fence_lock: the hardware fences' lock */
	spinlock_t fence_lock;
	/** @queue: jobs handed over by run_job, not yet taken */
	struct list_head queue;
	/** @hung_job: the job the engine pretends to hang on, or NULL */
	struct uptr_job *hung_job;
	/** @running: the job the engine executes, or NULL */
	struct uptr_job *running;
	/** @unplugged: the device is gone: abort everything */
	bool unplugged;
	/** @fence_context: dma_fence context of the hardware fences */
	u64 fence_context;
	/** @seqno: last hardware fence seqno; only run_job touches it */
	u64 seqno;
	/** @jobs_alive: jobs not freed yet; teardown waits for zero */
	atomic_t jobs_alive;
	/** @hang_next: debugfs knob: this many next jobs hang */
	atomic_t hang_next;
	/** @delay_ms: debugfs knob: delay before executing each job */
	u32 delay_ms;
	/** @slice_delay_ms: debugfs knob: delay after each slice of a job */
	u32 slice_delay_ms;
	/**
	 * @run_delay_ms: debugfs knob: delay in run_job between the hardware
	 * fence's initialization and the job's hand-over to the engine
	 */
	u32 run_delay_ms;
	/** @jobs_started: jobs the engine began to execute */
	atomic64_t jobs_started;
	/** @jobs_done: jobs the engine executed */
	atomic64_t jobs_done;
	/**
	 * @jobs_timedout: jobs completed with -ETIMEDOUT: by the engine
	 * (stopped between slices, or a hung job at its deadline) or by the
	 * scheduler's timeout (not started)
	 */
	atomic64_t jobs_timedout;
	/** @timeouts: calls of the scheduler's timeout handler */
	atomic64_t timeouts;
	/** @jobs_aborted: jobs aborted by unplug */
	atomic64_t jobs_aborted;
};

int uptr_engine_init(struct uptr_device *udev);
void uptr_engine_fini(struct uptr_device *udev);
struct uptr_job *uptr_job_alloc(struct uptr_device *udev, u32 ncmds,
				u32 nobjs);
void uptr_job_free(struct uptr_job *job);
int uptr_job_execute(struct uptr_job *job);

#endif /* _UPTR_ENGINE_H_ */
