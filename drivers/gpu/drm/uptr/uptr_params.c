// SPDX-License-Identifier: GPL-2.0-only
/*
 * Copyright (C) 2026 The uptr authors
 */

#include <linux/mm.h>

#include <drm/drm_device.h>
#include <drm/drm_print.h>
#include <drm/uptr_drm.h>

#include "uptr_drv.h"

/**
 * DOC: device parameters
 *
 * %DRM_IOCTL_UPTR_GET_PARAM reads one value from &enum drm_uptr_param. It
 * is how userspace learns what the running driver supports
 * (%DRM_UPTR_PARAM_FEATURES) and its limits, without trying ioctls and
 * interpreting errors. A parameter number that the driver does not know
 * fails with -EINVAL, so new parameters can be appended safely.
 */

#define UPTR_FEATURES	(DRM_UPTR_FEATURE_USERPTR | DRM_UPTR_FEATURE_ENGINE)

/**
 * uptr_ioctl_get_param() - handler of %DRM_IOCTL_UPTR_GET_PARAM
 * @drm: the uptr DRM device
 * @data: &struct drm_uptr_get_param, already copied in by the DRM core
 * @file: the caller's DRM file (unused)
 *
 * Context: Process context. Takes no lock.
 * Return: 0 with &drm_uptr_get_param.value filled in, or -EINVAL for a
 * non-zero pad or an unknown parameter.
 */
int uptr_ioctl_get_param(struct drm_device *drm, void *data,
			 struct drm_file *file)
{
	struct drm_uptr_get_param *args = data;

	if (args->pad) {
		drm_dbg_driver(drm, "get_param: pad is not zero\n");
		return -EINVAL;
	}

	switch (args->param) {
	case DRM_UPTR_PARAM_FEATURES:
		args->value = UPTR_FEATURES;
		break;
	case DRM_UPTR_PARAM_MAX_OBJECT_SIZE:
		args->value = UPTR_MAX_OBJECT_SIZE;
		break;
	case DRM_UPTR_PARAM_PAGE_SIZE:
		args->value = PAGE_SIZE;
		break;
	case DRM_UPTR_PARAM_MAX_CMDS:
		args->value = UPTR_SUBMIT_MAX_CMDS;
		break;
	case DRM_UPTR_PARAM_MAX_SYNCS:
		args->value = UPTR_SUBMIT_MAX_SYNCS;
		break;
	case DRM_UPTR_PARAM_CMD_SIZE:
		args->value = sizeof(struct drm_uptr_cmd);
		break;
	case DRM_UPTR_PARAM_MAX_JOB_BYTES:
		args->value = UPTR_SUBMIT_MAX_BYTES;
		break;
	case DRM_UPTR_PARAM_MAX_JOB_PAGES:
		args->value = UPTR_SUBMIT_MAX_PAGES;
		break;
	default:
		drm_dbg_driver(drm, "get_param: unknown param %u\n",
			       args->param);
		return -EINVAL;
	}

	return 0;
}
