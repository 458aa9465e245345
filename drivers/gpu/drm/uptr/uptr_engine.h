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

struct drm_device;
struct uptr_job;

/**
 * struct uptr_engine - the software copy engine behind the scheduler
 */
struct uptr_engine {
	/** @drm: the device, for messages */
	struct drm_device *drm;
	/** @sched: the one ring */
	struct drm_gpu_scheduler sched;
	/** @wq: ordered, WQ_MEM_RECLAIM: the engine's "hardware" */
	struct workqueue_struct *wq;
	/**
	 * @timeout_wq: WQ_MEM_RECLAIM, for the scheduler's timeout handler,
	 * which signals fences that reclaim may wait for
	 */
	struct workqueue_struct *timeout_wq;
	/**
	 * @free_wq: frees the jobs the scheduler is done with. Dropping a
	 * job's object references may tear an object down, which waits for
	 * invalidations of its range, which may wait for jobs: never on the
	 * scheduler's workqueue, which runs them.
	 */
	struct workqueue_struct *free_wq;
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

int uptr_engine_init(struct uptr_engine *engine, struct drm_device *drm);
void uptr_engine_fini(struct uptr_engine *engine);

#endif /* _UPTR_ENGINE_H_ */
