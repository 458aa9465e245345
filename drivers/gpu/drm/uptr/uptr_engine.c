// SPDX-License-Identifier: GPL-2.0-only
/*
 * Copyright (C) 2026 The uptr authors
 */

#include <linux/delay.h>
#include <linux/dma-fence.h>
#include <linux/module.h>
#include <linux/wait_bit.h>

#include <drm/drm_device.h>
#include <drm/drm_print.h>

#include "uptr_engine.h"
#include "uptr_job.h"

/**
 * DOC: copy engine
 *
 * The device has one ring: a &struct drm_gpu_scheduler whose run_job hands
 * each job to the engine, an ordered %WQ_MEM_RECLAIM workqueue that
 * executes the jobs one after the other, in the order the scheduler ran
 * them, and signals a hardware fence for each. Each DRM file has its own
 * scheduler entity.
 *
 * A job is completed by exactly one party, the one that claims it
 * (test-and-set of %UPTR_JOB_CLAIMED under &uptr_engine.lock): the engine,
 * before it touches any page (or at the deadline of a job it pretends to
 * hang on); the scheduler's timeout, for a job handed to
 * the engine but not started (it then never touches a page and its fence
 * carries -ETIMEDOUT); or unplug (-ENODEV). run_job hands a job to the
 * engine only if nobody claimed it meanwhile.
 *
 * The scheduler's timeout handler runs on its own %WQ_MEM_RECLAIM
 * workqueue (it signals fences) and completes jobs the engine has not
 * taken.
 *
 * Fault injection for tests, in the device's debugfs directory:
 * ``uptr_hang_next`` (write N: the next N jobs hang until their deadline),
 * ``uptr_delay_ms`` (sleep this long before executing each job),
 * ``uptr_slice_delay_ms`` (sleep this long after each slice) and
 * ``uptr_run_delay_ms`` (sleep this long in run_job, after the job's
 * fence exists and before the engine gets the job: the window in which
 * the timeout may claim it).
 * The timeout is the ``job_timeout_ms`` module parameter.
 */

static unsigned int uptr_job_timeout_ms = 2000;
module_param_named(job_timeout_ms, uptr_job_timeout_ms, uint, 0444);
MODULE_PARM_DESC(job_timeout_ms, "Copy engine job timeout, in ms (default 2000)");

static struct uptr_job *to_uptr_job(struct drm_sched_job *sched_job)
{
	return container_of(sched_job, struct uptr_job, base);
}

static const char *uptr_hw_fence_driver_name(struct dma_fence *fence)
{
	return "uptr";
}

static const char *uptr_hw_fence_timeline_name(struct dma_fence *fence)
{
	return "uptr-engine";
}

static const struct dma_fence_ops uptr_hw_fence_ops = {
	.get_driver_name = uptr_hw_fence_driver_name,
	.get_timeline_name = uptr_hw_fence_timeline_name,
};

/* Complete a job that did not run, with @error; the caller claimed it. */
static void uptr_job_abort(struct uptr_job *job, int error)
{
	bool cookie = dma_fence_begin_signalling();

	dma_fence_set_error(job->hw_fence, error);
	dma_fence_signal(job->hw_fence);
	dma_fence_end_signalling(cookie);
}

/* Claim @job for its completion. Return: true if nobody had. */
static bool uptr_job_claim_locked(struct uptr_engine *engine,
				  struct uptr_job *job)
{
	lockdep_assert_held(&engine->lock);
	return !test_and_set_bit(UPTR_JOB_CLAIMED, &job->flags);
}

/* Ask the running @job to end with @error at its next slice boundary. */
static void uptr_job_stop_locked(struct uptr_engine *engine,
				 struct uptr_job *job, int error)
{
	lockdep_assert_held(&engine->lock);
	if (!job->stop)
		WRITE_ONCE(job->stop, error);
}

/*
 * Take the next job and start its clock: &uptr_job.deadline is one job
 * timeout from now. The engine claims the job here, under the lock, unless
 * it is to hang: then it becomes &uptr_engine.hung_job, unclaimed, and
 * *@hung receives a reference on its fence. A job somebody else claimed
 * is not in the queue any more.
 */
static struct uptr_job *uptr_engine_take(struct uptr_engine *engine,
					 struct dma_fence **hung)
{
	struct uptr_job *job;

	spin_lock(&engine->lock);
	job = list_first_entry_or_null(&engine->queue, struct uptr_job, link);
	if (job) {
		list_del_init(&job->link);
		job->deadline = jiffies + engine->timeout;
		if (atomic_add_unless(&engine->hang_next, -1, 0)) {
			engine->hung_job = job;
			*hung = dma_fence_get(job->hw_fence);
		} else if (uptr_job_claim_locked(engine, job)) {
			engine->running = job;
			job->slice_delay_ms = READ_ONCE(engine->slice_delay_ms);
			atomic64_inc(&engine->jobs_started);
		} else {
			/*
			 * Whoever claims a job takes it off the queue, and
			 * run_job queues only unclaimed ones: a claimed job
			 * here may be freed already.
			 */
			drm_WARN_ONCE(engine->drm, 1,
				      "claimed job in the engine's queue\n");
			job = ERR_PTR(-EALREADY);
		}
	}
	spin_unlock(&engine->lock);
	return job;
}

/* Execute the job the engine claimed, then signal its fence. */
static void uptr_engine_run(struct uptr_engine *engine, struct uptr_job *job)
{
	bool cookie = dma_fence_begin_signalling();
	u32 delay = READ_ONCE(engine->delay_ms);
	int ret;

	if (delay)
		msleep(delay);
	ret = uptr_job_execute(job);

	spin_lock(&engine->lock);
	engine->running = NULL;
	spin_unlock(&engine->lock);

	if (ret == -ETIMEDOUT)
		atomic64_inc(&engine->jobs_timedout);
	else if (ret)
		atomic64_inc(&engine->jobs_aborted);
	else
		atomic64_inc(&engine->jobs_done);
	if (ret)
		dma_fence_set_error(job->hw_fence, ret);
	/* The job may be freed as soon as its fence signals. */
	dma_fence_signal(job->hw_fence);
	dma_fence_end_signalling(cookie);
}

/*
 * The hung @job reached its deadline: complete it with -ETIMEDOUT, unless
 * the scheduler's timeout or unplug claimed it first (then it may be gone,
 * and is only compared with &uptr_engine.hung_job).
 */
static void uptr_engine_expire_hung(struct uptr_engine *engine,
				    struct uptr_job *job)
{
	bool claimed = false;

	spin_lock(&engine->lock);
	if (engine->hung_job == job && uptr_job_claim_locked(engine, job)) {
		engine->hung_job = NULL;
		claimed = true;
	}
	spin_unlock(&engine->lock);
	if (claimed) {
		atomic64_inc(&engine->jobs_timedout);
		uptr_job_abort(job, -ETIMEDOUT);
	}
}

/*
 * Pretend to hang on @job, just taken, until something completes it or
 * one job timeout (its deadline) passes. @hung is a reference on its
 * fence, which the engine drops; @job itself is not touched: once the
 * timeout or unplug claimed and signalled it, it may be freed.
 */
static void uptr_engine_hang(struct uptr_engine *engine, struct uptr_job *job,
			     struct dma_fence *hung)
{
	if (!dma_fence_wait_timeout(hung, false, engine->timeout))
		uptr_engine_expire_hung(engine, job);
	dma_fence_put(hung);
}

static void uptr_engine_work(struct work_struct *work)
{
	struct uptr_engine *engine = container_of(work, struct uptr_engine,
						  work);
	struct uptr_job *job;

	for (;;) {
		struct dma_fence *hung = NULL;

		job = uptr_engine_take(engine, &hung);
		if (!job)
			break;
		if (IS_ERR(job))
			continue;
		if (hung) {
			uptr_engine_hang(engine, job, hung);
			continue;
		}
		uptr_engine_run(engine, job);
	}
}

static struct dma_fence *uptr_sched_run_job(struct drm_sched_job *sched_job)
{
	struct uptr_job *job = to_uptr_job(sched_job);
	struct uptr_engine *engine = job->engine;
	bool queued = false, abort = false;
	struct dma_fence *fence;
	u32 delay;

	/* Cancelled (file closed, process killed): it never runs. */
	if (unlikely(sched_job->s_fence->finished.error))
		return NULL;

	spin_lock(&engine->lock);
	dma_fence_init(job->hw_fence, &uptr_hw_fence_ops, &engine->fence_lock,
		       engine->fence_context, ++engine->seqno);
	set_bit(UPTR_JOB_HW_FENCE, &job->flags);
	spin_unlock(&engine->lock);
	fence = dma_fence_get(job->hw_fence);

	/* From here on the timeout may claim the job. */
	delay = READ_ONCE(engine->run_delay_ms);
	if (delay)
		msleep(delay);

	spin_lock(&engine->lock);
	if (engine->unplugged) {
		abort = uptr_job_claim_locked(engine, job);
	} else if (!test_bit(UPTR_JOB_CLAIMED, &job->flags)) {
		list_add_tail(&job->link, &engine->queue);
		queued = true;
	}
	spin_unlock(&engine->lock);

	if (abort)
		uptr_job_abort(job, -ENODEV);
	if (queued)
		queue_work(engine->wq, &engine->work);
	return fence;
}

/*
 * drm_sched_job_timedout() took @sched_job off the pending list. Put it
 * back so that the scheduler frees it once its fence signals; if the fence
 * signalled meanwhile, the scheduler already looked for it and missed it:
 * then free it here. Return: true if it was freed.
 */
static bool uptr_sched_requeue(struct drm_sched_job *sched_job)
{
	struct drm_gpu_scheduler *sched = sched_job->sched;
	bool done;

	spin_lock(&sched->job_list_lock);
	done = dma_fence_is_signaled(&sched_job->s_fence->finished);
	if (!done)
		list_add(&sched_job->list, &sched->pending_list);
	spin_unlock(&sched->job_list_lock);
	return done;
}

static void uptr_sched_free_job(struct drm_sched_job *sched_job);

static enum drm_gpu_sched_stat
uptr_sched_timedout_job(struct drm_sched_job *sched_job)
{
	struct uptr_job *job = to_uptr_job(sched_job);
	struct uptr_engine *engine = job->engine;
	bool claimed = false;

	atomic64_inc(&engine->timeouts);
	spin_lock(&engine->lock);
	if (!test_bit(UPTR_JOB_HW_FENCE, &job->flags)) {
		/* run_job has not started it: nothing to stop yet. */
	} else if (engine->running == job) {
		/* Its own deadline stops it. */
	} else if (uptr_job_claim_locked(engine, job)) {
		/* Queued or hung: it will never touch a page. */
		claimed = true;
		list_del_init(&job->link);
		if (engine->hung_job == job)
			engine->hung_job = NULL;
	}
	spin_unlock(&engine->lock);

	if (uptr_sched_requeue(sched_job)) {
		uptr_sched_free_job(sched_job);
		return DRM_GPU_SCHED_STAT_NOMINAL;
	}
	if (claimed) {
		drm_info(engine->drm, "job timed out, fence %llu\n",
			 job->hw_fence->seqno);
		atomic64_inc(&engine->jobs_timedout);
		uptr_job_abort(job, -ETIMEDOUT);
	}
	return DRM_GPU_SCHED_STAT_NOMINAL;
}

/* The job's objects are released on &uptr_engine.free_wq, see there. */
static void uptr_sched_free_job(struct drm_sched_job *sched_job)
{
	struct uptr_job *job = to_uptr_job(sched_job);

	drm_sched_job_cleanup(sched_job);
	queue_work(job->engine->free_wq, &job->free_work);
}

static const struct drm_sched_backend_ops uptr_sched_ops = {
	.run_job = uptr_sched_run_job,
	.timedout_job = uptr_sched_timedout_job,
	.free_job = uptr_sched_free_job,
};

/**
 * uptr_engine_init() - start the copy engine and its scheduler
 * @engine: the engine, zeroed
 * @drm: the device it belongs to
 *
 * Context: Process context.
 * Return: 0 or a negative errno.
 */
int uptr_engine_init(struct uptr_engine *engine, struct drm_device *drm)
{
	struct drm_sched_init_args args = {
		.ops = &uptr_sched_ops,
		.num_rqs = DRM_SCHED_PRIORITY_COUNT,
		.credit_limit = 64,
		.name = "uptr",
		.dev = drm->dev,
	};
	int ret;

	engine->drm = drm;
	spin_lock_init(&engine->lock);
	spin_lock_init(&engine->fence_lock);
	INIT_LIST_HEAD(&engine->queue);
	INIT_WORK(&engine->work, uptr_engine_work);
	engine->fence_context = dma_fence_context_alloc(1);
	engine->timeout = msecs_to_jiffies(uptr_job_timeout_ms);

	engine->wq = alloc_ordered_workqueue("uptr-engine", WQ_MEM_RECLAIM);
	if (!engine->wq)
		return -ENOMEM;
	engine->timeout_wq = alloc_ordered_workqueue("uptr-timeout",
						     WQ_MEM_RECLAIM);
	if (!engine->timeout_wq) {
		ret = -ENOMEM;
		goto destroy_wq;
	}
	engine->free_wq = alloc_workqueue("uptr-free",
					  WQ_UNBOUND | WQ_MEM_RECLAIM, 0);
	if (!engine->free_wq) {
		ret = -ENOMEM;
		goto destroy_timeout_wq;
	}

	args.timeout = engine->timeout;
	args.timeout_wq = engine->timeout_wq;
	ret = drm_sched_init(&engine->sched, &args);
	if (ret)
		goto destroy_free_wq;
	return 0;

destroy_free_wq:
	destroy_workqueue(engine->free_wq);
destroy_timeout_wq:
	destroy_workqueue(engine->timeout_wq);
destroy_wq:
	destroy_workqueue(engine->wq);
	return ret;
}

/**
 * uptr_engine_fini() - abort what is left and stop the engine
 * @engine: the engine of a device already unplugged
 *
 * Jobs still waiting in the engine, and a hung job, complete with -ENODEV
 * without touching memory; the function returns once every job has been
 * freed, so no job or fence is left behind.
 *
 * Context: Process context; may sleep.
 */
void uptr_engine_fini(struct uptr_engine *engine)
{
	struct uptr_job *job, *tmp;
	LIST_HEAD(aborted);

	/*
	 * Claim everything the engine has not started, under the lock: the
	 * timeout then leaves these jobs alone, and the list is ours.
	 */
	spin_lock(&engine->lock);
	engine->unplugged = true;
	if (engine->hung_job) {
		list_add(&engine->hung_job->link, &engine->queue);
		engine->hung_job = NULL;
	}
	list_for_each_entry_safe(job, tmp, &engine->queue, link) {
		list_del_init(&job->link);
		if (uptr_job_claim_locked(engine, job))
			list_add_tail(&job->link, &aborted);
	}
	if (engine->running)
		uptr_job_stop_locked(engine, engine->running, -ENODEV);
	spin_unlock(&engine->lock);

	list_for_each_entry_safe(job, tmp, &aborted, link) {
		list_del_init(&job->link);
		atomic64_inc(&engine->jobs_aborted);
		uptr_job_abort(job, -ENODEV);
	}

	flush_workqueue(engine->wq);
	wait_var_event(&engine->jobs_alive, !atomic_read(&engine->jobs_alive));
	drm_sched_fini(&engine->sched);
	destroy_workqueue(engine->free_wq);
	destroy_workqueue(engine->timeout_wq);
	destroy_workqueue(engine->wq);
}
