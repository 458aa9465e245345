// SPDX-License-Identifier: GPL-2.0-only
/*
 * Copyright (C) 2026 The uptr authors
 */

#include <linux/delay.h>
#include <linux/dma-fence.h>
#include <linux/highmem.h>
#include <linux/jiffies.h>
#include <linux/sched.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/wait_bit.h>

#include <drm/drm_gem.h>
#include <drm/uptr_drm.h>

#include "uptr_engine.h"
#include "uptr_fence.h"
#include "uptr_job.h"
#include "uptr_mirror.h"

/**
 * DOC: jobs
 *
 * A &struct uptr_job is what one %DRM_IOCTL_UPTR_SUBMIT asks of the
 * engine: its commands (&struct uptr_job_cmd), each with the one or two
 * ranges of objects it reads and writes (&struct uptr_job_range), a
 * reference on every object, and the out fence that userspace gets. The
 * submission fills it in; the engine (uptr_engine.c) decides when it runs
 * and who completes it.
 *
 * uptr_job_execute() touches memory only through the pages resolved at
 * submission (&uptr_job_range.pages) with kmap_local_page(), inside the engine's
 * dma_fence_begin_signalling()/dma_fence_end_signalling(): it allocates
 * nothing and takes no mmap_lock, dma_resv or notifier lock, so that an
 * invalidation, which may run in reclaim and waits for these fences, can
 * always make progress.
 *
 * uptr_job_execute() works in slices of %UPTR_JOB_SLICE bytes and calls
 * cond_resched() between two slices, so that a long job neither stalls
 * the CPU nor delays an invalidation without bound. Each job has its own
 * clock: when the engine takes it, &uptr_job.deadline is set one job
 * timeout ahead, and a job still executing past it ends before its next
 * slice with -ETIMEDOUT (unplug asks the same through &uptr_job.stop,
 * with -ENODEV). The scheduler's own timeout cannot be the bound: it is
 * re-armed whenever another job starts, so a steady stream of submissions
 * would postpone it. A job thus uses the engine, and holds up the
 * invalidations that wait for it, for at most one timeout plus one slice
 * once the engine took it; %UPTR_SUBMIT_MAX_BYTES bounds what it can ask.
 * The bound is per job: an invalidation waits in turn for each job that
 * uses its pages, however many are queued.
 */

/* Bytes the engine works on between two looks at a stop request. */
#define UPTR_JOB_SLICE		SZ_256K

static void uptr_job_free_work(struct work_struct *work)
{
	uptr_job_free(container_of(work, struct uptr_job, free_work));
}

/**
 * uptr_job_alloc() - allocate a job and its arrays
 * @engine: the engine that will execute it
 * @ncmds: number of commands
 * @nobjs: largest number of distinct objects
 *
 * Context: Process context; may sleep.
 * Return: the job, or NULL when out of memory.
 */
struct uptr_job *uptr_job_alloc(struct uptr_engine *engine, u32 ncmds,
				u32 nobjs)
{
	struct uptr_job *job;

	job = kzalloc(sizeof(*job), UPTR_GFP_USER);
	if (!job)
		return NULL;
	job->engine = engine;
	INIT_LIST_HEAD(&job->link);
	INIT_WORK(&job->free_work, uptr_job_free_work);
	job->cmds = kvcalloc(ncmds, sizeof(*job->cmds), UPTR_GFP_USER);
	job->objs = kvcalloc(nobjs, sizeof(*job->objs), UPTR_GFP_USER);
	job->obj_write = kvcalloc(nobjs, sizeof(*job->obj_write),
				  UPTR_GFP_USER);
	job->hw_fence = kzalloc(sizeof(*job->hw_fence), UPTR_GFP_USER);
	job->out_fence = uptr_fence_alloc();
	atomic_inc(&engine->jobs_alive);
	if (!job->cmds || !job->objs || !job->obj_write || !job->hw_fence ||
	    !job->out_fence) {
		uptr_job_free(job);
		return NULL;
	}
	return job;
}

/**
 * uptr_job_free() - release a job's references and memory
 * @job: the job; its scheduler job must be cleaned up already
 *
 * Dropping the object references may tear a userptr object down, which
 * waits for invalidations of its range, which may wait for jobs.
 *
 * Context: Process context that no job's fence depends on: the ioctl that
 * failed to submit the job, or &uptr_engine.free_wq; never the scheduler's,
 * the engine's or the timeout workqueue.
 */
void uptr_job_free(struct uptr_job *job)
{
	struct uptr_engine *engine = job->engine;
	u32 i;

	for (i = 0; i < 2 * job->ncmds; i++)
		uptr_mirror_busy_free(uptr_job_get_range(job, i)->busy);
	for (i = 0; i < job->nobjs; i++)
		drm_gem_object_put(job->objs[i]);
	if (test_bit(UPTR_JOB_HW_FENCE, &job->flags))
		dma_fence_put(job->hw_fence);
	else
		kfree(job->hw_fence);
	kfree(job->out_fence);
	kvfree(job->page_store);
	kvfree(job->obj_write);
	kvfree(job->objs);
	kvfree(job->cmds);
	kfree(job);

	if (atomic_dec_and_test(&engine->jobs_alive))
		wake_up_var(&engine->jobs_alive);
}

static void uptr_range_pos(const struct uptr_job_range *range, u64 pos,
			   struct page **page, size_t *off)
{
	u64 byte = range->offset + pos;

	*page = range->pages[(byte >> PAGE_SHIFT) - range->pgoff];
	*off = offset_in_page(byte);
}

/*
 * Account @n more bytes of work, before doing them. When they begin a new
 * slice, give the CPU away and look for a stop request and at the job's
 * deadline first, so that a job is never stopped once its work is done.
 * Return: 0, or the error to end the job with.
 */
static int uptr_job_step(struct uptr_job *job, size_t n)
{
	u32 delay;

	if (job->slice_left >= n) {
		job->slice_left -= n;
		return 0;
	}
	job->slice_left = UPTR_JOB_SLICE - n;
	delay = job->slice_delay_ms;
	if (delay)
		msleep(delay);
	cond_resched();
	if (time_after(jiffies, job->deadline))
		return -ETIMEDOUT;
	return READ_ONCE(job->stop);
}

static int uptr_exec_copy(struct uptr_job *job, struct uptr_job_cmd *cmd)
{
	u64 pos = 0, len = cmd->src.length;
	int ret = 0;

	while (pos < len) {
		struct page *sp, *dp;
		size_t soff, doff, n;
		void *s, *d;

		uptr_range_pos(&cmd->src, pos, &sp, &soff);
		uptr_range_pos(&cmd->dst, pos, &dp, &doff);
		n = min3(len - pos, (u64)(PAGE_SIZE - soff),
			 (u64)(PAGE_SIZE - doff));
		ret = uptr_job_step(job, n);
		if (ret)
			break;
		s = kmap_local_page(sp);
		d = kmap_local_page(dp);
		memcpy(d + doff, s + soff, n);
		kunmap_local(d);
		kunmap_local(s);
		flush_dcache_page(dp);
		pos += n;
	}
	return ret;
}

static int uptr_exec_fill(struct uptr_job *job, struct uptr_job_cmd *cmd)
{
	u64 pos = 0, len = cmd->dst.length;
	int ret = 0;

	while (pos < len) {
		struct page *dp;
		size_t doff, n, i;
		u32 *d;

		uptr_range_pos(&cmd->dst, pos, &dp, &doff);
		n = min_t(u64, len - pos, PAGE_SIZE - doff);
		ret = uptr_job_step(job, n);
		if (ret)
			break;
		d = kmap_local_page(dp) + doff;
		for (i = 0; i < n / sizeof(u32); i++)
			d[i] = cmd->pattern;
		kunmap_local(d);
		flush_dcache_page(dp);
		pos += n;
	}
	return ret;
}

static int uptr_exec_checksum(struct uptr_job *job, struct uptr_job_cmd *cmd)
{
	u64 pos = 0, len = cmd->src.length, sum = 0;
	u8 *bytes = (u8 *)&sum;
	int ret = 0;

	while (pos < len) {
		struct page *sp;
		size_t soff, n, i;
		const u32 *s;

		uptr_range_pos(&cmd->src, pos, &sp, &soff);
		n = min_t(u64, len - pos, PAGE_SIZE - soff);
		ret = uptr_job_step(job, n);
		if (ret)
			break;
		s = kmap_local_page(sp) + soff;
		for (i = 0; i < n / sizeof(u32); i++)
			sum += s[i];
		kunmap_local(s);
		pos += n;
	}
	if (ret)
		return ret;

	/* The 8-byte result may straddle two pages of the destination. */
	for (pos = 0; pos < sizeof(sum); ) {
		struct page *dp;
		size_t doff, n;
		u8 *d;

		uptr_range_pos(&cmd->dst, pos, &dp, &doff);
		n = min_t(u64, sizeof(sum) - pos, PAGE_SIZE - doff);
		d = kmap_local_page(dp);
		memcpy(d + doff, bytes + pos, n);
		kunmap_local(d);
		flush_dcache_page(dp);
		pos += n;
	}
	return 0;
}

/**
 * uptr_job_execute() - perform a job's commands
 * @job: the job, with every range's pages resolved and its
 *	&uptr_job.deadline set
 *
 * Works in slices of %UPTR_JOB_SLICE bytes; before it begins a slice it
 * gives the CPU away (cond_resched()) and ends the job early if
 * &uptr_job.stop was set or &uptr_job.deadline has passed.
 *
 * Context: The engine worker, in a fence signalling critical section; also
 * KUnit. Takes no lock and allocates nothing.
 * Return: 0 when every command ran, the &uptr_job.stop error, or
 * -ETIMEDOUT past the deadline.
 */
int uptr_job_execute(struct uptr_job *job)
{
	int ret = READ_ONCE(job->stop);
	u32 i;

	job->slice_left = UPTR_JOB_SLICE;
	for (i = 0; i < job->ncmds && !ret; i++) {
		struct uptr_job_cmd *cmd = &job->cmds[i];

		switch (cmd->op) {
		case DRM_UPTR_OP_COPY:
			ret = uptr_exec_copy(job, cmd);
			break;
		case DRM_UPTR_OP_FILL:
			ret = uptr_exec_fill(job, cmd);
			break;
		case DRM_UPTR_OP_CHECKSUM:
			ret = uptr_exec_checksum(job, cmd);
			break;
		}
	}
	return ret;
}
