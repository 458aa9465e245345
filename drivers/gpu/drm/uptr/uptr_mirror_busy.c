// SPDX-License-Identifier: GPL-2.0-only
/*
 * Copyright (C) 2026 The uptr authors
 */

#include <linux/dma-fence.h>
#include <linux/interval_tree.h>
#include <linux/list.h>
#include <linux/lockdep.h>
#include <linux/slab.h>

#include "uptr_mirror.h"

/**
 * DOC: device use of a mirror's pages
 *
 * An invalidation must wait until the device no longer uses the pages it
 * takes away, and only for that: a job that uses other pages of the same
 * object is none of its business. So a mirror knows which of its pages
 * which jobs use: &uptr_mirror.busy is an interval tree of &struct
 * uptr_mirror_busy, one per range of pages a job uses, each holding the
 * job's fence. Submission allocates the nodes before it takes any lock and
 * adds them under the notifier lock, in the same critical section in which
 * it checks the ranges and resolves their pages
 * (uptr_mirror_busy_add_locked()), so the engine never uses a page that
 * is not covered by a node. A node stays in the tree until its fence has
 * signalled; it is removed, under the notifier lock, by whoever finds it
 * signalled: an invalidation that overlaps it, an addition to the same
 * mirror, or the mirror's teardown. An addition looks only at the oldest
 * nodes (&uptr_mirror.busy_list is in submission order) and stops at the
 * first whose job is not done, so that adding costs O(log n) amortized
 * whatever is in flight: every node is removed once. Nothing is allocated
 * under the lock, and nothing but the lock protects the tree and the
 * list. Nodes of done jobs may stay until one of these comes (each holds
 * a reference on a signalled fence); their memory was charged to the
 * submitter's memory cgroup.
 *
 * A blockable invalidation waits, after dropping the pages, for the fence
 * of every unsignalled node that overlaps them, one at a time, taking a
 * reference under the lock; no new node can overlap them meanwhile, since
 * a submission must fault the pages in again and mmu_interval_read_begin()
 * waits for the invalidation to end. A non-blockable one fails if such a
 * node exists. Both need nothing else: a node outlives the blockable
 * invalidation that waits for it, so a non-blockable one that overlaps
 * the same pages still sees it.
 */

/**
 * struct uptr_mirror_busy - pages of a mirror that one job uses
 */
struct uptr_mirror_busy {
	/** @it: [first page, last page] in the mirror, in &uptr_mirror.busy */
	struct interval_tree_node it;
	/** @link: in &uptr_mirror.busy_list, in the order of addition */
	struct list_head link;
	/** @fence: the job's fence, a reference held */
	struct dma_fence *fence;
};

/**
 * uptr_mirror_busy_alloc() - allocate a node for uptr_mirror_busy_add_locked()
 *
 * Context: Process context; may sleep. Charged to the caller's memory
 * cgroup.
 * Return: the node, or NULL when out of memory.
 */
struct uptr_mirror_busy *uptr_mirror_busy_alloc(void)
{
	return kzalloc(sizeof(struct uptr_mirror_busy), UPTR_GFP_USER);
}

/**
 * uptr_mirror_busy_free() - free a node that was never added
 * @busy: the node, or NULL
 *
 * Context: Any context that may free memory.
 */
void uptr_mirror_busy_free(struct uptr_mirror_busy *busy)
{
	kfree(busy);
}

static void uptr_mirror_busy_remove_locked(struct uptr_mirror *mirror,
					   struct uptr_mirror_busy *busy)
{
	lockdep_assert_held(mirror->lock);
	interval_tree_remove(&busy->it, &mirror->busy);
	list_del(&busy->link);
	dma_fence_put(busy->fence);
	kfree(busy);
}

/* Remove the oldest nodes of @mirror up to the first whose job is not done. */
static void uptr_mirror_busy_prune_locked(struct uptr_mirror *mirror)
{
	struct uptr_mirror_busy *busy;

	lockdep_assert_held(mirror->lock);
	while ((busy = list_first_entry_or_null(&mirror->busy_list,
						struct uptr_mirror_busy,
						link)) &&
	       dma_fence_is_signaled(busy->fence))
		uptr_mirror_busy_remove_locked(mirror, busy);
}

/**
 * uptr_mirror_busy_add_locked() - record that a job uses pages of a mirror
 * @mirror: the mirror
 * @busy: a node from uptr_mirror_busy_alloc(), which the mirror now owns
 * @pgoff: first page the job uses
 * @npages: number of pages, not zero
 * @fence: the job's fence; the node takes a reference
 *
 * Call it in the critical section in which the pages were checked valid
 * and handed to the job. Invalidations of these pages wait for @fence
 * from now on, and only they do.
 *
 * Context: The notifier lock (&uptr_mirror.lock) held.
 */
void uptr_mirror_busy_add_locked(struct uptr_mirror *mirror,
				 struct uptr_mirror_busy *busy,
				 unsigned long pgoff, unsigned long npages,
				 struct dma_fence *fence)
{
	lockdep_assert_held(mirror->lock);
	uptr_mirror_busy_prune_locked(mirror);
	busy->it.start = pgoff;
	busy->it.last = pgoff + npages - 1;
	busy->fence = dma_fence_get(fence);
	interval_tree_insert(&busy->it, &mirror->busy);
	list_add_tail(&busy->link, &mirror->busy_list);
}

/*
 * The first node over pages [@start, @end) whose job is not done, after
 * removing the done ones met on the way; NULL if there is none.
 */
static struct uptr_mirror_busy *
uptr_mirror_busy_first_locked(struct uptr_mirror *mirror, unsigned long start,
			      unsigned long end)
{
	struct interval_tree_node *it, *next;

	lockdep_assert_held(mirror->lock);
	it = interval_tree_iter_first(&mirror->busy, start, end - 1);
	while (it) {
		struct uptr_mirror_busy *busy =
			container_of(it, struct uptr_mirror_busy, it);

		next = interval_tree_iter_next(it, start, end - 1);
		if (!dma_fence_is_signaled(busy->fence))
			return busy;
		uptr_mirror_busy_remove_locked(mirror, busy);
		it = next;
	}
	return NULL;
}

/**
 * uptr_mirror_busy_locked() - does a job use pages of a range?
 * @mirror: the mirror
 * @start: first page
 * @end: page after the last, greater than @start
 *
 * Context: The notifier lock held; does not sleep.
 * Return: true if a job not done yet uses a page of [@start, @end).
 */
bool uptr_mirror_busy_locked(struct uptr_mirror *mirror, unsigned long start,
			     unsigned long end)
{
	return uptr_mirror_busy_first_locked(mirror, start, end);
}

/**
 * uptr_mirror_busy_fence_locked() - a fence to wait for before a range is free
 * @mirror: the mirror
 * @start: first page
 * @end: page after the last, greater than @start
 *
 * Context: The notifier lock held; does not sleep.
 * Return: a reference on the fence of a job not done yet that uses a page
 * of [@start, @end), or NULL when no job does.
 */
struct dma_fence *uptr_mirror_busy_fence_locked(struct uptr_mirror *mirror,
						unsigned long start,
						unsigned long end)
{
	struct uptr_mirror_busy *busy;

	busy = uptr_mirror_busy_first_locked(mirror, start, end);
	return busy ? dma_fence_get(busy->fence) : NULL;
}

/**
 * uptr_mirror_busy_fini() - forget every node of a mirror
 * @mirror: the mirror, whose jobs are all done
 *
 * Context: Process context; no invalidation can run any more.
 */
void uptr_mirror_busy_fini(struct uptr_mirror *mirror)
{
	struct uptr_mirror_busy *busy, *next;

	mutex_lock(mirror->lock);
	list_for_each_entry_safe(busy, next, &mirror->busy_list, link)
		uptr_mirror_busy_remove_locked(mirror, busy);
	mutex_unlock(mirror->lock);
}
