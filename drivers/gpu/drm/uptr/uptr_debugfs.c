// SPDX-License-Identifier: GPL-2.0-only
/*
 * Copyright (C) 2026 The uptr authors
 */

#include <linux/debugfs.h>
#include <linux/seq_file.h>

#include <drm/drm_debugfs.h>
#include <drm/drm_file.h>

#include "uptr_drv.h"
#include "uptr_userptr.h"

/**
 * DOC: debugfs
 *
 * In the device's DRM debugfs directory, ``/sys/kernel/debug/dri/uptr/``
 * (named after the platform device; ``dri/<minor>`` are symlinks to it):
 *
 * ``uptr_stats``
 *	device totals of the mirror counters, one ``name value`` pair per
 *	line: fault calls, pages faulted, commit retries, -EBUSY retries,
 *	commits, folios dirtied, invalidations, pages invalidated,
 *	non-blockable refusals, and invalidations per &enum
 *	mmu_notifier_event (``event_unmap``, ``event_clear``, ...).
 *
 * ``uptr_objects``
 *	one line per userptr object: its user range, flags, valid pages,
 *	whether its mm has exited (``dead``) and its own counters in the same
 *	``name=value`` form.
 *
 * ``uptr_engine``
 *	copy engine and submission counters: ``jobs_submitted``,
 *	``jobs_started`` (jobs the engine claimed to execute), ``jobs_done``,
 *	``jobs_timedout``, ``jobs_aborted``, ``timeouts`` (calls of the
 *	timeout handler), ``submit_retries``, ``jobs_running`` (1 while the
 *	engine holds a claimed job, during ``uptr_delay_ms`` too),
 *	``jobs_in_flight`` (jobs handed to the engine and not completed:
 *	the scheduler's credit count), ``invalidation_waits`` (blocking
 *	invalidations that found a fence unsignalled and waited for it),
 *	``invalidations_waiting`` (such waits in progress) and
 *	``submit_stalls`` (submissions that entered the stall below).
 *
 * ``uptr_hang_next``, ``uptr_delay_ms``, ``uptr_slice_delay_ms``, ``uptr_run_delay_ms``
 *	fault injection, see "copy engine".
 *
 * ``uptr_submit_stall``
 *	fault injection, see "job submission": write N, and the next N
 *	submissions that use a userptr range stall after its fault-in until
 *	the range is invalidated.
 *
 * The counters are read without locks and may be a moment old.
 */

static const char *const uptr_stat_names[UPTR_STAT_NR] = {
	[UPTR_STAT_FAULT_CALLS] = "fault_calls",
	[UPTR_STAT_PAGES_FAULTED] = "pages_faulted",
	[UPTR_STAT_RETRIES] = "retries",
	[UPTR_STAT_BUSY_RETRIES] = "busy_retries",
	[UPTR_STAT_COMMITS] = "commits",
	[UPTR_STAT_FOLIOS_DIRTIED] = "folios_dirtied",
	[UPTR_STAT_INVALIDATIONS] = "invalidations",
	[UPTR_STAT_PAGES_INVALIDATED] = "pages_invalidated",
	[UPTR_STAT_NONBLOCK_REFUSALS] = "nonblock_refusals",
};

static const char *const uptr_event_names[UPTR_MIRROR_NR_EVENTS] = {
	[MMU_NOTIFY_UNMAP] = "event_unmap",
	[MMU_NOTIFY_CLEAR] = "event_clear",
	[MMU_NOTIFY_PROTECTION_VMA] = "event_protection_vma",
	[MMU_NOTIFY_PROTECTION_PAGE] = "event_protection_page",
	[MMU_NOTIFY_SOFT_DIRTY] = "event_soft_dirty",
	[MMU_NOTIFY_RELEASE] = "event_release",
	[MMU_NOTIFY_MIGRATE] = "event_migrate",
	[MMU_NOTIFY_EXCLUSIVE] = "event_exclusive",
};

static void uptr_debugfs_print_stats(struct seq_file *m,
				     struct uptr_mirror_stats *stats,
				     const char *sep, const char *end)
{
	int i;

	for (i = 0; i < UPTR_STAT_NR; i++)
		seq_printf(m, "%s%s%lld%s", uptr_stat_names[i], sep,
			   (long long)atomic64_read(&stats->stat[i]), end);
	for (i = 0; i < UPTR_MIRROR_NR_EVENTS; i++)
		seq_printf(m, "%s%s%lld%s", uptr_event_names[i], sep,
			   (long long)atomic64_read(&stats->events[i]), end);
}

static int uptr_debugfs_stats_show(struct seq_file *m, void *data)
{
	struct drm_debugfs_entry *entry = m->private;
	struct uptr_device *udev = to_uptr_device(entry->dev);

	uptr_debugfs_print_stats(m, &udev->stats, " ", "\n");
	return 0;
}

static int uptr_debugfs_objects_show(struct seq_file *m, void *data)
{
	struct drm_debugfs_entry *entry = m->private;
	struct uptr_device *udev = to_uptr_device(entry->dev);
	struct uptr_userptr *uobj;

	mutex_lock(&udev->objects_lock);
	list_for_each_entry(uobj, &udev->objects, link) {
		struct uptr_mirror *mirror = &uobj->mirror;

		seq_printf(m, "start=0x%lx npages=%lu flags=0x%x valid=%lu dead=%d ",
			   mirror->start, mirror->npages, uobj->flags,
			   READ_ONCE(mirror->nvalid), READ_ONCE(mirror->dead));
		uptr_debugfs_print_stats(m, &mirror->stats, "=", " ");
		seq_putc(m, '\n');
	}
	mutex_unlock(&udev->objects_lock);
	return 0;
}

static int uptr_debugfs_engine_show(struct seq_file *m, void *data)
{
	struct drm_debugfs_entry *entry = m->private;
	struct uptr_device *udev = to_uptr_device(entry->dev);
	struct uptr_engine *engine = &udev->engine;

	seq_printf(m, "jobs_submitted %lld\n",
		   (long long)atomic64_read(&udev->jobs_submitted));
	seq_printf(m, "jobs_started %lld\n",
		   (long long)atomic64_read(&engine->jobs_started));
	seq_printf(m, "jobs_done %lld\n",
		   (long long)atomic64_read(&engine->jobs_done));
	seq_printf(m, "jobs_timedout %lld\n",
		   (long long)atomic64_read(&engine->jobs_timedout));
	seq_printf(m, "jobs_aborted %lld\n",
		   (long long)atomic64_read(&engine->jobs_aborted));
	seq_printf(m, "timeouts %lld\n",
		   (long long)atomic64_read(&engine->timeouts));
	seq_printf(m, "submit_retries %lld\n",
		   (long long)atomic64_read(&udev->submit_retries));
	seq_printf(m, "jobs_running %d\n", !!READ_ONCE(engine->running));
	seq_printf(m, "jobs_in_flight %d\n",
		   atomic_read(&engine->sched.credit_count));
	seq_printf(m, "invalidation_waits %lld\n",
		   (long long)atomic64_read(&udev->invalidation_waits));
	seq_printf(m, "invalidations_waiting %d\n",
		   atomic_read(&udev->invalidations_waiting));
	seq_printf(m, "submit_stalls %lld\n",
		   (long long)atomic64_read(&udev->submit_stalls));
	return 0;
}

static const struct drm_debugfs_info uptr_debugfs_files[] = {
	{ "uptr_stats", uptr_debugfs_stats_show, 0 },
	{ "uptr_objects", uptr_debugfs_objects_show, 0 },
	{ "uptr_engine", uptr_debugfs_engine_show, 0 },
};

/**
 * uptr_debugfs_init() - register the debugfs files
 * @udev: the device, not registered yet
 *
 * Context: Process context, before drm_dev_register().
 */
void uptr_debugfs_init(struct uptr_device *udev)
{
	drm_debugfs_add_files(&udev->drm, uptr_debugfs_files,
			      ARRAY_SIZE(uptr_debugfs_files));
	if (!udev->drm.debugfs_root)
		return;
	debugfs_create_atomic_t("uptr_hang_next", 0600, udev->drm.debugfs_root,
				&udev->engine.hang_next);
	debugfs_create_u32("uptr_delay_ms", 0600, udev->drm.debugfs_root,
			   &udev->engine.delay_ms);
	debugfs_create_u32("uptr_slice_delay_ms", 0600, udev->drm.debugfs_root,
			   &udev->engine.slice_delay_ms);
	debugfs_create_u32("uptr_run_delay_ms", 0600, udev->drm.debugfs_root,
			   &udev->engine.run_delay_ms);
	debugfs_create_atomic_t("uptr_submit_stall", 0600,
				udev->drm.debugfs_root, &udev->submit_stall);
}
