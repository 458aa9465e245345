// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The uptr authors
 *
 * Bad memory never hurts: userptr objects over memory without struct pages
 * (a device buffer's VM_PFNMAP mapping, the VM_IO|VM_PFNMAP [vvar]
 * mapping), and writable objects over read-only and PROT_NONE mappings.
 * Every failure must be one of the errnos uptr_drm.h documents for the
 * ioctl, no job may run after a failed submission, and no byte of user
 * memory outside the objects may change. The ioctl fuzzer is in
 * uptr_abuse_fuzz_test.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>

#include "../../kselftest_harness.h"
#include "uptr_util.h"

#define PAGE		UPTR_PAGE

#define NBO_PAGES	4
#define BO_SIZE		(NBO_PAGES * PAGE)

/* DRM_IOCTL_UPTR_CREATE once, without restarting -EAGAIN. */
static int create_once(int fd, const void *ptr, __u64 size, __u32 flags,
		       __u32 *handle)
{
	struct drm_uptr_create c = {
		.user_ptr = (__u64)(uintptr_t)ptr,
		.user_size = size,
		.flags = flags,
	};
	int ret = uptr_ioctl_once(fd, DRM_IOCTL_UPTR_CREATE, &c);

	if (!ret && handle)
		*handle = c.handle;
	else if (!ret)
		uptr_gem_close(fd, c.handle);
	return ret;
}

/* ------------------------------------------------------------------ */
/* Memory without struct pages                                         */
/* ------------------------------------------------------------------ */

struct abuse_ctx {
	int fd;
	char dir[256];
	__u32 bo, dbuf, sync;
	unsigned char *bo_map, *dbuf_map;
	__u64 bo_offset;
	int objs0;
	long long submitted0;
};

FIXTURE(abuse) {
	struct abuse_ctx c;
};

FIXTURE_SETUP(abuse)
{
	struct drm_uptr_bo_mmap_offset o = {};
	struct abuse_ctx *c = &self->c;

	c->fd = uptr_open_render();
	if (c->fd < 0)
		SKIP(return, "no uptr render node");
	if (uptr_debugfs_dir(c->dir, sizeof(c->dir)))
		SKIP(return, "no uptr debugfs directory: counters are needed");
	ASSERT_EQ(0, uptr_debugfs_write("uptr_delay_ms", 0));
	/* The device buffer whose CPU mapping objects are put over. */
	ASSERT_EQ(0, uptr_bo_create(c->fd, BO_SIZE, &c->bo,
				    (void **)&c->bo_map));
	o.handle = c->bo;
	ASSERT_EQ(0, uptr_ioctl(c->fd, DRM_IOCTL_UPTR_BO_MMAP_OFFSET, &o));
	c->bo_offset = o.offset;
	uptr_fill_pattern(c->bo_map, BO_SIZE, 0x31);
	/* Where jobs copy to: it must stay as it is when they fail. */
	ASSERT_EQ(0, uptr_bo_create(c->fd, 8 * PAGE, &c->dbuf,
				    (void **)&c->dbuf_map));
	memset(c->dbuf_map, 0xee, 8 * PAGE);
	ASSERT_EQ(0, uptr_syncobj_create(c->fd, &c->sync));
	c->objs0 = uptr_debugfs_objects(c->dir, 0, NULL);
	c->submitted0 = UPTR_COUNTER("uptr_engine", "jobs_submitted");
}

FIXTURE_TEARDOWN(abuse)
{
	struct abuse_ctx *c = &self->c;

	if (c->fd < 0)
		return;
	munmap(c->bo_map, BO_SIZE);
	munmap(c->dbuf_map, 8 * PAGE);
	close(c->fd);
}

/*
 * Nothing was queued or written: no job since setup but @ok_jobs, the
 * device buffer and the destination as they were, no object left over.
 */
static void abuse_intact(struct __test_metadata *_metadata,
			 struct abuse_ctx *c, int ok_jobs)
{
	struct uptr_batch j = {};

	EXPECT_EQ(c->submitted0 + ok_jobs, UPTR_COUNTER("uptr_engine", "jobs_submitted"));
	EXPECT_EQ(-1, uptr_check_pattern(c->bo_map, BO_SIZE, 0x31));
	EXPECT_EQ(c->objs0, uptr_objects_settle(c->dir, c->objs0, 5000));
	/* The device still reads the buffer through its own handle. */
	uptr_batch_cmd(&j, DRM_UPTR_OP_COPY, c->bo, 0, c->dbuf, 4 * PAGE,
		       BO_SIZE, 0);
	ASSERT_EQ(1, uptr_batch_run(c->fd, c->sync, &j));
	EXPECT_EQ(-1, uptr_check_pattern(c->dbuf_map + 4 * PAGE, BO_SIZE,
					 0x31));
}

TEST_F(abuse, probe_over_device_buffer_mapping_efault)
{
	struct abuse_ctx *c = &self->c;
	char flags[512];

	/* drm_gem_shmem_mmap() makes the mapping VM_PFNMAP (not VM_IO). */
	if (!uptr_vma_flags(c->bo_map, flags, sizeof(flags))) {
		ksft_print_msg("device buffer mapping VmFlags:%s\n", flags);
		EXPECT_TRUE(uptr_vm_flag(flags, "pf"));
	} else {
		ksft_print_msg("no /proc/self/smaps: VmFlags not shown\n");
	}
	EXPECT_EQ(-EFAULT, create_once(c->fd, c->bo_map, BO_SIZE,
				       DRM_UPTR_CREATE_PROBE, NULL));
	EXPECT_EQ(-EFAULT, create_once(c->fd, c->bo_map, PAGE,
				       DRM_UPTR_CREATE_PROBE |
				       DRM_UPTR_CREATE_READ_ONLY, NULL));
	EXPECT_EQ(-EFAULT, create_once(c->fd, c->bo_map + PAGE, 2 * PAGE,
				       DRM_UPTR_CREATE_POPULATE, NULL));
	EXPECT_EQ(-EFAULT, create_once(c->fd, c->bo_map, BO_SIZE,
				       DRM_UPTR_CREATE_POPULATE |
				       DRM_UPTR_CREATE_READ_ONLY, NULL));
	EXPECT_EQ(-1, uptr_check_bytes(c->dbuf_map, 8 * PAGE, 0xee));
	abuse_intact(_metadata, c, 0);
}

TEST_F(abuse, lazy_object_over_device_buffer_mapping_efault_in_jobs)
{
	struct abuse_ctx *c = &self->c;
	struct uptr_batch j = {};
	__u32 h, ro;

	/* Without PROBE nothing is looked at: the object is created. */
	ASSERT_EQ(0, create_once(c->fd, c->bo_map, BO_SIZE, 0, &h));
	ASSERT_EQ(0, create_once(c->fd, c->bo_map, BO_SIZE,
				 DRM_UPTR_CREATE_READ_ONLY, &ro));

	uptr_batch_cmd(&j, DRM_UPTR_OP_COPY, h, 0, c->dbuf, 0, BO_SIZE, 0);
	EXPECT_EQ(-EFAULT, uptr_batch_submit(c->fd, &j));
	j = (struct uptr_batch){};
	uptr_batch_cmd(&j, DRM_UPTR_OP_COPY, ro, PAGE, c->dbuf, 0, PAGE, 0);
	EXPECT_EQ(-EFAULT, uptr_batch_submit(c->fd, &j));
	j = (struct uptr_batch){};
	uptr_batch_cmd(&j, DRM_UPTR_OP_FILL, 0, 0, h, 0, BO_SIZE, 0xdeadbeef);
	EXPECT_EQ(-EFAULT, uptr_batch_submit(c->fd, &j));
	j = (struct uptr_batch){};
	uptr_batch_cmd(&j, DRM_UPTR_OP_CHECKSUM, h, 0, c->dbuf, 0, PAGE, 0);
	EXPECT_EQ(-EFAULT, uptr_batch_submit(c->fd, &j));
	/* A good command before the bad one is not run either. */
	j = (struct uptr_batch){};
	uptr_batch_cmd(&j, DRM_UPTR_OP_FILL, 0, 0, c->dbuf, 0, PAGE, 0x12345678);
	uptr_batch_cmd(&j, DRM_UPTR_OP_FILL, 0, 0, h, 2 * PAGE, 4, 0x12345678);
	j.out.handle = c->sync;
	EXPECT_EQ(-EFAULT, uptr_batch_submit(c->fd, &j));
	usleep(50 * 1000);
	EXPECT_EQ(-1, uptr_check_bytes(c->dbuf_map, 8 * PAGE, 0xee));

	uptr_gem_close(c->fd, h);
	uptr_gem_close(c->fd, ro);
	abuse_intact(_metadata, c, 0);
}

TEST_F(abuse, object_straddling_anon_and_device_buffer_mappings)
{
	struct abuse_ctx *c = &self->c;
	struct uptr_batch j = {};
	unsigned char *map;
	void *p;
	__u32 h;

	/* Pages 0-3 anonymous, pages 4-7 the device buffer. */
	map = uptr_map_anon(8 * PAGE);
	ASSERT_NE(NULL, map);
	uptr_fill_pattern(map, 4 * PAGE, 0x32);
	p = mmap(map + 4 * PAGE, BO_SIZE, PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_FIXED, c->fd, c->bo_offset);
	ASSERT_EQ(map + 4 * PAGE, p);
	ASSERT_EQ(-1, uptr_check_pattern(p, BO_SIZE, 0x31));

	EXPECT_EQ(-EFAULT, create_once(c->fd, map, 8 * PAGE,
				       DRM_UPTR_CREATE_PROBE, NULL));
	EXPECT_EQ(-EFAULT, create_once(c->fd, map + 3 * PAGE, 2 * PAGE,
				       DRM_UPTR_CREATE_PROBE, NULL));
	EXPECT_EQ(0, create_once(c->fd, map, 4 * PAGE, DRM_UPTR_CREATE_PROBE,
				 NULL));
	ASSERT_EQ(0, create_once(c->fd, map, 8 * PAGE, 0, &h));

	/* Only the pages a job touches are faulted: the anon half works. */
	uptr_batch_cmd(&j, DRM_UPTR_OP_COPY, h, 0, c->dbuf, 0, 4 * PAGE, 0);
	ASSERT_EQ(1, uptr_batch_run(c->fd, c->sync, &j));
	EXPECT_EQ(-1, uptr_check_pattern(c->dbuf_map, 4 * PAGE, 0x32));
	memset(c->dbuf_map, 0xee, 4 * PAGE);

	/* Across the boundary, or in the pfnmap half: -EFAULT. */
	j = (struct uptr_batch){};
	uptr_batch_cmd(&j, DRM_UPTR_OP_COPY, h, 3 * PAGE, c->dbuf, 0, 2 * PAGE,
		       0);
	EXPECT_EQ(-EFAULT, uptr_batch_submit(c->fd, &j));
	j = (struct uptr_batch){};
	uptr_batch_cmd(&j, DRM_UPTR_OP_FILL, 0, 0, h, 4 * PAGE, BO_SIZE,
		       0xdeadbeef);
	EXPECT_EQ(-EFAULT, uptr_batch_submit(c->fd, &j));
	j = (struct uptr_batch){};
	uptr_batch_cmd(&j, DRM_UPTR_OP_COPY, c->dbuf, 0, h, 4 * PAGE, PAGE, 0);
	EXPECT_EQ(-EFAULT, uptr_batch_submit(c->fd, &j));
	EXPECT_EQ(-1, uptr_check_pattern(map, 4 * PAGE, 0x32));
	EXPECT_EQ(-1, uptr_check_bytes(c->dbuf_map, 8 * PAGE, 0xee));

	uptr_gem_close(c->fd, h);
	munmap(map, 8 * PAGE);
	abuse_intact(_metadata, c, 1);
}

TEST_F(abuse, vm_io_vvar_mapping_efault)
{
	struct abuse_ctx *c = &self->c;
	unsigned long start, end;
	struct uptr_batch j = {};
	void *vvar;
	size_t len;
	__u32 h, ro;

	if (uptr_find_vvar(&start, &end))
		SKIP(return, "no [vvar] mapping in this process");
	vvar = (void *)start;
	len = end - start;
	ksft_print_msg("[vvar] at 0x%lx, %zu pages\n", start,
		       (size_t)(len / PAGE));

	EXPECT_EQ(-EFAULT, create_once(c->fd, vvar, len,
				       DRM_UPTR_CREATE_PROBE |
				       DRM_UPTR_CREATE_READ_ONLY, NULL));
	EXPECT_EQ(-EFAULT, create_once(c->fd, vvar, PAGE,
				       DRM_UPTR_CREATE_POPULATE |
				       DRM_UPTR_CREATE_READ_ONLY, NULL));
	EXPECT_EQ(-EFAULT, create_once(c->fd, vvar, PAGE,
				       DRM_UPTR_CREATE_POPULATE, NULL));

	ASSERT_EQ(0, create_once(c->fd, vvar, len, DRM_UPTR_CREATE_READ_ONLY,
				 &ro));
	ASSERT_EQ(0, create_once(c->fd, vvar, len, 0, &h));
	uptr_batch_cmd(&j, DRM_UPTR_OP_COPY, ro, 0, c->dbuf, 0, PAGE, 0);
	EXPECT_EQ(-EFAULT, uptr_batch_submit(c->fd, &j));
	j = (struct uptr_batch){};
	uptr_batch_cmd(&j, DRM_UPTR_OP_CHECKSUM, ro, 0, c->dbuf, 0, len, 0);
	EXPECT_EQ(-EFAULT, uptr_batch_submit(c->fd, &j));
	j = (struct uptr_batch){};
	uptr_batch_cmd(&j, DRM_UPTR_OP_FILL, 0, 0, h, 0, len, 0xdeadbeef);
	EXPECT_EQ(-EFAULT, uptr_batch_submit(c->fd, &j));
	EXPECT_EQ(-1, uptr_check_bytes(c->dbuf_map, 8 * PAGE, 0xee));

	uptr_gem_close(c->fd, h);
	uptr_gem_close(c->fd, ro);
	abuse_intact(_metadata, c, 0);
}

/* ------------------------------------------------------------------ */
/* Writable objects over mappings without write (or any) access        */
/* ------------------------------------------------------------------ */

#define RO_PAGES	8
#define RO_SIZE		(RO_PAGES * PAGE)

enum ro_kind { RO_ANON, RO_PRIVATE_FILE, RO_SHARED_FILE, RO_PROT_NONE };

FIXTURE(ro) {
	struct abuse_ctx c;
	unsigned char *map;
	char path[64];
	int file;
};

FIXTURE_VARIANT(ro) {
	enum ro_kind kind;
	/* SUBMIT of any job on a writable object, CREATE with POPULATE */
	int use_err;
	/* COPY from a DRM_UPTR_CREATE_READ_ONLY object: 1 is success */
	int ro_copy;
};

/* Anonymous memory written, then mprotect(PROT_READ). */
FIXTURE_VARIANT_ADD(ro, anon_mprotect_read) {
	.kind = RO_ANON,
	.use_err = -EPERM,
	.ro_copy = 1,
};

/* A file mapped MAP_PRIVATE, PROT_READ. */
FIXTURE_VARIANT_ADD(ro, private_file_prot_read) {
	.kind = RO_PRIVATE_FILE,
	.use_err = -EPERM,
	.ro_copy = 1,
};

/* A file opened O_RDONLY and mapped MAP_SHARED, PROT_READ. */
FIXTURE_VARIANT_ADD(ro, shared_file_opened_read_only) {
	.kind = RO_SHARED_FILE,
	.use_err = -EPERM,
	.ro_copy = 1,
};

/* PROT_NONE: not even readable, so every use is -EFAULT. */
FIXTURE_VARIANT_ADD(ro, anon_prot_none) {
	.kind = RO_PROT_NONE,
	.use_err = -EFAULT,
	.ro_copy = -EFAULT,
};

FIXTURE_SETUP(ro)
{
	struct abuse_ctx *c = &self->c;
	unsigned char buf[RO_SIZE];
	int fd, prot, flags;

	self->file = -1;
	c->fd = uptr_open_render();
	if (c->fd < 0)
		SKIP(return, "no uptr render node");
	if (uptr_debugfs_dir(c->dir, sizeof(c->dir)))
		SKIP(return, "no uptr debugfs directory: counters are needed");
	ASSERT_EQ(0, uptr_bo_create(c->fd, RO_SIZE, &c->dbuf,
				    (void **)&c->dbuf_map));
	memset(c->dbuf_map, 0xee, RO_SIZE);
	ASSERT_EQ(0, uptr_syncobj_create(c->fd, &c->sync));

	switch (variant->kind) {
	case RO_ANON:
	case RO_PROT_NONE:
		self->map = uptr_map_anon(RO_SIZE);
		ASSERT_NE(NULL, self->map);
		uptr_fill_pattern(self->map, RO_SIZE, 0x41);
		prot = variant->kind == RO_ANON ? PROT_READ : PROT_NONE;
		ASSERT_EQ(0, mprotect(self->map, RO_SIZE, prot));
		break;
	case RO_PRIVATE_FILE:
	case RO_SHARED_FILE:
		snprintf(self->path, sizeof(self->path),
			 "/tmp/uptr_abuse_XXXXXX");
		fd = mkstemp(self->path);
		ASSERT_GE(fd, 0);
		uptr_fill_pattern(buf, RO_SIZE, 0x41);
		ASSERT_EQ((ssize_t)RO_SIZE, write(fd, buf, RO_SIZE));
		close(fd);
		self->file = open(self->path, O_RDONLY);
		ASSERT_GE(self->file, 0);
		flags = variant->kind == RO_SHARED_FILE ? MAP_SHARED :
							  MAP_PRIVATE;
		self->map = mmap(NULL, RO_SIZE, PROT_READ, flags, self->file, 0);
		ASSERT_NE(MAP_FAILED, self->map);
		break;
	}
	/* One page present in the page table, the others not yet. */
	if (variant->kind != RO_PROT_NONE)
		ASSERT_EQ(uptr_pattern_byte(0, 0x41), self->map[0]);
	c->objs0 = uptr_debugfs_objects(c->dir, 0, NULL);
	c->submitted0 = UPTR_COUNTER("uptr_engine", "jobs_submitted");
}

FIXTURE_TEARDOWN(ro)
{
	if (self->c.fd < 0)
		return;
	close(self->c.fd);
	if (self->map && self->map != MAP_FAILED)
		munmap(self->map, RO_SIZE);
	if (self->file >= 0) {
		close(self->file);
		unlink(self->path);
	}
}

TEST_F(ro, writable_object_cannot_write_read_only_memory)
{
	struct abuse_ctx *c = &self->c;
	unsigned char buf[RO_SIZE];
	struct uptr_batch j = {};
	int ok_jobs = 0;
	__u32 h, ro;

	/* Created lazily: nothing is checked until the device uses it. */
	ASSERT_EQ(0, create_once(c->fd, self->map, RO_SIZE, 0, &h));
	uptr_batch_cmd(&j, DRM_UPTR_OP_FILL, 0, 0, h, 0, RO_SIZE, 0xdeadbeef);
	EXPECT_EQ(variant->use_err, uptr_batch_submit(c->fd, &j));
	j = (struct uptr_batch){};
	uptr_batch_cmd(&j, DRM_UPTR_OP_FILL, 0, 0, h, PAGE, 4, 0xdeadbeef);
	EXPECT_EQ(variant->use_err, uptr_batch_submit(c->fd, &j));
	/* Any use of a writable object needs write access, reads too. */
	j = (struct uptr_batch){};
	uptr_batch_cmd(&j, DRM_UPTR_OP_COPY, h, 0, c->dbuf, 0, RO_SIZE, 0);
	EXPECT_EQ(variant->use_err, uptr_batch_submit(c->fd, &j));
	j = (struct uptr_batch){};
	uptr_batch_cmd(&j, DRM_UPTR_OP_COPY, c->dbuf, 0, h, 0, PAGE, 0);
	EXPECT_EQ(variant->use_err, uptr_batch_submit(c->fd, &j));
	/* POPULATE fails the way the later use would. */
	EXPECT_EQ(variant->use_err, create_once(c->fd, self->map, RO_SIZE,
						DRM_UPTR_CREATE_POPULATE,
						NULL));

	/* The device may read it through a read-only object. */
	ASSERT_EQ(0, create_once(c->fd, self->map, RO_SIZE,
				 DRM_UPTR_CREATE_READ_ONLY, &ro));
	j = (struct uptr_batch){};
	uptr_batch_cmd(&j, DRM_UPTR_OP_COPY, ro, 0, c->dbuf, 0, RO_SIZE, 0);
	if (variant->ro_copy == 1) {
		ASSERT_EQ(1, uptr_batch_run(c->fd, c->sync, &j));
		EXPECT_EQ(-1, uptr_check_pattern(c->dbuf_map, RO_SIZE, 0x41));
		ok_jobs++;
	} else {
		EXPECT_EQ(variant->ro_copy, uptr_batch_submit(c->fd, &j));
		EXPECT_EQ(-1, uptr_check_bytes(c->dbuf_map, RO_SIZE, 0xee));
	}
	EXPECT_EQ(c->submitted0 + ok_jobs, UPTR_COUNTER("uptr_engine", "jobs_submitted"));

	/* Not a byte of the memory (or of the file) changed. */
	usleep(50 * 1000);
	if (variant->kind == RO_PROT_NONE)
		ASSERT_EQ(0, mprotect(self->map, RO_SIZE, PROT_READ));
	EXPECT_EQ(-1, uptr_check_pattern(self->map, RO_SIZE, 0x41));
	if (self->file >= 0) {
		ASSERT_EQ((ssize_t)RO_SIZE, pread(self->file, buf, RO_SIZE, 0));
		EXPECT_EQ(-1, uptr_check_pattern(buf, RO_SIZE, 0x41));
	}

	/* Made writable again, the same object works: nothing sticky. */
	if (variant->kind == RO_ANON || variant->kind == RO_PROT_NONE) {
		ASSERT_EQ(0, mprotect(self->map, RO_SIZE,
				      PROT_READ | PROT_WRITE));
		j = (struct uptr_batch){};
		uptr_batch_cmd(&j, DRM_UPTR_OP_FILL, 0, 0, h, 0, RO_SIZE,
			       0x0b0b0b0b);
		ASSERT_EQ(1, uptr_batch_run(c->fd, c->sync, &j));
		EXPECT_EQ(-1, uptr_check_words(self->map, RO_SIZE, 0x0b0b0b0b));
	}
	uptr_gem_close(c->fd, h);
	uptr_gem_close(c->fd, ro);
	EXPECT_EQ(c->objs0, uptr_objects_settle(c->dir, c->objs0, 5000));
}

TEST_HARNESS_MAIN
