/* SPDX-License-Identifier: MIT */
/*
 * Copyright (C) 2026 The uptr authors
 */
#ifndef _UPTR_DRM_H_
#define _UPTR_DRM_H_

#include "drm.h"

#if defined(__cplusplus)
extern "C" {
#endif

/**
 * DOC: uptr UAPI rules
 *
 * uptr exposes a render-only DRM device named "uptr". Userspace finds it by
 * opening render nodes and comparing the name returned by
 * %DRM_IOCTL_VERSION.
 *
 * The ioctl structures follow Documentation/process/botching-up-ioctls.rst:
 *
 * - every field is naturally aligned, with explicit ``pad`` fields where
 *   needed; padding and fields documented as MBZ (must be zero) are checked
 *   and a non-zero value fails with -EINVAL, so they can be given a meaning
 *   later;
 * - user pointers are passed as __u64;
 * - flags can be added but never removed or redefined; unknown flags fail
 *   with -EINVAL;
 * - ioctl numbers are only ever appended to &enum drm_uptr_ioctl_id;
 * - a new parameter or feature bit comes with a driver minor version bump,
 *   so userspace never has to probe by trial and error.
 */

/**
 * enum drm_uptr_ioctl_id - ioctl numbers, relative to %DRM_COMMAND_BASE
 *
 * Append only: an ioctl number is never reused or renumbered.
 */
enum drm_uptr_ioctl_id {
	/** @DRM_UPTR_GET_PARAM: query a device parameter */
	DRM_UPTR_GET_PARAM = 0,
	/** @DRM_UPTR_CREATE: wrap a range of user memory in a GEM object */
	DRM_UPTR_CREATE = 1,
};

/**
 * enum drm_uptr_param - parameters readable with %DRM_IOCTL_UPTR_GET_PARAM
 *
 * Append only. An unknown parameter fails with -EINVAL.
 */
enum drm_uptr_param {
	/**
	 * @DRM_UPTR_PARAM_FEATURES: bitmask of &enum drm_uptr_feature bits
	 * the running driver supports.
	 */
	DRM_UPTR_PARAM_FEATURES = 0,
	/**
	 * @DRM_UPTR_PARAM_MAX_OBJECT_SIZE: largest size in bytes accepted for
	 * one userptr object; a larger request fails with -E2BIG.
	 */
	DRM_UPTR_PARAM_MAX_OBJECT_SIZE = 1,
	/**
	 * @DRM_UPTR_PARAM_PAGE_SIZE: granule in bytes that userptr addresses
	 * and sizes must be aligned to (the CPU page size).
	 */
	DRM_UPTR_PARAM_PAGE_SIZE = 2,
};

/**
 * enum drm_uptr_feature - bits reported by %DRM_UPTR_PARAM_FEATURES
 *
 * Append only. A bit is set when the corresponding UAPI is implemented.
 */
enum drm_uptr_feature {
	/**
	 * @DRM_UPTR_FEATURE_GET_PARAM: %DRM_IOCTL_UPTR_GET_PARAM is
	 * available. Always set.
	 */
	DRM_UPTR_FEATURE_GET_PARAM = 1 << 0,
	/**
	 * @DRM_UPTR_FEATURE_USERPTR: %DRM_IOCTL_UPTR_CREATE is available with
	 * the %DRM_UPTR_CREATE_READ_ONLY, %DRM_UPTR_CREATE_PROBE and
	 * %DRM_UPTR_CREATE_POPULATE flags.
	 */
	DRM_UPTR_FEATURE_USERPTR = 1 << 1,
};

/**
 * struct drm_uptr_get_param - argument of %DRM_IOCTL_UPTR_GET_PARAM
 */
struct drm_uptr_get_param {
	/** @param: in, one of &enum drm_uptr_param */
	__u32 param;
	/** @pad: MBZ */
	__u32 pad;
	/** @value: out, the parameter's value */
	__u64 value;
};

/**
 * DOC: userptr objects
 *
 * %DRM_IOCTL_UPTR_CREATE turns a page-aligned range of the caller's address
 * space into a GEM object. The object is not a copy: the device reads and
 * writes the pages that back the range in the CPU page table at the time of
 * each use, and follows every change to them (munmap, mremap, madvise,
 * migration, fork COW, KSM, swap, writeback, ...). No page is pinned.
 *
 * The object belongs to the address space (mm) of the process that created
 * it: using it for device access from another mm (after fork, or through a
 * DRM fd passed to another process) fails with -EPERM. Once that mm has
 * exited, device access fails with -EFAULT.
 *
 * Userptr objects have no CPU mapping of their own (the user already has
 * one) and cannot be shared: requesting an mmap offset fails with -EINVAL
 * and exporting them as a dma-buf (PRIME) fails with -EPERM.
 *
 * Errors of %DRM_IOCTL_UPTR_CREATE:
 *
 * - -EINVAL: unknown flag, non-zero &drm_uptr_create.extensions or
 *   &drm_uptr_create.pad, zero size, address or size not aligned to
 *   %DRM_UPTR_PARAM_PAGE_SIZE, or address + size overflowing;
 * - -E2BIG: size above %DRM_UPTR_PARAM_MAX_OBJECT_SIZE;
 * - -EFAULT: the range is not in the user address space (access_ok()), or,
 *   with %DRM_UPTR_CREATE_PROBE, not entirely covered by mappings of
 *   ordinary memory (a hole, VM_PFNMAP, VM_MIXEDMAP or VM_IO), or, with
 *   %DRM_UPTR_CREATE_POPULATE, a page could not be faulted in;
 * - -EPERM: %DRM_UPTR_CREATE_POPULATE on a writable object over a mapping
 *   without write permission (the same errno a later device use gets);
 * - -EAGAIN: %DRM_UPTR_CREATE_POPULATE kept racing with invalidations of
 *   the range; restart the ioctl;
 * - -ENOMEM: out of memory.
 */

/** DRM_UPTR_CREATE_READ_ONLY - the device may only read the object */
#define DRM_UPTR_CREATE_READ_ONLY	(1 << 0)
/**
 * DRM_UPTR_CREATE_PROBE - at create time, check that the whole range is
 * mapped by ordinary memory with struct pages; fail with -EFAULT otherwise
 */
#define DRM_UPTR_CREATE_PROBE		(1 << 1)
/**
 * DRM_UPTR_CREATE_POPULATE - fault the whole range in at create time; fail
 * as a later device use would
 */
#define DRM_UPTR_CREATE_POPULATE	(1 << 2)
/** DRM_UPTR_CREATE_FLAGS - every flag %DRM_IOCTL_UPTR_CREATE knows */
#define DRM_UPTR_CREATE_FLAGS		(DRM_UPTR_CREATE_READ_ONLY | \
					 DRM_UPTR_CREATE_PROBE | \
					 DRM_UPTR_CREATE_POPULATE)

/**
 * struct drm_uptr_create - argument of %DRM_IOCTL_UPTR_CREATE
 */
struct drm_uptr_create {
	/** @extensions: MBZ; reserved for a chain of extensions */
	__u64 extensions;
	/**
	 * @user_ptr: in, first byte of the range, aligned to
	 * %DRM_UPTR_PARAM_PAGE_SIZE; tagged pointers are accepted
	 */
	__u64 user_ptr;
	/** @user_size: in, length in bytes, aligned, not zero */
	__u64 user_size;
	/** @flags: in, DRM_UPTR_CREATE_* */
	__u32 flags;
	/** @handle: out, GEM handle of the new object */
	__u32 handle;
	/** @pad: MBZ */
	__u64 pad;
};

#define DRM_IOCTL_UPTR(__access, __id, __type) \
	DRM_IO ## __access(DRM_COMMAND_BASE + DRM_UPTR_ ## __id, \
			   struct drm_uptr_ ## __type)

/**
 * define DRM_IOCTL_UPTR_GET_PARAM - read one device parameter
 *
 * Fails with -EINVAL for an unknown &drm_uptr_get_param.param or a non-zero
 * &drm_uptr_get_param.pad.
 */
#define DRM_IOCTL_UPTR_GET_PARAM	DRM_IOCTL_UPTR(WR, GET_PARAM, get_param)
/**
 * define DRM_IOCTL_UPTR_CREATE - create a userptr GEM object
 *
 * See "userptr objects" above for the errors.
 */
#define DRM_IOCTL_UPTR_CREATE		DRM_IOCTL_UPTR(WR, CREATE, create)

#if defined(__cplusplus)
}
#endif

#endif /* _UPTR_DRM_H_ */
