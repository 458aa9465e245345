// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The uptr authors
 *
 * Lifecycle of userptr objects, through the real render node.
 *
 * life, inflight: process exit and SIGKILL with jobs in flight, SIGKILL
 * during the fault-in of a 256 MiB object, close of the DRM file with busy
 * objects, the DRM fd passed to another process with SCM_RIGHTS, 10000
 * one-page objects over one mapping, and two objects over the same pages.
 * The races with the mm are in uptr_stress_race_test.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>

#include "../../kselftest_harness.h"
#include "uptr_util.h"

#define PAGE		UPTR_PAGE

/* How long lifecycle tests wait for the driver to settle. */
#define SETTLE_MS	20000

/*
 * Wait until exactly @n jobs more than @e0 were submitted and done.
 * Returns 0, or -ETIMEDOUT with the last counters in *@e.
 */
static int engine_settle(struct __test_metadata *_metadata,
			 const struct uptr_engine_counts *e0, long long n,
			 struct uptr_engine_counts *e)
{
	long long deadline = uptr_now_ms() + SETTLE_MS;

	for (;;) {
		ASSERT_EQ(0, uptr_engine_read(e));
		if (e->submitted - e0->submitted == n &&
		    e->done - e0->done == n)
			return 0;
		if (uptr_now_ms() > deadline)
			return -ETIMEDOUT;
		usleep(20 * 1000);
	}
}

/*
 * waitpid() with a deadline. Returns 0 with *@status set, or -ETIMEDOUT
 * after killing and reaping the child.
 */
static int wait_child(pid_t pid, int timeout_ms, int *status)
{
	long long deadline = uptr_now_ms() + timeout_ms;

	for (;;) {
		pid_t ret = waitpid(pid, status, WNOHANG);

		if (ret == pid)
			return 0;
		if (ret < 0)
			return -errno;
		if (uptr_now_ms() > deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, status, 0);
			return -ETIMEDOUT;
		}
		usleep(1000);
	}
}

/* Sum of the 32-bit words of @len bytes, as DRM_UPTR_OP_CHECKSUM does. */
static __u64 cpu_checksum(const void *buf, size_t len)
{
	const __u32 *w = buf;
	__u64 sum = 0;
	size_t i;

	for (i = 0; i < len / 4; i++)
		sum += w[i];
	return sum;
}

#define LIFE_PAGES	16
#define LIFE_SIZE	(LIFE_PAGES * PAGE)

/* What the lifecycle fixtures share: an object of the test's own. */
struct life_ctx {
	int fd;
	char dir[256];
	unsigned char *map;
	__u32 h, bo, sync;
	unsigned char *bo_map;
	int objs0;
};

static void ctx_setup(struct __test_metadata *_metadata, struct life_ctx *c)
{
	c->fd = uptr_open_render();
	if (c->fd < 0)
		SKIP(return, "no uptr render node");
	if (uptr_debugfs_dir(c->dir, sizeof(c->dir)))
		SKIP(return, "no uptr debugfs directory: counters are needed");
	ASSERT_EQ(0, uptr_debugfs_write("uptr_delay_ms", 0));
	ASSERT_EQ(0, uptr_engine_quiesce(SETTLE_MS));
	c->map = uptr_map_anon(LIFE_SIZE);
	ASSERT_NE(NULL, c->map);
	ASSERT_EQ(0, uptr_create(c->fd, c->map, LIFE_SIZE, 0, &c->h));
	ASSERT_EQ(0, uptr_bo_create(c->fd, LIFE_SIZE, &c->bo,
				    (void **)&c->bo_map));
	ASSERT_EQ(0, uptr_syncobj_create(c->fd, &c->sync));
	c->objs0 = uptr_debugfs_objects(c->dir, 0, NULL);
	ASSERT_GT(c->objs0, 0);
}

static void ctx_teardown(struct life_ctx *c)
{
	uptr_debugfs_write("uptr_delay_ms", 0);
	if (c->fd < 0)
		return;
	if (c->bo_map)
		munmap(c->bo_map, LIFE_SIZE);
	close(c->fd);
	if (c->map)
		munmap(c->map, LIFE_SIZE);
}

/* The engine still moves the CPU's data to the device. */
static void ctx_engine_works(struct __test_metadata *_metadata,
			     struct life_ctx *c, unsigned int seed)
{
	struct uptr_batch j = {};

	uptr_fill_pattern(c->map, LIFE_SIZE, seed);
	uptr_batch_cmd(&j, DRM_UPTR_OP_COPY, c->h, 0, c->bo, 0, LIFE_SIZE, 0);
	ASSERT_EQ(1, uptr_batch_run(c->fd, c->sync, &j));
	ASSERT_EQ(-1, uptr_check_pattern(c->bo_map, LIFE_SIZE, seed));
}

/*
 * A child with its own DRM file and object queues @njobs delayed jobs on
 * its own memory, reports the number queued on @wfd, then exits at once
 * or waits to be killed.
 */
static void busy_child(int wfd, int njobs, bool wait_for_kill)
{
	unsigned char *map;
	__u32 h, bo;
	int fd, i, queued = 0;

	fd = uptr_open_render();
	map = uptr_map_anon(LIFE_SIZE);
	if (fd < 0 || !map || uptr_create(fd, map, LIFE_SIZE, 0, &h) ||
	    uptr_bo_create(fd, LIFE_SIZE, &bo, NULL))
		_exit(2);
	for (i = 0; i < njobs; i++) {
		struct uptr_batch j = {};

		if (i & 1)
			uptr_batch_cmd(&j, DRM_UPTR_OP_COPY, h, 0, bo, 0,
				       LIFE_SIZE, 0);
		else
			uptr_batch_cmd(&j, DRM_UPTR_OP_FILL, 0, 0, h, 0,
				       LIFE_SIZE, 0x1000 + i);
		if (!uptr_batch_submit(fd, &j))
			queued++;
	}
	if (write(wfd, &queued, sizeof(queued)) != sizeof(queued))
		_exit(3);
	if (wait_for_kill)
		for (;;)
			pause();
	_exit(0);
}

FIXTURE(inflight) {
	struct life_ctx c;
};

FIXTURE_VARIANT(inflight) {
	bool sigkill;
};

/* The child returns from main with its jobs still queued. */
FIXTURE_VARIANT_ADD(inflight, exit) {
	.sigkill = false,
};

/* The child is killed with its jobs still queued. */
FIXTURE_VARIANT_ADD(inflight, sigkill) {
	.sigkill = true,
};

FIXTURE_SETUP(inflight)
{
	ctx_setup(_metadata, &self->c);
}

FIXTURE_TEARDOWN(inflight)
{
	ctx_teardown(&self->c);
}

TEST_F(inflight, dying_process_jobs_run_to_completion_and_nothing_leaks)
{
	struct life_ctx *c = &self->c;
	struct uptr_engine_counts e0, mid, e1;
	struct uptr_stats s0, s1;
	int p[2], status, queued = 0, objs;
	const int njobs = 8;
	pid_t pid;

	ASSERT_EQ(0, uptr_debugfs_stats(c->dir, &s0));
	ASSERT_EQ(0, uptr_engine_read(&e0));
	ASSERT_EQ(0, uptr_debugfs_write("uptr_delay_ms", 100));
	ASSERT_EQ(0, pipe(p));
	pid = fork();
	ASSERT_GE(pid, 0);
	if (!pid) {
		close(p[0]);
		busy_child(p[1], njobs, variant->sigkill);
	}
	close(p[1]);
	ASSERT_EQ((ssize_t)sizeof(queued), read(p[0], &queued, sizeof(queued)));
	close(p[0]);
	ASSERT_EQ(0, uptr_engine_read(&mid));
	if (variant->sigkill)
		kill(pid, SIGKILL);
	ASSERT_EQ(0, wait_child(pid, SETTLE_MS, &status));
	ASSERT_EQ(0, uptr_debugfs_write("uptr_delay_ms", 0));

	ASSERT_EQ(njobs, queued);
	/* The child really left with jobs in flight. */
	EXPECT_LT(mid.done - e0.done, queued);
	if (variant->sigkill) {
		EXPECT_TRUE(WIFSIGNALED(status));
		EXPECT_EQ(SIGKILL, WTERMSIG(status));
	} else {
		EXPECT_TRUE(WIFEXITED(status));
		EXPECT_EQ(0, WEXITSTATUS(status));
	}

	/*
	 * Every job touches the child's userptr object, so the teardown of
	 * its mm waits for them: they all run, none is lost or times out.
	 */
	EXPECT_EQ(0, engine_settle(_metadata, &e0, queued, &e1)) {
		TH_LOG("jobs: +%lld submitted, +%lld done, +%lld timed out",
		       e1.submitted - e0.submitted, e1.done - e0.done,
		       e1.timedout - e0.timedout);
		TH_LOG("jobs: +%lld aborted; expected +%d submitted and done",
		       e1.aborted - e0.aborted, queued);
	}
	EXPECT_EQ(e0.timedout, e1.timedout);
	/* The child's object is gone, and the mm release reached it. */
	objs = uptr_objects_settle(c->dir, c->objs0, SETTLE_MS);
	EXPECT_EQ(c->objs0, objs);
	ASSERT_EQ(0, uptr_debugfs_stats(c->dir, &s1));
	EXPECT_GE(s1.event_release - s0.event_release, 1);
	ksft_print_msg("%s: %d jobs queued, %lld done when the child left, release events +%lld\n",
		       variant->sigkill ? "sigkill" : "exit", queued,
		       mid.done - e0.done, s1.event_release - s0.event_release);

	ctx_engine_works(_metadata, c, 0x51);
}

FIXTURE(life) {
	struct life_ctx c;
};

FIXTURE_SETUP(life)
{
	ctx_setup(_metadata, &self->c);
}

FIXTURE_TEARDOWN(life)
{
	ctx_teardown(&self->c);
}

/* State shared with the child of the fault-in kill test. */
struct faultin_shared {
	int ready;
	int in_ioctl;
	int iterations;
	int first_ret;
	long long full_ms;
	long long faulted_at_start;
};

static void faultin_child(struct faultin_shared *sh, size_t size)
{
	struct drm_uptr_create c = {
		.user_size = size,
		.flags = DRM_UPTR_CREATE_POPULATE,
	};
	long long t0;
	void *p;
	int fd;

	fd = uptr_open_render();
	p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (fd < 0 || p == MAP_FAILED)
		_exit(2);
	c.user_ptr = (__u64)(uintptr_t)p;
	if (!sh->full_ms) {
		/* How long one whole fault-in takes, uninterrupted. */
		t0 = uptr_now_ms();
		sh->first_ret = uptr_ioctl_once(fd, DRM_IOCTL_UPTR_CREATE, &c);
		sh->full_ms = uptr_now_ms() - t0;
		if (sh->first_ret)
			_exit(3);
		uptr_gem_close(fd, c.handle);
		madvise(p, size, MADV_DONTNEED);
	}
	for (;;) {
		sh->faulted_at_start = uptr_debugfs_value("uptr_stats",
							  "pages_faulted");
		__atomic_store_n(&sh->in_ioctl, 1, __ATOMIC_SEQ_CST);
		__atomic_store_n(&sh->ready, 1, __ATOMIC_SEQ_CST);
		if (uptr_ioctl_once(fd, DRM_IOCTL_UPTR_CREATE, &c))
			_exit(4);
		__atomic_store_n(&sh->in_ioctl, 0, __ATOMIC_SEQ_CST);
		sh->iterations++;
		uptr_gem_close(fd, c.handle);
		/* Make the next fault-in allocate every page again. */
		madvise(p, size, MADV_DONTNEED);
	}
}

TEST_F_TIMEOUT(life, sigkill_interrupts_fault_in_of_256mib_object, 600)
{
	struct life_ctx *c = &self->c;
	size_t size = 256UL << 20;
	struct faultin_shared *sh;
	bool interrupted = false;
	__u64 max = 0;
	int attempt;

	ASSERT_EQ(0, uptr_get_param(c->fd, DRM_UPTR_PARAM_MAX_OBJECT_SIZE,
				    &max));
	if (size > max)
		size = max;
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, sh);
	memset(sh, 0, sizeof(*sh));

	for (attempt = 0; attempt < 3 && !interrupted; attempt++) {
		long long delay, t_kill, latency, faulted, deadline;
		int status;
		pid_t pid;

		sh->ready = 0;
		sh->iterations = 0;
		pid = fork();
		ASSERT_GE(pid, 0);
		if (!pid)
			faultin_child(sh, size);

		/* The child did one whole fault-in, then started the next. */
		deadline = uptr_now_ms() + 300 * 1000;
		while (!__atomic_load_n(&sh->ready, __ATOMIC_SEQ_CST) &&
		       uptr_now_ms() < deadline && !waitpid(pid, &status, WNOHANG))
			usleep(1000);
		ASSERT_EQ(1, sh->ready) {
			TH_LOG("child never started the fault-in: first CREATE %d",
			       sh->first_ret);
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
		}
		/* Kill it a third, then a sixth, ... into the fault-in. */
		delay = sh->full_ms / (3 * (attempt + 1));
		usleep((delay > 10 ? delay : 10) * 1000);
		t_kill = uptr_now_ms();
		kill(pid, SIGKILL);
		ASSERT_EQ(0, wait_child(pid, 10000, &status)) {
			TH_LOG("child still alive 10 s after SIGKILL");
		}
		latency = uptr_now_ms() - t_kill;
		faulted = uptr_debugfs_value("uptr_stats", "pages_faulted") -
			  sh->faulted_at_start;
		EXPECT_TRUE(WIFSIGNALED(status));
		EXPECT_EQ(SIGKILL, WTERMSIG(status));
		ksft_print_msg("attempt %d: a %zu MiB fault-in takes %lld ms\n",
			       attempt, size >> 20, sh->full_ms);
		ksft_print_msg("attempt %d: killed %lld ms in, dead %lld ms later\n",
			       attempt, delay, latency);
		ksft_print_msg("attempt %d: in CREATE: %d, %lld of %zu pages faulted\n",
			       attempt, sh->in_ioctl, faulted,
			       (size_t)(size / PAGE));
		/* Died inside CREATE, before the whole range was faulted. */
		if (sh->in_ioctl && faulted < (long long)(size / PAGE)) {
			interrupted = true;
			EXPECT_LT(latency, 5000);
		}
	}
	EXPECT_TRUE(interrupted) {
		TH_LOG("SIGKILL never cut a fault-in short");
	}
	munmap(sh, sizeof(*sh));
	/* The half-built object went away with the process. */
	EXPECT_EQ(c->objs0, uptr_objects_settle(c->dir, c->objs0, SETTLE_MS));
	ctx_engine_works(_metadata, c, 0x52);
}

TEST_F(life, close_with_busy_objects_keeps_device_writes_spares_new_memory)
{
	struct life_ctx *c = &self->c;
	const size_t half = LIFE_SIZE / 2;
	struct uptr_engine_counts e0, mid, e1;
	struct uptr_stats s0, s1;
	const int njobs = 6;
	unsigned char *map;
	__u32 h, bo, last = 0;
	int fd, i;
	void *p;

	fd = uptr_open_render();
	ASSERT_GE(fd, 0);
	map = uptr_map_anon(LIFE_SIZE);
	ASSERT_NE(NULL, map);
	ASSERT_EQ(0, uptr_create(fd, map, LIFE_SIZE, 0, &h));
	ASSERT_EQ(0, uptr_bo_create(fd, LIFE_SIZE, &bo, NULL));
	ASSERT_EQ(c->objs0 + 1, uptr_debugfs_objects(c->dir, 0, NULL));
	ASSERT_EQ(0, uptr_debugfs_stats(c->dir, &s0));
	ASSERT_EQ(0, uptr_engine_read(&e0));

	ASSERT_EQ(0, uptr_debugfs_write("uptr_delay_ms", 100));
	for (i = 0; i < njobs; i++) {
		struct uptr_batch j = {};

		if (i == 2) {
			uptr_batch_cmd(&j, DRM_UPTR_OP_COPY, h, 0, bo, 0,
				       LIFE_SIZE, 0);
		} else {
			last = 0xb0500000 + i;
			uptr_batch_cmd(&j, DRM_UPTR_OP_FILL, 0, 0, h, 0,
				       LIFE_SIZE, last);
		}
		ASSERT_EQ(0, uptr_batch_submit(fd, &j));
	}
	/* Close with every job queued; the object lives on in the jobs. */
	close(fd);
	ASSERT_EQ(0, uptr_engine_read(&mid));
	/* Replace the second half: this must wait for the jobs on it. */
	p = mmap(map + half, half, PROT_READ | PROT_WRITE,
		 MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_EQ(map + half, p);
	uptr_fill_pattern(p, half, 0x77);
	EXPECT_EQ(0, engine_settle(_metadata, &e0, njobs, &e1));
	ASSERT_EQ(0, uptr_debugfs_write("uptr_delay_ms", 0));

	/* Jobs still queued at close ran... */
	EXPECT_LT(mid.done - e0.done, njobs);
	/* ...their writes landed in the CPU's view of the kept half... */
	EXPECT_EQ(-1, uptr_check_words(map, half, last));
	/* ...and none reached the memory mapped after the invalidation. */
	EXPECT_EQ(-1, uptr_check_pattern(map + half, half, 0x77));
	ASSERT_EQ(0, uptr_debugfs_stats(c->dir, &s1));
	EXPECT_GE(s1.event_unmap - s0.event_unmap, 1);
	EXPECT_EQ(c->objs0, uptr_objects_settle(c->dir, c->objs0, SETTLE_MS));
	ksft_print_msg("close: %lld of %d jobs done at close, unmap events +%lld\n",
		       mid.done - e0.done, njobs,
		       s1.event_unmap - s0.event_unmap);
	munmap(map, LIFE_SIZE);
	ctx_engine_works(_metadata, c, 0x53);
}

/* What the receiver of the DRM fd reports back. */
struct fdpass_report {
	int copy_from_sender_obj;
	int fill_sender_obj;
	int fill_device_buffer;
	int create_own;
	int fill_own;
	int own_readback;
	__u32 own_handle;
};

struct fdpass_request {
	__u32 sender_obj;
	__u32 bo;
	__u32 sync;
};

/* Room for one SCM_RIGHTS descriptor, aligned for struct cmsghdr. */
union fd_cmsg {
	char buf[CMSG_SPACE(sizeof(int))];
	struct cmsghdr align;
};

static int send_fd(int sock, int fd, const void *data, size_t len)
{
	union fd_cmsg cbuf = {};
	struct iovec iov = { .iov_base = (void *)data, .iov_len = len };
	struct msghdr msg = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = cbuf.buf,
		.msg_controllen = sizeof(cbuf.buf),
	};
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);

	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	return sendmsg(sock, &msg, 0) == (ssize_t)len ? 0 : -1;
}

static int recv_fd(int sock, void *data, size_t len)
{
	union fd_cmsg cbuf = {};
	struct iovec iov = { .iov_base = data, .iov_len = len };
	struct msghdr msg = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = cbuf.buf,
		.msg_controllen = sizeof(cbuf.buf),
	};
	struct cmsghdr *cm;
	int fd;

	if (recvmsg(sock, &msg, 0) != (ssize_t)len)
		return -1;
	cm = CMSG_FIRSTHDR(&msg);
	if (!cm || cm->cmsg_level != SOL_SOCKET ||
	    cm->cmsg_type != SCM_RIGHTS)
		return -1;
	memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	return fd;
}

/* The receiving process: it has no DRM file of its own. */
static void fdpass_child(int sock, int inherited_fd)
{
	struct fdpass_report rep = {};
	struct fdpass_request req;
	struct uptr_batch j = {};
	unsigned char *own;
	char byte;
	int fd;

	close(inherited_fd);
	fd = recv_fd(sock, &req, sizeof(req));
	if (fd < 0)
		_exit(2);

	/* The sender's userptr object: its mm is not ours. */
	uptr_batch_cmd(&j, DRM_UPTR_OP_COPY, req.sender_obj, 0, req.bo, 0,
		       PAGE, 0);
	rep.copy_from_sender_obj = uptr_batch_submit(fd, &j);
	j = (struct uptr_batch){};
	uptr_batch_cmd(&j, DRM_UPTR_OP_FILL, 0, 0, req.sender_obj, 0, PAGE,
		       0xbadbad00);
	rep.fill_sender_obj = uptr_batch_submit(fd, &j);

	/* A device buffer is no one's memory: it may be used. */
	j = (struct uptr_batch){};
	uptr_batch_cmd(&j, DRM_UPTR_OP_FILL, 0, 0, req.bo, 0, PAGE, 0x600df00d);
	rep.fill_device_buffer = uptr_batch_run(fd, req.sync, &j);

	/* An object over our own memory works through the passed fd. */
	own = uptr_map_anon(4 * PAGE);
	if (!own)
		_exit(3);
	memset(own, 0, 4 * PAGE);
	rep.create_own = uptr_create(fd, own, 4 * PAGE, 0, &rep.own_handle);
	j = (struct uptr_batch){};
	uptr_batch_cmd(&j, DRM_UPTR_OP_FILL, 0, 0, rep.own_handle, 0, 4 * PAGE,
		       0xc41dc41d);
	rep.fill_own = uptr_batch_run(fd, req.sync, &j);
	rep.own_readback = uptr_check_words(own, 4 * PAGE, 0xc41dc41d) == -1;

	if (write(sock, &rep, sizeof(rep)) != sizeof(rep))
		_exit(4);
	/* Keep the object's mm alive until the sender has tried it. */
	if (read(sock, &byte, 1) != 1)
		_exit(5);
	_exit(0);
}

TEST_F(life, drm_fd_passed_over_unix_socket_cannot_use_sender_objects)
{
	struct life_ctx *c = &self->c;
	struct fdpass_request req = {
		.sender_obj = c->h,
		.bo = c->bo,
		.sync = c->sync,
	};
	struct fdpass_report rep;
	struct uptr_batch j = {};
	int sv[2], status;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
		SKIP(return, "no AF_UNIX sockets: %s", strerror(errno));
	uptr_fill_pattern(c->map, LIFE_SIZE, 0x61);
	memset(c->bo_map, 0, LIFE_SIZE);

	pid = fork();
	ASSERT_GE(pid, 0);
	if (!pid) {
		close(sv[0]);
		fdpass_child(sv[1], c->fd);
	}
	close(sv[1]);
	ASSERT_EQ(0, send_fd(sv[0], c->fd, &req, sizeof(req)));
	ASSERT_EQ((ssize_t)sizeof(rep), read(sv[0], &rep, sizeof(rep)));

	EXPECT_EQ(-EXDEV, rep.copy_from_sender_obj);
	EXPECT_EQ(-EXDEV, rep.fill_sender_obj);
	EXPECT_EQ(1, rep.fill_device_buffer);
	EXPECT_EQ(0x600df00dU, ((__u32 *)c->bo_map)[0]);
	EXPECT_EQ(0, rep.create_own);
	EXPECT_EQ(1, rep.fill_own);
	EXPECT_TRUE(rep.own_readback);

	/* The other way round: the receiver's object is not ours either. */
	uptr_batch_cmd(&j, DRM_UPTR_OP_FILL, 0, 0, rep.own_handle, 0, PAGE,
		       0xbadbad01);
	EXPECT_EQ(-EXDEV, uptr_batch_submit(c->fd, &j));
	ASSERT_EQ(1, write(sv[0], "x", 1));
	ASSERT_EQ(0, wait_child(pid, SETTLE_MS, &status));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	/* Its mm is gone now: still -EXDEV, never a write anywhere. */
	EXPECT_EQ(-EXDEV, uptr_batch_submit(c->fd, &j));
	close(sv[0]);

	/* Nothing the receiver tried reached the sender's memory. */
	EXPECT_EQ(-1, uptr_check_pattern(c->map, LIFE_SIZE, 0x61));
	ctx_engine_works(_metadata, c, 0x62);
	uptr_gem_close(c->fd, rep.own_handle);
}

TEST_F_TIMEOUT(life, ten_thousand_one_page_objects_over_one_mapping, 300)
{
	struct life_ctx *c = &self->c;
	const unsigned long n = 10000;
	struct uptr_stats s0, s1, s2;
	struct uptr_batch j = {};
	long long t0, t_create, t_close;
	unsigned char *map, *bo_map;
	__u32 *h, *w, bo, sync;
	__u64 sum;
	unsigned long i;
	int fd, k;

	h = calloc(n, sizeof(*h));
	ASSERT_NE(NULL, h);
	map = uptr_map_anon(n * PAGE);
	ASSERT_NE(NULL, map);
	for (i = 0; i < n; i++) {
		w = (__u32 *)(map + i * PAGE);
		w[0] = i;
		w[PAGE / 4 - 1] = ~i;
	}
	fd = uptr_open_render();
	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, uptr_bo_create(fd, 4 * PAGE, &bo, (void **)&bo_map));
	ASSERT_EQ(0, uptr_syncobj_create(fd, &sync));

	t0 = uptr_now_ms();
	for (i = 0; i < n; i++)
		ASSERT_EQ(0, uptr_create(fd, map + i * PAGE, PAGE, 0, &h[i])) {
			TH_LOG("object %lu", i);
		}
	t_create = uptr_now_ms() - t0;
	ASSERT_EQ(c->objs0 + (int)n, uptr_debugfs_objects(c->dir, 0, NULL));

	/* Three objects far apart, copied out in one job. */
	uptr_batch_cmd(&j, DRM_UPTR_OP_COPY, h[0], 0, bo, 0, PAGE, 0);
	uptr_batch_cmd(&j, DRM_UPTR_OP_COPY, h[n - 1], 0, bo, PAGE, PAGE, 0);
	uptr_batch_cmd(&j, DRM_UPTR_OP_COPY, h[5000], 0, bo, 2 * PAGE, PAGE,
		       0);
	ASSERT_EQ(1, uptr_batch_run(fd, sync, &j));
	/* sync belongs to c->fd: use a syncobj of this file. */
	w = (__u32 *)bo_map;
	EXPECT_EQ(0U, w[0]);
	EXPECT_EQ(n - 1, w[PAGE / 4]);
	EXPECT_EQ(5000U, w[2 * PAGE / 4]);
	EXPECT_EQ(~5000U, w[3 * PAGE / 4 - 1]);

	/* Eight neighbours filled by one job, and not a byte more. */
	j = (struct uptr_batch){};
	for (k = 0; k < 8; k++)
		uptr_batch_cmd(&j, DRM_UPTR_OP_FILL, 0, 0, h[100 + k], 0, PAGE,
			       0xf00d0000 + k);
	ASSERT_EQ(1, uptr_batch_run(fd, sync, &j));
	for (k = 0; k < 8; k++)
		EXPECT_EQ(-1, uptr_check_words(map + (100 + k) * PAGE, PAGE,
					       0xf00d0000 + k));
	EXPECT_EQ(99U, *(__u32 *)(map + 99 * PAGE));
	EXPECT_EQ(108U, *(__u32 *)(map + 108 * PAGE));

	j = (struct uptr_batch){};
	uptr_batch_cmd(&j, DRM_UPTR_OP_CHECKSUM, h[4321], 0, bo, 3 * PAGE,
		       PAGE, 0);
	ASSERT_EQ(1, uptr_batch_run(fd, sync, &j));
	sum = cpu_checksum(map + 4321 * PAGE, PAGE);
	EXPECT_EQ(0, memcmp(&sum, bo_map + 3 * PAGE, sizeof(sum)));

	/* One madvise reaches every one of the 10000 notifiers. */
	ASSERT_EQ(0, uptr_debugfs_stats(c->dir, &s0));
	ASSERT_EQ(0, madvise(map, n * PAGE, MADV_DONTNEED));
	ASSERT_EQ(0, uptr_debugfs_stats(c->dir, &s1));
	EXPECT_GE(s1.invalidations - s0.invalidations, (long long)n);
	EXPECT_GE(s1.event_clear - s0.event_clear, (long long)n);
	EXPECT_GE(s1.pages_invalidated - s0.pages_invalidated, 1);

	/* The CPU's new page reaches the device through a refault. */
	*(__u32 *)(map + 42 * PAGE) = 0xabcd0042;
	j = (struct uptr_batch){};
	uptr_batch_cmd(&j, DRM_UPTR_OP_COPY, h[42], 0, bo, 0, PAGE, 0);
	ASSERT_EQ(1, uptr_batch_run(fd, sync, &j));
	EXPECT_EQ(0xabcd0042U, w[0]);
	EXPECT_EQ(0U, w[PAGE / 4 - 1]);
	ASSERT_EQ(0, uptr_debugfs_stats(c->dir, &s2));
	EXPECT_GE(s2.pages_faulted - s1.pages_faulted, 1);

	/* The buffer's mapping holds the file: it goes first. */
	munmap(bo_map, 4 * PAGE);
	t0 = uptr_now_ms();
	close(fd);
	EXPECT_EQ(c->objs0, uptr_objects_settle(c->dir, c->objs0, SETTLE_MS));
	t_close = uptr_now_ms() - t0;
	ksft_print_msg("%lu objects: created in %lld ms, freed in %lld ms\n",
		       n, t_create, t_close);
	ksft_print_msg("DONTNEED: +%lld invalidations, +%lld pages invalidated\n",
		       s1.invalidations - s0.invalidations,
		       s1.pages_invalidated - s0.pages_invalidated);
	munmap(map, n * PAGE);
	free(h);
	ctx_engine_works(_metadata, c, 0x54);
}

TEST_F(life, overlapping_objects_see_each_others_device_writes)
{
	struct life_ctx *c = &self->c;
	struct uptr_stats s0, s1;
	struct uptr_batch j = {};
	unsigned char *map;
	__u32 a, b, *w;
	__u64 sum, sa, sb;
	void *p;

	map = uptr_map_anon(12 * PAGE);
	ASSERT_NE(NULL, map);
	uptr_fill_pattern(map, 12 * PAGE, 0x71);
	/* A over pages 0-7, B over pages 4-11 of the same mapping. */
	ASSERT_EQ(0, uptr_create(c->fd, map, 8 * PAGE, 0, &a));
	ASSERT_EQ(0, uptr_create(c->fd, map + 4 * PAGE, 8 * PAGE, 0, &b));

	/* The device writes pages 4-7 through A and reads them through B. */
	uptr_batch_cmd(&j, DRM_UPTR_OP_FILL, 0, 0, a, 4 * PAGE, 4 * PAGE,
		       0x0a0a0a0a);
	ASSERT_EQ(1, uptr_batch_run(c->fd, c->sync, &j));
	memset(c->bo_map, 0, LIFE_SIZE);
	j = (struct uptr_batch){};
	uptr_batch_cmd(&j, DRM_UPTR_OP_COPY, b, 0, c->bo, 0, 4 * PAGE, 0);
	ASSERT_EQ(1, uptr_batch_run(c->fd, c->sync, &j));
	EXPECT_EQ(-1, uptr_check_words(c->bo_map, 4 * PAGE, 0x0a0a0a0a));
	EXPECT_EQ(-1, uptr_check_words(map + 4 * PAGE, 4 * PAGE, 0x0a0a0a0a));

	/* A's pages 0-3 to B's pages 4-7 (user pages 8-11): disjoint. */
	j = (struct uptr_batch){};
	uptr_batch_cmd(&j, DRM_UPTR_OP_COPY, a, 0, b, 4 * PAGE, 4 * PAGE, 0);
	ASSERT_EQ(1, uptr_batch_run(c->fd, c->sync, &j));
	EXPECT_EQ(0, memcmp(map, map + 8 * PAGE, 4 * PAGE));
	/* The same user bytes through both objects: a COPY onto itself. */
	j = (struct uptr_batch){};
	uptr_batch_cmd(&j, DRM_UPTR_OP_COPY, a, 4 * PAGE, b, 0, PAGE, 0);
	EXPECT_EQ(-EINVAL, uptr_batch_submit(c->fd, &j));

	/* New memory under page 5 reaches both objects. */
	ASSERT_EQ(0, uptr_debugfs_stats(c->dir, &s0));
	p = mmap(map + 5 * PAGE, PAGE, PROT_READ | PROT_WRITE,
		 MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_EQ(map + 5 * PAGE, p);
	ASSERT_EQ(0, uptr_debugfs_stats(c->dir, &s1));
	uptr_fill_pattern(p, PAGE, 0x72);
	sum = cpu_checksum(p, PAGE);
	j = (struct uptr_batch){};
	uptr_batch_cmd(&j, DRM_UPTR_OP_CHECKSUM, a, 5 * PAGE, c->bo, 0, PAGE, 0);
	uptr_batch_cmd(&j, DRM_UPTR_OP_CHECKSUM, b, PAGE, c->bo, 8, PAGE, 0);
	ASSERT_EQ(1, uptr_batch_run(c->fd, c->sync, &j));
	w = (__u32 *)c->bo_map;
	memcpy(&sa, w, sizeof(sa));
	memcpy(&sb, w + 2, sizeof(sb));
	EXPECT_EQ(sum, sa);
	EXPECT_EQ(sum, sb);
	/* Both notifiers fired, and both had the page valid. */
	EXPECT_GE(s1.invalidations - s0.invalidations, 2);
	EXPECT_GE(s1.pages_invalidated - s0.pages_invalidated, 2);

	uptr_gem_close(c->fd, a);
	uptr_gem_close(c->fd, b);
	munmap(map, 12 * PAGE);
}

TEST_HARNESS_MAIN
