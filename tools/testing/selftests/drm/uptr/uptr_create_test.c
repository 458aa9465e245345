// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The uptr authors
 *
 * DRM_IOCTL_UPTR_CREATE through the real render node: the errno of every
 * bad argument, GEM handles, the PROBE and POPULATE flags on the kinds of
 * mapping a user can have, that the user's data is left alone, the refusal
 * to export, and the debugfs counters that a create and an munmap move.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../../kselftest_harness.h"
#include "uptr_util.h"

/* Pages in the buffer most tests wrap. */
#define NPAGES		16
#define NPAGES_UL	16ul
/* One mirror chunk: the PMD-aligned 2 MiB block of uptr_mirror.c. */
#define CHUNK_SIZE	(2UL << 20)

#define PROT_RW		(PROT_READ | PROT_WRITE)

static void *map_anon(size_t len, int prot)
{
	void *p = mmap(NULL, len, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

/*
 * @len bytes of anonymous memory that lie in one 2 MiB block, so that a
 * POPULATE faults them in one span and its counters are exact. Maps twice
 * @len and keeps a window that crosses no block boundary.
 */
static char *map_anon_in_chunk(size_t len, int prot)
{
	char *p = map_anon(2 * len, prot);
	uintptr_t next;

	if (!p)
		return NULL;
	next = ((uintptr_t)p + CHUNK_SIZE) & ~(CHUNK_SIZE - 1);
	if (next - (uintptr_t)p >= len)
		return p;
	return (char *)next;
}

/*
 * A PROT_READ, MAP_SHARED mapping of a new tmpfs file that holds pattern
 * @seed, made from an O_RDONLY descriptor (so the mapping can never become
 * writable). Returns NULL on failure.
 */
static void *map_ro_file(size_t len, unsigned int seed)
{
	char path[] = "/tmp/uptr_create_test.XXXXXX";
	void *p = NULL;
	char *data;
	ssize_t n;
	int fd;

	data = malloc(len);
	if (!data)
		return NULL;
	uptr_fill_pattern(data, len, seed);

	fd = mkstemp(path);
	if (fd < 0)
		goto out_free;
	n = write(fd, data, len);
	close(fd);
	if (n != (ssize_t)len)
		goto out_unlink;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		goto out_unlink;
	p = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		p = NULL;
out_unlink:
	unlink(path);
out_free:
	free(data);
	return p;
}

/* ---------------------------------------------------------------------- */
/* Argument validation: every documented errno, one bad field at a time. */

enum bad_ptr {
	PTR_BUF,	/* the buffer's address plus @ptr bytes */
	PTR_ABS,	/* @ptr itself */
	PTR_TOP,	/* @ptr pages below 2^64 */
};

enum bad_size {
	SIZE_BUF,	/* the buffer's size */
	SIZE_BYTES,	/* @size_pages pages plus @size_bytes bytes */
	SIZE_OVER_MAX,	/* the maximum object size plus @size_pages pages */
};

FIXTURE(create_arg) {
	int fd;
	size_t page;
	__u64 max_size;
	char *buf;
	size_t len;
};

FIXTURE_VARIANT(create_arg) {
	__u64 extensions;
	__u64 pad;
	__u32 flags;
	enum bad_ptr ptr_kind;
	__u64 ptr;
	enum bad_size size_kind;
	__u64 size_pages;
	__u64 size_bytes;
	int err;
};

FIXTURE_VARIANT_ADD(create_arg, unknown_flag_bit3_einval) {
	.flags = 1u << 3,
	.err = EINVAL,
};

FIXTURE_VARIANT_ADD(create_arg, unknown_flag_bit31_einval) {
	.flags = 1u << 31,
	.err = EINVAL,
};

FIXTURE_VARIANT_ADD(create_arg, every_unknown_flag_einval) {
	.flags = ~(__u32)DRM_UPTR_CREATE_FLAGS,
	.err = EINVAL,
};

FIXTURE_VARIANT_ADD(create_arg, unknown_flag_with_all_known_flags_einval) {
	.flags = DRM_UPTR_CREATE_FLAGS | 1u << 3,
	.err = EINVAL,
};

FIXTURE_VARIANT_ADD(create_arg, extensions_1_einval) {
	.extensions = 1,
	.err = EINVAL,
};

FIXTURE_VARIANT_ADD(create_arg, extensions_bit63_einval) {
	.extensions = 1ull << 63,
	.err = EINVAL,
};

FIXTURE_VARIANT_ADD(create_arg, pad_1_einval) {
	.pad = 1,
	.err = EINVAL,
};

FIXTURE_VARIANT_ADD(create_arg, pad_bit63_einval) {
	.pad = 1ull << 63,
	.err = EINVAL,
};

FIXTURE_VARIANT_ADD(create_arg, size_0_einval) {
	.size_kind = SIZE_BYTES,
	.err = EINVAL,
};

FIXTURE_VARIANT_ADD(create_arg, size_0_with_populate_einval) {
	.flags = DRM_UPTR_CREATE_PROBE | DRM_UPTR_CREATE_POPULATE,
	.size_kind = SIZE_BYTES,
	.err = EINVAL,
};

FIXTURE_VARIANT_ADD(create_arg, ptr_unaligned_by_1_byte_einval) {
	.ptr = 1,
	.err = EINVAL,
};

FIXTURE_VARIANT_ADD(create_arg, ptr_unaligned_by_2048_bytes_einval) {
	.ptr = 2048,
	.err = EINVAL,
};

FIXTURE_VARIANT_ADD(create_arg, size_unaligned_by_1_byte_einval) {
	.size_kind = SIZE_BYTES,
	.size_pages = NPAGES - 1,
	.size_bytes = 1,
	.err = EINVAL,
};

FIXTURE_VARIANT_ADD(create_arg, size_2048_bytes_einval) {
	.size_kind = SIZE_BYTES,
	.size_bytes = 2048,
	.err = EINVAL,
};

FIXTURE_VARIANT_ADD(create_arg, ptr_plus_size_wraps_past_2_pow_64_einval) {
	.ptr_kind = PTR_TOP,
	.ptr = 1,
	.size_kind = SIZE_BYTES,
	.size_pages = 2,
	.err = EINVAL,
};

FIXTURE_VARIANT_ADD(create_arg, ptr_plus_size_equals_2_pow_64_einval) {
	.ptr_kind = PTR_TOP,
	.ptr = 1,
	.size_kind = SIZE_BYTES,
	.size_pages = 1,
	.err = EINVAL,
};

FIXTURE_VARIANT_ADD(create_arg, size_max_plus_1_page_e2big) {
	.size_kind = SIZE_OVER_MAX,
	.size_pages = 1,
	.err = E2BIG,
};

FIXTURE_VARIANT_ADD(create_arg, size_2_pow_62_e2big) {
	.size_kind = SIZE_BYTES,
	.size_bytes = 1ull << 62,
	.err = E2BIG,
};

FIXTURE_VARIANT_ADD(create_arg, kernel_direct_map_address_efault) {
	.ptr_kind = PTR_ABS,
	.ptr = 0xffff888000000000ull,
	.err = EFAULT,
};

FIXTURE_VARIANT_ADD(create_arg, kernel_text_address_efault) {
	.ptr_kind = PTR_ABS,
	.ptr = 0xffffffff81000000ull,
	.err = EFAULT,
};

FIXTURE_VARIANT_ADD(create_arg, kernel_address_with_probe_populate_efault) {
	.flags = DRM_UPTR_CREATE_PROBE | DRM_UPTR_CREATE_POPULATE,
	.ptr_kind = PTR_ABS,
	.ptr = 0xffff888000000000ull,
	.err = EFAULT,
};

FIXTURE_VARIANT_ADD(create_arg, noncanonical_address_bit63_efault) {
	.ptr_kind = PTR_ABS,
	.ptr = 0x8000000000000000ull,
	.err = EFAULT,
};

FIXTURE_VARIANT_ADD(create_arg, noncanonical_address_bit56_efault) {
	.ptr_kind = PTR_ABS,
	.ptr = 0x0100000000000000ull,
	.err = EFAULT,
};

FIXTURE_SETUP(create_arg)
{
	__u64 v;

	self->buf = NULL;
	self->fd = uptr_open_render();
	if (self->fd < 0)
		SKIP(return, "no uptr render node (driver not loaded?)");
	ASSERT_EQ(0, uptr_get_param(self->fd, DRM_UPTR_PARAM_PAGE_SIZE, &v));
	self->page = v;
	ASSERT_EQ(0, uptr_get_param(self->fd, DRM_UPTR_PARAM_MAX_OBJECT_SIZE,
				    &self->max_size));
	self->len = NPAGES * self->page;
	self->buf = map_anon(self->len, PROT_RW);
	ASSERT_NE(NULL, self->buf);
	memset(self->buf, 0x5a, self->len);
}

FIXTURE_TEARDOWN(create_arg)
{
	if (self->buf)
		munmap(self->buf, self->len);
	if (self->fd >= 0)
		close(self->fd);
}

/*
 * The same call with the variant's bad field set right is accepted first,
 * so the errno can only come from that one field.
 */
TEST_F(create_arg, rejected_with_errno_and_no_handle)
{
	struct drm_uptr_create c = {
		.user_ptr = (uintptr_t)self->buf,
		.user_size = self->len,
		.flags = variant->flags & DRM_UPTR_CREATE_FLAGS,
	};
	int ret;

	ASSERT_EQ(0, uptr_ioctl(self->fd, DRM_IOCTL_UPTR_CREATE, &c));
	ASSERT_NE(0u, c.handle);
	ASSERT_EQ(0, uptr_gem_close(self->fd, c.handle));

	c.handle = 0;
	c.extensions = variant->extensions;
	c.pad = variant->pad;
	c.flags = variant->flags;
	switch (variant->ptr_kind) {
	case PTR_BUF:
		c.user_ptr = (uintptr_t)self->buf + variant->ptr;
		break;
	case PTR_ABS:
		c.user_ptr = variant->ptr;
		break;
	case PTR_TOP:
		c.user_ptr = 0 - variant->ptr * self->page;
		break;
	}
	switch (variant->size_kind) {
	case SIZE_BUF:
		c.user_size = self->len;
		break;
	case SIZE_BYTES:
		c.user_size = variant->size_pages * self->page +
			      variant->size_bytes;
		break;
	case SIZE_OVER_MAX:
		c.user_size = self->max_size + variant->size_pages * self->page;
		break;
	}

	ret = uptr_ioctl(self->fd, DRM_IOCTL_UPTR_CREATE, &c);
	if (!ret)
		uptr_gem_close(self->fd, c.handle);
	EXPECT_EQ(-variant->err, ret) {
		TH_LOG("ptr 0x%llx size 0x%llx flags 0x%x: %s",
		       (unsigned long long)c.user_ptr,
		       (unsigned long long)c.user_size, c.flags,
		       strerror(-ret));
	}
	EXPECT_EQ(0u, c.handle);
	/* The buffer is untouched. */
	EXPECT_EQ(0x5a, self->buf[0]);
	EXPECT_EQ(0x5a, self->buf[self->len - 1]);
}

/* ---------------------------------------------------------------------- */
/* Everything else that only needs the render node. */

FIXTURE(create) {
	int fd;
	size_t page;
	__u64 max_size;
	size_t len;
};

FIXTURE_SETUP(create)
{
	__u64 v;

	self->fd = uptr_open_render();
	if (self->fd < 0)
		SKIP(return, "no uptr render node (driver not loaded?)");
	ASSERT_EQ(0, uptr_get_param(self->fd, DRM_UPTR_PARAM_PAGE_SIZE, &v));
	self->page = v;
	ASSERT_EQ(0, uptr_get_param(self->fd, DRM_UPTR_PARAM_MAX_OBJECT_SIZE,
				    &self->max_size));
	self->len = NPAGES * self->page;
}

FIXTURE_TEARDOWN(create)
{
	if (self->fd >= 0)
		close(self->fd);
}

TEST_F(create, features_include_userptr)
{
	__u64 features;

	ASSERT_EQ(0, uptr_get_param(self->fd, DRM_UPTR_PARAM_FEATURES,
				    &features));
	EXPECT_NE(0ull, features & DRM_UPTR_FEATURE_USERPTR);
}

TEST_F(create, lazy_create_on_anon_mapping_returns_nonzero_handle)
{
	char *buf = map_anon(self->len, PROT_RW);
	__u32 handle = 0;

	ASSERT_NE(NULL, buf);
	ASSERT_EQ(0, uptr_create(self->fd, buf, self->len, 0, &handle));
	EXPECT_NE(0u, handle);
	EXPECT_EQ(0, uptr_gem_close(self->fd, handle));
}

TEST_F(create, gem_close_succeeds_once_then_einval)
{
	char *buf = map_anon(self->len, PROT_RW);
	__u32 handle;

	ASSERT_NE(NULL, buf);
	ASSERT_EQ(0, uptr_create(self->fd, buf, self->len, 0, &handle));
	EXPECT_EQ(0, uptr_gem_close(self->fd, handle));
	EXPECT_EQ(-EINVAL, uptr_gem_close(self->fd, handle));
}

TEST_F(create, same_range_twice_gives_two_distinct_live_handles)
{
	char *buf = map_anon(self->len, PROT_RW);
	__u32 h1, h2;

	ASSERT_NE(NULL, buf);
	ASSERT_EQ(0, uptr_create(self->fd, buf, self->len, 0, &h1));
	ASSERT_EQ(0, uptr_create(self->fd, buf, self->len,
				 DRM_UPTR_CREATE_POPULATE, &h2));
	EXPECT_NE(0u, h1);
	EXPECT_NE(0u, h2);
	EXPECT_NE(h1, h2);
	/* Closing one leaves the other alive. */
	EXPECT_EQ(0, uptr_gem_close(self->fd, h1));
	EXPECT_EQ(0, uptr_gem_close(self->fd, h2));
}

TEST_F(create, overlapping_ranges_give_distinct_live_handles)
{
	char *buf = map_anon(self->len, PROT_RW);
	size_t half = self->len / 2;
	__u32 h1, h2, h3;

	ASSERT_NE(NULL, buf);
	ASSERT_EQ(0, uptr_create(self->fd, buf, self->len, 0, &h1));
	ASSERT_EQ(0, uptr_create(self->fd, buf + half / 2, half,
				 DRM_UPTR_CREATE_POPULATE, &h2));
	ASSERT_EQ(0, uptr_create(self->fd, buf + half, half, 0, &h3));
	EXPECT_NE(h1, h2);
	EXPECT_NE(h1, h3);
	EXPECT_NE(h2, h3);
	EXPECT_EQ(0, uptr_gem_close(self->fd, h2));
	EXPECT_EQ(0, uptr_gem_close(self->fd, h1));
	EXPECT_EQ(0, uptr_gem_close(self->fd, h3));
}

/* Without PROBE or POPULATE nothing looks at the mappings. */
TEST_F(create, lazy_create_of_unmapped_range_succeeds)
{
	char *buf = map_anon(self->len, PROT_RW);
	__u32 handle;

	ASSERT_NE(NULL, buf);
	ASSERT_EQ(0, munmap(buf, self->len));
	ASSERT_EQ(0, uptr_create(self->fd, buf, self->len, 0, &handle));
	EXPECT_EQ(0, uptr_gem_close(self->fd, handle));
}

/*
 * E2BIG is for sizes above the maximum only. A 32-bit process cannot map
 * the maximum; the range of an object need not be mapped (the mm may
 * have 64-bit mappings there), so the same sizes are checked over
 * unmapped addresses.
 */
TEST_F(create, size_equal_to_max_object_size_is_accepted)
{
	char *buf;
	__u32 handle;

	if (self->max_size > SIZE_MAX / 2) {
		buf = (char *)(uintptr_t)self->page;
		ASSERT_EQ(0, uptr_create(self->fd, buf, self->max_size, 0,
					 &handle));
		EXPECT_EQ(0, uptr_gem_close(self->fd, handle));
		EXPECT_EQ(-E2BIG, uptr_create(self->fd, buf,
					      self->max_size + self->page, 0,
					      &handle));
		return;
	}
	buf = mmap(NULL, self->max_size, PROT_NONE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	ASSERT_NE(MAP_FAILED, buf);
	ASSERT_EQ(0, uptr_create(self->fd, buf, self->max_size, 0, &handle));
	EXPECT_EQ(0, uptr_gem_close(self->fd, handle));
	EXPECT_EQ(-E2BIG, uptr_create(self->fd, buf,
				      self->max_size + self->page, 0, &handle));
	munmap(buf, self->max_size);
}

TEST_F(create, probe_succeeds_on_fully_mapped_range)
{
	char *buf = map_anon(self->len, PROT_RW);
	__u32 handle;

	ASSERT_NE(NULL, buf);
	ASSERT_EQ(0, uptr_create(self->fd, buf, self->len,
				 DRM_UPTR_CREATE_PROBE, &handle));
	EXPECT_EQ(0, uptr_gem_close(self->fd, handle));
}

/* Three VMAs (RW, R, RW) that cover the range without a gap. */
TEST_F(create, probe_succeeds_across_adjacent_mappings)
{
	char *buf = map_anon(self->len, PROT_RW);
	__u32 handle;

	ASSERT_NE(NULL, buf);
	ASSERT_EQ(0, mprotect(buf + 4 * self->page, 4 * self->page,
			      PROT_READ));
	ASSERT_EQ(0, uptr_create(self->fd, buf, self->len,
				 DRM_UPTR_CREATE_PROBE, &handle));
	EXPECT_EQ(0, uptr_gem_close(self->fd, handle));
}

TEST_F(create, probe_of_unmapped_range_efault)
{
	char *buf = map_anon(self->len, PROT_RW);
	__u32 handle = 0;

	ASSERT_NE(NULL, buf);
	ASSERT_EQ(0, munmap(buf, self->len));
	EXPECT_EQ(-EFAULT, uptr_create(self->fd, buf, self->len,
				       DRM_UPTR_CREATE_PROBE, &handle));
	EXPECT_EQ(-EFAULT, uptr_create(self->fd, buf, self->len,
				       DRM_UPTR_CREATE_READ_ONLY |
				       DRM_UPTR_CREATE_POPULATE, &handle));
	EXPECT_EQ(0u, handle);
}

TEST_F(create, probe_of_vvar_pfnmap_mapping_efault)
{
	unsigned long start, end;
	__u32 handle = 0;

	if (uptr_find_vvar(&start, &end))
		SKIP(return, "no [vvar] mapping in this process");
	/* Not mapped ordinary memory, but a lazy create does not look. */
	ASSERT_EQ(0, uptr_create(self->fd, (void *)start, end - start, 0,
				 &handle));
	EXPECT_EQ(0, uptr_gem_close(self->fd, handle));
	handle = 0;
	EXPECT_EQ(-EFAULT, uptr_create(self->fd, (void *)start, end - start,
				       DRM_UPTR_CREATE_READ_ONLY |
				       DRM_UPTR_CREATE_PROBE, &handle));
	EXPECT_EQ(0u, handle);
}

TEST_F(create, populate_of_vvar_pfnmap_mapping_efault)
{
	unsigned long start, end;
	__u32 handle = 0;

	if (uptr_find_vvar(&start, &end))
		SKIP(return, "no [vvar] mapping in this process");
	EXPECT_EQ(-EFAULT, uptr_create(self->fd, (void *)start, end - start,
				       DRM_UPTR_CREATE_READ_ONLY |
				       DRM_UPTR_CREATE_POPULATE, &handle));
	EXPECT_EQ(0u, handle);
}

TEST_F(create, populate_succeeds_on_rw_anon_memory)
{
	char *buf = map_anon(self->len, PROT_RW);
	__u32 handle;

	ASSERT_NE(NULL, buf);
	ASSERT_EQ(0, uptr_create(self->fd, buf, self->len,
				 DRM_UPTR_CREATE_PROBE |
				 DRM_UPTR_CREATE_POPULATE, &handle));
	EXPECT_NE(0u, handle);
	EXPECT_EQ(0, uptr_gem_close(self->fd, handle));
}

TEST_F(create, populate_writable_over_prot_read_anon_eperm)
{
	char *buf = map_anon(self->len, PROT_READ);
	__u32 handle = 0;

	ASSERT_NE(NULL, buf);
	EXPECT_EQ(-EPERM, uptr_create(self->fd, buf, self->len,
				      DRM_UPTR_CREATE_POPULATE, &handle));
	EXPECT_EQ(0u, handle);
	/* PROBE only checks the VMAs, not their permissions. */
	ASSERT_EQ(0, uptr_create(self->fd, buf, self->len,
				 DRM_UPTR_CREATE_PROBE, &handle));
	EXPECT_EQ(0, uptr_gem_close(self->fd, handle));
}

TEST_F(create, populate_read_only_over_prot_read_anon_succeeds)
{
	char *buf = map_anon(self->len, PROT_READ);
	__u32 handle;

	ASSERT_NE(NULL, buf);
	ASSERT_EQ(0, uptr_create(self->fd, buf, self->len,
				 DRM_UPTR_CREATE_READ_ONLY |
				 DRM_UPTR_CREATE_POPULATE, &handle));
	EXPECT_EQ(0, uptr_gem_close(self->fd, handle));
	/* Never written: still reads as zeroes. */
	EXPECT_EQ(0, buf[0]);
	EXPECT_EQ(0, buf[self->len - 1]);
}

/* Written, then made read-only: same errnos, and the data stays. */
TEST_F(create, populate_over_mprotected_read_only_data_eperm_then_ok)
{
	char *buf = map_anon(self->len, PROT_RW);
	__u32 handle = 0;

	ASSERT_NE(NULL, buf);
	uptr_fill_pattern(buf, self->len, 3);
	ASSERT_EQ(0, mprotect(buf, self->len, PROT_READ));
	EXPECT_EQ(-EPERM, uptr_create(self->fd, buf, self->len,
				      DRM_UPTR_CREATE_POPULATE, &handle));
	EXPECT_EQ(0u, handle);
	ASSERT_EQ(0, uptr_create(self->fd, buf, self->len,
				 DRM_UPTR_CREATE_READ_ONLY |
				 DRM_UPTR_CREATE_POPULATE, &handle));
	EXPECT_EQ(-1, uptr_check_pattern(buf, self->len, 3));
	EXPECT_EQ(0, uptr_gem_close(self->fd, handle));
}

TEST_F(create, populate_read_only_over_ro_shared_file_succeeds)
{
	char *buf = map_ro_file(self->len, 7);
	__u32 handle;

	ASSERT_NE(NULL, buf);
	ASSERT_EQ(0, uptr_create(self->fd, buf, self->len,
				 DRM_UPTR_CREATE_READ_ONLY |
				 DRM_UPTR_CREATE_PROBE |
				 DRM_UPTR_CREATE_POPULATE, &handle));
	EXPECT_EQ(-1, uptr_check_pattern(buf, self->len, 7));
	EXPECT_EQ(0, uptr_gem_close(self->fd, handle));
	EXPECT_EQ(-1, uptr_check_pattern(buf, self->len, 7));
	munmap(buf, self->len);
}

TEST_F(create, populate_writable_over_ro_shared_file_eperm)
{
	char *buf = map_ro_file(self->len, 9);
	__u32 handle = 0;

	ASSERT_NE(NULL, buf);
	EXPECT_EQ(-EPERM, uptr_create(self->fd, buf, self->len,
				      DRM_UPTR_CREATE_POPULATE, &handle));
	EXPECT_EQ(0u, handle);
	EXPECT_EQ(-1, uptr_check_pattern(buf, self->len, 9));
	munmap(buf, self->len);
}

TEST_F(create, populate_over_prot_none_efault)
{
	char *buf = map_anon(self->len, PROT_NONE);
	__u32 handle = 0;

	ASSERT_NE(NULL, buf);
	EXPECT_EQ(-EFAULT, uptr_create(self->fd, buf, self->len,
				       DRM_UPTR_CREATE_READ_ONLY |
				       DRM_UPTR_CREATE_POPULATE, &handle));
	EXPECT_EQ(-EFAULT, uptr_create(self->fd, buf, self->len,
				       DRM_UPTR_CREATE_POPULATE, &handle));
	EXPECT_EQ(0u, handle);
}

TEST_F(create, writable_populate_leaves_user_data_unchanged)
{
	char *buf = map_anon(self->len, PROT_RW);
	__u32 handle;

	ASSERT_NE(NULL, buf);
	uptr_fill_pattern(buf, self->len, 1);
	ASSERT_EQ(0, uptr_create(self->fd, buf, self->len,
				 DRM_UPTR_CREATE_PROBE |
				 DRM_UPTR_CREATE_POPULATE, &handle));
	EXPECT_EQ(-1, uptr_check_pattern(buf, self->len, 1));
	EXPECT_EQ(0, uptr_gem_close(self->fd, handle));
	EXPECT_EQ(-1, uptr_check_pattern(buf, self->len, 1));
}

TEST_F(create, read_only_populate_leaves_user_data_unchanged)
{
	char *buf = map_anon(self->len, PROT_RW);
	__u32 handle;

	ASSERT_NE(NULL, buf);
	uptr_fill_pattern(buf, self->len, 2);
	ASSERT_EQ(0, uptr_create(self->fd, buf, self->len,
				 DRM_UPTR_CREATE_READ_ONLY |
				 DRM_UPTR_CREATE_POPULATE, &handle));
	EXPECT_EQ(-1, uptr_check_pattern(buf, self->len, 2));
	EXPECT_EQ(0, uptr_gem_close(self->fd, handle));
	EXPECT_EQ(-1, uptr_check_pattern(buf, self->len, 2));
}

TEST_F(create, prime_export_eperm_and_handle_stays_valid)
{
	char *buf = map_anon(self->len, PROT_RW);
	struct drm_prime_handle p = {
		.flags = DRM_CLOEXEC | DRM_RDWR,
		.fd = -1,
	};
	__u32 handle;

	ASSERT_NE(NULL, buf);
	ASSERT_EQ(0, uptr_create(self->fd, buf, self->len,
				 DRM_UPTR_CREATE_POPULATE, &handle));
	p.handle = handle;
	EXPECT_EQ(-EPERM, uptr_ioctl(self->fd, DRM_IOCTL_PRIME_HANDLE_TO_FD,
				     &p));
	EXPECT_EQ(-1, p.fd);
	p.flags = 0;
	EXPECT_EQ(-EPERM, uptr_ioctl(self->fd, DRM_IOCTL_PRIME_HANDLE_TO_FD,
				     &p));
	EXPECT_EQ(0, uptr_gem_close(self->fd, handle));
}

TEST_F(create, lazy_object_outlives_munmap_and_closes)
{
	char *buf = map_anon(self->len, PROT_RW);
	__u32 handle;

	ASSERT_NE(NULL, buf);
	ASSERT_EQ(0, uptr_create(self->fd, buf, self->len, 0, &handle));
	ASSERT_EQ(0, munmap(buf, self->len));
	EXPECT_EQ(0, uptr_gem_close(self->fd, handle));
}

TEST_F(create, populated_object_outlives_munmap_and_closes)
{
	char *buf = map_anon(self->len, PROT_RW);
	__u32 handle;

	ASSERT_NE(NULL, buf);
	ASSERT_EQ(0, uptr_create(self->fd, buf, self->len,
				 DRM_UPTR_CREATE_POPULATE, &handle));
	ASSERT_EQ(0, munmap(buf, self->len));
	EXPECT_EQ(0, uptr_gem_close(self->fd, handle));
}

TEST_F(create, ioctl_arg_pointer_in_null_page_efault)
{
	EXPECT_EQ(-EFAULT, uptr_ioctl(self->fd, DRM_IOCTL_UPTR_CREATE,
				      (void *)16));
}

TEST_F(create, ioctl_arg_kernel_pointer_efault)
{
	EXPECT_EQ(-EFAULT, uptr_ioctl(self->fd, DRM_IOCTL_UPTR_CREATE,
				      (void *)0xffffffff81000000ull));
}

/* The argument's second half lies in an unmapped page. */
TEST_F(create, ioctl_arg_straddling_unmapped_page_efault)
{
	char *buf = map_anon(self->len, PROT_RW);
	char *arg = map_anon(2 * self->page, PROT_RW);
	struct drm_uptr_create c = {
		.user_ptr = (uintptr_t)buf,
		.user_size = self->len,
	};
	void *at;

	ASSERT_NE(NULL, buf);
	ASSERT_NE(NULL, arg);
	ASSERT_EQ(0, munmap(arg + self->page, self->page));
	at = arg + self->page - sizeof(c) / 2;
	memcpy(at, &c, sizeof(c) / 2);
	EXPECT_EQ(-EFAULT, uptr_ioctl(self->fd, DRM_IOCTL_UPTR_CREATE, at));
}

/* ---------------------------------------------------------------------- */
/* A range with one page unmapped: first, middle or last. */

FIXTURE(hole) {
	int fd;
	size_t page;
	char *buf;
	size_t len;
};

FIXTURE_VARIANT(hole) {
	unsigned int page;
};

FIXTURE_VARIANT_ADD(hole, at_first_page) {
	.page = 0,
};

FIXTURE_VARIANT_ADD(hole, in_the_middle) {
	.page = NPAGES / 2,
};

FIXTURE_VARIANT_ADD(hole, at_last_page) {
	.page = NPAGES - 1,
};

FIXTURE_SETUP(hole)
{
	__u64 v;

	self->buf = NULL;
	self->fd = uptr_open_render();
	if (self->fd < 0)
		SKIP(return, "no uptr render node (driver not loaded?)");
	ASSERT_EQ(0, uptr_get_param(self->fd, DRM_UPTR_PARAM_PAGE_SIZE, &v));
	self->page = v;
	self->len = NPAGES * self->page;
	self->buf = map_anon(self->len, PROT_RW);
	ASSERT_NE(NULL, self->buf);
	memset(self->buf, 0x5a, self->len);
	ASSERT_EQ(0, munmap(self->buf + variant->page * self->page,
			    self->page));
}

FIXTURE_TEARDOWN(hole)
{
	if (self->buf)
		munmap(self->buf, self->len);
	if (self->fd >= 0)
		close(self->fd);
}

TEST_F(hole, lazy_create_succeeds)
{
	__u32 handle;

	ASSERT_EQ(0, uptr_create(self->fd, self->buf, self->len, 0, &handle));
	EXPECT_EQ(0, uptr_gem_close(self->fd, handle));
}

TEST_F(hole, probe_efault)
{
	__u32 handle = 0;

	EXPECT_EQ(-EFAULT, uptr_create(self->fd, self->buf, self->len,
				       DRM_UPTR_CREATE_PROBE, &handle));
	EXPECT_EQ(0u, handle);
}

TEST_F(hole, writable_populate_efault)
{
	__u32 handle = 0;

	EXPECT_EQ(-EFAULT, uptr_create(self->fd, self->buf, self->len,
				       DRM_UPTR_CREATE_POPULATE, &handle));
	EXPECT_EQ(0u, handle);
}

TEST_F(hole, read_only_populate_efault)
{
	__u32 handle = 0;

	EXPECT_EQ(-EFAULT, uptr_create(self->fd, self->buf, self->len,
				       DRM_UPTR_CREATE_READ_ONLY |
				       DRM_UPTR_CREATE_POPULATE, &handle));
	EXPECT_EQ(0u, handle);
}

/* ---------------------------------------------------------------------- */
/* The debugfs counters and object list. */

FIXTURE(counters) {
	int fd;
	size_t page;
	size_t len;
	char dir[256];
};

FIXTURE_SETUP(counters)
{
	__u64 v;
	int ret;

	self->fd = uptr_open_render();
	if (self->fd < 0)
		SKIP(return, "no uptr render node (driver not loaded?)");
	ASSERT_EQ(0, uptr_get_param(self->fd, DRM_UPTR_PARAM_PAGE_SIZE, &v));
	self->page = v;
	self->len = NPAGES * self->page;
	ret = uptr_debugfs_dir(self->dir, sizeof(self->dir));
	if (ret == -ENOENT)
		SKIP(return, "debugfs is not mounted at /sys/kernel/debug");
	ASSERT_EQ(0, ret) {
		TH_LOG("no uptr directory with uptr_stats under %s",
		       UPTR_DEBUGFS_DRI);
	}
}

FIXTURE_TEARDOWN(counters)
{
	if (self->fd >= 0)
		close(self->fd);
}

TEST_F(counters, lazy_and_probe_create_fault_no_page)
{
	char *buf = map_anon_in_chunk(self->len, PROT_RW);
	struct uptr_stats s0, s1;
	__u32 h1, h2;

	ASSERT_NE(NULL, buf);
	ASSERT_EQ(0, uptr_debugfs_stats(self->dir, &s0));
	ASSERT_EQ(0, uptr_create(self->fd, buf, self->len, 0, &h1));
	ASSERT_EQ(0, uptr_create(self->fd, buf, self->len,
				 DRM_UPTR_CREATE_PROBE, &h2));
	ASSERT_EQ(0, uptr_debugfs_stats(self->dir, &s1));
	EXPECT_EQ(0, s1.fault_calls - s0.fault_calls);
	EXPECT_EQ(0, s1.pages_faulted - s0.pages_faulted);
	EXPECT_EQ(0, s1.commits - s0.commits);
	EXPECT_EQ(0, uptr_gem_close(self->fd, h1));
	EXPECT_EQ(0, uptr_gem_close(self->fd, h2));
}

/*
 * A commit that raced with an invalidation faults the span again: allow
 * for that, and demand exactly 16 pages when nothing raced.
 */
TEST_F(counters, populate_of_16_pages_faults_16_pages_and_commits)
{
	char *buf = map_anon_in_chunk(self->len, PROT_RW);
	struct uptr_stats s0, s1;
	long long retries;
	__u32 handle;

	ASSERT_NE(NULL, buf);
	ASSERT_EQ(0, uptr_debugfs_stats(self->dir, &s0));
	ASSERT_EQ(0, uptr_create(self->fd, buf, self->len,
				 DRM_UPTR_CREATE_POPULATE, &handle));
	ASSERT_EQ(0, uptr_debugfs_stats(self->dir, &s1));
	retries = s1.retries - s0.retries;
	if (retries)
		TH_LOG("%lld commit retries during populate", retries);
	EXPECT_EQ(NPAGES * (1 + retries), s1.pages_faulted - s0.pages_faulted);
	EXPECT_GE(s1.fault_calls - s0.fault_calls, 1);
	EXPECT_GE(s1.commits - s0.commits, 1);
	EXPECT_EQ(0, uptr_gem_close(self->fd, handle));
}

TEST_F(counters, munmap_of_populated_range_invalidates_its_16_pages)
{
	char *buf = map_anon_in_chunk(self->len, PROT_RW);
	struct uptr_debugfs_object obj;
	struct uptr_stats s0, s1;
	__u32 handle;

	ASSERT_NE(NULL, buf);
	ASSERT_EQ(0, uptr_create(self->fd, buf, self->len,
				 DRM_UPTR_CREATE_POPULATE, &handle));
	ASSERT_LE(1, uptr_debugfs_objects(self->dir, (uintptr_t)buf, &obj));
	EXPECT_EQ(NPAGES_UL, obj.valid);

	ASSERT_EQ(0, uptr_debugfs_stats(self->dir, &s0));
	ASSERT_EQ(0, munmap(buf, self->len));
	ASSERT_EQ(0, uptr_debugfs_stats(self->dir, &s1));
	EXPECT_GE(s1.event_unmap - s0.event_unmap, 1);
	EXPECT_GE(s1.invalidations - s0.invalidations, 1);
	EXPECT_EQ(NPAGES, s1.pages_invalidated - s0.pages_invalidated);

	ASSERT_LE(1, uptr_debugfs_objects(self->dir, (uintptr_t)buf, &obj));
	EXPECT_EQ(0ul, obj.valid);
	EXPECT_EQ(0, uptr_gem_close(self->fd, handle));
}

TEST_F(counters, munmap_of_lazy_range_counts_unmap_but_no_page)
{
	char *buf = map_anon_in_chunk(self->len, PROT_RW);
	struct uptr_stats s0, s1;
	__u32 handle;

	ASSERT_NE(NULL, buf);
	memset(buf, 1, self->len);
	ASSERT_EQ(0, uptr_create(self->fd, buf, self->len, 0, &handle));
	ASSERT_EQ(0, uptr_debugfs_stats(self->dir, &s0));
	ASSERT_EQ(0, munmap(buf, self->len));
	ASSERT_EQ(0, uptr_debugfs_stats(self->dir, &s1));
	EXPECT_GE(s1.event_unmap - s0.event_unmap, 1);
	EXPECT_EQ(0, s1.pages_invalidated - s0.pages_invalidated);
	EXPECT_EQ(0, uptr_gem_close(self->fd, handle));
}

TEST_F(counters, objects_file_lists_range_flags_and_valid_pages)
{
	char *lazy = map_anon(self->len, PROT_RW);
	char *full = map_anon(self->len, PROT_RW);
	struct uptr_debugfs_object obj;
	__u32 h1, h2;

	ASSERT_NE(NULL, lazy);
	ASSERT_NE(NULL, full);
	ASSERT_EQ(0, uptr_create(self->fd, lazy, self->len, 0, &h1));
	ASSERT_EQ(0, uptr_create(self->fd, full, self->len,
				 DRM_UPTR_CREATE_READ_ONLY |
				 DRM_UPTR_CREATE_POPULATE, &h2));

	ASSERT_LE(2, uptr_debugfs_objects(self->dir, (uintptr_t)lazy, &obj));
	EXPECT_EQ(NPAGES_UL, obj.npages);
	EXPECT_EQ(0u, obj.flags);
	EXPECT_EQ(0ul, obj.valid);
	EXPECT_EQ(0, obj.dead);

	ASSERT_LE(2, uptr_debugfs_objects(self->dir, (uintptr_t)full, &obj));
	EXPECT_EQ(NPAGES_UL, obj.npages);
	EXPECT_EQ((unsigned int)(DRM_UPTR_CREATE_READ_ONLY |
				 DRM_UPTR_CREATE_POPULATE), obj.flags);
	EXPECT_EQ(NPAGES_UL, obj.valid);
	EXPECT_EQ(0, obj.dead);

	EXPECT_EQ(0, uptr_gem_close(self->fd, h1));
	EXPECT_EQ(-ENOENT, uptr_debugfs_objects(self->dir, (uintptr_t)lazy,
						&obj));
	EXPECT_EQ(0, uptr_gem_close(self->fd, h2));
	EXPECT_EQ(-ENOENT, uptr_debugfs_objects(self->dir, (uintptr_t)full,
						&obj));
}

TEST_F(counters, failed_create_leaves_no_object)
{
	char *ro = map_anon(self->len, PROT_READ);
	char *holed = map_anon(self->len, PROT_RW);
	int n0, n1;
	__u32 handle = 0;

	ASSERT_NE(NULL, ro);
	ASSERT_NE(NULL, holed);
	ASSERT_EQ(0, munmap(holed + self->page, self->page));

	n0 = uptr_debugfs_objects(self->dir, 0, NULL);
	ASSERT_LE(0, n0);
	EXPECT_EQ(-EPERM, uptr_create(self->fd, ro, self->len,
				      DRM_UPTR_CREATE_POPULATE, &handle));
	EXPECT_EQ(-EFAULT, uptr_create(self->fd, holed, self->len,
				       DRM_UPTR_CREATE_POPULATE, &handle));
	EXPECT_EQ(-EFAULT, uptr_create(self->fd, holed, self->len,
				       DRM_UPTR_CREATE_PROBE, &handle));
	EXPECT_EQ(-EINVAL, uptr_create(self->fd, holed, 0, 0, &handle));
	n1 = uptr_debugfs_objects(self->dir, 0, NULL);
	EXPECT_EQ(n0, n1);
	EXPECT_EQ(0u, handle);
}

TEST_HARNESS_MAIN
