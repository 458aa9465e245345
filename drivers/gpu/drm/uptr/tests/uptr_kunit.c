// SPDX-License-Identifier: GPL-2.0-only
/*
 * Copyright (C) 2026 The uptr authors
 */

#include <kunit/resource.h>
#include <kunit/test.h>
#include <linux/highmem.h>
#include <linux/kthread.h>
#include <linux/mman.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/uaccess.h>

#include <drm/drm_kunit_helpers.h>

#include "../uptr_drv.h"
#include "../uptr_mirror.h"
#include "uptr_kunit.h"

/* mm_alloc() and arch_pick_mmap_layout() are exported for KUnit only. */
MODULE_IMPORT_NS(EXPORTED_FOR_KUNIT_TESTING);

/**
 * uptr_test_device() - a uptr device managed by KUnit
 * @test: the test
 *
 * The device has the driver's state initialized, but no engine and no
 * registered minor.
 *
 * Return: the device; the test fails if it cannot be made.
 */
struct uptr_device *uptr_test_device(struct kunit *test)
{
	struct uptr_device *udev;
	struct device *dev;

	dev = drm_kunit_helper_alloc_device(test);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, dev);
	udev = drm_kunit_helper_alloc_drm_device_with_driver(test, dev,
							     struct uptr_device,
							     drm,
							     &uptr_drm_driver);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, udev);
	KUNIT_ASSERT_EQ(test, uptr_device_init(udev), 0);
	return udev;
}

/**
 * uptr_test_mm_alloc() - a new, empty user address space
 * @test: the test
 *
 * Return: an mm with one user reference, for the caller to mmput().
 */
struct mm_struct *uptr_test_mm_alloc(struct kunit *test)
{
	struct mm_struct *mm = mm_alloc();

	KUNIT_ASSERT_NOT_NULL(test, mm);
	mm->task_size = TASK_SIZE;
	arch_pick_mmap_layout(mm, &current->signal->rlim[RLIMIT_STACK]);
	return mm;
}

/**
 * uptr_test_switch_mm() - make the test thread run in another mm
 * @from: the mm in use, or NULL
 * @to: the mm to use, or NULL
 */
void uptr_test_switch_mm(struct mm_struct *from, struct mm_struct *to)
{
	if (from)
		kthread_unuse_mm(from);
	if (to)
		kthread_use_mm(to);
}

/**
 * uptr_test_map() - anonymous private memory in the test's mm, with
 * MAP_NORESERVE so that a large range costs nothing until it is touched
 * @test: the test; gets a user mm if it has none yet
 * @npages: size in pages
 * @prot: PROT_* bits
 *
 * Return: the address.
 */
unsigned long uptr_test_map(struct kunit *test, unsigned long npages,
			    unsigned long prot)
{
	unsigned long addr;

	addr = kunit_vm_mmap(test, NULL, 0, npages << PAGE_SHIFT, prot,
			     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, 0);
	KUNIT_ASSERT_NE_MSG(test, addr, 0, "kunit_vm_mmap failed");
	KUNIT_ASSERT_FALSE(test, IS_ERR_VALUE(addr));
	return addr;
}

/**
 * uptr_test_fill() - write @seed + i to every word of page i
 * @test: the test
 * @addr: user address
 * @npages: number of pages
 * @seed: value of page 0
 */
void uptr_test_fill(struct kunit *test, unsigned long addr,
		    unsigned long npages, u32 seed)
{
	u32 *buf = kunit_kmalloc(test, PAGE_SIZE, GFP_KERNEL);
	unsigned long i, j;

	KUNIT_ASSERT_NOT_NULL(test, buf);
	for (i = 0; i < npages; i++) {
		for (j = 0; j < PAGE_SIZE / sizeof(u32); j++)
			buf[j] = seed + i;
		KUNIT_ASSERT_EQ(test, copy_to_user((void __user *)(addr + (i << PAGE_SHIFT)),
						   buf, PAGE_SIZE), 0);
	}
	kunit_kfree(test, buf);
}

/**
 * uptr_test_page_has() - does every word of @page equal @value?
 * @page: the page
 * @value: the expected word
 *
 * Return: true if it does.
 */
bool uptr_test_page_has(struct page *page, u32 value)
{
	u32 *p = kmap_local_page(page);
	bool ok = true;
	unsigned int i;

	for (i = 0; i < PAGE_SIZE / sizeof(u32) && ok; i++)
		ok = p[i] == value;
	kunmap_local(p);
	return ok;
}

static void uptr_test_no_waiting(struct uptr_mirror *mirror, bool begin)
{
}

static const struct uptr_mirror_ops uptr_test_idle_ops = {
	.waiting = uptr_test_no_waiting,
};

/* What a device gives its mirrors: here, one mirror's own. */
struct uptr_test_mirror_owner {
	struct mutex lock;	/* the notifier lock */
	struct uptr_mirror_stats totals;
};

/* mutex_destroy() as a KUnit action */
KUNIT_DEFINE_ACTION_WRAPPER(uptr_test_mutex_destroy, mutex_destroy, struct mutex *);

/**
 * uptr_test_mirror_desc() - describe a test mirror of part of @mm
 * @test: the test; owns the notifier lock and totals until it ends
 * @mm: the address space
 * @addr: start address
 * @npages: size in pages
 * @writable: whether the device may write
 *
 * The mirror gets a notifier lock and totals of its own, and a device that
 * is always idle; a test that needs another device sets
 * &uptr_mirror_desc.ops.
 *
 * Return: the description, for uptr_mirror_init().
 */
struct uptr_mirror_desc uptr_test_mirror_desc(struct kunit *test,
					      struct mm_struct *mm,
					      unsigned long addr,
					      unsigned long npages,
					      bool writable)
{
	struct uptr_test_mirror_owner *owner;

	owner = kunit_kzalloc(test, sizeof(*owner), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, owner);
	mutex_init(&owner->lock);
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test,
							uptr_test_mutex_destroy,
							&owner->lock), 0);
	return (struct uptr_mirror_desc) {
		.mm = mm,
		.start = addr,
		.size = npages << PAGE_SHIFT,
		.writable = writable,
		.ops = &uptr_test_idle_ops,
		.lock = &owner->lock,
		.totals = &owner->totals,
	};
}

KUNIT_DEFINE_ACTION_WRAPPER(uptr_test_mirror_fini, uptr_mirror_fini,
			    struct uptr_mirror *);

/**
 * uptr_test_mirror() - a mirror of [@addr, @addr + @npages pages) of the
 * current mm, finalized when the test ends
 * @test: the test
 * @addr: start address
 * @npages: size in pages
 * @writable: whether the device may write
 *
 * Return: the mirror.
 */
struct uptr_mirror *uptr_test_mirror(struct kunit *test, unsigned long addr,
				     unsigned long npages, bool writable)
{
	struct uptr_mirror_desc desc;
	struct uptr_mirror *mirror;

	desc = uptr_test_mirror_desc(test, current->mm, addr, npages, writable);
	mirror = kunit_kzalloc(test, sizeof(*mirror), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, mirror);
	KUNIT_ASSERT_EQ(test, uptr_mirror_init(mirror, &desc), 0);
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test,
							uptr_test_mirror_fini,
							mirror), 0);
	return mirror;
}
