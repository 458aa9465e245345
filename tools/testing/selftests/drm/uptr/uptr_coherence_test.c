// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The uptr authors
 *
 * Coherence of userptr objects with CPU page-table changes, mostly on
 * anonymous memory: munmap and mmap MAP_FIXED, mremap (move, grow, shrink,
 * DONTUNMAP), madvise (DONTNEED, FREE, PAGEOUT, COLD, REMOVE), mprotect,
 * fork (COW, DONTFORK, WIPEONFORK, use from the child), NUMA migration
 * (move_pages, mbind), transparent huge pages (split, collapse) and KSM.
 *
 * Each test changes the mapping, most of them while a job the engine holds
 * for a while uses the object, and then checks that the device reads what
 * the CPU wrote, that the CPU reads what the device wrote, and that the
 * driver's counters (uptr_stats, uptr_objects) show that the invalidation
 * and the refault really happened.
 */
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/swap.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <linux/mempolicy.h>

#include "../../kselftest_harness.h"
#include "uptr_util.h"
#include "uptr_gate.h"

#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE	25
#endif

#define PAGE		UPTR_PAGE
#define NPAGES		16U
#define SIZE		(NPAGES * PAGE)
#define HPAGE		(2UL << 20)
#define HPAGES		(HPAGE / PAGE)
#define BUSY_WORD	0xb0b0b0b0U

/* /proc/self/pagemap */
#define PM_SWAP		0x4000000000000000ULL

#define KSM_DIR		"/sys/kernel/mm/ksm/"
#define ZRAM_DIR	"/sys/block/zram0/"
#define ZRAM_DEV	"/dev/zram0"

/* The device side of every fixture; shared with the parent's teardown. */
struct coh_dev {
	int fd;
	char dir[256];
	__u32 sync;
	/* device buffer the tests read objects into */
	__u32 hbo;
	unsigned char *bo;
	/* destination of the job that keeps an object busy */
	__u32 hbusy;
	unsigned char *busy;
	__u32 busy_sync;
	/* the gate that holds it back, and the counters when it was queued */
	struct uptr_gate gate;
	bool gate_on;
	__u32 gate_sync;
	long long busy_started0, busy_waits0;
	/* global state this test changed, undone by the teardown */
	bool swap_ours;
	bool ksm_ours;
	char ksm_saved[3][32];
};

static const char *const ksm_knobs[3] = {
	"run", "pages_to_scan", "sleep_millisecs",
};

static long long coh_read_ll(const char *path)
{
	char buf[64];

	if (uptr_read_str(path, buf, sizeof(buf)))
		return -1;
	return atoll(buf);
}

/* Offsets are relative to @base; the pattern byte of offset i is seed's. */
static void coh_write_seed(unsigned char *base, size_t off, size_t len,
			   unsigned int seed)
{
	size_t i;

	for (i = off; i < off + len; i++)
		base[i] = uptr_pattern_byte(i, seed);
}

/* First offset of [off, off + len) not holding @seed's pattern, or -1. */
static ssize_t coh_check_seed(const unsigned char *base, size_t off,
			      size_t len, unsigned int seed)
{
	size_t i;

	for (i = off; i < off + len; i++)
		if (base[i] != uptr_pattern_byte(i, seed))
			return i;
	return -1;
}

/* First offset of [off, off + len) whose 32-bit word is not @word, or -1. */
static ssize_t coh_check_word(const unsigned char *base, size_t off,
			      size_t len, __u32 word)
{
	size_t i;
	__u32 w;

	for (i = off; i < off + len; i += sizeof(w)) {
		memcpy(&w, base + i, sizeof(w));
		if (w != word)
			return i;
	}
	return -1;
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

static int coh_run1(struct coh_dev *d, __u32 op, __u32 src, __u64 soff,
		    __u32 dst, __u64 doff, __u64 len, __u32 pattern)
{
	struct uptr_batch j = {};

	uptr_batch_cmd(&j, op, src, soff, dst, doff, len, pattern);
	return uptr_batch_run(d->fd, d->sync, &j);
}

/*
 * The device reads [off, off + len) of @h into the device buffer at the
 * same offset, which is first overwritten with 0xee so that nothing left
 * from an earlier read can pass for the result. Returns the fence status
 * (1) or the submit's -errno.
 */
static int coh_read(struct coh_dev *d, __u32 h, __u64 off, __u64 len)
{
	memset(d->bo + off, 0xee, len);
	return coh_run1(d, DRM_UPTR_OP_COPY, h, off, d->hbo, off, len, 0);
}

/* The device writes @word over [off, off + len) of @h. */
static int coh_write(struct coh_dev *d, __u32 h, __u64 off, __u64 len,
		     __u32 word)
{
	return coh_run1(d, DRM_UPTR_OP_FILL, 0, 0, h, off, len, word);
}

/* The device sums [off, off + len) of @h. */
static int coh_sum(struct coh_dev *d, __u32 h, __u64 off, __u64 len,
		   __u64 *sum)
{
	int ret;

	memset(d->bo, 0xee, sizeof(*sum));
	ret = coh_run1(d, DRM_UPTR_OP_CHECKSUM, h, off, d->hbo, 0, len, 0);
	memcpy(sum, d->bo, sizeof(*sum));
	return ret;
}

/*
 * Queue a job on @h that keeps the object busy: a COPY of the first @len
 * bytes into the busy buffer, or a FILL of them with BUSY_WORD. A gate (a
 * sw_sync fence, see uptr_gate.h) holds it back until an invalidation is
 * seen waiting for its fence, so that the device is provably busy when the
 * mm call comes: the job is checked to be queued and not started. Returns
 * 0, the submit's -errno, or -EBUSY if the job was not held.
 */
static int coh_busy_start(struct coh_dev *d, __u32 h, __u64 len, bool write)
{
	struct uptr_batch j = {};
	int ret;

	if (!d->gate_on)
		return -ENOENT;
	ret = uptr_gate_close(&d->gate, d->fd, d->gate_sync);
	if (ret)
		return ret;
	if (write)
		uptr_batch_cmd(&j, DRM_UPTR_OP_FILL, 0, 0, h, 0, len, BUSY_WORD);
	else
		uptr_batch_cmd(&j, DRM_UPTR_OP_COPY, h, 0, d->hbusy, 0, len, 0);
	uptr_batch_in(&j, d->gate_sync, 0);
	j.out.handle = d->busy_sync;
	d->busy_started0 = uptr_debugfs_value("uptr_engine", "jobs_started");
	d->busy_waits0 = uptr_debugfs_value("uptr_engine", "invalidation_waits");
	if (d->busy_started0 < 0 || d->busy_waits0 < 0)
		return -ENOENT;
	ret = uptr_batch_submit(d->fd, &j);
	if (ret)
		return ret;
	if (uptr_syncobj_status(d->fd, d->busy_sync) != 0 ||
	    uptr_debugfs_value("uptr_engine", "jobs_started") != d->busy_started0)
		return -EBUSY;
	return uptr_gate_open_on_wait(&d->gate);
}

/*
 * Did the busy job run while an invalidation waited for it? 1 if it is
 * done, an invalidation counted a wait for a fence since it was queued and
 * the engine started exactly one job; 0 if not; or -errno.
 */
static int coh_busy_done(struct coh_dev *d)
{
	int ret = uptr_syncobj_status(d->fd, d->busy_sync);

	if (ret != 1)
		return ret;
	if (uptr_debugfs_value("uptr_engine", "invalidation_waits") <=
	    d->busy_waits0)
		return 0;
	return uptr_debugfs_value("uptr_engine", "jobs_started") ==
	       d->busy_started0 + 1;
}

/* Open the gate and wait for the busy job: its fence status. */
static int coh_busy_end(struct coh_dev *d)
{
	int ret;

	if (!d->gate_on)
		return -ENOENT;
	uptr_gate_join(&d->gate);
	uptr_gate_open(&d->gate);
	ret = uptr_syncobj_wait(d->fd, d->busy_sync, 0);
	return ret ? ret : uptr_syncobj_status(d->fd, d->busy_sync);
}

/* A counter of the first userptr object starting at @start, or -1. */
static long long coh_obj_stat(struct coh_dev *d, const void *start,
			      const char *name)
{
	char path[512], key[64], *line = NULL, *p;
	long long v = -1;
	size_t cap = 0;
	unsigned long s;
	FILE *f;

	snprintf(path, sizeof(path), "%s/uptr_objects", d->dir);
	snprintf(key, sizeof(key), " %s=", name);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (getline(&line, &cap, f) > 0) {
		if (sscanf(line, "start=0x%lx", &s) != 1 ||
		    s != (uintptr_t)start)
			continue;
		p = strstr(line, key);
		if (p)
			v = atoll(p + strlen(key));
		break;
	}
	free(line);
	fclose(f);
	return v;
}

/* Pages of [addr, addr + npages * PAGE) whose pagemap entry has @bit. */
static unsigned int coh_count_pm(const void *addr, unsigned int npages,
				 __u64 bit)
{
	unsigned int i, n = 0;

	for (i = 0; i < npages; i++)
		if (uptr_pagemap((const char *)addr + i * PAGE) & bit)
			n++;
	return n;
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

/* Run the test on CPU 0 only, so that per-CPU LRU batches are drained. */
static void coh_pin_cpu0(void)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(0, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

static int coh_swap_active(void)
{
	char line[256];
	int n = 0;
	FILE *f;

	f = fopen("/proc/swaps", "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		n++;
	fclose(f);
	return n > 1;
}

/*
 * Make sure some swap is on, setting up zram0 if there is none. Returns
 * NULL, or why there cannot be swap.
 */
static const char *coh_swap_on(struct coh_dev *d)
{
	char buf[32];

	if (coh_swap_active())
		return NULL;
	if (access(ZRAM_DIR, F_OK))
		uptr_read_str("/sys/class/zram-control/hot_add", buf,
			      sizeof(buf));
	if (access(ZRAM_DIR "disksize", W_OK) || access(ZRAM_DEV, F_OK))
		return "no zram0 to swap to (" ZRAM_DIR " or " ZRAM_DEV ")";
	uptr_write_str(ZRAM_DIR "reset", "1", 0);
	if (uptr_write_str(ZRAM_DIR "disksize", "64M", 0))
		return "cannot size zram0";
	if (system("mkswap " ZRAM_DEV " >/dev/null 2>&1"))
		return "mkswap " ZRAM_DEV " failed";
	if (swapon(ZRAM_DEV, 0))
		return "swapon " ZRAM_DEV " failed";
	d->swap_ours = true;
	return NULL;
}

static void coh_swap_off(struct coh_dev *d)
{
	swapoff(ZRAM_DEV);
	uptr_write_str(ZRAM_DIR "reset", "1", 0);
	d->swap_ours = false;
}

static int coh_ksm_start(struct coh_dev *d)
{
	char path[128];
	int i, ret;

	for (i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), KSM_DIR "%s", ksm_knobs[i]);
		ret = uptr_read_str(path, d->ksm_saved[i],
				    sizeof(d->ksm_saved[i]));
		if (ret)
			return ret;
	}
	d->ksm_ours = true;
	ret = uptr_write_str(KSM_DIR "pages_to_scan", "1000", 0);
	if (!ret)
		ret = uptr_write_str(KSM_DIR "sleep_millisecs", "10", 0);
	if (!ret)
		ret = uptr_write_str(KSM_DIR "run", "1", 0);
	return ret;
}

/* Unmerge everything, then restore the knobs as they were. */
static void coh_ksm_stop(struct coh_dev *d)
{
	char path[128];
	int i;

	uptr_write_str(KSM_DIR "run", "2", 0);
	for (i = 2; i >= 0; i--) {
		snprintf(path, sizeof(path), KSM_DIR "%s", ksm_knobs[i]);
		uptr_write_str(path, d->ksm_saved[i], 0);
	}
	d->ksm_ours = false;
}

/* Wait for a child; its exit status, or -1 if it did not exit. */
static int coh_wait_child(pid_t pid)
{
	int status;

	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

static void coh_dev_setup(struct __test_metadata *_metadata,
			  struct coh_dev *d)
{
	memset(d, 0, sizeof(*d));
	d->fd = uptr_open_render();
	if (d->fd < 0)
		SKIP(return, "no uptr render node");
	if (uptr_debugfs_dir(d->dir, sizeof(d->dir)))
		SKIP(return, "no uptr debugfs directory: the tests need its counters");
	ASSERT_EQ(0, uptr_bo_create(d->fd, HPAGE, &d->hbo, (void **)&d->bo));
	ASSERT_EQ(0, uptr_bo_create(d->fd, HPAGE, &d->hbusy,
				    (void **)&d->busy));
	ASSERT_EQ(0, uptr_syncobj_create(d->fd, &d->sync));
	ASSERT_EQ(0, uptr_syncobj_create(d->fd, &d->busy_sync));
	/* Before any userptr object: see uptr_gate.h. */
	ASSERT_EQ(0, uptr_gate_init(&d->gate));
	d->gate_on = true;
	ASSERT_EQ(0, uptr_syncobj_create(d->fd, &d->gate_sync));
}

/*
 * Runs in the test runner, also after a test died or timed out: only undo
 * global state. Memory and the DRM file went away with the test process.
 */
static void coh_dev_teardown(struct coh_dev *d)
{
	if (d->ksm_ours)
		coh_ksm_stop(d);
	if (d->swap_ours)
		coh_swap_off(d);
}

FIXTURE(coh) {
	struct coh_dev d;
};

FIXTURE_SETUP(coh)
{
	coh_dev_setup(_metadata, &self->d);
}

FIXTURE_TEARDOWN_PARENT(coh)
{
	coh_dev_teardown(&self->d);
}

/* munmap and mmap MAP_FIXED over part of an object or all of it. */
FIXTURE(replace) {
	struct coh_dev d;
};

FIXTURE_VARIANT(replace) {
	unsigned int first;
	unsigned int npages;
	bool munmap_first;
};

FIXTURE_VARIANT_ADD(replace, part) {
	.first = 4,
	.npages = 4,
};

FIXTURE_VARIANT_ADD(replace, all) {
	.first = 0,
	.npages = NPAGES,
};

FIXTURE_VARIANT_ADD(replace, last_page) {
	.first = NPAGES - 1,
	.npages = 1,
};

FIXTURE_VARIANT_ADD(replace, part_munmap_first) {
	.first = 4,
	.npages = 4,
	.munmap_first = true,
};

FIXTURE_VARIANT_ADD(replace, all_munmap_first) {
	.first = 0,
	.npages = NPAGES,
	.munmap_first = true,
};

FIXTURE_SETUP(replace)
{
	coh_dev_setup(_metadata, &self->d);
}

FIXTURE_TEARDOWN_PARENT(replace)
{
	coh_dev_teardown(&self->d);
}

TEST_F(replace, mmap_fixed_device_reads_new_pages_old_job_read_old)
{
	const size_t off = variant->first * PAGE, len = variant->npages * PAGE;
	struct coh_dev *d = &self->d;
	struct uptr_stats b, a;
	unsigned char *m, *p;
	__u32 h;

	m = uptr_map_anon(SIZE);
	ASSERT_NE(NULL, m);
	uptr_fill_pattern(m, SIZE, 1);
	ASSERT_EQ(0, uptr_create(d->fd, m, SIZE, 0, &h));
	ASSERT_EQ(1, coh_read(d, h, 0, SIZE));
	ASSERT_EQ(-1, coh_check_seed(d->bo, 0, SIZE, 1));
	ASSERT_EQ(0, uptr_debugfs_stats(d->dir, &b));

	ASSERT_EQ(0, coh_busy_start(d, h, SIZE, false));
	if (variant->munmap_first) {
		ASSERT_EQ(0, munmap(m + off, len));
		EXPECT_EQ(1, coh_busy_done(d))
			TH_LOG("munmap returned before the job using the pages finished");
		/* The hole cannot be used by the device... */
		EXPECT_EQ(-EFAULT, coh_read(d, h, off, len));
		EXPECT_EQ(-EFAULT, coh_write(d, h, 0, SIZE, 1));
	}
	p = mmap(m + off, len, PROT_READ | PROT_WRITE,
		 MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_EQ(m + off, p);
	EXPECT_EQ(1, coh_busy_done(d))
		TH_LOG("mmap(MAP_FIXED) returned before the job using the old pages finished");
	ASSERT_EQ(1, coh_busy_end(d));
	/* The job in flight read the old pages, whole. */
	EXPECT_EQ(-1, coh_check_seed(d->busy, 0, SIZE, 1));

	/* ...but the new pages can: fresh zeros, then what the CPU writes. */
	ASSERT_EQ(1, coh_read(d, h, 0, SIZE));
	EXPECT_EQ(-1, coh_check_word(d->bo, off, len, 0));
	coh_write_seed(m, off, len, 2);
	ASSERT_EQ(1, coh_read(d, h, 0, SIZE));
	EXPECT_EQ(-1, coh_check_seed(d->bo, 0, off, 1));
	EXPECT_EQ(-1, coh_check_seed(d->bo, off, len, 2));
	EXPECT_EQ(-1, coh_check_seed(d->bo, off + len, SIZE - off - len, 1));

	/* The device writes the new pages, the CPU reads them. */
	ASSERT_EQ(1, coh_write(d, h, off, len, 0x0badcafe));
	EXPECT_EQ(-1, coh_check_word(m, off, len, 0x0badcafe));
	EXPECT_EQ(-1, coh_check_seed(m, 0, off, 1));

	ASSERT_EQ(0, uptr_debugfs_stats(d->dir, &a));
	EXPECT_LE(1, a.event_unmap - b.event_unmap);
	EXPECT_LE(variant->npages, a.pages_invalidated - b.pages_invalidated);
	EXPECT_LE(variant->npages, a.pages_faulted - b.pages_faulted);
	munmap(m, SIZE);
}

TEST_F(coh, munmap_waits_for_device_then_every_use_efault)
{
	struct coh_dev *d = &self->d;
	struct uptr_debugfs_object o;
	struct uptr_stats b, a;
	long long submitted;
	unsigned char *m;
	__u64 sum;
	__u32 h;

	m = uptr_map_anon(SIZE);
	ASSERT_NE(NULL, m);
	uptr_fill_pattern(m, SIZE, 1);
	ASSERT_EQ(0, uptr_create(d->fd, m, SIZE, 0, &h));
	ASSERT_EQ(1, coh_read(d, h, 0, SIZE));
	ASSERT_LE(1, uptr_debugfs_objects(d->dir, (uintptr_t)m, &o));
	EXPECT_EQ(NPAGES, o.valid);
	ASSERT_EQ(0, uptr_debugfs_stats(d->dir, &b));

	ASSERT_EQ(0, coh_busy_start(d, h, SIZE, true));
	ASSERT_EQ(0, munmap(m, SIZE));
	EXPECT_EQ(1, coh_busy_done(d))
		TH_LOG("munmap returned before the job writing the pages finished");
	ASSERT_EQ(1, coh_busy_end(d));

	ASSERT_LE(1, uptr_debugfs_objects(d->dir, (uintptr_t)m, &o));
	EXPECT_EQ(0UL, o.valid);
	submitted = UPTR_COUNTER("uptr_engine", "jobs_submitted");
	EXPECT_EQ(-EFAULT, coh_read(d, h, 0, SIZE));
	EXPECT_EQ(-EFAULT, coh_read(d, h, SIZE - PAGE, PAGE));
	EXPECT_EQ(-EFAULT, coh_write(d, h, 0, PAGE, 1));
	EXPECT_EQ(-EFAULT, coh_sum(d, h, 0, SIZE, &sum));
	EXPECT_EQ(submitted, UPTR_COUNTER("uptr_engine", "jobs_submitted"));

	ASSERT_EQ(0, uptr_debugfs_stats(d->dir, &a));
	EXPECT_LE(1, a.event_unmap - b.event_unmap);
	EXPECT_LE(NPAGES, a.pages_invalidated - b.pages_invalidated);
}

TEST_F(coh, mremap_move_object_stays_on_old_addresses)
{
	struct coh_dev *d = &self->d;
	struct uptr_stats b, a;
	unsigned char *m, *dst, *q;
	__u32 h, h2;

	m = uptr_map_anon(SIZE);
	dst = uptr_map_anon(SIZE);
	ASSERT_NE(NULL, m);
	ASSERT_NE(NULL, dst);
	uptr_fill_pattern(m, SIZE, 1);
	ASSERT_EQ(0, uptr_create(d->fd, m, SIZE, 0, &h));
	ASSERT_EQ(1, coh_read(d, h, 0, SIZE));
	ASSERT_EQ(0, uptr_debugfs_stats(d->dir, &b));

	ASSERT_EQ(0, coh_busy_start(d, h, SIZE, false));
	q = mremap(m, SIZE, SIZE, MREMAP_MAYMOVE | MREMAP_FIXED, dst);
	ASSERT_EQ(dst, q);
	EXPECT_EQ(1, coh_busy_done(d))
		TH_LOG("mremap returned before the job using the pages finished");
	ASSERT_EQ(1, coh_busy_end(d));
	EXPECT_EQ(-1, coh_check_seed(d->busy, 0, SIZE, 1));

	ASSERT_EQ(0, uptr_debugfs_stats(d->dir, &a));
	EXPECT_LE(1, a.event_unmap - b.event_unmap);
	EXPECT_LE(NPAGES, a.pages_invalidated - b.pages_invalidated);

	/*
	 * The object mirrors addresses, not pages: it does not follow the
	 * move, and its old range is now a hole.
	 */
	EXPECT_EQ(-EFAULT, coh_read(d, h, 0, SIZE));
	EXPECT_EQ(-EFAULT, coh_write(d, h, 0, SIZE, 1));
	EXPECT_EQ(-1, coh_check_seed(q, 0, SIZE, 1));

	/* An object at the new addresses sees the moved pages. */
	ASSERT_EQ(0, uptr_create(d->fd, q, SIZE, 0, &h2));
	ASSERT_EQ(1, coh_read(d, h2, 0, SIZE));
	EXPECT_EQ(-1, coh_check_seed(d->bo, 0, SIZE, 1));

	/* New memory at the old addresses is what the old object uses. */
	ASSERT_EQ(m, mmap(m, SIZE, PROT_READ | PROT_WRITE,
			  MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
	uptr_fill_pattern(m, SIZE, 3);
	ASSERT_EQ(1, coh_read(d, h, 0, SIZE));
	EXPECT_EQ(-1, coh_check_seed(d->bo, 0, SIZE, 3));
	EXPECT_EQ(-1, coh_check_seed(q, 0, SIZE, 1));
	munmap(m, SIZE);
	munmap(q, SIZE);
}

TEST_F(coh, mremap_grow_in_place_keeps_device_pages)
{
	struct coh_dev *d = &self->d;
	long long inv, faulted;
	unsigned char *m;
	__u32 h, h2;

	/* Leave a hole after the object so that it can grow in place. */
	m = uptr_map_anon(2 * SIZE);
	ASSERT_NE(NULL, m);
	ASSERT_EQ(0, munmap(m + SIZE, SIZE));
	uptr_fill_pattern(m, SIZE, 1);
	ASSERT_EQ(0, uptr_create(d->fd, m, SIZE, 0, &h));
	ASSERT_EQ(1, coh_read(d, h, 0, SIZE));
	inv = coh_obj_stat(d, m, "pages_invalidated");
	faulted = coh_obj_stat(d, m, "pages_faulted");
	ASSERT_LE(0, inv);

	ASSERT_EQ(0, coh_busy_start(d, h, SIZE, false));
	ASSERT_EQ(m, mremap(m, SIZE, 2 * SIZE, 0));
	ASSERT_EQ(1, coh_busy_end(d));
	EXPECT_EQ(-1, coh_check_seed(d->busy, 0, SIZE, 1));

	/* Growing changes no page table entry of the range: no refault. */
	ASSERT_EQ(1, coh_read(d, h, 0, SIZE));
	EXPECT_EQ(-1, coh_check_seed(d->bo, 0, SIZE, 1));
	EXPECT_EQ(inv, coh_obj_stat(d, m, "pages_invalidated"));
	EXPECT_EQ(faulted, coh_obj_stat(d, m, "pages_faulted"));

	/* The CPU writes old and new part, an object over both sees them. */
	coh_write_seed(m, 0, 2 * SIZE, 2);
	ASSERT_EQ(1, coh_read(d, h, 0, SIZE));
	EXPECT_EQ(-1, coh_check_seed(d->bo, 0, SIZE, 2));
	ASSERT_EQ(0, uptr_create(d->fd, m, 2 * SIZE, 0, &h2));
	ASSERT_EQ(1, coh_read(d, h2, 0, 2 * SIZE));
	EXPECT_EQ(-1, coh_check_seed(d->bo, 0, 2 * SIZE, 2));
	ASSERT_EQ(1, coh_write(d, h2, SIZE, SIZE, 0x600d600d));
	EXPECT_EQ(-1, coh_check_word(m, SIZE, SIZE, 0x600d600d));
	munmap(m, 2 * SIZE);
}

TEST_F(coh, mremap_shrink_cut_part_efault_rest_works)
{
	struct coh_dev *d = &self->d;
	struct uptr_stats b, a;
	unsigned char *m;
	__u32 h;

	m = uptr_map_anon(SIZE);
	ASSERT_NE(NULL, m);
	uptr_fill_pattern(m, SIZE, 1);
	ASSERT_EQ(0, uptr_create(d->fd, m, SIZE, 0, &h));
	ASSERT_EQ(1, coh_read(d, h, 0, SIZE));
	ASSERT_EQ(0, uptr_debugfs_stats(d->dir, &b));

	ASSERT_EQ(0, coh_busy_start(d, h, SIZE, false));
	ASSERT_EQ(m, mremap(m, SIZE, SIZE / 2, 0));
	EXPECT_EQ(1, coh_busy_done(d))
		TH_LOG("mremap returned before the job using the cut pages finished");
	ASSERT_EQ(1, coh_busy_end(d));
	EXPECT_EQ(-1, coh_check_seed(d->busy, 0, SIZE, 1));

	ASSERT_EQ(0, uptr_debugfs_stats(d->dir, &a));
	EXPECT_LE(1, a.event_unmap - b.event_unmap);
	EXPECT_LE(NPAGES / 2, a.pages_invalidated - b.pages_invalidated);

	EXPECT_EQ(-EFAULT, coh_read(d, h, SIZE / 2, SIZE / 2));
	EXPECT_EQ(-EFAULT, coh_read(d, h, SIZE / 2 - PAGE, 2 * PAGE));
	EXPECT_EQ(-EFAULT, coh_write(d, h, SIZE - PAGE, PAGE, 1));
	ASSERT_EQ(1, coh_read(d, h, 0, SIZE / 2));
	EXPECT_EQ(-1, coh_check_seed(d->bo, 0, SIZE / 2, 1));
	ASSERT_EQ(1, coh_write(d, h, 0, SIZE / 2, 0x5151aaaa));
	EXPECT_EQ(-1, coh_check_word(m, 0, SIZE / 2, 0x5151aaaa));
	munmap(m, SIZE / 2);
}

TEST_F(coh, mremap_dontunmap_old_range_reads_zeros)
{
	struct coh_dev *d = &self->d;
	struct uptr_stats b, a;
	unsigned char *m, *q;
	__u32 h;

	m = uptr_map_anon(SIZE);
	ASSERT_NE(NULL, m);
	uptr_fill_pattern(m, SIZE, 1);
	ASSERT_EQ(0, uptr_create(d->fd, m, SIZE, 0, &h));
	ASSERT_EQ(1, coh_read(d, h, 0, SIZE));
	ASSERT_EQ(0, uptr_debugfs_stats(d->dir, &b));

	ASSERT_EQ(0, coh_busy_start(d, h, SIZE, false));
	q = mremap(m, SIZE, SIZE, MREMAP_MAYMOVE | MREMAP_DONTUNMAP, NULL);
	if (q == MAP_FAILED && errno == EINVAL) {
		coh_busy_end(d);
		SKIP(return, "MREMAP_DONTUNMAP not supported");
	}
	ASSERT_NE(MAP_FAILED, q);
	EXPECT_EQ(1, coh_busy_done(d))
		TH_LOG("mremap returned before the job using the pages finished");
	ASSERT_EQ(1, coh_busy_end(d));

	ASSERT_EQ(0, uptr_debugfs_stats(d->dir, &a));
	EXPECT_LE(1, a.event_unmap - b.event_unmap);
	EXPECT_LE(NPAGES, a.pages_invalidated - b.pages_invalidated);

	/* The old range stays mapped, but its pages went with the move. */
	ASSERT_EQ(1, coh_read(d, h, 0, SIZE));
	EXPECT_EQ(-1, coh_check_word(d->bo, 0, SIZE, 0));
	EXPECT_EQ(-1, coh_check_seed(q, 0, SIZE, 1));
	ASSERT_EQ(1, coh_write(d, h, 0, SIZE, 0x01d01d00));
	EXPECT_EQ(-1, coh_check_word(m, 0, SIZE, 0x01d01d00));
	EXPECT_EQ(-1, coh_check_seed(q, 0, SIZE, 1));
	munmap(m, SIZE);
	munmap(q, SIZE);
}

TEST_F(coh, madv_dontneed_device_reads_zeros_then_writes)
{
	struct coh_dev *d = &self->d;
	struct uptr_stats b, a;
	unsigned char *m;
	__u32 h;

	m = uptr_map_anon(SIZE);
	ASSERT_NE(NULL, m);
	uptr_fill_pattern(m, SIZE, 1);
	ASSERT_EQ(0, uptr_create(d->fd, m, SIZE, 0, &h));
	ASSERT_EQ(1, coh_read(d, h, 0, SIZE));
	ASSERT_EQ(0, uptr_debugfs_stats(d->dir, &b));

	ASSERT_EQ(0, coh_busy_start(d, h, SIZE, false));
	ASSERT_EQ(0, madvise(m + 4 * PAGE, 8 * PAGE, MADV_DONTNEED));
	EXPECT_EQ(1, coh_busy_done(d))
		TH_LOG("MADV_DONTNEED returned before the job using the pages finished");
	ASSERT_EQ(1, coh_busy_end(d));
	EXPECT_EQ(-1, coh_check_seed(d->busy, 0, SIZE, 1));

	ASSERT_EQ(1, coh_read(d, h, 0, SIZE));
	EXPECT_EQ(-1, coh_check_seed(d->bo, 0, 4 * PAGE, 1));
	EXPECT_EQ(-1, coh_check_word(d->bo, 4 * PAGE, 8 * PAGE, 0));
	EXPECT_EQ(-1, coh_check_seed(d->bo, 12 * PAGE, 4 * PAGE, 1));

	ASSERT_EQ(0, uptr_debugfs_stats(d->dir, &a));
	EXPECT_LE(1, a.event_clear - b.event_clear + a.event_unmap - b.event_unmap);
	EXPECT_LE(8, a.pages_invalidated - b.pages_invalidated);
	EXPECT_LE(8, a.pages_faulted - b.pages_faulted);

	ASSERT_EQ(1, coh_write(d, h, 4 * PAGE, 8 * PAGE, 0xa5a5a5a5));
	EXPECT_EQ(-1, coh_check_word(m, 4 * PAGE, 8 * PAGE, 0xa5a5a5a5));
	EXPECT_EQ(-1, coh_check_seed(m, 0, 4 * PAGE, 1));
	munmap(m, SIZE);
}

/*
 * The lost-dirty-bit case: MADV_FREE makes the pages clean and lazily
 * freeable, the device writes them through a writable PTE without any
 * CPU write (so no PTE becomes dirty), and reclaim then discards clean
 * lazyfree pages. The data survives only if the device's write made the
 * folios dirty. A second buffer without device write shows that reclaim
 * does discard what it may.
 */
TEST_F(coh, madv_free_device_write_without_cpu_write_survives_pageout)
{
	struct coh_dev *d = &self->d;
	struct uptr_stats b, a, c;
	const char *noswap;
	unsigned char *m, *ctl;
	__u32 h;

	coh_pin_cpu0();
	noswap = coh_swap_on(d);
	m = uptr_map_anon(SIZE);
	ctl = uptr_map_anon(SIZE);
	ASSERT_NE(NULL, m);
	ASSERT_NE(NULL, ctl);
	uptr_fill_pattern(m, SIZE, 1);
	uptr_fill_pattern(ctl, SIZE, 1);
	ASSERT_EQ(0, uptr_create(d->fd, m, SIZE, 0, &h));
	ASSERT_EQ(1, coh_read(d, h, 0, SIZE));
	ASSERT_EQ(0, uptr_debugfs_stats(d->dir, &b));

	ASSERT_EQ(0, madvise(m, SIZE, MADV_FREE));
	ASSERT_EQ(0, madvise(ctl, SIZE, MADV_FREE));
	/* Device write only: no CPU access between MADV_FREE and reclaim. */
	ASSERT_EQ(1, coh_write(d, h, 0, SIZE, 0xdeadbeef));
	ASSERT_EQ(0, uptr_debugfs_stats(d->dir, &c));
	ASSERT_EQ(0, madvise(m, SIZE, MADV_PAGEOUT));
	ASSERT_EQ(0, madvise(ctl, SIZE, MADV_PAGEOUT));
	ASSERT_EQ(0, uptr_debugfs_stats(d->dir, &a));

	/* Reclaim did discard the clean lazyfree control pages... */
	EXPECT_EQ(0U, coh_count_pm(ctl, NPAGES, PM_PRESENT | PM_SWAP))
		TH_LOG("MADV_PAGEOUT did not discard lazyfree pages: the test proves nothing");
	EXPECT_EQ(-1, coh_check_word(ctl, 0, SIZE, 0));
	/* ...and tried to unmap the device-written ones, which survived. */
	EXPECT_LE(1, a.event_clear - c.event_clear);
	EXPECT_LE(NPAGES, c.pages_invalidated - b.pages_invalidated);
	TH_LOG("folios_dirtied by the device write: %lld",
	       c.folios_dirtied - b.folios_dirtied);
	ASSERT_EQ(1, coh_read(d, h, 0, SIZE));
	EXPECT_EQ(-1, coh_check_word(d->bo, 0, SIZE, 0xdeadbeef))
		TH_LOG("device write lost by reclaim of MADV_FREE pages");
	EXPECT_EQ(-1, coh_check_word(m, 0, SIZE, 0xdeadbeef));

	/* With swap: the pages, now swap-backed, go to swap and come back. */
	if (noswap) {
		TH_LOG("no second reclaim through swap: %s", noswap);
		return;
	}
	ASSERT_EQ(0, madvise(m, SIZE, MADV_PAGEOUT));
	EXPECT_EQ(NPAGES, coh_count_pm(m, NPAGES, PM_SWAP));
	ASSERT_EQ(1, coh_read(d, h, 0, SIZE));
	EXPECT_EQ(-1, coh_check_word(d->bo, 0, SIZE, 0xdeadbeef));
	EXPECT_EQ(-1, coh_check_word(m, 0, SIZE, 0xdeadbeef));
}

TEST_F(coh, madv_free_then_pageout_device_write_survives)
{
	struct coh_dev *d = &self->d;
	struct uptr_stats b, a;
	const char *noswap;
	unsigned char *m;
	__u64 sum;
	__u32 h;

	coh_pin_cpu0();
	noswap = coh_swap_on(d);
	if (noswap)
		SKIP(return, "%s", noswap);
	m = uptr_map_anon(SIZE);
	ASSERT_NE(NULL, m);
	uptr_fill_pattern(m, SIZE, 1);
	ASSERT_EQ(0, uptr_create(d->fd, m, SIZE, 0, &h));
	ASSERT_EQ(1, coh_read(d, h, 0, SIZE));
	ASSERT_EQ(0, uptr_debugfs_stats(d->dir, &b));

	/* Reclaim discards the lazyfree pages. */
	ASSERT_EQ(0, madvise(m, SIZE, MADV_FREE));
	ASSERT_EQ(0, madvise(m, SIZE, MADV_PAGEOUT));
	EXPECT_EQ(0U, coh_count_pm(m, NPAGES, PM_PRESENT | PM_SWAP))
		TH_LOG("MADV_PAGEOUT did not discard the lazyfree pages");

	/* The device writes into the range, then reclaim swaps it out. */
	ASSERT_EQ(1, coh_write(d, h, 0, SIZE, 0x0ddba11));
	EXPECT_EQ(NPAGES, coh_count_pm(m, NPAGES, PM_PRESENT));
	ASSERT_EQ(0, madvise(m, SIZE, MADV_PAGEOUT));
	EXPECT_EQ(NPAGES, coh_count_pm(m, NPAGES, PM_SWAP));

	/* The device faults the pages back from swap with its data. */
	ASSERT_EQ(1, coh_sum(d, h, 0, SIZE, &sum));
	EXPECT_EQ((__u64)0x0ddba11 * (SIZE / 4), sum);
	ASSERT_EQ(1, coh_read(d, h, 0, SIZE));
	EXPECT_EQ(-1, coh_check_word(d->bo, 0, SIZE, 0x0ddba11));
	EXPECT_EQ(-1, coh_check_word(m, 0, SIZE, 0x0ddba11));

	ASSERT_EQ(0, uptr_debugfs_stats(d->dir, &a));
	EXPECT_LE(2, a.event_clear - b.event_clear);
	EXPECT_LE(2 * NPAGES, a.pages_invalidated - b.pages_invalidated);
	EXPECT_LE(2 * NPAGES, a.pages_faulted - b.pages_faulted);
	munmap(m, SIZE);
}

TEST_F(coh, madv_pageout_device_refaults_from_swap_both_ways)
{
	struct coh_dev *d = &self->d;
	struct uptr_stats b, a;
	const char *noswap;
	unsigned char *m;
	__u32 h;

	coh_pin_cpu0();
	noswap = coh_swap_on(d);
	if (noswap)
		SKIP(return, "%s", noswap);
	m = uptr_map_anon(SIZE);
	ASSERT_NE(NULL, m);
	uptr_fill_pattern(m, SIZE, 1);
	ASSERT_EQ(0, uptr_create(d->fd, m, SIZE, 0, &h));
	ASSERT_EQ(1, coh_read(d, h, 0, SIZE));
	ASSERT_EQ(0, uptr_debugfs_stats(d->dir, &b));

	ASSERT_EQ(0, coh_busy_start(d, h, SIZE, false));
	ASSERT_EQ(0, madvise(m, SIZE, MADV_PAGEOUT));
	EXPECT_EQ(1, coh_busy_done(d))
		TH_LOG("MADV_PAGEOUT returned before the job using the pages finished");
	ASSERT_EQ(1, coh_busy_end(d));
	EXPECT_EQ(-1, coh_check_seed(d->busy, 0, SIZE, 1));
	EXPECT_EQ(NPAGES, coh_count_pm(m, NPAGES, PM_SWAP));

	ASSERT_EQ(0, uptr_debugfs_stats(d->dir, &a));
	EXPECT_LE(1, a.event_clear - b.event_clear);
	EXPECT_LE(NPAGES, a.pages_invalidated - b.pages_invalidated);

	/* The device swaps the CPU's data in... */
	ASSERT_EQ(1, coh_read(d, h, 0, SIZE));
	EXPECT_EQ(-1, coh_check_seed(d->bo, 0, SIZE, 1));
	ASSERT_EQ(0, uptr_debugfs_stats(d->dir, &b));
	EXPECT_LE(NPAGES, b.pages_faulted - a.pages_faulted);

	/* ...and its own writes go to swap and come back to the CPU. */
	ASSERT_EQ(1, coh_write(d, h, 0, SIZE, 0x5a5a0f0f));
	ASSERT_EQ(0, madvise(m, SIZE, MADV_PAGEOUT));
	EXPECT_EQ(NPAGES, coh_count_pm(m, NPAGES, PM_SWAP));
	EXPECT_EQ(-1, coh_check_word(m, 0, SIZE, 0x5a5a0f0f));
	munmap(m, SIZE);
}

TEST_F(coh, madv_cold_keeps_device_pages_and_coherence)
{
	struct coh_dev *d = &self->d;
	long long inv, faulted;
	unsigned char *m;
	__u32 h;

	m = uptr_map_anon(SIZE);
	ASSERT_NE(NULL, m);
	uptr_fill_pattern(m, SIZE, 1);
	ASSERT_EQ(0, uptr_create(d->fd, m, SIZE, 0, &h));
	ASSERT_EQ(1, coh_read(d, h, 0, SIZE));
	inv = coh_obj_stat(d, m, "pages_invalidated");
	faulted = coh_obj_stat(d, m, "pages_faulted");

	ASSERT_EQ(0, coh_busy_start(d, h, SIZE, false));
	ASSERT_EQ(0, madvise(m, SIZE, MADV_COLD));
	ASSERT_EQ(1, coh_busy_end(d));
	EXPECT_EQ(-1, coh_check_seed(d->busy, 0, SIZE, 1));

	/* Deactivation is no page table change: nothing to invalidate. */
	EXPECT_EQ(inv, coh_obj_stat(d, m, "pages_invalidated"));
	coh_write_seed(m, 0, SIZE, 2);
	ASSERT_EQ(1, coh_read(d, h, 0, SIZE));
	EXPECT_EQ(-1, coh_check_seed(d->bo, 0, SIZE, 2));
	ASSERT_EQ(1, coh_write(d, h, 0, SIZE, 0xc01dc01d));
	EXPECT_EQ(-1, coh_check_word(m, 0, SIZE, 0xc01dc01d));
	EXPECT_EQ(faulted, coh_obj_stat(d, m, "pages_faulted"));
	munmap(m, SIZE);
}

/* MADV_REMOVE punches a hole in shmem, through a memfd or shared anon. */
FIXTURE(punch) {
	struct coh_dev d;
};

FIXTURE_VARIANT(punch) {
	bool memfd;
};

FIXTURE_VARIANT_ADD(punch, memfd) {
	.memfd = true,
};

FIXTURE_VARIANT_ADD(punch, shared_anon) {
	.memfd = false,
};

FIXTURE_SETUP(punch)
{
	coh_dev_setup(_metadata, &self->d);
}

FIXTURE_TEARDOWN_PARENT(punch)
{
	coh_dev_teardown(&self->d);
}

TEST_F(punch, madv_remove_device_reads_zeros_and_writes_page_cache)
{
	struct coh_dev *d = &self->d;
	unsigned char *m, *view = NULL;
	struct uptr_stats b, a;
	int mfd = -1;
	__u32 h;

	if (variant->memfd) {
		mfd = memfd_create("uptr-coherence", MFD_CLOEXEC);
		ASSERT_LE(0, mfd);
		ASSERT_EQ(0, ftruncate(mfd, SIZE));
		m = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
		view = mmap(NULL, SIZE, PROT_READ, MAP_SHARED, mfd, 0);
		ASSERT_NE(MAP_FAILED, view);
	} else {
		m = mmap(NULL, SIZE, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	}
	ASSERT_NE(MAP_FAILED, m);
	uptr_fill_pattern(m, SIZE, 1);
	ASSERT_EQ(0, uptr_create(d->fd, m, SIZE, 0, &h));
	ASSERT_EQ(1, coh_read(d, h, 0, SIZE));
	ASSERT_EQ(0, uptr_debugfs_stats(d->dir, &b));

	ASSERT_EQ(0, coh_busy_start(d, h, SIZE, false));
	ASSERT_EQ(0, madvise(m + 4 * PAGE, 4 * PAGE, MADV_REMOVE));
	EXPECT_EQ(1, coh_busy_done(d))
		TH_LOG("MADV_REMOVE returned before the job using the pages finished");
	ASSERT_EQ(1, coh_busy_end(d));
	EXPECT_EQ(-1, coh_check_seed(d->busy, 0, SIZE, 1));

	ASSERT_EQ(1, coh_read(d, h, 0, SIZE));
	EXPECT_EQ(-1, coh_check_seed(d->bo, 0, 4 * PAGE, 1));
	EXPECT_EQ(-1, coh_check_word(d->bo, 4 * PAGE, 4 * PAGE, 0));
	EXPECT_EQ(-1, coh_check_seed(d->bo, 8 * PAGE, 8 * PAGE, 1));
	ASSERT_EQ(0, uptr_debugfs_stats(d->dir, &a));
	EXPECT_LE(1, a.event_clear - b.event_clear);
	EXPECT_LE(4, a.pages_invalidated - b.pages_invalidated);

	/* The device writes the new page cache pages: every view sees it. */
	ASSERT_EQ(1, coh_write(d, h, 4 * PAGE, 4 * PAGE, 0x4011e000));
	EXPECT_EQ(-1, coh_check_word(m, 4 * PAGE, 4 * PAGE, 0x4011e000));
	if (view) {
		EXPECT_EQ(-1, coh_check_word(view, 4 * PAGE, 4 * PAGE,
					     0x4011e000));
		EXPECT_EQ(-1, coh_check_seed(view, 0, 4 * PAGE, 1));
		munmap(view, SIZE);
		close(mfd);
	}
	munmap(m, SIZE);
}

TEST_F(coh, mprotect_read_only_device_write_and_read_eperm_memory_untouched)
{
	struct coh_dev *d = &self->d;
	struct uptr_stats b, a;
	unsigned char *m;
	__u32 h, hro;
	__u64 sum;

	m = uptr_map_anon(SIZE);
	ASSERT_NE(NULL, m);
	uptr_fill_pattern(m, SIZE, 1);
	ASSERT_EQ(0, uptr_create(d->fd, m, SIZE, 0, &h));
	ASSERT_EQ(0, uptr_create(d->fd, m, SIZE, DRM_UPTR_CREATE_READ_ONLY,
				 &hro));
	ASSERT_EQ(1, coh_read(d, h, 0, SIZE));
	ASSERT_EQ(1, coh_read(d, hro, 0, SIZE));
	ASSERT_EQ(0, uptr_debugfs_stats(d->dir, &b));

	ASSERT_EQ(0, coh_busy_start(d, h, SIZE, false));
	ASSERT_EQ(0, mprotect(m, SIZE, PROT_READ));
	EXPECT_EQ(1, coh_busy_done(d))
		TH_LOG("mprotect returned before the job using the pages finished");
	ASSERT_EQ(1, coh_busy_end(d));

	ASSERT_EQ(0, uptr_debugfs_stats(d->dir, &a));
	EXPECT_LE(1, a.event_protection_vma - b.event_protection_vma);
	EXPECT_LE(NPAGES, a.pages_invalidated - b.pages_invalidated);

	/*
	 * A writable object faults with write access whatever the command
	 * does with it, so reads through it fail like writes.
	 */
	EXPECT_EQ(-EPERM, coh_write(d, h, 0, SIZE, 0xbad0bad0));
	EXPECT_EQ(-EPERM, coh_write(d, h, SIZE - PAGE, PAGE, 0xbad0bad0));
	EXPECT_EQ(-EPERM, coh_read(d, h, 0, PAGE));
	EXPECT_EQ(-EPERM, coh_sum(d, h, 0, SIZE, &sum));
	EXPECT_EQ(-1, coh_check_seed(m, 0, SIZE, 1));
	/* A read-only object over the same memory still reads it. */
	ASSERT_EQ(1, coh_read(d, hro, 0, SIZE));
	EXPECT_EQ(-1, coh_check_seed(d->bo, 0, SIZE, 1));

	/* Write access back: the device writes again. */
	ASSERT_EQ(0, mprotect(m, SIZE, PROT_READ | PROT_WRITE));
	ASSERT_EQ(1, coh_write(d, h, 0, SIZE, 0x77aa77aa));
	EXPECT_EQ(-1, coh_check_word(m, 0, SIZE, 0x77aa77aa));
	ASSERT_EQ(1, coh_read(d, hro, 0, SIZE));
	EXPECT_EQ(-1, coh_check_word(d->bo, 0, SIZE, 0x77aa77aa));
	munmap(m, SIZE);
}

TEST_F(coh, mprotect_none_efault_then_rw_restores_cpu_data)
{
	struct coh_dev *d = &self->d;
	struct uptr_stats b, a;
	unsigned char *m;
	__u32 h, hro;

	m = uptr_map_anon(SIZE);
	ASSERT_NE(NULL, m);
	uptr_fill_pattern(m, SIZE, 1);
	ASSERT_EQ(0, uptr_create(d->fd, m, SIZE, 0, &h));
	ASSERT_EQ(0, uptr_create(d->fd, m, SIZE, DRM_UPTR_CREATE_READ_ONLY,
				 &hro));
	ASSERT_EQ(1, coh_read(d, h, 0, SIZE));
	ASSERT_EQ(0, uptr_debugfs_stats(d->dir, &b));

	ASSERT_EQ(0, coh_busy_start(d, h, SIZE, true));
	ASSERT_EQ(0, mprotect(m + 2 * PAGE, 4 * PAGE, PROT_NONE));
	EXPECT_EQ(1, coh_busy_done(d))
		TH_LOG("mprotect returned before the job writing the pages finished");
	ASSERT_EQ(1, coh_busy_end(d));
	ASSERT_EQ(0, uptr_debugfs_stats(d->dir, &a));
	EXPECT_LE(1, a.event_protection_vma - b.event_protection_vma);
	EXPECT_LE(4, a.pages_invalidated - b.pages_invalidated);

	EXPECT_EQ(-EFAULT, coh_read(d, h, 0, SIZE));
	EXPECT_EQ(-EFAULT, coh_read(d, hro, 2 * PAGE, PAGE));
	EXPECT_EQ(-EFAULT, coh_write(d, h, 5 * PAGE, PAGE, 1));
	/* The pages around the hole still work. */
	ASSERT_EQ(1, coh_read(d, hro, 6 * PAGE, 10 * PAGE));
	EXPECT_EQ(-1, coh_check_word(d->bo, 6 * PAGE, 10 * PAGE, BUSY_WORD));

	ASSERT_EQ(0, mprotect(m + 2 * PAGE, 4 * PAGE, PROT_READ | PROT_WRITE));
	/* The data the device wrote before PROT_NONE is intact. */
	EXPECT_EQ(-1, coh_check_word(m, 0, SIZE, BUSY_WORD));
	coh_write_seed(m, 0, SIZE, 4);
	ASSERT_EQ(1, coh_read(d, h, 0, SIZE));
	EXPECT_EQ(-1, coh_check_seed(d->bo, 0, SIZE, 4));
	ASSERT_EQ(1, coh_write(d, h, 2 * PAGE, 4 * PAGE, 0x12345678));
	EXPECT_EQ(-1, coh_check_word(m, 2 * PAGE, 4 * PAGE, 0x12345678));
	munmap(m, SIZE);
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
	coh_dev_setup(_metadata, &self->d);
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

	if (coh_read_ll(KSM_DIR "pages_sharing") < KSM_PAGES)
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

	if (access(KSM_DIR "run", W_OK))
		SKIP(return, "no KSM (" KSM_DIR "run)");
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
		       coh_read_ll(KSM_DIR "pages_sharing"));
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
