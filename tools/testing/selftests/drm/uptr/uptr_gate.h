/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Copyright (C) 2026 The uptr authors
 *
 * Gates for the uptr kselftests: a fence that userspace signals (sw_sync,
 * in debugfs), imported into a syncobj, that holds a job back before the
 * scheduler hands it to the engine for as long as a test needs, without
 * any timing; and a process that opens the gate only once an invalidation
 * is seen waiting for the device.
 */
#ifndef _UPTR_GATE_H_
#define _UPTR_GATE_H_

#include <poll.h>
#include <signal.h>
#include <stdbool.h>
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

/* How long a releaser waits for an invalidation before it gives up. */
#define UPTR_GATE_GUARD_MS	60000

struct uptr_gate {
	int timeline;		/* sw_sync timeline, or -1 */
	__u32 value;		/* last point created */
	__u32 signalled;	/* points signalled so far */
	/*
	 * The releaser: a process, not a thread, since the mm call it waits
	 * for may hold the caller's mmap_lock, which a thread of the same mm
	 * can need for any allocation or page fault.
	 */
	pid_t releaser;
	int stop_fd;		/* writing end of its stop pipe, or -1 */
};

/* Returns 0, or -errno (-ENOENT: no sw_sync in this kernel). */
static inline int uptr_gate_init(struct uptr_gate *g)
{
	memset(g, 0, sizeof(*g));
	g->stop_fd = -1;
	g->timeline = open(UPTR_SW_SYNC, O_RDWR | O_CLOEXEC);
	return g->timeline < 0 ? -errno : 0;
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
	__u32 inc = g->value - g->signalled;

	if (!inc)
		return 0;
	if (ioctl(g->timeline, UPTR_SW_SYNC_IOC_INC, &inc))
		return -errno;
	g->signalled = g->value;
	return 0;
}

/* The releaser process: exits 0 if it saw an invalidation waiting. */
static inline void uptr_gate_releaser(struct uptr_gate *g, int stop_fd,
				      long long waits0)
{
	long long end = uptr_now_ms() + UPTR_GATE_GUARD_MS;
	struct pollfd pfd = { .fd = stop_fd, .events = POLLIN };
	int saw = 0;

	while (uptr_now_ms() < end) {
		if (uptr_debugfs_value("uptr_engine", "invalidations_waiting") > 0 &&
		    uptr_debugfs_value("uptr_engine", "invalidation_waits") > waits0) {
			saw = 1;
			break;
		}
		if (poll(&pfd, 1, 1))
			break;
	}
	uptr_gate_open(g);
	_exit(saw ? 0 : 1);
}

/*
 * Start a process that opens the gate as soon as an invalidation is seen
 * waiting for a fence (or after UPTR_GATE_GUARD_MS, a guard against a
 * hang, not a measure). Returns 0 or -errno.
 */
static inline int uptr_gate_open_on_wait(struct uptr_gate *g)
{
	long long waits0 = uptr_debugfs_value("uptr_engine",
					      "invalidation_waits");
	int p[2];

	if (waits0 < 0)
		return -ENOENT;
	if (pipe2(p, O_CLOEXEC))
		return -errno;
	fflush(NULL);
	g->releaser = fork();
	if (g->releaser < 0) {
		close(p[0]);
		close(p[1]);
		return -errno;
	}
	if (!g->releaser) {
		close(p[1]);
		uptr_gate_releaser(g, p[0], waits0);
	}
	close(p[0]);
	g->stop_fd = p[1];
	return 0;
}

/*
 * Stop the releaser (it opens the gate as it goes). Returns 1 if it had
 * opened the gate because an invalidation waited, 0 if not (or there was
 * no releaser).
 */
static inline int uptr_gate_join(struct uptr_gate *g)
{
	int status;

	if (g->releaser <= 0)
		return 0;
	if (write(g->stop_fd, "x", 1) != 1)
		kill(g->releaser, SIGKILL);
	close(g->stop_fd);
	g->stop_fd = -1;
	if (waitpid(g->releaser, &status, 0) != g->releaser)
		status = -1;
	g->releaser = 0;
	/* It signalled every point there was. */
	g->signalled = g->value;
	return WIFEXITED(status) && !WEXITSTATUS(status);
}

/* Stop the releaser, open the gate, close the timeline. */
static inline void uptr_gate_fini(struct uptr_gate *g)
{
	if (g->timeline < 0)
		return;
	uptr_gate_join(g);
	uptr_gate_open(g);
	close(g->timeline);
	g->timeline = -1;
}

#endif /* _UPTR_GATE_H_ */
