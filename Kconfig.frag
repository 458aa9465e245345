# SPDX-License-Identifier: GPL-2.0-only
# Config fragment to build and test uptr. Merge it into any config, e.g.
#   scripts/kconfig/merge_config.sh .config Kconfig.frag
CONFIG_MMU=y
CONFIG_DRM=y
# A module, as distributions ship it: the guest loads, unloads and
# reloads it. The KUnit suites are built into the module and run when it
# is loaded.
CONFIG_MODULES=y
CONFIG_MODULE_UNLOAD=y
CONFIG_DRM_UPTR=m
CONFIG_KUNIT=y
CONFIG_DRM_UPTR_KUNIT_TEST=y
# Userspace-controlled fences (sw_sync) for the ordering kselftests
CONFIG_SW_SYNC=y
