/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Copyright (C) 2026 The uptr authors
 *
 * Helpers shared by the uptr kselftests: finding the uptr render node,
 * issuing raw ioctls, filling and checking data patterns, and reading the
 * driver's debugfs files.
 */
#ifndef _UPTR_COMMON_H_
#define _UPTR_COMMON_H_

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/types.h>
#include <unistd.h>

#include <drm/drm.h>
#include <drm/uptr_drm.h>

#define UPTR_RENDER_MINOR_FIRST	128
#define UPTR_RENDER_MINOR_LAST	191

/*
 * Open the render node whose DRM_IOCTL_VERSION name is "uptr".
 * Returns the fd, or -1 with errno set (ENODEV when no such node exists).
 */
static inline int uptr_open_render(void)
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

/* ioctl() that returns 0 or -errno, restarting on EINTR/EAGAIN. */
static inline int uptr_ioctl(int fd, unsigned long request, void *arg)
{
	int ret;

	do {
		ret = ioctl(fd, request, arg);
	} while (ret == -1 && (errno == EINTR || errno == EAGAIN));

	return ret ? -errno : 0;
}

/* ioctl() that returns 0 or -errno, once, without restarting. */
static inline int uptr_ioctl_once(int fd, unsigned long request, void *arg)
{
	return ioctl(fd, request, arg) ? -errno : 0;
}

/* DRM_IOCTL_UPTR_GET_PARAM: returns 0 with *value set, or -errno. */
static inline int uptr_get_param(int fd, __u32 param, __u64 *value)
{
	struct drm_uptr_get_param p = { .param = param };
	int ret;

	ret = uptr_ioctl(fd, DRM_IOCTL_UPTR_GET_PARAM, &p);
	if (!ret)
		*value = p.value;
	return ret;
}

/*
 * DRM_IOCTL_UPTR_CREATE over [ptr, ptr + size) with DRM_UPTR_CREATE_* flags.
 * Returns 0 with *handle set, or -errno. -EAGAIN is restarted, as the UAPI
 * asks of userspace.
 */
static inline int uptr_create(int fd, const void *ptr, __u64 size, __u32 flags,
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

/* DRM_IOCTL_GEM_CLOSE: returns 0 or -errno. */
static inline int uptr_gem_close(int fd, __u32 handle)
{
	struct drm_gem_close c = { .handle = handle };

	return uptr_ioctl_once(fd, DRM_IOCTL_GEM_CLOSE, &c);
}

/* Byte @off of the test pattern @seed: differs from page to page. */
static inline unsigned char uptr_pattern_byte(size_t off, unsigned int seed)
{
	return (unsigned char)(off * 0x9d + (off >> 12) * 0x3b + seed);
}

static inline void uptr_fill_pattern(void *buf, size_t len, unsigned int seed)
{
	unsigned char *p = buf;
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = uptr_pattern_byte(i, seed);
}

/* Returns the offset of the first byte not matching @seed, or -1. */
static inline ssize_t uptr_check_pattern(const void *buf, size_t len,
					 unsigned int seed)
{
	const unsigned char *p = buf;
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i] != uptr_pattern_byte(i, seed))
			return i;
	return -1;
}

/* Offset of the first byte of @len not equal to @v, or -1. */
static inline ssize_t uptr_check_bytes(const void *buf, size_t len,
				       unsigned char v)
{
	const unsigned char *p = buf;
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i] != v)
			return i;
	return -1;
}

/* Index of the first 32-bit word of @len bytes not equal to @v, or -1. */
static inline ssize_t uptr_check_words(const void *buf, size_t len, __u32 v)
{
	const __u32 *w = buf;
	size_t i;

	for (i = 0; i < len / 4; i++)
		if (w[i] != v)
			return i;
	return -1;
}

/*
 * The [vvar] mapping of the vDSO: VM_PFNMAP | VM_IO on x86, i.e. not
 * ordinary memory. Returns 0 with its range, or -ENOENT.
 */
static inline int uptr_find_vvar(unsigned long *start, unsigned long *end)
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

#define UPTR_DEBUGFS_DRI	"/sys/kernel/debug/dri"

/*
 * Find the DRM debugfs directory of the uptr device: the entry of
 * UPTR_DEBUGFS_DRI whose "name" file names the driver "uptr" and which has
 * "uptr_stats". Returns 0 with the path in @dir, -ENOENT when debugfs is
 * not mounted (no UPTR_DEBUGFS_DRI), -ENODEV when no entry is uptr's.
 */
static inline int uptr_debugfs_dir(char *dir, size_t len)
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

/* Every counter of uptr_stats, named as in the file. */
struct uptr_stats {
	long long fault_calls;
	long long pages_faulted;
	long long retries;
	long long busy_retries;
	long long commits;
	long long folios_dirtied;
	long long invalidations;
	long long pages_invalidated;
	long long nonblock_refusals;
	long long event_unmap;
	long long event_clear;
	long long event_protection_vma;
	long long event_protection_page;
	long long event_soft_dirty;
	long long event_release;
	long long event_migrate;
	long long event_exclusive;
};

#define UPTR_STAT_FIELD(n)	{ #n, offsetof(struct uptr_stats, n) }

/*
 * Read @dir/uptr_stats into *s. Returns 0, or -errno (-ENOENT when a
 * counter of struct uptr_stats is missing from the file).
 */
static inline int uptr_debugfs_stats(const char *dir, struct uptr_stats *s)
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

/* The first fields of one line of uptr_objects. */
struct uptr_debugfs_object {
	unsigned long start;
	unsigned long npages;
	unsigned int flags;
	unsigned long valid;
	int dead;
};

/*
 * Walk @dir/uptr_objects. Returns the number of objects, or -errno. If
 * @start is not zero, *obj receives the first object starting at @start,
 * and -ENOENT is returned when there is none.
 */
static inline int uptr_debugfs_objects(const char *dir, unsigned long start,
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

#endif /* _UPTR_COMMON_H_ */
