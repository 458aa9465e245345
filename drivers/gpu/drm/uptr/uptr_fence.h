/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Copyright (C) 2026 The uptr authors
 */

#ifndef _UPTR_FENCE_H_
#define _UPTR_FENCE_H_

#include <linux/dma-fence.h>
#include <linux/spinlock.h>
#include <linux/types.h>

/**
 * struct uptr_fence - the fence userspace and other drivers see of a job
 */
struct uptr_fence {
	/** @base: the fence; first member (dma_fence_free() frees it) */
	struct dma_fence base;
	/** @lock: the fence's own lock, so that it needs no device */
	spinlock_t lock;
	/** @cb: on the scheduler's finished fence of the job */
	struct dma_fence_cb cb;
};

struct uptr_fence *uptr_fence_alloc(void);
struct dma_fence *uptr_fence_arm(struct uptr_fence *fence,
				 struct dma_fence *finished, u64 context,
				 u64 seqno);

#endif /* _UPTR_FENCE_H_ */
