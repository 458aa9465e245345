// SPDX-License-Identifier: GPL-2.0-only
/*
 * uptr demo, run by `make run` in the guest: shows in plain words what the
 * driver does. Not part of the patch series.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "uptr_util.h"

static int get_param(int fd, uint32_t param, uint64_t *value)
{
	struct drm_uptr_get_param p = { .param = param };
	int ret = uptr_ioctl(fd, DRM_IOCTL_UPTR_GET_PARAM, &p);

	*value = p.value;
	return ret;
}

static const char *const feature_names[] = {
	"GET_PARAM (query device parameters)",
	"USERPTR (GEM objects backed by user memory, mirrored with HMM)",
	"ENGINE (device buffers and a copy engine with syncobjs)",
};

#define PAGE	4096UL
#define NPAGES	8

static int submit_wait(int fd, struct drm_uptr_cmd *cmds, unsigned int n,
		       __u32 sync)
{
	struct drm_uptr_submit s = {
		.cmds = (__u64)(uintptr_t)cmds,
		.cmd_count = n,
		.cmd_stride = sizeof(*cmds),
		.out_sync = { .handle = sync },
	};
	struct drm_syncobj_wait w = {
		.handles = (__u64)(uintptr_t)&sync,
		.count_handles = 1,
		.timeout_nsec = INT64_MAX,
	};
	int ret = uptr_ioctl(fd, DRM_IOCTL_UPTR_SUBMIT, &s);

	return ret ? ret : uptr_ioctl(fd, DRM_IOCTL_SYNCOBJ_WAIT, &w);
}

static void print_counters(const char *when)
{
	struct uptr_stats st;
	char dir[256];

	if (uptr_debugfs_dir(dir, sizeof(dir)) || uptr_debugfs_stats(dir, &st)) {
		printf("  (driver counters unavailable: is debugfs mounted?)\n");
		return;
	}
	printf("  driver counters %s: %lld pages faulted in %lld calls, "
	       "%lld commit retries, %lld invalidations (%lld munmap, "
	       "%lld clear), %lld pages dropped\n", when, st.pages_faulted,
	       st.fault_calls, st.retries, st.invalidations, st.event_unmap,
	       st.event_clear, st.pages_invalidated);
}

/* The device at work on memory that malloc() returned. */
static int demo_userptr(int fd)
{
	struct drm_syncobj_create sc = {};
	struct drm_uptr_cmd cmds[2];
	unsigned char *buf, *p;
	__u32 handle, *w;
	size_t i, bad;
	int ret;

	if (posix_memalign((void **)&buf, PAGE, NPAGES * PAGE))
		return 1;
	memset(buf, 0, NPAGES * PAGE);
	if (uptr_ioctl(fd, DRM_IOCTL_SYNCOBJ_CREATE, &sc))
		return 1;
	ret = uptr_create(fd, buf, NPAGES * PAGE, 0, &handle);
	if (ret) {
		printf("CREATE failed: %s\n", strerror(-ret));
		return 1;
	}
	printf("\nWrapped a %lu KiB malloc() buffer at %p in GEM handle %u "
	       "(no page pinned).\n", NPAGES * PAGE / 1024, (void *)buf, handle);
	print_counters("after create");

	/* The device fills the first half and copies it to the second. */
	memset(cmds, 0, sizeof(cmds));
	cmds[0].op = DRM_UPTR_OP_FILL;
	cmds[0].dst_handle = handle;
	cmds[0].length = NPAGES / 2 * PAGE;
	cmds[0].pattern = 0xcafef00d;
	cmds[1].op = DRM_UPTR_OP_COPY;
	cmds[1].src_handle = handle;
	cmds[1].dst_handle = handle;
	cmds[1].dst_offset = NPAGES / 2 * PAGE;
	cmds[1].length = NPAGES / 2 * PAGE;
	ret = submit_wait(fd, cmds, 2, sc.handle);
	if (ret) {
		printf("SUBMIT failed: %s\n", strerror(-ret));
		return 1;
	}
	w = (__u32 *)buf;
	for (bad = 0, i = 0; i < NPAGES * PAGE / 4; i++)
		bad += w[i] != 0xcafef00d;
	printf("The device filled half the buffer with 0xcafef00d and copied "
	       "it to the other half:\n  the CPU reads %zu of %lu words "
	       "wrong.\n", bad, NPAGES * PAGE / 4);
	print_counters("after the job");

	/* Replace two pages under the device's feet. */
	p = mmap(buf + 2 * PAGE, 2 * PAGE, PROT_READ | PROT_WRITE,
		 MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return 1;
	memset(p, 0x5a, 2 * PAGE);
	printf("\nThe CPU replaced pages 2-3 with new memory (mmap MAP_FIXED) "
	       "holding 0x5a bytes.\n");
	print_counters("after the remap");

	memset(cmds, 0, sizeof(cmds));
	cmds[0].op = DRM_UPTR_OP_COPY;
	cmds[0].src_handle = handle;
	cmds[0].src_offset = 2 * PAGE;
	cmds[0].dst_handle = handle;
	cmds[0].dst_offset = 6 * PAGE;
	cmds[0].length = 2 * PAGE;
	ret = submit_wait(fd, cmds, 1, sc.handle);
	if (ret) {
		printf("SUBMIT failed: %s\n", strerror(-ret));
		return 1;
	}
	for (bad = 0, i = 6 * PAGE; i < 8 * PAGE; i++)
		bad += buf[i] != 0x5a;
	printf("The device copied pages 2-3 to 6-7: it read the new pages "
	       "(%zu wrong bytes),\n  not the ones it had used before.\n", bad);
	print_counters("after the second job");
	return bad ? 1 : 0;
}

int main(void)
{
	char name[32] = {}, date[32] = {}, desc[128] = {};
	struct drm_version v = {
		.name = name, .name_len = sizeof(name) - 1,
		.date = date, .date_len = sizeof(date) - 1,
		.desc = desc, .desc_len = sizeof(desc) - 1,
	};
	uint64_t features, max_size, page_size;
	unsigned int bit;
	int fd;

	fd = uptr_open_render();
	if (fd < 0) {
		printf("No uptr render node found: is the driver loaded? (%s)\n",
		       strerror(errno));
		return 1;
	}
	if (uptr_ioctl(fd, DRM_IOCTL_VERSION, &v)) {
		printf("DRM_IOCTL_VERSION failed: %s\n", strerror(errno));
		return 1;
	}
	printf("Opened the uptr render node: driver \"%s\" version %d.%d.%d\n",
	       name, v.version_major, v.version_minor,
	       v.version_patchlevel);
	printf("  %s\n", desc);

	if (get_param(fd, DRM_UPTR_PARAM_FEATURES, &features) ||
	    get_param(fd, DRM_UPTR_PARAM_MAX_OBJECT_SIZE, &max_size) ||
	    get_param(fd, DRM_UPTR_PARAM_PAGE_SIZE, &page_size)) {
		printf("GET_PARAM failed: %s\n", strerror(errno));
		return 1;
	}
	printf("Capabilities (feature mask 0x%" PRIx64 "):\n", features);
	for (bit = 0; bit < 64; bit++) {
		if (!(features & (1ULL << bit)))
			continue;
		if (bit < sizeof(feature_names) / sizeof(feature_names[0]))
			printf("  - %s\n", feature_names[bit]);
		else
			printf("  - feature bit %u\n", bit);
	}
	printf("Largest userptr object: %" PRIu64 " MiB\n", max_size >> 20);
	printf("Address/size granule:  %" PRIu64 " bytes\n", page_size);
	if (demo_userptr(fd))
		return 1;
	close(fd);
	return 0;
}
