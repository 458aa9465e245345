// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The uptr authors
 *
 * Page replacement while a job is in flight. In each test a job that
 * reads or writes a userptr object is held back by a gate (a sw_sync
 * fence, see uptr_gate.h) that only opens once an invalidation is seen
 * waiting for the job's fence; then the kernel replaces (or cleans) the
 * pages under the object:
 *
 * - ksm: ksmd merges the object's pages with identical ones
 *   (write_protect_page(), replace_page());
 * - migrate: mbind(MPOL_MF_MOVE) moves them to the other NUMA node;
 * - writeback: msync(MS_SYNC) of a MAP_SHARED file on ext2 write-protects
 *   them (folio_mkclean()) before writing them to the disk;
 * - uprobe: enabling a uprobe on a text page of this MAP_PRIVATE binary
 *   installs a new anonymous copy of the page (__replace_page()).
 *
 * Each test proves that (a) the mm operation waited for the device: the
 * job had not started before it (jobs_started, jobs_running), an
 * invalidation counted a wait for its fence (invalidation_waits) and the
 * job was done when the operation returned, and its writes are in the
 * old page, i.e. were carried over by the replacement (the migrated page,
 * the disk block read with O_DIRECT, the page KSM refused to merge), or
 * its reads saw the old page; (b) no page was freed under the device
 * (KASAN, checked by the harness); (c) the next job uses the new page:
 * its bytes, and its writes land in it and nowhere else.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/fs.h>
#include <linux/loop.h>
#include <linux/mempolicy.h>

#include "../../kselftest_harness.h"
#include "uptr_util.h"
#include "uptr_gate.h"

#define PAGE		UPTR_PAGE
#define NPAGES		8U
#define SIZE		(NPAGES * PAGE)
#define WORD		0x5eb1ace5U	/* what the held job writes */
#define WORD2		0x2ad2ad2aU	/* what the next job writes */

#define KSM_DIR		"/sys/kernel/mm/ksm/"
#define FS_IMAGE	"/tmp/uptr_replace_fs.img"
#define FS_IMAGE_SIZE	(16UL << 20)
#define FS_MNT		"/mnt/uptr_replace"
#define FS_FILE		FS_MNT "/data"
#define TRACEFS		"/sys/kernel/tracing"
#define UPROBE_EVENTS	TRACEFS "/uprobe_events"
#define UPROBE_ENABLE	TRACEFS "/events/uptr_rep/probe/enable"

/* ---- small helpers ---------------------------------------------------- */

/* ---- the held job ----------------------------------------------------- */

struct rep {
	int fd;
	char dir[256];
	struct uptr_gate gate;
	__u32 held;		/* syncobj holding the gate's fence */
	__u32 hbo, sync;	/* device buffer the jobs read into */
	unsigned char *bo;
	__u32 bsync;		/* out-sync of the held job */
	long long started0, waits0;
};

/* Before any userptr object is created: the gate forks its releaser. */
static void rep_setup(struct __test_metadata *_metadata, struct rep *r)
{
	int ret;

	memset(r, 0, sizeof(*r));
	r->gate.timeline = -1;
	r->fd = uptr_open_render();
	if (r->fd < 0)
		SKIP(return, "no uptr render node");
	if (uptr_debugfs_dir(r->dir, sizeof(r->dir)))
		SKIP(return, "no uptr debugfs directory: counters are needed");
	ret = uptr_gate_init(&r->gate);
	if (ret == -ENOENT)
		SKIP(return, "no sw_sync (CONFIG_SW_SYNC) in debugfs");
	ASSERT_EQ(0, ret);
	ASSERT_EQ(0, uptr_syncobj_create(r->fd, &r->held));
	ASSERT_EQ(0, uptr_syncobj_create(r->fd, &r->sync));
	ASSERT_EQ(0, uptr_syncobj_create(r->fd, &r->bsync));
	ASSERT_EQ(0, uptr_bo_create(r->fd, SIZE, &r->hbo, (void **)&r->bo));
}

static void rep_teardown(struct rep *r)
{
	uptr_gate_fini(&r->gate);
	if (r->fd < 0)
		return;
	uptr_syncobj_wait(r->fd, r->bsync, 0);
	if (r->bo)
		munmap(r->bo, SIZE);
	close(r->fd);
	r->fd = -1;
}

/*
 * Queue on @h a job held by the gate: a FILL of its first @len bytes with
 * WORD (@write) or a COPY of them into the device buffer. Check that it is
 * queued and not started, then arm the releaser.
 */
static void rep_hold(struct __test_metadata *_metadata, struct rep *r,
		     __u32 h, __u64 len, bool write)
{
	struct uptr_batch j = {};

	ASSERT_EQ(0, uptr_gate_close(&r->gate, r->fd, r->held));
	if (write)
		uptr_batch_cmd(&j, DRM_UPTR_OP_FILL, 0, 0, h, 0, len, WORD);
	else
		uptr_batch_cmd(&j, DRM_UPTR_OP_COPY, h, 0, r->hbo, 0, len, 0);
	uptr_batch_in(&j, r->held, 0);
	j.out.handle = r->bsync;
	memset(r->bo, 0xee, SIZE);
	r->started0 = UPTR_COUNTER("uptr_engine", "jobs_started");
	r->waits0 = UPTR_COUNTER("uptr_engine", "invalidation_waits");
	ASSERT_EQ(0, uptr_batch_submit(r->fd, &j));
	/* Queued, its fence in the object's reservation, not started. */
	ASSERT_EQ(0, uptr_syncobj_status(r->fd, r->bsync));
	ASSERT_EQ(r->started0, UPTR_COUNTER("uptr_engine", "jobs_started"));
	ASSERT_EQ(0, UPTR_COUNTER("uptr_engine", "jobs_running"));
	ASSERT_EQ(r->waits0, UPTR_COUNTER("uptr_engine", "invalidation_waits"));
	ASSERT_EQ(0, uptr_gate_open_on_wait(&r->gate));
}

/*
 * After the mm operation returned: the releaser opened the gate because
 * an invalidation waited for the held job, and the job is done.
 * @async: the operation runs in a kernel thread (ksmd); wait for the job
 * first, up to the releaser's guard.
 */
static void rep_check_waited(struct __test_metadata *_metadata,
			     struct rep *r, bool async)
{
	long long end = uptr_now_ms() + UPTR_GATE_GUARD_MS + 10000;

	while (async && uptr_syncobj_status(r->fd, r->bsync) == 0 &&
	       uptr_now_ms() < end)
		usleep(10000);
	ASSERT_EQ(1, uptr_gate_join(&r->gate))
		TH_LOG("no invalidation waited for the held job's fence");
	ASSERT_EQ(0, uptr_syncobj_wait(r->fd, r->bsync, 0));
	EXPECT_EQ(1, uptr_syncobj_status(r->fd, r->bsync));
	EXPECT_LT(r->waits0, UPTR_COUNTER("uptr_engine", "invalidation_waits"));
	EXPECT_EQ(r->started0 + 1, UPTR_COUNTER("uptr_engine", "jobs_started"));
	EXPECT_EQ(0, UPTR_COUNTER("uptr_engine", "jobs_running"));
	EXPECT_EQ(0, UPTR_COUNTER("uptr_engine", "invalidations_waiting"));
}

/* Run one command on @h now; the fence status. */
static int rep_run(struct rep *r, __u32 op, __u32 src, __u32 dst, __u64 len,
		   __u32 pattern)
{
	struct uptr_batch j = {};

	uptr_batch_cmd(&j, op, src, 0, dst, 0, len, pattern);
	return uptr_batch_run(r->fd, r->sync, &j);
}

/* ---- KSM -------------------------------------------------------------- */

static const char *const ksm_knobs[3] = {
	"run", "pages_to_scan", "sleep_millisecs",
};

/* KSM's knobs as they were before the test changed them. */
struct ksm_saved {
	bool ours;
	char val[3][32];
};

FIXTURE(ksm) {
	struct rep r;
	struct ksm_saved ksm;
};

FIXTURE_VARIANT(ksm) {
	bool device_writes;
};

FIXTURE_VARIANT_ADD(ksm, reader) {
	.device_writes = false,
};

FIXTURE_VARIANT_ADD(ksm, writer) {
	.device_writes = true,
};

FIXTURE_SETUP(ksm)
{
	rep_setup(_metadata, &self->r);
	if (_metadata->exit_code)
		return;
	if (access(KSM_DIR "run", W_OK))
		SKIP(return, "no KSM (" KSM_DIR "run)");
}

static void ksm_stop(struct ksm_saved *k)
{
	char path[128];
	int i;

	if (!k->ours)
		return;
	uptr_write_str(KSM_DIR "run", "2", 0);	/* unmerge everything */
	for (i = 2; i >= 0; i--) {
		snprintf(path, sizeof(path), KSM_DIR "%s", ksm_knobs[i]);
		uptr_write_str(path, k->val[i], 0);
	}
	k->ours = false;
}

FIXTURE_TEARDOWN(ksm)
{
	rep_teardown(&self->r);
	ksm_stop(&self->ksm);
}

static int ksm_start(struct ksm_saved *k)
{
	char path[128];
	int i, ret;

	for (i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), KSM_DIR "%s", ksm_knobs[i]);
		ret = uptr_read_str(path, k->val[i], sizeof(k->val[i]));
		if (ret)
			return ret;
	}
	k->ours = true;
	ret = uptr_write_str(KSM_DIR "pages_to_scan", "1000", 0);
	if (!ret)
		ret = uptr_write_str(KSM_DIR "sleep_millisecs", "10", 0);
	if (!ret)
		ret = uptr_write_str(KSM_DIR "run", "1", 0);
	return ret;
}

/* Is every page of @x the same physical page as that of @y? */
static bool ksm_merged(const unsigned char *x, const unsigned char *y)
{
	unsigned int i;

	for (i = 0; i < NPAGES; i++) {
		__u64 p = uptr_pfn(x + i * PAGE);

		if (!p || p != uptr_pfn(y + i * PAGE))
			return false;
	}
	return true;
}

static bool ksm_wait_merged(const unsigned char *x, const unsigned char *y)
{
	long long end = uptr_now_ms() + 90000;

	while (uptr_now_ms() < end) {
		if (ksm_merged(x, y))
			return true;
		usleep(20000);
	}
	return false;
}

TEST_F_TIMEOUT(ksm, merge_waits_for_held_job_next_job_uses_ksm_page, 300)
{
	struct rep *r = &self->r;
	unsigned char *x, *y;
	__u64 old_pfn[NPAGES];
	unsigned int i, n;
	__u32 h, hro;

	x = uptr_map_anon(SIZE);
	y = uptr_map_anon(SIZE);
	ASSERT_NE(NULL, x);
	ASSERT_NE(NULL, y);
	uptr_fill_pattern(x, SIZE, 7);
	uptr_fill_pattern(y, SIZE, 7);
	for (i = 0; i < NPAGES; i++) {
		old_pfn[i] = uptr_pfn(x + i * PAGE);
		ASSERT_NE(0ULL, old_pfn[i]) TH_LOG("no PFNs in pagemap");
	}
	ASSERT_EQ(0, madvise(x, SIZE, MADV_MERGEABLE));
	ASSERT_EQ(0, madvise(y, SIZE, MADV_MERGEABLE));
	ASSERT_EQ(0, uptr_create(r->fd, x, SIZE, DRM_UPTR_CREATE_POPULATE, &h));
	/*
	 * A writable object is always faulted in for writing, which breaks
	 * a KSM page's sharing: the device reads x's KSM pages through a
	 * read-only object.
	 */
	ASSERT_EQ(0, uptr_create(r->fd, x, SIZE, DRM_UPTR_CREATE_READ_ONLY |
				 DRM_UPTR_CREATE_POPULATE, &hro));
	ASSERT_EQ(1, rep_run(r, DRM_UPTR_OP_COPY, h, r->hbo, SIZE, 0));

	rep_hold(_metadata, r, variant->device_writes ? h : hro, SIZE,
		 variant->device_writes);
	/* ksmd write-protects x's pages to merge them: that waits. */
	ASSERT_EQ(0, ksm_start(&self->ksm));
	rep_check_waited(_metadata, r, true);

	if (!variant->device_writes) {
		/* The job read the old pages, whole. */
		EXPECT_EQ(-1, uptr_check_pattern(r->bo, SIZE, 7));
		ASSERT_TRUE(ksm_wait_merged(x, y))
			TH_LOG("ksmd did not merge the pages in 90 s");
	} else {
		/*
		 * The job wrote x's old pages while ksmd waited: the
		 * compare after the write-protect saw them differ, so the
		 * write is in x and nothing of it in y (which a write into
		 * a page already shared with y would show).
		 */
		EXPECT_EQ(-1, uptr_check_words(x, SIZE, WORD));
		EXPECT_EQ(-1, uptr_check_pattern(y, SIZE, 7))
			TH_LOG("the device's write reached the page shared with y");
		/* Make y equal to x now: they merge. */
		for (i = 0; i < SIZE / 4; i++)
			((__u32 *)y)[i] = WORD;
		ASSERT_TRUE(ksm_wait_merged(x, y))
			TH_LOG("ksmd did not merge the pages in 90 s");
	}
	/*
	 * x and y map the same KSM pages now: x's pages were replaced, or
	 * write-protected and made KSM pages themselves.
	 */
	for (i = 0, n = 0; i < NPAGES; i++)
		n += old_pfn[i] != uptr_pfn(x + i * PAGE);
	TH_LOG("merged: %u of %u pages of x replaced", n, NPAGES);

	/* (c) The next job reads the KSM pages... */
	memset(r->bo, 0xee, SIZE);
	ASSERT_EQ(1, rep_run(r, DRM_UPTR_OP_COPY, hro, r->hbo, SIZE, 0));
	EXPECT_EQ(-1, variant->device_writes ?
		      uptr_check_words(r->bo, SIZE, WORD) :
		      uptr_check_pattern(r->bo, SIZE, 7));
	EXPECT_TRUE(ksm_merged(x, y)) TH_LOG("a device read broke the merge");
	/* ...and its write breaks the sharing: x changes, y does not. */
	ASSERT_EQ(1, rep_run(r, DRM_UPTR_OP_FILL, 0, h, SIZE, WORD2));
	EXPECT_EQ(-1, uptr_check_words(x, SIZE, WORD2));
	EXPECT_EQ(-1, variant->device_writes ?
		      uptr_check_words(y, SIZE, WORD) :
		      uptr_check_pattern(y, SIZE, 7));
	EXPECT_FALSE(uptr_pfn(x) == uptr_pfn(y));
	memset(r->bo, 0xee, SIZE);
	ASSERT_EQ(1, rep_run(r, DRM_UPTR_OP_COPY, hro, r->hbo, SIZE, 0));
	EXPECT_EQ(-1, uptr_check_words(r->bo, SIZE, WORD2));
	ksm_stop(&self->ksm);
	munmap(x, SIZE);
	munmap(y, SIZE);
}

/* ---- NUMA migration --------------------------------------------------- */

FIXTURE(migrate) {
	struct rep r;
};

FIXTURE_VARIANT(migrate) {
	bool device_writes;
};

FIXTURE_VARIANT_ADD(migrate, reader) {
	.device_writes = false,
};

FIXTURE_VARIANT_ADD(migrate, writer) {
	.device_writes = true,
};

FIXTURE_SETUP(migrate)
{
	rep_setup(_metadata, &self->r);
	if (_metadata->exit_code)
		return;
	if (access("/sys/devices/system/node/node1", F_OK))
		SKIP(return, "one NUMA node only (the default guest boots with numa=fake=2)");
}

FIXTURE_TEARDOWN(migrate)
{
	rep_teardown(&self->r);
}

/* Pages of [addr, addr + SIZE) on @node. */
static unsigned int on_node(void *addr, int node)
{
	int status[NPAGES];
	void *pages[NPAGES];
	unsigned int i, n = 0;

	for (i = 0; i < NPAGES; i++)
		pages[i] = (char *)addr + i * PAGE;
	if (syscall(SYS_move_pages, 0, NPAGES, pages, NULL, status, 0))
		return 0;
	for (i = 0; i < NPAGES; i++)
		n += status[i] == node;
	return n;
}

static int bind_to(void *addr, int node)
{
	unsigned long mask = 1UL << node;

	return syscall(SYS_mbind, addr, SIZE, MPOL_BIND, &mask,
		       8 * sizeof(mask), MPOL_MF_MOVE) ? -errno : 0;
}

TEST_F_TIMEOUT(migrate, mbind_move_waits_for_held_job_next_job_uses_new_pages, 120)
{
	struct rep *r = &self->r;
	__u64 old_pfn[NPAGES];
	unsigned char *m;
	unsigned int i;
	__u32 h;

	m = uptr_map_anon(SIZE);
	ASSERT_NE(NULL, m);
	uptr_fill_pattern(m, SIZE, 11);
	ASSERT_EQ(0, bind_to(m, 0));
	ASSERT_EQ(NPAGES, on_node(m, 0));
	for (i = 0; i < NPAGES; i++)
		old_pfn[i] = uptr_pfn(m + i * PAGE);
	ASSERT_EQ(0, uptr_create(r->fd, m, SIZE, DRM_UPTR_CREATE_POPULATE, &h));

	rep_hold(_metadata, r, h, SIZE, variant->device_writes);
	ASSERT_EQ(0, bind_to(m, 1));
	rep_check_waited(_metadata, r, false);
	ASSERT_EQ(NPAGES, on_node(m, 1)) TH_LOG("mbind did not move every page");
	for (i = 0; i < NPAGES; i++)
		EXPECT_NE(old_pfn[i], uptr_pfn(m + i * PAGE));

	/*
	 * (a) A write landed in the old pages before they were copied: the
	 * new pages hold it. A read saw the old bytes.
	 */
	if (variant->device_writes) {
		EXPECT_EQ(-1, uptr_check_words(m, SIZE, WORD))
			TH_LOG("the device's write is not in the migrated pages");
	} else {
		EXPECT_EQ(-1, uptr_check_pattern(r->bo, SIZE, 11));
	}

	/* (c) The next jobs use the new pages both ways. */
	uptr_fill_pattern(m, SIZE, 12);
	memset(r->bo, 0xee, SIZE);
	ASSERT_EQ(1, rep_run(r, DRM_UPTR_OP_COPY, h, r->hbo, SIZE, 0));
	EXPECT_EQ(-1, uptr_check_pattern(r->bo, SIZE, 12));
	ASSERT_EQ(1, rep_run(r, DRM_UPTR_OP_FILL, 0, h, SIZE, WORD2));
	EXPECT_EQ(-1, uptr_check_words(m, SIZE, WORD2));
	EXPECT_EQ(NPAGES, on_node(m, 1));
	munmap(m, SIZE);
}

/* ---- writeback: folio_mkclean ----------------------------------------- */

FIXTURE(writeback) {
	struct rep r;
	char dev[32];
	bool mounted;
	int ffd;
	unsigned char *map;
};

static void fs_cleanup(void)
{
	umount2(FS_MNT, 0);
	umount2(FS_MNT, MNT_DETACH);
	unlink(FS_IMAGE);
}

FIXTURE_SETUP(writeback)
{
	char cmd[128];
	int fd, lfd, ret;

	self->ffd = -1;
	rep_setup(_metadata, &self->r);
	if (_metadata->exit_code)
		return;
	fs_cleanup();
	fd = open(FS_IMAGE, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ftruncate(fd, FS_IMAGE_SIZE));
	close(fd);
	lfd = uptr_loop_attach(FS_IMAGE, self->dev, sizeof(self->dev));
	if (lfd == -ENOENT || lfd == -ENODEV)
		SKIP(return, "no loop device: %s", strerror(-lfd));
	ASSERT_LE(0, lfd);
	snprintf(cmd, sizeof(cmd), "mke2fs -F %s >/dev/null 2>&1",
		 self->dev);
	ret = system(cmd);
	ASSERT_EQ(0, ret) TH_LOG("%s failed", cmd);
	mkdir(FS_MNT, 0755);
	ret = mount(self->dev, FS_MNT, "ext2", 0, NULL) ? -errno : 0;
	close(lfd);
	ASSERT_EQ(0, ret) TH_LOG("mount ext2: %s", strerror(-ret));
	self->mounted = true;
	self->ffd = open(FS_FILE, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ASSERT_LE(0, self->ffd);
	ASSERT_EQ(0, ftruncate(self->ffd, SIZE));
	self->map = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
			 self->ffd, 0);
	ASSERT_NE(MAP_FAILED, self->map);
}

FIXTURE_TEARDOWN(writeback)
{
	rep_teardown(&self->r);
	if (self->map && self->map != MAP_FAILED)
		munmap(self->map, SIZE);
	if (self->ffd >= 0)
		close(self->ffd);
	if (self->mounted)
		fs_cleanup();
}

/*
 * Read the file's data from the disk, not from the page cache: map each
 * block with FIBMAP and read it from the loop device with O_DIRECT.
 * Returns 0 or -errno.
 */
static int read_disk(int ffd, const char *dev, unsigned char *out)
{
	int bsz = 0, dfd, ret = 0;
	unsigned int i;
	void *buf;

	if (ioctl(ffd, FIGETBSZ, &bsz) || bsz <= 0 || SIZE % bsz)
		return -EINVAL;
	if (posix_memalign(&buf, 4096, bsz))
		return -ENOMEM;
	dfd = open(dev, O_RDONLY | O_DIRECT | O_CLOEXEC);
	if (dfd < 0) {
		free(buf);
		return -errno;
	}
	for (i = 0; i < SIZE / bsz; i++) {
		int blk = i;

		if (ioctl(ffd, FIBMAP, &blk)) {
			ret = -errno;
			break;
		}
		if (!blk) {	/* a hole: zeros */
			memset(out + i * bsz, 0, bsz);
			continue;
		}
		if (pread(dfd, buf, bsz, (off_t)blk * bsz) != bsz) {
			ret = -EIO;
			break;
		}
		memcpy(out + i * bsz, buf, bsz);
	}
	close(dfd);
	free(buf);
	return ret;
}

TEST_F_TIMEOUT(writeback, msync_mkclean_waits_for_held_writer_disk_has_its_data, 120)
{
	struct rep *r = &self->r;
	unsigned char *disk;
	__u32 h;

	disk = malloc(SIZE);
	ASSERT_NE(NULL, disk);
	/* Data on the disk, then dirty pages in the page cache. */
	uptr_fill_pattern(self->map, SIZE, 21);
	ASSERT_EQ(0, msync(self->map, SIZE, MS_SYNC));
	ASSERT_EQ(0, read_disk(self->ffd, self->dev, disk));
	ASSERT_EQ(-1, uptr_check_pattern(disk, SIZE, 21));
	uptr_fill_pattern(self->map, SIZE, 22);
	ASSERT_EQ(0, uptr_create(r->fd, self->map, SIZE,
				 DRM_UPTR_CREATE_POPULATE, &h));

	rep_hold(_metadata, r, h, SIZE, true);
	/* Writeback write-protects the pages first, and waits for the job. */
	ASSERT_EQ(0, msync(self->map, SIZE, MS_SYNC));
	rep_check_waited(_metadata, r, false);

	/*
	 * (a) The device's write was in the pages before they were written
	 * out: msync() alone put it on the disk.
	 */
	ASSERT_EQ(0, read_disk(self->ffd, self->dev, disk));
	EXPECT_EQ(-1, uptr_check_words(disk, SIZE, WORD))
		TH_LOG("the disk does not hold the device's write after msync");
	EXPECT_EQ(-1, uptr_check_words(self->map, SIZE, WORD));

	/*
	 * (c) The next jobs use the pages as they are now: the CPU's write
	 * after writeback, then, cleaned again, a device write that has to
	 * make them writable and dirty for the next writeback to see it.
	 */
	uptr_fill_pattern(self->map, SIZE, 23);
	ASSERT_EQ(0, msync(self->map, SIZE, MS_SYNC));
	memset(r->bo, 0xee, SIZE);
	ASSERT_EQ(1, rep_run(r, DRM_UPTR_OP_COPY, h, r->hbo, SIZE, 0));
	EXPECT_EQ(-1, uptr_check_pattern(r->bo, SIZE, 23));
	ASSERT_EQ(1, rep_run(r, DRM_UPTR_OP_FILL, 0, h, SIZE, WORD2));
	EXPECT_EQ(-1, uptr_check_words(self->map, SIZE, WORD2));
	ASSERT_EQ(0, msync(self->map, SIZE, MS_SYNC));
	ASSERT_EQ(0, read_disk(self->ffd, self->dev, disk));
	EXPECT_EQ(-1, uptr_check_words(disk, SIZE, WORD2))
		TH_LOG("the next device write did not dirty the page for writeback");
	free(disk);
}

/* ---- uprobes: __replace_page ------------------------------------------ */

#if defined(__x86_64__)
/* A function whose first byte is known: push %rbp is 0x55. */
asm(".pushsection .text\n"
	".type uptr_replace_target, @function\n"
	".balign 64\n"
	"uptr_replace_target:\n"
	"\tpush %rbp\n"
	"\tmov %rsp, %rbp\n"
	"\tpop %rbp\n"
	"\tret\n"
	".size uptr_replace_target, . - uptr_replace_target\n"
	".popsection\n");

static uintptr_t target_addr(void)
{
	uintptr_t addr;

	asm("lea uptr_replace_target(%%rip), %0" : "=r" (addr));
	return addr;
}

#define FIRST_BYTE	0x55
#define BREAKPOINT	0xcc
#endif

FIXTURE(uprobe) {
	struct rep r;
	bool registered;
};

static void uprobe_remove(void)
{
	uptr_write_str(UPROBE_ENABLE, "0", 0);
	uptr_write_str(UPROBE_EVENTS, "-:uptr_rep/probe\n", O_APPEND);
}

FIXTURE_SETUP(uprobe)
{
#if defined(__x86_64__)
	rep_setup(_metadata, &self->r);
	if (_metadata->exit_code)
		return;
	if (access(UPROBE_EVENTS, W_OK))
		mount("tracefs", TRACEFS, "tracefs", 0, NULL);
	if (access(UPROBE_EVENTS, W_OK))
		SKIP(return, "no %s (tracefs or CONFIG_UPROBE_EVENTS missing)",
		     UPROBE_EVENTS);
	uprobe_remove();
#else
	self->r.fd = -1;
	self->r.gate.timeline = -1;
	SKIP(return, "the breakpoint byte is only known for x86_64");
#endif
}

FIXTURE_TEARDOWN(uprobe)
{
	rep_teardown(&self->r);
	if (self->registered)
		uprobe_remove();
}

TEST_F_TIMEOUT(uprobe, enable_replaces_text_page_after_held_reader, 120)
{
#if defined(__x86_64__)
	uintptr_t addr = target_addr();
	unsigned char *page = (unsigned char *)(addr & ~(PAGE - 1));
	size_t off = addr & (PAGE - 1);
	struct rep *r = &self->r;
	char path[PATH_MAX], probe[PATH_MAX + 64];
	unsigned char orig[PAGE];
	unsigned long file_off = 0;
	__u64 old_pfn;
	__u32 h;
	int ret;

	ASSERT_EQ(0, uptr_text_file_offset(addr, path, sizeof(path), &file_off))
		TH_LOG("the test's text is not a MAP_PRIVATE file mapping");
	memcpy(orig, page, PAGE);
	ASSERT_EQ(FIRST_BYTE, orig[off]);
	old_pfn = uptr_pfn(page);
	ASSERT_NE(0ULL, old_pfn);
	snprintf(probe, sizeof(probe), "p:uptr_rep/probe %s:0x%lx\n", path,
		 file_off);
	ret = uptr_write_str(UPROBE_EVENTS, probe, O_APPEND);
	ASSERT_EQ(0, ret) TH_LOG("%s: %s", probe, strerror(-ret));
	self->registered = true;
	/* Text is not writable: a read-only object over its page. */
	ASSERT_EQ(0, uptr_create(r->fd, page, PAGE, DRM_UPTR_CREATE_READ_ONLY |
				 DRM_UPTR_CREATE_POPULATE, &h));

	rep_hold(_metadata, r, h, PAGE, false);
	/* Enabling installs the breakpoint: __replace_page() waits. */
	ASSERT_EQ(0, uptr_write_str(UPROBE_ENABLE, "1", 0));
	rep_check_waited(_metadata, r, false);
	/* (a) The held job read the old page: no breakpoint in it. */
	EXPECT_EQ(0, memcmp(orig, r->bo, PAGE))
		TH_LOG("the held job read byte 0x%02x, not the old page's 0x%02x",
		       r->bo[off], orig[off]);
	EXPECT_EQ(BREAKPOINT, page[off]);
	EXPECT_NE(old_pfn, uptr_pfn(page));

	/* (c) The next job reads the new page: the breakpoint, the rest same. */
	memset(r->bo, 0, PAGE);
	ASSERT_EQ(1, rep_run(r, DRM_UPTR_OP_COPY, h, r->hbo, PAGE, 0));
	EXPECT_EQ(BREAKPOINT, r->bo[off]);
	EXPECT_EQ(0, memcmp(orig, r->bo, off));
	EXPECT_EQ(0, memcmp(orig + off + 1, r->bo + off + 1, PAGE - off - 1));

	/* Removal puts the file's page back; the device follows again. */
	rep_hold(_metadata, r, h, PAGE, false);
	ASSERT_EQ(0, uptr_write_str(UPROBE_ENABLE, "0", 0));
	rep_check_waited(_metadata, r, false);
	EXPECT_EQ(BREAKPOINT, r->bo[off]);
	ASSERT_EQ(0, uptr_write_str(UPROBE_EVENTS, "-:uptr_rep/probe\n", O_APPEND));
	self->registered = false;
	memset(r->bo, 0, PAGE);
	ASSERT_EQ(1, rep_run(r, DRM_UPTR_OP_COPY, h, r->hbo, PAGE, 0));
	EXPECT_EQ(0, memcmp(orig, r->bo, PAGE));
#endif
}

TEST_HARNESS_MAIN
