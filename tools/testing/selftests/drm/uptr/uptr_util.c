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

#include "uptr_common.h"
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
