// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The uptr authors
 *
 * Userptr objects over memory with a fault path of its own: a
 * userfaultfd-registered range whose pages are missing or write-protected;
 * hugetlb pages; and program text whose page a uprobe replaces.
 * uptr_backing_disk_test.c covers file, swap and swapped-out userfaultfd
 * memory.
 *
 * Each test checks that the device reads what the CPU wrote, the CPU (or
 * the disk) holds what the device wrote, and that the driver's counters
 * show the invalidation or refault that the scenario is about.
 */
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <linux/loop.h>
#include <linux/userfaultfd.h>

#include "../../kselftest_harness.h"
#include "uptr_util.h"

#define PAGE		UPTR_PAGE
#define NPAGES		16
#define SIZE		(NPAGES * PAGE)
#define HPAGE		(2UL << 20)

#define TRACEFS		"/sys/kernel/tracing"
#define NR_HUGEPAGES	"/proc/sys/vm/nr_hugepages"

/* ---- userfaultfd ------------------------------------------------------ */

FIXTURE(uffd) {
	int fd;
	char dir[256];
	int uffd;
	unsigned char *p, *src;
	__u32 hbo, sync;
	unsigned char *bo;
};

FIXTURE_VARIANT(uffd) {
	int open_flags;		/* extra userfaultfd() flags */
	__u64 features;		/* UFFDIO_API features */
};

/* Missing faults would wait for a handler: the kernel fails them. */
FIXTURE_VARIANT_ADD(uffd, wait_for_handler) {
	.open_flags = 0,
	.features = 0,
};

/* Missing faults raise SIGBUS instead of waiting. */
FIXTURE_VARIANT_ADD(uffd, sigbus) {
	.open_flags = 0,
	.features = UFFD_FEATURE_SIGBUS,
};

/* Only user-mode faults are handled; kernel faults fail at once. */
FIXTURE_VARIANT_ADD(uffd, user_mode_only) {
	.open_flags = UFFD_USER_MODE_ONLY,
	.features = 0,
};

FIXTURE_SETUP(uffd)
{
	struct uffdio_register reg = { .mode = UFFDIO_REGISTER_MODE_MISSING };
	struct uffdio_api api = { .api = UFFD_API,
				  .features = variant->features };

	self->uffd = -1;
	self->fd = uptr_open_render();
	if (self->fd < 0)
		SKIP(return, "no uptr render node");
	if (uptr_debugfs_dir(self->dir, sizeof(self->dir)))
		SKIP(return, "no uptr debugfs directory");
	self->uffd = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK |
			     variant->open_flags);
	/* The sysctl exists exactly when the kernel has userfaultfd. */
	if (self->uffd < 0 &&
	    access("/proc/sys/vm/unprivileged_userfaultfd", F_OK))
		SKIP(return, "no userfaultfd in this kernel");
	ASSERT_LE(0, self->uffd);
	ASSERT_EQ(0, ioctl(self->uffd, UFFDIO_API, &api));

	self->p = uptr_map_anon(SIZE);
	self->src = uptr_map_anon(SIZE);
	ASSERT_NE(NULL, self->p);
	ASSERT_NE(NULL, self->src);
	reg.range.start = (uintptr_t)self->p;
	reg.range.len = SIZE;
	ASSERT_EQ(0, ioctl(self->uffd, UFFDIO_REGISTER, &reg));
	uptr_fill_pattern(self->src, SIZE, 51);
	ASSERT_EQ(0, uptr_bo_create(self->fd, SIZE, &self->hbo,
				    (void **)&self->bo));
	ASSERT_EQ(0, uptr_syncobj_create(self->fd, &self->sync));
}

FIXTURE_TEARDOWN(uffd)
{
	if (self->uffd >= 0)
		close(self->uffd);
	if (self->p)
		munmap(self->p, SIZE);
	if (self->src)
		munmap(self->src, SIZE);
	if (self->bo)
		munmap(self->bo, SIZE);
	if (self->fd >= 0)
		close(self->fd);
}

TEST_F(uffd, missing_pages_fail_device_use_with_efault_until_resolved)
{
	long long submitted, t0;
	struct uffdio_zeropage zp = {};
	struct uffdio_copy cp = {};
	struct uffd_msg msg;
	struct uptr_stats s0, s1, d;
	struct uptr_batch j = {};
	__u32 h, hro;

	/* Faulting in at create time fails, for either access. */
	t0 = uptr_now_ms();
	EXPECT_EQ(-EFAULT, uptr_create(self->fd, self->p, SIZE,
				       DRM_UPTR_CREATE_POPULATE, &h));
	EXPECT_EQ(-EFAULT, uptr_create(self->fd, self->p, SIZE,
				       DRM_UPTR_CREATE_POPULATE |
				       DRM_UPTR_CREATE_READ_ONLY, &h));

	ASSERT_EQ(0, uptr_create(self->fd, self->p, SIZE, 0, &h));
	ASSERT_EQ(0, uptr_create(self->fd, self->p, SIZE,
				 DRM_UPTR_CREATE_READ_ONLY, &hro));
	submitted = UPTR_COUNTER("uptr_engine", "jobs_submitted");

	/* A job reading or writing missing pages is refused, not queued. */
	uptr_batch_cmd(&j, DRM_UPTR_OP_COPY, hro, 0, self->hbo, 0, PAGE, 0);
	j.out.handle = self->sync;
	EXPECT_EQ(-EFAULT, uptr_batch_submit(self->fd, &j));
	j = (struct uptr_batch){};
	uptr_batch_cmd(&j, DRM_UPTR_OP_FILL, 0, 0, h, 0, SIZE, 0x0ddf111e);
	j.out.handle = self->sync;
	EXPECT_EQ(-EFAULT, uptr_batch_submit(self->fd, &j));
	EXPECT_EQ(-EINVAL, uptr_syncobj_wait(self->fd, self->sync, 0));
	EXPECT_EQ(submitted,
		  UPTR_COUNTER("uptr_engine", "jobs_submitted"));
	/* No hang, and the handler was never asked: nothing to read. */
	EXPECT_GT(5000, uptr_now_ms() - t0);
	EXPECT_EQ(-1, read(self->uffd, &msg, sizeof(msg)));
	EXPECT_EQ(EAGAIN, errno);

	/* Resolve the first half with data, the second with zero pages. */
	cp.dst = (uintptr_t)self->p;
	cp.src = (uintptr_t)self->src;
	cp.len = SIZE / 2;
	ASSERT_EQ(0, ioctl(self->uffd, UFFDIO_COPY, &cp));
	ASSERT_EQ((__s64)(SIZE / 2), cp.copy);

	ASSERT_EQ(0, uptr_debugfs_stats(self->dir, &s0));
	memset(self->bo, 0xee, SIZE);
	j = (struct uptr_batch){};
	uptr_batch_cmd(&j, DRM_UPTR_OP_COPY, hro, 0, self->hbo, 0, SIZE / 2, 0);
	ASSERT_EQ(1, uptr_batch_run(self->fd, self->sync, &j));
	EXPECT_EQ(-1, uptr_check_pattern(self->bo, SIZE / 2, 51));
	/* The second half is still missing. */
	j = (struct uptr_batch){};
	uptr_batch_cmd(&j, DRM_UPTR_OP_COPY, hro, 0, self->hbo, 0, SIZE, 0);
	EXPECT_EQ(-EFAULT, uptr_batch_submit(self->fd, &j));

	zp.range.start = (uintptr_t)self->p + SIZE / 2;
	zp.range.len = SIZE / 2;
	ASSERT_EQ(0, ioctl(self->uffd, UFFDIO_ZEROPAGE, &zp));
	ASSERT_EQ((__s64)(SIZE / 2), zp.zeropage);
	j = (struct uptr_batch){};
	uptr_batch_cmd(&j, DRM_UPTR_OP_COPY, hro, 0, self->hbo, 0, SIZE, 0);
	ASSERT_EQ(1, uptr_batch_run(self->fd, self->sync, &j));
	EXPECT_EQ(-1, uptr_check_pattern(self->bo, SIZE / 2, 51));
	EXPECT_EQ(-1, uptr_check_words(self->bo + SIZE / 2, SIZE / 2, 0));

	/* The device writes over both halves; the CPU sees it. */
	j = (struct uptr_batch){};
	uptr_batch_cmd(&j, DRM_UPTR_OP_FILL, 0, 0, h, PAGE, SIZE - 2 * PAGE,
		       0x0ddf111e);
	ASSERT_EQ(1, uptr_batch_run(self->fd, self->sync, &j));
	ASSERT_EQ(0, uptr_stats_since(self->dir, "after resolving", &s0, &s1, &d));
	EXPECT_LE(NPAGES, d.pages_faulted);
	EXPECT_EQ(-1, uptr_check_pattern(self->p, PAGE, 51));
	EXPECT_EQ(-1, uptr_check_words(self->p + PAGE, SIZE - 2 * PAGE, 0x0ddf111e));
	EXPECT_EQ(-1, uptr_check_words(self->p + SIZE - PAGE, PAGE, 0));

	/*
	 * The write replaced the zero pages of the second half: the
	 * read-only object, which mirrored the zero pages, follows.
	 */
	memset(self->bo, 0xee, SIZE);
	j = (struct uptr_batch){};
	uptr_batch_cmd(&j, DRM_UPTR_OP_COPY, hro, 0, self->hbo, 0, SIZE, 0);
	ASSERT_EQ(1, uptr_batch_run(self->fd, self->sync, &j));
	EXPECT_EQ(0, memcmp(self->bo, self->p, SIZE));
	EXPECT_EQ(-1, uptr_check_words(self->bo + SIZE / 2, SIZE / 2 - PAGE,
				       0x0ddf111e));
	/* Still no message for the handler. */
	EXPECT_EQ(-1, read(self->uffd, &msg, sizeof(msg)));
}

TEST_F(uffd, write_protected_pages_refuse_device_write_until_unprotected)
{
	struct uffdio_register reg = {
		.mode = UFFDIO_REGISTER_MODE_MISSING | UFFDIO_REGISTER_MODE_WP,
	};
	struct uffdio_writeprotect wp = {};
	struct uffdio_range range = {};
	struct uptr_stats s0, s1, d;
	struct uffdio_copy cp = {};
	struct uffd_msg msg;
	struct uptr_batch j = {};
	__u32 h, hro;

	range.start = (uintptr_t)self->p;
	range.len = SIZE;
	ASSERT_EQ(0, ioctl(self->uffd, UFFDIO_UNREGISTER, &range));
	reg.range = range;
	ASSERT_EQ(0, ioctl(self->uffd, UFFDIO_REGISTER, &reg));
	/* Every page present, and write-protected. */
	cp.dst = (uintptr_t)self->p;
	cp.src = (uintptr_t)self->src;
	cp.len = SIZE;
	cp.mode = UFFDIO_COPY_MODE_WP;
	ASSERT_EQ(0, ioctl(self->uffd, UFFDIO_COPY, &cp));
	ASSERT_EQ(0, uptr_create(self->fd, self->p, SIZE, 0, &h));
	ASSERT_EQ(0, uptr_create(self->fd, self->p, SIZE,
				 DRM_UPTR_CREATE_READ_ONLY, &hro));

	/* The device may read them... */
	uptr_batch_cmd(&j, DRM_UPTR_OP_COPY, hro, 0, self->hbo, 0, SIZE, 0);
	ASSERT_EQ(1, uptr_batch_run(self->fd, self->sync, &j));
	EXPECT_EQ(-1, uptr_check_pattern(self->bo, SIZE, 51));
	/* ...but not write them behind the handler's back. */
	j = (struct uptr_batch){};
	uptr_batch_cmd(&j, DRM_UPTR_OP_FILL, 0, 0, h, 0, SIZE, 0x3070f111);
	EXPECT_EQ(-EFAULT, uptr_batch_submit(self->fd, &j));
	EXPECT_EQ(-1, uptr_check_pattern(self->p, SIZE, 51));
	EXPECT_EQ(-1, read(self->uffd, &msg, sizeof(msg)));

	/*
	 * Once the handler lifts the protection, the device writes; the
	 * change of protection invalidated what the device had mirrored.
	 */
	ASSERT_EQ(0, uptr_debugfs_stats(self->dir, &s0));
	wp.range = range;
	ASSERT_EQ(0, ioctl(self->uffd, UFFDIO_WRITEPROTECT, &wp));
	ASSERT_EQ(0, uptr_stats_since(self->dir, "unprotect", &s0, &s1, &d));
	EXPECT_LE(1, d.event_protection_vma);
	EXPECT_LE(NPAGES, d.pages_invalidated);
	ASSERT_EQ(1, uptr_batch_run(self->fd, self->sync, &j));
	EXPECT_EQ(-1, uptr_check_words(self->p, SIZE, 0x3070f111));
	j = (struct uptr_batch){};
	uptr_batch_cmd(&j, DRM_UPTR_OP_COPY, hro, 0, self->hbo, 0, SIZE, 0);
	ASSERT_EQ(1, uptr_batch_run(self->fd, self->sync, &j));
	EXPECT_EQ(-1, uptr_check_words(self->bo, SIZE, 0x3070f111));
}

/* ---- hugetlb ---------------------------------------------------------- */

FIXTURE(hugetlb) {
	int fd;
	char dir[256];
	long saved_nr;
	unsigned char *p;
	__u32 hbo, sync;
	unsigned char *bo;
};

FIXTURE_VARIANT(hugetlb) {
	int map_flags;
	bool zero_after_dontneed;	/* private: data gone; shared: kept */
};

FIXTURE_VARIANT_ADD(hugetlb, private) {
	.map_flags = MAP_PRIVATE,
	.zero_after_dontneed = true,
};

FIXTURE_VARIANT_ADD(hugetlb, shared) {
	.map_flags = MAP_SHARED,
	.zero_after_dontneed = false,
};

static void restore_nr_hugepages(long saved)
{
	char s[32];

	if (saved < 0 || saved >= 8)
		return;
	snprintf(s, sizeof(s), "%ld", saved);
	uptr_write_str(NR_HUGEPAGES, s, 0);
}

FIXTURE_SETUP(hugetlb)
{
	self->saved_nr = -1;
	self->fd = uptr_open_render();
	if (self->fd < 0)
		SKIP(return, "no uptr render node");
	if (uptr_debugfs_dir(self->dir, sizeof(self->dir)))
		SKIP(return, "no uptr debugfs directory");
	self->saved_nr = uptr_number(NR_HUGEPAGES);
	if (self->saved_nr < 0)
		SKIP(return, "no %s", NR_HUGEPAGES);
	if (self->saved_nr < 8 && uptr_write_str(NR_HUGEPAGES, "8", 0))
		SKIP(return, "cannot write %s", NR_HUGEPAGES);
	if (uptr_number(NR_HUGEPAGES) < 2) {
		restore_nr_hugepages(self->saved_nr);
		SKIP(return, "could not reserve two huge pages");
	}
	self->p = mmap(NULL, HPAGE, PROT_READ | PROT_WRITE,
		       variant->map_flags | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
	if (self->p == MAP_FAILED) {
		int err = errno;

		restore_nr_hugepages(self->saved_nr);
		self->p = NULL;
		ASSERT_EQ(0, err) TH_LOG("MAP_HUGETLB: %s", strerror(err));
	}
	ASSERT_EQ(0UL, (uintptr_t)self->p % HPAGE);
	ASSERT_EQ(0, uptr_bo_create(self->fd, HPAGE, &self->hbo,
				    (void **)&self->bo));
	ASSERT_EQ(0, uptr_syncobj_create(self->fd, &self->sync));
}

FIXTURE_TEARDOWN(hugetlb)
{
	if (self->p)
		munmap(self->p, HPAGE);
	if (self->bo)
		munmap(self->bo, HPAGE);
	if (self->fd >= 0)
		close(self->fd);
	restore_nr_hugepages(self->saved_nr);
}

TEST_F(hugetlb, device_copy_and_fill_follow_huge_page)
{
	const size_t foff = HPAGE / 2 - 2 * PAGE, flen = 16 * PAGE;
	struct uptr_stats s0, s1, s2, d;
	struct uptr_batch j = {};
	__u32 h, hsub;

	uptr_fill_pattern(self->p, HPAGE, 61);
	/* hugetlb is ordinary memory with struct pages: accepted. */
	ASSERT_EQ(0, uptr_create(self->fd, self->p, HPAGE,
				 DRM_UPTR_CREATE_PROBE, &h));

	ASSERT_EQ(0, uptr_debugfs_stats(self->dir, &s0));
	uptr_batch_cmd(&j, DRM_UPTR_OP_COPY, h, 0, self->hbo, 0, HPAGE, 0);
	ASSERT_EQ(1, uptr_batch_run(self->fd, self->sync, &j));
	ASSERT_EQ(0, uptr_stats_since(self->dir, "copy out", &s0, &s1, &d));
	EXPECT_EQ(-1, uptr_check_pattern(self->bo, HPAGE, 61));
	EXPECT_LE((long long)(HPAGE / PAGE), d.pages_faulted);

	/* The device writes inside the huge page; the CPU sees exactly it. */
	j = (struct uptr_batch){};
	uptr_batch_cmd(&j, DRM_UPTR_OP_FILL, 0, 0, h, foff, flen, 0x4e6ef111);
	ASSERT_EQ(1, uptr_batch_run(self->fd, self->sync, &j));
	EXPECT_EQ(-1, uptr_check_pattern(self->p, foff, 61));
	EXPECT_EQ(-1, uptr_check_words(self->p + foff, flen, 0x4e6ef111));
	EXPECT_EQ(-1, uptr_check_pattern_at(self->p + foff + flen,
					    HPAGE - foff - flen, foff + flen, 61));

	/* An object over a few small pages inside the huge page. */
	ASSERT_EQ(0, uptr_create(self->fd, self->p + 3 * PAGE, 4 * PAGE,
				 DRM_UPTR_CREATE_READ_ONLY |
				 DRM_UPTR_CREATE_POPULATE, &hsub));
	memset(self->bo, 0, 4 * PAGE);
	j = (struct uptr_batch){};
	uptr_batch_cmd(&j, DRM_UPTR_OP_COPY, hsub, 0, self->hbo, 0, 4 * PAGE, 0);
	ASSERT_EQ(1, uptr_batch_run(self->fd, self->sync, &j));
	EXPECT_EQ(-1, uptr_check_pattern_at(self->bo, 4 * PAGE, 3 * PAGE, 61));

	/* Zapping the huge page invalidates the whole 2 MiB mirror. */
	ASSERT_EQ(0, madvise(self->p, HPAGE, MADV_DONTNEED));
	ASSERT_EQ(0, uptr_stats_since(self->dir, "MADV_DONTNEED", &s1, &s2, &d));
	EXPECT_LE((long long)(HPAGE / PAGE), d.pages_invalidated);
	memset(self->bo, 0xee, HPAGE);
	j = (struct uptr_batch){};
	uptr_batch_cmd(&j, DRM_UPTR_OP_COPY, h, 0, self->hbo, 0, HPAGE, 0);
	ASSERT_EQ(1, uptr_batch_run(self->fd, self->sync, &j));
	if (variant->zero_after_dontneed) {
		EXPECT_EQ(-1, uptr_check_words(self->bo, HPAGE, 0));
		EXPECT_EQ(-1, uptr_check_words(self->p, HPAGE, 0));
	} else {
		EXPECT_EQ(0, memcmp(self->bo, self->p, HPAGE));
		EXPECT_EQ(-1, uptr_check_words(self->bo + foff, flen, 0x4e6ef111));
		EXPECT_EQ(-1, uptr_check_pattern(self->bo, foff, 61));
	}
}

/* ---- uprobes replacing a text page ------------------------------------ */

#if defined(__x86_64__)
/* A function whose first byte is known: push %rbp is 0x55. */
asm(".pushsection .text\n"
	".type uptr_probe_target, @function\n"
	".balign 64\n"
	"uptr_probe_target:\n"
	"\tpush %rbp\n"
	"\tmov %rsp, %rbp\n"
	"\tpop %rbp\n"
	"\tret\n"
	".size uptr_probe_target, . - uptr_probe_target\n"
	".popsection\n");

static uintptr_t probe_target_addr(void)
{
	uintptr_t addr;

	asm("lea uptr_probe_target(%%rip), %0" : "=r" (addr));
	return addr;
}

#define PROBE_FIRST_BYTE	0x55
#define PROBE_BREAKPOINT	0xcc
#endif

#define UPROBE_EVENTS	TRACEFS "/uprobe_events"
#define UPROBE_ENABLE	TRACEFS "/events/uptr/probe/enable"

FIXTURE(uprobe) {
	int fd;
	char dir[256];
	bool registered;
	char path[PATH_MAX];
	unsigned long file_off;
	unsigned char *page;	/* the text page holding the function */
	size_t off;		/* the function's offset in it */
	__u32 hbo, sync;
	unsigned char *bo;
};

static void uprobe_remove(void)
{
	uptr_write_str(UPROBE_ENABLE, "0", 0);
	uptr_write_str(UPROBE_EVENTS, "-:uptr/probe\n", O_APPEND);
}

FIXTURE_SETUP(uprobe)
{
#if defined(__x86_64__)
	uintptr_t addr = probe_target_addr();

	self->fd = uptr_open_render();
	if (self->fd < 0)
		SKIP(return, "no uptr render node");
	if (uptr_debugfs_dir(self->dir, sizeof(self->dir)))
		SKIP(return, "no uptr debugfs directory");
	if (access(UPROBE_EVENTS, W_OK))
		mount("tracefs", TRACEFS, "tracefs", 0, NULL);
	if (access(UPROBE_EVENTS, W_OK))
		SKIP(return, "no %s (tracefs or CONFIG_UPROBE_EVENTS missing)",
		     UPROBE_EVENTS);
	ASSERT_EQ(0, uptr_text_file_offset(addr, self->path,
					   sizeof(self->path),
					   &self->file_off));
	self->page = (unsigned char *)(addr & ~(PAGE - 1));
	self->off = addr & (PAGE - 1);
	uprobe_remove();
	ASSERT_EQ(0, uptr_bo_create(self->fd, PAGE, &self->hbo,
				    (void **)&self->bo));
	ASSERT_EQ(0, uptr_syncobj_create(self->fd, &self->sync));
#else
	SKIP(return, "the breakpoint byte is only known for x86_64");
#endif
}

FIXTURE_TEARDOWN(uprobe)
{
	if (self->registered)
		uprobe_remove();
	if (self->bo)
		munmap(self->bo, PAGE);
	if (self->fd >= 0)
		close(self->fd);
}

TEST_F(uprobe, breakpoint_replaces_text_page_for_device_and_removal_restores)
{
#if defined(__x86_64__)
	unsigned char orig[PAGE];
	struct uptr_stats s0, s1, s2, d;
	struct uptr_batch j = {};
	char probe[PATH_MAX + 64];
	int ret;
	__u32 h;

	memcpy(orig, self->page, PAGE);
	ASSERT_EQ(PROBE_FIRST_BYTE, orig[self->off]);
	/* Text is not writable: the device may only read it. */
	ASSERT_EQ(0, uptr_create(self->fd, self->page, PAGE,
				 DRM_UPTR_CREATE_READ_ONLY, &h));
	uptr_batch_cmd(&j, DRM_UPTR_OP_COPY, h, 0, self->hbo, 0, PAGE, 0);
	ASSERT_EQ(1, uptr_batch_run(self->fd, self->sync, &j));
	ASSERT_EQ(0, memcmp(orig, self->bo, PAGE));

	/* Register and enable: the page is replaced in every mapping. */
	ASSERT_EQ(0, uptr_debugfs_stats(self->dir, &s0));
	snprintf(probe, sizeof(probe), "p:uptr/probe %s:0x%lx\n", self->path,
		 self->file_off);
	ret = uptr_write_str(UPROBE_EVENTS, probe, O_APPEND);
	if (ret == -ENOENT || ret == -EOPNOTSUPP)
		SKIP(return, "uprobe refused: %s", strerror(-ret));
	ASSERT_EQ(0, ret) TH_LOG("%s: %s", probe, strerror(-ret));
	self->registered = true;
	ASSERT_EQ(0, uptr_write_str(UPROBE_ENABLE, "1", 0));
	ASSERT_EQ(0, uptr_stats_since(self->dir, "uprobe enabled", &s0, &s1, &d));
	EXPECT_LE(1, d.event_clear);
	EXPECT_LE(1, d.pages_invalidated);

	memset(self->bo, 0, PAGE);
	ASSERT_EQ(1, uptr_batch_run(self->fd, self->sync, &j));
	EXPECT_EQ(PROBE_BREAKPOINT, self->bo[self->off]);
	EXPECT_EQ(PROBE_BREAKPOINT, self->page[self->off]);
	/* Nothing else of the page changed. */
	EXPECT_EQ(0, memcmp(orig, self->bo, self->off));
	EXPECT_EQ(0, memcmp(orig + self->off + 1, self->bo + self->off + 1,
			    PAGE - self->off - 1));

	/* Disable and remove: the original page comes back. */
	ASSERT_EQ(0, uptr_write_str(UPROBE_ENABLE, "0", 0));
	ASSERT_EQ(0, uptr_write_str(UPROBE_EVENTS, "-:uptr/probe\n", O_APPEND));
	self->registered = false;
	ASSERT_EQ(0, uptr_stats_since(self->dir, "uprobe removed", &s1, &s2, &d));
	EXPECT_LE(1, d.event_clear);

	memset(self->bo, 0, PAGE);
	ASSERT_EQ(1, uptr_batch_run(self->fd, self->sync, &j));
	EXPECT_EQ(PROBE_FIRST_BYTE, self->bo[self->off]);
	EXPECT_EQ(0, memcmp(orig, self->bo, PAGE));
#endif
}

TEST_HARNESS_MAIN
