// SPDX-License-Identifier: GPL-2.0-only
/*
 * Copyright (C) 2026 The uptr authors
 */

#include <linux/delay.h>
#include <linux/dma-fence-chain.h>
#include <linux/dma-resv.h>
#include <linux/overflow.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include <drm/drm_drv.h>
#include <drm/drm_exec.h>
#include <drm/drm_file.h>
#include <drm/drm_gem.h>
#include <drm/drm_print.h>
#include <drm/drm_syncobj.h>
#include <drm/uptr_drm.h>

#include "uptr_bo.h"
#include "uptr_drv.h"
#include "uptr_fence.h"
#include "uptr_job.h"
#include "uptr_userptr.h"

/**
 * DOC: job submission
 *
 * %DRM_IOCTL_UPTR_SUBMIT (uptr_ioctl_submit()) runs in this order; the
 * first steps can fail and undo everything, nothing can fail after the
 * job is armed:
 *
 * 1. check the arguments and copy in the commands, resolve their GEM
 *    handles (taking references) and check every range, opcode and
 *    access right (uptr_submit_parse());
 * 2. drm_sched_job_init() and the explicit dependencies of the in-syncobjs;
 *    look up the out-syncobj and preallocate its timeline chain node;
 * 3. for each userptr range, fault in only the pages the job touches,
 *    holding no dma_resv lock (uptr_userptr_populate()); fault injection:
 *    while debugfs ``uptr_submit_stall`` is non-zero, a submission with a
 *    userptr range decrements it and then waits here, holding no lock,
 *    until its first userptr range is invalidated (at most
 *    %UPTR_SUBMIT_STALL_MS), so that a test can force the collision that
 *    step 5 must catch;
 * 4. lock every object's dma_resv with drm_exec, reserve a fence slot in
 *    each (so that adding the fence under the notifier lock in step 6
 *    allocates nothing) and add the implicit dependencies (write: every
 *    fence; read: writers);
 * 5. take the device's notifier lock and check with
 *    mmu_interval_read_retry() (uptr_mirror_range_valid_locked()) that no
 *    userptr range was invalidated since step 3; if one was, drop every
 *    lock and go back to step 3, at most %UPTR_SUBMIT_MAX_RETRIES times,
 *    then fail with -EAGAIN;
 * 6. still under the notifier lock: resolve the userptr pages for the
 *    engine from their valid pfns only, into arrays allocated before any
 *    lock (a page found not valid is a collision, as in step 5), arm the
 *    job, record its fence over the pages of each userptr range (what an
 *    invalidation of those pages waits for), add it to every object's
 *    dma_resv (write or read usage) and push the job to the entity;
 * 7. unlock, then publish the fence in the out-syncobj.
 *
 * Lock order: dma_resv (drm_exec, ww class) -> &uptr_device.notifier_lock.
 * The invalidate callback takes only the notifier lock, then waits for the
 * fences recorded over the pages it dropped. A job's fence is recorded
 * before the notifier lock is dropped, so an invalidation either ran
 * before the check of step 5 (and the submission retries) or waits for
 * the job if it takes pages the job uses.
 */

/** UPTR_SUBMIT_MAX_RETRIES - commit collisions before -EAGAIN */
#define UPTR_SUBMIT_MAX_RETRIES	8

static_assert(sizeof(struct drm_uptr_cmd) == UPTR_CMD_SIZE_V1);

/* State of one submission that outlives parsing. */
struct uptr_submit {
	struct uptr_device *udev;
	struct drm_file *file;
	struct uptr_job *job;
	struct drm_syncobj *out_syncobj;
	struct dma_fence_chain *out_chain;
	u64 out_point;
	bool job_inited;
	/* Bytes the commands process and userptr pages they resolve. */
	u64 bytes;
	u64 pages;
};

static int uptr_submit_add_obj(struct uptr_job *job, struct drm_file *file,
			       u32 handle, bool write,
			       struct drm_gem_object **objp)
{
	struct drm_gem_object *obj;
	u32 i;

	obj = drm_gem_object_lookup(file, handle);
	if (!obj)
		return -ENOENT;
	for (i = 0; i < job->nobjs; i++) {
		if (job->objs[i] == obj) {
			drm_gem_object_put(obj);
			job->obj_write[i] |= write;
			*objp = job->objs[i];
			return 0;
		}
	}
	job->objs[job->nobjs] = obj;
	job->obj_write[job->nobjs++] = write;
	*objp = obj;
	return 0;
}

/* Resolve and check one side of a command. */
static int uptr_submit_range(struct uptr_job *job, struct drm_file *file,
			     u32 handle, u64 offset, u64 length, bool write,
			     struct uptr_job_range *range)
{
	struct drm_device *drm = file->minor->dev;
	struct drm_gem_object *obj;
	struct uptr_bo *bo;
	u64 end;
	int ret;

	ret = uptr_submit_add_obj(job, file, handle, write, &obj);
	if (ret)
		return ret;
	if (check_add_overflow(offset, length, &end) || end > obj->size) {
		drm_dbg_driver(drm, "submit: range out of object\n");
		return -EINVAL;
	}

	range->obj = obj;
	range->uobj = to_uptr_userptr(obj);
	bo = to_uptr_bo(obj);
	range->offset = offset;
	range->length = length;
	range->pgoff = offset >> PAGE_SHIFT;
	range->npages = (PAGE_ALIGN(end) >> PAGE_SHIFT) - range->pgoff;

	if (range->uobj) {
		if (write && range->uobj->flags & DRM_UPTR_CREATE_READ_ONLY) {
			drm_dbg_driver(drm, "submit: write to a read-only object\n");
			return -EACCES;
		}
	} else if (bo) {
		range->pages = uptr_bo_pages(bo) + range->pgoff;
	} else {
		return -EINVAL;
	}
	return 0;
}

/* User address of a userptr range, or 0 for a device buffer. */
static unsigned long uptr_range_uaddr(const struct uptr_job_range *range)
{
	if (!range->uobj)
		return 0;
	return uptr_userptr_address(range->uobj, range->offset);
}

static bool uptr_ranges_overlap(const struct uptr_job_range *a,
				const struct uptr_job_range *b)
{
	u64 a0, b0;

	if (a->obj == b->obj) {
		a0 = a->offset;
		b0 = b->offset;
	} else if (a->uobj && b->uobj) {
		/* Two userptr objects may map the same user memory. */
		a0 = uptr_range_uaddr(a);
		b0 = uptr_range_uaddr(b);
	} else {
		return false;
	}
	return a0 < b0 + b->length && b0 < a0 + a->length;
}

static int uptr_submit_cmd(struct uptr_job *job, struct drm_file *file,
			   const struct drm_uptr_cmd *ucmd,
			   struct uptr_job_cmd *cmd)
{
	struct drm_device *drm = file->minor->dev;
	int ret;

	if (ucmd->flags || ucmd->pad || !ucmd->length)
		return -EINVAL;
	if (ucmd->op != DRM_UPTR_OP_FILL && ucmd->pattern)
		return -EINVAL;

	cmd->op = ucmd->op;
	cmd->pattern = ucmd->pattern;
	switch (ucmd->op) {
	case DRM_UPTR_OP_COPY:
		ret = uptr_submit_range(job, file, ucmd->src_handle,
					ucmd->src_offset, ucmd->length, false,
					&cmd->src);
		if (ret)
			return ret;
		ret = uptr_submit_range(job, file, ucmd->dst_handle,
					ucmd->dst_offset, ucmd->length, true,
					&cmd->dst);
		if (ret)
			return ret;
		if (uptr_ranges_overlap(&cmd->src, &cmd->dst)) {
			drm_dbg_driver(drm, "submit: overlapping copy\n");
			return -EINVAL;
		}
		return 0;
	case DRM_UPTR_OP_FILL:
		if (ucmd->src_handle || ucmd->src_offset ||
		    !IS_ALIGNED(ucmd->dst_offset | ucmd->length, sizeof(u32)))
			return -EINVAL;
		return uptr_submit_range(job, file, ucmd->dst_handle,
					 ucmd->dst_offset, ucmd->length, true,
					 &cmd->dst);
	case DRM_UPTR_OP_CHECKSUM:
		if (!IS_ALIGNED(ucmd->src_offset | ucmd->length, sizeof(u32)))
			return -EINVAL;
		ret = uptr_submit_range(job, file, ucmd->src_handle,
					ucmd->src_offset, ucmd->length, false,
					&cmd->src);
		if (ret)
			return ret;
		ret = uptr_submit_range(job, file, ucmd->dst_handle,
					ucmd->dst_offset, sizeof(u64), true,
					&cmd->dst);
		if (ret)
			return ret;
		if (uptr_ranges_overlap(&cmd->src, &cmd->dst))
			return -EINVAL;
		return 0;
	default:
		drm_dbg_driver(drm, "submit: unknown opcode %u\n", ucmd->op);
		return -EINVAL;
	}
}

/* Copy command @i in, whatever the stride. */
static int uptr_submit_copy_cmd(const struct drm_uptr_submit *args, u32 i,
				struct drm_uptr_cmd *ucmd)
{
	void __user *src = u64_to_user_ptr(args->cmds) +
			   (size_t)i * args->cmd_stride;

	return copy_struct_from_user(ucmd, sizeof(*ucmd), src,
				     args->cmd_stride);
}

/*
 * Count the bytes of a command against %UPTR_SUBMIT_MAX_BYTES, before
 * anything is looked up for it. Return: 0 or -E2BIG.
 */
static int uptr_submit_account_bytes(struct uptr_submit *s, u64 length)
{
	if (length > UPTR_SUBMIT_MAX_BYTES - s->bytes) {
		drm_dbg_driver(s->file->minor->dev,
			       "submit: job processes too many bytes\n");
		return -E2BIG;
	}
	s->bytes += length;
	return 0;
}

/*
 * Count the userptr pages of a resolved command against
 * %UPTR_SUBMIT_MAX_PAGES (each step adds at most two object sizes, so the
 * sum cannot overflow). Return: 0 or -E2BIG.
 */
static int uptr_submit_account_pages(struct uptr_submit *s,
				     const struct uptr_job_cmd *cmd)
{
	if (cmd->src.uobj)
		s->pages += cmd->src.npages;
	if (cmd->dst.uobj)
		s->pages += cmd->dst.npages;
	if (s->pages > UPTR_SUBMIT_MAX_PAGES) {
		drm_dbg_driver(s->file->minor->dev,
			       "submit: job uses too many userptr pages\n");
		return -E2BIG;
	}
	return 0;
}

/* Parse and check the commands; on success every range is resolved. */
static int uptr_submit_parse(struct uptr_submit *s,
			     const struct drm_uptr_submit *args)
{
	struct uptr_job *job = s->job;
	u32 i;
	int ret;

	for (i = 0; i < args->cmd_count; i++) {
		struct drm_uptr_cmd ucmd;

		ret = uptr_submit_copy_cmd(args, i, &ucmd);
		if (ret == -E2BIG)
			return -EINVAL;	/* non-zero bytes past our struct */
		if (ret)
			return ret;
		ret = uptr_submit_account_bytes(s, ucmd.length);
		if (ret)
			return ret;
		ret = uptr_submit_cmd(job, s->file, &ucmd, &job->cmds[i]);
		if (ret)
			return ret;
		job->ncmds++;
		ret = uptr_submit_account_pages(s, &job->cmds[i]);
		if (ret)
			return ret;
	}
	return 0;
}

/*
 * Allocate the page arrays of the userptr ranges and the records of their
 * use (&uptr_job_range.busy), before any lock. The total is bounded by
 * %UPTR_SUBMIT_MAX_PAGES and %UPTR_SUBMIT_MAX_CMDS; __GFP_RETRY_MAYFAIL
 * makes a memory cgroup at its limit fail the submission with -ENOMEM
 * instead of invoking the OOM killer.
 */
static int uptr_submit_alloc_pages(struct uptr_job *job)
{
	struct uptr_job_range *range;
	size_t total = 0, pos = 0;
	u32 i;

	for (i = 0; i < 2 * job->ncmds; i++) {
		range = uptr_job_get_range(job, i);
		if (range->uobj)
			total += range->npages;
	}
	if (!total)
		return 0;
	job->page_store = kvmalloc_array(total, sizeof(*job->page_store),
					 UPTR_GFP_USER);
	if (!job->page_store)
		return -ENOMEM;
	for (i = 0; i < 2 * job->ncmds; i++) {
		range = uptr_job_get_range(job, i);
		if (!range->uobj)
			continue;
		range->pages = job->page_store + pos;
		pos += range->npages;
		range->busy = uptr_mirror_busy_alloc();
		if (!range->busy)
			return -ENOMEM;
	}
	return 0;
}

static int uptr_submit_syncs(struct uptr_submit *s,
			     const struct drm_uptr_submit *args)
{
	const struct drm_uptr_sync __user *usyncs =
		u64_to_user_ptr(args->in_syncs);
	u32 i;
	int ret;

	for (i = 0; i < args->in_sync_count; i++) {
		struct drm_uptr_sync sync;

		if (copy_from_user(&sync, &usyncs[i], sizeof(sync)))
			return -EFAULT;
		if (sync.flags || !sync.handle)
			return -EINVAL;
		ret = drm_sched_job_add_syncobj_dependency(&s->job->base,
							   s->file,
							   sync.handle,
							   sync.point);
		if (ret)
			return ret;
	}

	if (args->out_sync.flags)
		return -EINVAL;
	if (!args->out_sync.handle)
		return args->out_sync.point ? -EINVAL : 0;
	s->out_syncobj = drm_syncobj_find(s->file, args->out_sync.handle);
	if (!s->out_syncobj)
		return -ENOENT;
	s->out_point = args->out_sync.point;
	if (s->out_point) {
		s->out_chain = dma_fence_chain_alloc();
		if (!s->out_chain)
			return -ENOMEM;
	}
	return 0;
}

static int uptr_submit_populate(struct uptr_job *job)
{
	u32 i;
	int ret;

	for (i = 0; i < 2 * job->ncmds; i++) {
		struct uptr_job_range *range = uptr_job_get_range(job, i);

		if (!range->uobj)
			continue;
		ret = uptr_userptr_populate(range->uobj, range->pgoff,
					    range->npages, &range->seq);
		if (ret)
			return ret;
	}
	return 0;
}

/* The longest stall uptr_submit_stall() waits for an invalidation. */
#define UPTR_SUBMIT_STALL_MS	10000

/*
 * Fault injection (debugfs ``uptr_submit_stall``): between the fault-in
 * and the locked check, with no lock held, wait until the job's first
 * userptr range is invalidated, so that a test can change the CPU page
 * table exactly in that window and the locked check must catch it. Gives
 * up after %UPTR_SUBMIT_STALL_MS or on a signal (which the ioctl then
 * reports from its next interruptible wait, or not at all if it needs none).
 */
static void uptr_submit_stall(struct uptr_submit *s)
{
	struct uptr_device *udev = s->udev;
	struct uptr_job *job = s->job;
	struct uptr_job_range *range = NULL;
	unsigned long timeout;
	bool valid = true;
	u32 i;

	if (likely(!atomic_read(&udev->submit_stall)))
		return;
	for (i = 0; i < 2 * job->ncmds && !range; i++)
		if (uptr_job_get_range(job, i)->uobj)
			range = uptr_job_get_range(job, i);
	if (!range || !atomic_add_unless(&udev->submit_stall, -1, 0))
		return;

	atomic64_inc(&udev->submit_stalls);
	timeout = jiffies + msecs_to_jiffies(UPTR_SUBMIT_STALL_MS);
	while (valid && !signal_pending(current) &&
	       time_before(jiffies, timeout)) {
		usleep_range(1000, 2000);
		mutex_lock(&udev->notifier_lock);
		valid = uptr_userptr_range_valid_locked(range->uobj,
							range->pgoff,
							range->npages,
							range->seq);
		mutex_unlock(&udev->notifier_lock);
	}
}

/* Under the notifier lock: are the ranges valid? Then resolve pages. */
static bool uptr_submit_commit_locked(struct uptr_submit *s)
{
	struct uptr_job *job = s->job;
	struct uptr_job_range *range;
	u32 i;

	lockdep_assert_held(&s->udev->notifier_lock);
	for (i = 0; i < 2 * job->ncmds; i++) {
		range = uptr_job_get_range(job, i);
		if (range->uobj &&
		    !uptr_userptr_range_valid_locked(range->uobj, range->pgoff,
						     range->npages, range->seq))
			return false;
	}
	/* Valid ranges have valid pages: a failure here is a mirror bug. */
	for (i = 0; i < 2 * job->ncmds; i++) {
		bool got;

		range = uptr_job_get_range(job, i);
		if (!range->uobj)
			continue;
		got = uptr_userptr_get_pages_locked(range->uobj, range->pgoff,
						    range->npages, range->pages);
		if (drm_WARN_ON_ONCE(&s->udev->drm, !got))
			return false;
	}
	return true;
}

/* Invalidations of the pages of the userptr ranges now wait for @fence. */
static void uptr_submit_mark_busy_locked(struct uptr_job *job,
					 struct dma_fence *fence)
{
	struct uptr_job_range *range;
	u32 i;

	for (i = 0; i < 2 * job->ncmds; i++) {
		range = uptr_job_get_range(job, i);
		if (!range->uobj)
			continue;
		uptr_userptr_busy_add_locked(range->uobj, range->busy,
					     range->pgoff, range->npages, fence);
		range->busy = NULL;
	}
}

/* Steps 3 to 6 of the DOC above. Return: 0 once the job is pushed. */
static int uptr_submit_commit(struct uptr_submit *s, struct dma_fence **out)
{
	struct uptr_file *ufile = s->file->driver_priv;
	struct uptr_job *job = s->job;
	struct uptr_device *udev = s->udev;
	struct drm_exec exec;
	unsigned int retries = 0;
	struct dma_fence *fence;
	u32 i;
	int ret;

retry:
	ret = uptr_submit_populate(job);
	if (ret)
		return ret;
	uptr_submit_stall(s);

	drm_exec_init(&exec, DRM_EXEC_INTERRUPTIBLE_WAIT, job->nobjs);
	drm_exec_until_all_locked(&exec) {
		ret = drm_exec_prepare_array(&exec, job->objs, job->nobjs, 1);
		drm_exec_retry_on_contention(&exec);
		if (ret)
			goto out_exec_fini;
	}
	for (i = 0; i < job->nobjs; i++) {
		ret = drm_sched_job_add_implicit_dependencies(&job->base,
							      job->objs[i],
							      job->obj_write[i]);
		if (ret)
			goto out_exec_fini;
	}

	mutex_lock(&udev->notifier_lock);
	if (!uptr_submit_commit_locked(s)) {
		mutex_unlock(&udev->notifier_lock);
		drm_exec_fini(&exec);
		atomic64_inc(&udev->submit_retries);
		if (++retries > UPTR_SUBMIT_MAX_RETRIES)
			return -EAGAIN;
		goto retry;
	}

	/* Nothing can fail from here on. */
	drm_sched_job_arm(&job->base);
	fence = uptr_fence_arm(job->out_fence, &job->base.s_fence->finished,
			       ufile->fence_context,
			       atomic64_inc_return(&ufile->fence_seqno));
	job->out_fence = NULL;
	uptr_submit_mark_busy_locked(job, fence);
	for (i = 0; i < job->nobjs; i++)
		dma_resv_add_fence(job->objs[i]->resv, fence,
				   job->obj_write[i] ? DMA_RESV_USAGE_WRITE :
						       DMA_RESV_USAGE_READ);
	drm_sched_entity_push_job(&job->base);
	mutex_unlock(&udev->notifier_lock);
	ret = 0;
	*out = fence;

out_exec_fini:
	drm_exec_fini(&exec);
	return ret;
}

static void uptr_submit_cleanup(struct uptr_submit *s)
{
	if (s->out_syncobj)
		drm_syncobj_put(s->out_syncobj);
	dma_fence_chain_free(s->out_chain);
	if (s->job) {
		if (s->job_inited)
			drm_sched_job_cleanup(&s->job->base);
		uptr_job_free(s->job);
	}
}

/**
 * uptr_submit_check_args() - check the fixed arguments of a submission
 * @args: &struct drm_uptr_submit as copied in
 *
 * Context: Any.
 * Return: 0, or -EINVAL for non-zero flags, a command count of zero or
 * above %UPTR_SUBMIT_MAX_CMDS, a stride below the first version of
 * &struct drm_uptr_cmd or above %UPTR_CMD_MAX_STRIDE, or too many
 * in-syncobjs.
 */
int uptr_submit_check_args(const struct drm_uptr_submit *args)
{
	if (args->flags)
		return -EINVAL;
	if (!args->cmd_count || args->cmd_count > UPTR_SUBMIT_MAX_CMDS)
		return -EINVAL;
	if (args->cmd_stride < UPTR_CMD_SIZE_V1 ||
	    args->cmd_stride > UPTR_CMD_MAX_STRIDE)
		return -EINVAL;
	if (args->in_sync_count > UPTR_SUBMIT_MAX_SYNCS)
		return -EINVAL;
	return 0;
}

/**
 * uptr_ioctl_submit() - handler of %DRM_IOCTL_UPTR_SUBMIT
 * @drm: the device
 * @data: &struct drm_uptr_submit
 * @file: the caller's DRM file
 *
 * Context: Process context; may sleep. Takes mmap_lock (fault-in), then
 * the objects' dma_resv locks, then the notifier lock.
 * Return: 0 once the job is queued; a negative errno as documented in
 * uptr_drm.h otherwise, with nothing queued and no syncobj changed.
 */
int uptr_ioctl_submit(struct drm_device *drm, void *data,
		      struct drm_file *file)
{
	struct uptr_device *udev = to_uptr_device(drm);
	struct uptr_file *ufile = file->driver_priv;
	struct drm_uptr_submit *args = data;
	struct uptr_submit s = { .udev = udev, .file = file };
	struct dma_fence *fence = NULL;
	int ret, idx;

	ret = uptr_submit_check_args(args);
	if (ret)
		return ret;
	if (!drm_dev_enter(drm, &idx))
		return -ENODEV;

	/* Each command names at most two objects. */
	s.job = uptr_job_alloc(&udev->engine, args->cmd_count,
			       2 * args->cmd_count);
	if (!s.job) {
		ret = -ENOMEM;
		goto out_exit;
	}
	ret = uptr_submit_parse(&s, args);
	if (ret)
		goto out_cleanup;
	ret = uptr_submit_alloc_pages(s.job);
	if (ret)
		goto out_cleanup;

	ret = drm_sched_job_init(&s.job->base, &ufile->entity, 1, file,
				 file->client_id);
	if (ret)
		goto out_cleanup;
	s.job_inited = true;

	ret = uptr_submit_syncs(&s, args);
	if (ret)
		goto out_cleanup;

	ret = uptr_submit_commit(&s, &fence);
	if (ret)
		goto out_cleanup;
	/* The scheduler owns the job now. */
	s.job = NULL;

	if (s.out_syncobj) {
		if (s.out_chain) {
			drm_syncobj_add_point(s.out_syncobj, s.out_chain, fence,
					      s.out_point);
			s.out_chain = NULL;
		} else {
			drm_syncobj_replace_fence(s.out_syncobj, fence);
		}
	}
	dma_fence_put(fence);
	atomic64_inc(&udev->jobs_submitted);

out_cleanup:
	uptr_submit_cleanup(&s);
out_exit:
	drm_dev_exit(idx);
	if (ret)
		drm_dbg_driver(drm, "submit: %d\n", ret);
	return ret;
}
