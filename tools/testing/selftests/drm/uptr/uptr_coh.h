/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Copyright (C) 2026 The uptr authors
 */
#ifndef _UPTR_COH_H_
#define _UPTR_COH_H_

#include "uptr_gate.h"

/*
 * The device side of the coherence fixtures (uptr_coherence_mapping_test.c
 * and uptr_coherence_pages_test.c) and the helpers that drive it: jobs run
 * on an object, a job that a gate keeps busy on it, and the global state
 * (swap, KSM) that a test sets up and the parent's teardown undoes. Built on
 * the gate, linked into the coherence tests only.
 */

/* What the busy job of coh_busy_start() writes when it writes. */
#define UPTR_COH_BUSY_WORD	0xb0b0b0b0U

/* The KSM knobs in sysfs. */
#define UPTR_KSM_DIR		"/sys/kernel/mm/ksm/"

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

/* Size of the device buffer and of the busy buffer: 2 MiB. */
#define UPTR_COH_BUF_SIZE	(2UL << 20)

/*
 * Set up the device side of a coherence fixture, before any userptr object
 * (see uptr_gate.h): zero *@d, open the uptr render node, find its debugfs
 * directory, create the device buffer and the busy buffer, the syncobjs
 * and the gate. Without the render node or the debugfs directory, returns
 * 0 with *@skip set to why the test cannot run (NULL otherwise). Returns 0,
 * or the -errno of the first step that failed, logged with ksft_print_msg().
 */
int coh_dev_setup(struct coh_dev *d, const char **skip);

/*
 * The FIXTURE_SETUP() body of a coherence fixture whose struct coh_dev is
 * @d: coh_dev_setup(), failing the test on an error and skipping it without
 * the device. A macro as it needs kselftest_harness.h, like UPTR_COUNTER().
 * Use it last: a SKIP() ends the test once the setup returns.
 */
#define COH_DEV_SETUP(d) do {						\
	const char *__coh_skip = NULL;					\
									\
	ASSERT_EQ(0, coh_dev_setup((d), &__coh_skip));			\
	if (__coh_skip)							\
		SKIP(, "%s", __coh_skip);				\
} while (0)

/*
 * Run one command (uptr_batch_cmd()) on the device of @d and wait for it:
 * the fence status (1), or the submit's -errno.
 */
int coh_run1(struct coh_dev *d, __u32 op, __u32 src, __u64 soff,
	     __u32 dst, __u64 doff, __u64 len, __u32 pattern);

/*
 * The device reads [off, off + len) of @h into the device buffer at the
 * same offset, which is first overwritten with 0xee so that nothing left
 * from an earlier read can pass for the result. Returns the fence status
 * (1) or the submit's -errno.
 */
int coh_read(struct coh_dev *d, __u32 h, __u64 off, __u64 len);

/* The device writes @word over [off, off + len) of @h. */
int coh_write(struct coh_dev *d, __u32 h, __u64 off, __u64 len,
	      __u32 word);

/* The device sums [off, off + len) of @h. */
int coh_sum(struct coh_dev *d, __u32 h, __u64 off, __u64 len,
	    __u64 *sum);

/*
 * Queue a job on @h that keeps the object busy: a COPY of the first @len
 * bytes into the busy buffer, or a FILL of them with UPTR_COH_BUSY_WORD.
 * A gate (a sw_sync fence, see above) holds it back until an
 * invalidation is seen waiting for its fence, so that the device is
 * provably busy when the mm call comes: the job is checked to be queued
 * and not started. Returns 0, the submit's -errno, or -EBUSY if the job
 * was not held.
 */
int coh_busy_start(struct coh_dev *d, __u32 h, __u64 len, bool write);

/*
 * Did the busy job run while an invalidation waited for it? 1 if it is
 * done, an invalidation counted a wait for a fence since it was queued and
 * the engine started exactly one job; 0 if not; or -errno.
 */
int coh_busy_done(struct coh_dev *d);

/* Open the gate and wait for the busy job: its fence status. */
int coh_busy_end(struct coh_dev *d);

/* A counter of the first userptr object starting at @start, or -1. */
long long coh_obj_stat(struct coh_dev *d, const void *start,
		       const char *name);

/*
 * Make sure some swap is on, setting up zram0 if there is none. Returns
 * NULL, or why there cannot be swap.
 */
const char *coh_swap_on(struct coh_dev *d);

/* Turn off the swap on zram0 that coh_swap_on() set up, and reset zram0. */
void coh_swap_off(struct coh_dev *d);

/*
 * Save the KSM knobs (restored by coh_ksm_stop()) and run KSM fast: 1000
 * pages every 10 ms. Returns 0 or -errno.
 */
int coh_ksm_start(struct coh_dev *d);

/* Unmerge everything, then restore the knobs as they were. */
void coh_ksm_stop(struct coh_dev *d);

/*
 * The parent teardown of the coherence fixtures: undo what coh_swap_on()
 * and coh_ksm_start() did. Runs in the test runner, also after a test died
 * or timed out: only undo global state. Memory and the DRM file went away with the test process.
 */
void coh_dev_teardown(struct coh_dev *d);

#endif /* _UPTR_COH_H_ */
