// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The uptr authors
 *
 * Helpers linked into every uptr kselftest; see uptr_util.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <sys/ioctl.h>

#include <linux/kernel-page-flags.h>
#include <linux/loop.h>

#include "../../kselftest.h"
#include "uptr_util.h"

int uptr_counter_read(const char *file, const char *key, long long *value)
{
	char dir[256], path[512], k[64];
	int ret = -ENOENT;
	long long v;
	FILE *f;

	if (uptr_debugfs_dir(dir, sizeof(dir)))
		return -ENODEV;
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	f = fopen(path, "r");
	if (!f)
		return -errno;
	while (fscanf(f, "%63s %lld", k, &v) == 2) {
		if (!strcmp(k, key)) {
			*value = v;
			ret = 0;
		}
	}
	fclose(f);
	return ret;
}

/*
 * uptr_counter_read(), logging a missing counter. The harness ends its test
 * processes with _exit(), which does not flush stdio: flush the message.
 */
static int uptr_counter_read_log(const char *file, const char *key,
				 long long *value)
{
	int ret = uptr_counter_read(file, key, value);

	if (ret) {
		ksft_print_msg("no counter %s in debugfs file %s\n", key, file);
		fflush(stdout);
	}
	return ret;
}

int uptr_engine_read(struct uptr_engine_counts *e)
{
	static const char *const file = "uptr_engine";
	int ret;

	ret = uptr_counter_read_log(file, "jobs_submitted", &e->submitted);
	if (!ret)
		ret = uptr_counter_read_log(file, "jobs_done", &e->done);
	if (!ret)
		ret = uptr_counter_read_log(file, "jobs_timedout", &e->timedout);
	if (!ret)
		ret = uptr_counter_read_log(file, "jobs_aborted", &e->aborted);
	if (!ret)
		ret = uptr_counter_read_log(file, "submit_retries",
					    &e->submit_retries);
	return ret;
}

int uptr_engine_quiesce(int timeout_ms)
{
	long long last = -2, cur, deadline = uptr_now_ms() + timeout_ms;
	int ret;

	while (uptr_now_ms() < deadline) {
		ret = uptr_counter_read_log("uptr_engine", "jobs_done", &cur);
		if (ret)
			return ret;
		if (cur == last)
			return 0;
		last = cur;
		usleep(200 * 1000);
	}
	return 0;
}

/* What uptr_stats_since() logs, one line each, under its @what. */
#define UPTR_STATS_LOG_FAULTS \
	"%s: pages_faulted +%lld retries +%lld busy_retries +%lld folios_dirtied +%lld\n"
#define UPTR_STATS_LOG_INVALIDATIONS \
	"%s: invalidations +%lld pages_invalidated +%lld unmap +%lld clear +%lld\n"
#define UPTR_STATS_LOG_EVENTS \
	"%s: protection_page +%lld protection_vma +%lld migrate +%lld\n"

int uptr_stats_since(const char *dir, const char *what,
		     const struct uptr_stats *before, struct uptr_stats *now,
		     struct uptr_stats *d)
{
	const long long *a = (const long long *)before;
	long long *b = (long long *)now, *c = (long long *)d;
	size_t i;
	int ret;

	ret = uptr_debugfs_stats(dir, now);
	if (ret)
		return ret;
	for (i = 0; i < sizeof(*d) / sizeof(*c); i++)
		c[i] = b[i] - a[i];
	ksft_print_msg(UPTR_STATS_LOG_FAULTS,
		       what, d->pages_faulted, d->retries, d->busy_retries,
		       d->folios_dirtied);
	ksft_print_msg(UPTR_STATS_LOG_INVALIDATIONS,
		       what, d->invalidations, d->pages_invalidated,
		       d->event_unmap, d->event_clear);
	ksft_print_msg(UPTR_STATS_LOG_EVENTS,
		       what, d->event_protection_page, d->event_protection_vma,
		       d->event_migrate);
	/* See uptr_counter_read_log(). */
	fflush(stdout);
	return 0;
}

int uptr_read_number(const char *path, long long *value)
{
	FILE *f = fopen(path, "r");
	int ret = 0;

	if (!f)
		return -errno;
	if (fscanf(f, "%lld", value) != 1)
		ret = -EINVAL;
	fclose(f);
	return ret;
}

long long uptr_number(const char *path)
{
	long long v;

	return uptr_read_number(path, &v) ? -1 : v;
}

int uptr_write_str(const char *path, const char *s, int flags)
{
	ssize_t len = strlen(s), n;
	int fd, ret = 0;

	fd = open(path, O_WRONLY | O_CLOEXEC | flags);
	if (fd < 0)
		return -errno;
	n = write(fd, s, len);
	if (n != len)
		ret = n < 0 ? -errno : -EIO;
	close(fd);
	return ret;
}

int uptr_read_str(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	if (n && buf[n - 1] == '\n')
		buf[n - 1] = '\0';
	return 0;
}

unsigned long long uptr_pagemap(const void *addr)
{
	unsigned long long e = 0;
	long page = sysconf(_SC_PAGESIZE);
	int fd;

	fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	if (pread(fd, &e, sizeof(e), (uintptr_t)addr / page * sizeof(e)) !=
	    sizeof(e))
		e = 0;
	close(fd);
	return e;
}

unsigned long long uptr_pfn(const void *addr)
{
	unsigned long long e = uptr_pagemap(addr);

	return e & PM_PRESENT ? e & PM_PFN : 0;
}

int uptr_loop_attach(const char *img, char *dev, size_t len)
{
	struct loop_config cfg = { .info.lo_flags = LO_FLAGS_AUTOCLEAR };
	int ctl, nr, lfd = -1, ifd, i, ret;

	ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
	if (ctl < 0)
		return -errno;
	nr = ioctl(ctl, LOOP_CTL_GET_FREE);
	ret = -errno;
	close(ctl);
	if (nr < 0)
		return ret;
	snprintf(dev, len, "/dev/loop%d", nr);
	/* The device node may appear a moment after LOOP_CTL_GET_FREE. */
	for (i = 0; i < 50 && lfd < 0; i++) {
		lfd = open(dev, O_RDWR | O_CLOEXEC);
		if (lfd < 0)
			usleep(20000);
	}
	if (lfd < 0)
		return -errno;
	ifd = open(img, O_RDWR | O_CLOEXEC);
	if (ifd < 0) {
		ret = -errno;
		close(lfd);
		return ret;
	}
	cfg.fd = ifd;
	ret = ioctl(lfd, LOOP_CONFIGURE, &cfg) ? -errno : 0;
	close(ifd);
	if (ret) {
		close(lfd);
		return ret;
	}
	return lfd;
}

int uptr_text_file_offset(uintptr_t addr, char *path, size_t len,
			  unsigned long *file_off)
{
	char line[PATH_MAX + 128], perms[8], name[PATH_MAX];
	unsigned long start, end, off;
	int ret = -ENOENT;
	FILE *f;

	f = fopen("/proc/self/maps", "r");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		name[0] = '\0';
		if (sscanf(line, "%lx-%lx %7s %lx %*s %*s %4095s", &start, &end,
			   perms, &off, name) < 4)
			continue;
		if (addr < start || addr >= end)
			continue;
		if (name[0] != '/' || perms[2] != 'x' || perms[3] != 'p')
			break;
		snprintf(path, len, "%s", name);
		*file_off = addr - start + off;
		ret = 0;
		break;
	}
	fclose(f);
	return ret;
}

long uptr_anon_huge_kb(const void *addr)
{
	unsigned long a = (unsigned long)addr, start, end;
	bool in_vma = false;
	char line[512];
	long kb = -1;
	FILE *f;

	f = fopen("/proc/self/smaps", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx ", &start, &end) == 2) {
			in_vma = a >= start && a < end;
			continue;
		}
		if (in_vma && sscanf(line, "AnonHugePages: %ld kB", &kb) == 1)
			break;
	}
	fclose(f);
	return kb;
}

/* Bits 0-54 of a pagemap entry: the page frame number, if present. */
#define UPTR_PM_PFN_MASK	0x007fffffffffffffULL
/* Bit 63: the page is present. */
#define UPTR_PM_PRESENT		0x8000000000000000ULL

int uptr_thp_backed(const void *addr, size_t len)
{
	long psize = sysconf(_SC_PAGESIZE);
	int pm, kpf, ret = 1;
	size_t off;

	pm = open("/proc/self/pagemap", O_RDONLY);
	if (pm < 0)
		return -errno;
	kpf = open("/proc/kpageflags", O_RDONLY);
	if (kpf < 0) {
		ret = -errno;
		close(pm);
		return ret;
	}
	for (off = 0; off < len && ret == 1; off += psize) {
		uint64_t ent, flags;
		off_t vpn = ((uintptr_t)addr + off) / psize;

		if (pread(pm, &ent, sizeof(ent), vpn * sizeof(ent)) !=
		    sizeof(ent)) {
			ret = -EIO;
			break;
		}
		if (!(ent & UPTR_PM_PRESENT) || !(ent & UPTR_PM_PFN_MASK)) {
			ret = 0;
			break;
		}
		if (pread(kpf, &flags, sizeof(flags),
			  (ent & UPTR_PM_PFN_MASK) * sizeof(flags)) !=
		    sizeof(flags)) {
			ret = -EIO;
			break;
		}
		if (!(flags & (1ULL << KPF_THP)))
			ret = 0;
	}
	close(kpf);
	close(pm);
	return ret;
}

int uptr_open_render(void)
{
	int minor;

	for (minor = UPTR_RENDER_MINOR_FIRST; minor <= UPTR_RENDER_MINOR_LAST;
	     minor++) {
		struct drm_version v;
		char path[64];
		char name[32];
		int fd;

		snprintf(path, sizeof(path), "/dev/dri/renderD%d", minor);
		fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			continue;

		memset(&v, 0, sizeof(v));
		memset(name, 0, sizeof(name));
		v.name = name;
		v.name_len = sizeof(name) - 1;
		if (ioctl(fd, DRM_IOCTL_VERSION, &v) == 0 &&
		    !strcmp(name, "uptr"))
			return fd;
		close(fd);
	}

	errno = ENODEV;
	return -1;
}

int uptr_ioctl(int fd, unsigned long request, void *arg)
{
	int ret;

	do {
		ret = ioctl(fd, request, arg);
	} while (ret == -1 && (errno == EINTR || errno == EAGAIN));

	return ret ? -errno : 0;
}

int uptr_ioctl_once(int fd, unsigned long request, void *arg)
{
	return ioctl(fd, request, arg) ? -errno : 0;
}

int uptr_get_param(int fd, __u32 param, __u64 *value)
{
	struct drm_uptr_get_param p = { .param = param };
	int ret;

	ret = uptr_ioctl(fd, DRM_IOCTL_UPTR_GET_PARAM, &p);
	if (!ret)
		*value = p.value;
	return ret;
}

int uptr_create(int fd, const void *ptr, __u64 size, __u32 flags,
		__u32 *handle)
{
	struct drm_uptr_create c = {
		.user_ptr = (__u64)(uintptr_t)ptr,
		.user_size = size,
		.flags = flags,
	};
	int ret;

	ret = uptr_ioctl(fd, DRM_IOCTL_UPTR_CREATE, &c);
	if (!ret)
		*handle = c.handle;
	return ret;
}

int uptr_gem_close(int fd, __u32 handle)
{
	struct drm_gem_close c = { .handle = handle };

	return uptr_ioctl_once(fd, DRM_IOCTL_GEM_CLOSE, &c);
}

unsigned char uptr_pattern_byte(size_t off, unsigned int seed)
{
	return (unsigned char)(off * 0x9d + (off >> 12) * 0x3b + seed);
}

void uptr_fill_pattern(void *buf, size_t len, unsigned int seed)
{
	unsigned char *p = buf;
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = uptr_pattern_byte(i, seed);
}

ssize_t uptr_check_pattern(const void *buf, size_t len,
			   unsigned int seed)
{
	const unsigned char *p = buf;
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i] != uptr_pattern_byte(i, seed))
			return i;
	return -1;
}

ssize_t uptr_check_bytes(const void *buf, size_t len,
			 unsigned char v)
{
	const unsigned char *p = buf;
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i] != v)
			return i;
	return -1;
}

ssize_t uptr_check_words(const void *buf, size_t len, __u32 v)
{
	const __u32 *w = buf;
	size_t i;

	for (i = 0; i < len / 4; i++)
		if (w[i] != v)
			return i;
	return -1;
}

int uptr_find_vvar(unsigned long *start, unsigned long *end)
{
	char line[512];
	int ret = -ENOENT;
	FILE *f;

	f = fopen("/proc/self/maps", "r");
	if (!f)
		return -ENOENT;
	while (fgets(line, sizeof(line), f)) {
		if (strstr(line, "[vvar]") &&
		    sscanf(line, "%lx-%lx", start, end) == 2) {
			ret = 0;
			break;
		}
	}
	fclose(f);
	return ret;
}

int uptr_debugfs_dir(char *dir, size_t len)
{
	struct dirent *de;
	int ret = -ENODEV;
	DIR *d;

	d = opendir(UPTR_DEBUGFS_DRI);
	if (!d)
		return -ENOENT;
	while ((de = readdir(d))) {
		char path[512], name[64] = "";
		FILE *f;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s/name", UPTR_DEBUGFS_DRI,
			 de->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (!fgets(name, sizeof(name), f))
			name[0] = '\0';
		fclose(f);
		if (strncmp(name, "uptr", 4) ||
		    (name[4] != ' ' && name[4] != '\n' && name[4] != '\0'))
			continue;
		snprintf(path, sizeof(path), "%s/%s/uptr_stats",
			 UPTR_DEBUGFS_DRI, de->d_name);
		if (access(path, R_OK))
			continue;
		if (snprintf(dir, len, "%s/%s", UPTR_DEBUGFS_DRI,
			     de->d_name) >= (int)len)
			continue;
		ret = 0;
		break;
	}
	closedir(d);
	return ret;
}

int uptr_debugfs_stats(const char *dir, struct uptr_stats *s)
{
	static const struct {
		const char *name;
		size_t off;
	} fields[] = {
		UPTR_STAT_FIELD(fault_calls),
		UPTR_STAT_FIELD(pages_faulted),
		UPTR_STAT_FIELD(retries),
		UPTR_STAT_FIELD(busy_retries),
		UPTR_STAT_FIELD(commits),
		UPTR_STAT_FIELD(folios_dirtied),
		UPTR_STAT_FIELD(invalidations),
		UPTR_STAT_FIELD(pages_invalidated),
		UPTR_STAT_FIELD(nonblock_refusals),
		UPTR_STAT_FIELD(event_unmap),
		UPTR_STAT_FIELD(event_clear),
		UPTR_STAT_FIELD(event_protection_vma),
		UPTR_STAT_FIELD(event_protection_page),
		UPTR_STAT_FIELD(event_soft_dirty),
		UPTR_STAT_FIELD(event_release),
		UPTR_STAT_FIELD(event_migrate),
		UPTR_STAT_FIELD(event_exclusive),
		{ NULL, 0 }
	};
	char path[512], line[128], key[64];
	size_t i, nfields, found = 0;
	long long v;
	FILE *f;

	memset(s, 0, sizeof(*s));
	snprintf(path, sizeof(path), "%s/uptr_stats", dir);
	f = fopen(path, "r");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%63s %lld", key, &v) != 2)
			continue;
		for (i = 0; fields[i].name; i++) {
			if (strcmp(key, fields[i].name))
				continue;
			*(long long *)((char *)s + fields[i].off) = v;
			found++;
			break;
		}
	}
	fclose(f);
	for (nfields = 0; fields[nfields].name; nfields++)
		;
	return found == nfields ? 0 : -ENOENT;
}

int uptr_debugfs_objects(const char *dir, unsigned long start,
			 struct uptr_debugfs_object *obj)
{
	char path[512], line[4096];
	struct uptr_debugfs_object o;
	int n = 0, found = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/uptr_objects", dir);
	f = fopen(path, "r");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "start=0x%lx npages=%lu flags=0x%x valid=%lu dead=%d",
			   &o.start, &o.npages, &o.flags, &o.valid,
			   &o.dead) != 5)
			continue;
		n++;
		if (start && !found && o.start == start) {
			*obj = o;
			found = 1;
		}
	}
	fclose(f);
	if (start && !found)
		return -ENOENT;
	return n;
}

long long uptr_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

int uptr_stress_seconds(int max)
{
	const char *env = getenv("UPTR_STRESS_SECONDS");
	int s = env ? atoi(env) : 10;

	if (s < 1)
		s = 1;
	return s > max ? max : s;
}

int uptr_bo_create(int fd, __u64 size, __u32 *handle, void **map)
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

int uptr_syncobj_create(int fd, __u32 *handle)
{
	struct drm_syncobj_create c = {};
	int ret = uptr_ioctl(fd, DRM_IOCTL_SYNCOBJ_CREATE, &c);

	*handle = c.handle;
	return ret;
}

int uptr_syncobj_wait(int fd, __u32 handle, __u64 point)
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

int uptr_syncobj_status(int fd, __u32 handle)
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

void uptr_batch_cmd(struct uptr_batch *j, __u32 op, __u32 src,
		    __u64 soff, __u32 dst, __u64 doff, __u64 len,
		    __u32 pattern)
{
	if (j->n == ARRAY_SIZE(j->cmds)) {
		j->overflow = true;
		return;
	}
	j->cmds[j->n++] = (struct drm_uptr_cmd) {
		.op = op, .src_handle = src, .src_offset = soff,
		.dst_handle = dst, .dst_offset = doff, .length = len,
		.pattern = pattern,
	};
}

void uptr_batch_in(struct uptr_batch *j, __u32 handle, __u64 point)
{
	if (j->nin == ARRAY_SIZE(j->in)) {
		j->overflow = true;
		return;
	}
	j->in[j->nin++] = (struct drm_uptr_sync) {
		.handle = handle, .point = point,
	};
}

unsigned long uptr_page_size(void)
{
	static unsigned long size;

	if (!size)
		size = sysconf(_SC_PAGESIZE);
	return size;
}

int uptr_batch_submit(int fd, struct uptr_batch *j)
{
	struct drm_uptr_submit s = {
		.cmds = (__u64)(uintptr_t)j->cmds,
		.cmd_count = j->n,
		.cmd_stride = sizeof(struct drm_uptr_cmd),
		.in_syncs = (__u64)(uintptr_t)j->in,
		.in_sync_count = j->nin,
		.out_sync = j->out,
	};

	if (j->overflow) {
		fprintf(stderr, "%s: batch overflowed\n", __func__);
		return -ENOSPC;
	}
	return uptr_ioctl(fd, DRM_IOCTL_UPTR_SUBMIT, &s);
}

long long uptr_debugfs_value(const char *file, const char *key)
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

int uptr_debugfs_write(const char *file, long long value)
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

void *uptr_map_anon(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

int uptr_batch_run(int fd, __u32 sync, struct uptr_batch *j)
{
	int ret;

	j->out.handle = sync;
	ret = uptr_batch_submit(fd, j);
	if (ret)
		return ret;
	ret = uptr_syncobj_wait(fd, sync, 0);
	if (ret)
		return ret;
	return uptr_syncobj_status(fd, sync);
}

int uptr_objects_settle(const char *dir, int n, int timeout_ms)
{
	long long end = uptr_now_ms() + timeout_ms;
	int cur;

	for (;;) {
		cur = uptr_debugfs_objects(dir, 0, NULL);
		if (cur == n || uptr_now_ms() > end)
			return cur;
		usleep(20 * 1000);
	}
}

int uptr_vma_flags(const void *addr, char *buf, size_t len)
{
	unsigned long a = (unsigned long)addr, start, end;
	bool in = false;
	char line[512];
	FILE *f;

	f = fopen("/proc/self/smaps", "r");
	if (!f)
		return -ENOENT;
	while (fgets(line, sizeof(line), f)) {
		/* A VMA's first line; field names never parse as "x-y". */
		if (sscanf(line, "%lx-%lx ", &start, &end) == 2) {
			in = a >= start && a < end;
			continue;
		}
		if (in && !strncmp(line, "VmFlags:", 8)) {
			snprintf(buf, len, "%s", line + 8);
			buf[strcspn(buf, "\n")] = '\0';
			fclose(f);
			return 0;
		}
	}
	fclose(f);
	return -ENOENT;
}

bool uptr_vm_flag(const char *flags, const char *f)
{
	const char *p;

	for (p = flags; (p = strstr(p, f)); p += 2)
		if ((p == flags || p[-1] == ' ') && (p[2] == ' ' || !p[2]))
			return true;
	return false;
}

ssize_t uptr_check_pattern_at(const void *buf, size_t len, size_t from,
			      unsigned int seed)
{
	const unsigned char *p = buf;
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i] != uptr_pattern_byte(from + i, seed))
			return i;
	return -1;
}

void coh_write_seed(unsigned char *base, size_t off, size_t len,
		    unsigned int seed)
{
	size_t i;

	for (i = off; i < off + len; i++)
		base[i] = uptr_pattern_byte(i, seed);
}

ssize_t coh_check_seed(const unsigned char *base, size_t off,
		       size_t len, unsigned int seed)
{
	size_t i;

	for (i = off; i < off + len; i++)
		if (base[i] != uptr_pattern_byte(i, seed))
			return i;
	return -1;
}

ssize_t coh_check_word(const unsigned char *base, size_t off,
		       size_t len, __u32 word)
{
	size_t i;
	__u32 w;

	for (i = off; i < off + len; i += sizeof(w)) {
		memcpy(&w, base + i, sizeof(w));
		if (w != word)
			return i;
	}
	return -1;
}
