// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The uptr authors
 *
 * Races and lifecycle of userptr objects, through the real render node.
 *
 * race: threads submit COPY+CHECKSUM and FILL jobs on one userptr object
 * while other threads remap, mprotect, migrate (move_pages between nodes 0
 * and 1) and madvise (DONTNEED, COLD) its memory, for UPTR_STRESS_SECONDS.
 * At the end of every round the mutators stop and every job is waited for;
 * then what the CPU wrote must be what the device copies out, and what the
 * device fills in must be what the CPU reads. SUBMIT may fail only with the
 * errnos the races explain (-EFAULT, -EPERM, -EAGAIN), and the driver's
 * counters must show that invalidations and refaults really happened.
 *
 * life, inflight: process exit and SIGKILL with jobs in flight, SIGKILL
 * during the fault-in of a 256 MiB object, close of the DRM file with busy
 * objects, the DRM fd passed to another process with SCM_RIGHTS, 10000
 * one-page objects over one mapping, and two objects over the same pages.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <linux/mempolicy.h>

#include "../../kselftest_harness.h"
#include "uptr_util.h"

#define PAGE		UPTR_PAGE
#define THP_SIZE	(2UL << 20)
/* Longest stress phase one test runs, whatever UPTR_STRESS_SECONDS says. */
#define MAX_SECONDS	240
#define ROUND_MS	500
#define NSUBMITTERS	2
/* How long lifecycle tests wait for the driver to settle. */
#define SETTLE_MS	20000

/* xorshift32: cheap, per thread, reproducible from the printed seed. */
static unsigned int rnd(unsigned int *state)
{
	unsigned int x = *state;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	*state = x;
	return x;
}

/* SUBMIT once: -EAGAIN and -EINTR are returned, not restarted. */
static int submit_once(int fd, struct uptr_batch *j)
{
	struct drm_uptr_submit s = {
		.cmds = (__u64)(uintptr_t)j->cmds,
		.cmd_count = j->n,
		.cmd_stride = sizeof(struct drm_uptr_cmd),
		.out_sync = j->out,
	};

	return uptr_ioctl_once(fd, DRM_IOCTL_UPTR_SUBMIT, &s);
}

struct engine_counts {
	long long submitted;
	long long done;
	long long timedout;
	long long aborted;
	long long submit_retries;
};

static void engine_read(struct __test_metadata *_metadata,
			struct engine_counts *e)
{
	e->submitted = UPTR_COUNTER("uptr_engine", "jobs_submitted");
	e->done = UPTR_COUNTER("uptr_engine", "jobs_done");
	e->timedout = UPTR_COUNTER("uptr_engine", "jobs_timedout");
	e->aborted = UPTR_COUNTER("uptr_engine", "jobs_aborted");
	e->submit_retries = UPTR_COUNTER("uptr_engine", "submit_retries");
}

/* Wait until jobs_done stops moving: earlier tests' jobs are finished. */
static void engine_quiesce(struct __test_metadata *_metadata)
{
	long long last = -2, cur, deadline = uptr_now_ms() + SETTLE_MS;

	while (uptr_now_ms() < deadline) {
		cur = UPTR_COUNTER("uptr_engine", "jobs_done");
		if (cur == last)
			return;
		last = cur;
		usleep(200 * 1000);
	}
}

/*
 * Wait until exactly @n jobs more than @e0 were submitted and done.
 * Returns 0, or -ETIMEDOUT with the last counters in *@e.
 */
static int engine_settle(struct __test_metadata *_metadata,
			 const struct engine_counts *e0, long long n,
			 struct engine_counts *e)
{
	long long deadline = uptr_now_ms() + SETTLE_MS;

	for (;;) {
		engine_read(_metadata, e);
		if (e->submitted - e0->submitted == n &&
		    e->done - e0->done == n)
			return 0;
		if (uptr_now_ms() > deadline)
			return -ETIMEDOUT;
		usleep(20 * 1000);
	}
}

/*
 * waitpid() with a deadline. Returns 0 with *@status set, or -ETIMEDOUT
 * after killing and reaping the child.
 */
static int wait_child(pid_t pid, int timeout_ms, int *status)
{
	long long deadline = uptr_now_ms() + timeout_ms;

	for (;;) {
		pid_t ret = waitpid(pid, status, WNOHANG);

		if (ret == pid)
			return 0;
		if (ret < 0)
			return -errno;
		if (uptr_now_ms() > deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, status, 0);
			return -ETIMEDOUT;
		}
		usleep(1000);
	}
}

static int node_count(void)
{
	return access("/sys/devices/system/node/node1", F_OK) ? 1 : 2;
}

/* Sum of the 32-bit words of @len bytes, as DRM_UPTR_OP_CHECKSUM does. */
static __u64 cpu_checksum(const void *buf, size_t len)
{
	const __u32 *w = buf;
	__u64 sum = 0;
	size_t i;

	for (i = 0; i < len / 4; i++)
		sum += w[i];
	return sum;
}

/* ------------------------------------------------------------------ */
/* race: jobs against munmap/mmap, mprotect, move_pages and madvise    */
/* ------------------------------------------------------------------ */

struct race;

struct submitter {
	struct race *r;
	pthread_t tid;
	unsigned int seed;
	__u32 bo, sum_bo, sync;
	bool fenced;
	long long ok, efault, eperm, eagain, other, bad_fence;
	int other_err, fence_status;
};

enum mutator_kind { MUT_REMAP, MUT_MPROTECT, MUT_MIGRATE, MUT_MADVISE, MUT_NR };

struct mutator {
	struct race *r;
	pthread_t tid;
	enum mutator_kind kind;
	unsigned int seed;
	/* ops: calls done; extra: holes, pages moved or MADV_COLD calls */
	long long ops, extra, enomem;
	const char *failed;
	int err;
};

struct race {
	int fd;
	unsigned char *map;
	unsigned long npages;
	size_t size;
	bool thp;
	__u32 handle;
	int stop;
	int nodes;
	struct submitter sub[NSUBMITTERS];
	struct mutator mut[MUT_NR];
	long long ok, efault, eperm, eagain;
	long long ops[MUT_NR], extra[MUT_NR], enomem[MUT_NR];
	/* What the end-of-round check uses. */
	__u32 check_bo, check_sum, check_sync;
	unsigned char *check_map, *sum_map;
};

static bool race_stopped(struct race *r)
{
	return __atomic_load_n(&r->stop, __ATOMIC_ACQUIRE);
}

/* A random run of pages of the object: at most a quarter of it. */
static void race_pick(struct race *r, unsigned int *seed, unsigned long max,
		      unsigned long *first, unsigned long *n)
{
	if (!max || max > r->npages / 4)
		max = r->npages / 4;
	*first = rnd(seed) % r->npages;
	*n = 1 + rnd(seed) % max;
	if (*first + *n > r->npages)
		*n = r->npages - *first;
}

static void mutator_fail(struct mutator *m, const char *what, int err)
{
	m->failed = what;
	m->err = err;
}

static void *remap_thread(void *arg)
{
	struct mutator *m = arg;
	struct race *r = m->r;

	while (!race_stopped(r)) {
		unsigned long first, n;
		unsigned char *addr;
		size_t len;
		void *p;

		race_pick(r, &m->seed, 0, &first, &n);
		addr = r->map + first * PAGE;
		len = n * PAGE;
		if (rnd(&m->seed) & 1) {
			/* Atomic replacement: the old pages go at once. */
			p = mmap(addr, len, PROT_READ | PROT_WRITE,
				 MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		} else {
			/* A hole for a while: jobs on it get -EFAULT. */
			if (munmap(addr, len)) {
				mutator_fail(m, "munmap", errno);
				break;
			}
			m->extra++;
			usleep(rnd(&m->seed) % 1000);
			/* Nobody else maps memory: the hole is still ours. */
			p = mmap(addr, len, PROT_READ | PROT_WRITE,
				 MAP_FIXED_NOREPLACE | MAP_PRIVATE | MAP_ANONYMOUS,
				 -1, 0);
		}
		if (p != addr) {
			mutator_fail(m, "mmap", p == MAP_FAILED ? errno : EEXIST);
			break;
		}
		if (r->thp && madvise(r->map, r->size, MADV_HUGEPAGE)) {
			mutator_fail(m, "madvise(HUGEPAGE)", errno);
			break;
		}
		m->ops++;
		usleep(rnd(&m->seed) % 2000);
	}
	return NULL;
}

static void *mprotect_thread(void *arg)
{
	struct mutator *m = arg;
	struct race *r = m->r;

	while (!race_stopped(r)) {
		unsigned long first, n;
		unsigned char *addr;
		size_t len;

		race_pick(r, &m->seed, 0, &first, &n);
		addr = r->map + first * PAGE;
		len = n * PAGE;
		if (mprotect(addr, len, PROT_READ)) {
			/* ENOMEM: a hole of the remap thread is in the range. */
			if (errno != ENOMEM) {
				mutator_fail(m, "mprotect(PROT_READ)", errno);
				break;
			}
			m->enomem++;
		} else {
			m->ops++;
		}
		usleep(rnd(&m->seed) % 1000);
		if (mprotect(addr, len, PROT_READ | PROT_WRITE)) {
			if (errno != ENOMEM) {
				mutator_fail(m, "mprotect(RW)", errno);
				break;
			}
			/* What stays read-only is restored at the round's end. */
			m->enomem++;
		}
		usleep(rnd(&m->seed) % 2000);
	}
	return NULL;
}

static void *migrate_thread(void *arg)
{
	struct mutator *m = arg;
	struct race *r = m->r;
	void *pages[64];
	int nodes[64], status[64];

	while (!race_stopped(r)) {
		int target = m->ops & 1;
		unsigned long first, n, i;
		long ret;

		race_pick(r, &m->seed, 64, &first, &n);
		for (i = 0; i < n; i++) {
			pages[i] = r->map + (first + i) * PAGE;
			nodes[i] = target;
			status[i] = -1;
		}
		ret = syscall(SYS_move_pages, 0, n, pages, nodes, status,
			      MPOL_MF_MOVE);
		if (ret < 0 && errno != ENOENT) {
			mutator_fail(m, "move_pages", errno);
			break;
		}
		for (i = 0; ret >= 0 && i < n; i++)
			if (status[i] == target)
				m->extra++;
		m->ops++;
		usleep(rnd(&m->seed) % 2000);
	}
	return NULL;
}

static void *madvise_thread(void *arg)
{
	struct mutator *m = arg;
	struct race *r = m->r;

	while (!race_stopped(r)) {
		bool cold = rnd(&m->seed) & 1;
		unsigned long first, n;

		race_pick(r, &m->seed, 0, &first, &n);
		if (madvise(r->map + first * PAGE, n * PAGE,
			    cold ? MADV_COLD : MADV_DONTNEED)) {
			if (errno != ENOMEM) {
				mutator_fail(m, cold ? "madvise(COLD)" :
						       "madvise(DONTNEED)", errno);
				break;
			}
			m->enomem++;
		} else if (cold) {
			m->extra++;
		} else {
			m->ops++;
		}
		usleep(rnd(&m->seed) % 2000);
	}
	return NULL;
}

static void *submit_thread(void *arg)
{
	struct submitter *s = arg;
	struct race *r = s->r;
	unsigned int n = 0;

	while (!race_stopped(r)) {
		struct uptr_batch j = {};
		unsigned long first, count;
		__u64 off, len;
		int ret;

		race_pick(r, &s->seed, 0, &first, &count);
		off = first * PAGE;
		len = count * PAGE;
		if (rnd(&s->seed) % 3) {
			uptr_batch_cmd(&j, DRM_UPTR_OP_COPY, r->handle, off,
				       s->bo, off, len, 0);
			uptr_batch_cmd(&j, DRM_UPTR_OP_CHECKSUM, r->handle, off,
				       s->sum_bo, 0, len, 0);
		} else {
			uptr_batch_cmd(&j, DRM_UPTR_OP_FILL, 0, 0, r->handle,
				       off, len, rnd(&s->seed));
		}
		j.out.handle = s->sync;
		ret = submit_once(r->fd, &j);
		switch (ret) {
		case 0:
			s->ok++;
			s->fenced = true;
			break;
		case -EFAULT:
			s->efault++;
			break;
		case -EPERM:
			s->eperm++;
			break;
		case -EAGAIN:
			s->eagain++;
			break;
		default:
			if (!s->other++)
				s->other_err = ret;
			break;
		}
		/* Now and then wait for the job, and check its fence. */
		if (!ret && ++n % 4 == 0) {
			ret = uptr_syncobj_wait(r->fd, s->sync, 0);
			if (!ret)
				ret = uptr_syncobj_status(r->fd, s->sync);
			if (ret != 1 && !s->bad_fence++)
				s->fence_status = ret;
		}
	}
	return NULL;
}

FIXTURE(race) {
	int fd;
	char dir[256];
	unsigned char *raw;
	size_t raw_size;
	struct race r;
};

FIXTURE_VARIANT(race) {
	unsigned long npages;
	bool thp;
};

/* 64 small pages: many objects' worth of holes and protections. */
FIXTURE_VARIANT_ADD(race, small_pages) {
	.npages = 64,
	.thp = false,
};

/* One PMD: THPs are split, migrated whole and faulted back huge. */
FIXTURE_VARIANT_ADD(race, thp) {
	.npages = 0,	/* THP_SIZE / PAGE, known at run time */
	.thp = true,
};

FIXTURE_SETUP(race)
{
	struct race *r = &self->r;
	unsigned long addr;
	int i;

	self->fd = uptr_open_render();
	if (self->fd < 0)
		SKIP(return, "no uptr render node");
	if (uptr_debugfs_dir(self->dir, sizeof(self->dir)))
		SKIP(return, "no uptr debugfs directory: counters are needed");
	if (variant->thp &&
	    access("/sys/kernel/mm/transparent_hugepage/enabled", F_OK))
		SKIP(return, "no transparent huge pages in this kernel");
	ASSERT_EQ(0, uptr_debugfs_write("uptr_delay_ms", 0));
	engine_quiesce(_metadata);

	r->fd = self->fd;
	r->npages = variant->thp ? THP_SIZE / PAGE : variant->npages;
	r->size = r->npages * PAGE;
	r->thp = variant->thp;
	r->nodes = node_count();

	/* Map an extra PMD so that the object can be PMD aligned. */
	self->raw_size = r->size + THP_SIZE;
	self->raw = uptr_map_anon(self->raw_size);
	ASSERT_NE(NULL, self->raw);
	addr = ((unsigned long)self->raw + THP_SIZE - 1) & ~(THP_SIZE - 1);
	r->map = (unsigned char *)addr;
	if (r->thp)
		ASSERT_EQ(0, madvise(r->map, r->size, MADV_HUGEPAGE));
	uptr_fill_pattern(r->map, r->size, 0x21);
	/* The thp variant races against a real THP, not small pages. */
	if (r->thp)
		ASSERT_EQ(1, uptr_thp_backed(r->map, r->size))
			TH_LOG("no THP behind the MADV_HUGEPAGE range (AnonHugePages %ld kB)",
			       uptr_anon_huge_kb(r->map));
	ASSERT_EQ(0, uptr_create(self->fd, r->map, r->size, 0, &r->handle));

	for (i = 0; i < NSUBMITTERS; i++) {
		struct submitter *s = &r->sub[i];

		s->r = r;
		s->seed = 0x5eed0000 + i;
		ASSERT_EQ(0, uptr_bo_create(self->fd, r->size, &s->bo, NULL));
		ASSERT_EQ(0, uptr_bo_create(self->fd, PAGE, &s->sum_bo, NULL));
		ASSERT_EQ(0, uptr_syncobj_create(self->fd, &s->sync));
	}
	ASSERT_EQ(0, uptr_bo_create(self->fd, r->size, &r->check_bo,
				    (void **)&r->check_map));
	ASSERT_EQ(0, uptr_bo_create(self->fd, PAGE, &r->check_sum,
				    (void **)&r->sum_map));
	ASSERT_EQ(0, uptr_syncobj_create(self->fd, &r->check_sync));
}

FIXTURE_TEARDOWN(race)
{
	if (self->fd < 0)
		return;
	close(self->fd);
	if (self->raw)
		munmap(self->raw, self->raw_size);
}

static void *(*const mutator_fn[MUT_NR])(void *) = {
	[MUT_REMAP] = remap_thread,
	[MUT_MPROTECT] = mprotect_thread,
	[MUT_MIGRATE] = migrate_thread,
	[MUT_MADVISE] = madvise_thread,
};

static const char *const mutator_name[MUT_NR] = {
	[MUT_REMAP] = "remap",
	[MUT_MPROTECT] = "mprotect",
	[MUT_MIGRATE] = "migrate",
	[MUT_MADVISE] = "madvise",
};

/* One round of races: start everything, let it run, stop and join. */
static int race_round(struct race *r, int round, long long ms)
{
	int i, ret, started_sub = 0, started_mut = 0;

	__atomic_store_n(&r->stop, 0, __ATOMIC_RELEASE);
	for (i = 0; i < NSUBMITTERS; i++) {
		ret = pthread_create(&r->sub[i].tid, NULL, submit_thread,
				     &r->sub[i]);
		if (ret)
			goto stop;
		started_sub++;
	}
	for (i = 0; i < MUT_NR; i++) {
		struct mutator *m = &r->mut[i];

		if (i == MUT_MIGRATE && r->nodes < 2)
			continue;
		m->r = r;
		m->kind = i;
		m->seed = 0xc0de0000 + round * MUT_NR + i;
		ret = pthread_create(&m->tid, NULL, mutator_fn[i], m);
		if (ret)
			goto stop;
		started_mut |= 1 << i;
	}
	usleep(ms * 1000);
	ret = 0;
stop:
	__atomic_store_n(&r->stop, 1, __ATOMIC_RELEASE);
	for (i = 0; i < started_sub; i++)
		pthread_join(r->sub[i].tid, NULL);
	for (i = 0; i < MUT_NR; i++)
		if (started_mut & (1 << i))
			pthread_join(r->mut[i].tid, NULL);
	return ret;
}

/*
 * End of a round: every job is done, the memory is mapped read-write
 * again, and the CPU and the device agree in both directions.
 */
static void race_check(struct __test_metadata *_metadata, struct race *r,
		       int round)
{
	unsigned int seed = 0x40 + round;
	__u32 pat = 0x9e3779b9u * (round + 1);
	struct uptr_batch j = {};
	ssize_t bad;
	__u64 sum;
	int i;

	for (i = 0; i < NSUBMITTERS; i++) {
		struct submitter *s = &r->sub[i];

		EXPECT_EQ(0, s->other) {
			TH_LOG("round %d: submitter %d: %lld SUBMIT errors, first %d",
			       round, i, s->other, s->other_err);
		}
		EXPECT_EQ(0, s->bad_fence) {
			TH_LOG("round %d: submitter %d: %lld bad fences, first %d",
			       round, i, s->bad_fence, s->fence_status);
		}
		if (s->fenced) {
			ASSERT_EQ(0, uptr_syncobj_wait(r->fd, s->sync, 0));
			ASSERT_EQ(1, uptr_syncobj_status(r->fd, s->sync));
		}
		r->ok += s->ok;
		r->efault += s->efault;
		r->eperm += s->eperm;
		r->eagain += s->eagain;
		s->ok = 0;
		s->efault = 0;
		s->eperm = 0;
		s->eagain = 0;
	}
	for (i = 0; i < MUT_NR; i++) {
		struct mutator *m = &r->mut[i];

		ASSERT_EQ(NULL, m->failed) {
			TH_LOG("round %d: %s thread: %s failed with errno %d",
			       round, mutator_name[i], m->failed, m->err);
		}
		r->ops[i] += m->ops;
		r->extra[i] += m->extra;
		r->enomem[i] += m->enomem;
		m->ops = 0;
		m->extra = 0;
		m->enomem = 0;
	}
	ASSERT_EQ(0, mprotect(r->map, r->size, PROT_READ | PROT_WRITE));

	/* CPU -> device: the device copies out what the CPU just wrote. */
	uptr_fill_pattern(r->map, r->size, seed);
	memset(r->check_map, 0, r->size);
	uptr_batch_cmd(&j, DRM_UPTR_OP_COPY, r->handle, 0, r->check_bo, 0,
		       r->size, 0);
	ASSERT_EQ(1, uptr_batch_run(r->fd, r->check_sync, &j));
	bad = uptr_check_pattern(r->check_map, r->size, seed);
	ASSERT_EQ(-1, bad) {
		TH_LOG("round %d: device read 0x%02x at byte %zd (page %zd), CPU wrote 0x%02x",
		       round, r->check_map[bad], bad, bad / (ssize_t)PAGE,
		       uptr_pattern_byte(bad, seed));
	}

	/* Device -> CPU: the CPU reads what the device filled in. */
	j = (struct uptr_batch){};
	uptr_batch_cmd(&j, DRM_UPTR_OP_FILL, 0, 0, r->handle, 0, r->size, pat);
	ASSERT_EQ(1, uptr_batch_run(r->fd, r->check_sync, &j));
	bad = uptr_check_words(r->map, r->size, pat);
	ASSERT_EQ(-1, bad) {
		TH_LOG("round %d: CPU read 0x%08x at word %zd (page %zd), device wrote 0x%08x",
		       round, ((__u32 *)r->map)[bad], bad,
		       bad * 4 / (ssize_t)PAGE, pat);
	}

	/* And the device reads back its own writes. */
	j = (struct uptr_batch){};
	uptr_batch_cmd(&j, DRM_UPTR_OP_CHECKSUM, r->handle, 0, r->check_sum,
		       0, r->size, 0);
	ASSERT_EQ(1, uptr_batch_run(r->fd, r->check_sync, &j));
	sum = (__u64)pat * (r->size / 4);
	ASSERT_EQ(0, memcmp(&sum, r->sum_map, sizeof(sum)));
}

TEST_F_TIMEOUT(race, cpu_and_device_agree_after_each_round_of_mm_races,
	       2 * MAX_SECONDS)
{
	struct race *r = &self->r;
	const char *name = r->thp ? "thp" : "small";
	struct engine_counts e0, e1;
	struct uptr_stats s0, s1;
	long long start, end, left;
	int round = 0;

	ASSERT_EQ(0, uptr_debugfs_stats(self->dir, &s0));
	engine_read(_metadata, &e0);
	start = uptr_now_ms();
	end = start + uptr_stress_seconds(MAX_SECONDS) * 1000LL;
	ksft_print_msg("race[%s]: %lu pages at %p, %d s, %d node(s)\n",
		       name, r->npages, r->map, uptr_stress_seconds(MAX_SECONDS), r->nodes);
	ksft_print_msg("race: seeds 0x%x + thread, 0xc0de0000 + round * %d + kind\n",
		       r->sub[0].seed, MUT_NR);

	while ((left = end - uptr_now_ms()) > 0) {
		ASSERT_EQ(0, race_round(r, round,
					left < ROUND_MS ? left : ROUND_MS));
		race_check(_metadata, r, round);
		if (_metadata->exit_code)
			return;
		round++;
	}

	ASSERT_EQ(0, uptr_debugfs_stats(self->dir, &s1));
	engine_read(_metadata, &e1);
	ksft_print_msg("race[%s]: %d rounds in %lld ms\n", name, round,
		       uptr_now_ms() - start);
	ksft_print_msg("race: SUBMIT %lld ok, %lld EFAULT, %lld EPERM, %lld EAGAIN\n",
		       r->ok, r->efault, r->eperm, r->eagain);
	ksft_print_msg("race: %lld remaps (%lld through a hole)\n",
		       r->ops[MUT_REMAP], r->extra[MUT_REMAP]);
	ksft_print_msg("race: %lld mprotects (%lld ENOMEM on a hole)\n",
		       r->ops[MUT_MPROTECT], r->enomem[MUT_MPROTECT]);
	ksft_print_msg("race: %lld move_pages (%lld pages moved)\n",
		       r->ops[MUT_MIGRATE], r->extra[MUT_MIGRATE]);
	ksft_print_msg("race: %lld DONTNEED, %lld COLD (%lld ENOMEM on a hole)\n",
		       r->ops[MUT_MADVISE], r->extra[MUT_MADVISE],
		       r->enomem[MUT_MADVISE]);
	ksft_print_msg("race: +%lld invalidations, +%lld pages invalidated\n",
		       s1.invalidations - s0.invalidations,
		       s1.pages_invalidated - s0.pages_invalidated);
	ksft_print_msg("race: +%lld pages faulted, +%lld fault-in retries\n",
		       s1.pages_faulted - s0.pages_faulted,
		       s1.retries - s0.retries);
	ksft_print_msg("race: +%lld -EBUSY retries, +%lld submit retries\n",
		       s1.busy_retries - s0.busy_retries,
		       e1.submit_retries - e0.submit_retries);
	ksft_print_msg("race: events +%lld unmap, +%lld clear, +%lld prot_vma, +%lld migrate\n",
		       s1.event_unmap - s0.event_unmap,
		       s1.event_clear - s0.event_clear,
		       s1.event_protection_vma - s0.event_protection_vma,
		       s1.event_migrate - s0.event_migrate);

	/* The races ran: jobs went through while the mutators worked... */
	EXPECT_GT(round, 0);
	EXPECT_GT(r->ok, 0);
	EXPECT_GT(r->ops[MUT_REMAP], 0);
	EXPECT_GT(r->ops[MUT_MPROTECT], 0);
	EXPECT_GT(r->ops[MUT_MADVISE], 0);
	if (r->nodes > 1)
		EXPECT_GT(r->extra[MUT_MIGRATE], 0);
	/* ...and the driver saw them: pages it used were taken away. */
	EXPECT_GT(s1.invalidations, s0.invalidations);
	EXPECT_GT(s1.pages_invalidated, s0.pages_invalidated);
	EXPECT_GT(s1.event_unmap, s0.event_unmap);
	EXPECT_GT(s1.event_protection_vma, s0.event_protection_vma);
	EXPECT_GT(s1.event_clear, s0.event_clear);
	/* More faults than one pass over the object: pages were refaulted. */
	EXPECT_GT(s1.pages_faulted - s0.pages_faulted, (long long)r->npages);
	/*
	 * Both checks that an invalidation raced a fault-in were taken:
	 * the mirror's commit and submit's locked check each retried.
	 */
	EXPECT_GT(s1.retries, s0.retries);
	EXPECT_GT(e1.submit_retries, e0.submit_retries);
	EXPECT_EQ(e0.timedout, e1.timedout);
}

/* ------------------------------------------------------------------ */
/* Lifecycle                                                           */
/* ------------------------------------------------------------------ */

#define LIFE_PAGES	16
#define LIFE_SIZE	(LIFE_PAGES * PAGE)

/* What the lifecycle fixtures share: an object of the test's own. */
struct life_ctx {
	int fd;
	char dir[256];
	unsigned char *map;
	__u32 h, bo, sync;
	unsigned char *bo_map;
	int objs0;
};

static void ctx_setup(struct __test_metadata *_metadata, struct life_ctx *c)
{
	c->fd = uptr_open_render();
	if (c->fd < 0)
		SKIP(return, "no uptr render node");
	if (uptr_debugfs_dir(c->dir, sizeof(c->dir)))
		SKIP(return, "no uptr debugfs directory: counters are needed");
	ASSERT_EQ(0, uptr_debugfs_write("uptr_delay_ms", 0));
	engine_quiesce(_metadata);
	c->map = uptr_map_anon(LIFE_SIZE);
	ASSERT_NE(NULL, c->map);
	ASSERT_EQ(0, uptr_create(c->fd, c->map, LIFE_SIZE, 0, &c->h));
	ASSERT_EQ(0, uptr_bo_create(c->fd, LIFE_SIZE, &c->bo,
				    (void **)&c->bo_map));
	ASSERT_EQ(0, uptr_syncobj_create(c->fd, &c->sync));
	c->objs0 = uptr_debugfs_objects(c->dir, 0, NULL);
	ASSERT_GT(c->objs0, 0);
}

static void ctx_teardown(struct life_ctx *c)
{
	uptr_debugfs_write("uptr_delay_ms", 0);
	if (c->fd < 0)
		return;
	if (c->bo_map)
		munmap(c->bo_map, LIFE_SIZE);
	close(c->fd);
	if (c->map)
		munmap(c->map, LIFE_SIZE);
}

/* The engine still moves the CPU's data to the device. */
static void ctx_engine_works(struct __test_metadata *_metadata,
			     struct life_ctx *c, unsigned int seed)
{
	struct uptr_batch j = {};

	uptr_fill_pattern(c->map, LIFE_SIZE, seed);
	uptr_batch_cmd(&j, DRM_UPTR_OP_COPY, c->h, 0, c->bo, 0, LIFE_SIZE, 0);
	ASSERT_EQ(1, uptr_batch_run(c->fd, c->sync, &j));
	ASSERT_EQ(-1, uptr_check_pattern(c->bo_map, LIFE_SIZE, seed));
}

/*
 * A child with its own DRM file and object queues @njobs delayed jobs on
 * its own memory, reports the number queued on @wfd, then exits at once
 * or waits to be killed.
 */
static void busy_child(int wfd, int njobs, bool wait_for_kill)
{
	unsigned char *map;
	__u32 h, bo;
	int fd, i, queued = 0;

	fd = uptr_open_render();
	map = uptr_map_anon(LIFE_SIZE);
	if (fd < 0 || !map || uptr_create(fd, map, LIFE_SIZE, 0, &h) ||
	    uptr_bo_create(fd, LIFE_SIZE, &bo, NULL))
		_exit(2);
	for (i = 0; i < njobs; i++) {
		struct uptr_batch j = {};

		if (i & 1)
			uptr_batch_cmd(&j, DRM_UPTR_OP_COPY, h, 0, bo, 0,
				       LIFE_SIZE, 0);
		else
			uptr_batch_cmd(&j, DRM_UPTR_OP_FILL, 0, 0, h, 0,
				       LIFE_SIZE, 0x1000 + i);
		if (!uptr_batch_submit(fd, &j))
			queued++;
	}
	if (write(wfd, &queued, sizeof(queued)) != sizeof(queued))
		_exit(3);
	if (wait_for_kill)
		for (;;)
			pause();
	_exit(0);
}

FIXTURE(inflight) {
	struct life_ctx c;
};

FIXTURE_VARIANT(inflight) {
	bool sigkill;
};

/* The child returns from main with its jobs still queued. */
FIXTURE_VARIANT_ADD(inflight, exit) {
	.sigkill = false,
};

/* The child is killed with its jobs still queued. */
FIXTURE_VARIANT_ADD(inflight, sigkill) {
	.sigkill = true,
};

FIXTURE_SETUP(inflight)
{
	ctx_setup(_metadata, &self->c);
}

FIXTURE_TEARDOWN(inflight)
{
	ctx_teardown(&self->c);
}

TEST_F(inflight, dying_process_jobs_run_to_completion_and_nothing_leaks)
{
	struct life_ctx *c = &self->c;
	struct engine_counts e0, mid, e1;
	struct uptr_stats s0, s1;
	int p[2], status, queued = 0, objs;
	const int njobs = 8;
	pid_t pid;

	ASSERT_EQ(0, uptr_debugfs_stats(c->dir, &s0));
	engine_read(_metadata, &e0);
	ASSERT_EQ(0, uptr_debugfs_write("uptr_delay_ms", 100));
	ASSERT_EQ(0, pipe(p));
	pid = fork();
	ASSERT_GE(pid, 0);
	if (!pid) {
		close(p[0]);
		busy_child(p[1], njobs, variant->sigkill);
	}
	close(p[1]);
	ASSERT_EQ((ssize_t)sizeof(queued), read(p[0], &queued, sizeof(queued)));
	close(p[0]);
	engine_read(_metadata, &mid);
	if (variant->sigkill)
		kill(pid, SIGKILL);
	ASSERT_EQ(0, wait_child(pid, SETTLE_MS, &status));
	ASSERT_EQ(0, uptr_debugfs_write("uptr_delay_ms", 0));

	ASSERT_EQ(njobs, queued);
	/* The child really left with jobs in flight. */
	EXPECT_LT(mid.done - e0.done, queued);
	if (variant->sigkill) {
		EXPECT_TRUE(WIFSIGNALED(status));
		EXPECT_EQ(SIGKILL, WTERMSIG(status));
	} else {
		EXPECT_TRUE(WIFEXITED(status));
		EXPECT_EQ(0, WEXITSTATUS(status));
	}

	/*
	 * Every job touches the child's userptr object, so the teardown of
	 * its mm waits for them: they all run, none is lost or times out.
	 */
	EXPECT_EQ(0, engine_settle(_metadata, &e0, queued, &e1)) {
		TH_LOG("jobs: +%lld submitted, +%lld done, +%lld timed out",
		       e1.submitted - e0.submitted, e1.done - e0.done,
		       e1.timedout - e0.timedout);
		TH_LOG("jobs: +%lld aborted; expected +%d submitted and done",
		       e1.aborted - e0.aborted, queued);
	}
	EXPECT_EQ(e0.timedout, e1.timedout);
	/* The child's object is gone, and the mm release reached it. */
	objs = uptr_objects_settle(c->dir, c->objs0, SETTLE_MS);
	EXPECT_EQ(c->objs0, objs);
	ASSERT_EQ(0, uptr_debugfs_stats(c->dir, &s1));
	EXPECT_GE(s1.event_release - s0.event_release, 1);
	ksft_print_msg("%s: %d jobs queued, %lld done when the child left, release events +%lld\n",
		       variant->sigkill ? "sigkill" : "exit", queued,
		       mid.done - e0.done, s1.event_release - s0.event_release);

	ctx_engine_works(_metadata, c, 0x51);
}

FIXTURE(life) {
	struct life_ctx c;
};

FIXTURE_SETUP(life)
{
	ctx_setup(_metadata, &self->c);
}

FIXTURE_TEARDOWN(life)
{
	ctx_teardown(&self->c);
}

/* State shared with the child of the fault-in kill test. */
struct faultin_shared {
	int ready;
	int in_ioctl;
	int iterations;
	int first_ret;
	long long full_ms;
	long long faulted_at_start;
};

static void faultin_child(struct faultin_shared *sh, size_t size)
{
	struct drm_uptr_create c = {
		.user_size = size,
		.flags = DRM_UPTR_CREATE_POPULATE,
	};
	long long t0;
	void *p;
	int fd;

	fd = uptr_open_render();
	p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (fd < 0 || p == MAP_FAILED)
		_exit(2);
	c.user_ptr = (__u64)(uintptr_t)p;
	if (!sh->full_ms) {
		/* How long one whole fault-in takes, uninterrupted. */
		t0 = uptr_now_ms();
		sh->first_ret = uptr_ioctl_once(fd, DRM_IOCTL_UPTR_CREATE, &c);
		sh->full_ms = uptr_now_ms() - t0;
		if (sh->first_ret)
			_exit(3);
		uptr_gem_close(fd, c.handle);
		madvise(p, size, MADV_DONTNEED);
	}
	for (;;) {
		sh->faulted_at_start = uptr_debugfs_value("uptr_stats",
							  "pages_faulted");
		__atomic_store_n(&sh->in_ioctl, 1, __ATOMIC_SEQ_CST);
		__atomic_store_n(&sh->ready, 1, __ATOMIC_SEQ_CST);
		if (uptr_ioctl_once(fd, DRM_IOCTL_UPTR_CREATE, &c))
			_exit(4);
		__atomic_store_n(&sh->in_ioctl, 0, __ATOMIC_SEQ_CST);
		sh->iterations++;
		uptr_gem_close(fd, c.handle);
		/* Make the next fault-in allocate every page again. */
		madvise(p, size, MADV_DONTNEED);
	}
}

TEST_F_TIMEOUT(life, sigkill_interrupts_fault_in_of_256mib_object, 600)
{
	struct life_ctx *c = &self->c;
	size_t size = 256UL << 20;
	struct faultin_shared *sh;
	bool interrupted = false;
	__u64 max = 0;
	int attempt;

	ASSERT_EQ(0, uptr_get_param(c->fd, DRM_UPTR_PARAM_MAX_OBJECT_SIZE,
				    &max));
	if (size > max)
		size = max;
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, sh);
	memset(sh, 0, sizeof(*sh));

	for (attempt = 0; attempt < 3 && !interrupted; attempt++) {
		long long delay, t_kill, latency, faulted, deadline;
		int status;
		pid_t pid;

		sh->ready = 0;
		sh->iterations = 0;
		pid = fork();
		ASSERT_GE(pid, 0);
		if (!pid)
			faultin_child(sh, size);

		/* The child did one whole fault-in, then started the next. */
		deadline = uptr_now_ms() + 300 * 1000;
		while (!__atomic_load_n(&sh->ready, __ATOMIC_SEQ_CST) &&
		       uptr_now_ms() < deadline && !waitpid(pid, &status, WNOHANG))
			usleep(1000);
		ASSERT_EQ(1, sh->ready) {
			TH_LOG("child never started the fault-in: first CREATE %d",
			       sh->first_ret);
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
		}
		/* Kill it a third, then a sixth, ... into the fault-in. */
		delay = sh->full_ms / (3 * (attempt + 1));
		usleep((delay > 10 ? delay : 10) * 1000);
		t_kill = uptr_now_ms();
		kill(pid, SIGKILL);
		ASSERT_EQ(0, wait_child(pid, 10000, &status)) {
			TH_LOG("child still alive 10 s after SIGKILL");
		}
		latency = uptr_now_ms() - t_kill;
		faulted = uptr_debugfs_value("uptr_stats", "pages_faulted") -
			  sh->faulted_at_start;
		EXPECT_TRUE(WIFSIGNALED(status));
		EXPECT_EQ(SIGKILL, WTERMSIG(status));
		ksft_print_msg("attempt %d: a %zu MiB fault-in takes %lld ms\n",
			       attempt, size >> 20, sh->full_ms);
		ksft_print_msg("attempt %d: killed %lld ms in, dead %lld ms later\n",
			       attempt, delay, latency);
		ksft_print_msg("attempt %d: in CREATE: %d, %lld of %zu pages faulted\n",
			       attempt, sh->in_ioctl, faulted,
			       (size_t)(size / PAGE));
		/* Died inside CREATE, before the whole range was faulted. */
		if (sh->in_ioctl && faulted < (long long)(size / PAGE)) {
			interrupted = true;
			EXPECT_LT(latency, 5000);
		}
	}
	EXPECT_TRUE(interrupted) {
		TH_LOG("SIGKILL never cut a fault-in short");
	}
	munmap(sh, sizeof(*sh));
	/* The half-built object went away with the process. */
	EXPECT_EQ(c->objs0, uptr_objects_settle(c->dir, c->objs0, SETTLE_MS));
	ctx_engine_works(_metadata, c, 0x52);
}

TEST_F(life, close_with_busy_objects_keeps_device_writes_spares_new_memory)
{
	struct life_ctx *c = &self->c;
	const size_t half = LIFE_SIZE / 2;
	struct engine_counts e0, mid, e1;
	struct uptr_stats s0, s1;
	const int njobs = 6;
	unsigned char *map;
	__u32 h, bo, last = 0;
	int fd, i;
	void *p;

	fd = uptr_open_render();
	ASSERT_GE(fd, 0);
	map = uptr_map_anon(LIFE_SIZE);
	ASSERT_NE(NULL, map);
	ASSERT_EQ(0, uptr_create(fd, map, LIFE_SIZE, 0, &h));
	ASSERT_EQ(0, uptr_bo_create(fd, LIFE_SIZE, &bo, NULL));
	ASSERT_EQ(c->objs0 + 1, uptr_debugfs_objects(c->dir, 0, NULL));
	ASSERT_EQ(0, uptr_debugfs_stats(c->dir, &s0));
	engine_read(_metadata, &e0);

	ASSERT_EQ(0, uptr_debugfs_write("uptr_delay_ms", 100));
	for (i = 0; i < njobs; i++) {
		struct uptr_batch j = {};

		if (i == 2) {
			uptr_batch_cmd(&j, DRM_UPTR_OP_COPY, h, 0, bo, 0,
				       LIFE_SIZE, 0);
		} else {
			last = 0xb0500000 + i;
			uptr_batch_cmd(&j, DRM_UPTR_OP_FILL, 0, 0, h, 0,
				       LIFE_SIZE, last);
		}
		ASSERT_EQ(0, uptr_batch_submit(fd, &j));
	}
	/* Close with every job queued; the object lives on in the jobs. */
	close(fd);
	engine_read(_metadata, &mid);
	/* Replace the second half: this must wait for the jobs on it. */
	p = mmap(map + half, half, PROT_READ | PROT_WRITE,
		 MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_EQ(map + half, p);
	uptr_fill_pattern(p, half, 0x77);
	EXPECT_EQ(0, engine_settle(_metadata, &e0, njobs, &e1));
	ASSERT_EQ(0, uptr_debugfs_write("uptr_delay_ms", 0));

	/* Jobs still queued at close ran... */
	EXPECT_LT(mid.done - e0.done, njobs);
	/* ...their writes landed in the CPU's view of the kept half... */
	EXPECT_EQ(-1, uptr_check_words(map, half, last));
	/* ...and none reached the memory mapped after the invalidation. */
	EXPECT_EQ(-1, uptr_check_pattern(map + half, half, 0x77));
	ASSERT_EQ(0, uptr_debugfs_stats(c->dir, &s1));
	EXPECT_GE(s1.event_unmap - s0.event_unmap, 1);
	EXPECT_EQ(c->objs0, uptr_objects_settle(c->dir, c->objs0, SETTLE_MS));
	ksft_print_msg("close: %lld of %d jobs done at close, unmap events +%lld\n",
		       mid.done - e0.done, njobs,
		       s1.event_unmap - s0.event_unmap);
	munmap(map, LIFE_SIZE);
	ctx_engine_works(_metadata, c, 0x53);
}

/* What the receiver of the DRM fd reports back. */
struct fdpass_report {
	int copy_from_sender_obj;
	int fill_sender_obj;
	int fill_device_buffer;
	int create_own;
	int fill_own;
	int own_readback;
	__u32 own_handle;
};

struct fdpass_request {
	__u32 sender_obj;
	__u32 bo;
	__u32 sync;
};

/* Room for one SCM_RIGHTS descriptor, aligned for struct cmsghdr. */
union fd_cmsg {
	char buf[CMSG_SPACE(sizeof(int))];
	struct cmsghdr align;
};

static int send_fd(int sock, int fd, const void *data, size_t len)
{
	union fd_cmsg cbuf = {};
	struct iovec iov = { .iov_base = (void *)data, .iov_len = len };
	struct msghdr msg = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = cbuf.buf,
		.msg_controllen = sizeof(cbuf.buf),
	};
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);

	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	return sendmsg(sock, &msg, 0) == (ssize_t)len ? 0 : -1;
}

static int recv_fd(int sock, void *data, size_t len)
{
	union fd_cmsg cbuf = {};
	struct iovec iov = { .iov_base = data, .iov_len = len };
	struct msghdr msg = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = cbuf.buf,
		.msg_controllen = sizeof(cbuf.buf),
	};
	struct cmsghdr *cm;
	int fd;

	if (recvmsg(sock, &msg, 0) != (ssize_t)len)
		return -1;
	cm = CMSG_FIRSTHDR(&msg);
	if (!cm || cm->cmsg_level != SOL_SOCKET ||
	    cm->cmsg_type != SCM_RIGHTS)
		return -1;
	memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	return fd;
}

/* The receiving process: it has no DRM file of its own. */
static void fdpass_child(int sock, int inherited_fd)
{
	struct fdpass_report rep = {};
	struct fdpass_request req;
	struct uptr_batch j = {};
	unsigned char *own;
	char byte;
	int fd;

	close(inherited_fd);
	fd = recv_fd(sock, &req, sizeof(req));
	if (fd < 0)
		_exit(2);

	/* The sender's userptr object: its mm is not ours. */
	uptr_batch_cmd(&j, DRM_UPTR_OP_COPY, req.sender_obj, 0, req.bo, 0,
		       PAGE, 0);
	rep.copy_from_sender_obj = uptr_batch_submit(fd, &j);
	j = (struct uptr_batch){};
	uptr_batch_cmd(&j, DRM_UPTR_OP_FILL, 0, 0, req.sender_obj, 0, PAGE,
		       0xbadbad00);
	rep.fill_sender_obj = uptr_batch_submit(fd, &j);

	/* A device buffer is no one's memory: it may be used. */
	j = (struct uptr_batch){};
	uptr_batch_cmd(&j, DRM_UPTR_OP_FILL, 0, 0, req.bo, 0, PAGE, 0x600df00d);
	rep.fill_device_buffer = uptr_batch_run(fd, req.sync, &j);

	/* An object over our own memory works through the passed fd. */
	own = uptr_map_anon(4 * PAGE);
	if (!own)
		_exit(3);
	memset(own, 0, 4 * PAGE);
	rep.create_own = uptr_create(fd, own, 4 * PAGE, 0, &rep.own_handle);
	j = (struct uptr_batch){};
	uptr_batch_cmd(&j, DRM_UPTR_OP_FILL, 0, 0, rep.own_handle, 0, 4 * PAGE,
		       0xc41dc41d);
	rep.fill_own = uptr_batch_run(fd, req.sync, &j);
	rep.own_readback = uptr_check_words(own, 4 * PAGE, 0xc41dc41d) == -1;

	if (write(sock, &rep, sizeof(rep)) != sizeof(rep))
		_exit(4);
	/* Keep the object's mm alive until the sender has tried it. */
	if (read(sock, &byte, 1) != 1)
		_exit(5);
	_exit(0);
}

TEST_F(life, drm_fd_passed_over_unix_socket_cannot_use_sender_objects)
{
	struct life_ctx *c = &self->c;
	struct fdpass_request req = {
		.sender_obj = c->h,
		.bo = c->bo,
		.sync = c->sync,
	};
	struct fdpass_report rep;
	struct uptr_batch j = {};
	int sv[2], status;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
		SKIP(return, "no AF_UNIX sockets: %s", strerror(errno));
	uptr_fill_pattern(c->map, LIFE_SIZE, 0x61);
	memset(c->bo_map, 0, LIFE_SIZE);

	pid = fork();
	ASSERT_GE(pid, 0);
	if (!pid) {
		close(sv[0]);
		fdpass_child(sv[1], c->fd);
	}
	close(sv[1]);
	ASSERT_EQ(0, send_fd(sv[0], c->fd, &req, sizeof(req)));
	ASSERT_EQ((ssize_t)sizeof(rep), read(sv[0], &rep, sizeof(rep)));

	EXPECT_EQ(-EXDEV, rep.copy_from_sender_obj);
	EXPECT_EQ(-EXDEV, rep.fill_sender_obj);
	EXPECT_EQ(1, rep.fill_device_buffer);
	EXPECT_EQ(0x600df00dU, ((__u32 *)c->bo_map)[0]);
	EXPECT_EQ(0, rep.create_own);
	EXPECT_EQ(1, rep.fill_own);
	EXPECT_TRUE(rep.own_readback);

	/* The other way round: the receiver's object is not ours either. */
	uptr_batch_cmd(&j, DRM_UPTR_OP_FILL, 0, 0, rep.own_handle, 0, PAGE,
		       0xbadbad01);
	EXPECT_EQ(-EXDEV, uptr_batch_submit(c->fd, &j));
	ASSERT_EQ(1, write(sv[0], "x", 1));
	ASSERT_EQ(0, wait_child(pid, SETTLE_MS, &status));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	/* Its mm is gone now: still -EXDEV, never a write anywhere. */
	EXPECT_EQ(-EXDEV, uptr_batch_submit(c->fd, &j));
	close(sv[0]);

	/* Nothing the receiver tried reached the sender's memory. */
	EXPECT_EQ(-1, uptr_check_pattern(c->map, LIFE_SIZE, 0x61));
	ctx_engine_works(_metadata, c, 0x62);
	uptr_gem_close(c->fd, rep.own_handle);
}

TEST_F_TIMEOUT(life, ten_thousand_one_page_objects_over_one_mapping, 300)
{
	struct life_ctx *c = &self->c;
	const unsigned long n = 10000;
	struct uptr_stats s0, s1, s2;
	struct uptr_batch j = {};
	long long t0, t_create, t_close;
	unsigned char *map, *bo_map;
	__u32 *h, *w, bo, sync;
	__u64 sum;
	unsigned long i;
	int fd, k;

	h = calloc(n, sizeof(*h));
	ASSERT_NE(NULL, h);
	map = uptr_map_anon(n * PAGE);
	ASSERT_NE(NULL, map);
	for (i = 0; i < n; i++) {
		w = (__u32 *)(map + i * PAGE);
		w[0] = i;
		w[PAGE / 4 - 1] = ~i;
	}
	fd = uptr_open_render();
	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, uptr_bo_create(fd, 4 * PAGE, &bo, (void **)&bo_map));
	ASSERT_EQ(0, uptr_syncobj_create(fd, &sync));

	t0 = uptr_now_ms();
	for (i = 0; i < n; i++)
		ASSERT_EQ(0, uptr_create(fd, map + i * PAGE, PAGE, 0, &h[i])) {
			TH_LOG("object %lu", i);
		}
	t_create = uptr_now_ms() - t0;
	ASSERT_EQ(c->objs0 + (int)n, uptr_debugfs_objects(c->dir, 0, NULL));

	/* Three objects far apart, copied out in one job. */
	uptr_batch_cmd(&j, DRM_UPTR_OP_COPY, h[0], 0, bo, 0, PAGE, 0);
	uptr_batch_cmd(&j, DRM_UPTR_OP_COPY, h[n - 1], 0, bo, PAGE, PAGE, 0);
	uptr_batch_cmd(&j, DRM_UPTR_OP_COPY, h[5000], 0, bo, 2 * PAGE, PAGE,
		       0);
	ASSERT_EQ(1, uptr_batch_run(fd, sync, &j));
	/* sync belongs to c->fd: use a syncobj of this file. */
	w = (__u32 *)bo_map;
	EXPECT_EQ(0U, w[0]);
	EXPECT_EQ(n - 1, w[PAGE / 4]);
	EXPECT_EQ(5000U, w[2 * PAGE / 4]);
	EXPECT_EQ(~5000U, w[3 * PAGE / 4 - 1]);

	/* Eight neighbours filled by one job, and not a byte more. */
	j = (struct uptr_batch){};
	for (k = 0; k < 8; k++)
		uptr_batch_cmd(&j, DRM_UPTR_OP_FILL, 0, 0, h[100 + k], 0, PAGE,
			       0xf00d0000 + k);
	ASSERT_EQ(1, uptr_batch_run(fd, sync, &j));
	for (k = 0; k < 8; k++)
		EXPECT_EQ(-1, uptr_check_words(map + (100 + k) * PAGE, PAGE,
					       0xf00d0000 + k));
	EXPECT_EQ(99U, *(__u32 *)(map + 99 * PAGE));
	EXPECT_EQ(108U, *(__u32 *)(map + 108 * PAGE));

	j = (struct uptr_batch){};
	uptr_batch_cmd(&j, DRM_UPTR_OP_CHECKSUM, h[4321], 0, bo, 3 * PAGE,
		       PAGE, 0);
	ASSERT_EQ(1, uptr_batch_run(fd, sync, &j));
	sum = cpu_checksum(map + 4321 * PAGE, PAGE);
	EXPECT_EQ(0, memcmp(&sum, bo_map + 3 * PAGE, sizeof(sum)));

	/* One madvise reaches every one of the 10000 notifiers. */
	ASSERT_EQ(0, uptr_debugfs_stats(c->dir, &s0));
	ASSERT_EQ(0, madvise(map, n * PAGE, MADV_DONTNEED));
	ASSERT_EQ(0, uptr_debugfs_stats(c->dir, &s1));
	EXPECT_GE(s1.invalidations - s0.invalidations, (long long)n);
	EXPECT_GE(s1.event_clear - s0.event_clear, (long long)n);
	EXPECT_GE(s1.pages_invalidated - s0.pages_invalidated, 1);

	/* The CPU's new page reaches the device through a refault. */
	*(__u32 *)(map + 42 * PAGE) = 0xabcd0042;
	j = (struct uptr_batch){};
	uptr_batch_cmd(&j, DRM_UPTR_OP_COPY, h[42], 0, bo, 0, PAGE, 0);
	ASSERT_EQ(1, uptr_batch_run(fd, sync, &j));
	EXPECT_EQ(0xabcd0042U, w[0]);
	EXPECT_EQ(0U, w[PAGE / 4 - 1]);
	ASSERT_EQ(0, uptr_debugfs_stats(c->dir, &s2));
	EXPECT_GE(s2.pages_faulted - s1.pages_faulted, 1);

	/* The buffer's mapping holds the file: it goes first. */
	munmap(bo_map, 4 * PAGE);
	t0 = uptr_now_ms();
	close(fd);
	EXPECT_EQ(c->objs0, uptr_objects_settle(c->dir, c->objs0, SETTLE_MS));
	t_close = uptr_now_ms() - t0;
	ksft_print_msg("%lu objects: created in %lld ms, freed in %lld ms\n",
		       n, t_create, t_close);
	ksft_print_msg("DONTNEED: +%lld invalidations, +%lld pages invalidated\n",
		       s1.invalidations - s0.invalidations,
		       s1.pages_invalidated - s0.pages_invalidated);
	munmap(map, n * PAGE);
	free(h);
	ctx_engine_works(_metadata, c, 0x54);
}

TEST_F(life, overlapping_objects_see_each_others_device_writes)
{
	struct life_ctx *c = &self->c;
	struct uptr_stats s0, s1;
	struct uptr_batch j = {};
	unsigned char *map;
	__u32 a, b, *w;
	__u64 sum, sa, sb;
	void *p;

	map = uptr_map_anon(12 * PAGE);
	ASSERT_NE(NULL, map);
	uptr_fill_pattern(map, 12 * PAGE, 0x71);
	/* A over pages 0-7, B over pages 4-11 of the same mapping. */
	ASSERT_EQ(0, uptr_create(c->fd, map, 8 * PAGE, 0, &a));
	ASSERT_EQ(0, uptr_create(c->fd, map + 4 * PAGE, 8 * PAGE, 0, &b));

	/* The device writes pages 4-7 through A and reads them through B. */
	uptr_batch_cmd(&j, DRM_UPTR_OP_FILL, 0, 0, a, 4 * PAGE, 4 * PAGE,
		       0x0a0a0a0a);
	ASSERT_EQ(1, uptr_batch_run(c->fd, c->sync, &j));
	memset(c->bo_map, 0, LIFE_SIZE);
	j = (struct uptr_batch){};
	uptr_batch_cmd(&j, DRM_UPTR_OP_COPY, b, 0, c->bo, 0, 4 * PAGE, 0);
	ASSERT_EQ(1, uptr_batch_run(c->fd, c->sync, &j));
	EXPECT_EQ(-1, uptr_check_words(c->bo_map, 4 * PAGE, 0x0a0a0a0a));
	EXPECT_EQ(-1, uptr_check_words(map + 4 * PAGE, 4 * PAGE, 0x0a0a0a0a));

	/* A's pages 0-3 to B's pages 4-7 (user pages 8-11): disjoint. */
	j = (struct uptr_batch){};
	uptr_batch_cmd(&j, DRM_UPTR_OP_COPY, a, 0, b, 4 * PAGE, 4 * PAGE, 0);
	ASSERT_EQ(1, uptr_batch_run(c->fd, c->sync, &j));
	EXPECT_EQ(0, memcmp(map, map + 8 * PAGE, 4 * PAGE));
	/* The same user bytes through both objects: a COPY onto itself. */
	j = (struct uptr_batch){};
	uptr_batch_cmd(&j, DRM_UPTR_OP_COPY, a, 4 * PAGE, b, 0, PAGE, 0);
	EXPECT_EQ(-EINVAL, uptr_batch_submit(c->fd, &j));

	/* New memory under page 5 reaches both objects. */
	ASSERT_EQ(0, uptr_debugfs_stats(c->dir, &s0));
	p = mmap(map + 5 * PAGE, PAGE, PROT_READ | PROT_WRITE,
		 MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_EQ(map + 5 * PAGE, p);
	ASSERT_EQ(0, uptr_debugfs_stats(c->dir, &s1));
	uptr_fill_pattern(p, PAGE, 0x72);
	sum = cpu_checksum(p, PAGE);
	j = (struct uptr_batch){};
	uptr_batch_cmd(&j, DRM_UPTR_OP_CHECKSUM, a, 5 * PAGE, c->bo, 0, PAGE, 0);
	uptr_batch_cmd(&j, DRM_UPTR_OP_CHECKSUM, b, PAGE, c->bo, 8, PAGE, 0);
	ASSERT_EQ(1, uptr_batch_run(c->fd, c->sync, &j));
	w = (__u32 *)c->bo_map;
	memcpy(&sa, w, sizeof(sa));
	memcpy(&sb, w + 2, sizeof(sb));
	EXPECT_EQ(sum, sa);
	EXPECT_EQ(sum, sb);
	/* Both notifiers fired, and both had the page valid. */
	EXPECT_GE(s1.invalidations - s0.invalidations, 2);
	EXPECT_GE(s1.pages_invalidated - s0.pages_invalidated, 2);

	uptr_gem_close(c->fd, a);
	uptr_gem_close(c->fd, b);
	munmap(map, 12 * PAGE);
}

TEST_HARNESS_MAIN
