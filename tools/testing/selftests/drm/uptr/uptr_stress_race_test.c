// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The uptr authors
 *
 * Races of userptr objects with the mm, through the real render node.
 *
 * race: threads submit COPY+CHECKSUM and FILL jobs on one userptr object
 * while other threads remap, mprotect, migrate (move_pages between nodes 0
 * and 1) and madvise (DONTNEED, COLD) its memory, for UPTR_STRESS_SECONDS.
 * At the end of every round the mutators stop and every job is waited for;
 * then what the CPU wrote must be what the device copies out, and what the
 * device fills in must be what the CPU reads. SUBMIT may fail only with the
 * errnos the races explain (-EFAULT, -EPERM, -EAGAIN), and the driver's
 * counters must show that invalidations and refaults really happened.
 * The lifecycle tests are in uptr_stress_life_test.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
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

static int node_count(void)
{
	return access("/sys/devices/system/node/node1", F_OK) ? 1 : 2;
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
	ASSERT_EQ(0, uptr_engine_quiesce(SETTLE_MS));

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
	struct uptr_engine_counts e0, e1;
	struct uptr_stats s0, s1;
	long long start, end, left;
	int round = 0;

	ASSERT_EQ(0, uptr_debugfs_stats(self->dir, &s0));
	ASSERT_EQ(0, uptr_engine_read(&e0));
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
	ASSERT_EQ(0, uptr_engine_read(&e1));
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

TEST_HARNESS_MAIN
