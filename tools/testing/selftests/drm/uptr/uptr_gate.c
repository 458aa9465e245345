// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The uptr authors
 *
 * The gate of the uptr kselftests, and the device side of the coherence
 * fixtures that is built on it; see uptr_gate.h.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/swap.h>
#include <sys/wait.h>

#include "uptr_gate.h"

int uptr_gate_signal(int timeline, struct uptr_gate_shared *sh,
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

bool uptr_gate_saw_wait(long long waits0)
{
	return uptr_debugfs_value("uptr_engine", "invalidations_waiting") > 0 &&
	       uptr_debugfs_value("uptr_engine", "invalidation_waits") > waits0;
}

void uptr_gate_serve(int timeline, struct uptr_gate_shared *sh,
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

int uptr_gate_init(struct uptr_gate *g)
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

int uptr_gate_close(struct uptr_gate *g, int fd, __u32 handle)
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

int uptr_gate_open(struct uptr_gate *g)
{
	if (!g->sh)
		return -EINVAL;
	return uptr_gate_signal(g->timeline, g->sh, g->value);
}

int uptr_gate_open_on_wait(struct uptr_gate *g)
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

int uptr_gate_join(struct uptr_gate *g)
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

void uptr_gate_fini(struct uptr_gate *g)
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
