// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The uptr authors
 *
 * Scenarios the other suites leave out, each proved to have happened with
 * the driver's counters before its outcome is checked:
 *
 * - churn: CREATE (with POPULATE) and GEM_CLOSE, with jobs left in
 *   flight on the closed objects, in two threads over the same range or
 *   over two overlapping ranges, while a third thread unmaps and remaps,
 *   mprotects and MADV_DONTNEEDs the range (IGT's
 *   stress-mm-invalidate-close). Only the errnos the races explain, and
 *   afterwards no object, job or waiting invalidation is left.
 * - mixedmap: a VM_MIXEDMAP range (a tracefs trace_pipe_raw ring buffer
 *   mapping, filled by vm_insert_pages()) is refused with -EFAULT by
 *   PROBE, POPULATE and SUBMIT.
 * - held: mm operations under a job held by a gate (uptr_gate.h) until
 *   an invalidation waits for it: ftruncate() shrinking a MAP_SHARED
 *   file, munmap() or mprotect() of one huge page of a two-huge-page
 *   hugetlb mapping, and mmap(MAP_FIXED) of a device buffer over the
 *   object's range. The job ran on the old pages before the call went
 *   on; the next job sees the new memory or fails cleanly, never the old
 *   pages.
 * - fork: a child's device write through its own object over memory it
 *   inherited, COW-shared private anonymous or MAP_SHARED anonymous
 *   memory: the parent sees it only in the shared case, by CPU and device.
 * - signals: a 1 ms SIGALRM storm (with and without SA_RESTART) during
 *   POPULATE, SUBMIT and wait loops: every ioctl returns 0, -EINTR or
 *   -EAGAIN, and afterwards no object, job or fence is left.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>

#include "../../kselftest_harness.h"
#include "uptr_util.h"
#include "uptr_gate.h"

#define PAGE		UPTR_PAGE
#define HPAGE		(2UL << 20)
#define WORD		0x5ce7a410U
#define WORD2		0x0b5e55edU
#define NR_HUGEPAGES	"/proc/sys/vm/nr_hugepages"
#define TRACEFS		"/sys/kernel/tracing"

/* Number of userptr objects in uptr_objects; fails the test if unreadable. */
static int nr_objects(struct __test_metadata *_metadata)
{
	char dir[256];
	int n;

	ASSERT_EQ(0, uptr_debugfs_dir(dir, sizeof(dir)));
	n = uptr_debugfs_objects(dir, 0, NULL);
	ASSERT_LE(0, n);
	return n;
}

/* What must be back to its start value once a scenario is over. */
struct leak_snap {
	int objects;
	long long submitted, done, aborted, timedout;
};

static void leak_snap(struct __test_metadata *_metadata, struct leak_snap *s)
{
	s->objects = nr_objects(_metadata);
	s->submitted = UPTR_COUNTER("uptr_engine", "jobs_submitted");
	s->done = UPTR_COUNTER("uptr_engine", "jobs_done");
	s->aborted = UPTR_COUNTER("uptr_engine", "jobs_aborted");
	s->timedout = UPTR_COUNTER("uptr_engine", "jobs_timedout");
}

/*
 * Nothing left since @s: as many objects, every job submitted since
 * (@jobs of them) done without error, none in flight or running, no
 * invalidation waiting.
 */
static void leak_check(struct __test_metadata *_metadata,
		       const struct leak_snap *s, long long jobs)
{
	struct leak_snap n;

	leak_snap(_metadata, &n);
	EXPECT_EQ(s->objects, n.objects) TH_LOG("userptr objects leaked");
	EXPECT_EQ(s->submitted + jobs, n.submitted);
	EXPECT_EQ(s->done + jobs, n.done) TH_LOG("jobs not completed");
	EXPECT_EQ(s->aborted, n.aborted);
	EXPECT_EQ(s->timedout, n.timedout);
	EXPECT_EQ(0, UPTR_COUNTER("uptr_engine", "jobs_in_flight"));
	EXPECT_EQ(0, UPTR_COUNTER("uptr_engine", "jobs_running"));
	EXPECT_EQ(0, UPTR_COUNTER("uptr_engine", "invalidations_waiting"));
}

/* ---- churn: CREATE/close against invalidation ---------------------- */

#define CHURN_PAGES	16UL
#define CHURN_SIZE	(CHURN_PAGES * PAGE)
#define CHURN_ITERS	400
#define CHURN_THREADS	2

struct churn;

struct churn_thread {
	struct churn *c;
	pthread_t thread;
	unsigned long off, len;	/* the range this thread's objects cover */
	__u32 sync;		/* out-sync of its last job */
	long long jobs;		/* jobs submitted */
	long long ok, efault, eperm, other;
	int other_err;
};

struct churn {
	int fd;
	unsigned char *m;
	__u32 bo;
	bool stop;		/* read and written with __atomic */
	long long mm_ops;
	struct churn_thread t[CHURN_THREADS];
};

FIXTURE(churn) {
	struct churn c;
};

FIXTURE_VARIANT(churn) {
	bool overlap;	/* thread 1 covers a range overlapping thread 0's */
};

FIXTURE_VARIANT_ADD(churn, same_range) {
	.overlap = false,
};

FIXTURE_VARIANT_ADD(churn, overlapping_ranges) {
	.overlap = true,
};

FIXTURE_SETUP(churn)
{
	struct churn *c = &self->c;

	c->fd = uptr_open_render();
	if (c->fd < 0)
		SKIP(return, "no uptr render node");
	if (uptr_debugfs_value("uptr_engine", "jobs_in_flight") < 0)
		SKIP(return, "no uptr debugfs: counters are needed");
	c->m = uptr_map_anon(CHURN_SIZE);
	ASSERT_NE(NULL, c->m);
	memset(c->m, 0x5a, CHURN_SIZE);
	ASSERT_EQ(0, uptr_bo_create(c->fd, CHURN_SIZE, &c->bo, NULL));
}

FIXTURE_TEARDOWN(churn)
{
	if (self->c.fd >= 0)
		close(self->c.fd);
	if (self->c.m)
		munmap(self->c.m, CHURN_SIZE);
}

static void *churn_creator(void *arg)
{
	struct churn_thread *t = arg;
	struct churn *c = t->c;
	int i, ret;

	for (i = 0; i < CHURN_ITERS; i++) {
		struct uptr_batch j = {};
		__u32 h;

		ret = uptr_create(c->fd, c->m + t->off, t->len,
				  DRM_UPTR_CREATE_POPULATE, &h);
		if (!ret && i % 2) {
			/* A job in flight when the handle goes. */
			uptr_batch_cmd(&j, DRM_UPTR_OP_COPY, h, 0, c->bo, 0,
				       t->len, 0);
			j.out.handle = t->sync;
			ret = uptr_batch_submit(c->fd, &j);
			if (!ret)
				t->jobs++;
			if (uptr_gem_close(c->fd, h))
				ret = -EBADF;
		} else if (!ret && uptr_gem_close(c->fd, h)) {
			ret = -EBADF;
		}
		if (!ret) {
			t->ok++;
		} else if (ret == -EFAULT) {
			t->efault++;
		} else if (ret == -EPERM) {
			t->eperm++;
		} else {
			t->other++;
			t->other_err = ret;
		}
	}
	return NULL;
}

/* Unmap and map again, mprotect, MADV_DONTNEED, in turn. */
static void *churn_invalidator(void *arg)
{
	struct churn *c = arg;
	unsigned long n = 0;

	while (!__atomic_load_n(&c->stop, __ATOMIC_ACQUIRE)) {
		unsigned long off = (n * 3 % CHURN_PAGES) * PAGE;
		unsigned long len = CHURN_SIZE - off;

		switch (n % 3) {
		case 0:
			munmap(c->m + off, len);
			mmap(c->m + off, len, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
			break;
		case 1:
			mprotect(c->m, len, PROT_READ);
			mprotect(c->m, len, PROT_READ | PROT_WRITE);
			break;
		case 2:
			madvise(c->m + off, len, MADV_DONTNEED);
			break;
		}
		n++;
	}
	c->mm_ops = n;
	return NULL;
}

TEST_F_TIMEOUT(churn, create_close_against_invalidation_nothing_leaks, 600)
{
	struct churn *c = &self->c;
	long long inval0, unmap0, prot0, clear0, jobs = 0;
	struct uptr_stats s;
	struct leak_snap snap;
	char dir[256];
	pthread_t inv;
	int i;

	ASSERT_EQ(0, uptr_debugfs_dir(dir, sizeof(dir)));
	leak_snap(_metadata, &snap);
	ASSERT_EQ(0, uptr_debugfs_stats(dir, &s));
	inval0 = s.invalidations;
	unmap0 = s.event_unmap;
	prot0 = s.event_protection_vma;
	clear0 = s.event_clear;
	for (i = 0; i < CHURN_THREADS; i++) {
		struct churn_thread *t = &c->t[i];

		t->c = c;
		t->off = 0;
		t->len = CHURN_SIZE;
		if (variant->overlap) {
			/* [0, 10) and [6, 16): six pages in common. */
			t->len = 10 * PAGE;
			t->off = i ? CHURN_SIZE - t->len : 0;
		}
		ASSERT_EQ(0, uptr_syncobj_create(c->fd, &t->sync));
	}
	ASSERT_EQ(0, pthread_create(&inv, NULL, churn_invalidator, c));
	for (i = 0; i < CHURN_THREADS; i++)
		ASSERT_EQ(0, pthread_create(&c->t[i].thread, NULL,
					    churn_creator, &c->t[i]));
	for (i = 0; i < CHURN_THREADS; i++)
		ASSERT_EQ(0, pthread_join(c->t[i].thread, NULL));
	__atomic_store_n(&c->stop, true, __ATOMIC_RELEASE);
	ASSERT_EQ(0, pthread_join(inv, NULL));

	for (i = 0; i < CHURN_THREADS; i++) {
		struct churn_thread *t = &c->t[i];

		TH_LOG("thread %d: %lld ok, %lld -EFAULT, %lld -EPERM, %lld jobs",
		       i, t->ok, t->efault, t->eperm, t->jobs);
		EXPECT_EQ(0, t->other)
			TH_LOG("thread %d: unexpected errno %d", i, t->other_err);
		EXPECT_LT(0, t->ok);
		jobs += t->jobs;
		/* Jobs of one file run in order: the last one is the end. */
		if (t->jobs) {
			ASSERT_EQ(0, uptr_syncobj_wait(c->fd, t->sync, 0));
			EXPECT_EQ(1, uptr_syncobj_status(c->fd, t->sync));
		}
	}
	/* The race happened: the objects saw every kind of invalidation. */
	ASSERT_EQ(0, uptr_debugfs_stats(dir, &s));
	TH_LOG("%lld mm calls; inval +%lld (unmap +%lld, prot +%lld, clear +%lld)",
	       c->mm_ops, s.invalidations - inval0, s.event_unmap - unmap0,
	       s.event_protection_vma - prot0, s.event_clear - clear0);
	EXPECT_LT(0, c->mm_ops);
	EXPECT_LT(0, s.event_unmap - unmap0);
	EXPECT_LT(0, s.event_protection_vma - prot0);
	EXPECT_LT(0, s.event_clear - clear0);
	leak_check(_metadata, &snap, jobs);
}

/* ---- a VM_MIXEDMAP range ----------------------------------------------- */

TEST(mixedmap_ring_buffer_refused_by_probe_populate_and_submit)
{
	const char *path = TRACEFS "/per_cpu/cpu0/trace_pipe_raw";
	struct uptr_batch j = {};
	char flags[256];
	unsigned char *bo, *p;
	__u32 h, hbo, sync;
	int fd, tfd;

	fd = uptr_open_render();
	if (fd < 0)
		SKIP(return, "no uptr render node");
	if (access(path, R_OK))
		mount("tracefs", TRACEFS, "tracefs", 0, NULL);
	tfd = open(path, O_RDONLY | O_CLOEXEC);
	if (tfd < 0)
		SKIP(return, "no %s (CONFIG_TRACING)", path);
	/* The meta page, inserted with vm_insert_pages(): VM_MIXEDMAP. */
	p = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, tfd, 0);
	ASSERT_NE(MAP_FAILED, p) TH_LOG("mmap of %s: %s", path, strerror(errno));
	ASSERT_EQ(0, uptr_vma_flags(p, flags, sizeof(flags)));
	ASSERT_TRUE(uptr_vm_flag(flags, "mm")) TH_LOG("the mapping is not VM_MIXEDMAP");
	/* The CPU can read it (the ring buffer's meta page). */
	EXPECT_NE(-1, uptr_check_bytes(p, PAGE, 0));

	EXPECT_EQ(-EFAULT, uptr_create(fd, p, PAGE, DRM_UPTR_CREATE_READ_ONLY |
				       DRM_UPTR_CREATE_PROBE, &h));
	EXPECT_EQ(-EFAULT, uptr_create(fd, p, PAGE, DRM_UPTR_CREATE_PROBE, &h));
	EXPECT_EQ(-EFAULT, uptr_create(fd, p, PAGE, DRM_UPTR_CREATE_READ_ONLY |
				       DRM_UPTR_CREATE_POPULATE, &h));
	/* Created lazily, it fails at its first use. */
	ASSERT_EQ(0, uptr_create(fd, p, PAGE, DRM_UPTR_CREATE_READ_ONLY, &h));
	ASSERT_EQ(0, uptr_bo_create(fd, PAGE, &hbo, (void **)&bo));
	ASSERT_EQ(0, uptr_syncobj_create(fd, &sync));
	memset(bo, 0xee, PAGE);
	uptr_batch_cmd(&j, DRM_UPTR_OP_COPY, h, 0, hbo, 0, PAGE, 0);
	EXPECT_EQ(-EFAULT, uptr_batch_run(fd, sync, &j));
	EXPECT_EQ(-1, uptr_check_bytes(bo, PAGE, 0xee));
	munmap(bo, PAGE);
	munmap(p, PAGE);
	close(tfd);
	close(fd);
}

/* ---- mm operations under a held job ------------------------------------ */

#define HELD_PAGES	8UL
#define HELD_SIZE	(HELD_PAGES * PAGE)

struct held {
	int fd;
	struct uptr_gate gate;
	__u32 gsync;		/* syncobj holding the gate's fence */
	__u32 bsync;		/* out-sync of the held job */
	__u32 sync;
	long long started0, waits0;
};

FIXTURE(held) {
	struct held g;
	long saved_nr;
	int memfd;
};

FIXTURE_SETUP(held)
{
	struct held *g = &self->g;
	int ret;

	self->saved_nr = -1;
	self->memfd = -1;
	g->gate.timeline = -1;
	g->fd = uptr_open_render();
	if (g->fd < 0)
		SKIP(return, "no uptr render node");
	if (uptr_debugfs_value("uptr_engine", "invalidation_waits") < 0)
		SKIP(return, "no uptr debugfs: counters are needed");
	/* Before any userptr object: see uptr_gate.h. */
	ret = uptr_gate_init(&g->gate);
	if (ret == -ENOENT)
		SKIP(return, "no sw_sync (CONFIG_SW_SYNC) in debugfs");
	ASSERT_EQ(0, ret);
	ASSERT_EQ(0, uptr_syncobj_create(g->fd, &g->gsync));
	ASSERT_EQ(0, uptr_syncobj_create(g->fd, &g->bsync));
	ASSERT_EQ(0, uptr_syncobj_create(g->fd, &g->sync));
}

FIXTURE_TEARDOWN(held)
{
	char s[32];

	uptr_gate_fini(&self->g.gate);
	if (self->g.fd >= 0) {
		uptr_syncobj_wait(self->g.fd, self->g.bsync, 0);
		close(self->g.fd);
	}
	if (self->memfd >= 0)
		close(self->memfd);
	if (self->saved_nr >= 0) {
		snprintf(s, sizeof(s), "%ld", self->saved_nr);
		uptr_write_str(NR_HUGEPAGES, s, 0);
	}
}

/*
 * Queue a one-command job held by the gate, check it is queued and not
 * started, arm the releaser.
 */
static void held_submit(struct __test_metadata *_metadata, struct held *g,
			__u32 op, __u32 src, __u32 dst, __u64 len)
{
	struct uptr_batch j = {};

	ASSERT_EQ(0, uptr_gate_close(&g->gate, g->fd, g->gsync));
	uptr_batch_cmd(&j, op, src, 0, dst, 0, len, op == DRM_UPTR_OP_FILL ?
		       WORD : 0);
	uptr_batch_in(&j, g->gsync, 0);
	j.out.handle = g->bsync;
	g->started0 = UPTR_COUNTER("uptr_engine", "jobs_started");
	g->waits0 = UPTR_COUNTER("uptr_engine", "invalidation_waits");
	ASSERT_EQ(0, uptr_batch_submit(g->fd, &j));
	ASSERT_EQ(0, uptr_syncobj_status(g->fd, g->bsync));
	ASSERT_EQ(g->started0, UPTR_COUNTER("uptr_engine", "jobs_started"));
	ASSERT_EQ(0, UPTR_COUNTER("uptr_engine", "jobs_running"));
	ASSERT_EQ(0, uptr_gate_open_on_wait(&g->gate));
}

/* The mm call returned: it waited for the held job, which is done. */
static void held_check_waited(struct __test_metadata *_metadata,
			      struct held *g)
{
	ASSERT_EQ(1, uptr_gate_join(&g->gate))
		TH_LOG("no invalidation waited for the held job's fence");
	EXPECT_EQ(1, uptr_syncobj_status(g->fd, g->bsync))
		TH_LOG("the mm call returned before the job using the pages finished");
	EXPECT_LT(g->waits0, UPTR_COUNTER("uptr_engine", "invalidation_waits"));
	EXPECT_EQ(g->started0 + 1, UPTR_COUNTER("uptr_engine", "jobs_started"));
	EXPECT_EQ(0, UPTR_COUNTER("uptr_engine", "jobs_running"));
}

static int held_run(struct held *g, __u32 op, __u32 src, __u64 soff,
		    __u32 dst, __u64 doff, __u64 len, __u32 pattern)
{
	struct uptr_batch j = {};

	uptr_batch_cmd(&j, op, src, soff, dst, doff, len, pattern);
	return uptr_batch_run(g->fd, g->sync, &j);
}

TEST_F(held, ftruncate_shrink_of_shared_file_waits_rest_of_object_works)
{
	struct held *g = &self->g;
	unsigned char *m, *bo, *buf;
	const size_t half = HELD_SIZE / 2;
	__u32 h, hbo;
	struct stat st;

	self->memfd = memfd_create("uptr-scenario", MFD_CLOEXEC);
	ASSERT_LE(0, self->memfd);
	ASSERT_EQ(0, ftruncate(self->memfd, HELD_SIZE));
	m = mmap(NULL, HELD_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
		 self->memfd, 0);
	ASSERT_NE(MAP_FAILED, m);
	uptr_fill_pattern(m, HELD_SIZE, 31);
	ASSERT_EQ(0, uptr_create(g->fd, m, HELD_SIZE, DRM_UPTR_CREATE_POPULATE,
				 &h));
	ASSERT_EQ(0, uptr_bo_create(g->fd, HELD_SIZE, &hbo, (void **)&bo));
	buf = malloc(HELD_SIZE);
	ASSERT_NE(NULL, buf);

	/* The device writes the whole file while it is cut in half. */
	held_submit(_metadata, g, DRM_UPTR_OP_FILL, 0, h, HELD_SIZE);
	ASSERT_EQ(0, ftruncate(self->memfd, half));
	held_check_waited(_metadata, g);
	ASSERT_EQ(0, fstat(self->memfd, &st));
	EXPECT_EQ((off_t)half, st.st_size);
	/* The part that stays holds the write. */
	ASSERT_EQ((ssize_t)half, pread(self->memfd, buf, HELD_SIZE, 0));
	EXPECT_EQ(-1, uptr_check_words(buf, half, WORD));

	/* Beyond EOF the object fails cleanly, for reads and writes. */
	memset(bo, 0xee, HELD_SIZE);
	EXPECT_EQ(-EFAULT, held_run(g, DRM_UPTR_OP_COPY, h, half, hbo, 0,
				    half, 0));
	EXPECT_EQ(-EFAULT, held_run(g, DRM_UPTR_OP_FILL, 0, 0, h, half, half,
				    WORD2));
	EXPECT_EQ(-1, uptr_check_bytes(bo, HELD_SIZE, 0xee));
	ASSERT_EQ(0, fstat(self->memfd, &st));
	EXPECT_EQ((off_t)half, st.st_size)
		TH_LOG("a device write beyond EOF grew the file");
	/* Below EOF it works both ways. */
	ASSERT_EQ(1, held_run(g, DRM_UPTR_OP_COPY, h, 0, hbo, 0, half, 0));
	EXPECT_EQ(-1, uptr_check_words(bo, half, WORD));
	ASSERT_EQ(1, held_run(g, DRM_UPTR_OP_FILL, 0, 0, h, 0, half, WORD2));
	EXPECT_EQ(-1, uptr_check_words(m, half, WORD2));

	/* Grown back, the cut part is new zero pages, for the device too. */
	ASSERT_EQ(0, ftruncate(self->memfd, HELD_SIZE));
	memset(bo, 0xee, HELD_SIZE);
	ASSERT_EQ(1, held_run(g, DRM_UPTR_OP_COPY, h, 0, hbo, 0, HELD_SIZE, 0));
	EXPECT_EQ(-1, uptr_check_words(bo, half, WORD2));
	EXPECT_EQ(-1, uptr_check_bytes(bo + half, half, 0))
		TH_LOG("the device read the truncated pages");
	ASSERT_EQ(1, held_run(g, DRM_UPTR_OP_FILL, 0, 0, h, half, half, WORD));
	ASSERT_EQ((ssize_t)HELD_SIZE, pread(self->memfd, buf, HELD_SIZE, 0));
	EXPECT_EQ(-1, uptr_check_words(buf + half, half, WORD));
	free(buf);
	munmap(bo, HELD_SIZE);
	munmap(m, HELD_SIZE);
}

/* Reserve huge pages; SKIP (in the test) if there cannot be two free. */
static bool reserve_hugepages(long *saved_nr)
{
	*saved_nr = uptr_number(NR_HUGEPAGES);
	if (*saved_nr < 0)
		return false;
	if (*saved_nr < 4)
		uptr_write_str(NR_HUGEPAGES, "4", 0);
	return uptr_number("/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages") >= 2;
}

static void held_hugetlb(struct __test_metadata *_metadata, struct held *g,
			 long *saved_nr, bool unmap)
{
	unsigned char *p, *bo;
	__u32 h, hbo;

	if (!reserve_hugepages(saved_nr))
		SKIP(return, "cannot reserve two 2 MiB huge pages (%s)",
		     NR_HUGEPAGES);
	p = mmap(NULL, 2 * HPAGE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
	ASSERT_NE(MAP_FAILED, p) TH_LOG("MAP_HUGETLB: %s", strerror(errno));
	uptr_fill_pattern(p, 2 * HPAGE, 41);
	ASSERT_EQ(0, uptr_create(g->fd, p, 2 * HPAGE, DRM_UPTR_CREATE_POPULATE,
				 &h));
	ASSERT_EQ(0, uptr_bo_create(g->fd, 2 * HPAGE, &hbo, (void **)&bo));
	/* hugetlb VMAs split only at huge page boundaries. */
	EXPECT_EQ(-1, munmap(p + HPAGE - PAGE, PAGE));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, mprotect(p + PAGE, PAGE, PROT_READ));
	EXPECT_EQ(EINVAL, errno);

	held_submit(_metadata, g, DRM_UPTR_OP_FILL, 0, h, 2 * HPAGE);
	ASSERT_EQ(0, unmap ? munmap(p + HPAGE, HPAGE) :
			     mprotect(p + HPAGE, HPAGE, PROT_READ));
	held_check_waited(_metadata, g);
	/* The write landed whole in the pages that stay. */
	EXPECT_EQ(-1, uptr_check_words(p, HPAGE, WORD));
	if (!unmap)
		EXPECT_EQ(-1, uptr_check_words(p + HPAGE, HPAGE, WORD));

	/* The first huge page works both ways... */
	memset(bo, 0xee, 2 * HPAGE);
	ASSERT_EQ(1, held_run(g, DRM_UPTR_OP_COPY, h, 0, hbo, 0, HPAGE, 0));
	EXPECT_EQ(-1, uptr_check_words(bo, HPAGE, WORD));
	ASSERT_EQ(1, held_run(g, DRM_UPTR_OP_FILL, 0, 0, h, 0, HPAGE, WORD2));
	EXPECT_EQ(-1, uptr_check_words(p, HPAGE, WORD2));
	/* ...the second fails cleanly: gone, or read-only to a writable object. */
	EXPECT_EQ(unmap ? -EFAULT : -EPERM,
		  held_run(g, DRM_UPTR_OP_FILL, 0, 0, h, HPAGE, HPAGE, WORD2));
	EXPECT_EQ(unmap ? -EFAULT : -EPERM,
		  held_run(g, DRM_UPTR_OP_COPY, h, HPAGE, hbo, HPAGE, HPAGE, 0));
	EXPECT_EQ(-1, uptr_check_bytes(bo + HPAGE, HPAGE, 0xee));
	if (!unmap)
		EXPECT_EQ(-1, uptr_check_words(p + HPAGE, HPAGE, WORD));
	munmap(bo, 2 * HPAGE);
	munmap(p, unmap ? HPAGE : 2 * HPAGE);
}

TEST_F_TIMEOUT(held, hugetlb_munmap_of_one_huge_page_waits, 120)
{
	held_hugetlb(_metadata, &self->g, &self->saved_nr, true);
}

TEST_F_TIMEOUT(held, hugetlb_mprotect_of_one_huge_page_waits, 120)
{
	held_hugetlb(_metadata, &self->g, &self->saved_nr, false);
}

TEST_F(held, map_fixed_device_buffer_over_object_never_old_pages)
{
	struct drm_uptr_bo_mmap_offset o = {};
	struct held *g = &self->g;
	unsigned char *m, *bo, *dbo, *p;
	__u32 h, hbo, hdbo;
	int ret;

	m = uptr_map_anon(HELD_SIZE);
	ASSERT_NE(NULL, m);
	uptr_fill_pattern(m, HELD_SIZE, 51);
	ASSERT_EQ(0, uptr_create(g->fd, m, HELD_SIZE, DRM_UPTR_CREATE_POPULATE,
				 &h));
	ASSERT_EQ(0, uptr_bo_create(g->fd, HELD_SIZE, &hbo, (void **)&bo));
	/* The device buffer that will replace the object's memory. */
	ASSERT_EQ(0, uptr_bo_create(g->fd, HELD_SIZE, &hdbo, (void **)&dbo));
	uptr_fill_pattern(dbo, HELD_SIZE, 52);
	o.handle = hdbo;
	ASSERT_EQ(0, uptr_ioctl(g->fd, DRM_IOCTL_UPTR_BO_MMAP_OFFSET, &o));

	held_submit(_metadata, g, DRM_UPTR_OP_COPY, h, hbo, HELD_SIZE);
	p = mmap(m, HELD_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
		 g->fd, o.offset);
	ASSERT_EQ(m, p);
	held_check_waited(_metadata, g);
	/* The held job read the old pages, before they went. */
	EXPECT_EQ(-1, uptr_check_pattern(bo, HELD_SIZE, 51));
	EXPECT_EQ(-1, uptr_check_pattern(m, HELD_SIZE, 52));

	/* The next jobs see the device buffer or fail; never the old pages. */
	memset(bo, 0xee, HELD_SIZE);
	ret = held_run(g, DRM_UPTR_OP_COPY, h, 0, hbo, 0, HELD_SIZE, 0);
	if (ret == 1) {
		EXPECT_EQ(-1, uptr_check_pattern(bo, HELD_SIZE, 52));
	} else {
		EXPECT_EQ(-EFAULT, ret);
		EXPECT_EQ(-1, uptr_check_bytes(bo, HELD_SIZE, 0xee))
			TH_LOG("a failed job wrote its destination");
	}
	ret = held_run(g, DRM_UPTR_OP_FILL, 0, 0, h, 0, HELD_SIZE, WORD2);
	if (ret == 1) {
		EXPECT_EQ(-1, uptr_check_words(dbo, HELD_SIZE, WORD2));
	} else {
		EXPECT_EQ(-EFAULT, ret);
		EXPECT_EQ(-1, uptr_check_pattern(dbo, HELD_SIZE, 52));
	}
	TH_LOG("jobs on the replaced range: %s",
	       ret == 1 ? "use the device buffer" : "-EFAULT");
	munmap(m, HELD_SIZE);
	munmap(dbo, HELD_SIZE);
	munmap(bo, HELD_SIZE);
}

/* ---- fork: a child's device write on inherited memory ----------------- */

#define FORK_SIZE	(8 * PAGE)

FIXTURE(fork) {
	int fd;
	__u32 bo, sync;
	unsigned char *bo_map;
};

FIXTURE_VARIANT(fork) {
	int map_flags;
};

FIXTURE_VARIANT_ADD(fork, cow_private_anon) {
	.map_flags = MAP_PRIVATE,
};

FIXTURE_VARIANT_ADD(fork, shared_anon) {
	.map_flags = MAP_SHARED,
};

FIXTURE_SETUP(fork)
{
	self->fd = uptr_open_render();
	if (self->fd < 0)
		SKIP(return, "no uptr render node");
	if (uptr_debugfs_value("uptr_engine", "jobs_done") < 0)
		SKIP(return, "no uptr debugfs: counters are needed");
	ASSERT_EQ(0, uptr_bo_create(self->fd, FORK_SIZE, &self->bo,
				    (void **)&self->bo_map));
	ASSERT_EQ(0, uptr_syncobj_create(self->fd, &self->sync));
}

FIXTURE_TEARDOWN(fork)
{
	if (self->fd < 0)
		return;
	munmap(self->bo_map, FORK_SIZE);
	close(self->fd);
}

/*
 * The child: its own DRM file, an object over the inherited range, a
 * device FILL; then its CPU view must be the device's write. Exit codes
 * say which step failed.
 */
static int fork_child(unsigned char *m)
{
	struct uptr_batch j = {};
	__u32 h, sync;
	int fd;

	fd = uptr_open_render();
	if (fd < 0)
		return 10;
	if (uptr_create(fd, m, FORK_SIZE, DRM_UPTR_CREATE_PROBE, &h))
		return 11;
	if (uptr_syncobj_create(fd, &sync))
		return 12;
	uptr_batch_cmd(&j, DRM_UPTR_OP_FILL, 0, 0, h, 0, FORK_SIZE, WORD);
	if (uptr_batch_run(fd, sync, &j) != 1)
		return 13;
	if (uptr_check_words(m, FORK_SIZE, WORD) != -1)
		return 14;
	close(fd);
	return 0;
}

TEST_F(fork, child_device_write_visible_to_parent_only_if_shared)
{
	bool shared = variant->map_flags == MAP_SHARED;
	long long done0;
	unsigned char *m;
	struct uptr_batch j = {};
	int status;
	pid_t pid;
	__u32 h;

	m = mmap(NULL, FORK_SIZE, PROT_READ | PROT_WRITE,
		 variant->map_flags | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, m);
	uptr_fill_pattern(m, FORK_SIZE, 61);
	/* The parent's own object over the range, faulted in. */
	ASSERT_EQ(0, uptr_create(self->fd, m, FORK_SIZE,
				 DRM_UPTR_CREATE_POPULATE, &h));
	uptr_batch_cmd(&j, DRM_UPTR_OP_COPY, h, 0, self->bo, 0, FORK_SIZE, 0);
	ASSERT_EQ(1, uptr_batch_run(self->fd, self->sync, &j));

	done0 = UPTR_COUNTER("uptr_engine", "jobs_done");
	fflush(NULL);
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid)
		_exit(fork_child(m));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status))
		TH_LOG("the child failed at step %d", WEXITSTATUS(status));
	/* The child's job ran on the device. */
	EXPECT_EQ(done0 + 1, UPTR_COUNTER("uptr_engine", "jobs_done"));

	/* POSIX: a private child copy is the child's; shared memory is one. */
	if (shared) {
		EXPECT_EQ(-1, uptr_check_words(m, FORK_SIZE, WORD));
	} else {
		EXPECT_EQ(-1, uptr_check_pattern(m, FORK_SIZE, 61))
			TH_LOG("the child's device write reached the parent's pages");
	}
	/* The parent's device view agrees with its CPU view. */
	memset(self->bo_map, 0xee, FORK_SIZE);
	ASSERT_EQ(1, uptr_batch_run(self->fd, self->sync, &j));
	EXPECT_EQ(0, memcmp(self->bo_map, m, FORK_SIZE));
	/* And the parent's device write is the parent's. */
	j = (struct uptr_batch){};
	uptr_batch_cmd(&j, DRM_UPTR_OP_FILL, 0, 0, h, 0, FORK_SIZE, WORD2);
	ASSERT_EQ(1, uptr_batch_run(self->fd, self->sync, &j));
	EXPECT_EQ(-1, uptr_check_words(m, FORK_SIZE, WORD2));
	munmap(m, FORK_SIZE);
}

/* ---- signal storms ---------------------------------------------------- */

#define SIG_SIZE	(256 * PAGE)
#define SIG_ITERS	150

/* Shared with the signal handler: accessed with __atomic builtins. */
static int sig_in_ioctl;
static long sig_total, sig_during_ioctl;

static void sig_handler(int sig)
{
	(void)sig;
	__atomic_fetch_add(&sig_total, 1, __ATOMIC_RELAXED);
	if (__atomic_load_n(&sig_in_ioctl, __ATOMIC_RELAXED))
		__atomic_fetch_add(&sig_during_ioctl, 1, __ATOMIC_RELAXED);
}

FIXTURE(signals) {
	int fd;
	unsigned char *m;
};

FIXTURE_VARIANT(signals) {
	bool restart;
};

FIXTURE_VARIANT_ADD(signals, no_sa_restart) {
	.restart = false,
};

FIXTURE_VARIANT_ADD(signals, sa_restart) {
	.restart = true,
};

FIXTURE_SETUP(signals)
{
	self->fd = uptr_open_render();
	if (self->fd < 0)
		SKIP(return, "no uptr render node");
	if (uptr_debugfs_value("uptr_engine", "jobs_done") < 0)
		SKIP(return, "no uptr debugfs: counters are needed");
	self->m = uptr_map_anon(SIG_SIZE);
	ASSERT_NE(NULL, self->m);
}

FIXTURE_TEARDOWN(signals)
{
	struct itimerval off = {};

	setitimer(ITIMER_REAL, &off, NULL);
	signal(SIGALRM, SIG_IGN);
	if (self->fd >= 0)
		close(self->fd);
	if (self->m)
		munmap(self->m, SIG_SIZE);
}

/* One ioctl, restarted on EINTR/EAGAIN; counts the restarts. */
static int sig_ioctl(int fd, unsigned long req, void *arg, long *eintr,
		     long *eagain, int *bad)
{
	int ret;

	for (;;) {
		__atomic_store_n(&sig_in_ioctl, 1, __ATOMIC_RELAXED);
		ret = ioctl(fd, req, arg) ? -errno : 0;
		__atomic_store_n(&sig_in_ioctl, 0, __ATOMIC_RELAXED);
		if (ret == -EINTR)
			(*eintr)++;
		else if (ret == -EAGAIN)
			(*eagain)++;
		else
			break;
	}
	if (ret && !*bad)
		*bad = ret;
	return ret;
}

TEST_F_TIMEOUT(signals, storm_during_populate_and_submit_leaves_nothing, 600)
{
	struct itimerval it = { .it_interval = { 0, 1000 },
				.it_value = { 0, 1000 } };
	struct itimerval off = {};
	long eintr = 0, eagain = 0;
	long long jobs = 0;
	struct leak_snap snap;
	struct sigaction sa = {};
	unsigned char *bo;
	__u32 hbo, sync;
	int i, bad = 0;

	ASSERT_EQ(0, uptr_bo_create(self->fd, SIG_SIZE, &hbo, (void **)&bo));
	ASSERT_EQ(0, uptr_syncobj_create(self->fd, &sync));
	leak_snap(_metadata, &snap);
	sig_total = 0;
	sig_during_ioctl = 0;
	sa.sa_handler = sig_handler;
	sa.sa_flags = variant->restart ? SA_RESTART : 0;
	sigemptyset(&sa.sa_mask);
	ASSERT_EQ(0, sigaction(SIGALRM, &sa, NULL));
	ASSERT_EQ(0, setitimer(ITIMER_REAL, &it, NULL));

	for (i = 0; i < SIG_ITERS && !bad; i++) {
		struct drm_uptr_create c = {
			.user_ptr = (uintptr_t)self->m,
			.user_size = SIG_SIZE,
			.flags = DRM_UPTR_CREATE_POPULATE,
		};
		struct uptr_batch j = {};
		struct drm_uptr_submit s = {
			.cmds = (uintptr_t)j.cmds,
			.cmd_stride = sizeof(struct drm_uptr_cmd),
		};
		struct drm_syncobj_wait w = {
			.handles = (uintptr_t)&sync,
			.count_handles = 1,
			.timeout_nsec = INT64_MAX,
		};
		struct drm_gem_close gc = {};

		/* Fresh pages each time: POPULATE faults all of them in. */
		madvise(self->m, SIG_SIZE, MADV_DONTNEED);
		if (sig_ioctl(self->fd, DRM_IOCTL_UPTR_CREATE, &c, &eintr,
			      &eagain, &bad))
			break;
		uptr_batch_cmd(&j, DRM_UPTR_OP_FILL, 0, 0, c.handle, 0,
			       SIG_SIZE, WORD + i);
		uptr_batch_cmd(&j, DRM_UPTR_OP_COPY, c.handle, 0, hbo, 0,
			       SIG_SIZE, 0);
		s.cmd_count = j.n;
		s.out_sync.handle = sync;
		if (!sig_ioctl(self->fd, DRM_IOCTL_UPTR_SUBMIT, &s, &eintr,
			       &eagain, &bad))
			jobs++;
		gc.handle = c.handle;
		sig_ioctl(self->fd, DRM_IOCTL_GEM_CLOSE, &gc, &eintr, &eagain,
			  &bad);
		if (bad)
			break;
		/* Every other job is left in flight, on a closed object. */
		if (i % 2 &&
		    !sig_ioctl(self->fd, DRM_IOCTL_SYNCOBJ_WAIT, &w, &eintr,
			       &eagain, &bad) &&
		    uptr_check_words(bo, SIG_SIZE, WORD + i) != -1)
			bad = -EILSEQ;
	}
	ASSERT_EQ(0, setitimer(ITIMER_REAL, &off, NULL));
	TH_LOG("%d rounds, %lld jobs; %ld signals, %ld during ioctls; %ld -EINTR, %ld -EAGAIN",
	       i, jobs, sig_total, sig_during_ioctl, eintr, eagain);
	EXPECT_EQ(0, bad) TH_LOG("an ioctl failed with %d (%s)", bad,
				 bad == -EILSEQ ? "wrong data" :
				 strerror(-bad));
	EXPECT_EQ(SIG_ITERS, i);
	/* The storm hit the ioctls. */
	EXPECT_LT(0, sig_during_ioctl);
	/*
	 * -ERESTARTSYS is restarted under SA_RESTART; a raw -EINTR (an
	 * interruptible lock) is returned either way, as the UAPI allows.
	 */
	if (jobs)
		ASSERT_EQ(0, uptr_syncobj_wait(self->fd, sync, 0));
	EXPECT_EQ(-1, uptr_check_words(bo, SIG_SIZE, WORD + SIG_ITERS - 1));
	leak_check(_metadata, &snap, jobs);
	munmap(bo, SIG_SIZE);
}

TEST_HARNESS_MAIN
