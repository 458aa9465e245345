// SPDX-License-Identifier: GPL-2.0-only
/*
 * Copyright (C) 2026 The uptr authors
 */

#include <linux/dma-fence.h>
#include <linux/dma-mapping.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/platform_device.h>
#include <linux/slab.h>

#include <drm/drm_drv.h>
#include <drm/drm_file.h>
#include <drm/drm_gem.h>
#include <drm/drm_ioctl.h>
#include <drm/drm_managed.h>
#include <drm/drm_print.h>
#include <drm/uptr_drm.h>

#include "uptr_bo.h"
#include "uptr_drv.h"
#include "uptr_userptr.h"

/**
 * DOC: uptr driver overview
 *
 * uptr registers one render-only DRM device, named "uptr", on a platform
 * device it creates at module load. It has no display and no real
 * hardware: the "GPU" is a software copy engine. The driver exists to give
 * user memory to a device the way a GPU driver's userptr does, without
 * pinning it, and to prove that the device always sees the pages that back
 * the user's range.
 *
 * The device is registered with %DRIVER_GEM, %DRIVER_RENDER,
 * %DRIVER_SYNCOBJ and %DRIVER_SYNCOBJ_TIMELINE and no modesetting: besides
 * the primary node the DRM core always creates, it exposes a render node
 * that any user may open, and the driver-specific ioctls in
 * include/uapi/drm/uptr_drm.h, all allowed on the render node.
 */

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

static const struct drm_ioctl_desc uptr_ioctls[] = {
	DRM_IOCTL_DEF_DRV(UPTR_GET_PARAM, uptr_ioctl_get_param,
			  DRM_RENDER_ALLOW),
	DRM_IOCTL_DEF_DRV(UPTR_CREATE, uptr_ioctl_create, DRM_RENDER_ALLOW),
	DRM_IOCTL_DEF_DRV(UPTR_BO_CREATE, uptr_ioctl_bo_create,
			  DRM_RENDER_ALLOW),
	DRM_IOCTL_DEF_DRV(UPTR_BO_MMAP_OFFSET, uptr_ioctl_bo_mmap_offset,
			  DRM_RENDER_ALLOW),
	DRM_IOCTL_DEF_DRV(UPTR_SUBMIT, uptr_ioctl_submit, DRM_RENDER_ALLOW),
};

static int uptr_open(struct drm_device *drm, struct drm_file *file)
{
	struct drm_gpu_scheduler *sched = &to_uptr_device(drm)->engine.sched;
	struct uptr_file *ufile;
	int ret;

	ufile = kzalloc(sizeof(*ufile), GFP_KERNEL_ACCOUNT);
	if (!ufile)
		return -ENOMEM;
	ret = drm_sched_entity_init(&ufile->entity, DRM_SCHED_PRIORITY_NORMAL,
				    &sched, 1, NULL);
	if (ret) {
		kfree(ufile);
		return ret;
	}
	ufile->fence_context = dma_fence_context_alloc(1);
	file->driver_priv = ufile;
	return 0;
}

/*
 * Jobs still queued in the entity run, or are cancelled with an error on
 * their fence if the process is being killed; jobs already on the ring
 * finish on their own and release their objects then.
 */
static void uptr_postclose(struct drm_device *drm, struct drm_file *file)
{
	struct uptr_file *ufile = file->driver_priv;

	drm_sched_entity_destroy(&ufile->entity);
	kfree(ufile);
}

DEFINE_DRM_GEM_FOPS(uptr_drm_fops);

const struct drm_driver uptr_drm_driver = {
	.driver_features	= DRIVER_GEM | DRIVER_RENDER | DRIVER_SYNCOBJ |
				  DRIVER_SYNCOBJ_TIMELINE,
	.open			= uptr_open,
	.postclose		= uptr_postclose,
	.gem_create_object	= uptr_bo_create_object,
	.ioctls			= uptr_ioctls,
	.num_ioctls		= ARRAY_SIZE(uptr_ioctls),
	.fops			= &uptr_drm_fops,
	.name			= UPTR_DRIVER_NAME,
	.desc			= UPTR_DRIVER_DESC,
	.date			= UPTR_DRIVER_DATE,
	.major			= UPTR_DRIVER_MAJOR,
	.minor			= UPTR_DRIVER_MINOR,
};

static struct uptr_device *uptr_device;

/**
 * uptr_device_init() - initialize the driver state of a new device
 * @udev: the device, allocated with devm_drm_dev_alloc() or by KUnit
 *
 * Context: Process context.
 * Return: 0 or a negative errno.
 */
int uptr_device_init(struct uptr_device *udev)
{
	int ret;

	INIT_LIST_HEAD(&udev->objects);
	ret = drmm_mutex_init(&udev->drm, &udev->objects_lock);
	if (ret)
		return ret;
	return drmm_mutex_init(&udev->drm, &udev->notifier_lock);
}

static int __init uptr_init(void)
{
	struct platform_device *pdev;
	struct uptr_device *udev;
	int ret;

	pdev = platform_device_register_simple(UPTR_DRIVER_NAME, -1, NULL, 0);
	if (IS_ERR(pdev))
		return PTR_ERR(pdev);

	if (!devres_open_group(&pdev->dev, NULL, GFP_KERNEL)) {
		ret = -ENOMEM;
		goto err_unregister_pdev;
	}

	ret = dma_coerce_mask_and_coherent(&pdev->dev, DMA_BIT_MASK(64));
	if (ret)
		goto err_release_devres;

	udev = devm_drm_dev_alloc(&pdev->dev, &uptr_drm_driver,
				  struct uptr_device, drm);
	if (IS_ERR(udev)) {
		ret = PTR_ERR(udev);
		goto err_release_devres;
	}
	udev->pdev = pdev;

	ret = uptr_device_init(udev);
	if (ret)
		goto err_release_devres;
	ret = uptr_engine_init(&udev->engine, &udev->drm);
	if (ret)
		goto err_release_devres;
	uptr_debugfs_init(udev);

	ret = drm_dev_register(&udev->drm, 0);
	if (ret)
		goto err_fini_engine;

	uptr_device = udev;
	drm_dbg_driver(&udev->drm, "registered\n");
	return 0;

err_fini_engine:
	uptr_engine_fini(&udev->engine);
err_release_devres:
	devres_release_group(&pdev->dev, NULL);
err_unregister_pdev:
	platform_device_unregister(pdev);
	return ret;
}

static void __exit uptr_exit(void)
{
	struct platform_device *pdev = uptr_device->pdev;

	drm_dev_unplug(&uptr_device->drm);
	uptr_engine_fini(&uptr_device->engine);
	devres_release_group(&pdev->dev, NULL);
	platform_device_unregister(pdev);
}

module_init(uptr_init);
module_exit(uptr_exit);

MODULE_DESCRIPTION("uptr: userptr GEM objects mirrored with HMM");
MODULE_LICENSE("GPL");
