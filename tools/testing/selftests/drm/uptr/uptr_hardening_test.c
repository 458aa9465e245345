// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The uptr authors
 *
 * What a hostile or unlucky caller must not be able to do: hand the device
 * memory the kernel cannot map (memfd_secret), ask for jobs without bound,
 * keep the engine, a CPU or an invalidation busy past the job timeout, or
 * make a memory cgroup at its limit OOM-kill instead of failing cleanly.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../kselftest_harness.h"
#include "uptr_util.h"

#define PAGE		UPTR_PAGE
#define GIB		(1024ULL * 1024 * 1024)
#define LONG_JOB	(64ULL << 20)
/* Slice delay that makes LONG_JOB (256 slices) run for about a minute. */
#define SLICE_DELAY_MS	200
#define CGROUP_ROOT	"/sys/fs/cgroup"
/* memory.max of the memcg test: a few dozen chunks of tracking. */
#define MEMCG_MAX	"256K"

#ifndef __NR_memfd_secret
#define __NR_memfd_secret	447
#endif

FIXTURE(hard) {
	int fd;
	__u32 bo, sync;
	unsigned char *bomap;
	__u64 max_bytes, max_pages, timeout_ms;
};

/* The module's job timeout, in ms; 0 if it cannot be read. */
static __u64 uptr_job_timeout_ms(void)
{
	long long v;

	if (uptr_read_number("/sys/module/uptr/parameters/job_timeout_ms", &v) ||
	    v < 0)
		return 0;
	return v;
}

FIXTURE_SETUP(hard)
{
	void *map;

	self->fd = uptr_open_render();
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, uptr_bo_create(self->fd, 16 * PAGE, &self->bo, &map));
	self->bomap = map;
	ASSERT_EQ(0, uptr_syncobj_create(self->fd, &self->sync));
	ASSERT_EQ(0, uptr_get_param(self->fd, DRM_UPTR_PARAM_MAX_JOB_BYTES,
				    &self->max_bytes));
	ASSERT_EQ(0, uptr_get_param(self->fd, DRM_UPTR_PARAM_MAX_JOB_PAGES,
				    &self->max_pages));
	self->timeout_ms = uptr_job_timeout_ms();
	ASSERT_LT(0ULL, self->timeout_ms);
}

FIXTURE_TEARDOWN(hard)
{
	uptr_debugfs_write("uptr_slice_delay_ms", 0);
	uptr_debugfs_write("uptr_delay_ms", 0);
	if (self->fd >= 0)
		close(self->fd);
}

static int uptr_submit_cmds(int fd, struct drm_uptr_cmd *cmds, __u32 n,
			    __u32 sync)
{
	struct drm_uptr_submit s = {
		.cmds = (__u64)(uintptr_t)cmds,
		.cmd_count = n,
		.cmd_stride = sizeof(*cmds),
		.out_sync.handle = sync,
	};

	return uptr_ioctl_once(fd, DRM_IOCTL_UPTR_SUBMIT, &s);
}

/* A counter of uptr_engine; a missing one fails the test. */
#define uptr_engine_stat(key)	UPTR_COUNTER("uptr_engine", key)

TEST_F(hard, job_limits_reported_and_version_1_2)
{
	struct drm_version v = {};

	ASSERT_EQ(0, uptr_ioctl(self->fd, DRM_IOCTL_VERSION, &v));
	EXPECT_EQ(1, v.version_major);
	EXPECT_EQ(2, v.version_minor);
	EXPECT_EQ(GIB, self->max_bytes);
	EXPECT_EQ(2 * GIB / PAGE, self->max_pages);
}

/*
 * memfd_secret() memory is not in the kernel's direct map: the engine
 * could not map it. PROBE, POPULATE and every device use fail with
 * -EFAULT, for read-only and writable objects alike, and nothing runs.
 */
TEST_F(hard, secretmem_refused_at_probe_populate_and_use)
{
	const __u32 kinds[] = { DRM_UPTR_CREATE_READ_ONLY, 0 };
	long long submitted = uptr_engine_stat("jobs_submitted");
	unsigned int k;

	ASSERT_LE(0, submitted);
	for (k = 0; k < 2; k++) {
		struct drm_uptr_cmd cmd = { .length = PAGE };
		int sfd = syscall(__NR_memfd_secret, 0);
		unsigned char *p;
		__u32 h;

		ASSERT_LE(0, sfd) TH_LOG("memfd_secret: %s", strerror(errno));
		ASSERT_EQ(0, ftruncate(sfd, PAGE));
		p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, sfd, 0);
		ASSERT_NE(MAP_FAILED, p);
		p[0] = 0x5a;

		EXPECT_EQ(-EFAULT, uptr_create(self->fd, p, PAGE,
					       kinds[k] | DRM_UPTR_CREATE_PROBE,
					       &h));
		EXPECT_EQ(-EFAULT, uptr_create(self->fd, p, PAGE,
					       kinds[k] |
					       DRM_UPTR_CREATE_POPULATE, &h));
		ASSERT_EQ(0, uptr_create(self->fd, p, PAGE, kinds[k], &h));
		cmd.op = DRM_UPTR_OP_COPY;
		cmd.src_handle = h;
		cmd.dst_handle = self->bo;
		EXPECT_EQ(-EFAULT, uptr_submit_cmds(self->fd, &cmd, 1, 0));
		if (!kinds[k]) {
			cmd = (struct drm_uptr_cmd){
				.op = DRM_UPTR_OP_FILL, .dst_handle = h,
				.length = PAGE, .pattern = 0x11111111,
			};
			EXPECT_EQ(-EFAULT, uptr_submit_cmds(self->fd, &cmd, 1, 0));
		}
		EXPECT_EQ(0x5a, p[0]);
		EXPECT_EQ(0, uptr_gem_close(self->fd, h));
		munmap(p, PAGE);
		close(sfd);
	}
	EXPECT_EQ(submitted, uptr_engine_stat("jobs_submitted"));
}

/*
 * The input that once reached kvmalloc() with 2 GiB: 64 CHECKSUMs of a
 * 16 GiB object over unmapped (but access_ok()) memory. Now -E2BIG before
 * anything is allocated; a job of exactly the byte limit gets past the
 * check (and fails on the unmapped memory), one of 4 bytes more does not.
 */
TEST_F(hard, huge_checksums_over_unmapped_memory_e2big)
{
	struct drm_uptr_cmd cmds[64];
	__u64 max_size;
	void *res;
	__u32 h;
	int i;

	ASSERT_EQ(0, uptr_get_param(self->fd, DRM_UPTR_PARAM_MAX_OBJECT_SIZE,
				    &max_size));
	res = mmap(NULL, max_size, PROT_NONE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	ASSERT_NE(MAP_FAILED, res);
	ASSERT_EQ(0, uptr_create(self->fd, res, max_size, 0, &h));

	for (i = 0; i < 64; i++)
		cmds[i] = (struct drm_uptr_cmd){
			.op = DRM_UPTR_OP_CHECKSUM, .src_handle = h,
			.dst_handle = self->bo, .dst_offset = 8 * i,
			.length = max_size,
		};
	EXPECT_EQ(-E2BIG, uptr_submit_cmds(self->fd, cmds, 64, self->sync));
	EXPECT_EQ(-E2BIG, uptr_submit_cmds(self->fd, cmds, 63, self->sync));

	cmds[0].length = self->max_bytes;
	EXPECT_EQ(-EFAULT, uptr_submit_cmds(self->fd, cmds, 1, self->sync));
	cmds[0].length = self->max_bytes - PAGE;
	cmds[1].length = PAGE + 4;
	EXPECT_EQ(-E2BIG, uptr_submit_cmds(self->fd, cmds, 2, self->sync));
	/* Nothing was queued. */
	EXPECT_EQ(-EINVAL, uptr_syncobj_wait(self->fd, self->sync, 0));
	EXPECT_EQ(0, uptr_gem_close(self->fd, h));
	munmap(res, max_size);
}

/*
 * A COPY of the byte limit between two userptr objects touches one more
 * page on each side when it is not page aligned: that is over the page
 * limit (-E2BIG), while the aligned copy is not (it fails on the unmapped
 * memory instead).
 */
TEST_F(hard, userptr_page_limit_e2big)
{
	__u64 size = self->max_bytes + PAGE;
	struct drm_uptr_cmd cmd;
	void *a, *b;
	__u32 ha, hb;

	ASSERT_LT(self->max_pages, 2 * (self->max_bytes / PAGE + 1));
	a = mmap(NULL, size, PROT_NONE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	b = mmap(NULL, size, PROT_NONE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	ASSERT_NE(MAP_FAILED, a);
	ASSERT_NE(MAP_FAILED, b);
	ASSERT_EQ(0, uptr_create(self->fd, a, size, 0, &ha));
	ASSERT_EQ(0, uptr_create(self->fd, b, size, 0, &hb));

	cmd = (struct drm_uptr_cmd){
		.op = DRM_UPTR_OP_COPY, .src_handle = ha, .dst_handle = hb,
		.src_offset = 4, .dst_offset = 4, .length = self->max_bytes,
	};
	EXPECT_EQ(-E2BIG, uptr_submit_cmds(self->fd, &cmd, 1, self->sync));
	cmd.src_offset = 0;
	cmd.dst_offset = 0;
	EXPECT_EQ(-EFAULT, uptr_submit_cmds(self->fd, &cmd, 1, self->sync));
	EXPECT_EQ(-EINVAL, uptr_syncobj_wait(self->fd, self->sync, 0));
	munmap(a, size);
	munmap(b, size);
}

/*
 * Submit a FILL of the LONG_JOB bytes at @buf (a new, populated object,
 * returned in *@h) that runs for about a minute: uptr_slice_delay_ms is
 * set, and the caller resets it. Return: 0 or a negative errno.
 */
static int hard_submit_long_fill(int fd, void *buf, __u32 pattern,
				 __u32 sync, __u32 *h)
{
	struct drm_uptr_cmd cmd = {
		.op = DRM_UPTR_OP_FILL, .length = LONG_JOB, .pattern = pattern,
	};
	int ret;

	ret = uptr_create(fd, buf, LONG_JOB, DRM_UPTR_CREATE_POPULATE, h);
	if (!ret)
		ret = uptr_debugfs_write("uptr_slice_delay_ms", SLICE_DELAY_MS);
	if (ret)
		return ret;
	cmd.dst_handle = *h;
	return uptr_submit_cmds(fd, &cmd, 1, sync);
}

/*
 * A FILL that would run for a minute (uptr_slice_delay_ms) is stopped
 * between two slices once the timeout fires: its fence carries -ETIMEDOUT,
 * its first slice was written and its last one was not.
 */
TEST_F(hard, overrunning_job_stopped_between_slices_with_etimedout)
{
	long long timedout = uptr_engine_stat("jobs_timedout");
	unsigned char *buf = uptr_map_anon(LONG_JOB);
	long long t0, t;
	__u32 h;

	ASSERT_NE(NULL, buf);
	memset(buf, 0, LONG_JOB);
	t0 = uptr_now_ms();
	ASSERT_EQ(0, hard_submit_long_fill(self->fd, buf, 0x77777777,
					   self->sync, &h));
	ASSERT_EQ(0, uptr_syncobj_wait(self->fd, self->sync, 0));
	t = uptr_now_ms() - t0;
	ASSERT_EQ(0, uptr_debugfs_write("uptr_slice_delay_ms", 0));

	EXPECT_EQ(-ETIMEDOUT, uptr_syncobj_status(self->fd, self->sync));
	EXPECT_EQ(timedout + 1, uptr_engine_stat("jobs_timedout"));
	EXPECT_EQ(0x77, buf[0]);
	EXPECT_EQ(0, buf[LONG_JOB - 1]);
	TH_LOG("stopped after %lld ms (timeout %llu ms)", t, self->timeout_ms);
	EXPECT_EQ(0, uptr_gem_close(self->fd, h));
	munmap(buf, LONG_JOB);
}

/*
 * An munmap() of the range of an overrunning job waits for it, but only
 * until the timeout stops it: far less than the job would run.
 */
TEST_F(hard, munmap_under_overrunning_job_returns_after_one_timeout)
{
	long long timedout = uptr_engine_stat("jobs_timedout");
	long long full_ms = (LONG_JOB >> 18) * SLICE_DELAY_MS;
	unsigned char *buf = uptr_map_anon(LONG_JOB);
	long long t0, t;
	__u32 h;

	ASSERT_NE(NULL, buf);
	memset(buf, 1, LONG_JOB);
	ASSERT_EQ(0, hard_submit_long_fill(self->fd, buf, 0x12345678,
					   self->sync, &h));
	usleep(300 * 1000);
	t0 = uptr_now_ms();
	ASSERT_EQ(0, munmap(buf, LONG_JOB));
	t = uptr_now_ms() - t0;
	ASSERT_EQ(0, uptr_syncobj_wait(self->fd, self->sync, 0));
	ASSERT_EQ(0, uptr_debugfs_write("uptr_slice_delay_ms", 0));

	EXPECT_EQ(-ETIMEDOUT, uptr_syncobj_status(self->fd, self->sync));
	EXPECT_EQ(timedout + 1, uptr_engine_stat("jobs_timedout"));
	TH_LOG("munmap took %lld ms; the job alone would run %lld ms", t,
	       full_ms);
	EXPECT_GT(full_ms / 2, t);
	EXPECT_EQ(0, uptr_gem_close(self->fd, h));
}

/* Interval of the steady submitter: far below the job timeout. */
#define STEADY_MS	250
/* Its buffers, one per job for the first STEADY_BOS jobs. */
#define STEADY_BOS	64

/*
 * Fork a child that submits a one-page FILL on a DRM file of its own every
 * STEADY_MS until it gets SIGTERM, counting them in *@count (shared
 * memory). Every such job that the scheduler starts re-arms its timeout.
 * Return: the child's pid, or -1.
 */
static pid_t hard_steady_submitter(unsigned long *count)
{
	struct drm_uptr_cmd cmd = {
		.op = DRM_UPTR_OP_FILL, .length = PAGE, .pattern = 0x5a5a5a5a,
	};
	pid_t pid = fork();
	__u32 bo[STEADY_BOS];
	unsigned int i;
	void *map;
	int fd;

	if (pid)
		return pid;
	/* Never outlive a test that ends early on an assertion. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	fd = uptr_open_render();
	if (fd < 0)
		_exit(1);
	/* A buffer per job: no job waits for another, each one starts. */
	for (i = 0; i < STEADY_BOS; i++)
		if (uptr_bo_create(fd, PAGE, &bo[i], &map))
			_exit(1);
	for (i = 0;; i++) {
		cmd.dst_handle = bo[i % STEADY_BOS];
		if (uptr_submit_cmds(fd, &cmd, 1, 0))
			_exit(2);
		__atomic_fetch_add(count, 1, __ATOMIC_RELAXED);
		usleep(STEADY_MS * 1000);
	}
}

/*
 * The timeout of a job is its own: other jobs starting meanwhile do not
 * postpone it. The scheduler's timer is re-armed whenever a job starts,
 * so a job bounded by it alone would, under a steady stream of small
 * submissions from another file, run until the scheduler's credits ran out
 * (about 63 * STEADY_MS) or to its end. Proven to race: submissions kept
 * coming while munmap() waited. Then munmap() still returns after about
 * one timeout, and the job ended with -ETIMEDOUT.
 */
TEST_F(hard, munmap_under_overrunning_job_with_steady_submissions)
{
	long long timedout = uptr_engine_stat("jobs_timedout");
	unsigned long *count = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
				    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	unsigned long before, during;
	unsigned char *buf;
	long long t0, t;
	int status;
	pid_t pid;
	__u32 h;

	ASSERT_NE(MAP_FAILED, count);
	/* Fork first: a fork after the job started would wait for it (COW). */
	pid = hard_steady_submitter(count);
	ASSERT_LT(0, pid);
	buf = uptr_map_anon(LONG_JOB);
	ASSERT_NE(NULL, buf);
	memset(buf, 1, LONG_JOB);
	ASSERT_EQ(0, hard_submit_long_fill(self->fd, buf, 0x12345678,
					   self->sync, &h));
	usleep(300 * 1000);
	before = __atomic_load_n(count, __ATOMIC_RELAXED);
	t0 = uptr_now_ms();
	ASSERT_EQ(0, munmap(buf, LONG_JOB));
	t = uptr_now_ms() - t0;
	during = __atomic_load_n(count, __ATOMIC_RELAXED) - before;
	kill(pid, SIGTERM);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_EQ(0, uptr_syncobj_wait(self->fd, self->sync, 0));
	ASSERT_EQ(0, uptr_debugfs_write("uptr_slice_delay_ms", 0));

	TH_LOG("munmap took %lld ms with %lu submissions meanwhile (timeout %llu ms)",
	       t, during, self->timeout_ms);
	ASSERT_TRUE(WIFSIGNALED(status));
	ASSERT_LE(3UL, during);
	EXPECT_EQ(-ETIMEDOUT, uptr_syncobj_status(self->fd, self->sync));
	EXPECT_EQ(timedout + 1, uptr_engine_stat("jobs_timedout"));
	EXPECT_GT(4 * (long long)self->timeout_ms, t);
	EXPECT_EQ(0, uptr_gem_close(self->fd, h));
	munmap(count, PAGE);
}

/* The engine's slice (UPTR_JOB_SLICE), the unit between two stop checks. */
#define ENGINE_SLICE	(256UL * 1024)

/*
 * A job is never failed once its work is done: a FILL of exactly one
 * slice, with a slice delay longer than the timeout, completes without
 * error (the engine looks at its deadline only before it begins another
 * slice, and there is none) and writes every byte.
 */
TEST_F(hard, job_done_in_one_slice_never_times_out)
{
	long long timedout = uptr_engine_stat("jobs_timedout");
	unsigned char *buf = uptr_map_anon(ENGINE_SLICE);
	struct drm_uptr_cmd cmd = {
		.op = DRM_UPTR_OP_FILL, .length = ENGINE_SLICE,
		.pattern = 0x3c3c3c3c,
	};
	size_t i;

	ASSERT_NE(NULL, buf);
	memset(buf, 0, ENGINE_SLICE);
	ASSERT_EQ(0, uptr_create(self->fd, buf, ENGINE_SLICE,
				 DRM_UPTR_CREATE_POPULATE, &cmd.dst_handle));
	ASSERT_EQ(0, uptr_debugfs_write("uptr_slice_delay_ms",
					self->timeout_ms + 500));
	ASSERT_EQ(0, uptr_submit_cmds(self->fd, &cmd, 1, self->sync));
	ASSERT_EQ(0, uptr_syncobj_wait(self->fd, self->sync, 0));
	ASSERT_EQ(0, uptr_debugfs_write("uptr_slice_delay_ms", 0));

	EXPECT_EQ(1, uptr_syncobj_status(self->fd, self->sync));
	EXPECT_EQ(timedout, uptr_engine_stat("jobs_timedout"));
	for (i = 0; i < ENGINE_SLICE && buf[i] == 0x3c; i++)
		;
	EXPECT_EQ(ENGINE_SLICE, i);
	EXPECT_EQ(0, uptr_gem_close(self->fd, cmd.dst_handle));
	munmap(buf, ENGINE_SLICE);
}

/*
 * Pin a child to each CPU, each counting loop rounds into its slot of
 * @count (shared memory) until @count[ncpus] is set. Return: 0 or -1.
 */
static int uptr_spinners_start(int ncpus, unsigned long *count)
{
	int cpu;

	for (cpu = 0; cpu < ncpus; cpu++) {
		pid_t pid = fork();
		cpu_set_t set;

		if (pid < 0)
			return -1;
		if (pid)
			continue;
		CPU_ZERO(&set);
		CPU_SET(cpu, &set);
		if (sched_setaffinity(0, sizeof(set), &set))
			_exit(1);
		while (!__atomic_load_n(&count[ncpus], __ATOMIC_RELAXED))
			__atomic_fetch_add(&count[cpu], 1, __ATOMIC_RELAXED);
		_exit(0);
	}
	return 0;
}

/* Stop the spinners; Return: 0 if each of them exited cleanly. */
static int uptr_spinners_stop(int ncpus, unsigned long *count)
{
	int cpu, status, bad = 0;

	__atomic_store_n(&count[ncpus], 1, __ATOMIC_RELAXED);
	for (cpu = 0; cpu < ncpus; cpu++)
		if (wait(&status) < 0 || !WIFEXITED(status) ||
		    WEXITSTATUS(status))
			bad = -1;
	return bad;
}

/*
 * A legal, long job (a CHECKSUM of the byte limit over zero-page memory)
 * leaves every CPU to other processes: the engine offers the CPU between
 * slices, so on a PREEMPT_VOLUNTARY kernel a loop pinned to the CPU the
 * job runs on still makes progress while the job executes. Timing-free:
 * the check is that every loop advanced in a window in which the job was
 * executing all along (started before, its fence unsignalled after).
 * Without cond_resched() between slices one loop would stand still. If
 * the job overran the timeout, its fence says so.
 */
TEST_F_TIMEOUT(hard, long_legal_job_leaves_every_cpu_responsive, 120)
{
	int cpu, ncpus = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned long *count, before[64];
	struct drm_uptr_cmd cmd;
	long long started;
	void *ro;
	__u32 h;
	int st;

	ASSERT_LE(1, ncpus);
	ASSERT_GT(64, ncpus);
	count = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
		     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, count);
	ro = mmap(NULL, self->max_bytes, PROT_READ,
		  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	ASSERT_NE(MAP_FAILED, ro);
	/* Faulted in before the loops compete with it for the CPUs. */
	ASSERT_EQ(0, uptr_create(self->fd, ro, self->max_bytes,
				 DRM_UPTR_CREATE_READ_ONLY |
				 DRM_UPTR_CREATE_POPULATE, &h));
	cmd = (struct drm_uptr_cmd){
		.op = DRM_UPTR_OP_CHECKSUM, .src_handle = h,
		.dst_handle = self->bo, .length = self->max_bytes,
	};
	ASSERT_EQ(0, uptr_spinners_start(ncpus, count));
	started = uptr_engine_stat("jobs_started");
	ASSERT_LE(0, started);
	ASSERT_EQ(0, uptr_submit_cmds(self->fd, &cmd, 1, self->sync));
	usleep(200 * 1000);
	EXPECT_EQ(started + 1, uptr_engine_stat("jobs_started"));
	for (cpu = 0; cpu < ncpus; cpu++)
		before[cpu] = __atomic_load_n(&count[cpu], __ATOMIC_RELAXED);
	usleep(500 * 1000);
	for (cpu = 0; cpu < ncpus; cpu++)
		EXPECT_LT(before[cpu],
			  __atomic_load_n(&count[cpu], __ATOMIC_RELAXED))
			TH_LOG("the loop on CPU %d stood still beside the job",
			       cpu);
	/* The job executed through the whole window. */
	EXPECT_EQ(0, uptr_syncobj_status(self->fd, self->sync));
	EXPECT_EQ(0, uptr_spinners_stop(ncpus, count));

	ASSERT_EQ(0, uptr_syncobj_wait(self->fd, self->sync, 0));
	st = uptr_syncobj_status(self->fd, self->sync);
	TH_LOG("job status %d", st);
	EXPECT_TRUE(st == 1 || st == -ETIMEDOUT);
	EXPECT_EQ(0, uptr_gem_close(self->fd, h));
	munmap(ro, self->max_bytes);
	munmap(count, PAGE);
}

/*
 * SIGKILL while a long job of the process runs: its exit unmaps the range,
 * which waits for the job, which the timeout stops: the process is gone
 * after about one timeout, not after the job's minute.
 */
TEST_F(hard, sigkill_with_long_job_in_flight_dies_within_a_timeout)
{
	long long timedout = uptr_engine_stat("jobs_timedout");
	long long t0, t;
	int pfd[2], status;
	pid_t pid;
	char c;

	ASSERT_EQ(0, pipe(pfd));
	ASSERT_EQ(0, uptr_debugfs_write("uptr_slice_delay_ms", SLICE_DELAY_MS));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		unsigned char *buf = uptr_map_anon(LONG_JOB);
		struct drm_uptr_cmd cmd = {
			.op = DRM_UPTR_OP_FILL, .length = LONG_JOB,
			.pattern = 0x99999999,
		};
		int fd = uptr_open_render();

		if (!buf || fd < 0)
			_exit(1);
		memset(buf, 0, LONG_JOB);
		if (uptr_create(fd, buf, LONG_JOB, DRM_UPTR_CREATE_POPULATE,
				&cmd.dst_handle) ||
		    uptr_submit_cmds(fd, &cmd, 1, 0))
			_exit(2);
		if (write(pfd[1], "s", 1) != 1)
			_exit(3);
		pause();
		_exit(4);
	}
	close(pfd[1]);
	ASSERT_EQ(1, read(pfd[0], &c, 1));
	usleep(200 * 1000);
	t0 = uptr_now_ms();
	ASSERT_EQ(0, kill(pid, SIGKILL));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	t = uptr_now_ms() - t0;
	uptr_debugfs_write("uptr_slice_delay_ms", 0);
	close(pfd[0]);

	EXPECT_TRUE(WIFSIGNALED(status));
	TH_LOG("died %lld ms after SIGKILL (timeout %llu ms)", t,
	       self->timeout_ms);
	EXPECT_GT((long long)self->timeout_ms * 4 + 2000, t);
	EXPECT_EQ(timedout + 1, uptr_engine_stat("jobs_timedout"));
}

static long long uptr_read_key(const char *path, const char *key)
{
	char k[64];
	long long v, ret = -1;
	FILE *f = fopen(path, "r");

	if (!f)
		return -1;
	while (fscanf(f, "%63s %lld", k, &v) == 2)
		if (!key || !strcmp(k, key))
			ret = v;
	fclose(f);
	return ret;
}

/*
 * The child of the memory cgroup test: everything it needs is mapped,
 * faulted and opened before it joins the cgroup, whose limit then holds
 * only what uptr allocates. Exit status: the step that went wrong.
 */
static int uptr_memcg_child(const char *procs)
{
	const __u64 size = 2 * GIB;
	struct drm_uptr_cmd cmd = { .op = DRM_UPTR_OP_CHECKSUM, .length = GIB };
	char pid[32];
	void *ro;
	__u32 h;
	int fd;

	fd = uptr_open_render();
	if (fd < 0)
		return 10;
	/* Zero pages: their page tables are charged before the move. */
	ro = mmap(NULL, size, PROT_READ,
		  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_POPULATE,
		  -1, 0);
	if (ro == MAP_FAILED)
		return 11;
	if (uptr_bo_create(fd, PAGE, &cmd.dst_handle, NULL))
		return 12;
	snprintf(pid, sizeof(pid), "%d", getpid());
	if (uptr_write_str(procs, pid, 0))
		return 13;

	/* About 4 MiB of tracking for 2 GiB: far over the limit. */
	if (uptr_create(fd, ro, size, DRM_UPTR_CREATE_READ_ONLY |
			DRM_UPTR_CREATE_POPULATE, &h) != -ENOMEM)
		return 14;
	if (uptr_create(fd, ro, size, DRM_UPTR_CREATE_READ_ONLY, &h))
		return 15;
	/* A job over 1 GiB of it needs 2 MiB of pages and 2 MiB of tracking. */
	cmd.src_handle = h;
	if (uptr_submit_cmds(fd, &cmd, 1, 0) != -ENOMEM)
		return 16;
	if (uptr_gem_close(fd, h))
		return 17;
	close(fd);
	return 0;
}

/*
 * Inside a memory cgroup with a small memory.max, POPULATE and SUBMIT of a
 * large object fail with -ENOMEM: no OOM kill, and nothing stays charged or
 * queued once the process is gone.
 */
TEST_F_TIMEOUT(hard, memcg_limit_gives_enomem_and_leaves_nothing, 120)
{
	long long submitted = uptr_engine_stat("jobs_submitted");
	char dir[128], procs[160], path[160];
	int i, status;
	pid_t pid;

	ASSERT_EQ(0, uptr_write_str(CGROUP_ROOT "/cgroup.subtree_control",
				    "+memory", 0))
		TH_LOG("cgroup2 with the memory controller at " CGROUP_ROOT);
	snprintf(dir, sizeof(dir), CGROUP_ROOT "/uptr-hard-%d", getpid());
	ASSERT_EQ(0, mkdir(dir, 0755));
	snprintf(path, sizeof(path), "%s/memory.max", dir);
	ASSERT_EQ(0, uptr_write_str(path, MEMCG_MAX, 0));
	snprintf(procs, sizeof(procs), "%s/cgroup.procs", dir);

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0)
		_exit(uptr_memcg_child(procs));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));

	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	snprintf(path, sizeof(path), "%s/memory.events", dir);
	EXPECT_EQ(0, uptr_read_key(path, "oom_kill"));
	/*
	 * Nothing of the process stays charged: lowering memory.max drains
	 * the per-CPU charge caches; objects freed after an RCU grace
	 * period may take a moment.
	 */
	snprintf(path, sizeof(path), "%s/memory.max", dir);
	EXPECT_EQ(0, uptr_write_str(path, "0", 0));
	snprintf(path, sizeof(path), "%s/memory.current", dir);
	for (i = 0; i < 100 && uptr_number(path); i++)
		usleep(50 * 1000);
	EXPECT_EQ(0, uptr_number(path));
	EXPECT_EQ(submitted, uptr_engine_stat("jobs_submitted"));
	EXPECT_EQ(0, rmdir(dir));
}

/*
 * Closing a DRM file (not killed) waits for its jobs to reach the engine,
 * and they run: by the time close() returns, the job's writes are there.
 */
TEST_F(hard, close_lets_queued_jobs_run)
{
	long long done = uptr_engine_stat("jobs_done");
	long long aborted = uptr_engine_stat("jobs_aborted");
	unsigned char *buf = uptr_map_anon(16 * PAGE);
	struct drm_uptr_cmd cmd;
	int i, fd = uptr_open_render();

	ASSERT_NE(NULL, buf);
	ASSERT_LE(0, fd);
	memset(buf, 0, 16 * PAGE);
	cmd = (struct drm_uptr_cmd){
		.op = DRM_UPTR_OP_FILL, .length = 16 * PAGE,
		.pattern = 0xabcdabcd,
	};
	ASSERT_EQ(0, uptr_create(fd, buf, 16 * PAGE, 0, &cmd.dst_handle));
	ASSERT_EQ(0, uptr_debugfs_write("uptr_delay_ms", 300));
	ASSERT_EQ(0, uptr_submit_cmds(fd, &cmd, 1, 0));
	ASSERT_EQ(0, close(fd));
	ASSERT_EQ(0, uptr_debugfs_write("uptr_delay_ms", 0));
	/* The job outlives the file: wait for it, by its bytes. */
	for (i = 0; i < 200; i++) {
		if (uptr_check_words(buf, 16 * PAGE, 0xabcdabcd) == -1)
			break;
		usleep(50 * 1000);
	}
	EXPECT_EQ(-1, uptr_check_words(buf, 16 * PAGE, 0xabcdabcd));
	EXPECT_EQ(done + 1, uptr_engine_stat("jobs_done"));
	EXPECT_EQ(aborted, uptr_engine_stat("jobs_aborted"));
	munmap(buf, 16 * PAGE);
}

/*
 * Overlap is checked by user address only: a COPY between two mappings of
 * one memfd whose pages overlap is accepted and completes (its result is
 * undefined, as the UAPI says); nothing else is affected.
 */
TEST_F(hard, copy_between_two_mappings_of_one_memfd_accepted)
{
	int mfd = memfd_create("uptr-alias", 0);
	unsigned char *m1, *m2;
	struct drm_uptr_cmd cmd;
	__u32 h1, h2;

	ASSERT_LE(0, mfd);
	ASSERT_EQ(0, ftruncate(mfd, 2 * PAGE));
	m1 = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	m2 = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	ASSERT_NE(MAP_FAILED, m1);
	ASSERT_NE(MAP_FAILED, m2);
	memset(m1, 0x3c, 2 * PAGE);
	ASSERT_EQ(0, uptr_create(self->fd, m1, 2 * PAGE, 0, &h1));
	ASSERT_EQ(0, uptr_create(self->fd, m2, 2 * PAGE, 0, &h2));
	cmd = (struct drm_uptr_cmd){
		.op = DRM_UPTR_OP_COPY, .src_handle = h1, .dst_handle = h2,
		.dst_offset = 100, .length = PAGE,
	};
	ASSERT_EQ(0, uptr_submit_cmds(self->fd, &cmd, 1, self->sync));
	ASSERT_EQ(0, uptr_syncobj_wait(self->fd, self->sync, 0));
	EXPECT_EQ(1, uptr_syncobj_status(self->fd, self->sync));
	/* The same bytes everywhere: the copy moved 0x3c over 0x3c. */
	EXPECT_EQ(-1, uptr_check_bytes(m2, 2 * PAGE, 0x3c));
	munmap(m1, 2 * PAGE);
	munmap(m2, 2 * PAGE);
	close(mfd);
}

TEST_HARNESS_MAIN
