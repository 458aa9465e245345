// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The uptr authors
 *
 * Races and orderings forced open on purpose, each proved to have happened
 * with the driver's counters before its outcome is checked:
 *
 * - stall: the submit-level race. debugfs uptr_submit_stall holds a
 *   submission between the fault-in of its userptr range and the locked
 *   check until the range is invalidated; the test replaces or removes the
 *   pages in that window. The locked check must catch it: exactly one
 *   submit retry, and the job uses the new pages (or fails with -EFAULT).
 * - xfile: ordering across two DRM files, i.e. two scheduler entities.
 *   The first job is held back by an unsignalled sw_sync fence; the second,
 *   on another file, depends on it through implicit sync (a device buffer
 *   shared with PRIME) or an in-syncobj (binary or timeline) and must not
 *   run while a third, independent job on a third file runs to completion
 *   (the engine runs jobs in the order they are handed to it, so a second
 *   job that ignored its dependency would be done by then).
 * - busy: mm operations wait for the device. The job is held by a gate
 *   until an invalidation is seen waiting for its fence; before the mm call
 *   it has not started, after it the job has run, on the old pages, and
 *   the invalidation counted a wait.
 * - apart: the same mm operations on pages of the object that no job uses
 *   return with a held job still held and no wait counted, though they
 *   invalidated valid pages; on the held job's page they wait for it,
 *   although a later job (queued behind it, on another page) was recorded
 *   since: an invalidation waits for exactly the jobs that use what it
 *   takes.
 * - reap: the OOM reaper's non-blockable path for real. A killed process
 *   whose object has a held job is reaped with process_mrelease(): the
 *   driver refuses (nonblock_refusals), no page is freed under the device,
 *   and the process goes once the job is done.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/mempolicy.h>

#include "../../kselftest_harness.h"
#include "uptr_util.h"
#include "uptr_gate.h"

#define PAGE		UPTR_PAGE
#define NPAGES		4
#define SIZE		(NPAGES * PAGE)
/* A guard against a hang while a test waits for a counter; not a measure. */
#define GUARD_MS	60000

static long long engine_value(const char *key)
{
	return uptr_debugfs_value("uptr_engine", key);
}

/* Wait until uptr_engine's @key exceeds @than. Returns 0 or -ETIMEDOUT. */
static int engine_wait_above(const char *key, long long than)
{
	long long end = uptr_now_ms() + GUARD_MS;

	while (engine_value(key) <= than) {
		if (uptr_now_ms() > end)
			return -ETIMEDOUT;
		usleep(1000);
	}
	return 0;
}

/* A memfd of @size bytes holding @seed's pattern. */
static int memfd_with_pattern(size_t size, unsigned int seed)
{
	unsigned char *buf = malloc(size);
	int fd = memfd_create("uptr-sync", MFD_CLOEXEC);

	if (fd < 0 || !buf || ftruncate(fd, size)) {
		free(buf);
		return -1;
	}
	uptr_fill_pattern(buf, size, seed);
	if (pwrite(fd, buf, size, 0) != (ssize_t)size) {
		close(fd);
		fd = -1;
	}
	free(buf);
	return fd;
}

/* ------------------------------------------------------------------ */
/* The submit-level race                                              */
/* ------------------------------------------------------------------ */

struct stall_ctx {
	int fd;
	int memfd;
	unsigned char *m;	/* MAP_SHARED view of memfd: the old pages */
	__u32 h;		/* userptr object over m */
	__u32 bo, sync;
	unsigned char *bo_map;
	/* the submitting thread */
	struct uptr_batch job;
	int ret;
};

FIXTURE(stall) {
	struct stall_ctx c;
};

FIXTURE_VARIANT(stall) {
	bool device_writes;	/* FILL the object, else COPY it out */
	bool munmap;		/* remove the pages, else replace them */
};

FIXTURE_VARIANT_ADD(stall, read_replaced) {
	.device_writes = false,
	.munmap = false,
};

FIXTURE_VARIANT_ADD(stall, write_replaced) {
	.device_writes = true,
	.munmap = false,
};

FIXTURE_VARIANT_ADD(stall, read_unmapped) {
	.device_writes = false,
	.munmap = true,
};

FIXTURE_SETUP(stall)
{
	struct stall_ctx *c = &self->c;

	struct uptr_batch j = {};
	char dir[256];

	c->memfd = -1;
	c->fd = uptr_open_render();
	if (c->fd < 0)
		SKIP(return, "no uptr render node");
	if (uptr_debugfs_dir(dir, sizeof(dir)))
		SKIP(return, "no uptr debugfs directory: counters are needed");
	ASSERT_EQ(0, uptr_debugfs_write("uptr_submit_stall", 0));
	c->memfd = memfd_with_pattern(SIZE, 1);
	ASSERT_LE(0, c->memfd);
	c->m = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, c->memfd, 0);
	ASSERT_NE(MAP_FAILED, c->m);
	ASSERT_EQ(0, uptr_create(c->fd, c->m, SIZE, 0, &c->h));
	ASSERT_EQ(0, uptr_bo_create(c->fd, SIZE, &c->bo,
				    (void **)&c->bo_map));
	ASSERT_EQ(0, uptr_syncobj_create(c->fd, &c->sync));
	/* The object's pages are valid before the stalled submission. */
	uptr_batch_cmd(&j, DRM_UPTR_OP_COPY, c->h, 0, c->bo, 0, SIZE, 0);
	ASSERT_EQ(1, uptr_batch_run(c->fd, c->sync, &j));
	ASSERT_EQ(-1, uptr_check_pattern(c->bo_map, SIZE, 1));
	memset(c->bo_map, 0xee, SIZE);
}

FIXTURE_TEARDOWN(stall)
{
	struct stall_ctx *c = &self->c;

	uptr_debugfs_write("uptr_submit_stall", 0);
	if (c->fd < 0)
		return;
	munmap(c->bo_map, SIZE);
	close(c->fd);
	munmap(c->m, SIZE);
	if (c->memfd >= 0)
		close(c->memfd);
}

static void *stall_submit(void *arg)
{
	struct stall_ctx *c = arg;

	c->ret = uptr_batch_submit(c->fd, &c->job);
	return NULL;
}

TEST_F(stall, invalidation_before_locked_check_retries_once_job_uses_new_pages)
{
	struct stall_ctx *c = &self->c;

	long long retries0, stalls0, submitted0;
	unsigned char *fresh, *p, *old;
	pthread_t thread;

	fresh = uptr_map_anon(SIZE);
	ASSERT_NE(NULL, fresh);
	uptr_fill_pattern(fresh, SIZE, 2);
	old = malloc(SIZE);
	ASSERT_NE(NULL, old);

	retries0 = engine_value("submit_retries");
	stalls0 = engine_value("submit_stalls");
	submitted0 = engine_value("jobs_submitted");
	ASSERT_LE(0, retries0);
	ASSERT_LE(0, stalls0);

	if (variant->device_writes)
		uptr_batch_cmd(&c->job, DRM_UPTR_OP_FILL, 0, 0, c->h, 0,
			       SIZE, 0x55555555);
	else
		uptr_batch_cmd(&c->job, DRM_UPTR_OP_COPY, c->h, 0, c->bo,
			       0, SIZE, 0);
	c->job.out.handle = c->sync;
	ASSERT_EQ(0, uptr_debugfs_write("uptr_submit_stall", 1));
	ASSERT_EQ(0, pthread_create(&thread, NULL, stall_submit, c));

	/* The submission faulted the old pages in and now waits... */
	ASSERT_EQ(0, engine_wait_above("submit_stalls", stalls0));
	/* ...while the CPU page table changes under it. */
	if (variant->munmap) {
		ASSERT_EQ(0, munmap(c->m, SIZE));
	} else {
		p = mremap(fresh, SIZE, SIZE, MREMAP_MAYMOVE | MREMAP_FIXED,
			   c->m);
		ASSERT_EQ(c->m, p);
	}
	ASSERT_EQ(0, pthread_join(thread, NULL));

	/* The locked check caught it exactly once and faulted again. */
	EXPECT_EQ(stalls0 + 1, engine_value("submit_stalls"));
	EXPECT_EQ(retries0 + 1, engine_value("submit_retries"));

	if (variant->munmap) {
		/* Faulted again into a hole: nothing was queued. */
		EXPECT_EQ(-EFAULT, c->ret);
		EXPECT_EQ(submitted0, engine_value("jobs_submitted"));
		EXPECT_EQ(-1, uptr_check_bytes(c->bo_map, SIZE, 0xee));
		c->m = mmap(c->m, SIZE, PROT_READ, MAP_SHARED, c->memfd, 0);
		ASSERT_NE(MAP_FAILED, c->m);
		free(old);
		return;
	}

	ASSERT_EQ(0, c->ret);
	ASSERT_EQ(0, uptr_syncobj_wait(c->fd, c->sync, 0));
	ASSERT_EQ(1, uptr_syncobj_status(c->fd, c->sync));
	EXPECT_EQ(submitted0 + 1, engine_value("jobs_submitted"));
	/* The old pages, still in the memfd, were not used... */
	ASSERT_EQ((ssize_t)SIZE, pread(c->memfd, old, SIZE, 0));
	EXPECT_EQ(-1, uptr_check_pattern(old, SIZE, 1));
	/* ...the new ones were. */
	if (variant->device_writes) {
		EXPECT_EQ(-1, uptr_check_words(c->m, SIZE, 0x55555555));
	} else {
		EXPECT_EQ(-1, uptr_check_pattern(c->bo_map, SIZE, 2));
		EXPECT_EQ(-1, uptr_check_pattern(c->m, SIZE, 2));
	}
	free(old);
}

/* ------------------------------------------------------------------ */
/* Ordering across DRM files                                          */
/* ------------------------------------------------------------------ */

#define NFILES	3

struct xfile_ctx {
	int fd[NFILES];
	struct uptr_gate gate;
	__u32 held;		/* syncobj in fd[0] with the gate's fence */
	__u32 out0;		/* out-sync of the held job, in fd[0] */
	/* a device buffer of fd[0], shared with fd[1] through PRIME */
	__u32 shared0, shared1;
	unsigned char *shared;
	/* a private buffer in each file, mapped */
	__u32 bo[NFILES];
	unsigned char *map[NFILES];
	__u32 sync[NFILES];
};

FIXTURE(xfile) {
	struct xfile_ctx c;
};

FIXTURE_VARIANT(xfile) {
	__u64 point;	/* out-sync of the held job: 0 binary, else a timeline point */
};

FIXTURE_VARIANT_ADD(xfile, binary) {
	.point = 0,
};

FIXTURE_VARIANT_ADD(xfile, timeline) {
	.point = 3,
};

FIXTURE_SETUP(xfile)
{
	struct xfile_ctx *c = &self->c;

	struct drm_prime_handle prime = { .flags = DRM_CLOEXEC | DRM_RDWR };
	int i, ret;

	c->gate.timeline = -1;
	for (i = 0; i < NFILES; i++)
		c->fd[i] = -1;
	for (i = 0; i < NFILES; i++) {
		c->fd[i] = uptr_open_render();
		if (c->fd[i] < 0)
			SKIP(return, "no uptr render node");
		ASSERT_EQ(0, uptr_bo_create(c->fd[i], SIZE, &c->bo[i],
					    (void **)&c->map[i]));
		memset(c->map[i], 0xee, SIZE);
		ASSERT_EQ(0, uptr_syncobj_create(c->fd[i], &c->sync[i]));
	}
	if (engine_value("jobs_in_flight") < 0)
		SKIP(return, "no uptr debugfs: counters are needed");
	ret = uptr_gate_init(&c->gate);
	if (ret == -ENOENT)
		SKIP(return, "no sw_sync (CONFIG_SW_SYNC) in debugfs");
	ASSERT_EQ(0, ret);
	ASSERT_EQ(0, uptr_syncobj_create(c->fd[0], &c->held));
	ASSERT_EQ(0, uptr_gate_close(&c->gate, c->fd[0], c->held));
	ASSERT_EQ(0, uptr_syncobj_create(c->fd[0], &c->out0));

	ASSERT_EQ(0, uptr_bo_create(c->fd[0], SIZE, &c->shared0,
				    (void **)&c->shared));
	memset(c->shared, 0xcc, SIZE);
	prime.handle = c->shared0;
	ASSERT_EQ(0, uptr_ioctl(c->fd[0], DRM_IOCTL_PRIME_HANDLE_TO_FD,
				&prime));
	ASSERT_EQ(0, uptr_ioctl(c->fd[1], DRM_IOCTL_PRIME_FD_TO_HANDLE,
				&prime));
	close(prime.fd);
	c->shared1 = prime.handle;
}

FIXTURE_TEARDOWN(xfile)
{
	struct xfile_ctx *c = &self->c;

	int i;

	/* Let the held jobs go, so that nothing is left behind. */
	uptr_gate_fini(&c->gate);
	for (i = 0; i < NFILES; i++) {
		if (c->fd[i] < 0)
			continue;
		uptr_syncobj_wait(c->fd[i], c->sync[i], 0);
		munmap(c->map[i], SIZE);
		close(c->fd[i]);
	}
	if (c->shared)
		munmap(c->shared, SIZE);
}

/*
 * Submit on fd[0] a job held by the gate: one command, out-sync out0 at
 * @point.
 */
static int xfile_submit_held(struct xfile_ctx *c, __u32 op, __u32 src,
			     __u32 dst, __u32 pattern, __u64 point)
{
	struct uptr_batch j = {};

	uptr_batch_cmd(&j, op, src, 0, dst, 0, SIZE, pattern);
	uptr_batch_in(&j, c->held, 0);
	j.out = (struct drm_uptr_sync){ .handle = c->out0, .point = point };
	return uptr_batch_submit(c->fd[0], &j);
}

/*
 * An independent job on fd[2], run to completion: every job the scheduler
 * was free to hand to the engine before it has run by then. Returns its
 * fence status (1).
 */
static int xfile_flush(struct xfile_ctx *c)
{
	struct uptr_batch j = {};

	uptr_batch_cmd(&j, DRM_UPTR_OP_FILL, 0, 0, c->bo[2], 0, SIZE,
		       0x0f0f0f0f);
	return uptr_batch_run(c->fd[2], c->sync[2], &j);
}

/* The held job and the one on fd[1] are pending, neither handed over. */
static void xfile_check_held(struct __test_metadata *_metadata,
			     struct xfile_ctx *c)
{
	ASSERT_EQ(1, xfile_flush(c));
	EXPECT_EQ(0, uptr_syncobj_status(c->fd[0], c->out0));
	EXPECT_EQ(0, uptr_syncobj_status(c->fd[1], c->sync[1]))
		TH_LOG("the job on the second file ran before the one it depends on");
	EXPECT_EQ(0, engine_value("jobs_in_flight"));
}

TEST_F(xfile, implicit_reader_on_other_file_waits_for_held_writer)
{
	struct xfile_ctx *c = &self->c;

	struct uptr_batch j = {};

	/* fd[0] writes the shared buffer, held by the gate. */
	ASSERT_EQ(0, xfile_submit_held(c, DRM_UPTR_OP_FILL, 0, c->shared0,
				       0x11111111,
				       variant->point));
	/* fd[1] reads it into its own buffer, with no explicit sync. */
	uptr_batch_cmd(&j, DRM_UPTR_OP_COPY, c->shared1, 0, c->bo[1], 0,
		       SIZE, 0);
	j.out.handle = c->sync[1];
	ASSERT_EQ(0, uptr_batch_submit(c->fd[1], &j));

	xfile_check_held(_metadata, c);
	EXPECT_EQ(-1, uptr_check_bytes(c->map[1], SIZE, 0xee));

	ASSERT_EQ(0, uptr_gate_open(&c->gate));
	ASSERT_EQ(0, uptr_syncobj_wait(c->fd[1], c->sync[1], 0));
	EXPECT_EQ(1, uptr_syncobj_status(c->fd[1], c->sync[1]));
	EXPECT_EQ(1, uptr_syncobj_status(c->fd[0], c->out0));
	/* The reader saw what the writer wrote. */
	EXPECT_EQ(-1, uptr_check_words(c->map[1], SIZE, 0x11111111));
}

TEST_F(xfile, implicit_writer_on_other_file_waits_for_held_reader)
{
	struct xfile_ctx *c = &self->c;

	struct uptr_batch j = {};

	/* fd[0] reads the shared buffer into its own, held by the gate. */
	ASSERT_EQ(0, xfile_submit_held(c, DRM_UPTR_OP_COPY, c->shared0,
				       c->bo[0], 0,
				       variant->point));
	/* fd[1] overwrites it. */
	uptr_batch_cmd(&j, DRM_UPTR_OP_FILL, 0, 0, c->shared1, 0, SIZE,
		       0x22222222);
	j.out.handle = c->sync[1];
	ASSERT_EQ(0, uptr_batch_submit(c->fd[1], &j));

	xfile_check_held(_metadata, c);
	EXPECT_EQ(-1, uptr_check_bytes(c->shared, SIZE, 0xcc));

	ASSERT_EQ(0, uptr_gate_open(&c->gate));
	ASSERT_EQ(0, uptr_syncobj_wait(c->fd[1], c->sync[1], 0));
	EXPECT_EQ(1, uptr_syncobj_status(c->fd[1], c->sync[1]));
	EXPECT_EQ(1, uptr_syncobj_status(c->fd[0], c->out0));
	/* The reader read the old bytes, the writer's landed after. */
	EXPECT_EQ(-1, uptr_check_bytes(c->map[0], SIZE, 0xcc));
	EXPECT_EQ(-1, uptr_check_words(c->shared, SIZE, 0x22222222));
}

TEST_F(xfile, readers_on_two_files_do_not_wait_for_each_other)
{
	struct xfile_ctx *c = &self->c;

	struct uptr_batch j = {};

	ASSERT_EQ(0, xfile_submit_held(c, DRM_UPTR_OP_COPY, c->shared0,
				       c->bo[0], 0,
				       variant->point));
	/* A second reader of the shared buffer runs at once. */
	uptr_batch_cmd(&j, DRM_UPTR_OP_COPY, c->shared1, 0, c->bo[1], 0,
		       SIZE, 0);
	ASSERT_EQ(1, uptr_batch_run(c->fd[1], c->sync[1], &j))
		TH_LOG("a reader waited for another reader");
	EXPECT_EQ(-1, uptr_check_bytes(c->map[1], SIZE, 0xcc));
	EXPECT_EQ(0, uptr_syncobj_status(c->fd[0], c->out0));
}

/* Share syncobj @handle of fd[0] with fd[1]; returns fd[1]'s handle. */
static __u32 xfile_share_syncobj(struct xfile_ctx *c, __u32 handle)
{
	struct drm_syncobj_handle h = { .handle = handle };

	if (uptr_ioctl(c->fd[0], DRM_IOCTL_SYNCOBJ_HANDLE_TO_FD, &h))
		return 0;
	h.handle = 0;
	if (uptr_ioctl(c->fd[1], DRM_IOCTL_SYNCOBJ_FD_TO_HANDLE, &h))
		h.handle = 0;
	close(h.fd);
	return h.handle;
}

TEST_F(xfile, in_syncobj_from_other_file_waits_for_held_job)
{
	struct xfile_ctx *c = &self->c;

	struct uptr_batch j = {};
	__u32 out1;

	/* fd[0]'s held job writes only its own buffer. */
	ASSERT_EQ(0, xfile_submit_held(c, DRM_UPTR_OP_FILL, 0, c->bo[0],
				       0x33333333,
				       variant->point));
	out1 = xfile_share_syncobj(c, c->out0);
	ASSERT_NE(0U, out1);

	/* fd[1] shares no object with it: only the in-syncobj orders them. */
	uptr_batch_cmd(&j, DRM_UPTR_OP_FILL, 0, 0, c->bo[1], 0, SIZE,
		       0x44444444);
	uptr_batch_in(&j, out1, variant->point);
	j.out.handle = c->sync[1];
	ASSERT_EQ(0, uptr_batch_submit(c->fd[1], &j));

	ASSERT_EQ(1, xfile_flush(c));
	EXPECT_EQ(0, uptr_syncobj_status(c->fd[1], c->sync[1]))
		TH_LOG("the job ran before the syncobj it waits for signalled");
	EXPECT_EQ(0, engine_value("jobs_in_flight"));
	EXPECT_EQ(-1, uptr_check_bytes(c->map[1], SIZE, 0xee));
	EXPECT_EQ(-1, uptr_check_bytes(c->map[0], SIZE, 0xee));

	ASSERT_EQ(0, uptr_gate_open(&c->gate));
	ASSERT_EQ(0, uptr_syncobj_wait(c->fd[1], c->sync[1], 0));
	EXPECT_EQ(1, uptr_syncobj_status(c->fd[1], c->sync[1]));
	ASSERT_EQ(0, uptr_syncobj_wait(c->fd[0], c->out0, variant->point));
	EXPECT_EQ(-1, uptr_check_words(c->map[0], SIZE, 0x33333333));
	EXPECT_EQ(-1, uptr_check_words(c->map[1], SIZE, 0x44444444));
}

/* ------------------------------------------------------------------ */
/* mm operations wait for the device                                  */
/* ------------------------------------------------------------------ */

struct busy_ctx {
	int fd;
	struct uptr_gate gate;
	__u32 held;
	unsigned char *m;
	__u32 h;
	__u32 bo, sync;
	unsigned char *bo_map;
	long long started0, waits0;
};

FIXTURE(busy) {
	struct busy_ctx c;
};

FIXTURE_VARIANT(busy) {
	bool device_writes;
	int op;		/* BUSY_* */
};

enum {
	BUSY_MUNMAP, BUSY_MAP_FIXED, BUSY_MPROTECT, BUSY_DONTNEED, BUSY_FORK,
	BUSY_MIGRATE,
};

FIXTURE_VARIANT_ADD(busy, munmap_under_writer) {
	.device_writes = true, .op = BUSY_MUNMAP,
};

FIXTURE_VARIANT_ADD(busy, map_fixed_under_reader) {
	.device_writes = false, .op = BUSY_MAP_FIXED,
};

FIXTURE_VARIANT_ADD(busy, mprotect_read_only_under_writer) {
	.device_writes = true, .op = BUSY_MPROTECT,
};

FIXTURE_VARIANT_ADD(busy, madv_dontneed_under_reader) {
	.device_writes = false, .op = BUSY_DONTNEED,
};

FIXTURE_VARIANT_ADD(busy, fork_under_writer) {
	.device_writes = true, .op = BUSY_FORK,
};

FIXTURE_VARIANT_ADD(busy, move_pages_under_writer) {
	.device_writes = true, .op = BUSY_MIGRATE,
};

FIXTURE_VARIANT_ADD(busy, move_pages_under_reader) {
	.device_writes = false, .op = BUSY_MIGRATE,
};

/* MPOL_BIND to every node: pages may still move, NUMA balancing leaves them. */
static int busy_bind(unsigned char *m)
{
	unsigned long nodes = 1;

	if (!access("/sys/devices/system/node/node1", F_OK))
		nodes |= 2;
	return syscall(__NR_mbind, m, SIZE, MPOL_BIND, &nodes,
		       8 * sizeof(nodes), 0) ? -errno : 0;
}

/*
 * An object over SIZE bytes of anonymous memory, its pages faulted in by a
 * first job, a device buffer, and a closed gate in syncobj c->held.
 */
static void busy_ctx_setup(struct __test_metadata *_metadata,
			   struct busy_ctx *c)
{
	struct uptr_batch j = {};
	int ret;

	c->gate.timeline = -1;
	c->fd = uptr_open_render();
	if (c->fd < 0)
		SKIP(return, "no uptr render node");
	if (engine_value("invalidation_waits") < 0)
		SKIP(return, "no uptr debugfs: counters are needed");
	ret = uptr_gate_init(&c->gate);
	if (ret == -ENOENT)
		SKIP(return, "no sw_sync (CONFIG_SW_SYNC) in debugfs");
	ASSERT_EQ(0, ret);
	ASSERT_EQ(0, uptr_syncobj_create(c->fd, &c->held));
	ASSERT_EQ(0, uptr_gate_close(&c->gate, c->fd, c->held));
	c->m = uptr_map_anon(SIZE);
	ASSERT_NE(NULL, c->m);
	/*
	 * Small pages, out of NUMA balancing's reach (a bind policy without
	 * MPOL_F_MOF): either would let an mm call of part of the object, or
	 * the kernel itself, invalidate pages the held job uses.
	 */
	ASSERT_EQ(0, madvise(c->m, SIZE, MADV_NOHUGEPAGE));
	ASSERT_EQ(0, busy_bind(c->m));
	uptr_fill_pattern(c->m, SIZE, 3);
	ASSERT_EQ(0, uptr_create(c->fd, c->m, SIZE, 0, &c->h));
	ASSERT_EQ(0, uptr_bo_create(c->fd, SIZE, &c->bo,
				    (void **)&c->bo_map));
	ASSERT_EQ(0, uptr_syncobj_create(c->fd, &c->sync));
	uptr_batch_cmd(&j, DRM_UPTR_OP_COPY, c->h, 0, c->bo, 0, SIZE, 0);
	ASSERT_EQ(1, uptr_batch_run(c->fd, c->sync, &j));
	memset(c->bo_map, 0xee, SIZE);
}

static void busy_ctx_teardown(struct busy_ctx *c)
{
	uptr_gate_fini(&c->gate);
	if (c->fd < 0)
		return;
	uptr_syncobj_wait(c->fd, c->sync, 0);
	munmap(c->bo_map, SIZE);
	close(c->fd);
	if (c->m)
		munmap(c->m, SIZE);
}

FIXTURE_SETUP(busy)
{
	busy_ctx_setup(_metadata, &self->c);
}

FIXTURE_TEARDOWN(busy)
{
	busy_ctx_teardown(&self->c);
}

/* Move the @n pages at @m to the node they are not on; 0 or -errno. */
static int busy_move_pages(unsigned char *m, int n)
{
	int nodes[NPAGES], status[NPAGES], i;
	void *pages[NPAGES];

	for (i = 0; i < n; i++)
		pages[i] = m + i * PAGE;
	if (syscall(__NR_move_pages, 0, n, pages, NULL, status, 0))
		return -errno;
	for (i = 0; i < n; i++) {
		if (status[i] < 0)
			return status[i];
		nodes[i] = !status[i];
	}
	if (syscall(__NR_move_pages, 0, n, pages, nodes, status,
		    MPOL_MF_MOVE))
		return -errno;
	for (i = 0; i < n; i++)
		if (status[i] != nodes[i])
			return -EBUSY;
	return 0;
}

/* mm call @op on [@m, @m + @len) but fork; returns 0 or -errno. */
static int busy_mm_range(int op, unsigned char *m, size_t len)
{
	void *p;

	switch (op) {
	case BUSY_MUNMAP:
		return munmap(m, len) ? -errno : 0;
	case BUSY_MAP_FIXED:
		p = mmap(m, len, PROT_READ | PROT_WRITE,
			 MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		return p == m ? 0 : -errno;
	case BUSY_MPROTECT:
		return mprotect(m, len, PROT_READ) ? -errno : 0;
	case BUSY_DONTNEED:
		return madvise(m, len, MADV_DONTNEED) ? -errno : 0;
	case BUSY_MIGRATE:
		return busy_move_pages(m, len / PAGE);
	}
	return -EINVAL;
}

/* The mm call of the variant; returns 0 or -errno. A child exits at once. */
static int busy_mm_call(struct busy_ctx *c, int op, pid_t *child)
{
	switch (op) {
	case BUSY_MUNMAP:
	case BUSY_MAP_FIXED:
	case BUSY_MPROTECT:
	case BUSY_DONTNEED:
	case BUSY_MIGRATE:
		return busy_mm_range(op, c->m, SIZE);
	case BUSY_FORK:
		*child = fork();
		if (!*child) {
			/* The child's copy: the device's write, whole. */
			_exit(uptr_check_words(c->m, SIZE, 0x66666666) == -1 ?
			      0 : 1);
		}
		return *child < 0 ? -errno : 0;
	}
	return -EINVAL;
}

/*
 * The same calls over pages of the object that a held job does not use,
 * then over its page. The jobs of these tests only read the object (writes
 * would order them through its reservation), each into its own buffer.
 */
FIXTURE(apart) {
	struct busy_ctx c;
};

FIXTURE_VARIANT(apart) {
	int op;		/* BUSY_*, but fork */
};

FIXTURE_VARIANT_ADD(apart, munmap) {
	.op = BUSY_MUNMAP,
};

FIXTURE_VARIANT_ADD(apart, map_fixed) {
	.op = BUSY_MAP_FIXED,
};

FIXTURE_VARIANT_ADD(apart, mprotect_read_only) {
	.op = BUSY_MPROTECT,
};

FIXTURE_VARIANT_ADD(apart, madv_dontneed) {
	.op = BUSY_DONTNEED,
};

FIXTURE_VARIANT_ADD(apart, move_pages) {
	.op = BUSY_MIGRATE,
};

FIXTURE_SETUP(apart)
{
	busy_ctx_setup(_metadata, &self->c);
}

FIXTURE_TEARDOWN(apart)
{
	busy_ctx_teardown(&self->c);
}

TEST_F(apart, mm_call_waits_for_exactly_the_jobs_that_use_its_pages)
{
	struct busy_ctx *c = &self->c;
	long long waits0, dropped0;
	struct uptr_batch j = {};
	unsigned char *bo2;
	__u32 later, h2;

	/* A held job reads page 0... */
	uptr_batch_cmd(&j, DRM_UPTR_OP_COPY, c->h, 0, c->bo, 0, PAGE, 0);
	uptr_batch_in(&j, c->held, 0);
	j.out.handle = c->sync;
	ASSERT_EQ(0, uptr_batch_submit(c->fd, &j));
	/* ...a later one, queued behind it, page 1: recorded after it. */
	ASSERT_EQ(0, uptr_bo_create(c->fd, SIZE, &h2, (void **)&bo2));
	ASSERT_EQ(0, uptr_syncobj_create(c->fd, &later));
	j = (struct uptr_batch){};
	uptr_batch_cmd(&j, DRM_UPTR_OP_COPY, c->h, PAGE, h2, 0, PAGE, 0);
	j.out.handle = later;
	ASSERT_EQ(0, uptr_batch_submit(c->fd, &j));
	EXPECT_EQ(0, uptr_syncobj_status(c->fd, c->sync));
	waits0 = engine_value("invalidation_waits");
	dropped0 = UPTR_COUNTER("uptr_stats", "pages_invalidated");

	ASSERT_EQ(0, uptr_gate_open_on_wait(&c->gate));
	/* Pages 2 and 3: valid pages taken, no job waited for. */
	ASSERT_EQ(0, busy_mm_range(variant->op, c->m + SIZE / 2, SIZE / 2));
	EXPECT_LE(dropped0 + NPAGES / 2,
		  UPTR_COUNTER("uptr_stats", "pages_invalidated"));
	EXPECT_EQ(0, uptr_syncobj_status(c->fd, c->sync))
		TH_LOG("the call waited for a job that does not use its pages");
	EXPECT_EQ(waits0, engine_value("invalidation_waits"));
	/* Page 0: waits until the held job is done. */
	ASSERT_EQ(0, busy_mm_range(variant->op, c->m, PAGE));
	EXPECT_EQ(1, uptr_syncobj_status(c->fd, c->sync))
		TH_LOG("the call did not wait for the job that uses its page");
	EXPECT_EQ(waits0 + 1, engine_value("invalidation_waits"));
	EXPECT_EQ(1, uptr_gate_join(&c->gate))
		TH_LOG("no invalidation waited for the held job");

	/* Both jobs read the old pages, whole. */
	ASSERT_EQ(0, uptr_syncobj_wait(c->fd, later, 0));
	EXPECT_EQ(1, uptr_syncobj_status(c->fd, later));
	EXPECT_EQ(-1, uptr_check_pattern(c->bo_map, PAGE, 3));
	EXPECT_EQ(-1, uptr_check_pattern_at(bo2, PAGE, PAGE, 3));
	munmap(bo2, SIZE);
}

TEST_F(busy, mm_call_waits_for_the_job_that_uses_the_pages)
{
	struct busy_ctx *c = &self->c;

	long long started0, waits0;
	struct uptr_batch j = {};
	pid_t child = 0;
	int status;

	if (variant->device_writes)
		uptr_batch_cmd(&j, DRM_UPTR_OP_FILL, 0, 0, c->h, 0, SIZE,
			       0x66666666);
	else
		uptr_batch_cmd(&j, DRM_UPTR_OP_COPY, c->h, 0, c->bo, 0,
			       SIZE, 0);
	uptr_batch_in(&j, c->held, 0);
	j.out.handle = c->sync;
	started0 = engine_value("jobs_started");
	waits0 = engine_value("invalidation_waits");
	ASSERT_EQ(0, uptr_batch_submit(c->fd, &j));

	/* Before: the job is queued, its fence in the object, not started. */
	EXPECT_EQ(0, uptr_syncobj_status(c->fd, c->sync));
	EXPECT_EQ(started0, engine_value("jobs_started"));
	EXPECT_EQ(waits0, engine_value("invalidation_waits"));

	ASSERT_EQ(0, uptr_gate_open_on_wait(&c->gate));
	ASSERT_EQ(0, busy_mm_call(c, variant->op, &child));
	/* After: the call waited for the fence, and the job has run. */
	EXPECT_EQ(1, uptr_gate_join(&c->gate))
		TH_LOG("no invalidation waited for the job's fence");
	EXPECT_EQ(1, uptr_syncobj_status(c->fd, c->sync))
		TH_LOG("the mm call returned before the job using the pages finished");
	EXPECT_LT(waits0, engine_value("invalidation_waits"));
	EXPECT_EQ(started0 + 1, engine_value("jobs_started"));

	/* The job used the old pages, whole, before the call went on. */
	if (variant->device_writes && variant->op != BUSY_MUNMAP)
		EXPECT_EQ(-1, uptr_check_words(c->m, SIZE, 0x66666666));
	if (!variant->device_writes)
		EXPECT_EQ(-1, uptr_check_pattern(c->bo_map, SIZE, 3));
	if (variant->op == BUSY_MUNMAP)
		c->m = NULL;
	/* The next job uses the pages the CPU now has. */
	if (c->m) {
		if (variant->op == BUSY_MPROTECT)
			ASSERT_EQ(0, mprotect(c->m, SIZE, PROT_READ | PROT_WRITE));
		uptr_fill_pattern(c->m, SIZE, 9);
		j = (struct uptr_batch){};
		uptr_batch_cmd(&j, DRM_UPTR_OP_COPY, c->h, 0, c->bo, 0, SIZE, 0);
		ASSERT_EQ(1, uptr_batch_run(c->fd, c->sync, &j));
		EXPECT_EQ(-1, uptr_check_pattern(c->bo_map, SIZE, 9));
	}
	if (child > 0) {
		ASSERT_EQ(child, waitpid(child, &status, 0));
		EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status))
			TH_LOG("the child did not see the device's write whole");
	}
}

/* ------------------------------------------------------------------ */
/* The OOM reaper's path                                              */
/* ------------------------------------------------------------------ */

#ifndef __NR_pidfd_open
#define __NR_pidfd_open		434
#endif
#ifndef __NR_process_mrelease
#define __NR_process_mrelease	448
#endif

#define REAP_PAGES	8
#define REAP_SIZE	(REAP_PAGES * PAGE)

struct reap_ctx {
	int fd;
	struct uptr_gate gate;
	__u32 held;
	__u32 bo, sync;
	unsigned char *bo_map;
};

FIXTURE(reap) {
	struct reap_ctx c;
};

FIXTURE_SETUP(reap)
{
	struct reap_ctx *c = &self->c;
	int ret;

	c->gate.timeline = -1;
	c->fd = uptr_open_render();
	if (c->fd < 0)
		SKIP(return, "no uptr render node");
	if (engine_value("invalidations_waiting") < 0)
		SKIP(return, "no uptr debugfs: counters are needed");
	ret = uptr_gate_init(&c->gate);
	if (ret == -ENOENT)
		SKIP(return, "no sw_sync (CONFIG_SW_SYNC) in debugfs");
	ASSERT_EQ(0, ret);
	ASSERT_EQ(0, uptr_syncobj_create(c->fd, &c->held));
	ASSERT_EQ(0, uptr_gate_close(&c->gate, c->fd, c->held));
	ASSERT_EQ(0, uptr_bo_create(c->fd, REAP_SIZE, &c->bo,
				    (void **)&c->bo_map));
	memset(c->bo_map, 0xee, REAP_SIZE);
	ASSERT_EQ(0, uptr_syncobj_create(c->fd, &c->sync));
}

FIXTURE_TEARDOWN(reap)
{
	struct reap_ctx *c = &self->c;

	uptr_gate_fini(&c->gate);
	if (c->fd < 0)
		return;
	uptr_syncobj_wait(c->fd, c->sync, 0);
	munmap(c->bo_map, REAP_SIZE);
	close(c->fd);
}

/*
 * The child, on the parent's DRM file: an object over its own private
 * memory, a job held by the gate that reads all of it, then an munmap()
 * of its first half, which waits for that job. Never returns.
 */
static void reap_child(struct reap_ctx *c, int wfd)
{
	unsigned char *m = uptr_map_anon(REAP_SIZE);
	struct uptr_batch j = {};
	__u32 h;

	if (!m)
		_exit(2);
	uptr_fill_pattern(m, REAP_SIZE, 7);
	if (uptr_create(c->fd, m, REAP_SIZE, DRM_UPTR_CREATE_POPULATE, &h))
		_exit(3);
	uptr_batch_cmd(&j, DRM_UPTR_OP_COPY, h, 0, c->bo, 0, REAP_SIZE, 0);
	uptr_batch_in(&j, c->held, 0);
	j.out.handle = c->sync;
	if (uptr_batch_submit(c->fd, &j))
		_exit(4);
	if (write(wfd, "q", 1) != 1)
		_exit(5);
	munmap(m, REAP_SIZE / 2);
	_exit(6);
}

TEST_F(reap, process_mrelease_refused_while_job_busy_then_process_reaped)
{
	struct reap_ctx *c = &self->c;
	long long refusals0, waiting0;
	int p[2], pidfd, status, ret;
	char byte;
	pid_t pid;

	refusals0 = uptr_debugfs_value("uptr_stats", "nonblock_refusals");
	waiting0 = engine_value("invalidations_waiting");
	ASSERT_LE(0, refusals0);
	ASSERT_EQ(0, waiting0);
	ASSERT_EQ(0, pipe(p));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		close(p[0]);
		reap_child(c, p[1]);
	}
	close(p[1]);
	pidfd = syscall(__NR_pidfd_open, pid, 0);
	ASSERT_LE(0, pidfd);
	ASSERT_EQ(1, read(p[0], &byte, 1));
	close(p[0]);

	/* The child sits in munmap(), waiting for the held job... */
	ASSERT_EQ(0, engine_wait_above("invalidations_waiting", 0));
	/* ...when it is killed and its memory reaped without blocking. */
	ASSERT_EQ(0, kill(pid, SIGKILL));
	ret = syscall(__NR_process_mrelease, pidfd, 0);
	EXPECT_EQ(-1, ret);
	EXPECT_EQ(EAGAIN, errno);
	/* The device was busy on the other half: the reaper was refused. */
	EXPECT_LT(refusals0, uptr_debugfs_value("uptr_stats",
						"nonblock_refusals"));
	EXPECT_EQ(0, uptr_syncobj_status(c->fd, c->sync));

	/* The job runs on the pages nobody freed under it, all of them. */
	ASSERT_EQ(0, uptr_gate_open(&c->gate));
	ASSERT_EQ(0, uptr_syncobj_wait(c->fd, c->sync, 0));
	EXPECT_EQ(1, uptr_syncobj_status(c->fd, c->sync));
	EXPECT_EQ(-1, uptr_check_pattern(c->bo_map, REAP_SIZE, 7));

	/* Then the process is gone. */
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	close(pidfd);
}

TEST_HARNESS_MAIN
