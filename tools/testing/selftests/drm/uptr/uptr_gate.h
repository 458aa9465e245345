/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Copyright (C) 2026 The uptr authors
 *
 * Gates for the uptr kselftests: a fence that userspace signals (sw_sync,
 * in debugfs), imported into a syncobj, that holds a job back before the
 * scheduler hands it to the engine for as long as a test needs, without
 * any timing; and a releaser that opens the gate only once an invalidation
 * is seen waiting for the device.
 *
 * The releaser is a process, not a thread: the mm call it waits for may
 * hold the caller's mmap_lock, which any allocation or page fault of a
 * thread of the same mm can need. It is forked by uptr_gate_init(), before
 * the test creates its userptr objects: a fork() later would write-protect
 * their pages, an invalidation that waits for a held job, and deadlock.
 */
#ifndef _UPTR_GATE_H_
#define _UPTR_GATE_H_

#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "uptr_util.h"

#define UPTR_SW_SYNC	"/sys/kernel/debug/sync/sw_sync"

/* drivers/dma-buf/sw_sync.c; not in the UAPI headers. */
struct uptr_sw_sync_create_fence {
	__u32 value;
	char name[32];
	__s32 fence;
};

#define UPTR_SW_SYNC_IOC_CREATE_FENCE \
	_IOWR('W', 0, struct uptr_sw_sync_create_fence)
#define UPTR_SW_SYNC_IOC_INC	_IOW('W', 1, __u32)

/* How long an armed releaser waits for an invalidation; a hang guard. */
#define UPTR_GATE_GUARD_MS	60000

/* What the test and its releaser share, in a MAP_SHARED page. */
struct uptr_gate_shared {
	__u32 signalled;	/* points signalled so far, by either */
};

/* A command to the releaser: arm (wait, then open), disarm or quit. */
struct uptr_gate_cmd {
	char op;		/* 'a', 'd' or 'q' */
	__u32 target;		/* arm: open up to this point */
	long long waits0;	/* arm: invalidation_waits before the call */
};

struct uptr_gate {
	int timeline;		/* sw_sync timeline, or -1 */
	__u32 value;		/* last point created */
	struct uptr_gate_shared *sh;
	pid_t releaser;
	int cmd_fd;		/* to the releaser */
	int reply_fd;		/* from the releaser: 1 byte per arm */
	bool armed;
};

/* Signal the points of @timeline up to @target. Returns 0 or -errno. */
int uptr_gate_signal(int timeline, struct uptr_gate_shared *sh,
		     __u32 target);

/* Did an invalidation start waiting for a fence since @waits0? */
bool uptr_gate_saw_wait(long long waits0);

/* The releaser process: serves arm commands until told to quit. */
void uptr_gate_serve(int timeline, struct uptr_gate_shared *sh,
		     int cmd_fd, int reply_fd);

/*
 * Open the sw_sync timeline and fork the releaser; call before creating
 * any userptr object. Returns 0, or -errno (-ENOENT: no sw_sync).
 */
int uptr_gate_init(struct uptr_gate *g);

/*
 * Put a new unsignalled fence of the gate into the syncobj @handle of
 * @fd (replacing its fence). Returns 0 or -errno.
 */
int uptr_gate_close(struct uptr_gate *g, int fd, __u32 handle);

/* Signal every fence of the gate. Returns 0 or -errno. */
int uptr_gate_open(struct uptr_gate *g);

/*
 * Arm the releaser: it opens the gate as soon as an invalidation is seen
 * waiting for a fence (or after UPTR_GATE_GUARD_MS, a guard against a
 * hang, not a measure). Returns 0 or -errno.
 */
int uptr_gate_open_on_wait(struct uptr_gate *g);

/*
 * Disarm the releaser (it opens the gate as it goes). Returns 1 if it had
 * opened the gate because an invalidation waited, 0 if not (or it was not
 * armed).
 */
int uptr_gate_join(struct uptr_gate *g);

/* Disarm and stop the releaser, open the gate, close the timeline. */
void uptr_gate_fini(struct uptr_gate *g);

#endif /* _UPTR_GATE_H_ */
