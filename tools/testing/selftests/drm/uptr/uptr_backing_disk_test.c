// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The uptr authors
 *
 * Userptr objects over memory that a disk backs: a MAP_SHARED and a
 * MAP_PRIVATE mapping of a file on ext2 (on a loop device), with and
 * without writeback racing device writes; anonymous memory that goes to
 * swap on a loop device and comes back clean in the swap cache before only
 * the device writes it; and a userfaultfd-registered range whose pages are
 * swapped out (to zram or a loop device). uptr_backing_special_test.c
 * covers userfaultfd, hugetlb and uprobe memory.
 *
 * Each test checks that the device reads what the CPU wrote, the CPU (or
 * the disk) holds what the device wrote, and that the driver's counters
 * show the invalidation or refault that the scenario is about.
 */
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/swap.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <linux/kernel-page-flags.h>
#include <linux/loop.h>
#include <linux/userfaultfd.h>

#include "../../kselftest_harness.h"
#include "uptr_util.h"

#define PAGE		UPTR_PAGE
#define NPAGES		16
#define SIZE		(NPAGES * PAGE)

#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT	21
#endif

#define PM_PFN_MASK	0x007fffffffffffffULL	/* bits 0-54 */
#define PM_SWAP		0x4000000000000000ULL	/* bit 62 */
#define PM_PRESENT	0x8000000000000000ULL	/* bit 63 */

#define FS_IMAGE	"/tmp/uptr_backing_fs.img"
#define FS_IMAGE_SIZE	(32UL << 20)
#define FS_MNT		"/mnt/uptr"
#define FS_FILE		FS_MNT "/data"
#define SWAP_IMAGE	"/tmp/uptr_backing_swap.img"
#define SWAP_SIZE	(64UL << 20)
#define ZRAM_DEV	"/dev/zram0"
#define ZRAM_SYS	"/sys/block/zram0"

/* ---- small helpers ---------------------------------------------------- */

/* Run a shell command quietly; returns its exit status or -1. */
static int run_quiet(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;
	int ret;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	strncat(cmd, " >/dev/null 2>&1", sizeof(cmd) - strlen(cmd) - 1);
	ret = system(cmd);
	if (ret == -1 || !WIFEXITED(ret))
		return -1;
	return WEXITSTATUS(ret);
}

static void fill_words(void *buf, size_t len, __u32 word)
{
	__u32 *w = buf;
	size_t i;

	for (i = 0; i < len / 4; i++)
		w[i] = word;
}

static int pagemap_entry(const void *addr, __u64 *ent)
{
	off_t off = (uintptr_t)addr / PAGE * sizeof(*ent);
	int fd, ret = 0;

	fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (pread(fd, ent, sizeof(*ent), off) != sizeof(*ent))
		ret = -EIO;
	close(fd);
	return ret;
}

/* Number of pages of [p, p + len) whose PTE is a swap entry. */
static int pages_swapped(const void *p, size_t len)
{
	int n = 0;
	size_t i;

	for (i = 0; i < len; i += PAGE) {
		__u64 ent;

		if (!pagemap_entry((const char *)p + i, &ent) && (ent & PM_SWAP))
			n++;
	}
	return n;
}

/* /proc/kpageflags of the page mapped at @addr; -errno if unknown. */
static int kpageflags_of(const void *addr, __u64 *flags)
{
	__u64 ent;
	int fd, ret;

	ret = pagemap_entry(addr, &ent);
	if (ret)
		return ret;
	if (!(ent & PM_PRESENT) || !(ent & PM_PFN_MASK))
		return -ENOENT;
	fd = open("/proc/kpageflags", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (pread(fd, flags, sizeof(*flags),
		  (ent & PM_PFN_MASK) * sizeof(*flags)) != sizeof(*flags))
		ret = -EIO;
	close(fd);
	return ret;
}

/*
 * MADV_PAGEOUT until every page of the range is swapped out. New pages can
 * sit in another CPU's LRU batch for a moment, so retry a few times.
 */
static int page_out(void *p, size_t len)
{
	int i;

	for (i = 0; i < 20; i++) {
		if (madvise(p, len, MADV_PAGEOUT))
			return -errno;
		if (pages_swapped(p, len) == (int)(len / PAGE))
			return 0;
		usleep(50000);
	}
	return -EAGAIN;
}

/* Pages of the file's page cache still resident after eviction. */
static int evict_file(int fd, size_t len)
{
	unsigned char vec[NPAGES];
	int i, try, resident = -1;
	void *p;

	for (try = 0; try < 10 && resident; try++) {
		fsync(fd);
		posix_fadvise(fd, 0, len, POSIX_FADV_DONTNEED);
		uptr_write_str("/proc/sys/vm/drop_caches", "3", 0);
		p = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
		if (p == MAP_FAILED)
			return -errno;
		if (mincore(p, len, vec)) {
			munmap(p, len);
			return -errno;
		}
		munmap(p, len);
		resident = 0;
		for (i = 0; i < (int)(len / PAGE); i++)
			resident += vec[i] & 1;
		if (resident)
			usleep(100000);
	}
	return resident;
}

static int make_image(const char *path, size_t size)
{
	int fd, ret = 0;

	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, size))
		ret = -errno;
	close(fd);
	return ret;
}

/* ---- file-backed mappings on ext2 over a loop device ----------------- */

FIXTURE(file) {
	int fd;
	char dir[256];
	bool mounted;
	int ffd;		/* FS_FILE, NPAGES long */
	unsigned char *map;
	__u32 hbo, sync;
	unsigned char *bo;	/* NPAGES device buffer */
};

static void fs_cleanup(void)
{
	umount2(FS_MNT, 0);
	umount2(FS_MNT, MNT_DETACH);
	unlink(FS_IMAGE);
}

/* Returns NULL, or why the filesystem could not be set up. */
static const char *fs_prepare(void)
{
	static char why[128];
	char dev[32];
	int lfd, ret;

	fs_cleanup();
	if (make_image(FS_IMAGE, FS_IMAGE_SIZE))
		return "cannot create " FS_IMAGE;
	lfd = uptr_loop_attach(FS_IMAGE, dev, sizeof(dev));
	if (lfd < 0) {
		snprintf(why, sizeof(why), "no loop device: %s", strerror(-lfd));
		unlink(FS_IMAGE);
		return why;
	}
	ret = run_quiet("mke2fs -F %s", dev);
	if (ret) {
		close(lfd);
		unlink(FS_IMAGE);
		snprintf(why, sizeof(why), "mke2fs %s failed (%d)", dev, ret);
		return why;
	}
	mkdir(FS_MNT, 0755);
	ret = mount(dev, FS_MNT, "ext2", 0, NULL) ? errno : 0;
	/* The mount holds the loop device now; autoclear unbinds it later. */
	close(lfd);
	if (ret) {
		unlink(FS_IMAGE);
		snprintf(why, sizeof(why), "mount ext2: %s", strerror(ret));
		return why;
	}
	return NULL;
}

FIXTURE_SETUP(file)
{
	const char *why;
	unsigned char *buf;

	self->ffd = -1;
	self->fd = uptr_open_render();
	if (self->fd < 0)
		SKIP(return, "no uptr render node");
	if (uptr_debugfs_dir(self->dir, sizeof(self->dir)))
		SKIP(return, "no uptr debugfs directory");
	why = fs_prepare();
	if (why)
		SKIP(return, "%s", why);
	self->mounted = true;

	self->ffd = open(FS_FILE, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ASSERT_LE(0, self->ffd);
	buf = malloc(SIZE);
	ASSERT_NE(NULL, buf);
	uptr_fill_pattern(buf, SIZE, 5);
	ASSERT_EQ((ssize_t)SIZE, pwrite(self->ffd, buf, SIZE, 0));
	free(buf);
	ASSERT_EQ(0, fsync(self->ffd));
	ASSERT_EQ(0, uptr_bo_create(self->fd, SIZE, &self->hbo,
				    (void **)&self->bo));
	ASSERT_EQ(0, uptr_syncobj_create(self->fd, &self->sync));
}

FIXTURE_TEARDOWN(file)
{
	if (self->map)
		munmap(self->map, SIZE);
	if (self->bo)
		munmap(self->bo, SIZE);
	if (self->ffd >= 0)
		close(self->ffd);
	if (self->fd >= 0)
		close(self->fd);
	if (self->mounted)
		fs_cleanup();
}

/* Drop the page cache of the file and read it back from the disk. */
static void read_from_disk(struct __test_metadata *_metadata, int ffd,
			   unsigned char *buf)
{
	ASSERT_EQ(0, evict_file(ffd, SIZE));
	ASSERT_EQ((ssize_t)SIZE, pread(ffd, buf, SIZE, 0));
}

TEST_F_TIMEOUT(file, device_writes_to_shared_file_mapping_reach_disk, 120)
{
	struct uptr_stats s0, s1, s2, d;
	struct uptr_batch j = {};
	unsigned char *disk;
	__u32 h;

	self->map = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
			 self->ffd, 0);
	ASSERT_NE(MAP_FAILED, self->map);
	ASSERT_EQ(0, uptr_create(self->fd, self->map, SIZE, 0, &h));
	uptr_fill_pattern(self->bo, SIZE, 21);

	ASSERT_EQ(0, uptr_debugfs_stats(self->dir, &s0));
	/* Only the device writes the file: FILL one half, COPY the other. */
	uptr_batch_cmd(&j, DRM_UPTR_OP_FILL, 0, 0, h, 0, SIZE / 2, 0xd15cf111);
	uptr_batch_cmd(&j, DRM_UPTR_OP_COPY, self->hbo, SIZE / 2, h, SIZE / 2,
		       SIZE / 2, 0);
	ASSERT_EQ(1, uptr_batch_run(self->fd, self->sync, &j));
	ASSERT_EQ(0, uptr_stats_since(self->dir, "device write", &s0, &s1, &d));
	EXPECT_LE(NPAGES, d.pages_faulted);

	/* The CPU sees the device's data through the same mapping. */
	EXPECT_EQ(-1, uptr_check_words(self->map, SIZE / 2, 0xd15cf111));
	EXPECT_EQ(-1, uptr_check_pattern_at(self->map + SIZE / 2, SIZE / 2,
					    SIZE / 2, 21));

	/* Writeback write-protects the pages: the mirror is invalidated. */
	ASSERT_EQ(0, msync(self->map, SIZE, MS_SYNC));
	ASSERT_EQ(0, uptr_stats_since(self->dir, "msync", &s1, &s2, &d));
	EXPECT_LE(1, d.event_protection_page);
	EXPECT_LE(1, d.pages_invalidated);

	/* Nothing maps the file now; its page cache goes, the disk stays. */
	ASSERT_EQ(0, munmap(self->map, SIZE));
	self->map = NULL;
	disk = malloc(SIZE);
	ASSERT_NE(NULL, disk);
	read_from_disk(_metadata, self->ffd, disk);
	EXPECT_EQ(-1, uptr_check_words(disk, SIZE / 2, 0xd15cf111));
	EXPECT_EQ(-1, uptr_check_pattern_at(disk + SIZE / 2, SIZE / 2, SIZE / 2, 21));
	free(disk);
}

struct writeback_loop {
	int fd;
	void *map;
	size_t len;
	int stop;
	long rounds;
	long errors;
};

/* msync, fsync and sync_file_range in turn until told to stop. */
static void *writeback_thread(void *arg)
{
	struct writeback_loop *wb = arg;
	int ret = 0;

	while (!__atomic_load_n(&wb->stop, __ATOMIC_ACQUIRE)) {
		switch (wb->rounds % 3) {
		case 0:
			ret = msync(wb->map, wb->len, MS_SYNC);
			break;
		case 1:
			ret = fsync(wb->fd);
			break;
		case 2:
			ret = sync_file_range(wb->fd, 0, wb->len,
					      SYNC_FILE_RANGE_WAIT_BEFORE |
					      SYNC_FILE_RANGE_WRITE |
					      SYNC_FILE_RANGE_WAIT_AFTER);
			break;
		}
		if (ret)
			wb->errors++;
		wb->rounds++;
	}
	return NULL;
}

/* The word job @k writes into page @p with FILL. */
static __u32 stress_word(unsigned long k, unsigned int p, bool second)
{
	return (second ? 0x20000000U : 0x40000000U) |
	       (__u32)((k & 0xffffff) << 5) | p;
}

#define BO_WORD(q)	(0xb0000000U | (q))

TEST_F_TIMEOUT(file, writeback_racing_device_writes_keeps_last_write, 300)
{
	struct writeback_loop wb = { .fd = self->ffd, .len = SIZE };
	struct uptr_stats s0, s1, d;
	__u32 expect[NPAGES], h;
	long long deadline;
	unsigned char *disk;
	unsigned long k;
	pthread_t thr;
	unsigned int p, q;

	self->map = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
			 self->ffd, 0);
	ASSERT_NE(MAP_FAILED, self->map);
	ASSERT_EQ(0, uptr_create(self->fd, self->map, SIZE, 0, &h));
	/* Device buffer page q holds the word BO_WORD(q). */
	for (q = 0; q < NPAGES; q++)
		fill_words(self->bo + q * PAGE, PAGE, BO_WORD(q));

	wb.map = self->map;
	ASSERT_EQ(0, uptr_debugfs_stats(self->dir, &s0));
	ASSERT_EQ(0, pthread_create(&thr, NULL, writeback_thread, &wb));

	/*
	 * Job k writes page k % NPAGES with FILL and the page half the file
	 * away with FILL or with a COPY from the device buffer. Jobs on one
	 * object run in submission order, so the last job that wrote a page
	 * decides its final content.
	 */
	deadline = uptr_now_ms() + uptr_stress_seconds(120) * 1000LL;
	for (k = 1; k <= NPAGES || uptr_now_ms() < deadline; k++) {
		unsigned int p1 = k % NPAGES, p2 = (p1 + NPAGES / 2) % NPAGES;
		struct uptr_batch j = {};

		uptr_batch_cmd(&j, DRM_UPTR_OP_FILL, 0, 0, h, p1 * PAGE, PAGE,
			       stress_word(k, p1, false));
		expect[p1] = stress_word(k, p1, false);
		if (k % 3 == 0) {
			q = k % NPAGES;
			uptr_batch_cmd(&j, DRM_UPTR_OP_COPY, self->hbo, q * PAGE,
				       h, p2 * PAGE, PAGE, 0);
			expect[p2] = BO_WORD(q);
		} else {
			uptr_batch_cmd(&j, DRM_UPTR_OP_FILL, 0, 0, h, p2 * PAGE,
				       PAGE, stress_word(k, p2, true));
			expect[p2] = stress_word(k, p2, true);
		}
		j.out.handle = self->sync;
		ASSERT_EQ(0, uptr_batch_submit(self->fd, &j));
		if (k % 8 == 0)
			ASSERT_EQ(0, uptr_syncobj_wait(self->fd, self->sync, 0));
	}
	ASSERT_EQ(0, uptr_syncobj_wait(self->fd, self->sync, 0));
	EXPECT_EQ(1, uptr_syncobj_status(self->fd, self->sync));
	__atomic_store_n(&wb.stop, 1, __ATOMIC_RELEASE);
	pthread_join(thr, NULL);
	TH_LOG("%lu jobs, %ld writeback rounds (%ld errors)", k - 1,
	       wb.rounds, wb.errors);
	ASSERT_EQ(0, uptr_stats_since(self->dir, "race", &s0, &s1, &d));
	EXPECT_EQ(0, wb.errors);
	ASSERT_LE(1, wb.rounds);
	/* Writeback did invalidate pages the device used, and they refaulted. */
	EXPECT_LE(1, d.event_protection_page);
	EXPECT_LE(1, d.invalidations);
	EXPECT_LT(NPAGES, d.pages_faulted);

	for (p = 0; p < NPAGES; p++) {
		EXPECT_EQ(-1, uptr_check_words(self->map + p * PAGE, PAGE, expect[p]))
			TH_LOG("CPU view of page %u: %#x, expected %#x", p,
			       *(__u32 *)(self->map + p * PAGE), expect[p]);
	}

	ASSERT_EQ(0, msync(self->map, SIZE, MS_SYNC));
	ASSERT_EQ(0, munmap(self->map, SIZE));
	self->map = NULL;
	disk = malloc(SIZE);
	ASSERT_NE(NULL, disk);
	read_from_disk(_metadata, self->ffd, disk);
	for (p = 0; p < NPAGES; p++) {
		EXPECT_EQ(-1, uptr_check_words(disk + p * PAGE, PAGE, expect[p]))
			TH_LOG("disk page %u: %#x, expected %#x", p,
			       *(__u32 *)(disk + p * PAGE), expect[p]);
	}
	free(disk);
}

TEST_F_TIMEOUT(file, device_write_to_private_file_mapping_stays_private, 120)
{
	struct uptr_stats s0, s1, s2, d;
	unsigned char *shared, *buf;
	struct uptr_batch j = {};
	__u32 h;

	self->map = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE,
			 self->ffd, 0);
	ASSERT_NE(MAP_FAILED, self->map);
	/* The CPU reads: the page cache pages are mapped read-only. */
	EXPECT_EQ(-1, uptr_check_pattern(self->map, SIZE, 5));
	ASSERT_EQ(0, uptr_create(self->fd, self->map, SIZE, 0, &h));
	uptr_fill_pattern(self->bo, SIZE, 33);

	ASSERT_EQ(0, uptr_debugfs_stats(self->dir, &s0));
	uptr_batch_cmd(&j, DRM_UPTR_OP_FILL, 0, 0, h, 0, SIZE / 2, 0xc0dec0de);
	uptr_batch_cmd(&j, DRM_UPTR_OP_COPY, self->hbo, SIZE / 2, h, SIZE / 2,
		       SIZE / 2, 0);
	ASSERT_EQ(1, uptr_batch_run(self->fd, self->sync, &j));
	ASSERT_EQ(0, uptr_stats_since(self->dir, "device write", &s0, &s1, &d));
	EXPECT_LE(NPAGES, d.pages_faulted);

	/* This process sees the device's data in its private copy... */
	EXPECT_EQ(-1, uptr_check_words(self->map, SIZE / 2, 0xc0dec0de));
	EXPECT_EQ(-1, uptr_check_pattern_at(self->map + SIZE / 2, SIZE / 2,
					    SIZE / 2, 33));
	/* ...the file does not: not through the page cache, nor on disk. */
	shared = mmap(NULL, SIZE, PROT_READ, MAP_SHARED, self->ffd, 0);
	ASSERT_NE(MAP_FAILED, shared);
	EXPECT_EQ(-1, uptr_check_pattern(shared, SIZE, 5));
	munmap(shared, SIZE);
	buf = malloc(SIZE);
	ASSERT_NE(NULL, buf);
	ASSERT_EQ((ssize_t)SIZE, pread(self->ffd, buf, SIZE, 0));
	EXPECT_EQ(-1, uptr_check_pattern(buf, SIZE, 5));

	/*
	 * Dropping the private copies maps the file again: the mirror is
	 * invalidated and the device reads the file's data.
	 */
	ASSERT_EQ(0, madvise(self->map, SIZE, MADV_DONTNEED));
	ASSERT_EQ(0, uptr_stats_since(self->dir, "MADV_DONTNEED", &s1, &s2, &d));
	EXPECT_LE(NPAGES, d.pages_invalidated);
	memset(self->bo, 0, SIZE);
	j = (struct uptr_batch){};
	uptr_batch_cmd(&j, DRM_UPTR_OP_COPY, h, 0, self->hbo, 0, SIZE, 0);
	ASSERT_EQ(1, uptr_batch_run(self->fd, self->sync, &j));
	EXPECT_EQ(-1, uptr_check_pattern(self->bo, SIZE, 5));
	EXPECT_EQ(-1, uptr_check_pattern(self->map, SIZE, 5));

	ASSERT_EQ(0, munmap(self->map, SIZE));
	self->map = NULL;
	read_from_disk(_metadata, self->ffd, buf);
	EXPECT_EQ(-1, uptr_check_pattern(buf, SIZE, 5));
	free(buf);
}

/* ---- swap ------------------------------------------------------------ */

enum swap_backend { SWAP_ZRAM, SWAP_LOOP };

FIXTURE(swap) {
	int fd;
	char dir[256];
	char dev[32];
	bool swap_on;		/* we turned it on: turn it off */
	unsigned char *p;
	__u32 hw, hr, hbo, sync;
	unsigned char *bo;	/* 2 * SIZE: read-back area, then source */
};

/*
 * Swap on a loop device is asynchronous: swap-in goes through the swap
 * cache and leaves a clean folio there, the case where a device write that
 * nothing marks dirty is thrown away by reclaim. zram cannot produce it:
 * it is synchronous, and swap-in skips the swap cache for an unshared
 * entry, so the swapped-in page is dirty anyway.
 */
FIXTURE_VARIANT(swap) {
	enum swap_backend backend;
	bool device_swapin;
};

FIXTURE_VARIANT_ADD(swap, loop_cpu_swapin) {
	.backend = SWAP_LOOP,
	.device_swapin = false,
};

FIXTURE_VARIANT_ADD(swap, loop_device_swapin) {
	.backend = SWAP_LOOP,
	.device_swapin = true,
};

static bool swap_active(const char *dev)
{
	char line[256];
	bool found = false;
	FILE *f;

	f = fopen("/proc/swaps", "r");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, dev, strlen(dev)) &&
		    line[strlen(dev)] == ' ')
			found = true;
	fclose(f);
	return found;
}

static int swap_enable(const char *dev)
{
	int prio = 32767;

	if (run_quiet("mkswap %s", dev))
		return -EIO;
	if (swapon(dev, SWAP_FLAG_PREFER |
		   ((prio << SWAP_FLAG_PRIO_SHIFT) & SWAP_FLAG_PRIO_MASK)))
		return -errno;
	return 0;
}

/* Returns NULL, or why no swap device could be set up. */
static const char *swap_dev_setup(enum swap_backend backend, char *dev,
				  size_t len)
{
	static char why[128];
	int lfd, ret;

	if (backend == SWAP_ZRAM) {
		snprintf(dev, len, ZRAM_DEV);
		if (access(ZRAM_SYS, F_OK) &&
		    uptr_number("/sys/class/zram-control/hot_add") < 0)
			return "no zram device and no zram-control";
		if (access(ZRAM_SYS, F_OK))
			return "zram0 not created by hot_add";
		if (swap_active(ZRAM_DEV))
			swapoff(ZRAM_DEV);
		uptr_write_str(ZRAM_SYS "/reset", "1", 0);
		ret = uptr_write_str(ZRAM_SYS "/disksize", "64M", 0);
		if (ret) {
			snprintf(why, sizeof(why), "zram disksize: %s",
				 strerror(-ret));
			return why;
		}
		ret = swap_enable(ZRAM_DEV);
		if (ret) {
			uptr_write_str(ZRAM_SYS "/reset", "1", 0);
			snprintf(why, sizeof(why), "swapon zram: %s",
				 strerror(-ret));
			return why;
		}
		return NULL;
	}

	if (make_image(SWAP_IMAGE, SWAP_SIZE))
		return "cannot create " SWAP_IMAGE;
	lfd = uptr_loop_attach(SWAP_IMAGE, dev, len);
	if (lfd < 0) {
		unlink(SWAP_IMAGE);
		snprintf(why, sizeof(why), "no loop device: %s", strerror(-lfd));
		return why;
	}
	ret = swap_enable(dev);
	/* swapon holds the loop device now; autoclear unbinds it later. */
	close(lfd);
	if (ret) {
		unlink(SWAP_IMAGE);
		snprintf(why, sizeof(why), "swapon %s: %s", dev,
			 strerror(-ret));
		return why;
	}
	return NULL;
}

FIXTURE_SETUP(swap)
{
	cpu_set_t cpus;
	const char *why;

	self->fd = uptr_open_render();
	if (self->fd < 0)
		SKIP(return, "no uptr render node");
	if (uptr_debugfs_dir(self->dir, sizeof(self->dir)))
		SKIP(return, "no uptr debugfs directory");
	why = swap_dev_setup(variant->backend, self->dev, sizeof(self->dev));
	if (why)
		SKIP(return, "%s", why);
	self->swap_on = true;
	/* One CPU: MADV_PAGEOUT drains only this CPU's LRU batches. */
	CPU_ZERO(&cpus);
	CPU_SET(0, &cpus);
	sched_setaffinity(0, sizeof(cpus), &cpus);

	self->p = uptr_map_anon(SIZE);
	ASSERT_NE(NULL, self->p);
	ASSERT_EQ(0, uptr_create(self->fd, self->p, SIZE, 0, &self->hw));
	ASSERT_EQ(0, uptr_create(self->fd, self->p, SIZE,
				 DRM_UPTR_CREATE_READ_ONLY, &self->hr));
	ASSERT_EQ(0, uptr_bo_create(self->fd, 2 * SIZE, &self->hbo,
				    (void **)&self->bo));
	ASSERT_EQ(0, uptr_syncobj_create(self->fd, &self->sync));
}

FIXTURE_TEARDOWN(swap)
{
	if (self->p)
		munmap(self->p, SIZE);
	if (self->bo)
		munmap(self->bo, 2 * SIZE);
	if (self->fd >= 0)
		close(self->fd);
	if (self->swap_on) {
		swapoff(self->dev);
		if (variant->backend == SWAP_ZRAM)
			uptr_write_str(ZRAM_SYS "/reset", "1", 0);
		else
			unlink(SWAP_IMAGE);
	}
}

/* Log and return the pages of p that are in the swap cache and clean. */
static int clean_swapcache_pages(struct __test_metadata *_metadata,
				 const unsigned char *p, const char *when)
{
	int n = 0, dirty = 0, swapcache = 0, unknown = 0;
	unsigned int i;

	for (i = 0; i < NPAGES; i++) {
		__u64 f;

		if (kpageflags_of(p + i * PAGE, &f)) {
			unknown++;
			continue;
		}
		swapcache += !!(f & (1ULL << KPF_SWAPCACHE));
		dirty += !!(f & (1ULL << KPF_DIRTY));
		n += (f & (1ULL << KPF_SWAPCACHE)) && !(f & (1ULL << KPF_DIRTY));
	}
	TH_LOG("%s: %d pages in swap cache, %d dirty, %d clean in swap cache, %d unknown",
	       when, swapcache, dirty, n, unknown);
	return unknown ? -1 : n;
}

TEST_F_TIMEOUT(swap, clean_swapin_then_device_only_write_survives_pageout, 120)
{
	struct uptr_stats s0, s1, s2, s3, d;
	struct uptr_batch j = {};
	int clean;

	/* The CPU writes, the device reads once (its mirror is valid). */
	uptr_fill_pattern(self->p, SIZE, 41);
	uptr_batch_cmd(&j, DRM_UPTR_OP_COPY, self->hr, 0, self->hbo, 0, SIZE, 0);
	ASSERT_EQ(1, uptr_batch_run(self->fd, self->sync, &j));
	ASSERT_EQ(-1, uptr_check_pattern(self->bo, SIZE, 41));

	ASSERT_EQ(0, uptr_debugfs_stats(self->dir, &s0));
	ASSERT_EQ(0, page_out(self->p, SIZE));
	ASSERT_EQ(0, uptr_stats_since(self->dir, "first pageout", &s0, &s1, &d));
	EXPECT_LE(1, d.event_clear);
	EXPECT_LE(NPAGES, d.pages_invalidated);
	/* Let the swap writes finish: the swap cache copies become clean. */
	usleep(200000);

	/* Swap in by a read only: nothing dirties the pages. */
	if (variant->device_swapin) {
		memset(self->bo, 0, SIZE);
		j = (struct uptr_batch){};
		uptr_batch_cmd(&j, DRM_UPTR_OP_COPY, self->hr, 0, self->hbo, 0,
			       SIZE, 0);
		ASSERT_EQ(1, uptr_batch_run(self->fd, self->sync, &j));
		EXPECT_EQ(-1, uptr_check_pattern(self->bo, SIZE, 41));
	} else {
		EXPECT_EQ(-1, uptr_check_pattern(self->p, SIZE, 41));
	}
	EXPECT_EQ(0, pages_swapped(self->p, SIZE));
	/* The condition the test is about: every page clean in swap cache. */
	clean = clean_swapcache_pages(_metadata, self->p, "after swap-in");
	ASSERT_EQ(NPAGES, clean);

	/* Only the device writes now: FILL one half, COPY the other. */
	uptr_fill_pattern(self->bo + SIZE, SIZE, 43);
	ASSERT_EQ(0, uptr_debugfs_stats(self->dir, &s1));
	j = (struct uptr_batch){};
	uptr_batch_cmd(&j, DRM_UPTR_OP_FILL, 0, 0, self->hw, 0, SIZE / 2,
		       0x5a17f111);
	uptr_batch_cmd(&j, DRM_UPTR_OP_COPY, self->hbo, SIZE + SIZE / 2,
		       self->hw, SIZE / 2, SIZE / 2, 0);
	ASSERT_EQ(1, uptr_batch_run(self->fd, self->sync, &j));
	ASSERT_EQ(0, uptr_stats_since(self->dir, "device write", &s1, &s2, &d));
	EXPECT_LE(NPAGES, d.pages_faulted);
	clean_swapcache_pages(_metadata, self->p, "after device write");

	/* Out again, with no CPU access in between. */
	ASSERT_EQ(0, page_out(self->p, SIZE));
	ASSERT_EQ(0, uptr_stats_since(self->dir, "second pageout", &s2, &s3, &d));
	EXPECT_LE(1, d.event_clear);
	EXPECT_LE(NPAGES, d.pages_invalidated);

	/* The device's data came back, for the device and for the CPU. */
	memset(self->bo, 0, SIZE);
	j = (struct uptr_batch){};
	uptr_batch_cmd(&j, DRM_UPTR_OP_COPY, self->hr, 0, self->hbo, 0, SIZE, 0);
	ASSERT_EQ(1, uptr_batch_run(self->fd, self->sync, &j));
	EXPECT_EQ(-1, uptr_check_words(self->bo, SIZE / 2, 0x5a17f111))
		TH_LOG("device read %#x, expected 0x5a17f111",
		       *(__u32 *)self->bo);
	EXPECT_EQ(-1, uptr_check_pattern_at(self->bo + SIZE / 2, SIZE / 2,
					    SIZE / 2, 43));
	EXPECT_EQ(-1, uptr_check_words(self->p, SIZE / 2, 0x5a17f111))
		TH_LOG("CPU read %#x, expected 0x5a17f111", *(__u32 *)self->p);
	EXPECT_EQ(-1, uptr_check_pattern_at(self->p + SIZE / 2, SIZE / 2,
					    SIZE / 2, 43));
}

/*
 * A userfaultfd-registered range whose pages went to swap: they are not
 * missing (a CPU access swaps them in without asking the handler), so the
 * device must be able to use them too.
 */
FIXTURE(uffd_swap) {
	int fd;
	char dir[256];
	char dev[32];
	bool swap_on;
	int uffd;
	unsigned char *p;
	__u32 hw, hr, hbo, sync;
	unsigned char *bo;
};

FIXTURE_VARIANT(uffd_swap) {
	enum swap_backend backend;
};

FIXTURE_VARIANT_ADD(uffd_swap, zram) {
	.backend = SWAP_ZRAM,
};

FIXTURE_VARIANT_ADD(uffd_swap, loop) {
	.backend = SWAP_LOOP,
};

FIXTURE_SETUP(uffd_swap)
{
	struct uffdio_register reg = { .mode = UFFDIO_REGISTER_MODE_MISSING };
	struct uffdio_api api = { .api = UFFD_API };
	cpu_set_t cpus;
	const char *why;

	self->uffd = -1;
	self->fd = uptr_open_render();
	if (self->fd < 0)
		SKIP(return, "no uptr render node");
	if (uptr_debugfs_dir(self->dir, sizeof(self->dir)))
		SKIP(return, "no uptr debugfs directory");
	if (access("/proc/sys/vm/unprivileged_userfaultfd", F_OK))
		SKIP(return, "no userfaultfd in this kernel");
	why = swap_dev_setup(variant->backend, self->dev, sizeof(self->dev));
	if (why)
		SKIP(return, "%s", why);
	self->swap_on = true;
	CPU_ZERO(&cpus);
	CPU_SET(0, &cpus);
	sched_setaffinity(0, sizeof(cpus), &cpus);

	self->p = uptr_map_anon(SIZE);
	ASSERT_NE(NULL, self->p);
	uptr_fill_pattern(self->p, SIZE, 47);
	self->uffd = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	ASSERT_LE(0, self->uffd);
	ASSERT_EQ(0, ioctl(self->uffd, UFFDIO_API, &api));
	reg.range.start = (uintptr_t)self->p;
	reg.range.len = SIZE;
	ASSERT_EQ(0, ioctl(self->uffd, UFFDIO_REGISTER, &reg));
	ASSERT_EQ(0, uptr_create(self->fd, self->p, SIZE, 0, &self->hw));
	ASSERT_EQ(0, uptr_create(self->fd, self->p, SIZE,
				 DRM_UPTR_CREATE_READ_ONLY, &self->hr));
	ASSERT_EQ(0, uptr_bo_create(self->fd, SIZE, &self->hbo,
				    (void **)&self->bo));
	ASSERT_EQ(0, uptr_syncobj_create(self->fd, &self->sync));
}

FIXTURE_TEARDOWN(uffd_swap)
{
	if (self->uffd >= 0)
		close(self->uffd);
	if (self->p)
		munmap(self->p, SIZE);
	if (self->bo)
		munmap(self->bo, SIZE);
	if (self->fd >= 0)
		close(self->fd);
	if (self->swap_on) {
		swapoff(self->dev);
		if (variant->backend == SWAP_ZRAM)
			uptr_write_str(ZRAM_SYS "/reset", "1", 0);
		else
			unlink(SWAP_IMAGE);
	}
}

TEST_F(uffd_swap, swapped_out_pages_are_not_missing_for_device)
{
	struct uptr_stats s0, s1, d;
	struct uptr_batch j = {};
	struct uffd_msg msg;
	int ret;

	/* Present pages of the registered range: the device reads them. */
	uptr_batch_cmd(&j, DRM_UPTR_OP_COPY, self->hr, 0, self->hbo, 0, SIZE, 0);
	ASSERT_EQ(1, uptr_batch_run(self->fd, self->sync, &j));
	ASSERT_EQ(-1, uptr_check_pattern(self->bo, SIZE, 47));

	ASSERT_EQ(0, uptr_debugfs_stats(self->dir, &s0));
	ASSERT_EQ(0, page_out(self->p, SIZE));
	ASSERT_EQ(0, uptr_stats_since(self->dir, "pageout", &s0, &s1, &d));
	EXPECT_LE(NPAGES, d.pages_invalidated);

	/* Swapped out is not missing: the device swaps them in. */
	memset(self->bo, 0, SIZE);
	ret = uptr_batch_run(self->fd, self->sync, &j);
	EXPECT_EQ(1, ret) TH_LOG("device read of swapped-out pages: %d", ret);
	if (ret == 1)
		EXPECT_EQ(-1, uptr_check_pattern(self->bo, SIZE, 47));
	j = (struct uptr_batch){};
	uptr_batch_cmd(&j, DRM_UPTR_OP_FILL, 0, 0, self->hw, 0, PAGE, 0x5ad0f111);
	ret = uptr_batch_run(self->fd, self->sync, &j);
	EXPECT_EQ(1, ret) TH_LOG("device write of swapped-out page: %d", ret);

	/* The CPU reads them back without the handler being asked. */
	if (ret == 1)
		EXPECT_EQ(-1, uptr_check_words(self->p, PAGE, 0x5ad0f111));
	EXPECT_EQ(-1, uptr_check_pattern_at(self->p + PAGE, SIZE - PAGE, PAGE, 47));
	EXPECT_EQ(-1, read(self->uffd, &msg, sizeof(msg)));
	EXPECT_EQ(EAGAIN, errno);
}

TEST_HARNESS_MAIN
