// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The uptr authors
 *
 * Coherence of userptr objects with the mm calls that change a mapping,
 * mostly of anonymous memory: munmap and mmap MAP_FIXED, mremap (move,
 * grow, shrink, DONTUNMAP), madvise (DONTNEED, FREE, PAGEOUT, COLD, REMOVE)
 * and mprotect. uptr_coherence_pages_test.c covers the pages that change
 * under a mapping that stays (fork, NUMA, THP, KSM).
 *
 * Each test changes the mapping or its pages, most of them while a job the
 * engine holds for a while uses the object, and then checks that the device
 * reads what the CPU wrote, that the CPU reads what the device wrote, and
 * that the driver's counters (uptr_stats, uptr_objects) show that the
 * invalidation and the refault really happened. The device side of the
 * fixtures (struct coh_dev) and its helpers are in uptr_coh.c.
 */
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "../../kselftest_harness.h"
#include "uptr_util.h"
#include "uptr_coh.h"

#define PAGE		UPTR_PAGE
#define NPAGES		16U
#define SIZE		(NPAGES * PAGE)
#define HPAGE		(2UL << 20)
#define BUSY_WORD	UPTR_COH_BUSY_WORD

/* /proc/self/pagemap */
#define PM_SWAP		0x4000000000000000ULL

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

/* Run the test on CPU 0 only, so that per-CPU LRU batches are drained. */
static void coh_pin_cpu0(void)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(0, &set);
	sched_setaffinity(0, sizeof(set), &set);
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
	COH_DEV_SETUP(&self->d);
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
	COH_DEV_SETUP(&self->d);
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

TEST_HARNESS_MAIN
