// SPDX-License-Identifier: GPL-2.0-only
/*
 * Copyright (C) 2026 The uptr authors
 */

#include <kunit/resource.h>
#include <kunit/test.h>
#include <linux/delay.h>
#include <linux/dma-fence.h>
#include <linux/highmem.h>
#include <linux/sizes.h>

#include <drm/uptr_drm.h>

#include "../uptr_drv.h"
#include "../uptr_engine.h"
#include "../uptr_job.h"
#include "uptr_kunit.h"

/**
 * DOC: KUnit tests for the copy engine
 *
 * The engine's data path on pages the test owns (copies, fills and
 * checksums across page boundaries, bytes around the ranges untouched),
 * the fixed checks of a submission, and the life of a job through the
 * scheduler on a KUnit device: a normal job, a hang-injected job that
 * the timeout completes with -ETIMEDOUT without running it, a timeout
 * that fires inside run_job (the job must then never run), a job that
 * overruns and is stopped between slices, and a hung job that unplug
 * completes with -ENODEV.
 */

#define NPAGES	4

struct uptr_pages {
	struct page *pages[NPAGES];
};

static void uptr_test_free_pages(void *data)
{
	struct uptr_pages *p = data;
	int i;

	for (i = 0; i < NPAGES; i++)
		if (p->pages[i])
			__free_page(p->pages[i]);
}

static struct page **uptr_test_pages(struct kunit *test, u8 fill)
{
	struct uptr_pages *p = kunit_kzalloc(test, sizeof(*p), GFP_KERNEL);
	int i;

	KUNIT_ASSERT_NOT_NULL(test, p);
	for (i = 0; i < NPAGES; i++) {
		p->pages[i] = alloc_page(GFP_KERNEL);
		KUNIT_ASSERT_NOT_NULL(test, p->pages[i]);
		memset(page_address(p->pages[i]), fill, PAGE_SIZE);
	}
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, uptr_test_free_pages, p), 0);
	return p->pages;
}

static u8 uptr_byte(struct page **pages, size_t off)
{
	return ((u8 *)page_address(pages[off >> PAGE_SHIFT]))[offset_in_page(off)];
}

static void uptr_range(struct uptr_job_range *r, struct page **pages,
		       u64 offset, u64 length)
{
	r->pages = pages;
	r->pgoff = 0;
	r->offset = offset;
	r->length = length;
}

static void uptr_engine_test_copy_across_pages(struct kunit *test)
{
	struct page **src = uptr_test_pages(test, 0), **dst = uptr_test_pages(test, 0xee);
	const size_t soff = 100, doff = 4000, len = 2 * PAGE_SIZE + 33;
	struct uptr_job_cmd cmd = { .op = DRM_UPTR_OP_COPY };
	struct uptr_job job = { .ncmds = 1, .cmds = &cmd };
	size_t i;

	for (i = 0; i < NPAGES * PAGE_SIZE; i++)
		((u8 *)page_address(src[i >> PAGE_SHIFT]))[offset_in_page(i)] = i * 7 + 3;
	uptr_range(&cmd.src, src, soff, len);
	uptr_range(&cmd.dst, dst, doff, len);
	KUNIT_EXPECT_EQ(test, uptr_job_execute(&job), 0);

	for (i = 0; i < len; i++)
		if (uptr_byte(dst, doff + i) != uptr_byte(src, soff + i))
			break;
	KUNIT_EXPECT_EQ(test, i, len);
	KUNIT_EXPECT_EQ(test, uptr_byte(dst, doff - 1), 0xee);
	KUNIT_EXPECT_EQ(test, uptr_byte(dst, doff + len), 0xee);
}

static void uptr_engine_test_fill_and_checksum(struct kunit *test)
{
	struct page **buf = uptr_test_pages(test, 0), **out = uptr_test_pages(test, 0);
	struct uptr_job_cmd cmds[2] = {
		{ .op = DRM_UPTR_OP_FILL, .pattern = 0x01020304 },
		{ .op = DRM_UPTR_OP_CHECKSUM },
	};
	struct uptr_job job = { .ncmds = 2, .cmds = cmds };
	const size_t off = 8, len = 2 * PAGE_SIZE;
	u64 sum = 0;
	u32 word;

	uptr_range(&cmds[0].dst, buf, off, len);
	uptr_range(&cmds[1].src, buf, off, len);
	/* The 8-byte result straddles two pages. */
	uptr_range(&cmds[1].dst, out, PAGE_SIZE - 4, sizeof(u64));
	KUNIT_EXPECT_EQ(test, uptr_job_execute(&job), 0);

	memcpy(&word, page_address(buf[0]) + off, sizeof(word));
	KUNIT_EXPECT_EQ(test, word, 0x01020304);
	memcpy(&word, page_address(buf[2]) + off - sizeof(word), sizeof(word));
	KUNIT_EXPECT_EQ(test, word, 0x01020304);
	KUNIT_EXPECT_EQ(test, uptr_byte(buf, off - 1), 0);
	KUNIT_EXPECT_EQ(test, uptr_byte(buf, off + len), 0);

	memcpy(&sum, page_address(out[0]) + PAGE_SIZE - 4, 4);
	memcpy((u8 *)&sum + 4, page_address(out[1]), 4);
	KUNIT_EXPECT_EQ(test, sum, (u64)0x01020304 * (len / 4));
}

struct uptr_args_case {
	const char *name;
	struct drm_uptr_submit args;
	int ret;
};

static const struct uptr_args_case uptr_args_cases[] = {
	{ "valid", { .cmd_count = 1, .cmd_stride = 48 }, 0 },
	{ "valid_max", { .cmd_count = UPTR_SUBMIT_MAX_CMDS, .cmd_stride = 64,
			 .in_sync_count = UPTR_SUBMIT_MAX_SYNCS }, 0 },
	{ "flags", { .cmd_count = 1, .cmd_stride = 48, .flags = 1 }, -EINVAL },
	{ "no_cmds", { .cmd_count = 0, .cmd_stride = 48 }, -EINVAL },
	{ "too_many_cmds", { .cmd_count = UPTR_SUBMIT_MAX_CMDS + 1,
			     .cmd_stride = 48 }, -EINVAL },
	{ "stride_small", { .cmd_count = 1, .cmd_stride = 47 }, -EINVAL },
	{ "stride_huge", { .cmd_count = 1, .cmd_stride = PAGE_SIZE + 1 }, -EINVAL },
	{ "too_many_syncs", { .cmd_count = 1, .cmd_stride = 48,
			      .in_sync_count = UPTR_SUBMIT_MAX_SYNCS + 1 }, -EINVAL },
};

static void uptr_args_case_desc(const struct uptr_args_case *c, char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(uptr_args, uptr_args_cases, uptr_args_case_desc);

static void uptr_engine_test_submit_args(struct kunit *test)
{
	const struct uptr_args_case *c = test->param_value;

	KUNIT_EXPECT_EQ(test, uptr_submit_check_args(&c->args), c->ret);
}

struct uptr_engine_ctx {
	struct uptr_device *udev;
	struct drm_sched_entity entity;
	bool entity_live;
	bool fini_done;
};

static void uptr_test_engine_fini(void *data)
{
	struct uptr_engine_ctx *ctx = data;

	if (ctx->entity_live)
		drm_sched_entity_destroy(&ctx->entity);
	if (!ctx->fini_done)
		uptr_engine_fini(&ctx->udev->engine);
}

static struct uptr_engine_ctx *uptr_test_engine(struct kunit *test)
{
	struct uptr_engine_ctx *ctx = kunit_kzalloc(test, sizeof(*ctx), GFP_KERNEL);
	struct drm_gpu_scheduler *sched;

	KUNIT_ASSERT_NOT_NULL(test, ctx);
	ctx->udev = uptr_test_device(test);
	KUNIT_ASSERT_EQ(test, uptr_engine_init(&ctx->udev->engine, &ctx->udev->drm), 0);
	sched = &ctx->udev->engine.sched;
	if (drm_sched_entity_init(&ctx->entity, DRM_SCHED_PRIORITY_NORMAL,
				  &sched, 1, NULL)) {
		uptr_engine_fini(&ctx->udev->engine);
		KUNIT_FAIL_AND_ABORT(test, "entity init failed");
	}
	ctx->entity_live = true;
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, uptr_test_engine_fini, ctx), 0);
	return ctx;
}

/*
 * Queue a FILL of @len bytes of @pages (no objects) and return its
 * finished fence.
 */
static struct dma_fence *uptr_test_queue_len(struct kunit *test,
					     struct uptr_engine_ctx *ctx,
					     struct page **pages, u32 pattern,
					     unsigned long len)
{
	struct uptr_job *job = uptr_job_alloc(&ctx->udev->engine, 1, 1);
	struct dma_fence *fence;

	KUNIT_ASSERT_NOT_NULL(test, job);
	job->ncmds = 1;
	job->cmds[0].op = DRM_UPTR_OP_FILL;
	job->cmds[0].pattern = pattern;
	uptr_range(&job->cmds[0].dst, pages, 0, len);
	if (drm_sched_job_init(&job->base, &ctx->entity, 1, NULL, 0)) {
		uptr_job_free(job);
		KUNIT_FAIL_AND_ABORT(test, "job init failed");
	}
	drm_sched_job_arm(&job->base);
	fence = dma_fence_get(&job->base.s_fence->finished);
	drm_sched_entity_push_job(&job->base);
	return fence;
}

/* Queue a FILL of @pages[0] and return its finished fence. */
static struct dma_fence *uptr_test_queue(struct kunit *test,
					 struct uptr_engine_ctx *ctx,
					 struct page **pages, u32 pattern)
{
	return uptr_test_queue_len(test, ctx, pages, pattern, PAGE_SIZE);
}

static void uptr_engine_test_job_runs(struct kunit *test)
{
	struct uptr_engine_ctx *ctx = uptr_test_engine(test);
	struct page **pages = uptr_test_pages(test, 0);
	struct dma_fence *fence = uptr_test_queue(test, ctx, pages, 0xabababab);

	KUNIT_EXPECT_GT(test, dma_fence_wait_timeout(fence, false, 10 * HZ), 0);
	KUNIT_EXPECT_EQ(test, fence->error, 0);
	KUNIT_EXPECT_EQ(test, *(u32 *)page_address(pages[0]), 0xabababab);
	KUNIT_EXPECT_EQ(test, atomic64_read(&ctx->udev->engine.jobs_done), 1);
	dma_fence_put(fence);
}

static void uptr_engine_test_hang_times_out(struct kunit *test)
{
	struct uptr_engine_ctx *ctx = uptr_test_engine(test);
	struct page **pages = uptr_test_pages(test, 0);
	struct dma_fence *hung, *next;

	atomic_set(&ctx->udev->engine.hang_next, 1);
	hung = uptr_test_queue(test, ctx, pages, 0x11111111);
	next = uptr_test_queue(test, ctx, pages + 1, 0x22222222);

	KUNIT_EXPECT_GT(test, dma_fence_wait_timeout(hung, false, 30 * HZ), 0);
	KUNIT_EXPECT_EQ(test, hung->error, -ETIMEDOUT);
	KUNIT_EXPECT_GT(test, dma_fence_wait_timeout(next, false, 30 * HZ), 0);
	KUNIT_EXPECT_EQ(test, next->error, 0);
	/* The hung job never touched its page; the next one did. */
	KUNIT_EXPECT_EQ(test, *(u32 *)page_address(pages[0]), 0);
	KUNIT_EXPECT_EQ(test, *(u32 *)page_address(pages[1]), 0x22222222);
	KUNIT_EXPECT_EQ(test, atomic64_read(&ctx->udev->engine.jobs_timedout), 1);
	dma_fence_put(hung);
	dma_fence_put(next);
}

/*
 * The timeout fires while run_job is between the hardware fence's
 * initialization and the hand-over to the engine (uptr_run_delay_ms holds
 * it there for longer than the timeout): the timeout claims the job and
 * signals -ETIMEDOUT, so run_job must not hand it over: the job never
 * touches its page, before or after its fence signalled.
 */
static void uptr_engine_test_timeout_in_run_job(struct kunit *test)
{
	struct uptr_engine_ctx *ctx = uptr_test_engine(test);
	struct uptr_engine *engine = &ctx->udev->engine;
	struct page **pages = uptr_test_pages(test, 0);
	struct dma_fence *late, *next;

	WRITE_ONCE(engine->run_delay_ms,
		   jiffies_to_msecs(engine->sched.timeout) + 1000);
	late = uptr_test_queue(test, ctx, pages, 0x44444444);
	KUNIT_EXPECT_GT(test, dma_fence_wait_timeout(late, false, 30 * HZ), 0);
	WRITE_ONCE(engine->run_delay_ms, 0);
	next = uptr_test_queue(test, ctx, pages + 1, 0x55555555);
	KUNIT_EXPECT_GT(test, dma_fence_wait_timeout(next, false, 30 * HZ), 0);

	/* The race happened: the timeout ran and claimed the job... */
	KUNIT_EXPECT_GE(test, atomic64_read(&engine->timeouts), 1);
	KUNIT_EXPECT_EQ(test, atomic64_read(&engine->jobs_timedout), 1);
	KUNIT_EXPECT_EQ(test, late->error, -ETIMEDOUT);
	/* ...and the engine ran only the next job. */
	KUNIT_EXPECT_EQ(test, next->error, 0);
	KUNIT_EXPECT_EQ(test, atomic64_read(&engine->jobs_done), 1);
	KUNIT_EXPECT_EQ(test, *(u32 *)page_address(pages[0]), 0);
	KUNIT_EXPECT_EQ(test, *(u32 *)page_address(pages[1]), 0x55555555);
	dma_fence_put(late);
	dma_fence_put(next);
}

/*
 * A job that executes for longer than the timeout is stopped between two
 * slices with -ETIMEDOUT: a FILL of 16 slices of one page, each slice
 * followed by a sleep, so that it would run for 8 timeouts.
 */
static void uptr_engine_test_timeout_stops_running_job(struct kunit *test)
{
	struct uptr_engine_ctx *ctx = uptr_test_engine(test);
	struct uptr_engine *engine = &ctx->udev->engine;
	const unsigned long nslices = 16, len = nslices * SZ_256K;
	struct page **page = uptr_test_pages(test, 0);
	struct page **pages;
	struct dma_fence *fence;
	unsigned long i;

	pages = kunit_kcalloc(test, len >> PAGE_SHIFT, sizeof(*pages), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, pages);
	for (i = 0; i < len >> PAGE_SHIFT; i++)
		pages[i] = page[0];
	WRITE_ONCE(engine->slice_delay_ms,
		   jiffies_to_msecs(engine->sched.timeout) / 2);
	fence = uptr_test_queue_len(test, ctx, pages, 0x66666666, len);
	KUNIT_EXPECT_GT(test, dma_fence_wait_timeout(fence, false, 60 * HZ), 0);
	WRITE_ONCE(engine->slice_delay_ms, 0);
	KUNIT_EXPECT_EQ(test, fence->error, -ETIMEDOUT);
	KUNIT_EXPECT_EQ(test, atomic64_read(&engine->jobs_timedout), 1);
	KUNIT_EXPECT_EQ(test, atomic64_read(&engine->jobs_done), 0);
	/* It had started: the first slice was written. */
	KUNIT_EXPECT_EQ(test, *(u32 *)page_address(page[0]), 0x66666666);
	dma_fence_put(fence);
}

static void uptr_engine_test_unplug_aborts_hung_job(struct kunit *test)
{
	struct uptr_engine_ctx *ctx = uptr_test_engine(test);
	struct page **pages = uptr_test_pages(test, 0);
	struct dma_fence *hung;

	atomic_set(&ctx->udev->engine.hang_next, 1);
	hung = uptr_test_queue(test, ctx, pages, 0x33333333);
	/* Let the engine take the job and start "hanging" on it. */
	while (!READ_ONCE(ctx->udev->engine.hung_job) && !dma_fence_is_signaled(hung))
		usleep_range(1000, 2000);

	drm_sched_entity_destroy(&ctx->entity);
	ctx->entity_live = false;
	uptr_engine_fini(&ctx->udev->engine);
	ctx->fini_done = true;

	KUNIT_EXPECT_TRUE(test, dma_fence_is_signaled(hung));
	KUNIT_EXPECT_EQ(test, hung->error, -ENODEV);
	KUNIT_EXPECT_EQ(test, *(u32 *)page_address(pages[0]), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&ctx->udev->engine.jobs_alive), 0);
	dma_fence_put(hung);
}

static struct kunit_case uptr_engine_test_cases[] = {
	KUNIT_CASE(uptr_engine_test_copy_across_pages),
	KUNIT_CASE(uptr_engine_test_fill_and_checksum),
	KUNIT_CASE_PARAM(uptr_engine_test_submit_args, uptr_args_gen_params),
	KUNIT_CASE(uptr_engine_test_job_runs),
	KUNIT_CASE_SLOW(uptr_engine_test_hang_times_out),
	KUNIT_CASE_SLOW(uptr_engine_test_timeout_in_run_job),
	KUNIT_CASE_SLOW(uptr_engine_test_timeout_stops_running_job),
	KUNIT_CASE(uptr_engine_test_unplug_aborts_hung_job),
	{}
};

static struct kunit_suite uptr_engine_test_suite = {
	.name = "uptr_engine",
	.test_cases = uptr_engine_test_cases,
};

kunit_test_suite(uptr_engine_test_suite);
