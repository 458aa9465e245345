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

#include "uptr_job.h"

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
static inline int uptr_gate_signal(int timeline, struct uptr_gate_shared *sh,
				   __u32 target)
{
	__u32 cur = __atomic_load_n(&sh->signalled, __ATOMIC_ACQUIRE);
	__u32 inc = target - cur;

	if ((int)inc <= 0)
		return 0;
	if (ioctl(timeline, UPTR_SW_SYNC_IOC_INC, &inc))
		return -errno;
	__atomic_store_n(&sh->signalled, target, __ATOMIC_RELEASE);
	return 0;
}

/* Did an invalidation start waiting for a fence since @waits0? */
static inline bool uptr_gate_saw_wait(long long waits0)
{
	return uptr_debugfs_value("uptr_engine", "invalidations_waiting") > 0 &&
	       uptr_debugfs_value("uptr_engine", "invalidation_waits") > waits0;
}

/* The releaser process: serves arm commands until told to quit. */
static inline void uptr_gate_serve(int timeline, struct uptr_gate_shared *sh,
				   int cmd_fd, int reply_fd)
{
	struct pollfd pfd = { .fd = cmd_fd, .events = POLLIN };
	struct uptr_gate_cmd cmd;
	__u32 target = 0;

	for (;;) {
		long long end;
		char saw = 0;

		if (read(cmd_fd, &cmd, sizeof(cmd)) != sizeof(cmd) ||
		    cmd.op == 'q')
			break;
		if (cmd.op != 'a')
			continue;	/* a disarm, after the arm ended */
		target = cmd.target;
		end = uptr_now_ms() + UPTR_GATE_GUARD_MS;
		while (uptr_now_ms() < end) {
			if (uptr_gate_saw_wait(cmd.waits0)) {
				saw = 1;
				break;
			}
			/* Another command meanwhile: stop waiting. */
			if (poll(&pfd, 1, 1))
				break;
		}
		uptr_gate_signal(timeline, sh, target);
		if (write(reply_fd, &saw, 1) != 1)
			break;
	}
	uptr_gate_signal(timeline, sh, target);
	_exit(0);
}

/*
 * Open the sw_sync timeline and fork the releaser; call before creating
 * any userptr object. Returns 0, or -errno (-ENOENT: no sw_sync).
 */
static inline int uptr_gate_init(struct uptr_gate *g)
{
	int cmd[2], reply[2];
	pid_t pid;

	memset(g, 0, sizeof(*g));
	g->cmd_fd = -1;
	g->reply_fd = -1;
	g->timeline = open(UPTR_SW_SYNC, O_RDWR | O_CLOEXEC);
	if (g->timeline < 0)
		return -errno;
	g->sh = mmap(NULL, sizeof(*g->sh), PROT_READ | PROT_WRITE,
		     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (g->sh == MAP_FAILED) {
		g->sh = NULL;
		return -ENOMEM;
	}
	if (pipe2(cmd, O_CLOEXEC))
		return -errno;
	if (pipe2(reply, O_CLOEXEC)) {
		close(cmd[0]);
		close(cmd[1]);
		return -errno;
	}
	fflush(NULL);
	/* @g may be shared memory: the child must not write to it. */
	pid = fork();
	if (!pid) {
		close(cmd[1]);
		close(reply[0]);
		uptr_gate_serve(g->timeline, g->sh, cmd[0], reply[1]);
	}
	close(cmd[0]);
	close(reply[1]);
	g->releaser = pid;
	g->cmd_fd = cmd[1];
	g->reply_fd = reply[0];
	return pid < 0 ? -errno : 0;
}

/*
 * Put a new unsignalled fence of the gate into the syncobj @handle of
 * @fd (replacing its fence). Returns 0 or -errno.
 */
static inline int uptr_gate_close(struct uptr_gate *g, int fd, __u32 handle)
{
	struct uptr_sw_sync_create_fence c = { .value = g->value + 1 };
	struct drm_syncobj_handle h = {
		.handle = handle,
		.flags = DRM_SYNCOBJ_FD_TO_HANDLE_FLAGS_IMPORT_SYNC_FILE,
	};
	int ret;

	snprintf(c.name, sizeof(c.name), "uptr-gate");
	if (ioctl(g->timeline, UPTR_SW_SYNC_IOC_CREATE_FENCE, &c))
		return -errno;
	g->value++;
	h.fd = c.fence;
	ret = uptr_ioctl(fd, DRM_IOCTL_SYNCOBJ_FD_TO_HANDLE, &h);
	close(c.fence);
	return ret;
}

/* Signal every fence of the gate. Returns 0 or -errno. */
static inline int uptr_gate_open(struct uptr_gate *g)
{
	if (!g->sh)
		return -EINVAL;
	return uptr_gate_signal(g->timeline, g->sh, g->value);
}

/*
 * Arm the releaser: it opens the gate as soon as an invalidation is seen
 * waiting for a fence (or after UPTR_GATE_GUARD_MS, a guard against a
 * hang, not a measure). Returns 0 or -errno.
 */
static inline int uptr_gate_open_on_wait(struct uptr_gate *g)
{
	struct uptr_gate_cmd cmd = { .op = 'a', .target = g->value };

	cmd.waits0 = uptr_debugfs_value("uptr_engine", "invalidation_waits");
	if (cmd.waits0 < 0)
		return -ENOENT;
	if (g->releaser <= 0 || g->armed)
		return -EINVAL;
	if (write(g->cmd_fd, &cmd, sizeof(cmd)) != sizeof(cmd))
		return -errno;
	g->armed = true;
	return 0;
}

/*
 * Disarm the releaser (it opens the gate as it goes). Returns 1 if it had
 * opened the gate because an invalidation waited, 0 if not (or it was not
 * armed).
 */
static inline int uptr_gate_join(struct uptr_gate *g)
{
	struct uptr_gate_cmd cmd = { .op = 'd' };
	char saw = 0;

	if (!g->armed)
		return 0;
	g->armed = false;
	/* It ends the arm's wait if that still runs; one reply per arm. */
	if (write(g->cmd_fd, &cmd, sizeof(cmd)) != sizeof(cmd) ||
	    read(g->reply_fd, &saw, 1) != 1)
		return 0;
	return saw;
}

/* Disarm and stop the releaser, open the gate, close the timeline. */
static inline void uptr_gate_fini(struct uptr_gate *g)
{
	struct uptr_gate_cmd cmd = { .op = 'q' };

	if (g->timeline < 0 || !g->sh)
		return;
	uptr_gate_join(g);
	if (g->releaser > 0) {
		if (write(g->cmd_fd, &cmd, sizeof(cmd)) != sizeof(cmd))
			kill(g->releaser, SIGKILL);
		waitpid(g->releaser, NULL, 0);
		g->releaser = 0;
	}
	uptr_gate_open(g);
	close(g->cmd_fd);
	close(g->reply_fd);
	close(g->timeline);
	g->timeline = -1;
}

#endif /* _UPTR_GATE_H_ */
