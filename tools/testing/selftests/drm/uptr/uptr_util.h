/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Copyright (C) 2026 The uptr authors
 *
 * Helpers of the uptr kselftests, built once in uptr_util.c and linked
 * into every test: finding the uptr render node and its debugfs
 * directory, ioctl wrappers that restart as libdrm does, byte patterns,
 * device buffers, syncobjs, building and submitting batches of commands,
 * reading the driver's counters so that a missing one fails the test,
 * and telling how memory is backed (pagemap, THP, loop devices).
 */
#ifndef _UPTR_UTIL_H_
#define _UPTR_UTIL_H_

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <linux/sync_file.h>

#include <drm/drm.h>
#include <drm/uptr_drm.h>

#define UPTR_RENDER_MINOR_FIRST	128
#define UPTR_RENDER_MINOR_LAST	191

/*
 * Open the render node whose DRM_IOCTL_VERSION name is "uptr".
 * Returns the fd, or -1 with errno set (ENODEV when no such node exists).
 */
int uptr_open_render(void);

/* ioctl() that returns 0 or -errno, restarting on EINTR/EAGAIN. */
int uptr_ioctl(int fd, unsigned long request, void *arg);

/* ioctl() that returns 0 or -errno, once, without restarting. */
int uptr_ioctl_once(int fd, unsigned long request, void *arg);

/* DRM_IOCTL_UPTR_GET_PARAM: returns 0 with *value set, or -errno. */
int uptr_get_param(int fd, __u32 param, __u64 *value);

/*
 * DRM_IOCTL_UPTR_CREATE over [ptr, ptr + size) with DRM_UPTR_CREATE_* flags.
 * Returns 0 with *handle set, or -errno. -EAGAIN is restarted, as the UAPI
 * asks of userspace.
 */
int uptr_create(int fd, const void *ptr, __u64 size, __u32 flags,
		__u32 *handle);

/* DRM_IOCTL_GEM_CLOSE: returns 0 or -errno. */
int uptr_gem_close(int fd, __u32 handle);

/* Byte @off of the test pattern @seed: differs from page to page. */
unsigned char uptr_pattern_byte(size_t off, unsigned int seed);

void uptr_fill_pattern(void *buf, size_t len, unsigned int seed);

/* Returns the offset of the first byte not matching @seed, or -1. */
ssize_t uptr_check_pattern(const void *buf, size_t len,
			   unsigned int seed);

/* Offset of the first byte of @len not equal to @v, or -1. */
ssize_t uptr_check_bytes(const void *buf, size_t len,
			 unsigned char v);

/* Index of the first 32-bit word of @len bytes not equal to @v, or -1. */
ssize_t uptr_check_words(const void *buf, size_t len, __u32 v);

/*
 * The [vvar] mapping of the vDSO: VM_PFNMAP | VM_IO on x86, i.e. not
 * ordinary memory. Returns 0 with its range, or -ENOENT.
 */
int uptr_find_vvar(unsigned long *start, unsigned long *end);

#define UPTR_DEBUGFS_DRI	"/sys/kernel/debug/dri"

/*
 * Find the DRM debugfs directory of the uptr device: the entry of
 * UPTR_DEBUGFS_DRI whose "name" file names the driver "uptr" and which has
 * "uptr_stats". Returns 0 with the path in @dir, -ENOENT when debugfs is
 * not mounted (no UPTR_DEBUGFS_DRI), -ENODEV when no entry is uptr's.
 */
int uptr_debugfs_dir(char *dir, size_t len);

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
int uptr_debugfs_stats(const char *dir, struct uptr_stats *s);

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
int uptr_debugfs_objects(const char *dir, unsigned long start,
			 struct uptr_debugfs_object *obj);

/* The page size, from sysconf(_SC_PAGESIZE). */
unsigned long uptr_page_size(void);
#define UPTR_PAGE	uptr_page_size()
/* How long a test waits for a job: far more than the engine's timeout. */
#define UPTR_WAIT_NS	(10LL * 1000 * 1000 * 1000)

/* CLOCK_MONOTONIC in milliseconds. */
long long uptr_now_ms(void);

/*
 * How long a stress test runs: UPTR_STRESS_SECONDS (make check
 * STRESS_SECONDS=N), 10 by default, clamped to [1, @max].
 */
int uptr_stress_seconds(int max);

int uptr_bo_create(int fd, __u64 size, __u32 *handle, void **map);

int uptr_syncobj_create(int fd, __u32 *handle);

/* Wait for a binary syncobj (point 0) or a timeline point. */
int uptr_syncobj_wait(int fd, __u32 handle, __u64 point);

/* Status of the syncobj's fence: 1 signalled, 0 pending, <0 its error. */
int uptr_syncobj_status(int fd, __u32 handle);

/*
 * The commands and syncobjs of one DRM_IOCTL_UPTR_SUBMIT, built with
 * uptr_batch_cmd() and uptr_batch_in(); @out is set by the test.
 */
struct uptr_batch {
	struct drm_uptr_cmd cmds[8];
	unsigned int n;
	struct drm_uptr_sync in[4];
	unsigned int nin;
	struct drm_uptr_sync out;
	bool overflow;		/* a command or sync did not fit */
};

/*
 * Append a command to @j. One too many is not written: it marks the
 * batch, and uptr_batch_submit() then fails with -ENOSPC.
 */
void uptr_batch_cmd(struct uptr_batch *j, __u32 op, __u32 src,
		    __u64 soff, __u32 dst, __u64 doff, __u64 len,
		    __u32 pattern);

/* Make @j wait for syncobj @handle (at timeline @point, or binary: 0). */
void uptr_batch_in(struct uptr_batch *j, __u32 handle, __u64 point);

/* Submit @j. Returns 0, -ENOSPC if it overflowed, or the ioctl's -errno. */
int uptr_batch_submit(int fd, struct uptr_batch *j);

/* Read "key value" from a debugfs file of the device; -1 if missing. */
long long uptr_debugfs_value(const char *file, const char *key);

int uptr_debugfs_write(const char *file, long long value);

void *uptr_map_anon(size_t size);

/*
 * Submit @j with @sync as out-fence and wait for it. Returns the fence
 * status (1 when signalled without error), or the submit's -errno.
 */
int uptr_batch_run(int fd, __u32 sync, struct uptr_batch *j);

/*
 * Read the counter @key of the debugfs file @file of the uptr device into
 * *@value. Returns 0, -ENODEV without the device's debugfs directory,
 * -errno if @file cannot be read, -ENOENT if it has no @key.
 */
int uptr_counter_read(const char *file, const char *key, long long *value);

/*
 * The counter @key of debugfs file @file, in a kselftest_harness test or
 * fixture: a missing file or key fails the test at once (ASSERT), so that
 * two reads of a missing counter can never compare equal.
 */
#define UPTR_COUNTER(file, key) ({					\
	const char *__uptr_f = (file), *__uptr_k = (key);		\
	long long __uptr_v = 0;						\
	ASSERT_EQ(0, uptr_counter_read(__uptr_f, __uptr_k, &__uptr_v))	\
		TH_LOG("no counter %s in debugfs file %s",		\
		       __uptr_k, __uptr_f);				\
	__uptr_v;							\
})

/*
 * Read @dir/uptr_stats again into *@now (uptr_debugfs_stats()) and set *@d
 * to how much each counter grew since *@before; log the ones the tests look
 * at, under @what, with ksft_print_msg(). Returns 0, or the -errno of
 * uptr_debugfs_stats() (then nothing is logged).
 */
int uptr_stats_since(const char *dir, const char *what,
		     const struct uptr_stats *before, struct uptr_stats *now,
		     struct uptr_stats *d);

/* Job counters of the debugfs file uptr_engine. */
struct uptr_engine_counts {
	long long submitted;
	long long done;
	long long timedout;
	long long aborted;
	long long submit_retries;
};

/*
 * Read jobs_submitted, jobs_done, jobs_timedout, jobs_aborted and
 * submit_retries of uptr_engine, in that order, into *@e. Returns 0, or the
 * -errno of uptr_counter_read() for the first one that cannot be read,
 * logged with ksft_print_msg() as UPTR_COUNTER() does.
 */
int uptr_engine_read(struct uptr_engine_counts *e);

/*
 * Wait until jobs_done of uptr_engine stops moving (two reads 200 ms apart
 * are equal), for at most @timeout_ms: earlier tests' jobs are finished.
 * Returns 0, also when it still moves after @timeout_ms, or the -errno of
 * uptr_counter_read(), logged as by uptr_engine_read().
 */
int uptr_engine_quiesce(int timeout_ms);

/*
 * Read the number that the file @path (a sysfs attribute, say) holds into
 * *@value. Returns 0, -errno if it cannot be opened, -EINVAL if it holds
 * no number.
 */
int uptr_read_number(const char *path, long long *value);

/* The number in the file @path, or -1 if it cannot be read. */
long long uptr_number(const char *path);

/*
 * Write the string @s to the file @path (a sysfs or procfs knob, say),
 * opened O_WRONLY | O_CLOEXEC | @flags. Returns 0, -errno, or -EIO for a
 * short write.
 */
int uptr_write_str(const char *path, const char *s, int flags);

/*
 * Read the file @path into @buf (at most @len - 1 bytes, NUL-terminated,
 * one trailing newline dropped). Returns 0 or -errno.
 */
int uptr_read_str(const char *path, char *buf, size_t len);

/* Bits of a /proc/self/pagemap entry. */
#define PM_PRESENT	0x8000000000000000ULL	/* bit 63 */
#define PM_PFN		0x007fffffffffffffULL	/* bits 0-54 */

/* The /proc/self/pagemap entry of the page at @addr; 0 if unreadable. */
unsigned long long uptr_pagemap(const void *addr);

/* The frame number of the page at @addr; 0 if not present (or no root). */
unsigned long long uptr_pfn(const void *addr);

/*
 * Bind the first free loop device to the image file @img, with autoclear:
 * it goes away with its last user. Its path goes to @dev (@len bytes).
 * Returns the loop device's fd, which keeps it bound until closed, or
 * -errno.
 */
int uptr_loop_attach(const char *img, char *dev, size_t len);

/*
 * The file and the file offset of the executable, private text mapping
 * of this process that contains @addr (for a uprobe on it), from
 * /proc/self/maps. Returns 0, -ENOENT if @addr is in no such mapping, or
 * -errno.
 */
int uptr_text_file_offset(uintptr_t addr, char *path, size_t len,
			  unsigned long *file_off);

/*
 * AnonHugePages, in kB, of the mapping of /proc/self/smaps that contains
 * @addr; -1 if it cannot be read.
 */
long uptr_anon_huge_kb(const void *addr);

/*
 * Is [@addr, @addr + @len) mapped by transparent huge pages? Tells it
 * from the KPF_THP flag of each page's frame (/proc/self/pagemap and
 * /proc/kpageflags). Returns 1 if every page is part of a THP, 0 if one is
 * not (or is not present), -errno if the flags cannot be read.
 */
int uptr_thp_backed(const void *addr, size_t len);

/*
 * The number of userptr objects of the device (debugfs @dir) once it is
 * @n, or the last one seen after @timeout_ms: a job drops its object
 * references when the scheduler frees it, a little after its fence
 * signalled.
 */
int uptr_objects_settle(const char *dir, int n, int timeout_ms);

/*
 * The VmFlags line of /proc/self/smaps for the VMA at @addr, in @buf.
 * Returns 0, or -ENOENT when smaps (CONFIG_PROC_PAGE_MONITOR) is missing
 * or no VMA contains @addr.
 */
int uptr_vma_flags(const void *addr, char *buf, size_t len);

/* Does the space-separated VmFlags list @flags hold the two letters @f? */
bool uptr_vm_flag(const char *flags, const char *f);

/*
 * The pattern of @seed as uptr_fill_pattern() writes it, but starting at
 * offset @from of the pattern: the offset of the first of the @len bytes
 * of @buf that differs, or -1.
 */
ssize_t uptr_check_pattern_at(const void *buf, size_t len, size_t from,
			      unsigned int seed);

/*
 * The byte helpers of the coherence tests. Offsets are relative to @base:
 * the pattern byte of offset i is uptr_pattern_byte(i, @seed).
 */

/* Write the pattern of @seed over [off, off + len) of @base. */
void coh_write_seed(unsigned char *base, size_t off, size_t len,
		    unsigned int seed);

/* First offset of [off, off + len) not holding @seed's pattern, or -1. */
ssize_t coh_check_seed(const unsigned char *base, size_t off,
		       size_t len, unsigned int seed);

/* First offset of [off, off + len) whose 32-bit word is not @word, or -1. */
ssize_t coh_check_word(const unsigned char *base, size_t off,
		       size_t len, __u32 word);

#endif /* _UPTR_UTIL_H_ */
