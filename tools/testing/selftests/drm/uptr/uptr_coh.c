// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The uptr authors
 *
 * The device side of the coherence tests; see uptr_coh.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/swap.h>

#include "../../kselftest.h"
#include "uptr_coh.h"

#define ZRAM_DIR	"/sys/block/zram0/"
#define ZRAM_DEV	"/dev/zram0"

static const char *const ksm_knobs[3] = {
	"run", "pages_to_scan", "sleep_millisecs",
};

/* Log a failed step of coh_dev_setup(); see uptr_counter_read_log(). */
static int coh_setup_failed(const char *step, int ret)
{
	ksft_print_msg("coh_dev_setup: %s: %s (%d)\n", step, strerror(-ret),
		       ret);
	fflush(stdout);
	return ret;
}

int coh_dev_setup(struct coh_dev *d, const char **skip)
{
	int ret;

	memset(d, 0, sizeof(*d));
	*skip = NULL;
	d->fd = uptr_open_render();
	if (d->fd < 0) {
		*skip = "no uptr render node";
		return 0;
	}
	if (uptr_debugfs_dir(d->dir, sizeof(d->dir))) {
		*skip = "no uptr debugfs directory: the tests need its counters";
		return 0;
	}
	ret = uptr_bo_create(d->fd, UPTR_COH_BUF_SIZE, &d->hbo,
			     (void **)&d->bo);
	if (ret)
		return coh_setup_failed("device buffer", ret);
	ret = uptr_bo_create(d->fd, UPTR_COH_BUF_SIZE, &d->hbusy,
			     (void **)&d->busy);
	if (ret)
		return coh_setup_failed("busy buffer", ret);
	ret = uptr_syncobj_create(d->fd, &d->sync);
	if (ret)
		return coh_setup_failed("syncobj", ret);
	ret = uptr_syncobj_create(d->fd, &d->busy_sync);
	if (ret)
		return coh_setup_failed("busy syncobj", ret);
	/* Before any userptr object: see uptr_gate.h. */
	ret = uptr_gate_init(&d->gate);
	if (ret)
		return coh_setup_failed("gate", ret);
	d->gate_on = true;
	ret = uptr_syncobj_create(d->fd, &d->gate_sync);
	if (ret)
		return coh_setup_failed("gate syncobj", ret);
	return 0;
}

int coh_run1(struct coh_dev *d, __u32 op, __u32 src, __u64 soff,
	     __u32 dst, __u64 doff, __u64 len, __u32 pattern)
{
	struct uptr_batch j = {};

	uptr_batch_cmd(&j, op, src, soff, dst, doff, len, pattern);
	return uptr_batch_run(d->fd, d->sync, &j);
}

int coh_read(struct coh_dev *d, __u32 h, __u64 off, __u64 len)
{
	memset(d->bo + off, 0xee, len);
	return coh_run1(d, DRM_UPTR_OP_COPY, h, off, d->hbo, off, len, 0);
}

int coh_write(struct coh_dev *d, __u32 h, __u64 off, __u64 len,
	      __u32 word)
{
	return coh_run1(d, DRM_UPTR_OP_FILL, 0, 0, h, off, len, word);
}

int coh_sum(struct coh_dev *d, __u32 h, __u64 off, __u64 len,
	    __u64 *sum)
{
	int ret;

	memset(d->bo, 0xee, sizeof(*sum));
	ret = coh_run1(d, DRM_UPTR_OP_CHECKSUM, h, off, d->hbo, 0, len, 0);
	memcpy(sum, d->bo, sizeof(*sum));
	return ret;
}

int coh_busy_start(struct coh_dev *d, __u32 h, __u64 len, bool write)
{
	struct uptr_batch j = {};
	int ret;

	if (!d->gate_on)
		return -ENOENT;
	ret = uptr_gate_close(&d->gate, d->fd, d->gate_sync);
	if (ret)
		return ret;
	if (write)
		uptr_batch_cmd(&j, DRM_UPTR_OP_FILL, 0, 0, h, 0, len,
			       UPTR_COH_BUSY_WORD);
	else
		uptr_batch_cmd(&j, DRM_UPTR_OP_COPY, h, 0, d->hbusy, 0, len, 0);
	uptr_batch_in(&j, d->gate_sync, 0);
	j.out.handle = d->busy_sync;
	d->busy_started0 = uptr_debugfs_value("uptr_engine", "jobs_started");
	d->busy_waits0 = uptr_debugfs_value("uptr_engine", "invalidation_waits");
	if (d->busy_started0 < 0 || d->busy_waits0 < 0)
		return -ENOENT;
	ret = uptr_batch_submit(d->fd, &j);
	if (ret)
		return ret;
	if (uptr_syncobj_status(d->fd, d->busy_sync) != 0 ||
	    uptr_debugfs_value("uptr_engine", "jobs_started") != d->busy_started0)
		return -EBUSY;
	return uptr_gate_open_on_wait(&d->gate);
}

int coh_busy_done(struct coh_dev *d)
{
	int ret = uptr_syncobj_status(d->fd, d->busy_sync);

	if (ret != 1)
		return ret;
	if (uptr_debugfs_value("uptr_engine", "invalidation_waits") <=
	    d->busy_waits0)
		return 0;
	return uptr_debugfs_value("uptr_engine", "jobs_started") ==
	       d->busy_started0 + 1;
}

int coh_busy_end(struct coh_dev *d)
{
	int ret;

	if (!d->gate_on)
		return -ENOENT;
	uptr_gate_join(&d->gate);
	uptr_gate_open(&d->gate);
	ret = uptr_syncobj_wait(d->fd, d->busy_sync, 0);
	return ret ? ret : uptr_syncobj_status(d->fd, d->busy_sync);
}

long long coh_obj_stat(struct coh_dev *d, const void *start,
		       const char *name)
{
	char path[512], key[64], *line = NULL, *p;
	long long v = -1;
	size_t cap = 0;
	unsigned long s;
	FILE *f;

	snprintf(path, sizeof(path), "%s/uptr_objects", d->dir);
	snprintf(key, sizeof(key), " %s=", name);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (getline(&line, &cap, f) > 0) {
		if (sscanf(line, "start=0x%lx", &s) != 1 ||
		    s != (uintptr_t)start)
			continue;
		p = strstr(line, key);
		if (p)
			v = atoll(p + strlen(key));
		break;
	}
	free(line);
	fclose(f);
	return v;
}

static int coh_swap_active(void)
{
	char line[256];
	int n = 0;
	FILE *f;

	f = fopen("/proc/swaps", "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		n++;
	fclose(f);
	return n > 1;
}

const char *coh_swap_on(struct coh_dev *d)
{
	char buf[32];

	if (coh_swap_active())
		return NULL;
	if (access(ZRAM_DIR, F_OK))
		uptr_read_str("/sys/class/zram-control/hot_add", buf,
			      sizeof(buf));
	if (access(ZRAM_DIR "disksize", W_OK) || access(ZRAM_DEV, F_OK))
		return "no zram0 to swap to (" ZRAM_DIR " or " ZRAM_DEV ")";
	uptr_write_str(ZRAM_DIR "reset", "1", 0);
	if (uptr_write_str(ZRAM_DIR "disksize", "64M", 0))
		return "cannot size zram0";
	if (system("mkswap " ZRAM_DEV " >/dev/null 2>&1"))
		return "mkswap " ZRAM_DEV " failed";
	if (swapon(ZRAM_DEV, 0))
		return "swapon " ZRAM_DEV " failed";
	d->swap_ours = true;
	return NULL;
}

void coh_swap_off(struct coh_dev *d)
{
	swapoff(ZRAM_DEV);
	uptr_write_str(ZRAM_DIR "reset", "1", 0);
	d->swap_ours = false;
}

int coh_ksm_start(struct coh_dev *d)
{
	char path[128];
	int i, ret;

	for (i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), UPTR_KSM_DIR "%s", ksm_knobs[i]);
		ret = uptr_read_str(path, d->ksm_saved[i],
				    sizeof(d->ksm_saved[i]));
		if (ret)
			return ret;
	}
	d->ksm_ours = true;
	ret = uptr_write_str(UPTR_KSM_DIR "pages_to_scan", "1000", 0);
	if (!ret)
		ret = uptr_write_str(UPTR_KSM_DIR "sleep_millisecs", "10", 0);
	if (!ret)
		ret = uptr_write_str(UPTR_KSM_DIR "run", "1", 0);
	return ret;
}

void coh_ksm_stop(struct coh_dev *d)
{
	char path[128];
	int i;

	uptr_write_str(UPTR_KSM_DIR "run", "2", 0);
	for (i = 2; i >= 0; i--) {
		snprintf(path, sizeof(path), UPTR_KSM_DIR "%s", ksm_knobs[i]);
		uptr_write_str(path, d->ksm_saved[i], 0);
	}
	d->ksm_ours = false;
}

void coh_dev_teardown(struct coh_dev *d)
{
	if (d->ksm_ours)
		coh_ksm_stop(d);
	if (d->swap_ours)
		coh_swap_off(d);
}
