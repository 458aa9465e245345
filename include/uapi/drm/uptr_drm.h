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

#if defined(__cplusplus)
}
#endif

#endif /* _UPTR_DRM_H_ */
