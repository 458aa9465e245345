// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The uptr authors
 *
 * Helpers linked into every uptr kselftest; see uptr_util.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <linux/kernel-page-flags.h>

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
