/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Copyright (C) 2026 The uptr authors
 *
 * Helpers shared by the uptr kselftests that use the copy engine: device
 * buffers, syncobjs, building and submitting jobs, waiting for them and
 * reading or setting the driver's debugfs counters and knobs.
 */
#ifndef _UPTR_JOB_H_
#define _UPTR_JOB_H_

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <linux/sync_file.h>

#include "uptr_common.h"

#define UPTR_PAGE	4096UL
/* How long a test waits for a job: far more than the engine's timeout. */
#define UPTR_WAIT_NS	(10LL * 1000 * 1000 * 1000)

/* CLOCK_MONOTONIC in milliseconds. */
static inline long long uptr_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/*
 * How long a stress test runs: UPTR_STRESS_SECONDS (make check
 * STRESS_SECONDS=N), 10 by default, clamped to [1, @max].
 */
static inline int uptr_stress_seconds(int max)
{
	const char *env = getenv("UPTR_STRESS_SECONDS");
	int s = env ? atoi(env) : 10;

	if (s < 1)
		s = 1;
	return s > max ? max : s;
}

static inline int uptr_bo_create(int fd, __u64 size, __u32 *handle, void **map)
{
	struct drm_uptr_bo_create c = { .size = size };
	struct drm_uptr_bo_mmap_offset o = {};
	int ret;

	ret = uptr_ioctl(fd, DRM_IOCTL_UPTR_BO_CREATE, &c);
	if (ret)
		return ret;
	*handle = c.handle;
	if (!map)
		return 0;
	o.handle = c.handle;
	ret = uptr_ioctl(fd, DRM_IOCTL_UPTR_BO_MMAP_OFFSET, &o);
	if (ret)
		return ret;
	*map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, o.offset);
	return *map == MAP_FAILED ? -errno : 0;
}

static inline int uptr_syncobj_create(int fd, __u32 *handle)
{
	struct drm_syncobj_create c = {};
	int ret = uptr_ioctl(fd, DRM_IOCTL_SYNCOBJ_CREATE, &c);

	*handle = c.handle;
	return ret;
}

/* Wait for a binary syncobj (point 0) or a timeline point. */
static inline int uptr_syncobj_wait(int fd, __u32 handle, __u64 point)
{
	struct drm_syncobj_timeline_wait w = {
		.handles = (__u64)(uintptr_t)&handle,
		.points = (__u64)(uintptr_t)&point,
		.count_handles = 1,
		.timeout_nsec = INT64_MAX,
	};
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	w.timeout_nsec = ts.tv_sec * 1000000000LL + ts.tv_nsec + UPTR_WAIT_NS;
	return uptr_ioctl_once(fd, DRM_IOCTL_SYNCOBJ_TIMELINE_WAIT, &w);
}

/* Status of the syncobj's fence: 1 signalled, 0 pending, <0 its error. */
static inline int uptr_syncobj_status(int fd, __u32 handle)
{
	struct drm_syncobj_handle h = {
		.handle = handle,
		.flags = DRM_SYNCOBJ_HANDLE_TO_FD_FLAGS_EXPORT_SYNC_FILE,
	};
	struct sync_file_info info = {};
	int ret;

	ret = uptr_ioctl(fd, DRM_IOCTL_SYNCOBJ_HANDLE_TO_FD, &h);
	if (ret)
		return ret;
	ret = ioctl(h.fd, SYNC_IOC_FILE_INFO, &info);
	close(h.fd);
	return ret ? -errno : info.status;
}

struct uptr_job {
	struct drm_uptr_cmd cmds[8];
	unsigned int n;
	struct drm_uptr_sync in[4];
	unsigned int nin;
	struct drm_uptr_sync out;
};

static inline void uptr_job_cmd(struct uptr_job *j, __u32 op, __u32 src,
				__u64 soff, __u32 dst, __u64 doff, __u64 len,
				__u32 pattern)
{
	j->cmds[j->n++] = (struct drm_uptr_cmd) {
		.op = op, .src_handle = src, .src_offset = soff,
		.dst_handle = dst, .dst_offset = doff, .length = len,
		.pattern = pattern,
	};
}

static inline int uptr_job_submit(int fd, struct uptr_job *j)
{
	struct drm_uptr_submit s = {
		.cmds = (__u64)(uintptr_t)j->cmds,
		.cmd_count = j->n,
		.cmd_stride = sizeof(struct drm_uptr_cmd),
		.in_syncs = (__u64)(uintptr_t)j->in,
		.in_sync_count = j->nin,
		.out_sync = j->out,
	};

	return uptr_ioctl(fd, DRM_IOCTL_UPTR_SUBMIT, &s);
}

/* Read "key value" from a debugfs file of the device; -1 if missing. */
static inline long long uptr_debugfs_value(const char *file, const char *key)
{
	char dir[256], path[512], k[64];
	long long v, ret = -1;
	FILE *f;

	if (uptr_debugfs_dir(dir, sizeof(dir)))
		return -1;
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fscanf(f, "%63s %lld", k, &v) == 2)
		if (!strcmp(k, key))
			ret = v;
	fclose(f);
	return ret;
}

static inline int uptr_debugfs_write(const char *file, long long value)
{
	char dir[256], path[512];
	FILE *f;

	if (uptr_debugfs_dir(dir, sizeof(dir)))
		return -ENOENT;
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	f = fopen(path, "w");
	if (!f)
		return -errno;
	fprintf(f, "%lld\n", value);
	return fclose(f) ? -errno : 0;
}

static inline void *uptr_map_anon(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

/*
 * Submit @j with @sync as out-fence and wait for it. Returns the fence
 * status (1 when signalled without error), or the submit's -errno.
 */
static inline int uptr_run_job(int fd, __u32 sync, struct uptr_job *j)
{
	int ret;

	j->out.handle = sync;
	ret = uptr_job_submit(fd, j);
	if (ret)
		return ret;
	ret = uptr_syncobj_wait(fd, sync, 0);
	if (ret)
		return ret;
	return uptr_syncobj_status(fd, sync);
}

#endif /* _UPTR_JOB_H_ */
