// SPDX-License-Identifier: GPL-2.0-only
/*
 * Copyright (C) 2026 The uptr authors
 */

#include <kunit/static_stub.h>
#include <kunit/test.h>
#include <linux/dma-fence.h>
#include <linux/hmm.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/sched/mm.h>
#include <linux/uaccess.h>
#include <linux/workqueue.h>

#include "../uptr_mirror.h"
#include "uptr_kunit.h"

/**
 * DOC: KUnit tests for the HMM mirror
 *
 * Each test owns a user address space (kunit_vm_mmap(), or its own mm when
 * the mm must go away) and checks, through the mirror's counters and the
 * bytes of the committed pages, that fault-in, commit, retry, range-granular
 * invalidation, mm teardown and dirty marking behave as documented. An
 * invalidation is made to race a commit by redirecting uptr_mirror_commit()
 * to a KUnit static stub (kunit_activate_static_stub()) that changes the
 * mapping first.
 */

#define STAT(m, s)	uptr_mirror_stat_read(m, UPTR_STAT_##s)
#define EVENTS(m, e)	atomic64_read(&(m)->stats.events[MMU_NOTIFY_##e])

/* The page backing valid page @pgoff, or NULL; under the notifier lock. */
static struct page *uptr_page_locked(struct uptr_mirror *mirror,
				     unsigned long pgoff)
{
	struct page *page;

	if (!uptr_mirror_get_pages_locked(mirror, pgoff, 1, &page))
		return NULL;
	return page;
}

/*
 * Check that page i of [first, first + n) holds seed + i. Nothing is
 * asserted under the notifier lock: a failing KUnit expectation allocates,
 * which lockdep rightly reports under a lock that reclaim takes.
 */
static void uptr_expect_pages(struct kunit *test, struct uptr_mirror *mirror,
			      unsigned long first, unsigned long n, u32 seed)
{
	bool *ok = kunit_kcalloc(test, n, sizeof(*ok), GFP_KERNEL);
	unsigned long i;

	KUNIT_ASSERT_NOT_NULL(test, ok);
	mutex_lock(mirror->lock);
	for (i = 0; i < n; i++) {
		struct page *page = uptr_page_locked(mirror, first + i);

		ok[i] = page && uptr_test_page_has(page, seed + i);
	}
	mutex_unlock(mirror->lock);

	for (i = 0; i < n; i++)
		KUNIT_EXPECT_TRUE_MSG(test, ok[i], "page %lu: missing or wrong data",
				      first + i);
}

/* uptr_mirror_range_valid_locked(), taking the lock. */
static bool uptr_range_valid(struct uptr_mirror *mirror, unsigned long first,
			     unsigned long n, unsigned long seq)
{
	bool valid;

	mutex_lock(mirror->lock);
	valid = uptr_mirror_range_valid_locked(mirror, first, n, seq);
	mutex_unlock(mirror->lock);
	return valid;
}

/* Is page @pgoff valid, i.e. does it have a committed page? */
static bool uptr_page_valid(struct uptr_mirror *mirror, unsigned long pgoff)
{
	bool valid;

	mutex_lock(mirror->lock);
	valid = uptr_page_locked(mirror, pgoff);
	mutex_unlock(mirror->lock);
	return valid;
}

/* Is the folio of valid page @pgoff dirty? */
static bool uptr_page_dirty(struct uptr_mirror *mirror, unsigned long pgoff)
{
	struct page *page;
	bool dirty;

	mutex_lock(mirror->lock);
	page = uptr_page_locked(mirror, pgoff);
	dirty = page && folio_test_dirty(page_folio(page));
	mutex_unlock(mirror->lock);
	return dirty;
}

static void uptr_mirror_test_fault_commit(struct kunit *test)
{
	unsigned long addr = uptr_test_map(test, 16, PROT_READ | PROT_WRITE);
	struct uptr_mirror *mirror;
	unsigned long seq;

	uptr_test_fill(test, addr, 16, 0x1000);
	mirror = uptr_test_mirror(test, addr, 16, true);
	KUNIT_EXPECT_EQ(test, mirror->nvalid, 0);

	KUNIT_ASSERT_EQ(test, uptr_mirror_populate(mirror, 0, 16, &seq), 0);
	KUNIT_EXPECT_EQ(test, mirror->nvalid, 16);
	KUNIT_EXPECT_EQ(test, STAT(mirror, PAGES_FAULTED), 16);
	KUNIT_EXPECT_EQ(test, STAT(mirror, COMMITS), 1);
	KUNIT_EXPECT_EQ(test, STAT(mirror, RETRIES), 0);
	uptr_expect_pages(test, mirror, 0, 16, 0x1000);

	KUNIT_EXPECT_TRUE(test, uptr_range_valid(mirror, 0, 16, seq));

	/* Everything is valid: a second populate faults nothing. */
	KUNIT_ASSERT_EQ(test, uptr_mirror_populate(mirror, 4, 8, &seq), 0);
	KUNIT_EXPECT_EQ(test, STAT(mirror, FAULT_CALLS), 1);
	KUNIT_EXPECT_EQ(test, STAT(mirror, PAGES_FAULTED), 16);

	/* Out of range requests are refused. */
	KUNIT_EXPECT_EQ(test, uptr_mirror_populate(mirror, 16, 1, NULL), -EINVAL);
	KUNIT_EXPECT_EQ(test, uptr_mirror_populate(mirror, 8, 9, NULL), -EINVAL);
	KUNIT_EXPECT_EQ(test, uptr_mirror_populate(mirror, 0, 0, NULL), -EINVAL);
}

/**
 * struct uptr_race_ctx - an mm operation that races every commit
 * @test: the test
 * @addr: start of the mirrored range
 * @npages: pages in it
 * @calls: commits so far
 * @race: what to do before each commit, once @calls counts it
 */
struct uptr_race_ctx {
	struct kunit *test;
	unsigned long addr;
	unsigned long npages;
	int calls;
	void (*race)(struct uptr_race_ctx *ctx);
};

/*
 * Replaces uptr_mirror_commit(), which runs after hmm_range_fault() with
 * no lock held: run the race, then the real commit, with the redirection
 * off for the call (it would call this function again).
 */
static int uptr_race_commit(struct uptr_mirror_fault *f)
{
	struct kunit *test = kunit_get_current_test();
	struct uptr_race_ctx *ctx = test->priv;
	int ret;

	ctx->calls++;
	ctx->race(ctx);
	kunit_deactivate_static_stub(test, uptr_mirror_commit);
	ret = uptr_mirror_commit(f);
	kunit_activate_static_stub(test, uptr_mirror_commit, uptr_race_commit);
	return ret;
}

/* Make @ctx race every commit of the fault-ins that follow. */
static void uptr_race_start(struct kunit *test, struct uptr_race_ctx *ctx)
{
	test->priv = ctx;
	kunit_activate_static_stub(test, uptr_mirror_commit, uptr_race_commit);
}

static void uptr_race_stop(struct kunit *test)
{
	kunit_deactivate_static_stub(test, uptr_mirror_commit);
	test->priv = NULL;
}

/*
 * Before the first commit: replace the whole range with new anonymous
 * memory holding a new pattern.
 */
static void uptr_race_replace(struct uptr_race_ctx *ctx)
{
	unsigned long len = ctx->npages << PAGE_SHIFT, addr;

	if (ctx->calls > 1)
		return;
	KUNIT_ASSERT_EQ(ctx->test, vm_munmap(ctx->addr, len), 0);
	addr = vm_mmap(NULL, ctx->addr, len, PROT_READ | PROT_WRITE,
		       MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, 0);
	KUNIT_ASSERT_EQ(ctx->test, addr, ctx->addr);
	uptr_test_fill(ctx->test, ctx->addr, ctx->npages, 0x2000);
}

static void uptr_mirror_test_race_retry(struct kunit *test)
{
	struct uptr_race_ctx ctx = { .test = test, .npages = 8,
				     .race = uptr_race_replace };
	struct uptr_mirror *mirror;
	unsigned long seq;

	ctx.addr = uptr_test_map(test, ctx.npages, PROT_READ | PROT_WRITE);
	uptr_test_fill(test, ctx.addr, ctx.npages, 0x1000);
	mirror = uptr_test_mirror(test, ctx.addr, ctx.npages, true);

	uptr_race_start(test, &ctx);
	KUNIT_ASSERT_EQ(test, uptr_mirror_populate(mirror, 0, ctx.npages, &seq), 0);
	uptr_race_stop(test);

	/* The first fault-in raced the munmap: exactly one retry. */
	KUNIT_EXPECT_EQ(test, ctx.calls, 2);
	KUNIT_EXPECT_EQ(test, STAT(mirror, RETRIES), 1);
	KUNIT_EXPECT_EQ(test, STAT(mirror, COMMITS), 1);
	KUNIT_EXPECT_GE(test, EVENTS(mirror, UNMAP), 1);
	kunit_info(test, "retries %llu, invalidations %llu\n",
		   STAT(mirror, RETRIES), STAT(mirror, INVALIDATIONS));
	/* The committed pages are the new ones, with the new data. */
	uptr_expect_pages(test, mirror, 0, ctx.npages, 0x2000);
}

/* Before every commit: invalidate page @npages - 1. */
static void uptr_race_far(struct uptr_race_ctx *ctx)
{
	unsigned long last = ctx->addr + ((ctx->npages - 1) << PAGE_SHIFT);

	KUNIT_ASSERT_EQ(ctx->test, vm_munmap(last, PAGE_SIZE), 0);
	KUNIT_ASSERT_EQ(ctx->test, vm_mmap(NULL, last, PAGE_SIZE,
					   PROT_READ | PROT_WRITE,
					   MAP_FIXED | MAP_PRIVATE |
					   MAP_ANONYMOUS, 0), last);
}

/*
 * A fresh chunk's sequence must not look newer than the fault-in's, however
 * far the notifier's sequence has come (2^31 steps on a 32-bit kernel):
 * with the notifier's sequence moved half way round, an invalidation in
 * another chunk of the object must cost the first chunk no retry.
 */
static void uptr_mirror_test_seq_wrap(struct kunit *test)
{
	struct uptr_race_ctx ctx = { .test = test,
				     .npages = 2 * UPTR_MIRROR_CHUNK_PAGES,
				     .race = uptr_race_far };
	struct uptr_mirror *mirror;
	unsigned long seq;

	ctx.addr = uptr_test_map(test, ctx.npages, PROT_READ | PROT_WRITE);
	mirror = uptr_test_mirror(test, ctx.addr, ctx.npages, false);
	/* What the sequence reads after about LONG_MAX invalidations. */
	WRITE_ONCE(mirror->notifier.invalidate_seq, (ULONG_MAX >> 1) + 2);

	/* The first page lies in the first chunk, the last one in another. */
	uptr_race_start(test, &ctx);
	KUNIT_ASSERT_EQ(test, uptr_mirror_populate(mirror, 0, 1, &seq), 0);
	uptr_race_stop(test);

	/* The race happened (an invalidation between fault and commit)... */
	KUNIT_EXPECT_EQ(test, ctx.calls, 1);
	KUNIT_EXPECT_GE(test, STAT(mirror, INVALIDATIONS), 1);
	/* ...and did not hit the chunk, so it cost nothing. */
	KUNIT_EXPECT_EQ(test, STAT(mirror, RETRIES), 0);
	KUNIT_EXPECT_EQ(test, STAT(mirror, COMMITS), 1);
}

/* Map @npages at @addr, replacing what is there, as its own VMA. */
static void uptr_remap(struct kunit *test, unsigned long addr,
		       unsigned long npages, unsigned long prot)
{
	KUNIT_ASSERT_EQ(test, vm_mmap(NULL, addr, npages << PAGE_SHIFT, prot,
				      MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, 0),
			addr);
}

static void uptr_mirror_test_partial_munmap(struct kunit *test)
{
	const unsigned long npages = 1024, hole = 300;
	unsigned long addr = uptr_test_map(test, npages, PROT_READ | PROT_WRITE);
	unsigned long hole_addr = addr + (hole << PAGE_SHIFT);
	struct uptr_mirror *mirror;
	unsigned long seq, i;

	/*
	 * The four pages get a VMA of their own (PROT_EXEC keeps it from
	 * merging), so that unmapping them splits no VMA: splitting one at an
	 * address that is not PMD aligned makes the kernel invalidate the
	 * whole 2 MiB around it (see uptr_mirror_test_split_vma).
	 */
	uptr_remap(test, hole_addr, 4, PROT_READ | PROT_WRITE | PROT_EXEC);
	uptr_test_fill(test, addr, npages, 0);
	mirror = uptr_test_mirror(test, addr, npages, true);
	KUNIT_ASSERT_EQ(test, uptr_mirror_populate(mirror, 0, npages, &seq), 0);
	KUNIT_ASSERT_EQ(test, mirror->nvalid, npages);

	KUNIT_ASSERT_EQ(test, vm_munmap(hole_addr, 4 << PAGE_SHIFT), 0);
	/* Exactly the four pages went; the rest stays valid. */
	KUNIT_EXPECT_EQ(test, mirror->nvalid, npages - 4);
	KUNIT_EXPECT_EQ(test, STAT(mirror, PAGES_INVALIDATED), 4);
	KUNIT_EXPECT_EQ(test, STAT(mirror, INVALIDATIONS), 1);
	KUNIT_EXPECT_EQ(test, EVENTS(mirror, UNMAP), 1);
	KUNIT_EXPECT_FALSE(test, uptr_range_valid(mirror, 0, npages, seq));
	KUNIT_EXPECT_TRUE(test, uptr_range_valid(mirror, 0, hole, seq));
	KUNIT_EXPECT_TRUE(test, uptr_range_valid(mirror, hole + 4,
						 npages - hole - 4, seq));
	for (i = hole - 1; i < hole + 5; i++) {
		bool inside = i >= hole && i < hole + 4;

		KUNIT_EXPECT_EQ_MSG(test, uptr_page_valid(mirror, i), !inside,
				    "page %lu", i);
	}

	/* A hole is a hole: -EFAULT, and the rest is untouched. */
	KUNIT_EXPECT_EQ(test, uptr_mirror_populate(mirror, 0, npages, NULL), -EFAULT);
	KUNIT_EXPECT_EQ(test, mirror->nvalid, npages - 4);

	/* Map it again: the next use faults in those four pages only. */
	uptr_remap(test, hole_addr, 4, PROT_READ | PROT_WRITE | PROT_EXEC);
	uptr_test_fill(test, hole_addr, 4, 0x5000);
	KUNIT_ASSERT_EQ(test, uptr_mirror_populate(mirror, 0, npages, NULL), 0);
	KUNIT_EXPECT_EQ(test, STAT(mirror, PAGES_FAULTED), npages + 4);
	KUNIT_EXPECT_EQ(test, mirror->nvalid, npages);
	uptr_expect_pages(test, mirror, hole, 4, 0x5000);
	uptr_expect_pages(test, mirror, hole + 4, 4, hole + 4);
}

/*
 * Unmapping one page from the middle of a VMA splits it; with THP built in
 * the kernel then invalidates the PMD-sized block around each split point
 * (MMU_NOTIFY_CLEAR), even without a huge page there. The mirror drops
 * what the kernel invalidates, and nothing outside it.
 */
static void uptr_mirror_test_split_vma(struct kunit *test)
{
	const unsigned long npages = 3 * UPTR_MIRROR_CHUNK_PAGES;
	unsigned long addr = uptr_test_map(test, npages, PROT_READ | PROT_WRITE);
	unsigned long page = UPTR_MIRROR_CHUNK_PAGES + 7, first, last;
	unsigned long vpn = (addr >> PAGE_SHIFT) + page;
	struct uptr_mirror *mirror;
	u64 dropped;

	uptr_test_fill(test, addr, npages, 0);
	mirror = uptr_test_mirror(test, addr, npages, true);
	KUNIT_ASSERT_EQ(test, uptr_mirror_populate(mirror, 0, npages, NULL), 0);
	KUNIT_ASSERT_EQ(test, vm_munmap(addr + (page << PAGE_SHIFT), PAGE_SIZE), 0);

	/* At most the PMD blocks holding the two split points went. */
	first = round_down(vpn, UPTR_MIRROR_CHUNK_PAGES) - (addr >> PAGE_SHIFT);
	last = round_up(vpn + 1, UPTR_MIRROR_CHUNK_PAGES) - (addr >> PAGE_SHIFT);
	dropped = STAT(mirror, PAGES_INVALIDATED);
	kunit_info(test, "one page unmapped, %llu dropped\n", dropped);
	KUNIT_EXPECT_GE(test, dropped, 1);
	KUNIT_EXPECT_LE(test, dropped, last - first);
	KUNIT_EXPECT_EQ(test, mirror->nvalid, npages - dropped);
	KUNIT_EXPECT_FALSE(test, uptr_page_valid(mirror, page));
	if (first)
		KUNIT_EXPECT_TRUE(test, uptr_page_valid(mirror, first - 1));
	if (last < npages)
		KUNIT_EXPECT_TRUE(test, uptr_page_valid(mirror, last));
}

static unsigned long uptr_nr_chunks(struct uptr_mirror *mirror)
{
	struct uptr_mirror_chunk *chunk;
	unsigned long index, n = 0;

	xa_for_each(&mirror->chunks, index, chunk)
		n++;
	return n;
}

/* A 4 KiB access to a 1 GiB object costs one page and one chunk. */
static void uptr_mirror_test_large_object(struct kunit *test)
{
	const unsigned long npages = SZ_1G >> PAGE_SHIFT, mid = npages / 2;
	unsigned long addr = uptr_test_map(test, npages, PROT_READ | PROT_WRITE);
	struct uptr_mirror *mirror = uptr_test_mirror(test, addr, npages, true);

	KUNIT_ASSERT_EQ(test, uptr_mirror_populate(mirror, mid, 1, NULL), 0);
	KUNIT_EXPECT_EQ(test, STAT(mirror, PAGES_FAULTED), 1);
	KUNIT_EXPECT_EQ(test, uptr_nr_chunks(mirror), 1);
	KUNIT_EXPECT_EQ(test, mirror->nvalid, 1);

	/* Unmapping a page elsewhere drops nothing. */
	KUNIT_ASSERT_EQ(test, vm_munmap(addr + (1000 << PAGE_SHIFT), PAGE_SIZE), 0);
	KUNIT_EXPECT_EQ(test, STAT(mirror, INVALIDATIONS), 1);
	KUNIT_EXPECT_EQ(test, STAT(mirror, PAGES_INVALIDATED), 0);
	KUNIT_EXPECT_EQ(test, mirror->nvalid, 1);

	/* Unmapping the valid page drops it; refaulting costs one page. */
	KUNIT_ASSERT_EQ(test, vm_munmap(addr + (mid << PAGE_SHIFT), PAGE_SIZE), 0);
	KUNIT_EXPECT_EQ(test, STAT(mirror, PAGES_INVALIDATED), 1);
	KUNIT_EXPECT_EQ(test, mirror->nvalid, 0);
	KUNIT_ASSERT_EQ(test, vm_mmap(NULL, addr + (mid << PAGE_SHIFT), PAGE_SIZE,
				      PROT_READ | PROT_WRITE,
				      MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, 0),
			addr + (mid << PAGE_SHIFT));
	KUNIT_ASSERT_EQ(test, uptr_mirror_populate(mirror, mid, 1, NULL), 0);
	KUNIT_EXPECT_EQ(test, STAT(mirror, PAGES_FAULTED), 2);
	KUNIT_EXPECT_EQ(test, uptr_nr_chunks(mirror), 1);
}

static void uptr_mirror_test_read_only_mapping(struct kunit *test)
{
	unsigned long addr = uptr_test_map(test, 4, PROT_READ);
	struct uptr_mirror *ro = uptr_test_mirror(test, addr, 4, false);
	struct uptr_mirror *rw = uptr_test_mirror(test, addr, 4, true);

	KUNIT_EXPECT_EQ(test, uptr_mirror_populate(ro, 0, 4, NULL), 0);
	KUNIT_EXPECT_EQ(test, ro->nvalid, 4);
	uptr_expect_pages(test, ro, 0, 1, 0);

	/* A writable mirror of a read-only mapping: -EPERM, nothing valid. */
	KUNIT_EXPECT_EQ(test, uptr_mirror_populate(rw, 0, 4, NULL), -EPERM);
	KUNIT_EXPECT_EQ(test, rw->nvalid, 0);
}

static void uptr_mirror_test_no_access(struct kunit *test)
{
	unsigned long addr = uptr_test_map(test, 4, PROT_NONE);
	struct uptr_mirror *ro = uptr_test_mirror(test, addr, 4, false);

	KUNIT_EXPECT_EQ(test, uptr_mirror_populate(ro, 0, 4, NULL), -EFAULT);
	KUNIT_EXPECT_EQ(test, ro->nvalid, 0);
}

static void uptr_mirror_test_mm_gone(struct kunit *test)
{
	struct mm_struct *mm = uptr_test_mm_alloc(test);
	struct uptr_mirror_desc desc;
	struct uptr_mirror *mirror;
	unsigned long addr;

	uptr_test_switch_mm(NULL, mm);
	addr = vm_mmap(NULL, 0, 8 << PAGE_SHIFT, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, 0);
	KUNIT_ASSERT_FALSE(test, IS_ERR_VALUE(addr));
	desc = uptr_test_mirror_desc(test, mm, addr, 8, true);
	mirror = kunit_kzalloc(test, sizeof(*mirror), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, mirror);
	KUNIT_ASSERT_EQ(test, uptr_mirror_init(mirror, &desc), 0);
	KUNIT_EXPECT_EQ(test, uptr_mirror_populate(mirror, 0, 8, NULL), 0);
	KUNIT_EXPECT_EQ(test, mirror->nvalid, 8);

	/* The process exits: its mm is torn down under the mirror. */
	uptr_test_switch_mm(mm, NULL);
	mmput(mm);

	KUNIT_EXPECT_EQ(test, EVENTS(mirror, RELEASE), 1);
	KUNIT_EXPECT_TRUE(test, mirror->dead);
	KUNIT_EXPECT_EQ(test, mirror->nvalid, 0);
	KUNIT_EXPECT_EQ(test, uptr_mirror_populate(mirror, 0, 8, NULL), -EFAULT);
	KUNIT_EXPECT_FALSE(test, uptr_page_valid(mirror, 0));

	/* The last reference on the mm goes with the notifier. */
	uptr_mirror_fini(mirror);
}

static void uptr_mirror_test_dirty(struct kunit *test)
{
	const unsigned long npages = 8;
	unsigned long addr = uptr_test_map(test, npages, PROT_READ | PROT_WRITE);
	struct uptr_mirror *ro, *rw;
	unsigned long i;

	/* Pages written by the CPU: dirty in the PTE, clean folios. */
	uptr_test_fill(test, addr, npages, 0x3000);
	ro = uptr_test_mirror(test, addr, npages, false);
	KUNIT_ASSERT_EQ(test, uptr_mirror_populate(ro, 0, npages, NULL), 0);
	KUNIT_EXPECT_EQ(test, STAT(ro, FOLIOS_DIRTIED), 0);
	for (i = 0; i < npages; i++)
		KUNIT_EXPECT_FALSE_MSG(test, uptr_page_dirty(ro, i),
				       "page %lu dirty before a writable commit", i);

	/* A writable commit marks every one of them dirty. */
	rw = uptr_test_mirror(test, addr, npages, true);
	KUNIT_ASSERT_EQ(test, uptr_mirror_populate(rw, 0, npages, NULL), 0);
	KUNIT_EXPECT_EQ(test, STAT(rw, FOLIOS_DIRTIED), npages);
	for (i = 0; i < npages; i++)
		KUNIT_EXPECT_TRUE_MSG(test, uptr_page_dirty(rw, i),
				      "page %lu clean after a writable commit", i);

	/* Folios that are dirty already are left alone. */
	rw = uptr_test_mirror(test, addr, npages, true);
	KUNIT_ASSERT_EQ(test, uptr_mirror_populate(rw, 0, npages, NULL), 0);
	KUNIT_EXPECT_EQ(test, STAT(rw, FOLIOS_DIRTIED), 0);
}

/**
 * struct uptr_busy_ctx - a mirror with jobs of a pretend device
 * @mirror: the mirror
 * @fence: a job that is done as soon as an invalidation waits
 * @late: a job that is done a while after that (@late_work)
 * @late_work: signals @late
 * @other: a job elsewhere, done only much later (@other_work), so that an
 *	invalidation that wrongly waits for it fails the test, not hangs it
 * @other_work: signals @other
 * @waits: invalidations that began to wait
 * @ends: invalidations that were done waiting
 */
struct uptr_busy_ctx {
	struct uptr_mirror mirror;
	struct dma_fence *fence;
	struct dma_fence *late;
	struct delayed_work late_work;
	struct dma_fence *other;
	struct delayed_work other_work;
	int waits;
	int ends;
};

/* Long enough that an invalidation that did not wait returns first. */
#define UPTR_TEST_LATE_MS	200
/* Far longer: an invalidation that waits for the job elsewhere returns late. */
#define UPTR_TEST_OTHER_MS	5000

static void uptr_test_late_work(struct work_struct *work)
{
	struct uptr_busy_ctx *ctx = container_of(to_delayed_work(work),
						 struct uptr_busy_ctx,
						 late_work);

	dma_fence_signal(ctx->late);
}

static void uptr_test_other_work(struct work_struct *work)
{
	struct uptr_busy_ctx *ctx = container_of(to_delayed_work(work),
						 struct uptr_busy_ctx,
						 other_work);

	dma_fence_signal(ctx->other);
}

static void uptr_test_waiting(struct uptr_mirror *mirror, bool begin)
{
	struct uptr_busy_ctx *ctx =
		container_of(mirror, struct uptr_busy_ctx, mirror);

	if (begin) {
		ctx->waits++;
		dma_fence_signal(ctx->fence);
		schedule_delayed_work(&ctx->late_work,
				      msecs_to_jiffies(UPTR_TEST_LATE_MS));
		schedule_delayed_work(&ctx->other_work,
				      msecs_to_jiffies(UPTR_TEST_OTHER_MS));
	} else {
		ctx->ends++;
	}
}

static const struct uptr_mirror_ops uptr_test_ops = {
	.waiting = uptr_test_waiting,
};

static const char *uptr_test_fence_name(struct dma_fence *fence)
{
	return "uptr-test";
}

static const struct dma_fence_ops uptr_test_fence_ops = {
	.get_driver_name = uptr_test_fence_name,
	.get_timeline_name = uptr_test_fence_name,
};

static DEFINE_SPINLOCK(uptr_test_fence_lock);

static bool uptr_invalidate_direct(struct uptr_mirror *mirror,
				   unsigned long addr, unsigned long npages,
				   bool blockable)
{
	struct mmu_notifier_range range = {
		.mm = mirror->notifier.mm,
		.start = addr,
		.end = addr + (npages << PAGE_SHIFT),
		.event = MMU_NOTIFY_CLEAR,
		.flags = blockable ? MMU_NOTIFIER_RANGE_BLOCKABLE : 0,
	};

	return mirror->notifier.ops->invalidate(&mirror->notifier, &range,
						mirror->notifier.invalidate_seq + 2);
}

static struct dma_fence *uptr_test_fence(struct kunit *test)
{
	struct dma_fence *fence = kzalloc(sizeof(*fence), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, fence);
	dma_fence_init(fence, &uptr_test_fence_ops, &uptr_test_fence_lock,
		       dma_fence_context_alloc(1), 1);
	return fence;
}

/* Record a job with @fence over pages [@pgoff, @pgoff + @npages). */
static void uptr_test_busy(struct kunit *test, struct uptr_mirror *mirror,
			   unsigned long pgoff, unsigned long npages,
			   struct dma_fence *fence)
{
	struct uptr_mirror_busy *busy = uptr_mirror_busy_alloc();

	KUNIT_ASSERT_NOT_NULL(test, busy);
	mutex_lock(mirror->lock);
	uptr_mirror_busy_add_locked(mirror, busy, pgoff, npages, fence);
	mutex_unlock(mirror->lock);
}

/*
 * Invalidations wait for every job that uses the pages they take, and
 * only for those; a non-blockable one is refused exactly then. A record
 * of a job not done survives the additions after it.
 */
static void uptr_mirror_test_busy_ranges(struct kunit *test)
{
	unsigned long addr = uptr_test_map(test, 8, PROT_READ | PROT_WRITE);
	struct uptr_mirror_desc desc;
	struct uptr_busy_ctx *ctx;
	struct uptr_mirror *mirror;

	desc = uptr_test_mirror_desc(test, current->mm, addr, 8, true);
	desc.ops = &uptr_test_ops;

	ctx = kunit_kzalloc(test, sizeof(*ctx), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, ctx);
	INIT_DELAYED_WORK(&ctx->late_work, uptr_test_late_work);
	INIT_DELAYED_WORK(&ctx->other_work, uptr_test_other_work);
	ctx->fence = uptr_test_fence(test);
	ctx->late = uptr_test_fence(test);
	ctx->other = uptr_test_fence(test);
	mirror = &ctx->mirror;
	KUNIT_ASSERT_EQ(test, uptr_mirror_init(mirror, &desc), 0);
	KUNIT_ASSERT_EQ(test, uptr_mirror_populate(mirror, 0, 8, NULL), 0);

	/* A job uses pages 0 and 1, a later one pages 6 and 7. */
	uptr_test_busy(test, mirror, 0, 2, ctx->fence);
	uptr_test_busy(test, mirror, 6, 2, ctx->other);

	/* Non-blockable over the first job's pages: refused, nothing dropped. */
	KUNIT_EXPECT_FALSE(test, uptr_invalidate_direct(mirror, addr + PAGE_SIZE,
							1, false));
	KUNIT_EXPECT_EQ(test, STAT(mirror, NONBLOCK_REFUSALS), 1);
	KUNIT_EXPECT_EQ(test, mirror->nvalid, 8);

	/* Non-blockable over valid pages no job uses: done at once. */
	KUNIT_EXPECT_TRUE(test, uptr_invalidate_direct(mirror, addr + (4 << PAGE_SHIFT),
						       2, false));
	KUNIT_EXPECT_EQ(test, mirror->nvalid, 6);

	/* Blockable next to the jobs' pages: waits for none. */
	KUNIT_EXPECT_TRUE(test, uptr_invalidate_direct(mirror, addr + (2 << PAGE_SHIFT),
						       2, true));
	KUNIT_EXPECT_EQ(test, mirror->nvalid, 4);
	KUNIT_EXPECT_EQ(test, ctx->waits, 0);

	/*
	 * A third job on pages 0 and 1, done only a while after the wait
	 * began: a blockable invalidation of pages 0 to 5 waits once, for
	 * both jobs there, and not for the one on pages 6 and 7.
	 */
	uptr_test_busy(test, mirror, 0, 2, ctx->late);
	KUNIT_EXPECT_TRUE(test, uptr_invalidate_direct(mirror, addr, 6, true));
	KUNIT_EXPECT_EQ(test, ctx->waits, 1);
	KUNIT_EXPECT_EQ(test, ctx->ends, 1);
	KUNIT_EXPECT_TRUE(test, dma_fence_is_signaled(ctx->fence));
	KUNIT_EXPECT_TRUE(test, dma_fence_is_signaled(ctx->late));
	KUNIT_EXPECT_FALSE(test, dma_fence_is_signaled(ctx->other));
	KUNIT_EXPECT_EQ(test, mirror->nvalid, 2);

	/* Jobs done: nothing refuses or waits any more. */
	cancel_delayed_work_sync(&ctx->other_work);
	dma_fence_signal(ctx->other);
	KUNIT_ASSERT_EQ(test, uptr_mirror_populate(mirror, 0, 2, NULL), 0);
	KUNIT_EXPECT_TRUE(test, uptr_invalidate_direct(mirror, addr, 2, false));
	KUNIT_EXPECT_TRUE(test, uptr_invalidate_direct(mirror, addr, 8, true));
	KUNIT_EXPECT_EQ(test, STAT(mirror, NONBLOCK_REFUSALS), 1);
	KUNIT_EXPECT_EQ(test, ctx->waits, 1);

	cancel_delayed_work_sync(&ctx->late_work);
	uptr_mirror_fini(mirror);
	dma_fence_put(ctx->other);
	dma_fence_put(ctx->late);
	dma_fence_put(ctx->fence);
}

static struct kunit_case uptr_mirror_test_cases[] = {
	KUNIT_CASE(uptr_mirror_test_fault_commit),
	KUNIT_CASE(uptr_mirror_test_race_retry),
	KUNIT_CASE(uptr_mirror_test_seq_wrap),
	KUNIT_CASE(uptr_mirror_test_partial_munmap),
	KUNIT_CASE(uptr_mirror_test_split_vma),
	KUNIT_CASE(uptr_mirror_test_large_object),
	KUNIT_CASE(uptr_mirror_test_read_only_mapping),
	KUNIT_CASE(uptr_mirror_test_no_access),
	KUNIT_CASE(uptr_mirror_test_mm_gone),
	KUNIT_CASE(uptr_mirror_test_dirty),
	KUNIT_CASE(uptr_mirror_test_busy_ranges),
	{}
};

static struct kunit_suite uptr_mirror_test_suite = {
	.name = "uptr_mirror",
	.test_cases = uptr_mirror_test_cases,
};

kunit_test_suite(uptr_mirror_test_suite);
