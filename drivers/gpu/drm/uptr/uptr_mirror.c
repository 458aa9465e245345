// SPDX-License-Identifier: GPL-2.0-only
/*
 * Copyright (C) 2026 The uptr authors
 */

#include <kunit/static_stub.h>
#include <kunit/visibility.h>
#include <linux/delay.h>
#include <linux/dma-fence.h>
#include <linux/fs.h>
#include <linux/hmm.h>
#include <linux/mm.h>
#include <linux/pagemap.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/userfaultfd_k.h>
#include <uapi/linux/magic.h>

#include "uptr_mirror.h"
#include "uptr_trace.h"

/**
 * DOC: HMM mirror
 *
 * A &struct uptr_mirror mirrors one page-aligned range of a process' address
 * space for a device, without pinning pages. It knows nothing of GEM or of
 * the device; the device is reached through &struct uptr_mirror_ops.
 *
 * **Tracking.** The range is split into chunks, one per PMD-aligned 2 MiB
 * block of the address space (&struct uptr_mirror_chunk), kept in an xarray
 * and allocated on the first fault-in that touches the block. A chunk holds
 * a bitmap of the pages the device may use, their hmm_pfns, and the
 * notifier sequence of the last invalidation that hit the block. This was
 * chosen over one pfn array for the whole object (whose allocation and
 * invalidation scans grow with the object) and over an interval tree of
 * valid ranges (whose nodes must be allocated in the commit path, under the
 * notifier lock, and split in the invalidate callback, where nothing may be
 * allocated). With chunks, a 4 KiB access to a 1 GiB object allocates and
 * faults one chunk, an invalidation walks only the chunks it intersects,
 * and a PMD-mapped THP lies in exactly one chunk.
 *
 * **Fault-in** (uptr_mirror_populate()) handles the request chunk by chunk
 * and, within a chunk, only the span from the first to the last page that
 * is not valid. For each span it takes a sequence with
 * mmu_interval_read_begin(), holds a reference on the mm with
 * mmget_not_zero() (a mirror whose mm has exited fails with -EFAULT) and
 * calls hmm_range_fault() under mmap_read_lock() into a pfn array allocated
 * before any lock was taken. -EBUSY is retried with a new sequence until
 * %HMM_RANGE_DEFAULT_TIMEOUT; -EFAULT (hole, no struct page, PROT_NONE,
 * memfd_secret() memory, which has no kernel mapping) and
 * -EPERM (write to a read-only mapping) are returned to the caller. In a
 * userfaultfd-armed VMA a page that only the userfaultfd handler could
 * provide is never waited for (hmm_range_fault() cannot let the handler
 * run): the fault-in fails with -EFAULT (see uptr_mirror_hmm_fault()).
 *
 * **Commit.** Under &uptr_mirror.lock, mmu_interval_read_retry() tells
 * whether any invalidation of the object ran since the sequence was taken.
 * If one did, the chunk's own sequence tells whether it hit this chunk; only
 * then is the span faulted again, up to %UPTR_MIRROR_MAX_RETRIES times, then
 * -EAGAIN is returned so that userspace restarts the ioctl. Only after the
 * check passed are pfns copied in and marked valid, and only valid pfns are
 * ever turned into pages (uptr_mirror_get_pages_locked()).
 *
 * **Invalidation** (the interval notifier callback) takes the notifier lock,
 * calls mmu_interval_set_seq(), records the sequence in every chunk it
 * intersects and clears exactly the pages in [start, end) of the
 * invalidated range that belong to the object. It then drops the lock and
 * waits uninterruptibly, before returning, for the jobs that use pages of
 * that range, and for no other (see "device use of a mirror's pages"). It
 * allocates nothing and takes no dma_resv or other outer lock. A
 * non-blockable invalidation only trylocks, and fails (returns false) when
 * a job that is not done uses a page of the range. %MMU_NOTIFY_RELEASE
 * (the mm is being torn down) drops everything and marks the mirror dead:
 * later fault-ins fail with -EFAULT.
 *
 * **Dirty marking.** For a writable mirror every folio of a faulted span
 * is marked dirty before the span is committed: under the notifier lock,
 * with the sequence checked, a reference is taken on each folio that is not
 * already dirty; the lock is dropped; each folio is then locked, marked
 * dirty, unlocked and released, with no lock held that an invalidation
 * takes; the commit re-checks the sequence afterwards. See
 * Documentation/gpu/uptr.rst for why this keeps device writes.
 *
 * **Locking.** The notifier lock, &uptr_mirror.lock, is taken with
 * mutex_lock(); only a non-blockable invalidation trylocks it. A function
 * whose name ends in ``_locked`` must be called with it held, and asserts
 * that with lockdep_assert_held(); every other function takes it where it
 * needs it and must be called without it. Nothing is allocated, faulted
 * in or waited for under it.
 */

static void uptr_mirror_count(struct uptr_mirror *mirror,
			      enum uptr_mirror_stat stat, u64 n)
{
	atomic64_add(n, &mirror->stats.stat[stat]);
	atomic64_add(n, &mirror->totals->stat[stat]);
}

static void uptr_mirror_count_event(struct uptr_mirror *mirror,
				    enum mmu_notifier_event event)
{
	if (event >= UPTR_MIRROR_NR_EVENTS)
		return;
	atomic64_inc(&mirror->stats.events[event]);
	atomic64_inc(&mirror->totals->events[event]);
}

/* Absolute page frame of the virtual address of @pgoff in the range. */
static unsigned long uptr_mirror_vpn(struct uptr_mirror *mirror,
				     unsigned long pgoff)
{
	return (mirror->start >> PAGE_SHIFT) + pgoff;
}

static unsigned long uptr_mirror_chunk_index(struct uptr_mirror *mirror,
					     unsigned long pgoff)
{
	return (uptr_mirror_vpn(mirror, pgoff) >> UPTR_MIRROR_CHUNK_SHIFT) -
	       (uptr_mirror_vpn(mirror, 0) >> UPTR_MIRROR_CHUNK_SHIFT);
}

static unsigned int uptr_mirror_slot(struct uptr_mirror *mirror,
				     unsigned long pgoff)
{
	return uptr_mirror_vpn(mirror, pgoff) & (UPTR_MIRROR_CHUNK_PAGES - 1);
}

/*
 * struct uptr_mirror_seg - the part of a range of pages in one chunk
 * @index: the chunk's index in &uptr_mirror.chunks
 * @pgoff: the part's first page, relative to the start of the mirror
 * @start: the slot of @pgoff in the chunk
 * @end: the slot after the part's last page (exclusive)
 * @range_end: the page after the range's last one (exclusive)
 */
struct uptr_mirror_seg {
	unsigned long index;
	unsigned long pgoff;
	unsigned int start;
	unsigned int end;
	unsigned long range_end;
};

/* The segment of the pages [@pgoff, @end) that starts at @pgoff. */
static struct uptr_mirror_seg uptr_mirror_seg_at(struct uptr_mirror *mirror,
						 unsigned long pgoff,
						 unsigned long end)
{
	unsigned int slot = uptr_mirror_slot(mirror, pgoff);

	return (struct uptr_mirror_seg) {
		.index = uptr_mirror_chunk_index(mirror, pgoff),
		.pgoff = pgoff,
		.start = slot,
		.end = slot + min(end - pgoff, UPTR_MIRROR_CHUNK_PAGES - slot),
		.range_end = end,
	};
}

/* The segment of the pages [@start, @end) in chunk @index, which they reach. */
static struct uptr_mirror_seg uptr_mirror_seg_in(struct uptr_mirror *mirror,
						 unsigned long index,
						 unsigned long start,
						 unsigned long end)
{
	unsigned long chunk_start = 0;

	/* Page 0 lies in chunk 0; every later chunk starts at its slot 0. */
	if (index)
		chunk_start = (index << UPTR_MIRROR_CHUNK_SHIFT) -
			      uptr_mirror_slot(mirror, 0);
	return uptr_mirror_seg_at(mirror, max(start, chunk_start), end);
}

/* Set @seg to the first segment of [@start, @end); NULL if it is empty. */
static struct uptr_mirror_seg *
uptr_mirror_seg_first(struct uptr_mirror_seg *seg, struct uptr_mirror *mirror,
		      unsigned long start, unsigned long end)
{
	*seg = uptr_mirror_seg_at(mirror, start, end);
	return start < end ? seg : NULL;
}

/* The segment after @seg, from slot 0 of the next chunk; NULL past the end. */
static struct uptr_mirror_seg *uptr_mirror_seg_next(struct uptr_mirror_seg *seg)
{
	seg->pgoff += seg->end - seg->start;
	if (seg->pgoff >= seg->range_end)
		return NULL;
	seg->index++;
	seg->start = 0;
	seg->end = min(seg->range_end - seg->pgoff, UPTR_MIRROR_CHUNK_PAGES);
	return seg;
}

/*
 * uptr_mirror_for_each_seg - walk the pages [@start, @end) chunk by chunk
 * @mirror: the mirror
 * @seg: a &struct uptr_mirror_seg, set to each segment in turn
 * @start: first page, relative to the start of the mirror
 * @end: the page after the last one (exclusive)
 */
#define uptr_mirror_for_each_seg(mirror, seg, start, end)		\
	for (struct uptr_mirror_seg *__seg =				\
		uptr_mirror_seg_first(&(seg), mirror, start, end);	\
	     __seg; __seg = uptr_mirror_seg_next(__seg))

/*
 * Update the valid counts after @chunk's bitmap changed, a word at a time.
 * Return: how many valid pages the chunk lost.
 */
static unsigned int
uptr_mirror_chunk_recount_locked(struct uptr_mirror *mirror,
				 struct uptr_mirror_chunk *chunk)
{
	unsigned int n = bitmap_weight(chunk->valid, UPTR_MIRROR_CHUNK_PAGES);
	unsigned int lost = chunk->nvalid > n ? chunk->nvalid - n : 0;

	lockdep_assert_held(mirror->lock);
	mirror->nvalid = mirror->nvalid - chunk->nvalid + n;
	chunk->nvalid = n;
	return lost;
}

static struct uptr_mirror_chunk *
uptr_mirror_get_chunk(struct uptr_mirror *mirror, unsigned long index)
{
	struct uptr_mirror_chunk *chunk;
	int ret;

	chunk = xa_load(&mirror->chunks, index);
	if (chunk)
		return chunk;

	chunk = kzalloc(sizeof(*chunk), UPTR_GFP_USER);
	if (!chunk)
		return ERR_PTR(-ENOMEM);
	/*
	 * A sequence no fault-in of this chunk can predate, so that the
	 * first commit never sees a false collision, however far the
	 * notifier's sequence has come (it is compared with wrap-around).
	 */
	chunk->seq = mmu_interval_read_begin(&mirror->notifier);
	chunk->pfns = kvcalloc(UPTR_MIRROR_CHUNK_PAGES, sizeof(*chunk->pfns),
			       UPTR_GFP_USER);
	if (!chunk->pfns) {
		ret = -ENOMEM;
		goto err_free_chunk;
	}

	ret = xa_insert(&mirror->chunks, index, chunk, UPTR_GFP_USER);
	if (ret == -EBUSY) {
		/* Another fault-in inserted it first. */
		kvfree(chunk->pfns);
		kfree(chunk);
		return xa_load(&mirror->chunks, index);
	}
	if (ret)
		goto err_free_pfns;

	return chunk;

err_free_pfns:
	kvfree(chunk->pfns);
err_free_chunk:
	kfree(chunk);
	return ERR_PTR(ret);
}

/*
 * Did an invalidation that hit @chunk run since @seq was read? The
 * invalidate callback holds the notifier lock while it updates the
 * notifier's and the chunk's sequence.
 */
static bool uptr_mirror_collided_locked(struct uptr_mirror *mirror,
					struct uptr_mirror_chunk *chunk,
					unsigned long seq)
{
	lockdep_assert_held(mirror->lock);

	if (mirror->dead)
		return true;
	if (!mmu_interval_read_retry(&mirror->notifier, seq))
		return false;
	return (long)(chunk->seq - seq) > 0;
}

/*
 * struct uptr_mirror_fault - the fault-in of one segment
 * @mirror: the mirror
 * @chunk: the segment's chunk
 * @seg: the segment
 * @span: the part of @seg from its first to its last page that was not
 *	valid at @range.notifier_seq: what is faulted in and committed
 * @range: hmm_range_fault()'s arguments for @span, its pfns in a buffer of
 *	%UPTR_MIRROR_CHUNK_PAGES entries
 * @folios: %UPTR_MIRROR_CHUNK_PAGES entries for uptr_mirror_dirty(), or
 *	NULL for a read-only mirror
 * @timeout: when hmm_range_fault() returning -EBUSY stops being retried
 * @uffd_rounds: faults of a userfaultfd range that held pages back
 */
struct uptr_mirror_fault {
	struct uptr_mirror *mirror;
	struct uptr_mirror_chunk *chunk;
	struct uptr_mirror_seg seg;
	struct uptr_mirror_seg span;
	struct hmm_range range;
	struct folio **folios;
	unsigned long timeout;
	unsigned int uffd_rounds;
};

/*
 * Mark every folio of the faulted span @f->span dirty, following the rules
 * in the DOC above. Return: 0, or -EAGAIN if the span was invalidated first.
 */
static int uptr_mirror_dirty(struct uptr_mirror_fault *f)
{
	unsigned long start_vpn = uptr_mirror_vpn(f->mirror, f->span.pgoff);
	unsigned long npages = f->span.end - f->span.start;
	const unsigned long *pfns = f->range.hmm_pfns;
	struct uptr_mirror *mirror = f->mirror;
	struct folio **folios = f->folios;
	unsigned long i, nr = 0;

	mutex_lock(mirror->lock);
	if (uptr_mirror_collided_locked(mirror, f->chunk,
					f->range.notifier_seq)) {
		mutex_unlock(mirror->lock);
		return -EAGAIN;
	}
	for (i = 0; i < npages; ) {
		unsigned long nr_map = 1UL << hmm_pfn_to_map_order(pfns[i]);
		unsigned long vpn = start_vpn + i;
		struct folio *folio = page_folio(hmm_pfn_to_page(pfns[i]));

		/* Skip the rest of a PMD (or larger) mapping of one folio. */
		i += round_up(vpn + 1, nr_map) - vpn;
		if (nr && folios[nr - 1] == folio)
			continue;
		if (folio_test_dirty(folio))
			continue;
		/* Mapped and not yet invalidated: it cannot be freed here. */
		folio_get(folio);
		folios[nr++] = folio;
	}
	mutex_unlock(mirror->lock);

	for (i = 0; i < nr; i++) {
		folio_lock(folios[i]);
		folio_mark_dirty(folios[i]);
		folio_unlock(folios[i]);
		folio_put(folios[i]);
	}
	uptr_mirror_count(mirror, UPTR_STAT_FOLIOS_DIRTIED, nr);
	return 0;
}

/* Rounds of prefaulting a userfaultfd range, 2 ms apart, before -EFAULT. */
#define UPTR_MIRROR_UFFD_ROUNDS	50

/*
 * Can the device use the pages of @vma? Not those of VM_PFNMAP, VM_MIXEDMAP
 * or VM_IO mappings (no struct page, or not ordinary memory), nor those of
 * memfd_secret(): they are removed from the kernel's direct map, so the
 * engine could not map them (GUP refuses them too). vma_is_secretmem() is
 * not exported; its file system's magic tells the same.
 */
static bool uptr_mirror_vma_ok(struct vm_area_struct *vma)
{
	if (vma->vm_flags & (VM_PFNMAP | VM_MIXEDMAP | VM_IO))
		return false;
	return !vma->vm_file ||
	       file_inode(vma->vm_file)->i_sb->s_magic != SECRETMEM_MAGIC;
}

/*
 * Check the VMAs of [@start, @end) before a fault-in, under mmap_lock.
 * Holes are left to hmm_range_fault(). Return: 0, or -EFAULT if a VMA
 * cannot be used; *@uffd tells whether userfaultfd is armed on one.
 */
static int uptr_mirror_check_vmas(struct mm_struct *mm, unsigned long start,
				  unsigned long end, bool *uffd)
{
	struct vm_area_struct *vma;

	VMA_ITERATOR(vmi, mm, start);

	*uffd = false;
	for_each_vma_range(vmi, vma, end) {
		if (!uptr_mirror_vma_ok(vma))
			return -EFAULT;
		*uffd |= userfaultfd_armed(vma);
	}
	return 0;
}

/*
 * Fault in the pages of a userfaultfd-armed range that the snapshot in
 * @range found missing or, for @write, read-only: with
 * FAULT_FLAG_ALLOW_RETRY | FAULT_FLAG_RETRY_NOWAIT, so that a fault that
 * userfaultfd would handle returns VM_FAULT_RETRY at once, without
 * notifying the handler and with mmap_lock still held, while swap-in,
 * COW, NUMA hinting and migration entries resolve normally.
 * Return: 0, -EAGAIN if some fault asked to be retried, -EFAULT or -EPERM.
 */
static int uptr_mirror_uffd_prefault(struct uptr_mirror *mirror,
				     struct hmm_range *range, bool write)
{
	unsigned long i, npages = (range->end - range->start) >> PAGE_SHIFT;
	unsigned int flags = FAULT_FLAG_REMOTE | FAULT_FLAG_ALLOW_RETRY |
			     FAULT_FLAG_RETRY_NOWAIT;
	int ret = 0;

	if (write)
		flags |= FAULT_FLAG_WRITE;
	for (i = 0; i < npages; i++) {
		unsigned long pfn = range->hmm_pfns[i];
		unsigned long addr = range->start + (i << PAGE_SHIFT);
		struct vm_area_struct *vma;
		vm_fault_t fault;

		if (pfn & HMM_PFN_VALID && (!write || pfn & HMM_PFN_WRITE))
			continue;
		vma = vma_lookup(mirror->notifier.mm, addr);
		if (!vma || !(vma->vm_flags & VM_READ) ||
		    !uptr_mirror_vma_ok(vma))
			return -EFAULT;
		if (write && !(vma->vm_flags & VM_WRITE))
			return -EPERM;
		fault = handle_mm_fault(vma, addr, flags, NULL);
		if (fault & VM_FAULT_RETRY)
			ret = -EAGAIN;
		else if (fault & VM_FAULT_ERROR)
			return -EFAULT;
	}
	return ret;
}

/*
 * hmm_range_fault() for a fault-in. hmm_range_fault() faults without
 * FAULT_FLAG_ALLOW_RETRY, so it cannot let a userfaultfd handler resolve a
 * fault (handle_userfault() complains and fails). In a userfaultfd-armed
 * range the pages are therefore looked at first (no fault), what is
 * missing is faulted in with uptr_mirror_uffd_prefault(), and the range is
 * looked at again. Return: as hmm_range_fault(), or -EAGAIN when a fault
 * asked to be retried: the caller drops mmap_lock, waits a little (for a
 * swap-in, say) and tries again, a bounded number of times, after which
 * what userfaultfd still holds back fails the fault-in with -EFAULT.
 *
 * Why a driver calls handle_mm_fault() here: letting hmm_range_fault()
 * fault in an armed range makes handle_userfault() fail it with SIGBUS
 * and, under CONFIG_DEBUG_VM, dump a stack on every try, for any user;
 * refusing armed ranges outright would refuse memory whose pages are
 * present or merely swapped out (a process restored by CRIU, a guest
 * migrated post-copy), which the device can use. A fault with
 * %FAULT_FLAG_RETRY_NOWAIT is the fault GUP's FOLL_NOWAIT makes (KVM's
 * async page faults use it): it resolves what the kernel alone can and
 * returns for what would need the handler, without waiting for it, and
 * takes no page reference. The wait between rounds holds no lock and is
 * bounded by %UPTR_MIRROR_UFFD_ROUNDS.
 */
static int uptr_mirror_hmm_fault(struct uptr_mirror *mirror,
				 struct hmm_range *range)
{
	unsigned long i, npages = (range->end - range->start) >> PAGE_SHIFT;
	unsigned long fault_flags = range->default_flags;
	bool uffd;
	int ret;

	ret = uptr_mirror_check_vmas(mirror->notifier.mm, range->start,
				     range->end, &uffd);
	if (ret)
		return ret;
	if (!uffd)
		return hmm_range_fault(range);

	range->default_flags = 0;
	ret = hmm_range_fault(range);
	if (!ret)
		ret = uptr_mirror_uffd_prefault(mirror, range, mirror->writable);
	if (!ret)
		ret = hmm_range_fault(range);
	for (i = 0; !ret && i < npages; i++)
		if (!(range->hmm_pfns[i] & HMM_PFN_VALID) ||
		    (mirror->writable && !(range->hmm_pfns[i] & HMM_PFN_WRITE)))
			ret = -EAGAIN;
	range->default_flags = fault_flags;
	return ret;
}

/*
 * Take a sequence's view of the valid bits (the caller read the sequence
 * just before taking the lock): narrow @f->span to the pages of @f->seg from
 * the first to the last one that is not valid, and @f->range to @f->span.
 * An empty @f->span means every page is valid at that sequence.
 * Return: 0, or -EFAULT once the mm is gone.
 */
static int uptr_mirror_narrow_locked(struct uptr_mirror_fault *f)
{
	const unsigned long *valid = f->chunk->valid;
	struct uptr_mirror *mirror = f->mirror;
	unsigned int start, end;

	lockdep_assert_held(mirror->lock);

	if (mirror->dead)
		return -EFAULT;
	start = find_next_zero_bit(valid, f->seg.end, f->seg.start);
	for (end = f->seg.end; end > start && test_bit(end - 1, valid); end--)
		;

	f->span = f->seg;
	f->span.pgoff += start - f->seg.start;
	f->span.start = start;
	f->span.end = end;
	f->range.start = mirror->start + (f->span.pgoff << PAGE_SHIFT);
	f->range.end = f->range.start + ((end - start) << PAGE_SHIFT);
	return 0;
}

/*
 * The fault loop: narrow @f->span at a new sequence, then fault it in with
 * hmm_range_fault(). -EBUSY (a racing invalidation) is tried again until
 * @f->timeout, then gives -EAGAIN; a userfaultfd range that still holds
 * pages back is tried again after a short sleep, %UPTR_MIRROR_UFFD_ROUNDS
 * times in all, then gives -EFAULT.
 * Return: 0 with the pfns of @f->span in @f->range (none if the span is
 * empty); -EINTR, -EFAULT, -EPERM, -EAGAIN or -ENOMEM.
 */
static int uptr_mirror_fault_span(struct uptr_mirror_fault *f)
{
	struct uptr_mirror *mirror = f->mirror;
	struct mm_struct *mm = mirror->notifier.mm;
	unsigned int npages;
	int ret;

	for (;;) {
		if (fatal_signal_pending(current))
			return -EINTR;
		f->range.notifier_seq = mmu_interval_read_begin(&mirror->notifier);
		mutex_lock(mirror->lock);
		ret = uptr_mirror_narrow_locked(f);
		mutex_unlock(mirror->lock);
		npages = f->span.end - f->span.start;
		if (ret || !npages)
			return ret;

		ret = mmap_read_lock_killable(mm);
		if (ret)
			return ret;
		ret = uptr_mirror_hmm_fault(mirror, &f->range);
		mmap_read_unlock(mm);
		trace_uptr_mirror_fault(mirror, f->range.start, npages, ret);
		if (ret != -EAGAIN && ret != -EBUSY)
			break;
		if (ret == -EAGAIN) {
			if (++f->uffd_rounds >= UPTR_MIRROR_UFFD_ROUNDS)
				return -EFAULT;
			usleep_range(1000, 2000);
		} else {
			uptr_mirror_count(mirror, UPTR_STAT_BUSY_RETRIES, 1);
			if (time_after(jiffies, f->timeout))
				return -EAGAIN;
		}
	}
	if (ret)
		return ret;
	uptr_mirror_count(mirror, UPTR_STAT_FAULT_CALLS, 1);
	uptr_mirror_count(mirror, UPTR_STAT_PAGES_FAULTED, npages);
	return 0;
}

/*
 * The commit step: for a writable mirror mark the folios of @f->span dirty,
 * then, under the notifier lock, copy its pfns in and mark them valid,
 * unless an invalidation hit the chunk since @f->range.notifier_seq.
 * Called with no lock held, so a KUnit test can redirect it to make an
 * invalidation race the commit (kunit_activate_static_stub()).
 * Return: 0, or -EAGAIN after such a collision: the span must be faulted
 * in again.
 */
VISIBLE_IF_KUNIT int uptr_mirror_commit(struct uptr_mirror_fault *f)
{
	struct uptr_mirror *mirror = f->mirror;
	struct uptr_mirror_chunk *chunk = f->chunk;
	unsigned long seq = f->range.notifier_seq;
	unsigned int npages = f->span.end - f->span.start;
	int ret;

	KUNIT_STATIC_STUB_REDIRECT(uptr_mirror_commit, f);

	if (mirror->writable) {
		ret = uptr_mirror_dirty(f);
		if (ret)
			return ret;
	}

	mutex_lock(mirror->lock);
	if (uptr_mirror_collided_locked(mirror, chunk, seq)) {
		mutex_unlock(mirror->lock);
		return -EAGAIN;
	}
	memcpy(&chunk->pfns[f->span.start], f->range.hmm_pfns,
	       npages * sizeof(*chunk->pfns));
	bitmap_set(chunk->valid, f->span.start, npages);
	uptr_mirror_chunk_recount_locked(mirror, chunk);
	mutex_unlock(mirror->lock);

	uptr_mirror_count(mirror, UPTR_STAT_COMMITS, 1);
	trace_uptr_mirror_commit(mirror, f->range.start, f->range.end, seq);
	return 0;
}

/*
 * Fault in and commit the pages of segment @seg that are not valid, into
 * the scratch buffers @pfns and @folios (%UPTR_MIRROR_CHUNK_PAGES entries
 * each; @folios only for a writable mirror). A commit that collided with
 * an invalidation faults the span again, %UPTR_MIRROR_MAX_RETRIES times at
 * most. On success *@seqp is a sequence at which every page was valid.
 * Return: 0, or as uptr_mirror_fault_span(), with -EAGAIN also after too
 * many collisions.
 */
static int uptr_mirror_fault_chunk(struct uptr_mirror *mirror,
				   const struct uptr_mirror_seg *seg,
				   unsigned long *pfns, struct folio **folios,
				   unsigned long *seqp)
{
	struct uptr_mirror_fault f = {
		.mirror = mirror,
		.seg = *seg,
		.range = {
			.notifier = &mirror->notifier,
			.hmm_pfns = pfns,
			.default_flags = HMM_PFN_REQ_FAULT |
				(mirror->writable ? HMM_PFN_REQ_WRITE : 0),
		},
		.folios = folios,
		.timeout = jiffies + msecs_to_jiffies(HMM_RANGE_DEFAULT_TIMEOUT),
	};
	unsigned int retries = 0;
	int ret;

	f.chunk = uptr_mirror_get_chunk(mirror, seg->index);
	if (IS_ERR(f.chunk))
		return PTR_ERR(f.chunk);

	for (;;) {
		ret = uptr_mirror_fault_span(&f);
		if (ret || f.span.start == f.span.end)
			break;
		ret = uptr_mirror_commit(&f);
		if (ret != -EAGAIN)
			break;
		uptr_mirror_count(mirror, UPTR_STAT_RETRIES, 1);
		trace_uptr_mirror_retry(mirror, f.range.start, f.range.end,
					++retries);
		if (retries > UPTR_MIRROR_MAX_RETRIES)
			break;
	}
	if (!ret)
		*seqp = f.range.notifier_seq;
	return ret;
}

/**
 * uptr_mirror_populate() - make pages of the mirror valid for the device
 * @mirror: the mirror
 * @pgoff: first page, relative to the start of the range
 * @npages: number of pages
 * @seq: if not NULL, receives the sequence to pass to
 *	uptr_mirror_range_valid_locked() for this range: if the notifier
 *	has not moved past it, every page of the range is still valid
 *
 * Faults in and commits only the pages of [@pgoff, @pgoff + @npages) that
 * are not valid yet. For a writable mirror their folios are marked dirty.
 * The pages may be invalidated again as soon as this returns: users check
 * uptr_mirror_range_valid_locked() under the notifier lock before they
 * hand pages to the device.
 *
 * Context: Process context, in the mm the mirror was created in or any
 * other; may sleep. Must be called without the notifier lock, mmap_lock
 * and any dma_resv lock held.
 * Return: 0 on success; -EINVAL for a range outside the mirror; -EFAULT if
 * a page has no VMA or struct page or is not readable, or the mm has
 * exited; -EPERM when a writable mirror meets a read-only mapping; -EAGAIN
 * if invalidations kept colliding with the commit; -EINTR on a fatal
 * signal; -ENOMEM.
 */
int uptr_mirror_populate(struct uptr_mirror *mirror, unsigned long pgoff,
			 unsigned long npages, unsigned long *seq)
{
	struct mm_struct *mm = mirror->notifier.mm;
	unsigned long s, first_seq = 0;
	struct folio **folios = NULL;
	struct uptr_mirror_seg seg;
	unsigned long *pfns;
	int ret = 0;

	if (!npages || pgoff >= mirror->npages ||
	    npages > mirror->npages - pgoff)
		return -EINVAL;

	pfns = kvmalloc_array(UPTR_MIRROR_CHUNK_PAGES, sizeof(*pfns),
			      UPTR_GFP_USER);
	if (!pfns)
		return -ENOMEM;
	if (mirror->writable) {
		folios = kvmalloc_array(UPTR_MIRROR_CHUNK_PAGES,
					sizeof(*folios), UPTR_GFP_USER);
		if (!folios) {
			ret = -ENOMEM;
			goto out_free_pfns;
		}
	}

	if (!mmget_not_zero(mm)) {
		ret = -EFAULT;
		goto out_free_folios;
	}
	uptr_mirror_for_each_seg(mirror, seg, pgoff, pgoff + npages) {
		ret = uptr_mirror_fault_chunk(mirror, &seg, pfns, folios, &s);
		if (ret)
			break;
		if (seg.pgoff == pgoff)
			first_seq = s;
	}
	mmput(mm);

	if (!ret && seq)
		*seq = first_seq;
out_free_folios:
	kvfree(folios);
out_free_pfns:
	kvfree(pfns);
	return ret;
}

/**
 * uptr_mirror_range_valid_locked() - are the pages still valid?
 * @mirror: the mirror
 * @pgoff: first page, relative to the start of the range
 * @npages: number of pages
 * @seq: the sequence uptr_mirror_populate() returned for this range
 *
 * If no invalidation of the object ran since @seq, this is one comparison;
 * otherwise the pages' valid bits decide.
 *
 * Context: &uptr_mirror.lock held.
 * Return: true if every page of the range is valid: the caller may hand
 * them to the device before dropping the lock.
 */
bool uptr_mirror_range_valid_locked(struct uptr_mirror *mirror,
				    unsigned long pgoff, unsigned long npages,
				    unsigned long seq)
{
	struct uptr_mirror_chunk *chunk;
	struct uptr_mirror_seg seg;

	lockdep_assert_held(mirror->lock);

	if (mirror->dead)
		return false;
	if (!mmu_interval_read_retry(&mirror->notifier, seq))
		return true;

	uptr_mirror_for_each_seg(mirror, seg, pgoff, pgoff + npages) {
		chunk = xa_load(&mirror->chunks, seg.index);
		if (!chunk ||
		    find_next_zero_bit(chunk->valid, seg.end, seg.start) < seg.end)
			return false;
	}
	return true;
}

/**
 * uptr_mirror_get_pages_locked() - the pages backing a valid range
 * @mirror: the mirror
 * @pgoff: first page, relative to the start of the range
 * @npages: number of pages
 * @pages: receives @npages page pointers
 *
 * Walks the range chunk by chunk and turns only valid pfns into pages:
 * the caller checked the range with uptr_mirror_range_valid_locked() under
 * the same hold of the lock, and a page found not valid here (which that
 * check rules out) makes the call fail instead of handing a stale pfn to
 * the device. The pages may be used by the device until the next
 * invalidation of them, which waits for the device.
 *
 * Context: &uptr_mirror.lock held.
 * Return: true if every page was valid and @pages is filled; false
 * otherwise, with @pages partly filled: the caller must not use them.
 */
bool uptr_mirror_get_pages_locked(struct uptr_mirror *mirror,
				  unsigned long pgoff, unsigned long npages,
				  struct page **pages)
{
	struct uptr_mirror_chunk *chunk;
	struct uptr_mirror_seg seg;
	unsigned int slot;

	lockdep_assert_held(mirror->lock);

	if (mirror->dead || pgoff >= mirror->npages ||
	    npages > mirror->npages - pgoff)
		return false;
	uptr_mirror_for_each_seg(mirror, seg, pgoff, pgoff + npages) {
		chunk = xa_load(&mirror->chunks, seg.index);
		if (!chunk)
			return false;
		for (slot = seg.start; slot < seg.end; slot++) {
			if (!test_bit(slot, chunk->valid))
				return false;
			*pages++ = hmm_pfn_to_page(chunk->pfns[slot]);
		}
	}
	return true;
}

/*
 * Invalidate [@start, @end) at sequence @cur_seq. Only the chunks that
 * exist are visited. Return: how many valid pages were dropped.
 */
static unsigned long uptr_mirror_drop_locked(struct uptr_mirror *mirror,
					     unsigned long start,
					     unsigned long end,
					     unsigned long cur_seq)
{
	struct uptr_mirror_chunk *chunk;
	unsigned long index, dropped = 0;
	struct uptr_mirror_seg seg;

	lockdep_assert_held(mirror->lock);
	xa_for_each_range(&mirror->chunks, index, chunk,
			  uptr_mirror_chunk_index(mirror, start),
			  uptr_mirror_chunk_index(mirror, end - 1)) {
		seg = uptr_mirror_seg_in(mirror, index, start, end);
		chunk->seq = cur_seq;
		bitmap_clear(chunk->valid, seg.start, seg.end - seg.start);
		dropped += uptr_mirror_chunk_recount_locked(mirror, chunk);
	}
	return dropped;
}

/*
 * Take the notifier lock for an invalidation of [@start, @end). A
 * non-blockable one only trylocks, and gives up while a job that is not
 * done uses a page of the range.
 * Return: true with the lock held, false without.
 */
static bool uptr_mirror_lock_invalidate(struct uptr_mirror *mirror,
					unsigned long start, unsigned long end,
					bool blockable)
{
	if (blockable) {
		mutex_lock(mirror->lock);
		return true;
	}
	if (!mutex_trylock(mirror->lock))
		return false;
	if (uptr_mirror_busy_locked(mirror, start, end)) {
		mutex_unlock(mirror->lock);
		return false;
	}
	return true;
}

/*
 * Wait, uninterruptibly, until no job uses a page of [@start, @end): for
 * @fence, the first one found (a reference the caller took under the
 * lock), then for one fence at a time, each taken the same way.
 */
static void uptr_mirror_wait_device(struct uptr_mirror *mirror,
				    unsigned long start, unsigned long end,
				    struct dma_fence *fence)
{
	mirror->ops->waiting(mirror, true);
	do {
		dma_fence_wait(fence, false);
		dma_fence_put(fence);
		mutex_lock(mirror->lock);
		fence = uptr_mirror_busy_fence_locked(mirror, start, end);
		mutex_unlock(mirror->lock);
	} while (fence);
	mirror->ops->waiting(mirror, false);
}

/* The interval notifier callback: see "Invalidation" in the DOC above. */
static bool uptr_mirror_invalidate(struct mmu_interval_notifier *notifier,
				   const struct mmu_notifier_range *range,
				   unsigned long cur_seq)
{
	struct uptr_mirror *mirror =
		container_of(notifier, struct uptr_mirror, notifier);
	bool blockable = mmu_notifier_range_blockable(range);
	unsigned long addr = max(range->start, mirror->start);
	unsigned long addr_end = min(range->end, mirror->start +
				     (mirror->npages << PAGE_SHIFT));
	unsigned long start, end, dropped;
	struct dma_fence *fence = NULL;

	if (addr >= addr_end)
		return true;
	/* The pages of the mirror that [addr, addr_end) touches. */
	start = (addr - mirror->start) >> PAGE_SHIFT;
	end = (addr_end - mirror->start + PAGE_SIZE - 1) >> PAGE_SHIFT;

	if (!uptr_mirror_lock_invalidate(mirror, start, end, blockable)) {
		uptr_mirror_count(mirror, UPTR_STAT_NONBLOCK_REFUSALS, 1);
		trace_uptr_mirror_invalidate(mirror, addr, addr_end,
					     range->event, 0, false);
		return false;
	}
	mmu_interval_set_seq(notifier, cur_seq);
	dropped = uptr_mirror_drop_locked(mirror, start, end, cur_seq);
	if (range->event == MMU_NOTIFY_RELEASE)
		mirror->dead = true;
	/*
	 * Even if nothing was dropped here: an overlapping invalidation may
	 * have dropped the pages that a job still uses.
	 */
	if (blockable)
		fence = uptr_mirror_busy_fence_locked(mirror, start, end);
	mutex_unlock(mirror->lock);

	uptr_mirror_count(mirror, UPTR_STAT_INVALIDATIONS, 1);
	uptr_mirror_count(mirror, UPTR_STAT_PAGES_INVALIDATED, dropped);
	uptr_mirror_count_event(mirror, range->event);
	trace_uptr_mirror_invalidate(mirror, addr, addr_end, range->event,
				     dropped, blockable);

	if (fence)
		uptr_mirror_wait_device(mirror, start, end, fence);
	return true;
}

static const struct mmu_interval_notifier_ops uptr_mirror_notifier_ops = {
	.invalidate = uptr_mirror_invalidate,
};

/**
 * uptr_mirror_init() - start mirroring a range of an address space
 * @mirror: the mirror, zeroed by the caller
 * @desc: the address space, range, access and device of the mirror
 *
 * No page is faulted in: see uptr_mirror_populate().
 *
 * Context: Process context; may sleep. Takes mmap_lock (to register the
 * notifier), so the caller must not hold it.
 * Return: 0, or a negative errno from mmu_interval_notifier_insert().
 */
int uptr_mirror_init(struct uptr_mirror *mirror,
		     const struct uptr_mirror_desc *desc)
{
	mirror->start = desc->start;
	mirror->npages = desc->size >> PAGE_SHIFT;
	mirror->writable = desc->writable;
	mirror->ops = desc->ops;
	mirror->totals = desc->totals;
	mirror->lock = desc->lock;
	xa_init(&mirror->chunks);
	mirror->busy = RB_ROOT_CACHED;
	INIT_LIST_HEAD(&mirror->busy_list);

	/*
	 * The invalidate callback can run from direct reclaim: teach lockdep
	 * that the notifier lock nests inside reclaim, so that an allocation
	 * under it is reported at once.
	 */
	if (IS_ENABLED(CONFIG_LOCKDEP)) {
		fs_reclaim_acquire(GFP_KERNEL);
		might_lock(mirror->lock);
		fs_reclaim_release(GFP_KERNEL);
	}

	return mmu_interval_notifier_insert(&mirror->notifier, desc->mm,
					    desc->start, desc->size,
					    &uptr_mirror_notifier_ops);
}

/**
 * uptr_mirror_fini() - stop mirroring and free all tracking state
 * @mirror: the mirror
 *
 * The device must already be idle on the mirror's pages.
 *
 * Context: Process context; may sleep (waits for running invalidations).
 */
void uptr_mirror_fini(struct uptr_mirror *mirror)
{
	struct uptr_mirror_chunk *chunk;
	unsigned long index;

	mmu_interval_notifier_remove(&mirror->notifier);
	uptr_mirror_busy_fini(mirror);
	xa_for_each(&mirror->chunks, index, chunk) {
		kvfree(chunk->pfns);
		kfree(chunk);
	}
	xa_destroy(&mirror->chunks);
}

/**
 * uptr_mirror_probe() - is a range entirely backed by struct pages?
 * @mm: the address space
 * @start: first address, page aligned
 * @size: length in bytes
 *
 * Checks that VMAs cover the whole range without a hole and that none of
 * them is %VM_PFNMAP, %VM_MIXEDMAP or %VM_IO, or maps memfd_secret()
 * memory, so that hmm_range_fault() can return struct pages for it that
 * the engine can map. Faults nothing in.
 *
 * Context: Process context; takes mmap_read_lock().
 * Return: 0, -EFAULT if the range is not covered as required, or -EINTR on
 * a fatal signal.
 */
int uptr_mirror_probe(struct mm_struct *mm, unsigned long start,
		      unsigned long size)
{
	unsigned long addr = start, end = start + size;
	struct vm_area_struct *vma;
	int ret = 0;

	VMA_ITERATOR(vmi, mm, start);

	if (mmap_read_lock_killable(mm))
		return -EINTR;
	for_each_vma_range(vmi, vma, end) {
		if (vma->vm_start > addr || !uptr_mirror_vma_ok(vma)) {
			ret = -EFAULT;
			break;
		}
		addr = vma->vm_end;
	}
	if (!ret && addr < end)
		ret = -EFAULT;
	mmap_read_unlock(mm);
	return ret;
}
