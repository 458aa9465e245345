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
#include <unistd.h>

#include "uptr_common.h"

static int get_param(int fd, uint32_t param, uint64_t *value)
{
	struct drm_uptr_get_param p = { .param = param };
	int ret = uptr_ioctl(fd, DRM_IOCTL_UPTR_GET_PARAM, &p);

	*value = p.value;
	return ret;
}

static const char *const feature_names[] = {
	"GET_PARAM (query device parameters)",
};

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
	close(fd);
	return 0;
}
