// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The uptr authors
 *
 * DRM_IOCTL_UPTR_SUBMIT, BO_CREATE and BO_MMAP_OFFSET through the real
 * render node: what the copy engine reads and writes, every validation
 * errno with otherwise valid input, in/out syncobjs (binary and timeline),
 * implicit sync, a hang-injected job timing out with an error on its fence,
 * and closing the file with jobs in flight.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>

#include "../../kselftest_harness.h"
#include "uptr_util.h"
#include "uptr_gate.h"

#define NPAGES		16
#define SIZE		(NPAGES * UPTR_PAGE)
#define PAGE		UPTR_PAGE

FIXTURE(submit) {
	int fd;
	unsigned char *a, *b;	/* user memory wrapped in userptr objects */
	__u32 ha, hb;
	unsigned char *bo_map;	/* a device buffer, mapped */
	__u32 hbo;
	__u32 sync;
};

FIXTURE_SETUP(submit)
{
	self->fd = uptr_open_render();
	if (self->fd < 0)
		SKIP(return, "no uptr render node");
	self->a = uptr_map_anon(SIZE);
	self->b = uptr_map_anon(SIZE);
	ASSERT_NE(NULL, self->a);
	ASSERT_NE(NULL, self->b);
	uptr_fill_pattern(self->a, SIZE, 1);
	memset(self->b, 0xee, SIZE);
	ASSERT_EQ(0, uptr_create(self->fd, self->a, SIZE, 0, &self->ha));
	ASSERT_EQ(0, uptr_create(self->fd, self->b, SIZE, 0, &self->hb));
	ASSERT_EQ(0, uptr_bo_create(self->fd, SIZE, &self->hbo, (void **)&self->bo_map));
	ASSERT_EQ(0, uptr_syncobj_create(self->fd, &self->sync));
}

FIXTURE_TEARDOWN(submit)
{
	if (self->fd < 0)
		return;
	munmap(self->bo_map, SIZE);
	close(self->fd);
	munmap(self->a, SIZE);
	munmap(self->b, SIZE);
}

TEST_F(submit, copy_userptr_to_userptr_lands_in_cpu_view)
{
	struct uptr_batch j = {};

	uptr_batch_cmd(&j, DRM_UPTR_OP_COPY, self->ha, 0, self->hb, 0, SIZE, 0);
	ASSERT_EQ(1, uptr_batch_run(self->fd, self->sync, &j));
	EXPECT_EQ(-1, uptr_check_pattern(self->b, SIZE, 1));
	/* The source was only read. */
	EXPECT_EQ(-1, uptr_check_pattern(self->a, SIZE, 1));
}

TEST_F(submit, copy_unaligned_across_pages)
{
	const size_t soff = 100, doff = 4000, len = 3 * PAGE + 17;
	struct uptr_batch j = {};
	size_t i;

	uptr_batch_cmd(&j, DRM_UPTR_OP_COPY, self->ha, soff, self->hb, doff, len, 0);
	ASSERT_EQ(1, uptr_batch_run(self->fd, self->sync, &j));
	for (i = 0; i < len; i++)
		ASSERT_EQ(self->a[soff + i], self->b[doff + i]);
	/* Bytes around the destination range are untouched. */
	EXPECT_EQ(0xeeU, self->b[doff - 1]);
	EXPECT_EQ(0xeeU, self->b[doff + len]);
}

TEST_F(submit, userptr_to_device_buffer_and_back)
{
	struct uptr_batch j = {};

	uptr_batch_cmd(&j, DRM_UPTR_OP_COPY, self->ha, 0, self->hbo, 0, SIZE, 0);
	ASSERT_EQ(1, uptr_batch_run(self->fd, self->sync, &j));
	/* Read back through the device buffer's own CPU mapping. */
	EXPECT_EQ(-1, uptr_check_pattern(self->bo_map, SIZE, 1));

	uptr_fill_pattern(self->bo_map, SIZE, 7);
	j = (struct uptr_batch){};
	uptr_batch_cmd(&j, DRM_UPTR_OP_COPY, self->hbo, 0, self->hb, 0, SIZE, 0);
	ASSERT_EQ(1, uptr_batch_run(self->fd, self->sync, &j));
	EXPECT_EQ(-1, uptr_check_pattern(self->b, SIZE, 7));
}

TEST_F(submit, fill_writes_pattern_and_nothing_else)
{
	__u32 *w = (__u32 *)self->b;
	struct uptr_batch j = {};
	size_t i;

	uptr_batch_cmd(&j, DRM_UPTR_OP_FILL, 0, 0, self->hb, 8, 2 * PAGE, 0xc0ffee11);
	ASSERT_EQ(1, uptr_batch_run(self->fd, self->sync, &j));
	for (i = 2; i < 2 + 2 * PAGE / 4; i++)
		ASSERT_EQ(0xc0ffee11U, w[i]);
	EXPECT_EQ(0xeeeeeeeeU, w[1]);
	EXPECT_EQ(0xeeeeeeeeU, w[2 + 2 * PAGE / 4]);
}

TEST_F(submit, checksum_reads_userptr_without_writing_it)
{
	const __u32 *w = (const __u32 *)self->a;
	__u64 sum = 0;
	struct uptr_batch j = {};
	size_t i;

	for (i = 0; i < 3 * PAGE / 4; i++)
		sum += w[i + 1];
	/* Result straddles a page boundary of the device buffer. */
	uptr_batch_cmd(&j, DRM_UPTR_OP_CHECKSUM, self->ha, 4, self->hbo,
		       PAGE - 4, 3 * PAGE, 0);
	ASSERT_EQ(1, uptr_batch_run(self->fd, self->sync, &j));
	EXPECT_EQ(0, memcmp(&sum, self->bo_map + PAGE - 4, sizeof(sum)));
	EXPECT_EQ(-1, uptr_check_pattern(self->a, SIZE, 1));
}

TEST_F(submit, read_only_object_is_read_but_never_written)
{
	__u32 ro;
	struct uptr_batch j = {};

	ASSERT_EQ(0, uptr_create(self->fd, self->a, SIZE,
				 DRM_UPTR_CREATE_READ_ONLY, &ro));
	uptr_batch_cmd(&j, DRM_UPTR_OP_COPY, ro, 0, self->hb, 0, SIZE, 0);
	ASSERT_EQ(1, uptr_batch_run(self->fd, self->sync, &j));
	EXPECT_EQ(-1, uptr_check_pattern(self->b, SIZE, 1));

	j = (struct uptr_batch){};
	uptr_batch_cmd(&j, DRM_UPTR_OP_FILL, 0, 0, ro, 0, PAGE, 1);
	EXPECT_EQ(-EACCES, uptr_batch_submit(self->fd, &j));
	EXPECT_EQ(-1, uptr_check_pattern(self->a, SIZE, 1));
}

TEST_F(submit, device_follows_munmap_and_mmap_fixed)
{
	struct uptr_batch j = {};
	void *p;

	/* Fault everything in once. */
	uptr_batch_cmd(&j, DRM_UPTR_OP_COPY, self->ha, 0, self->hb, 0, SIZE, 0);
	ASSERT_EQ(1, uptr_batch_run(self->fd, self->sync, &j));

	/* Replace pages 4..7 of a with new memory holding pattern 9. */
	p = mmap(self->a + 4 * PAGE, 4 * PAGE, PROT_READ | PROT_WRITE,
		 MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_EQ((void *)(self->a + 4 * PAGE), p);
	uptr_fill_pattern(p, 4 * PAGE, 9);

	j = (struct uptr_batch){};
	uptr_batch_cmd(&j, DRM_UPTR_OP_COPY, self->ha, 4 * PAGE, self->hb, 0,
		       4 * PAGE, 0);
	ASSERT_EQ(1, uptr_batch_run(self->fd, self->sync, &j));
	EXPECT_EQ(-1, uptr_check_pattern(self->b, 4 * PAGE, 9));
}

TEST_F(submit, munmapped_userptr_efault_and_nothing_queued)
{
	long long before = UPTR_COUNTER("uptr_engine", "jobs_submitted");
	struct uptr_batch j = {};

	ASSERT_EQ(0, munmap(self->a + PAGE, PAGE));
	uptr_batch_cmd(&j, DRM_UPTR_OP_COPY, self->ha, 0, self->hb, 0, 2 * PAGE, 0);
	j.out.handle = self->sync;
	EXPECT_EQ(-EFAULT, uptr_batch_submit(self->fd, &j));
	/* No fence was installed in the out-syncobj. */
	EXPECT_EQ(-EINVAL, uptr_syncobj_wait(self->fd, self->sync, 0));
	EXPECT_EQ(before, UPTR_COUNTER("uptr_engine", "jobs_submitted"));
	/* Pages outside the hole still work. */
	j = (struct uptr_batch){};
	uptr_batch_cmd(&j, DRM_UPTR_OP_COPY, self->ha, 2 * PAGE, self->hb, 0, PAGE, 0);
	ASSERT_EQ(1, uptr_batch_run(self->fd, self->sync, &j));
}

TEST_F(submit, binary_and_timeline_syncobjs_chain_jobs)
{
	__u32 tl;
	struct uptr_batch j = {};

	ASSERT_EQ(0, uptr_syncobj_create(self->fd, &tl));
	uptr_batch_cmd(&j, DRM_UPTR_OP_FILL, 0, 0, self->hbo, 0, PAGE, 0x11111111);
	j.out = (struct drm_uptr_sync){ .handle = tl, .point = 5 };
	ASSERT_EQ(0, uptr_batch_submit(self->fd, &j));

	/* Second job waits for point 5 and signals point 6. */
	j = (struct uptr_batch){};
	uptr_batch_cmd(&j, DRM_UPTR_OP_COPY, self->hbo, 0, self->hb, 0, PAGE, 0);
	uptr_batch_in(&j, tl, 5);
	j.out = (struct drm_uptr_sync){ .handle = tl, .point = 6 };
	ASSERT_EQ(0, uptr_batch_submit(self->fd, &j));
	ASSERT_EQ(0, uptr_syncobj_wait(self->fd, tl, 6));
	EXPECT_EQ(0x11111111U, ((__u32 *)self->b)[0]);
	EXPECT_EQ(0x11111111U, ((__u32 *)self->b)[PAGE / 4 - 1]);

	/* Third job waits on a binary syncobj. */
	j = (struct uptr_batch){};
	uptr_batch_cmd(&j, DRM_UPTR_OP_FILL, 0, 0, self->hbo, 0, PAGE, 0x22222222);
	j.out.handle = self->sync;
	ASSERT_EQ(0, uptr_batch_submit(self->fd, &j));
	j = (struct uptr_batch){};
	uptr_batch_cmd(&j, DRM_UPTR_OP_COPY, self->hbo, 0, self->hb, PAGE, PAGE, 0);
	uptr_batch_in(&j, self->sync, 0);
	j.out = (struct drm_uptr_sync){ .handle = tl, .point = 7 };
	ASSERT_EQ(0, uptr_batch_submit(self->fd, &j));
	ASSERT_EQ(0, uptr_syncobj_wait(self->fd, tl, 7));
	EXPECT_EQ(0x22222222U, ((__u32 *)self->b)[PAGE / 4]);
}

TEST_F(submit, implicit_sync_orders_writer_and_reader)
{
	struct uptr_batch j = {};

	if (uptr_debugfs_write("uptr_delay_ms", 200))
		SKIP(return, "no debugfs");
	/* A slow writer of a, then a reader of a with no explicit sync. */
	uptr_batch_cmd(&j, DRM_UPTR_OP_FILL, 0, 0, self->ha, 0, SIZE, 0x5a5a5a5a);
	ASSERT_EQ(0, uptr_batch_submit(self->fd, &j));
	j = (struct uptr_batch){};
	uptr_batch_cmd(&j, DRM_UPTR_OP_COPY, self->ha, 0, self->hb, 0, SIZE, 0);
	ASSERT_EQ(1, uptr_batch_run(self->fd, self->sync, &j));
	uptr_debugfs_write("uptr_delay_ms", 0);
	EXPECT_EQ(0x5a5a5a5aU, ((__u32 *)self->b)[0]);
	EXPECT_EQ(0x5a5a5a5aU, ((__u32 *)self->b)[SIZE / 4 - 1]);
}

TEST_F(submit, hung_job_times_out_with_etimedout_and_never_writes)
{
	long long before = UPTR_COUNTER("uptr_engine", "jobs_timedout");
	struct uptr_batch j = {};

	ASSERT_EQ(0, uptr_debugfs_write("uptr_hang_next", 1));
	uptr_batch_cmd(&j, DRM_UPTR_OP_FILL, 0, 0, self->hb, 0, SIZE, 0x77777777);
	EXPECT_EQ(-ETIMEDOUT, uptr_batch_run(self->fd, self->sync, &j));
	EXPECT_EQ(before + 1, UPTR_COUNTER("uptr_engine", "jobs_timedout"));
	/* The job never ran: the memory is as the CPU left it. */
	EXPECT_EQ(0xeeeeeeeeU, ((__u32 *)self->b)[0]);

	/* The engine goes on with the next job. */
	j = (struct uptr_batch){};
	uptr_batch_cmd(&j, DRM_UPTR_OP_COPY, self->ha, 0, self->hb, 0, SIZE, 0);
	ASSERT_EQ(1, uptr_batch_run(self->fd, self->sync, &j));
	EXPECT_EQ(-1, uptr_check_pattern(self->b, SIZE, 1));
}

TEST_F(submit, invalidation_waits_for_running_job)
{
	long long started0, waits0;
	struct uptr_batch j = {};
	struct uptr_gate gate;
	__u32 held;
	void *p;

	/* The job is held by a gate until the invalidation waits for it. */
	ASSERT_EQ(0, uptr_gate_init(&gate));
	ASSERT_EQ(0, uptr_syncobj_create(self->fd, &held));
	ASSERT_EQ(0, uptr_gate_close(&gate, self->fd, held));
	uptr_batch_cmd(&j, DRM_UPTR_OP_FILL, 0, 0, self->hb, 0, SIZE, 0x33333333);
	uptr_batch_in(&j, held, 0);
	j.out.handle = self->sync;
	started0 = uptr_debugfs_value("uptr_engine", "jobs_started");
	waits0 = uptr_debugfs_value("uptr_engine", "invalidation_waits");
	ASSERT_LE(0, started0);
	ASSERT_LE(0, waits0);
	ASSERT_EQ(0, uptr_batch_submit(self->fd, &j));
	/* Before the munmap: queued, not started. */
	EXPECT_EQ(0, uptr_syncobj_status(self->fd, self->sync));
	EXPECT_EQ(started0, uptr_debugfs_value("uptr_engine", "jobs_started"));

	ASSERT_EQ(0, uptr_gate_open_on_wait(&gate));
	p = mmap(self->b, SIZE, PROT_READ | PROT_WRITE,
		 MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_EQ((void *)self->b, p);
	/* After: the munmap waited for the job, which ran meanwhile. */
	EXPECT_EQ(1, uptr_gate_join(&gate));
	EXPECT_EQ(1, uptr_syncobj_status(self->fd, self->sync));
	EXPECT_LT(waits0, uptr_debugfs_value("uptr_engine", "invalidation_waits"));
	EXPECT_EQ(started0 + 1, uptr_debugfs_value("uptr_engine", "jobs_started"));
	uptr_gate_fini(&gate);
	/* The new pages are untouched by the old job. */
	EXPECT_EQ(-1, uptr_check_words(self->b, SIZE, 0));
}

/*
 * Closing the file does not cancel its queued jobs: each of the 8 runs to
 * completion (jobs_done rises by 8, none times out or is aborted), and
 * unmapping their source right after the close waits for them, so the
 * bytes of the source land in the destination.
 */
TEST_F(submit, close_with_jobs_in_flight)
{
	long long submitted0, done0, timedout0, aborted0, done = 0;
	long long deadline;
	struct uptr_batch j = {};
	int i, fd;

	submitted0 = UPTR_COUNTER("uptr_engine", "jobs_submitted");
	done0 = UPTR_COUNTER("uptr_engine", "jobs_done");
	timedout0 = UPTR_COUNTER("uptr_engine", "jobs_timedout");
	aborted0 = UPTR_COUNTER("uptr_engine", "jobs_aborted");
	ASSERT_EQ(0, uptr_debugfs_write("uptr_delay_ms", 50));
	uptr_batch_cmd(&j, DRM_UPTR_OP_COPY, self->ha, 0, self->hb, 0, SIZE, 0);
	for (i = 0; i < 8; i++)
		ASSERT_EQ(0, uptr_batch_submit(self->fd, &j));
	EXPECT_EQ(submitted0 + 8, UPTR_COUNTER("uptr_engine", "jobs_submitted"));
	/* 8 jobs of 50 ms each: most are still queued. */
	EXPECT_GT(done0 + 8, UPTR_COUNTER("uptr_engine", "jobs_done"));
	close(self->fd);
	/* The user memory may go away right after. */
	munmap(self->a, SIZE);
	self->a = uptr_map_anon(SIZE);
	ASSERT_EQ(0, uptr_debugfs_write("uptr_delay_ms", 0));

	deadline = uptr_now_ms() + 10000;
	while (uptr_now_ms() < deadline) {
		done = UPTR_COUNTER("uptr_engine", "jobs_done") - done0;
		if (done >= 8)
			break;
		usleep(10000);
	}
	EXPECT_EQ(8, done);
	EXPECT_EQ(timedout0, UPTR_COUNTER("uptr_engine", "jobs_timedout"));
	EXPECT_EQ(aborted0, UPTR_COUNTER("uptr_engine", "jobs_aborted"));
	EXPECT_EQ(-1, uptr_check_pattern(self->b, SIZE, 1));

	fd = uptr_open_render();
	ASSERT_GE(fd, 0);
	self->fd = fd;
	ASSERT_EQ(0, uptr_bo_create(fd, SIZE, &self->hbo, (void **)&self->bo_map));
	ASSERT_EQ(0, uptr_syncobj_create(fd, &self->sync));
	ASSERT_EQ(0, uptr_create(fd, self->b, SIZE, 0, &self->hb));
	j = (struct uptr_batch){};
	uptr_batch_cmd(&j, DRM_UPTR_OP_COPY, self->hb, 0, self->hbo, 0, SIZE, 0);
	ASSERT_EQ(1, uptr_batch_run(self->fd, self->sync, &j));
	EXPECT_EQ(-1, uptr_check_pattern(self->bo_map, SIZE, 1));
}

TEST_F(submit, child_process_using_parent_object_exdev)
{
	struct uptr_batch j = {};
	int status;
	pid_t pid;

	uptr_batch_cmd(&j, DRM_UPTR_OP_COPY, self->ha, 0, self->hbo, 0, PAGE, 0);
	pid = fork();
	ASSERT_GE(pid, 0);
	if (!pid)
		_exit(uptr_batch_submit(self->fd, &j) == -EXDEV ? 0 : 1);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	/* The parent still can. */
	ASSERT_EQ(1, uptr_batch_run(self->fd, self->sync, &j));
}

TEST_F(submit, mmap_offset_of_userptr_einval)
{
	struct drm_uptr_bo_mmap_offset o = { .handle = self->ha };

	EXPECT_EQ(-EINVAL, uptr_ioctl(self->fd, DRM_IOCTL_UPTR_BO_MMAP_OFFSET, &o));
	o.handle = 0xdead;
	EXPECT_EQ(-ENOENT, uptr_ioctl(self->fd, DRM_IOCTL_UPTR_BO_MMAP_OFFSET, &o));
	o.handle = self->hbo;
	o.pad = 1;
	EXPECT_EQ(-EINVAL, uptr_ioctl(self->fd, DRM_IOCTL_UPTR_BO_MMAP_OFFSET, &o));
}

TEST_F(submit, bo_create_errors)
{
	struct drm_uptr_bo_create c = { .size = 0 };

	EXPECT_EQ(-EINVAL, uptr_ioctl(self->fd, DRM_IOCTL_UPTR_BO_CREATE, &c));
	c.size = PAGE;
	c.flags = 1;
	EXPECT_EQ(-EINVAL, uptr_ioctl(self->fd, DRM_IOCTL_UPTR_BO_CREATE, &c));
	c.flags = 0;
	c.size = (1ULL << 30) + PAGE;
	EXPECT_EQ(-E2BIG, uptr_ioctl(self->fd, DRM_IOCTL_UPTR_BO_CREATE, &c));
}

/* Validation: each variant breaks one thing of a valid COPY. */
enum bad {
	BAD_FLAGS, BAD_COUNT_ZERO, BAD_COUNT_MAX, BAD_STRIDE_SMALL,
	BAD_STRIDE_TAIL, BAD_OP, BAD_CMD_FLAGS, BAD_CMD_PAD, BAD_PATTERN,
	BAD_LENGTH_ZERO, BAD_OUT_OF_BOUNDS, BAD_OFFSET_OVERFLOW,
	BAD_OVERLAP_SAME, BAD_OVERLAP_ALIAS, BAD_HANDLE, BAD_IN_SYNC,
	BAD_IN_SYNC_FLAGS, BAD_IN_SYNC_ZERO, BAD_OUT_SYNC, BAD_OUT_SYNC_FLAGS,
	BAD_CMDS_PTR, BAD_SYNCS_PTR, BAD_FILL_ALIGN, BAD_FILL_SRC,
	BAD_CHECKSUM_ALIGN, BAD_SYNC_COUNT, BAD_STRIDE_LARGE,
	BAD_IN_SYNC_NO_FENCE, BAD_IN_SYNC_UNSUBMITTED, BAD_JOB_BYTES,
};

FIXTURE(bad) {
	int fd;
	unsigned char *a;
	__u32 ha, ha2, sync;
	struct drm_uptr_cmd cmds[2];
	struct drm_uptr_sync in;
	struct drm_uptr_submit s;
};

FIXTURE_VARIANT(bad) {
	enum bad what;
	int err;
};

FIXTURE_VARIANT_ADD(bad, FLAGS) {
	.what = BAD_FLAGS,
	.err = -EINVAL,
};

FIXTURE_VARIANT_ADD(bad, COUNT_ZERO) {
	.what = BAD_COUNT_ZERO,
	.err = -EINVAL,
};

FIXTURE_VARIANT_ADD(bad, COUNT_MAX) {
	.what = BAD_COUNT_MAX,
	.err = -EINVAL,
};

FIXTURE_VARIANT_ADD(bad, STRIDE_SMALL) {
	.what = BAD_STRIDE_SMALL,
	.err = -EINVAL,
};

FIXTURE_VARIANT_ADD(bad, STRIDE_TAIL) {
	.what = BAD_STRIDE_TAIL,
	.err = -EINVAL,
};

FIXTURE_VARIANT_ADD(bad, OP) {
	.what = BAD_OP,
	.err = -EINVAL,
};

FIXTURE_VARIANT_ADD(bad, CMD_FLAGS) {
	.what = BAD_CMD_FLAGS,
	.err = -EINVAL,
};

FIXTURE_VARIANT_ADD(bad, CMD_PAD) {
	.what = BAD_CMD_PAD,
	.err = -EINVAL,
};

FIXTURE_VARIANT_ADD(bad, PATTERN) {
	.what = BAD_PATTERN,
	.err = -EINVAL,
};

FIXTURE_VARIANT_ADD(bad, LENGTH_ZERO) {
	.what = BAD_LENGTH_ZERO,
	.err = -EINVAL,
};

FIXTURE_VARIANT_ADD(bad, OUT_OF_BOUNDS) {
	.what = BAD_OUT_OF_BOUNDS,
	.err = -EINVAL,
};

FIXTURE_VARIANT_ADD(bad, OFFSET_OVERFLOW) {
	.what = BAD_OFFSET_OVERFLOW,
	.err = -EINVAL,
};

FIXTURE_VARIANT_ADD(bad, OVERLAP_SAME) {
	.what = BAD_OVERLAP_SAME,
	.err = -EINVAL,
};

FIXTURE_VARIANT_ADD(bad, OVERLAP_ALIAS) {
	.what = BAD_OVERLAP_ALIAS,
	.err = -EINVAL,
};

FIXTURE_VARIANT_ADD(bad, HANDLE) {
	.what = BAD_HANDLE,
	.err = -ENOENT,
};

FIXTURE_VARIANT_ADD(bad, IN_SYNC) {
	.what = BAD_IN_SYNC,
	.err = -ENOENT,
};

FIXTURE_VARIANT_ADD(bad, IN_SYNC_FLAGS) {
	.what = BAD_IN_SYNC_FLAGS,
	.err = -EINVAL,
};

FIXTURE_VARIANT_ADD(bad, IN_SYNC_ZERO) {
	.what = BAD_IN_SYNC_ZERO,
	.err = -EINVAL,
};

FIXTURE_VARIANT_ADD(bad, OUT_SYNC) {
	.what = BAD_OUT_SYNC,
	.err = -ENOENT,
};

FIXTURE_VARIANT_ADD(bad, OUT_SYNC_FLAGS) {
	.what = BAD_OUT_SYNC_FLAGS,
	.err = -EINVAL,
};

FIXTURE_VARIANT_ADD(bad, CMDS_PTR) {
	.what = BAD_CMDS_PTR,
	.err = -EFAULT,
};

FIXTURE_VARIANT_ADD(bad, SYNCS_PTR) {
	.what = BAD_SYNCS_PTR,
	.err = -EFAULT,
};

FIXTURE_VARIANT_ADD(bad, FILL_ALIGN) {
	.what = BAD_FILL_ALIGN,
	.err = -EINVAL,
};

FIXTURE_VARIANT_ADD(bad, FILL_SRC) {
	.what = BAD_FILL_SRC,
	.err = -EINVAL,
};

FIXTURE_VARIANT_ADD(bad, CHECKSUM_ALIGN) {
	.what = BAD_CHECKSUM_ALIGN,
	.err = -EINVAL,
};

FIXTURE_VARIANT_ADD(bad, SYNC_COUNT) {
	.what = BAD_SYNC_COUNT,
	.err = -EINVAL,
};

FIXTURE_VARIANT_ADD(bad, STRIDE_LARGE) {
	.what = BAD_STRIDE_LARGE,
	.err = -EINVAL,
};

FIXTURE_VARIANT_ADD(bad, IN_SYNC_NO_FENCE) {
	.what = BAD_IN_SYNC_NO_FENCE,
	.err = -EINVAL,
};

FIXTURE_VARIANT_ADD(bad, IN_SYNC_UNSUBMITTED) {
	.what = BAD_IN_SYNC_UNSUBMITTED,
	.err = -EINVAL,
};

FIXTURE_VARIANT_ADD(bad, JOB_BYTES) {
	.what = BAD_JOB_BYTES,
	.err = -E2BIG,
};

FIXTURE_SETUP(bad)
{
	self->fd = uptr_open_render();
	if (self->fd < 0)
		SKIP(return, "no uptr render node");
	self->a = uptr_map_anon(2 * SIZE);
	ASSERT_NE(NULL, self->a);
	uptr_fill_pattern(self->a, 2 * SIZE, 3);
	ASSERT_EQ(0, uptr_create(self->fd, self->a, 2 * SIZE, 0, &self->ha));
	/* A second object over the second half of the same memory. */
	ASSERT_EQ(0, uptr_create(self->fd, self->a + SIZE, SIZE, 0, &self->ha2));
	ASSERT_EQ(0, uptr_syncobj_create(self->fd, &self->sync));

	/* Valid: copy the first page of a to the first page of ha2. */
	self->cmds[0] = (struct drm_uptr_cmd){
		.op = DRM_UPTR_OP_COPY, .src_handle = self->ha,
		.dst_handle = self->ha2, .length = PAGE,
	};
	self->s = (struct drm_uptr_submit){
		.cmds = (__u64)(uintptr_t)self->cmds, .cmd_count = 1,
		.cmd_stride = sizeof(struct drm_uptr_cmd),
		.in_syncs = (__u64)(uintptr_t)&self->in,
		.out_sync = { .handle = self->sync },
	};
}

FIXTURE_TEARDOWN(bad)
{
	if (self->fd < 0)
		return;
	close(self->fd);
	munmap(self->a, 2 * SIZE);
}

TEST_F(bad, rejected_with_errno_and_nothing_queued)
{
	struct drm_uptr_cmd *c = &self->cmds[0];
	static unsigned char wide[2 * 4096];
	__u64 max_bytes;
	__u32 tl, empty;

	/* The valid submission works (on a second syncobj). */
	ASSERT_EQ(0, uptr_syncobj_create(self->fd, &tl));
	self->s.out_sync.handle = tl;
	ASSERT_EQ(0, uptr_ioctl(self->fd, DRM_IOCTL_UPTR_SUBMIT, &self->s));
	ASSERT_EQ(0, uptr_syncobj_wait(self->fd, tl, 0));
	self->s.out_sync.handle = self->sync;

	switch (variant->what) {
	case BAD_FLAGS:
		self->s.flags = 1;
		break;
	case BAD_COUNT_ZERO:
		self->s.cmd_count = 0;
		break;
	case BAD_COUNT_MAX:
		self->s.cmd_count = 100000;
		break;
	case BAD_STRIDE_SMALL:
		self->s.cmd_stride = sizeof(*c) - 8;
		break;
	case BAD_STRIDE_TAIL:
		memset(wide, 0, sizeof(wide));
		memcpy(wide, c, sizeof(*c));
		wide[sizeof(*c) + 3] = 1;
		self->s.cmds = (__u64)(uintptr_t)wide;
		self->s.cmd_stride = 2 * sizeof(*c);
		break;
	case BAD_OP:
		c->op = 99;
		break;
	case BAD_CMD_FLAGS:
		c->flags = 1;
		break;
	case BAD_CMD_PAD:
		c->pad = 1;
		break;
	case BAD_PATTERN:
		c->pattern = 1;
		break;
	case BAD_LENGTH_ZERO:
		c->length = 0;
		break;
	case BAD_OUT_OF_BOUNDS:
		c->dst_offset = SIZE - PAGE + 4;
		break;
	case BAD_OFFSET_OVERFLOW:
		c->src_offset = ~0ULL - 4;
		break;
	case BAD_OVERLAP_SAME:
		c->dst_handle = self->ha;
		c->dst_offset = PAGE / 2;
		break;
	case BAD_OVERLAP_ALIAS:
		c->src_offset = SIZE;
		break;
	case BAD_HANDLE:
		c->dst_handle = 0xbad;
		break;
	case BAD_IN_SYNC:
		self->in.handle = 0xbad;
		self->s.in_sync_count = 1;
		break;
	case BAD_IN_SYNC_FLAGS:
		self->in.handle = tl;
		self->in.flags = 1;
		self->s.in_sync_count = 1;
		break;
	case BAD_IN_SYNC_ZERO:
		self->s.in_sync_count = 1;
		break;
	case BAD_OUT_SYNC:
		self->s.out_sync.handle = 0xbad;
		break;
	case BAD_OUT_SYNC_FLAGS:
		self->s.out_sync.flags = 1;
		break;
	case BAD_CMDS_PTR:
		self->s.cmds = 16;
		break;
	case BAD_SYNCS_PTR:
		self->s.in_syncs = 16;
		self->s.in_sync_count = 1;
		break;
	case BAD_FILL_ALIGN:
		c->op = DRM_UPTR_OP_FILL;
		c->src_handle = 0;
		c->dst_offset = 2;
		break;
	case BAD_FILL_SRC:
		c->op = DRM_UPTR_OP_FILL;
		break;
	case BAD_CHECKSUM_ALIGN:
		c->op = DRM_UPTR_OP_CHECKSUM;
		c->length = 6;
		break;
	case BAD_SYNC_COUNT:
		self->s.in_sync_count = 1000;
		break;
	case BAD_STRIDE_LARGE:
		/* The largest stride is 4096; one more byte, all zero. */
		memset(wide, 0, sizeof(wide));
		memcpy(wide, c, sizeof(*c));
		self->s.cmds = (__u64)(uintptr_t)wide;
		self->s.cmd_stride = 4097;
		break;
	case BAD_IN_SYNC_NO_FENCE:
		ASSERT_EQ(0, uptr_syncobj_create(self->fd, &empty));
		self->in.handle = empty;
		self->s.in_sync_count = 1;
		break;
	case BAD_IN_SYNC_UNSUBMITTED:
		/* tl holds a fence at point 0, no timeline point 5. */
		self->in.handle = tl;
		self->in.point = 5;
		self->s.in_sync_count = 1;
		break;
	case BAD_JOB_BYTES:
		/* Two commands of half the limit each, and four bytes more. */
		ASSERT_EQ(0, uptr_get_param(self->fd,
					    DRM_UPTR_PARAM_MAX_JOB_BYTES,
					    &max_bytes));
		self->cmds[0] = (struct drm_uptr_cmd){
			.op = DRM_UPTR_OP_CHECKSUM, .src_handle = self->ha,
			.dst_handle = self->ha2, .length = PAGE,
		};
		self->cmds[1] = self->cmds[0];
		self->cmds[1].length = max_bytes - PAGE + 4;
		/* Out of its object too: the byte limit is checked first. */
		self->s.cmd_count = 2;
		break;
	}

	uptr_fill_pattern(self->a, 2 * SIZE, 3);
	EXPECT_EQ(variant->err, uptr_ioctl(self->fd, DRM_IOCTL_UPTR_SUBMIT,
					   &self->s));
	/* Nothing was queued: no fence in the out-syncobj, memory intact. */
	EXPECT_EQ(-EINVAL, uptr_syncobj_wait(self->fd, self->sync, 0));
	usleep(20000);
	EXPECT_EQ(-1, uptr_check_pattern(self->a, 2 * SIZE, 3));
}

TEST_HARNESS_MAIN
