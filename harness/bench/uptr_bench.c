// SPDX-License-Identifier: GPL-2.0-only
/*
 * uptr benchmark, run by `make bench` in the guest. Not part of the patch
 * series. Everything is measured in one boot, side by side, and reported
 * as ratios: absolute numbers from a TCG guest with KASAN mean little.
 *
 *  1. bandwidth: CPU memcpy vs the device copying a userptr object into a
 *     device buffer, with the pages already valid (warm) and right after
 *     create (cold: includes the fault-in);
 *  2. fault-in cost per page: CREATE|POPULATE (hmm_range_fault + commit)
 *     vs the kernel's own GUP test path (/sys/kernel/debug/gup_test:
 *     PIN_LONGTERM_BENCHMARK, what pinning userptr designs do);
 *  3. scaling: one 4 KiB access, and the revalidation after a 4 KiB
 *     munmap/mmap, on a 4 MiB object and on a 1 GiB object;
 *  4. invalidation scope: munmap(4 KiB) of an idle object, of a page a
 *     running job does not use, and of a page it uses.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "uptr_util.h"

#define MIB		(1024UL * 1024)
#define REPS		5

/* The argument of the gup_test ioctls (mm/gup_test.h, a debugfs ABI). */
struct bench_gup_test {
	__u64 get_delta_usec;
	__u64 put_delta_usec;
	__u64 addr;
	__u64 size;
	__u32 nr_pages_per_call;
	__u32 gup_flags;
	__u32 test_flags;
	__u32 which_pages[8];
};

#define BENCH_GUP_FAST		_IOWR('g', 1, struct bench_gup_test)
#define BENCH_PIN_LONGTERM	_IOWR('g', 3, struct bench_gup_test)

/* The argument of lib/test_hmm's HMM_DMIRROR_READ (test_hmm_uapi.h). */
struct bench_dmirror_cmd {
	__u64 addr;
	__u64 ptr;
	__u64 npages;
	__u64 cpages;
	__u64 faults;
};

#define BENCH_DMIRROR_READ	_IOWR('H', 0x00, struct bench_dmirror_cmd)

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return v[n / 2];
}

static void *map_rw(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);

	if (p == MAP_FAILED) {
		perror("mmap");
		exit(1);
	}
	return p;
}

static void must(int ret, const char *what)
{
	if (ret) {
		fprintf(stderr, "%s: %s\n", what, strerror(-ret));
		exit(1);
	}
}

static double copy_us(int fd, __u32 sync, __u32 src, __u32 dst, size_t size)
{
	struct uptr_batch j = {};
	double t = now_us();

	uptr_batch_cmd(&j, DRM_UPTR_OP_COPY, src, 0, dst, 0, size, 0);
	if (uptr_batch_run(fd, sync, &j) != 1) {
		fprintf(stderr, "copy job failed\n");
		exit(1);
	}
	return now_us() - t;
}

/*
 * lib/test_hmm: a fresh mirror faults the range in with hmm_range_fault()
 * and copies it out: the kernel's own HMM path for the cold device copy.
 */
static void bench_dmirror(void *src, void *dst, size_t size, double uptr_us)
{
	double v[REPS];
	int i;

	for (i = 0; i < REPS; i++) {
		struct bench_dmirror_cmd c = {
			.addr = (uintptr_t)src,
			.ptr = (uintptr_t)dst,
			.npages = size / 4096,
		};
		int hfd = open("/dev/hmm_dmirror0", O_RDWR);
		double t;

		if (hfd < 0) {
			printf("  (no /dev/hmm_dmirror0: CONFIG_TEST_HMM off)\n");
			return;
		}
		t = now_us();
		if (ioctl(hfd, BENCH_DMIRROR_READ, &c)) {
			perror("HMM_DMIRROR_READ");
			close(hfd);
			return;
		}
		v[i] = now_us() - t;
		close(hfd);
	}
	printf("  test_hmm fresh mirror read %9.0f us  %7.1f MiB/s  uptr first use / test_hmm %.2f\n",
	       median(v, REPS), size / MIB / (median(v, REPS) / 1e6),
	       uptr_us / median(v, REPS));
}

static void bench_bandwidth(int fd, __u32 sync, size_t size)
{
	double cpu[REPS], warm[REPS], cold[REPS];
	void *src = map_rw(size), *dst = map_rw(size);
	__u32 bo, h;
	int i;

	memset(src, 0x5a, size);
	must(uptr_bo_create(fd, size, &bo, NULL), "bo create");
	for (i = 0; i < REPS; i++) {
		double t = now_us();

		memcpy(dst, src, size);
		cpu[i] = now_us() - t;
	}
	for (i = 0; i < REPS; i++) {
		must(uptr_create(fd, src, size, 0, &h), "create");
		cold[i] = copy_us(fd, sync, h, bo, size);
		warm[i] = copy_us(fd, sync, h, bo, size);
		uptr_gem_close(fd, h);
	}
	printf("bandwidth, %zu MiB (median of %d):\n", size / MIB, REPS);
	printf("  CPU memcpy                 %9.0f us  %7.1f MiB/s\n",
	       median(cpu, REPS), size / MIB / (median(cpu, REPS) / 1e6));
	printf("  device copy, pages valid   %9.0f us  %7.1f MiB/s  %.2fx memcpy time\n",
	       median(warm, REPS), size / MIB / (median(warm, REPS) / 1e6),
	       median(warm, REPS) / median(cpu, REPS));
	printf("  device copy, first use     %9.0f us  %7.1f MiB/s  %.2fx memcpy time\n",
	       median(cold, REPS), size / MIB / (median(cold, REPS) / 1e6),
	       median(cold, REPS) / median(cpu, REPS));
	bench_dmirror(src, dst, size, median(cold, REPS));
	munmap(src, size);
	munmap(dst, size);
	uptr_gem_close(fd, bo);
}

static void bench_fault_in(int fd, size_t size)
{
	double hmm[REPS], pin[REPS], gup[REPS];
	void *buf = map_rw(size);
	struct bench_gup_test g = {
		.addr = (uintptr_t)buf,
		.size = size,
		.nr_pages_per_call = 512,
		.gup_flags = 1,	/* FOLL_WRITE */
	};
	int gfd, i, have_gup;
	__u32 h;

	memset(buf, 1, size);
	gfd = open("/sys/kernel/debug/gup_test", O_RDWR);
	have_gup = gfd >= 0;
	for (i = 0; i < REPS; i++) {
		double t = now_us();

		must(uptr_create(fd, buf, size, DRM_UPTR_CREATE_POPULATE, &h),
		     "create populate");
		hmm[i] = now_us() - t;
		uptr_gem_close(fd, h);
		if (have_gup) {
			if (ioctl(gfd, BENCH_PIN_LONGTERM, &g)) {
				perror("gup_test");
				have_gup = 0;
				continue;
			}
			pin[i] = g.get_delta_usec + g.put_delta_usec;
			if (ioctl(gfd, BENCH_GUP_FAST, &g))
				have_gup = 0;
			gup[i] = g.get_delta_usec + g.put_delta_usec;
		}
	}
	printf("fault-in of %zu MiB of resident anonymous memory (median):\n",
	       size / MIB);
	printf("  uptr CREATE|POPULATE (hmm_range_fault + dirty + commit) "
	       "%8.0f us  %6.2f us/page\n", median(hmm, REPS),
	       median(hmm, REPS) / (size / 4096));
	if (have_gup) {
		printf("  gup_test PIN_LONGTERM pin+unpin                        "
		       "%8.0f us  %6.2f us/page  uptr/pin %.2f\n",
		       median(pin, REPS), median(pin, REPS) / (size / 4096),
		       median(hmm, REPS) / median(pin, REPS));
		printf("  gup_test GUP_FAST get+put                              "
		       "%8.0f us  %6.2f us/page  uptr/gup %.2f\n",
		       median(gup, REPS), median(gup, REPS) / (size / 4096),
		       median(hmm, REPS) / median(gup, REPS));
	} else {
		printf("  (no /sys/kernel/debug/gup_test: CONFIG_GUP_TEST off)\n");
	}
	if (gfd >= 0)
		close(gfd);
	munmap(buf, size);
}

/* One 4 KiB access, after that page was replaced, on an object of @size. */
static double access_us(int fd, __u32 sync, size_t size, double *first)
{
	const int iters = 50;
	double t0, total = 0;
	struct uptr_batch j = {};
	char *buf = mmap(NULL, size, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	char *page = buf + size / 2;
	__u32 h;
	int i;

	if (buf == MAP_FAILED)
		exit(1);
	must(uptr_create(fd, buf, size, 0, &h), "create");
	uptr_batch_cmd(&j, DRM_UPTR_OP_FILL, 0, 0, h, size / 2, 4096, 7);
	t0 = now_us();
	if (uptr_batch_run(fd, sync, &j) != 1)
		exit(1);
	*first = now_us() - t0;
	for (i = 0; i < iters; i++) {
		mmap(page, 4096, PROT_READ | PROT_WRITE,
		     MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		t0 = now_us();
		if (uptr_batch_run(fd, sync, &j) != 1)
			exit(1);
		total += now_us() - t0;
	}
	uptr_gem_close(fd, h);
	munmap(buf, size);
	return total / iters;
}

static void bench_scaling(int fd, __u32 sync)
{
	double f_small, f_big, small, big;

	small = access_us(fd, sync, 4 * MIB, &f_small);
	big = access_us(fd, sync, 1024 * MIB, &f_big);
	printf("4 KiB access to an object, cost vs object size:\n");
	printf("  first access:        4 MiB object %7.0f us, 1 GiB object %7.0f us, ratio %.2f\n",
	       f_small, f_big, f_big / f_small);
	printf("  after 4 KiB remap:   4 MiB object %7.0f us, 1 GiB object %7.0f us, ratio %.2f\n",
	       small, big, big / small);
}

/* munmap() of the page at @page; microseconds. */
static double munmap_us(char *page)
{
	double t = now_us();

	if (munmap(page, 4096)) {
		perror("munmap");
		exit(1);
	}
	return now_us() - t;
}

/* Map the pages back and make all of them valid again. */
static void scope_refill(int fd, __u32 sync, __u32 h, char *buf, size_t size)
{
	struct uptr_batch j = {};

	if (mmap(buf, size, PROT_READ | PROT_WRITE,
		 MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE,
		 -1, 0) != buf)
		exit(1);
	uptr_batch_cmd(&j, DRM_UPTR_OP_FILL, 0, 0, h, 0, size, 1);
	if (uptr_batch_run(fd, sync, &j) != 1)
		exit(1);
}

/*
 * 4. Invalidation scope: munmap() of one valid page of a 64-page object,
 * idle, then while a job that the engine holds for @hold_ms (debugfs
 * uptr_delay_ms) uses pages 0-15 of it: of a page the job does not use
 * (should cost what an idle one does), and of a page it uses (waits).
 */
static void bench_scope(int fd, __u32 sync)
{
	const size_t size = 64 * 4096;
	const int hold_ms = 3000;
	double idle[REPS * 2], busy[REPS * 2], touched;
	char *buf = map_rw(size);
	struct uptr_batch j = {};
	__u32 h, held;
	int i;

	must(uptr_create(fd, buf, size, 0, &h), "create");
	must(uptr_syncobj_create(fd, &held), "syncobj");
	scope_refill(fd, sync, h, buf, size);
	for (i = 0; i < REPS * 2; i++)
		idle[i] = munmap_us(buf + (32 + i) * 4096);

	scope_refill(fd, sync, h, buf, size);
	must(uptr_debugfs_write("uptr_delay_ms", hold_ms), "uptr_delay_ms");
	uptr_batch_cmd(&j, DRM_UPTR_OP_FILL, 0, 0, h, 0, 16 * 4096, 2);
	j.out.handle = held;
	must(uptr_batch_submit(fd, &j), "submit");
	usleep(100 * 1000);	/* the engine has taken it */
	for (i = 0; i < REPS * 2; i++)
		busy[i] = munmap_us(buf + (32 + i) * 4096);
	touched = munmap_us(buf);
	must(uptr_debugfs_write("uptr_delay_ms", 0), "uptr_delay_ms");
	uptr_syncobj_wait(fd, held, 0);

	printf("invalidation scope: munmap(4 KiB) of a 64-page object (median of %d):\n",
	       REPS * 2);
	printf("  idle object               %7.0f us\n", median(idle, REPS * 2));
	printf("  page no running job uses  %7.0f us  (%.2fx idle)\n",
	       median(busy, REPS * 2), median(busy, REPS * 2) / median(idle, REPS * 2));
	printf("  page the running job uses %7.0f us  (waits for the job: %d ms engine hold)\n",
	       touched, hold_ms);
	uptr_gem_close(fd, h);
	munmap(buf, size);
}

int main(void)
{
	struct utsname uts;
	__u32 sync;
	int fd = uptr_open_render();

	if (fd < 0) {
		printf("no uptr render node\n");
		return 1;
	}
	must(uptr_syncobj_create(fd, &sync), "syncobj");
	uname(&uts);
	/* The debug kernel of make check has kmemleak; make bench's has not. */
	printf("uptr benchmark, %s, kernel %s (TCG guest: compare ratios, not absolutes)\n\n",
	       access("/sys/kernel/debug/kmemleak", F_OK) ?
	       "kernel without debug options" : "debug kernel (KASAN, lockdep...)",
	       uts.release);
	bench_bandwidth(fd, sync, 16 * MIB);
	printf("\n");
	bench_fault_in(fd, 16 * MIB);
	printf("\n");
	bench_scaling(fd, sync);
	printf("\n");
	bench_scope(fd, sync);
	return 0;
}
