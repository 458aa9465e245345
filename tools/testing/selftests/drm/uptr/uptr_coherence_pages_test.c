// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The uptr authors
 *
 * Coherence of userptr objects when the pages under a mapping change while
 * the mapping stays: fork (COW, DONTFORK, WIPEONFORK, use from the child),
 * NUMA migration (move_pages, mbind), transparent huge pages (split,
 * collapse) and KSM. uptr_coherence_mapping_test.c covers the mm calls
 * that change the mapping itself.
 *
 * Each test changes the mapping or its pages, most of them while a job the
 * engine holds for a while uses the object, and then checks that the device
 * reads what the CPU wrote, that the CPU reads what the device wrote, and
 * that the driver's counters (uptr_stats, uptr_objects) show that the
 * invalidation and the refault really happened. The device side of the
 * fixtures (struct coh_dev) and its helpers are in uptr_coh.c.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <linux/mempolicy.h>

#include "../../kselftest_harness.h"
#include "uptr_util.h"
#include "uptr_coh.h"

#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE	25
#endif

#define PAGE		UPTR_PAGE
#define NPAGES		16U
#define SIZE		(NPAGES * PAGE)
#define HPAGE		(2UL << 20)
#define HPAGES		(HPAGE / PAGE)
#define BUSY_WORD	UPTR_COH_BUSY_WORD

static long long coh_read_ll(const char *path)
{
	char buf[64];

	if (uptr_read_str(path, buf, sizeof(buf)))
		return -1;
	return atoll(buf);
}

static __u64 coh_cpu_sum(const unsigned char *base, size_t off, size_t len)
{
	__u64 sum = 0;
	size_t i;
	__u32 w;

	for (i = off; i < off + len; i += sizeof(w)) {
		memcpy(&w, base + i, sizeof(w));
		sum += w;
	}
	return sum;
}

/* A private anonymous mapping of @size bytes aligned to 2 MiB. */
static unsigned char *coh_map_huge_aligned(size_t size)
{
	unsigned char *p, *s;

	p = mmap(NULL, size + HPAGE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	s = (unsigned char *)(((uintptr_t)p + HPAGE - 1) & ~(HPAGE - 1));
	if (s > p)
		munmap(p, s - p);
	munmap(s + size, p + HPAGE - s);
	return s;
}

static bool coh_have_node(int node)
{
	char path[64];

	snprintf(path, sizeof(path), "/sys/devices/system/node/node%d", node);
	return !access(path, F_OK);
}

/* Number of pages of [addr, addr + npages * PAGE) on @node. */
static unsigned int coh_on_node(void *addr, unsigned int npages, int node)
{
	int status[HPAGES];
	void *pages[HPAGES];
	unsigned int i, n = 0;

	for (i = 0; i < npages; i++)
		pages[i] = (char *)addr + i * PAGE;
	if (syscall(SYS_move_pages, 0, npages, pages, NULL, status, 0))
		return 0;
	for (i = 0; i < npages; i++)
		if (status[i] == node)
			n++;
	return n;
}

/* Move the pages to @node, retrying stragglers; pages on @node after. */
static unsigned int coh_move(void *addr, unsigned int npages, int node)
{
	int status[NPAGES], nodes[NPAGES];
	void *pages[NPAGES];
	unsigned int i, n = 0;
	int tries;

	for (i = 0; i < npages; i++) {
		pages[i] = (char *)addr + i * PAGE;
		nodes[i] = node;
	}
	for (tries = 0; tries < 10; tries++) {
		syscall(SYS_move_pages, 0, npages, pages, nodes, status,
			MPOL_MF_MOVE);
		n = coh_on_node(addr, npages, node);
		if (n == npages)
			break;
		usleep(10000);
	}
	return n;
}

/* Wait for a child; its exit status, or -1 if it did not exit. */
static int coh_wait_child(pid_t pid)
{
	int status;

	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

FIXTURE(coh) {
	struct coh_dev d;
};

FIXTURE_SETUP(coh)
{
	COH_DEV_SETUP(&self->d);
}

FIXTURE_TEARDOWN_PARENT(coh)
{
	coh_dev_teardown(&self->d);
}

/* A child that waits for a byte on @rfd, then checks @m for @seed. */
static pid_t coh_fork_checker(int pipefd[2], const unsigned char *m,
			      unsigned int seed)
{
	pid_t pid = fork();
	char c;

	if (pid)
		return pid;
	close(pipefd[1]);
	if (read(pipefd[0], &c, 1) != 1)
		_exit(2);
	_exit(coh_check_seed(m, 0, SIZE, seed) == -1 ? 0 : 1);
}

TEST_F(coh, fork_waits_for_device_write_child_sees_it_whole)
{
	struct coh_dev *d = &self->d;
	struct uptr_stats b, a;
	unsigned char *m;
	pid_t pid;
	__u32 h;

	m = uptr_map_anon(SIZE);
	ASSERT_NE(NULL, m);
	uptr_fill_pattern(m, SIZE, 1);
	ASSERT_EQ(0, uptr_create(d->fd, m, SIZE, 0, &h));
	ASSERT_EQ(1, coh_read(d, h, 0, SIZE));
	ASSERT_EQ(0, uptr_debugfs_stats(d->dir, &b));

	/*
	 * fork() write-protects the parent's PTEs: it must wait for the
	 * device write, or the child's copy would change after the fork.
	 */
	ASSERT_EQ(0, coh_busy_start(d, h, SIZE, true));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid)
		_exit(coh_check_word(m, 0, SIZE, BUSY_WORD) == -1 ? 0 : 1);
	EXPECT_EQ(1, coh_busy_done(d))
		TH_LOG("fork returned before the job writing the pages finished");
	ASSERT_EQ(1, coh_busy_end(d));
	EXPECT_EQ(0, coh_wait_child(pid))
		TH_LOG("the child did not see the device's write");

	ASSERT_EQ(0, uptr_debugfs_stats(d->dir, &a));
	EXPECT_LE(1, a.event_protection_page - b.event_protection_page);
	EXPECT_LE(NPAGES, a.pages_invalidated - b.pages_invalidated);
	munmap(m, SIZE);
}

TEST_F(coh, fork_parent_write_breaks_cow_device_follows_parent)
{
	struct coh_dev *d = &self->d;
	struct uptr_stats b, a;
	unsigned char *m;
	int pipefd[2];
	__u32 h, hro;
	pid_t pid;

	m = uptr_map_anon(SIZE);
	ASSERT_NE(NULL, m);
	uptr_fill_pattern(m, SIZE, 1);
	ASSERT_EQ(0, uptr_create(d->fd, m, SIZE, 0, &h));
	ASSERT_EQ(0, uptr_create(d->fd, m, SIZE, DRM_UPTR_CREATE_READ_ONLY,
				 &hro));
	ASSERT_EQ(1, coh_read(d, h, 0, SIZE));
	ASSERT_EQ(0, pipe(pipefd));

	pid = coh_fork_checker(pipefd, m, 1);
	ASSERT_LE(0, pid);
	close(pipefd[0]);
	/* A read does not break COW: the device maps the shared pages. */
	ASSERT_EQ(1, coh_read(d, hro, 0, SIZE));
	EXPECT_EQ(-1, coh_check_seed(d->bo, 0, SIZE, 1));
	ASSERT_EQ(0, uptr_debugfs_stats(d->dir, &b));

	/* The parent's write gives it new pages; the device must follow. */
	coh_write_seed(m, 0, SIZE, 2);
	ASSERT_EQ(0, uptr_debugfs_stats(d->dir, &a));
	EXPECT_LE(1, a.event_clear - b.event_clear);
	EXPECT_LE(NPAGES, a.pages_invalidated - b.pages_invalidated);
	ASSERT_EQ(1, coh_read(d, hro, 0, SIZE));
	EXPECT_EQ(-1, coh_check_seed(d->bo, 0, SIZE, 2))
		TH_LOG("the device still reads the pages shared with the child");
	ASSERT_EQ(1, coh_read(d, h, 0, SIZE));
	EXPECT_EQ(-1, coh_check_seed(d->bo, 0, SIZE, 2));

	/* The child still has the data of the fork. */
	ASSERT_EQ(1, write(pipefd[1], "x", 1));
	EXPECT_EQ(0, coh_wait_child(pid));
	close(pipefd[1]);
	munmap(m, SIZE);
}

TEST_F(coh, fork_device_write_breaks_cow_child_keeps_old_data)
{
	struct coh_dev *d = &self->d;
	struct uptr_stats b, a;
	unsigned char *m;
	int pipefd[2];
	pid_t pid;
	__u32 h;

	m = uptr_map_anon(SIZE);
	ASSERT_NE(NULL, m);
	uptr_fill_pattern(m, SIZE, 1);
	ASSERT_EQ(0, uptr_create(d->fd, m, SIZE, 0, &h));
	ASSERT_EQ(1, coh_read(d, h, 0, SIZE));
	ASSERT_EQ(0, pipe(pipefd));

	pid = coh_fork_checker(pipefd, m, 1);
	ASSERT_LE(0, pid);
	close(pipefd[0]);
	ASSERT_EQ(0, uptr_debugfs_stats(d->dir, &b));
	/* No CPU write in the parent: the device's write breaks COW. */
	ASSERT_EQ(1, coh_write(d, h, 0, SIZE, 0xfeedf00d));
	ASSERT_EQ(0, uptr_debugfs_stats(d->dir, &a));
	EXPECT_LE(NPAGES, a.pages_faulted - b.pages_faulted);
	EXPECT_EQ(-1, coh_check_word(m, 0, SIZE, 0xfeedf00d));
	ASSERT_EQ(1, coh_read(d, h, 0, SIZE));
	EXPECT_EQ(-1, coh_check_word(d->bo, 0, SIZE, 0xfeedf00d));

	ASSERT_EQ(1, write(pipefd[1], "x", 1));
	EXPECT_EQ(0, coh_wait_child(pid))
		TH_LOG("the device's write leaked into the child's pages");
	close(pipefd[1]);
	munmap(m, SIZE);
}

TEST_F(coh, fork_child_write_keeps_parent_device_view)
{
	struct coh_dev *d = &self->d;
	int tochild[2], toparent[2];
	long long faulted;
	unsigned char *m;
	__u32 h, hro;
	pid_t pid;
	char c;

	m = uptr_map_anon(SIZE);
	ASSERT_NE(NULL, m);
	uptr_fill_pattern(m, SIZE, 1);
	ASSERT_EQ(0, uptr_create(d->fd, m, SIZE, 0, &h));
	ASSERT_EQ(0, uptr_create(d->fd, m, SIZE, DRM_UPTR_CREATE_READ_ONLY,
				 &hro));
	ASSERT_EQ(1, coh_read(d, h, 0, SIZE));
	ASSERT_EQ(0, pipe(tochild));
	ASSERT_EQ(0, pipe(toparent));
	faulted = coh_obj_stat(d, m, "pages_faulted");

	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		close(tochild[1]);
		close(toparent[0]);
		uptr_fill_pattern(m, SIZE, 3);
		if (write(toparent[1], "x", 1) != 1 ||
		    read(tochild[0], &c, 1) != 1)
			_exit(2);
		_exit(coh_check_seed(m, 0, SIZE, 3) == -1 ? 0 : 1);
	}
	close(tochild[0]);
	close(toparent[1]);
	ASSERT_EQ(1, read(toparent[0], &c, 1));

	/* The parent's device view is still the parent's data. */
	ASSERT_EQ(1, coh_read(d, hro, 0, SIZE));
	EXPECT_EQ(-1, coh_check_seed(d->bo, 0, SIZE, 1));
	ASSERT_EQ(1, coh_read(d, h, 0, SIZE));
	EXPECT_EQ(-1, coh_check_seed(d->bo, 0, SIZE, 1));
	EXPECT_EQ(-1, coh_check_seed(m, 0, SIZE, 1));
	/* fork invalidated the parent's object: it faulted again. */
	EXPECT_LE(faulted + NPAGES, coh_obj_stat(d, m, "pages_faulted"));
	ASSERT_EQ(1, coh_write(d, h, 0, SIZE, 0x9a9a9a9a));
	EXPECT_EQ(-1, coh_check_word(m, 0, SIZE, 0x9a9a9a9a));

	ASSERT_EQ(1, write(tochild[1], "x", 1));
	EXPECT_EQ(0, coh_wait_child(pid))
		TH_LOG("the parent's device write reached the child's pages");
	close(tochild[1]);
	close(toparent[0]);
	munmap(m, SIZE);
}

TEST_F(coh, madv_dontfork_child_has_no_mapping_parent_untouched)
{
	struct coh_dev *d = &self->d;
	long long inv, faulted;
	unsigned char vec[NPAGES];
	unsigned char *m;
	pid_t pid;
	__u32 h;

	m = uptr_map_anon(SIZE);
	ASSERT_NE(NULL, m);
	uptr_fill_pattern(m, SIZE, 1);
	ASSERT_EQ(0, madvise(m, SIZE, MADV_DONTFORK));
	ASSERT_EQ(0, uptr_create(d->fd, m, SIZE, 0, &h));
	ASSERT_EQ(1, coh_read(d, h, 0, SIZE));
	inv = coh_obj_stat(d, m, "pages_invalidated");
	faulted = coh_obj_stat(d, m, "pages_faulted");

	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid)
		_exit(mincore(m, SIZE, vec) == -1 && errno == ENOMEM ? 0 : 1);
	EXPECT_EQ(0, coh_wait_child(pid))
		TH_LOG("the child has a mapping of a MADV_DONTFORK range");

	/* The range was not copied, so fork did not even invalidate it. */
	EXPECT_EQ(inv, coh_obj_stat(d, m, "pages_invalidated"));
	ASSERT_EQ(1, coh_read(d, h, 0, SIZE));
	EXPECT_EQ(-1, coh_check_seed(d->bo, 0, SIZE, 1));
	EXPECT_EQ(faulted, coh_obj_stat(d, m, "pages_faulted"));
	ASSERT_EQ(1, coh_write(d, h, 0, SIZE, 0x0f0f0f0f));
	EXPECT_EQ(-1, coh_check_word(m, 0, SIZE, 0x0f0f0f0f));
	munmap(m, SIZE);
}

/* In a child of a MADV_WIPEONFORK parent: 0 if its own device sees zeros. */
static int coh_wipeonfork_child(unsigned char *m)
{
	unsigned char *bo;
	__u32 h, hbo, sync;
	struct uptr_batch j = {};
	int fd;

	if (coh_check_word(m, 0, SIZE, 0) != -1)
		return 1;
	fd = uptr_open_render();
	if (fd < 0 || uptr_create(fd, m, SIZE, 0, &h) ||
	    uptr_bo_create(fd, SIZE, &hbo, (void **)&bo) ||
	    uptr_syncobj_create(fd, &sync))
		return 2;
	memset(bo, 0xee, SIZE);
	uptr_batch_cmd(&j, DRM_UPTR_OP_COPY, h, 0, hbo, 0, SIZE, 0);
	if (uptr_batch_run(fd, sync, &j) != 1 ||
	    coh_check_word(bo, 0, SIZE, 0) != -1)
		return 3;
	j = (struct uptr_batch){};
	uptr_batch_cmd(&j, DRM_UPTR_OP_FILL, 0, 0, h, 0, SIZE, 0xc41dc41d);
	if (uptr_batch_run(fd, sync, &j) != 1 ||
	    coh_check_word(m, 0, SIZE, 0xc41dc41d) != -1)
		return 4;
	return 0;
}

TEST_F(coh, madv_wipeonfork_child_device_zeros_parent_unchanged)
{
	struct coh_dev *d = &self->d;
	unsigned char *m;
	long long inv;
	pid_t pid;
	__u32 h;

	m = uptr_map_anon(SIZE);
	ASSERT_NE(NULL, m);
	uptr_fill_pattern(m, SIZE, 1);
	ASSERT_EQ(0, madvise(m, SIZE, MADV_WIPEONFORK));
	ASSERT_EQ(0, uptr_create(d->fd, m, SIZE, 0, &h));
	ASSERT_EQ(1, coh_read(d, h, 0, SIZE));
	inv = coh_obj_stat(d, m, "pages_invalidated");

	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid)
		_exit(coh_wipeonfork_child(m));
	EXPECT_EQ(0, coh_wait_child(pid))
		TH_LOG("child: 1 CPU saw data, 2 no setup, 3 device saw data, 4 write lost");

	/* The parent's pages were neither copied nor invalidated. */
	EXPECT_EQ(inv, coh_obj_stat(d, m, "pages_invalidated"));
	ASSERT_EQ(1, coh_read(d, h, 0, SIZE));
	EXPECT_EQ(-1, coh_check_seed(d->bo, 0, SIZE, 1));
	EXPECT_EQ(-1, coh_check_seed(m, 0, SIZE, 1));
	munmap(m, SIZE);
}

TEST_F(coh, child_submit_on_inherited_object_exdev_no_memory_touched)
{
	struct coh_dev *d = &self->d;
	long long submitted;
	unsigned char *m;
	pid_t pid;
	__u32 h;

	m = uptr_map_anon(SIZE);
	ASSERT_NE(NULL, m);
	uptr_fill_pattern(m, SIZE, 1);
	ASSERT_EQ(0, uptr_create(d->fd, m, SIZE, 0, &h));
	ASSERT_EQ(1, coh_read(d, h, 0, SIZE));
	memset(d->bo, 0xee, SIZE);
	submitted = UPTR_COUNTER("uptr_engine", "jobs_submitted");

	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		int bad = 0;

		bad |= coh_write(d, h, 0, SIZE, 0x66666666) != -EXDEV;
		bad |= coh_run1(d, DRM_UPTR_OP_COPY, h, 0, d->hbo, 0, SIZE,
				0) != -EXDEV;
		bad |= coh_check_seed(m, 0, SIZE, 1) != -1;
		_exit(bad);
	}
	EXPECT_EQ(0, coh_wait_child(pid));
	EXPECT_EQ(submitted, UPTR_COUNTER("uptr_engine", "jobs_submitted"));
	EXPECT_EQ(-1, coh_check_seed(m, 0, SIZE, 1));
	EXPECT_EQ(-1, coh_check_word(d->bo, 0, SIZE, 0xeeeeeeee));
	ASSERT_EQ(1, coh_read(d, h, 0, SIZE));
	EXPECT_EQ(-1, coh_check_seed(d->bo, 0, SIZE, 1));
	munmap(m, SIZE);
}

/* Back-to-back COPY jobs out of one object, from a thread. */
struct coh_loop {
	int fd;
	__u32 src;
	__u32 dst;
	__u32 sync;
	__u64 len;
	int stop;
	long jobs;
	long errors;
	int last_error;
};

static void *coh_loop_run(void *arg)
{
	struct coh_loop *l = arg;

	while (!__atomic_load_n(&l->stop, __ATOMIC_ACQUIRE)) {
		struct uptr_batch j = {};
		int ret;

		uptr_batch_cmd(&j, DRM_UPTR_OP_COPY, l->src, 0, l->dst, 0,
			       l->len, 0);
		ret = uptr_batch_run(l->fd, l->sync, &j);
		if (ret == 1) {
			l->jobs++;
		} else {
			l->errors++;
			l->last_error = ret;
		}
	}
	return NULL;
}

TEST_F_TIMEOUT(coh, move_pages_under_running_jobs_device_follows_pages, 150)
{
	struct coh_dev *d = &self->d;
	struct coh_loop loop = {};
	const char *why = NULL;
	struct uptr_stats b, a;
	int node, rounds = 0;
	unsigned int moved;
	unsigned char *m;
	__u64 sum = 0;
	pthread_t t;
	time_t end;
	__u32 h;

	if (!coh_have_node(1))
		SKIP(return, "one NUMA node only (the guest boots with numa=fake=2)");
	m = uptr_map_anon(SIZE);
	ASSERT_NE(NULL, m);
	uptr_fill_pattern(m, SIZE, 1);
	ASSERT_EQ(0, uptr_create(d->fd, m, SIZE, 0, &h));
	ASSERT_EQ(1, coh_read(d, h, 0, SIZE));
	node = coh_on_node(m, NPAGES, 1) == NPAGES ? 1 : 0;
	ASSERT_EQ(NPAGES, coh_move(m, NPAGES, node));
	ASSERT_EQ(0, uptr_debugfs_stats(d->dir, &b));

	loop.fd = d->fd;
	loop.src = h;
	loop.dst = d->hbusy;
	loop.len = SIZE;
	ASSERT_EQ(0, uptr_syncobj_create(d->fd, &loop.sync));
	ASSERT_EQ(0, pthread_create(&t, NULL, coh_loop_run, &loop));

	end = time(NULL) + uptr_stress_seconds(60);
	do {
		__u32 word = 0x30000000 + rounds;

		node = !node;
		moved = coh_move(m, NPAGES, node);
		if (moved != NPAGES) {
			why = "pages did not move";
			break;
		}
		/* The CPU writes the new pages, the device must read them. */
		coh_write_seed(m, 0, SIZE, rounds + 2);
		if (coh_sum(d, h, 0, SIZE, &sum) != 1 ||
		    sum != coh_cpu_sum(m, 0, SIZE)) {
			why = "device checksum differs from the CPU's data";
			break;
		}
		/* The device writes the new pages, the CPU must read them. */
		if (coh_write(d, h, 0, SIZE, word) != 1 ||
		    coh_check_word(m, 0, SIZE, word) != -1) {
			why = "CPU does not read the device's write";
			break;
		}
		rounds++;
	} while (time(NULL) < end || rounds < 4);
	__atomic_store_n(&loop.stop, 1, __ATOMIC_RELEASE);
	pthread_join(t, NULL);

	ASSERT_EQ(NULL, why)
		TH_LOG("round %d (to node %d, %u pages there): %s", rounds,
		       node, moved, why);
	EXPECT_EQ(0, loop.errors)
		TH_LOG("COPY jobs during migration failed, last with %d",
		       loop.last_error);
	EXPECT_LT(0, loop.jobs);
	ASSERT_EQ(0, uptr_debugfs_stats(d->dir, &a));
	/* move_pages() unmaps with MMU_NOTIFY_CLEAR, not ..._MIGRATE. */
	EXPECT_LE(rounds, a.event_clear - b.event_clear);
	EXPECT_LE((long long)rounds * NPAGES,
		  a.pages_invalidated - b.pages_invalidated);
	TH_LOG("%d rounds, %ld concurrent jobs, event_migrate +%lld, event_clear +%lld",
	       rounds, loop.jobs, a.event_migrate - b.event_migrate,
	       a.event_clear - b.event_clear);
	munmap(m, SIZE);
}

TEST_F(coh, mbind_move_to_node1_device_follows_pages)
{
	struct coh_dev *d = &self->d;
	unsigned long mask = 1UL << 1;
	struct uptr_stats b, a;
	unsigned char *m;
	__u32 h;

	if (!coh_have_node(1))
		SKIP(return, "one NUMA node only (the guest boots with numa=fake=2)");
	m = uptr_map_anon(SIZE);
	ASSERT_NE(NULL, m);
	uptr_fill_pattern(m, SIZE, 1);
	ASSERT_EQ(NPAGES, coh_move(m, NPAGES, 0));
	ASSERT_EQ(0, uptr_create(d->fd, m, SIZE, 0, &h));
	ASSERT_EQ(1, coh_read(d, h, 0, SIZE));
	ASSERT_EQ(0, uptr_debugfs_stats(d->dir, &b));

	ASSERT_EQ(0, coh_busy_start(d, h, SIZE, false));
	ASSERT_EQ(0, syscall(SYS_mbind, m, SIZE, MPOL_BIND, &mask,
			     8 * sizeof(mask), MPOL_MF_MOVE));
	EXPECT_EQ(1, coh_busy_done(d))
		TH_LOG("mbind returned before the job using the pages finished");
	ASSERT_EQ(1, coh_busy_end(d));
	EXPECT_EQ(-1, coh_check_seed(d->busy, 0, SIZE, 1));
	EXPECT_EQ(NPAGES, coh_on_node(m, NPAGES, 1));

	ASSERT_EQ(0, uptr_debugfs_stats(d->dir, &a));
	EXPECT_LE(1, a.event_clear - b.event_clear);
	EXPECT_LE(NPAGES, a.pages_invalidated - b.pages_invalidated);

	ASSERT_EQ(1, coh_read(d, h, 0, SIZE));
	EXPECT_EQ(-1, coh_check_seed(d->bo, 0, SIZE, 1));
	coh_write_seed(m, 0, SIZE, 2);
	ASSERT_EQ(1, coh_read(d, h, 0, SIZE));
	EXPECT_EQ(-1, coh_check_seed(d->bo, 0, SIZE, 2));
	ASSERT_EQ(1, coh_write(d, h, 0, SIZE, 0x1d1d1d1d));
	EXPECT_EQ(-1, coh_check_word(m, 0, SIZE, 0x1d1d1d1d));
	munmap(m, SIZE);
}

/* A 2 MiB-aligned range backed by one PMD-mapped THP, or NULL. */
static unsigned char *coh_map_thp(unsigned int seed)
{
	unsigned char *m = coh_map_huge_aligned(HPAGE);

	if (!m)
		return NULL;
	if (madvise(m, HPAGE, MADV_HUGEPAGE)) {
		munmap(m, HPAGE);
		return NULL;
	}
	uptr_fill_pattern(m, HPAGE, seed);
	if (uptr_anon_huge_kb(m) < (long)(HPAGE >> 10)) {
		munmap(m, HPAGE);
		return NULL;
	}
	return m;
}

TEST_F(coh, thp_device_fill_and_copy_across_huge_page)
{
	const size_t skip = 3 * PAGE, len = HPAGE - 8 * PAGE;
	struct coh_dev *d = &self->d;
	struct uptr_stats b, a;
	unsigned char *m;
	__u32 h, hpart;
	size_t i;

	m = coh_map_thp(1);
	if (!m)
		SKIP(return, "no PMD-mapped THP for a MADV_HUGEPAGE range");
	ASSERT_EQ(0, uptr_debugfs_stats(d->dir, &b));
	ASSERT_EQ(0, uptr_create(d->fd, m, HPAGE, 0, &h));
	ASSERT_EQ(1, coh_read(d, h, 0, HPAGE));
	EXPECT_EQ(-1, coh_check_seed(d->bo, 0, HPAGE, 1));
	ASSERT_EQ(1, coh_write(d, h, 0, HPAGE, 0x7f7f0101));
	EXPECT_EQ(-1, coh_check_word(m, 0, HPAGE, 0x7f7f0101));
	ASSERT_EQ(0, uptr_debugfs_stats(d->dir, &a));
	EXPECT_LE((long long)HPAGES, a.pages_faulted - b.pages_faulted);
	/* Device access does not split the huge page. */
	EXPECT_LE((long)(HPAGE >> 10), uptr_anon_huge_kb(m));

	/* An object over part of the huge page, not aligned to it. */
	coh_write_seed(m, 0, HPAGE, 2);
	ASSERT_EQ(0, uptr_create(d->fd, m + skip, len, 0, &hpart));
	ASSERT_EQ(1, coh_read(d, hpart, 0, len));
	for (i = 0; i < len; i++)
		if (d->bo[i] != uptr_pattern_byte(skip + i, 2))
			break;
	EXPECT_EQ(len, i);
	ASSERT_EQ(1, coh_write(d, hpart, PAGE, 4 * PAGE, 0x3c3c3c3c));
	EXPECT_EQ(-1, coh_check_seed(m, 0, skip + PAGE, 2));
	EXPECT_EQ(-1, coh_check_word(m, skip + PAGE, 4 * PAGE, 0x3c3c3c3c));
	EXPECT_EQ(-1, coh_check_seed(m, skip + 5 * PAGE,
				     HPAGE - skip - 5 * PAGE, 2));
	munmap(m, HPAGE);
}

/* A page in the middle of a THP loses its PMD mapping. */
FIXTURE(thp_split) {
	struct coh_dev d;
};

FIXTURE_VARIANT(thp_split) {
	bool mprotect;
};

FIXTURE_VARIANT_ADD(thp_split, munmap_one_page) {
	.mprotect = false,
};

FIXTURE_VARIANT_ADD(thp_split, mprotect_one_page) {
	.mprotect = true,
};

FIXTURE_SETUP(thp_split)
{
	COH_DEV_SETUP(&self->d);
}

FIXTURE_TEARDOWN_PARENT(thp_split)
{
	coh_dev_teardown(&self->d);
}

TEST_F(thp_split, device_data_correct_for_remaining_pages)
{
	const size_t hole = 200 * PAGE, rest = HPAGE - hole - PAGE;
	struct coh_dev *d = &self->d;
	struct uptr_stats b, a;
	unsigned char *m;
	__u32 h, hro;

	m = coh_map_thp(1);
	if (!m)
		SKIP(return, "no PMD-mapped THP for a MADV_HUGEPAGE range");
	ASSERT_EQ(0, uptr_create(d->fd, m, HPAGE, 0, &h));
	ASSERT_EQ(0, uptr_create(d->fd, m, HPAGE, DRM_UPTR_CREATE_READ_ONLY,
				 &hro));
	ASSERT_EQ(1, coh_read(d, h, 0, HPAGE));
	ASSERT_EQ(0, uptr_debugfs_stats(d->dir, &b));

	ASSERT_EQ(0, coh_busy_start(d, h, HPAGE, false));
	ASSERT_EQ(0, variant->mprotect ? mprotect(m + hole, PAGE, PROT_READ) :
					 munmap(m + hole, PAGE));
	EXPECT_EQ(1, coh_busy_done(d))
		TH_LOG("the split returned before the job using the huge page finished");
	ASSERT_EQ(1, coh_busy_end(d));
	EXPECT_EQ(-1, coh_check_seed(d->busy, 0, HPAGE, 1));

	/* Splitting the PMD invalidated the whole huge page. */
	ASSERT_EQ(0, uptr_debugfs_stats(d->dir, &a));
	EXPECT_LE((long long)HPAGES, a.pages_invalidated - b.pages_invalidated);
	EXPECT_LE(1, a.event_clear - b.event_clear);
	TH_LOG("AnonHugePages after the split: %ld kB", uptr_anon_huge_kb(m));

	EXPECT_EQ(variant->mprotect ? -EPERM : -EFAULT, coh_read(d, h, 0, HPAGE));
	ASSERT_EQ(1, coh_read(d, h, 0, hole));
	ASSERT_EQ(1, coh_read(d, h, hole + PAGE, rest));
	EXPECT_EQ(-1, coh_check_seed(d->bo, 0, hole, 1));
	EXPECT_EQ(-1, coh_check_seed(d->bo, hole + PAGE, rest, 1));

	/* The CPU writes the remaining pages, the device reads them. */
	coh_write_seed(m, 0, hole, 2);
	coh_write_seed(m, hole + PAGE, rest, 2);
	ASSERT_EQ(1, coh_read(d, h, 0, hole));
	ASSERT_EQ(1, coh_read(d, h, hole + PAGE, rest));
	EXPECT_EQ(-1, coh_check_seed(d->bo, 0, hole, 2));
	EXPECT_EQ(-1, coh_check_seed(d->bo, hole + PAGE, rest, 2));

	/* The device writes them, the CPU reads them. */
	ASSERT_EQ(1, coh_write(d, h, 0, hole, 0x5e5e5e5e));
	ASSERT_EQ(1, coh_write(d, h, hole + PAGE, rest, 0x5e5e5e5e));
	EXPECT_EQ(-1, coh_check_word(m, 0, hole, 0x5e5e5e5e));
	EXPECT_EQ(-1, coh_check_word(m, hole + PAGE, rest, 0x5e5e5e5e));

	if (variant->mprotect) {
		EXPECT_EQ(-EPERM, coh_write(d, h, hole, PAGE, 1));
		EXPECT_EQ(-1, coh_check_seed(m, hole, PAGE, 1));
		ASSERT_EQ(1, coh_read(d, hro, hole, PAGE));
		EXPECT_EQ(-1, coh_check_seed(d->bo, hole, PAGE, 1));
	} else {
		EXPECT_EQ(-EFAULT, coh_read(d, hro, hole, PAGE));
		munmap(m, hole);
		munmap(m + hole + PAGE, rest);
		return;
	}
	munmap(m, HPAGE);
}

TEST_F(coh, madv_collapse_of_small_pages_device_sees_same_data)
{
	struct coh_dev *d = &self->d;
	struct uptr_stats b, a;
	int ret, tries = 0;
	unsigned char *m;
	__u32 h;

	m = coh_map_huge_aligned(HPAGE);
	ASSERT_NE(NULL, m);
	uptr_fill_pattern(m, HPAGE, 1);
	if (uptr_anon_huge_kb(m) > 0)
		SKIP(return, "the range got a THP at fault time: nothing to collapse");
	ASSERT_EQ(0, uptr_create(d->fd, m, HPAGE, 0, &h));
	ASSERT_EQ(1, coh_read(d, h, 0, HPAGE));
	ASSERT_EQ(0, uptr_debugfs_stats(d->dir, &b));

	ASSERT_EQ(0, coh_busy_start(d, h, HPAGE, false));
	do {
		ret = madvise(m, HPAGE, MADV_COLLAPSE);
	} while (ret && errno == EAGAIN && ++tries < 5);
	if (ret && errno == EINVAL) {
		coh_busy_end(d);
		SKIP(return, "MADV_COLLAPSE not supported (EINVAL)");
	}
	ASSERT_EQ(0, ret) TH_LOG("MADV_COLLAPSE: %s", strerror(errno));
	EXPECT_EQ(1, coh_busy_done(d))
		TH_LOG("MADV_COLLAPSE returned before the job using the pages finished");
	ASSERT_EQ(1, coh_busy_end(d));
	EXPECT_EQ(-1, coh_check_seed(d->busy, 0, HPAGE, 1));
	EXPECT_LE((long)(HPAGE >> 10), uptr_anon_huge_kb(m));

	ASSERT_EQ(0, uptr_debugfs_stats(d->dir, &a));
	EXPECT_LE(1, a.event_clear - b.event_clear);
	EXPECT_LE((long long)HPAGES, a.pages_invalidated - b.pages_invalidated);

	ASSERT_EQ(1, coh_read(d, h, 0, HPAGE));
	EXPECT_EQ(-1, coh_check_seed(d->bo, 0, HPAGE, 1));
	ASSERT_EQ(0, uptr_debugfs_stats(d->dir, &b));
	EXPECT_LE((long long)HPAGES, b.pages_faulted - a.pages_faulted);
	coh_write_seed(m, 0, HPAGE, 2);
	ASSERT_EQ(1, coh_read(d, h, 0, HPAGE));
	EXPECT_EQ(-1, coh_check_seed(d->bo, 0, HPAGE, 2));
	ASSERT_EQ(1, coh_write(d, h, 0, HPAGE, 0xc011a95e));
	EXPECT_EQ(-1, coh_check_word(m, 0, HPAGE, 0xc011a95e));
	munmap(m, HPAGE);
}

#define KSM_PAGES	8U
#define KSM_SIZE	(KSM_PAGES * PAGE)

/* Is every page of @x merged with the same page of @y? */
static bool coh_ksm_merged(const unsigned char *x, const unsigned char *y,
			   bool pfns)
{
	unsigned int i;

	if (coh_read_ll(UPTR_KSM_DIR "pages_sharing") < KSM_PAGES)
		return false;
	for (i = 0; pfns && i < KSM_PAGES; i++)
		if (uptr_pfn(x + i * PAGE) != uptr_pfn(y + i * PAGE))
			return false;
	return true;
}

TEST_F_TIMEOUT(coh, ksm_device_write_breaks_merged_page_other_keeps_data, 120)
{
	struct coh_dev *d = &self->d;
	__u64 pfn_b[KSM_PAGES];
	struct uptr_stats b, a;
	unsigned char *x, *y;
	bool pfns, merged = false;
	unsigned int i;
	__u32 h, hro;
	int waited;

	if (access(UPTR_KSM_DIR "run", W_OK))
		SKIP(return, "no KSM (" UPTR_KSM_DIR "run)");
	x = uptr_map_anon(KSM_SIZE);
	y = uptr_map_anon(KSM_SIZE);
	ASSERT_NE(NULL, x);
	ASSERT_NE(NULL, y);
	uptr_fill_pattern(x, KSM_SIZE, 7);
	uptr_fill_pattern(y, KSM_SIZE, 7);
	if (madvise(x, KSM_SIZE, MADV_MERGEABLE))
		SKIP(return, "MADV_MERGEABLE: %s", strerror(errno));
	ASSERT_EQ(0, madvise(y, KSM_SIZE, MADV_MERGEABLE));
	ASSERT_EQ(0, uptr_create(d->fd, x, KSM_SIZE, 0, &h));
	ASSERT_EQ(0, uptr_create(d->fd, x, KSM_SIZE,
				 DRM_UPTR_CREATE_READ_ONLY, &hro));
	ASSERT_EQ(1, coh_read(d, h, 0, KSM_SIZE));
	ASSERT_EQ(1, coh_read(d, hro, 0, KSM_SIZE));
	pfns = uptr_pfn(x) != 0;
	ASSERT_EQ(0, uptr_debugfs_stats(d->dir, &b));

	ASSERT_EQ(0, coh_ksm_start(d));
	for (waited = 0; waited < 600; waited++) {
		merged = coh_ksm_merged(x, y, pfns);
		if (merged)
			break;
		usleep(100000);
	}
	ASSERT_TRUE(merged)
		TH_LOG("ksmd did not merge the buffers in 60 s: pages_sharing %lld",
		       coh_read_ll(UPTR_KSM_DIR "pages_sharing"));
	ASSERT_EQ(0, uptr_debugfs_stats(d->dir, &a));
	EXPECT_LE(1, a.event_clear - b.event_clear);
	EXPECT_LE(KSM_PAGES, a.pages_invalidated - b.pages_invalidated);
	for (i = 0; i < KSM_PAGES; i++)
		pfn_b[i] = uptr_pfn(y + i * PAGE);

	/* A device read through a read-only object keeps the pages merged. */
	ASSERT_EQ(1, coh_read(d, hro, 0, KSM_SIZE));
	EXPECT_EQ(-1, coh_check_seed(d->bo, 0, KSM_SIZE, 7));
	EXPECT_TRUE(coh_ksm_merged(x, y, pfns));

	/* A device write breaks the sharing: the data lands in x only. */
	ASSERT_EQ(1, coh_write(d, h, 0, KSM_SIZE, 0x4b534d21));
	EXPECT_EQ(-1, coh_check_word(x, 0, KSM_SIZE, 0x4b534d21));
	EXPECT_EQ(-1, coh_check_seed(y, 0, KSM_SIZE, 7))
		TH_LOG("the device wrote into the KSM page shared with y");
	for (i = 0; pfns && i < KSM_PAGES; i++) {
		EXPECT_NE(uptr_pfn(x + i * PAGE), uptr_pfn(y + i * PAGE));
		EXPECT_EQ(pfn_b[i], uptr_pfn(y + i * PAGE));
	}
	ASSERT_EQ(1, coh_read(d, hro, 0, KSM_SIZE));
	EXPECT_EQ(-1, coh_check_word(d->bo, 0, KSM_SIZE, 0x4b534d21));

	coh_ksm_stop(d);
	EXPECT_EQ(-1, coh_check_seed(y, 0, KSM_SIZE, 7));
	EXPECT_EQ(-1, coh_check_word(x, 0, KSM_SIZE, 0x4b534d21));
	munmap(x, KSM_SIZE);
	munmap(y, KSM_SIZE);
}

TEST_HARNESS_MAIN
