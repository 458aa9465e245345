// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The uptr authors
 *
 * Bad input never hurts: a seeded random fuzzer of the driver's ioctls
 * mixed with mm operations on the memory under the objects. Every failure
 * must be one of the errnos uptr_drm.h documents for the ioctl, no job may
 * run after a failed submission, and no byte of user memory outside the
 * objects may change. Objects over memory without struct pages and over
 * read-only mappings are in uptr_abuse_memory_test.c.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>

#include "../../kselftest_harness.h"
#include "uptr_util.h"

#define PAGE		UPTR_PAGE
#define MAX_SECONDS	240

/*
 * Layout of the fuzzer's memory:
 *
 *   resv:   [guard | arena | guard]  every userptr object lies in here,
 *                                    below 64 KiB, or out of user space
 *   args:   [argument area | guard]  ioctl arguments, command arrays
 *   canary: [pages]                  no object covers them; refilled
 *                                    with fresh pages after every mm
 *                                    operation that frees arena pages,
 *                                    so freed pages come back as canary
 */
#define FZ_GUARD_PAGES	4
#define FZ_ARENA_PAGES	256
#define FZ_RESV_PAGES	(FZ_ARENA_PAGES + 2 * FZ_GUARD_PAGES)
#define FZ_ARGS_SIZE	(4 * PAGE)
#define FZ_CANARY_PAGES	1024
#define FZ_POOL		48
#define FZ_SYNCS	4
#define FZ_MAX_ERRNO	64
#define FZ_LOW_LIMIT	0x10000UL
#define FZ_USER_TOP	0x800000000000ULL
#define FZ_SEED		0x75707472ULL
#define FZ_BO_SMALL	(64UL << 10)
#define FZ_LOG_MAX	10

enum fz_ioc {
	FZ_GET_PARAM, FZ_CREATE, FZ_BO_CREATE, FZ_BO_MMAP_OFFSET, FZ_SUBMIT,
	FZ_UNKNOWN, FZ_NR
};

static const char *const fz_name[FZ_NR] = {
	[FZ_GET_PARAM] = "GET_PARAM",
	[FZ_CREATE] = "CREATE",
	[FZ_BO_CREATE] = "BO_CREATE",
	[FZ_BO_MMAP_OFFSET] = "BO_MMAP_OFFSET",
	[FZ_SUBMIT] = "SUBMIT",
	[FZ_UNKNOWN] = "unknown",
};

/*
 * The errnos uptr_drm.h documents for each ioctl (0 is always fine); any
 * DRM ioctl may also fail with -EFAULT and -ENODEV (unplugged device).
 */
static const int fz_allowed[FZ_NR][12] = {
	[FZ_GET_PARAM] = { EINVAL, EFAULT, ENODEV },
	[FZ_CREATE] = { EINVAL, E2BIG, EFAULT, EPERM, EAGAIN, ENOMEM, EINTR,
			ENOSPC, ENODEV },
	[FZ_BO_CREATE] = { EINVAL, E2BIG, ENOMEM, EFAULT, ENODEV },
	[FZ_BO_MMAP_OFFSET] = { ENOENT, EINVAL, EFAULT, ENODEV },
	[FZ_SUBMIT] = { EINVAL, E2BIG, ENOENT, EACCES, EPERM, EFAULT, EAGAIN,
			ENODEV, ENOMEM, EINTR },
	[FZ_UNKNOWN] = { EINVAL, ENOTTY, ENODEV },
};

static bool fz_documented(enum fz_ioc k, int err)
{
	int i;

	for (i = 0; i < (int)ARRAY_SIZE(fz_allowed[k]) && fz_allowed[k][i]; i++)
		if (fz_allowed[k][i] == err)
			return true;
	return false;
}

static const unsigned int fz_cmd[FZ_UNKNOWN] = {
	[FZ_GET_PARAM] = DRM_IOCTL_UPTR_GET_PARAM,
	[FZ_CREATE] = DRM_IOCTL_UPTR_CREATE,
	[FZ_BO_CREATE] = DRM_IOCTL_UPTR_BO_CREATE,
	[FZ_BO_MMAP_OFFSET] = DRM_IOCTL_UPTR_BO_MMAP_OFFSET,
	[FZ_SUBMIT] = DRM_IOCTL_UPTR_SUBMIT,
};

struct fz_obj {
	__u32 handle;
	__u64 size;
};

struct fuzz {
	int fd;
	__u64 rng;
	__u64 max_obj;
	long long iter;
	unsigned char *resv, *arena, *args, *canary;
	/* Protection of each arena page, to know where the CPU may write. */
	int prot[FZ_ARENA_PAGES];
	bool canary_live[FZ_CANARY_PAGES];
	unsigned int canary_next;
	long long canary_bad;
	struct fz_obj pool[FZ_POOL];
	int npool;
	__u32 syncs[FZ_SYNCS];
	bool fenced[FZ_SYNCS];
	__u64 point;
	__u32 drain_bo, drain_sync;
	__u32 max_handle;
	int since_drain;
	long long calls[FZ_NR];
	long long results[FZ_NR][FZ_MAX_ERRNO + 1];
	long long unexpected, mm_ops, mm_failures, drains, sane_ok;
};

static __u64 fz_next(struct fuzz *f)
{
	/* xorshift64* */
	f->rng ^= f->rng >> 12;
	f->rng ^= f->rng << 25;
	f->rng ^= f->rng >> 27;
	return f->rng * 0x2545f4914f6cdd1dULL;
}

static __u64 fz_below(struct fuzz *f, __u64 n)
{
	return n ? fz_next(f) % n : 0;
}

static bool fz_chance(struct fuzz *f, int percent)
{
	return fz_below(f, 100) < (__u64)percent;
}

static unsigned long fz_resv_end(struct fuzz *f)
{
	return (unsigned long)f->resv + FZ_RESV_PAGES * PAGE;
}

/* Canary byte @off of the canary area: never all zeroes, page-unique. */
static unsigned char fz_canary_byte(size_t off)
{
	return uptr_pattern_byte(off, 0xc5) | 1;
}

static void fz_canary_fill(struct fuzz *f, unsigned int slot)
{
	unsigned char *p = f->canary + (size_t)slot * PAGE;
	size_t i;

	for (i = 0; i < PAGE; i++)
		p[i] = fz_canary_byte((size_t)slot * PAGE + i);
}

/* Returns the first bad byte of canary page @slot, or -1. */
static ssize_t fz_canary_check(struct fuzz *f, unsigned int slot)
{
	const unsigned char *p = f->canary + (size_t)slot * PAGE;
	size_t i;

	for (i = 0; i < PAGE; i++)
		if (p[i] != fz_canary_byte((size_t)slot * PAGE + i))
			return i;
	return -1;
}

/*
 * Replace @n canary pages with fresh ones, after checking them: the new
 * pages are likely the arena pages just freed.
 */
static void fz_canary_recycle(struct fuzz *f, unsigned long n)
{
	while (n--) {
		unsigned int slot = f->canary_next++ % FZ_CANARY_PAGES;
		unsigned char *p = f->canary + (size_t)slot * PAGE;

		if (f->canary_live[slot] && fz_canary_check(f, slot) >= 0) {
			if (!f->canary_bad++)
				ksft_print_msg("fuzz: iteration %lld: canary page %u corrupted\n",
					       f->iter, slot);
		}
		if (mmap(p, PAGE, PROT_READ | PROT_WRITE,
			 MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) != p) {
			f->canary_bad++;
			continue;
		}
		fz_canary_fill(f, slot);
		f->canary_live[slot] = true;
	}
}

/*
 * Could a CREATE with these arguments, as the kernel sees them, make an
 * object over memory other than the arena? Arguments the driver rejects
 * before it looks at the range are safe, and so are ranges in the
 * reservation, below 64 KiB (never mapped) or above 2^47 (not user).
 */
static bool fz_create_safe(struct fuzz *f, const struct drm_uptr_create *c)
{
	__u64 end;

	if (c->extensions || c->pad || c->flags & ~DRM_UPTR_CREATE_FLAGS)
		return true;
	if (!c->user_size || (c->user_ptr | c->user_size) & (PAGE - 1))
		return true;
	if (__builtin_add_overflow(c->user_ptr, c->user_size, &end))
		return true;
	if (c->user_size > f->max_obj)
		return true;
	if (end <= FZ_LOW_LIMIT || c->user_ptr >= FZ_USER_TOP)
		return true;
	return c->user_ptr >= (unsigned long)f->resv && end <= fz_resv_end(f);
}

/* Device buffers stay small, or so large that they are refused. */
static bool fz_bo_create_safe(const struct drm_uptr_bo_create *c)
{
	return c->size <= FZ_BO_SMALL || c->size > (1ULL << 30);
}

/* A random handle: mostly one that exists, sometimes not. */
static __u32 fz_handle(struct fuzz *f, __u64 *size)
{
	__u64 r = fz_below(f, 100);

	*size = PAGE;
	if (r < 85 && f->npool) {
		struct fz_obj *o = &f->pool[fz_below(f, f->npool)];

		*size = o->size;
		return o->handle;
	}
	if (r < 90)
		return 0;
	if (r < 95)
		return f->drain_bo;
	return fz_next(f);
}

static void fz_gen_create(struct fuzz *f, struct drm_uptr_create *c)
{
	unsigned long pages, page;
	__u64 r = fz_below(f, 100);

	memset(c, 0, sizeof(*c));
	c->flags = fz_chance(f, 5) ? (__u32)fz_next(f) : fz_below(f, 8);
	if (fz_chance(f, 3))
		c->extensions = fz_next(f);
	if (fz_chance(f, 3))
		c->pad = fz_next(f);

	page = fz_below(f, FZ_RESV_PAGES);
	pages = 1 + fz_below(f, FZ_RESV_PAGES - page);
	c->user_ptr = (unsigned long)f->resv + page * PAGE;
	c->user_size = pages * PAGE;
	if (r < 50) {
		/* In the reservation, guards included. */
	} else if (r < 60) {
		c->user_ptr += fz_chance(f, 50) ? 1 + fz_below(f, PAGE - 1) : 0;
		c->user_size -= fz_chance(f, 50) ? 1 + fz_below(f, PAGE - 1) : 0;
	} else if (r < 65) {
		c->user_ptr = 0;
		c->user_size = (1 + fz_below(f, 8)) * PAGE;
	} else if (r < 70) {
		c->user_ptr = (1 + fz_below(f, 7)) * PAGE;
		c->user_size = (1 + fz_below(f, 8)) * PAGE;
	} else if (r < 75) {
		c->user_ptr = 0xffff888000000000ULL + fz_below(f, 1 << 20) * PAGE;
		c->user_size = (1 + fz_below(f, 16)) * PAGE;
	} else if (r < 80) {
		c->user_ptr = FZ_USER_TOP - PAGE * fz_below(f, 2);
		c->user_size = (1 + fz_below(f, 4)) * PAGE;
	} else if (r < 85) {
		c->user_ptr = ~0ULL & ~(PAGE - 1);
		c->user_size = (1 + fz_below(f, 4)) * PAGE;
	} else if (r < 90) {
		c->user_size = f->max_obj + PAGE * (1 + fz_below(f, 1024));
	} else if (r < 95) {
		c->user_size = 0;
	} else {
		c->user_ptr = fz_next(f) & ~(PAGE - 1);
		c->user_size = fz_next(f) & ~(PAGE - 1);
	}
}

static void fz_gen_submit(struct fuzz *f, struct drm_uptr_submit *s,
			  unsigned char *space, size_t space_len)
{
	struct drm_uptr_sync *syncs;
	unsigned int i, count, stride;
	unsigned char *cmds;
	__u64 r;

	memset(s, 0, sizeof(*s));
	r = fz_below(f, 100);
	count = r < 75 ? 1 + fz_below(f, 4) : r < 85 ? 0 :
		r < 90 ? 256 + fz_below(f, 2) : (__u32)fz_next(f);
	r = fz_below(f, 100);
	stride = r < 80 ? sizeof(struct drm_uptr_cmd) :
		 r < 85 ? sizeof(struct drm_uptr_cmd) - 8 :
		 r < 95 ? sizeof(struct drm_uptr_cmd) + 8 :
		 fz_below(f, 2 * PAGE);
	s->cmd_count = count;
	s->cmd_stride = stride;
	s->flags = fz_chance(f, 3) ? (__u32)fz_next(f) : 0;

	/* Commands at the start of @space, syncs at its end. */
	syncs = (struct drm_uptr_sync *)(space + space_len - 4 * sizeof(*syncs));
	cmds = space;
	memset(space, 0, space_len);
	for (i = 0; i < count && i < 512 && (i + 1) * (size_t)stride <=
	     space_len - 4 * sizeof(*syncs); i++) {
		struct drm_uptr_cmd *cmd = (void *)(cmds + i * (size_t)stride);
		__u64 ssize, dsize, max;

		cmd->op = fz_chance(f, 90) ? 1 + fz_below(f, 3) : fz_next(f);
		cmd->src_handle = fz_handle(f, &ssize);
		cmd->dst_handle = fz_handle(f, &dsize);
		max = ssize < dsize ? ssize : dsize;
		if (cmd->op == DRM_UPTR_OP_FILL && fz_chance(f, 90))
			cmd->src_handle = 0;
		if (cmd->op == DRM_UPTR_OP_CHECKSUM)
			max = ssize;
		cmd->length = (1 + fz_below(f, max)) & ~3ULL;
		if (!cmd->length)
			cmd->length = 4;
		cmd->src_offset = fz_below(f, ssize - cmd->length + 1) & ~3ULL;
		cmd->dst_offset = fz_below(f, dsize - cmd->length + 1) & ~3ULL;
		if (cmd->op == DRM_UPTR_OP_CHECKSUM)
			cmd->dst_offset = fz_below(f, dsize - 7) & ~7ULL;
		if (cmd->op == DRM_UPTR_OP_FILL)
			cmd->pattern = fz_next(f);
		if (fz_chance(f, 5))
			cmd->length = fz_next(f) >> fz_below(f, 64);
		if (fz_chance(f, 5))
			cmd->src_offset = fz_next(f) >> fz_below(f, 64);
		if (fz_chance(f, 5))
			cmd->dst_offset = fz_next(f) >> fz_below(f, 64);
		if (fz_chance(f, 3))
			cmd->flags = fz_next(f);
		if (fz_chance(f, 3))
			cmd->pad = fz_next(f);
		if (fz_chance(f, 3))
			cmd->pattern = fz_next(f);
		if (stride > sizeof(*cmd) && stride < PAGE && fz_chance(f, 50))
			cmds[i * (size_t)stride + sizeof(*cmd)] = 1;
	}

	r = fz_below(f, 100);
	s->cmds = (__u64)(uintptr_t)cmds;
	if (r < 3)
		s->cmds = 0;
	else if (r < 6)
		s->cmds = 0xffffffff81000000ULL;
	else if (r < 9)
		s->cmds = (__u64)(uintptr_t)(f->args + FZ_ARGS_SIZE - 16);
	else if (r < 12)
		s->cmds = (__u64)(uintptr_t)(f->arena +
					     fz_below(f, FZ_ARENA_PAGES * PAGE));

	r = fz_below(f, 100);
	if (r < 80) {
		s->in_sync_count = 0;
	} else if (r < 95) {
		s->in_sync_count = 1 + fz_below(f, 2);
		for (i = 0; i < s->in_sync_count; i++) {
			syncs[i].handle = f->syncs[fz_below(f, FZ_SYNCS)];
			syncs[i].point = fz_chance(f, 70) ? 0 :
					 fz_below(f, f->point + 2);
			syncs[i].flags = fz_chance(f, 5) ? fz_next(f) : 0;
		}
	} else {
		s->in_sync_count = fz_below(f, 70);
	}
	s->in_syncs = (__u64)(uintptr_t)syncs;
	if (fz_chance(f, 3))
		s->in_syncs = fz_chance(f, 50) ? 0 : 0xffff888000000000ULL;

	r = fz_below(f, 100);
	if (r < 55) {
		s->out_sync.handle = f->syncs[fz_below(f, FZ_SYNCS - 1)];
	} else if (r < 70) {
		s->out_sync.handle = f->syncs[FZ_SYNCS - 1];
		s->out_sync.point = ++f->point;
	} else if (r < 95) {
		s->out_sync.handle = 0;
	} else {
		s->out_sync.handle = fz_next(f);
		s->out_sync.point = fz_next(f);
		s->out_sync.flags = fz_chance(f, 50) ? fz_next(f) : 0;
	}
}

/* A random byte range of an object of @size bytes, @align aligned. */
static void fz_range(struct fuzz *f, __u64 size, __u64 align, __u64 *off,
		     __u64 *len)
{
	__u64 max = size < (256 << 10) ? size : (256 << 10);

	*len = (1 + fz_below(f, max / align)) * align;
	*off = fz_below(f, (size - *len) / align + 1) * align;
}

/*
 * A well-formed submission: only the state of the memory under the
 * objects (and which handles still exist) decides whether it runs.
 */
static void fz_gen_sane_submit(struct fuzz *f, struct drm_uptr_submit *s,
			       unsigned char *space)
{
	struct drm_uptr_cmd *cmds = (void *)space;
	struct drm_uptr_sync *in = (void *)(space + 4 * sizeof(*cmds));
	unsigned int i, n;
	__u64 ssize, dsize;

	memset(s, 0, sizeof(*s));
	memset(space, 0, 4 * sizeof(*cmds) + 2 * sizeof(*in));
	s->cmd_count = 1 + fz_below(f, 3);
	s->cmd_stride = sizeof(*cmds);
	s->cmds = (__u64)(uintptr_t)cmds;
	for (i = 0; i < s->cmd_count; i++) {
		struct drm_uptr_cmd *c = &cmds[i];

		c->op = 1 + fz_below(f, 3);
		c->dst_handle = fz_handle(f, &dsize);
		switch (c->op) {
		case DRM_UPTR_OP_FILL:
			fz_range(f, dsize, 4, &c->dst_offset, &c->length);
			c->pattern = fz_next(f);
			break;
		case DRM_UPTR_OP_COPY:
			c->src_handle = fz_handle(f, &ssize);
			fz_range(f, ssize < dsize ? ssize : dsize, 1,
				 &c->src_offset, &c->length);
			c->dst_offset = fz_below(f, dsize - c->length + 1);
			break;
		default:
			c->src_handle = fz_handle(f, &ssize);
			fz_range(f, ssize, 4, &c->src_offset, &c->length);
			c->dst_offset = fz_below(f, dsize - 8 + 1);
			break;
		}
	}
	for (i = 0, n = 0; i < FZ_SYNCS && n < 2; i++) {
		if (!f->fenced[i] || fz_chance(f, 70))
			continue;
		in[n].handle = f->syncs[i];
		in[n++].point = i == FZ_SYNCS - 1 ? f->point : 0;
	}
	s->in_syncs = (__u64)(uintptr_t)in;
	s->in_sync_count = n;
	if (fz_chance(f, 80))
		s->out_sync.handle = f->syncs[fz_below(f, FZ_SYNCS - 1)];
}

/* After a successful SUBMIT: its out-syncobj now holds a fence. */
static void fz_submitted(struct fuzz *f, const struct drm_uptr_submit *s)
{
	unsigned int i;

	for (i = 0; i < FZ_SYNCS; i++)
		if (s->out_sync.handle == f->syncs[i])
			f->fenced[i] = true;
}

/* What the kernel copies in: the first @in bytes of @arg, then zeroes. */
static void fz_kernel_view(void *view, size_t view_len, const void *arg,
			   size_t in)
{
	memset(view, 0, view_len);
	memcpy(view, arg, in < view_len ? in : view_len);
}

static void fz_pool_add(struct fuzz *f, __u32 handle, __u64 size)
{
	if (handle > f->max_handle)
		f->max_handle = handle;
	if (f->npool == FZ_POOL) {
		int victim = fz_below(f, FZ_POOL);

		uptr_gem_close(f->fd, f->pool[victim].handle);
		f->pool[victim] = f->pool[--f->npool];
	}
	f->pool[f->npool++] = (struct fz_obj){ .handle = handle, .size = size };
}

/* Record one result; returns false if it is not documented. */
static bool fz_record(struct fuzz *f, enum fz_ioc k, unsigned int cmd,
		      int ret)
{
	int e = -ret;

	f->calls[k]++;
	f->results[k][!e ? 0 : e > 0 && e < FZ_MAX_ERRNO ? e : FZ_MAX_ERRNO]++;
	if (!ret || fz_documented(k, e))
		return true;
	if (f->unexpected++ < FZ_LOG_MAX)
		ksft_print_msg("fuzz: iteration %lld: %s (cmd 0x%08x) returned %d\n",
			       f->iter, fz_name[k], cmd, ret);
	return false;
}

/* Wait for every job queued so far: one ring, in order. */
static int fz_drain(struct fuzz *f)
{
	struct uptr_batch j = {};

	uptr_batch_cmd(&j, DRM_UPTR_OP_FILL, 0, 0, f->drain_bo, 0, PAGE,
		       0xd7a1d7a1);
	f->since_drain = 0;
	f->drains++;
	return uptr_batch_run(f->fd, f->drain_sync, &j);
}

/*
 * Pick the ioctl's argument pointer. Unless @any_content, the kernel must
 * read exactly the checked arguments at f->args, or nothing at all.
 */
static void *fz_arg_ptr(struct fuzz *f, size_t size, bool any_content)
{
	__u64 r = fz_below(f, 100);

	if (r < 85)
		return f->args;
	if (r < 89 || (!any_content && r < 93))
		return NULL;
	if (r < 93 || !any_content)
		return (void *)(uintptr_t)(0xffff888000000000ULL +
					   fz_below(f, 1 << 20) * PAGE);
	if (r < 97)
		/* Straddles the guard page after the argument area. */
		return f->args + FZ_ARGS_SIZE - 1 - fz_below(f, size);
	return f->arena + fz_below(f, FZ_ARENA_PAGES * PAGE);
}

/* One random ioctl. Returns false if its result is not documented. */
static bool fz_ioctl(struct fuzz *f)
{
	static const size_t sizes[FZ_UNKNOWN] = {
		[FZ_GET_PARAM] = sizeof(struct drm_uptr_get_param),
		[FZ_CREATE] = sizeof(struct drm_uptr_create),
		[FZ_BO_CREATE] = sizeof(struct drm_uptr_bo_create),
		[FZ_BO_MMAP_OFFSET] = sizeof(struct drm_uptr_bo_mmap_offset),
		[FZ_SUBMIT] = sizeof(struct drm_uptr_submit),
	};
	union {
		struct drm_uptr_get_param gp;
		struct drm_uptr_create cr;
		struct drm_uptr_bo_create bc;
		struct drm_uptr_bo_mmap_offset mo;
		struct drm_uptr_submit sb;
		unsigned char raw[512];
	} a, view;
	unsigned int cmd, nr, size, dir;
	bool sane = false;
	enum fz_ioc k;
	size_t in;
	void *arg;
	__u64 r;
	int ret;

	r = fz_below(f, 100);
	k = r < 40 ? FZ_SUBMIT : r < 60 ? FZ_CREATE : r < 70 ? FZ_BO_CREATE :
	    r < 80 ? FZ_BO_MMAP_OFFSET : r < 88 ? FZ_GET_PARAM : FZ_UNKNOWN;
	memset(&a, 0, sizeof(a));
	view = a;

	if (k == FZ_UNKNOWN) {
		nr = DRM_COMMAND_BASE + 5 +
		     fz_below(f, DRM_COMMAND_END - DRM_COMMAND_BASE - 5);
		for (in = 0; in < sizeof(a.raw); in++)
			a.raw[in] = fz_next(f);
		cmd = _IOC(fz_below(f, 4), DRM_IOCTL_BASE, nr,
			   fz_below(f, sizeof(a.raw)));
		if (fz_chance(f, 10))
			cmd = _IOC(fz_below(f, 4), 'X', nr, fz_below(f, 64));
		in = sizeof(a.raw);
	} else {
		cmd = fz_cmd[k];
		nr = _IOC_NR(cmd);
		sane = k == FZ_SUBMIT && fz_chance(f, 50);
		if (!sane && fz_chance(f, 10)) {
			/* The right number, a wrong direction or size. */
			r = fz_below(f, 4);
			size = r == 0 ? 0 : r == 1 ? sizes[k] - 8 :
			       r == 2 ? sizes[k] + 8 : fz_below(f, 256);
			cmd = _IOC(fz_below(f, 4), DRM_IOCTL_BASE, nr, size);
		}
		dir = _IOC_DIR(cmd);
		in = dir & _IOC_WRITE ? _IOC_SIZE(cmd) : 0;
	}

	switch (k) {
	case FZ_GET_PARAM:
		a.gp.param = fz_chance(f, 90) ? fz_below(f, 8) : fz_next(f);
		a.gp.pad = fz_chance(f, 5) ? fz_next(f) : 0;
		a.gp.value = fz_next(f);
		break;
	case FZ_CREATE:
		fz_gen_create(f, &a.cr);
		fz_kernel_view(&view, sizeof(view.cr), &a, in);
		if (!fz_create_safe(f, &view.cr)) {
			/* Whatever the truncation, this stays in the arena. */
			a.cr = (struct drm_uptr_create){
				.user_ptr = (unsigned long)f->arena,
				.user_size = PAGE,
			};
		}
		fz_kernel_view(&view, sizeof(view.cr), &a, in);
		if (!fz_create_safe(f, &view.cr))
			return true;
		break;
	case FZ_BO_CREATE:
		r = fz_below(f, 100);
		a.bc.size = r < 80 ? 1 + fz_below(f, FZ_BO_SMALL) :
			    r < 90 ? 0 : (1ULL << 30) + 1 + fz_below(f, 1ULL << 40);
		a.bc.flags = fz_chance(f, 5) ? fz_next(f) : 0;
		fz_kernel_view(&view, sizeof(view.bc), &a, in);
		if (!fz_bo_create_safe(&view.bc))
			return true;
		break;
	case FZ_BO_MMAP_OFFSET:
		a.mo.handle = fz_handle(f, &a.mo.offset);
		a.mo.pad = fz_chance(f, 5) ? fz_next(f) : 0;
		break;
	case FZ_SUBMIT:
		if (sane)
			fz_gen_sane_submit(f, &a.sb, f->args + sizeof(a));
		else
			fz_gen_submit(f, &a.sb, f->args + sizeof(a),
				      FZ_ARGS_SIZE - sizeof(a));
		break;
	default:
		break;
	}

	/* CREATE and BO_CREATE only ever read what was checked above. */
	arg = sane ? f->args :
	      fz_arg_ptr(f, sizeof(a), k != FZ_CREATE && k != FZ_BO_CREATE);
	if (arg == f->args)
		memcpy(arg, &a, sizeof(a));
	ret = uptr_ioctl_once(f->fd, cmd, arg);

	if (!ret && arg == f->args && _IOC_DIR(cmd) & _IOC_READ &&
	    _IOC_SIZE(cmd) >= 16) {
		memcpy(&a, arg, sizeof(a));
		if (k == FZ_CREATE && _IOC_SIZE(cmd) >= 32)
			fz_pool_add(f, a.cr.handle, view.cr.user_size);
		if (k == FZ_BO_CREATE)
			fz_pool_add(f, a.bc.handle,
				    (view.bc.size + PAGE - 1) & ~(PAGE - 1));
	}
	if (!ret && k == FZ_SUBMIT) {
		fz_submitted(f, &a.sb);
		if (sane)
			f->sane_ok++;
		if (++f->since_drain >= 16 && fz_drain(f) != 1)
			return fz_record(f, k, cmd, -ETIME);
	}
	return fz_record(f, k, cmd, ret);
}

static void fz_mm_fail(struct fuzz *f, const char *what)
{
	if (f->mm_failures++ < FZ_LOG_MAX)
		ksft_print_msg("fuzz: iteration %lld: %s failed: %s\n",
			       f->iter, what, strerror(errno));
}

/* One random mm operation on the arena. */
static void fz_mm(struct fuzz *f)
{
	static const int prots[] = {
		PROT_READ | PROT_WRITE, PROT_READ | PROT_WRITE, PROT_READ,
		PROT_NONE,
	};
	static const int advice[] = {
		MADV_DONTNEED, MADV_COLD, MADV_PAGEOUT, MADV_FREE,
		MADV_WILLNEED, MADV_HUGEPAGE, MADV_NOHUGEPAGE,
	};
	unsigned long page = fz_below(f, FZ_ARENA_PAGES), n, i;
	unsigned char *addr = f->arena + page * PAGE;
	int prot = prots[fz_below(f, ARRAY_SIZE(prots))];
	int adv, op = fz_below(f, 6);
	size_t len;
	void *p;

	n = 1 + fz_below(f, FZ_ARENA_PAGES - page < 16 ?
			    FZ_ARENA_PAGES - page : 16);
	len = n * PAGE;
	f->mm_ops++;
	switch (op) {
	case 0:
		/* munmap, an ioctl while there is a hole, then mmap. */
		for (i = 0; i < n; i++)
			f->prot[page + i] = PROT_NONE;
		if (munmap(addr, len)) {
			fz_mm_fail(f, "munmap");
			return;
		}
		fz_ioctl(f);
		p = mmap(addr, len, prot,
			 MAP_FIXED_NOREPLACE | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p != addr) {
			fz_mm_fail(f, "mmap(MAP_FIXED_NOREPLACE)");
			return;
		}
		fz_canary_recycle(f, n);
		break;
	case 1:
		for (i = 0; i < n; i++)
			f->prot[page + i] = PROT_NONE;
		p = mmap(addr, len, prot, MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS,
			 -1, 0);
		if (p != addr) {
			fz_mm_fail(f, "mmap(MAP_FIXED)");
			return;
		}
		fz_canary_recycle(f, n);
		break;
	case 2:
		for (i = 0; i < n; i++)
			f->prot[page + i] = PROT_NONE;
		if (mprotect(addr, len, prot)) {
			fz_mm_fail(f, "mprotect");
			return;
		}
		break;
	case 3:
		adv = advice[fz_below(f, ARRAY_SIZE(advice))];
		/* MADV_PAGEOUT and MADV_FREE may be refused: no swap. */
		if (madvise(addr, len, adv) && adv != MADV_PAGEOUT &&
		    adv != MADV_FREE) {
			fz_mm_fail(f, "madvise");
			return;
		}
		if (adv == MADV_DONTNEED || adv == MADV_FREE)
			fz_canary_recycle(f, n);
		return;
	default:
		/* The CPU writes where it may. */
		for (i = 0; i < n; i++)
			if (f->prot[page + i] & PROT_WRITE)
				memset(addr + i * PAGE, fz_next(f), PAGE);
		return;
	}
	for (i = 0; i < n; i++)
		f->prot[page + i] = prot;
}

FIXTURE(fuzz) {
	struct fuzz *f;
	int objs0;
	char dir[256];
};

FIXTURE_SETUP(fuzz)
{
	const char *env = getenv("UPTR_FUZZ_SEED");
	struct fuzz *f;
	unsigned int i;
	void *p;

	f = calloc(1, sizeof(*f));
	ASSERT_NE(NULL, f);
	self->f = f;
	f->fd = uptr_open_render();
	if (f->fd < 0)
		SKIP(return, "no uptr render node");
	if (uptr_debugfs_dir(self->dir, sizeof(self->dir)))
		SKIP(return, "no uptr debugfs directory: counters are needed");
	ASSERT_EQ(0, uptr_debugfs_write("uptr_delay_ms", 0));
	ASSERT_EQ(0, uptr_get_param(f->fd, DRM_UPTR_PARAM_MAX_OBJECT_SIZE,
				    &f->max_obj));
	f->rng = env ? strtoull(env, NULL, 0) : FZ_SEED;
	if (!f->rng)
		f->rng = FZ_SEED;

	/* Reserve everything first, then open the usable parts. */
	p = mmap(NULL, FZ_RESV_PAGES * PAGE, PROT_NONE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	ASSERT_NE(MAP_FAILED, p);
	f->resv = p;
	f->arena = f->resv + FZ_GUARD_PAGES * PAGE;
	ASSERT_EQ(0, mprotect(f->arena, FZ_ARENA_PAGES * PAGE,
			      PROT_READ | PROT_WRITE));
	for (i = 0; i < FZ_ARENA_PAGES; i++)
		f->prot[i] = PROT_READ | PROT_WRITE;
	uptr_fill_pattern(f->arena, FZ_ARENA_PAGES * PAGE, 0x55);

	p = mmap(NULL, FZ_ARGS_SIZE + PAGE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, p);
	f->args = p;
	ASSERT_EQ(0, mprotect(f->args + FZ_ARGS_SIZE, PAGE, PROT_NONE));

	p = mmap(NULL, FZ_CANARY_PAGES * PAGE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, p);
	f->canary = p;
	for (i = 0; i < FZ_CANARY_PAGES; i++) {
		fz_canary_fill(f, i);
		f->canary_live[i] = true;
	}

	ASSERT_EQ(0, uptr_bo_create(f->fd, PAGE, &f->drain_bo, NULL));
	ASSERT_EQ(0, uptr_syncobj_create(f->fd, &f->drain_sync));
	for (i = 0; i < FZ_SYNCS; i++)
		ASSERT_EQ(0, uptr_syncobj_create(f->fd, &f->syncs[i]));
	self->objs0 = uptr_debugfs_objects(self->dir, 0, NULL);
}

FIXTURE_TEARDOWN(fuzz)
{
	struct fuzz *f = self->f;

	if (!f)
		return;
	if (f->fd >= 0)
		close(f->fd);
	if (f->resv)
		munmap(f->resv, FZ_RESV_PAGES * PAGE);
	if (f->args)
		munmap(f->args, FZ_ARGS_SIZE + PAGE);
	if (f->canary)
		munmap(f->canary, FZ_CANARY_PAGES * PAGE);
	free(f);
}

static void fz_report(struct fuzz *f)
{
	char line[512];
	int k, e, len;

	for (k = 0; k < FZ_NR; k++) {
		len = snprintf(line, sizeof(line), "%s: %lld calls:",
			       fz_name[k], f->calls[k]);
		for (e = 0; e <= FZ_MAX_ERRNO && len < (int)sizeof(line); e++) {
			if (!f->results[k][e])
				continue;
			len += snprintf(line + len, sizeof(line) - len,
					" %s%s=%lld", e ? "-" : "",
					e == FZ_MAX_ERRNO ? "other" :
					e ? strerrorname_np(e) : "0",
					f->results[k][e]);
		}
		ksft_print_msg("fuzz: %s\n", line);
	}
}

TEST_F_TIMEOUT(fuzz, random_ioctls_get_documented_errnos_canary_intact,
	       2 * MAX_SECONDS)
{
	struct fuzz *f = self->f;
	long long end, t0 = uptr_now_ms(), submitted0, timedout0;
	struct uptr_stats s0, s1;
	__u64 seed = f->rng;
	struct uptr_batch j = {};
	unsigned int i;
	ssize_t bad;
	__u32 h;

	ksft_print_msg("fuzz: seed 0x%llx (replay with UPTR_FUZZ_SEED=0x%llx), %d s\n",
		       (unsigned long long)seed, (unsigned long long)seed,
		       uptr_stress_seconds(MAX_SECONDS));
	ASSERT_EQ(0, uptr_debugfs_stats(self->dir, &s0));
	submitted0 = UPTR_COUNTER("uptr_engine", "jobs_submitted");
	timedout0 = UPTR_COUNTER("uptr_engine", "jobs_timedout");
	end = t0 + uptr_stress_seconds(MAX_SECONDS) * 1000LL;
	for (f->iter = 0; uptr_now_ms() < end; f->iter++) {
		if (fz_chance(f, 15))
			fz_mm(f);
		else
			fz_ioctl(f);
	}
	ASSERT_EQ(1, fz_drain(f));
	ASSERT_EQ(0, uptr_debugfs_stats(self->dir, &s1));

	fz_report(f);
	ksft_print_msg("fuzz: %lld iterations in %lld ms, %lld mm operations, %lld drains\n",
		       f->iter, uptr_now_ms() - t0, f->mm_ops, f->drains);
	ksft_print_msg("fuzz: %lld jobs queued (%lld well-formed)\n",
		       UPTR_COUNTER("uptr_engine", "jobs_submitted") - submitted0, f->sane_ok);
	ksft_print_msg("fuzz: +%lld invalidations, +%lld pages faulted\n",
		       s1.invalidations - s0.invalidations,
		       s1.pages_faulted - s0.pages_faulted);

	EXPECT_EQ(0, f->unexpected);
	EXPECT_EQ(0, f->mm_failures);
	/* The fuzzer reached the code past the argument checks. */
	EXPECT_GT(f->results[FZ_CREATE][0], 0);
	EXPECT_GT(f->results[FZ_BO_CREATE][0], 0);
	EXPECT_GT(f->results[FZ_BO_MMAP_OFFSET][0], 0);
	EXPECT_GT(f->results[FZ_GET_PARAM][0], 0);
	EXPECT_GT(f->results[FZ_SUBMIT][0], 0);
	EXPECT_EQ(timedout0, UPTR_COUNTER("uptr_engine", "jobs_timedout"));

	/* No byte outside the objects changed: check every canary page. */
	for (i = 0; i < FZ_CANARY_PAGES; i++) {
		if (!f->canary_live[i])
			continue;
		bad = fz_canary_check(f, i);
		if (bad >= 0 && !f->canary_bad++)
			ksft_print_msg("fuzz: canary page %u byte %zd is 0x%02x\n",
				       i, bad, f->canary[i * PAGE + bad]);
	}
	EXPECT_EQ(0, f->canary_bad);

	/* The device still moves data between CPU and device memory. */
	ASSERT_EQ(0, mprotect(f->arena, PAGE, PROT_READ | PROT_WRITE));
	uptr_fill_pattern(f->arena, PAGE, 0x56);
	ASSERT_EQ(0, uptr_create(f->fd, f->arena, PAGE, 0, &h));
	uptr_batch_cmd(&j, DRM_UPTR_OP_COPY, h, 0, f->drain_bo, 0, PAGE, 0);
	uptr_batch_cmd(&j, DRM_UPTR_OP_FILL, 0, 0, h, 0, PAGE, 0x600d600d);
	ASSERT_EQ(1, uptr_batch_run(f->fd, f->drain_sync, &j));
	EXPECT_EQ(-1, uptr_check_words(f->arena, PAGE, 0x600d600d));
	j = (struct uptr_batch){};
	uptr_batch_cmd(&j, DRM_UPTR_OP_COPY, f->drain_bo, 0, h, 0, PAGE, 0);
	ASSERT_EQ(1, uptr_batch_run(f->fd, f->drain_sync, &j));
	EXPECT_EQ(-1, uptr_check_pattern(f->arena, PAGE, 0x56));
}

TEST_HARNESS_MAIN
