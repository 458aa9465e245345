# SPDX-License-Identifier: GPL-2.0-only
# uptr build-and-test harness. Not part of the patch series: the kernel
# files live at their kernel-tree paths, this drives building and testing.
#
#   make check      static checks + debug kernel + KUnit + kselftests in QEMU
#   make run        build and boot the guest, run the demo
#   make shell      interactive guest shell
#   make vm-run PROG=<static binary> [ARGS="..."]
#   make bench      benchmarks, side by side in one boot (ratios)
#   make kunit      tools/testing/kunit/kunit.py with the driver's .kunitconfig
#   make mutants    seed each bug of harness/mutants.list, report killed or
#                   survived (MUTANTS="name ..." for some only)
#   make static     only the static checks
#   make distro-check  uptr as a module: Debian's config, W=1, C=2, and
#                   DKMS-style against Debian's headers (symbols resolved)
#   make tree       only extract/overlay/wire the kernel tree
#   make series     the driver as a patch series on pristine 6.12, in out/series/
#   make lint       per patch of the series: checkpatch --strict, and the
#                   driver objects and selftests build (bisectability)
#
# Knobs: KSRC=/path/to/linux (use an existing tree), JOBS=N, VERBOSE=1
# (full console while checking), SELFTEST=warn (harness self-test: must
# fail), STRESS_SECONDS=N (longer stress runs), NO_CCACHE=1.

H := $(CURDIR)/harness
export KSRC JOBS VERBOSE SELFTEST STRESS_SECONDS NO_CCACHE VM_TIMEOUT OUT
export MUTANTS MUTANTS_BASELINE MUTANT_STRESS MUTANT_TIMEOUT

.PHONY: all check run shell vm-run bench kunit mutants static tree deps clean \
	distclean distro-check series lint

all: check

check:
	@$(H)/check.sh

run:
	@$(H)/run.sh run

shell:
	@$(H)/run.sh shell

vm-run:
	@$(H)/run.sh prog "$(PROG)" $(ARGS)

bench:
	@$(H)/run.sh bench

kunit:
	@$(H)/kunit.sh

mutants:
	@$(H)/mutants.sh

static:
	@$(H)/deps.sh && $(H)/build.sh configure && $(H)/static.sh && \
		python3 $(H)/results.py --static-only $(or $(OUT),out)/logs/static.tap || true

distro-check:
	@$(H)/distro-check.sh

series:
	@$(H)/series.sh

lint: series
	@$(H)/lint.sh

tree:
	@$(H)/deps.sh && $(H)/tree.sh

deps:
	@$(H)/deps.sh

clean:
	rm -rf out/build out/kselftest out/initramfs out/initramfs.gz out/logs out/kunit out/mutants

distclean:
	rm -rf out
