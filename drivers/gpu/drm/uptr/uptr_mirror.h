/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Copyright (C) 2026 The uptr authors
 */
#ifndef _UPTR_MIRROR_H_
#define _UPTR_MIRROR_H_

#include <linux/atomic.h>
#include <linux/bits.h>
#include <linux/gfp.h>
#include <linux/mmu_notifier.h>
#include <linux/mutex.h>
#include <linux/rbtree.h>
#include <linux/xarray.h>

struct page;
struct uptr_mirror;

/**
 * UPTR_MIRROR_CHUNK_SHIFT - log2 of the pages tracked by one chunk
 *
 * A chunk covers one PMD-aligned 2 MiB block of the address space (on 4 KiB
 * pages), so a PMD-mapped transparent huge page always lies in one chunk.
 */
#define UPTR_MIRROR_CHUNK_SHIFT		(PMD_SHIFT - PAGE_SHIFT)
/** UPTR_MIRROR_CHUNK_PAGES - pages tracked by one chunk */
#define UPTR_MIRROR_CHUNK_PAGES		BIT(UPTR_MIRROR_CHUNK_SHIFT)
/**
 * UPTR_GFP_USER - allocation flags for memory whose size a user chooses
 *
 * Accounted to the caller's memory cgroup; at the cgroup's limit the
 * allocation fails (the ioctl returns -ENOMEM) rather than OOM-killing.
 */
#define UPTR_GFP_USER	(GFP_KERNEL_ACCOUNT | __GFP_RETRY_MAYFAIL | __GFP_NOWARN)

/** UPTR_MIRROR_MAX_RETRIES - commit collisions tolerated before -EAGAIN */
#define UPTR_MIRROR_MAX_RETRIES		16

/**
 * enum uptr_mirror_stat - counters kept per mirror and per device
 * @UPTR_STAT_FAULT_CALLS: hmm_range_fault() calls that succeeded
 * @UPTR_STAT_PAGES_FAULTED: pages returned by those calls
 * @UPTR_STAT_RETRIES: commits that collided with an invalidation and
 *	faulted again
 * @UPTR_STAT_BUSY_RETRIES: hmm_range_fault() calls that returned -EBUSY
 * @UPTR_STAT_COMMITS: successful commits
 * @UPTR_STAT_FOLIOS_DIRTIED: clean folios marked dirty before a
 *	writable commit
 * @UPTR_STAT_INVALIDATIONS: invalidate callbacks that dropped pages or
 *	advanced the sequence
 * @UPTR_STAT_PAGES_INVALIDATED: valid pages dropped by invalidations
 * @UPTR_STAT_NONBLOCK_REFUSALS: non-blockable invalidations refused
 *	because a job not done uses a page of the range, or the lock was
 *	contended
 * @UPTR_STAT_NR: number of counters
 */
enum uptr_mirror_stat {
	UPTR_STAT_FAULT_CALLS,
	UPTR_STAT_PAGES_FAULTED,
	UPTR_STAT_RETRIES,
	UPTR_STAT_BUSY_RETRIES,
	UPTR_STAT_COMMITS,
	UPTR_STAT_FOLIOS_DIRTIED,
	UPTR_STAT_INVALIDATIONS,
	UPTR_STAT_PAGES_INVALIDATED,
	UPTR_STAT_NONBLOCK_REFUSALS,
	UPTR_STAT_NR,
};

/** UPTR_MIRROR_NR_EVENTS - number of &enum mmu_notifier_event values */
#define UPTR_MIRROR_NR_EVENTS	(MMU_NOTIFY_EXCLUSIVE + 1)

/**
 * struct uptr_mirror_stats - event counters
 * @stat: indexed by &enum uptr_mirror_stat
 * @events: invalidations, indexed by &enum mmu_notifier_event
 *
 * Atomic, so that they can be bumped without any lock and read at any time
 * (debugfs, tests).
 */
struct uptr_mirror_stats {
	atomic64_t stat[UPTR_STAT_NR];
	atomic64_t events[UPTR_MIRROR_NR_EVENTS];
};

/**
 * struct uptr_mirror_ops - what the mirror asks of its user (the device)
 */
struct uptr_mirror_ops {
	/**
	 * @waiting: a blockable invalidation begins (@begin true) or ends
	 * waiting for the jobs that use pages it dropped, for the device's
	 * accounting. Called once each per invalidation that waits, without
	 * the notifier lock; must not sleep or allocate.
	 */
	void (*waiting)(struct uptr_mirror *mirror, bool begin);
};

/**
 * struct uptr_mirror_chunk - state of one PMD-aligned block of the range
 *
 * Allocated on the first fault-in that touches the block, freed with the
 * mirror. Every field is protected by &uptr_mirror.lock.
 */
struct uptr_mirror_chunk {
	/**
	 * @seq: the notifier sequence of the last invalidation that hit this
	 * block. A fault-in that started at sequence s collided in this block
	 * if @seq is after s.
	 */
	unsigned long seq;
	/** @nvalid: number of bits set in @valid */
	unsigned int nvalid;
	/** @valid: pages whose @pfns entry the device may use */
	DECLARE_BITMAP(valid, UPTR_MIRROR_CHUNK_PAGES);
	/** @pfns: hmm_pfns of the block's pages, meaningful where @valid */
	unsigned long *pfns;
};

/**
 * struct uptr_mirror - an HMM mirror of one range of a process' memory
 *
 * Knows nothing of GEM or the device: it tracks which pages of
 * [@start, @start + @npages * PAGE_SIZE) are valid for device use and
 * which pages back them, and which jobs use which pages (@busy), so that
 * an invalidation waits for exactly the jobs that use what it takes away.
 */
struct uptr_mirror {
	/** @notifier: the interval notifier over the whole range */
	struct mmu_interval_notifier notifier;
	/** @ops: callbacks into the mirror's user; set once at init */
	const struct uptr_mirror_ops *ops;
	/** @start: first user address, page aligned; constant */
	unsigned long start;
	/** @npages: length of the range in pages; constant */
	unsigned long npages;
	/** @writable: the device may write; constant */
	bool writable;
	/**
	 * @lock: the notifier lock, the device's, shared by all its
	 * mirrors (so that a submission can check several mirrors and
	 * publish its fences atomically). Taken by the
	 * invalidate callback, which may run from direct reclaim, so no
	 * memory may be allocated with it held, and by the commit path,
	 * which re-checks the notifier sequence under it. Protects the
	 * contents of @chunks, @nvalid, @dead, @busy and @busy_list.
	 * Lock order: dma_resv (drm_exec) -> @lock. Never held across
	 * hmm_range_fault(), folio_lock() or a wait for the device.
	 */
	struct mutex *lock;
	/**
	 * @chunks: &struct uptr_mirror_chunk by chunk index. Entries are
	 * inserted without @lock (xarray's own lock) and only removed at
	 * teardown, so a loaded pointer stays valid.
	 */
	struct xarray chunks;
	/** @nvalid: valid pages over all chunks; under @lock */
	unsigned long nvalid;
	/** @dead: the mm was torn down (MMU_NOTIFY_RELEASE); under @lock */
	bool dead;
	/**
	 * @busy: interval tree of &struct uptr_mirror_busy: the pages that
	 * jobs use, with their fences; under @lock
	 */
	struct rb_root_cached busy;
	/** @busy_list: the same nodes, oldest first; under @lock */
	struct list_head busy_list;
	/** @stats: this mirror's counters */
	struct uptr_mirror_stats stats;
	/** @totals: counters to add to as well, the device's */
	struct uptr_mirror_stats *totals;
};

/**
 * struct uptr_mirror_desc - the mirror that uptr_mirror_init() sets up
 *
 * Only read by uptr_mirror_init(): it may live on the caller's stack.
 */
struct uptr_mirror_desc {
	/** @mm: the address space, with a user reference held by the caller */
	struct mm_struct *mm;
	/** @start: first address, page aligned */
	unsigned long start;
	/** @size: length in bytes, page aligned, not zero */
	unsigned long size;
	/** @writable: the device may write the pages */
	bool writable;
	/** @ops: callbacks into the device */
	const struct uptr_mirror_ops *ops;
	/** @lock: the device's notifier lock, shared by its mirrors */
	struct mutex *lock;
	/** @totals: the device's counters, to add this mirror's events to */
	struct uptr_mirror_stats *totals;
};

int uptr_mirror_init(struct uptr_mirror *mirror,
		     const struct uptr_mirror_desc *desc);
void uptr_mirror_fini(struct uptr_mirror *mirror);
int uptr_mirror_populate(struct uptr_mirror *mirror, unsigned long pgoff,
			 unsigned long npages, unsigned long *seq);
bool uptr_mirror_range_valid_locked(struct uptr_mirror *mirror,
				    unsigned long pgoff, unsigned long npages,
				    unsigned long seq);
bool uptr_mirror_get_pages_locked(struct uptr_mirror *mirror,
				  unsigned long pgoff, unsigned long npages,
				  struct page **pages);
int uptr_mirror_probe(struct mm_struct *mm, unsigned long start,
		      unsigned long size);

struct dma_fence;
struct uptr_mirror_busy;
struct uptr_mirror_busy *uptr_mirror_busy_alloc(void);
void uptr_mirror_busy_free(struct uptr_mirror_busy *busy);
void uptr_mirror_busy_add_locked(struct uptr_mirror *mirror,
				 struct uptr_mirror_busy *busy,
				 unsigned long pgoff, unsigned long npages,
				 struct dma_fence *fence);
/* Between uptr_mirror.c and uptr_mirror_busy.c */
bool uptr_mirror_busy_locked(struct uptr_mirror *mirror, unsigned long start,
			     unsigned long end);
struct dma_fence *uptr_mirror_busy_fence_locked(struct uptr_mirror *mirror,
						unsigned long start,
						unsigned long end);
void uptr_mirror_busy_fini(struct uptr_mirror *mirror);

/**
 * uptr_mirror_stat_read() - read one counter
 * @mirror: the mirror
 * @stat: which counter
 *
 * Context: Any context; takes no lock.
 * Return: the counter's current value.
 */
static inline u64 uptr_mirror_stat_read(struct uptr_mirror *mirror,
					enum uptr_mirror_stat stat)
{
	return atomic64_read(&mirror->stats.stat[stat]);
}

#if IS_ENABLED(CONFIG_KUNIT)
/* For KUnit: the commit step, which a test may redirect. */
struct uptr_mirror_fault;
int uptr_mirror_commit(struct uptr_mirror_fault *f);
#endif

#endif /* _UPTR_MIRROR_H_ */
