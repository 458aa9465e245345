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
 *
 * Driver version 1.1 bounds what one caller can ask for, and rejects
 * what 1.0 accepted in these cases only:
 *
 * - SUBMIT fails with -E2BIG above %DRM_UPTR_PARAM_MAX_JOB_BYTES bytes or
 *   %DRM_UPTR_PARAM_MAX_JOB_PAGES userptr pages per job (also for a single
 *   command longer than the byte limit), and with -EINVAL for a command
 *   stride above 4096 bytes;
 * - a job is stopped with -ETIMEDOUT also while it executes;
 * - memory the kernel cannot map (memfd_secret) and VM_MIXEDMAP ranges are
 *   refused with -EFAULT by PROBE, POPULATE and SUBMIT, as mappings of I/O
 *   memory and VM_PFNMAP ranges were already.
 *
 * Driver version 1.2 tells apart what 1.1 reported with one errno:
 *
 * - SUBMIT with a userptr object of another address space fails with
 *   -EXDEV (1.1: -EPERM, which now means only a writable object over a
 *   read-only mapping);
 * - %DRM_UPTR_PARAM_FEATURES no longer reports bit 0 (GET_PARAM, which
 *   userspace needed in order to read it).
 */

/**
 * enum drm_uptr_ioctl_id - ioctl numbers, relative to %DRM_COMMAND_BASE
 *
 * Append only: an ioctl number is never reused or renumbered.
 */
enum drm_uptr_ioctl_id {
	/** @DRM_UPTR_GET_PARAM: query a device parameter */
	DRM_UPTR_GET_PARAM = 0,
	/** @DRM_UPTR_CREATE: wrap a range of user memory in a GEM object */
	DRM_UPTR_CREATE = 1,
	/** @DRM_UPTR_BO_CREATE: create a device buffer */
	DRM_UPTR_BO_CREATE = 2,
	/** @DRM_UPTR_BO_MMAP_OFFSET: get the mmap offset of a device buffer */
	DRM_UPTR_BO_MMAP_OFFSET = 3,
	/** @DRM_UPTR_SUBMIT: queue a job on the copy engine */
	DRM_UPTR_SUBMIT = 4,
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
	/**
	 * @DRM_UPTR_PARAM_MAX_CMDS: most commands one
	 * %DRM_IOCTL_UPTR_SUBMIT accepts
	 */
	DRM_UPTR_PARAM_MAX_CMDS = 3,
	/**
	 * @DRM_UPTR_PARAM_MAX_SYNCS: most in-syncobjs one
	 * %DRM_IOCTL_UPTR_SUBMIT accepts
	 */
	DRM_UPTR_PARAM_MAX_SYNCS = 4,
	/**
	 * @DRM_UPTR_PARAM_CMD_SIZE: size in bytes of &struct drm_uptr_cmd as
	 * the driver knows it; &drm_uptr_submit.cmd_stride may be larger
	 * (the extra bytes must be zero) or as small as the first version of
	 * the struct (the missing fields read as zero).
	 */
	DRM_UPTR_PARAM_CMD_SIZE = 5,
	/**
	 * @DRM_UPTR_PARAM_MAX_JOB_BYTES: most bytes the commands of one
	 * %DRM_IOCTL_UPTR_SUBMIT may process, summed over their
	 * &drm_uptr_cmd.length; above it the submission fails with -E2BIG.
	 * Since driver version 1.1.
	 */
	DRM_UPTR_PARAM_MAX_JOB_BYTES = 6,
	/**
	 * @DRM_UPTR_PARAM_MAX_JOB_PAGES: most userptr pages one
	 * %DRM_IOCTL_UPTR_SUBMIT may use, counted per command and side (the
	 * pages each command's source and destination range touches in a
	 * userptr object); above it the submission fails with -E2BIG.
	 * Since driver version 1.1.
	 */
	DRM_UPTR_PARAM_MAX_JOB_PAGES = 7,
};

/**
 * enum drm_uptr_feature - bits reported by %DRM_UPTR_PARAM_FEATURES
 *
 * Append only. A bit is set when the corresponding UAPI is implemented.
 * %DRM_IOCTL_UPTR_GET_PARAM itself has no bit: it is there in every
 * driver version.
 */
enum drm_uptr_feature {
	/* Bit 0 is reserved: driver versions before 1.2 set it. */
	/**
	 * @DRM_UPTR_FEATURE_USERPTR: %DRM_IOCTL_UPTR_CREATE is available with
	 * the %DRM_UPTR_CREATE_READ_ONLY, %DRM_UPTR_CREATE_PROBE and
	 * %DRM_UPTR_CREATE_POPULATE flags.
	 */
	DRM_UPTR_FEATURE_USERPTR = 1 << 1,
	/**
	 * @DRM_UPTR_FEATURE_ENGINE: the copy engine is available:
	 * %DRM_IOCTL_UPTR_BO_CREATE, %DRM_IOCTL_UPTR_BO_MMAP_OFFSET and
	 * %DRM_IOCTL_UPTR_SUBMIT with binary and timeline syncobjs.
	 */
	DRM_UPTR_FEATURE_ENGINE = 1 << 2,
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

/**
 * DOC: userptr objects
 *
 * %DRM_IOCTL_UPTR_CREATE turns a page-aligned range of the caller's address
 * space into a GEM object. The object is not a copy: the device reads and
 * writes the pages that back the range in the CPU page table at the time of
 * each use, and follows every change to them (munmap, mremap, madvise,
 * migration, fork COW, KSM, swap, writeback, ...). No page is pinned.
 *
 * The object belongs to the address space (mm) of the process that created
 * it: using it for device access from another mm (after fork, or through a
 * DRM fd passed to another process, also after the creator exited) fails
 * with -EPERM.
 *
 * Userptr objects have no CPU mapping of their own (the user already has
 * one) and cannot be shared: requesting an mmap offset fails with -EINVAL
 * and exporting them as a dma-buf (PRIME) fails with -EPERM.
 *
 * Errors of %DRM_IOCTL_UPTR_CREATE:
 *
 * - -EINVAL: unknown flag, non-zero &drm_uptr_create.extensions or
 *   &drm_uptr_create.pad, zero size, address or size not aligned to
 *   %DRM_UPTR_PARAM_PAGE_SIZE or (on a 32-bit kernel) too large for an
 *   unsigned long, or address + size overflowing;
 * - -E2BIG: size above %DRM_UPTR_PARAM_MAX_OBJECT_SIZE;
 * - -EFAULT: the range is not in the user address space (access_ok()), or,
 *   with %DRM_UPTR_CREATE_PROBE, not entirely covered by mappings of
 *   ordinary memory (a hole, VM_PFNMAP, VM_MIXEDMAP or VM_IO, or
 *   memfd_secret() memory, which the kernel cannot map), or, with
 *   %DRM_UPTR_CREATE_POPULATE, a page could not be faulted in or is such
 *   memory;
 * - -EPERM: %DRM_UPTR_CREATE_POPULATE on a writable object over a mapping
 *   without write permission (the same errno a later device use gets);
 * - -EAGAIN: %DRM_UPTR_CREATE_POPULATE kept racing with invalidations of
 *   the range; restart the ioctl;
 * - -ENOMEM: out of memory; -ENOSPC: no GEM handle left.
 *
 * Like every DRM ioctl it may also fail with -EFAULT (argument not
 * readable) or -ENODEV (device unplugged).
 */

/**
 * define DRM_UPTR_CREATE_READ_ONLY - the device may only read the object
 *
 * Works on read-only mappings (PROT_READ, read-only file mappings). A
 * command that writes such an object fails with -EACCES.
 */
#define DRM_UPTR_CREATE_READ_ONLY	(1 << 0)
/**
 * define DRM_UPTR_CREATE_PROBE - check the range's mappings at create time
 *
 * Fails with -EFAULT unless the whole range is mapped by ordinary memory
 * with struct pages (no hole, no VM_PFNMAP, VM_MIXEDMAP or VM_IO, no
 * memfd_secret() memory).
 */
#define DRM_UPTR_CREATE_PROBE		(1 << 1)
/**
 * define DRM_UPTR_CREATE_POPULATE - fault the whole range in at create time
 *
 * Fails as a later device use would (-EFAULT, -EPERM, -EAGAIN).
 */
#define DRM_UPTR_CREATE_POPULATE	(1 << 2)
/**
 * define DRM_UPTR_CREATE_FLAGS - every flag %DRM_IOCTL_UPTR_CREATE knows
 */
#define DRM_UPTR_CREATE_FLAGS		(DRM_UPTR_CREATE_READ_ONLY | \
					 DRM_UPTR_CREATE_PROBE | \
					 DRM_UPTR_CREATE_POPULATE)

/**
 * struct drm_uptr_create - argument of %DRM_IOCTL_UPTR_CREATE
 */
struct drm_uptr_create {
	/** @extensions: MBZ; reserved for a chain of extensions */
	__u64 extensions;
	/**
	 * @user_ptr: in, first byte of the range, aligned to
	 * %DRM_UPTR_PARAM_PAGE_SIZE; tagged pointers are accepted
	 */
	__u64 user_ptr;
	/** @user_size: in, length in bytes, aligned, not zero */
	__u64 user_size;
	/** @flags: in, DRM_UPTR_CREATE_* */
	__u32 flags;
	/** @handle: out, GEM handle of the new object */
	__u32 handle;
	/** @pad: MBZ */
	__u64 pad;
};

/**
 * DOC: device buffers and the copy engine
 *
 * The virtual device has memory of its own: device buffers, created with
 * %DRM_IOCTL_UPTR_BO_CREATE and mapped by the CPU through the offset that
 * %DRM_IOCTL_UPTR_BO_MMAP_OFFSET returns. Userptr objects have no such
 * offset (-EINVAL).
 *
 * %DRM_IOCTL_UPTR_SUBMIT queues one job on the device's copy engine: an
 * array of &struct drm_uptr_cmd executed in order, on any mix of userptr
 * objects and device buffers. Jobs of one DRM file run in submission
 * order; jobs are ordered against each other by implicit synchronisation
 * (each object's reservation: a job that writes an object waits for every
 * earlier job on it, a job that reads it waits for earlier writers) and by
 * explicit syncobjs: the job waits for every &drm_uptr_submit.in_syncs
 * fence and its completion fence is installed in
 * &drm_uptr_submit.out_sync.
 *
 * The whole submission is checked before anything is queued: on any error
 * no job runs and no syncobj changes. Errors of %DRM_IOCTL_UPTR_SUBMIT:
 *
 * - -EINVAL: non-zero MBZ field or flag, zero or too many commands or
 *   syncs, a stride smaller than the first version of &struct
 *   drm_uptr_cmd or larger than 4096, unknown opcode, zero length, a
 *   range out of its object, misaligned FILL/CHECKSUM, COPY or CHECKSUM
 *   between overlapping bytes of one object or of two userptr objects
 *   over the same user addresses, an in-syncobj without a fence (binary)
 *   or whose timeline point has not been submitted yet;
 * - -E2BIG: the commands process more than %DRM_UPTR_PARAM_MAX_JOB_BYTES
 *   or use more than %DRM_UPTR_PARAM_MAX_JOB_PAGES userptr pages. The
 *   bytes are counted as each command is copied in, before anything else
 *   of it is checked: a command that is too long and invalid otherwise
 *   gets -E2BIG;
 * - -ENOENT: a GEM handle or syncobj handle does not exist;
 * - -EACCES: a command writes to an object created with
 *   %DRM_UPTR_CREATE_READ_ONLY;
 * - -EXDEV: a userptr object of another process' address space (one
 *   created before a fork(), used by the child);
 * - -EPERM: a writable userptr object (created without
 *   %DRM_UPTR_CREATE_READ_ONLY) over memory that is mapped read-only: such
 *   an object is always faulted in for writing, so reading it fails too;
 * - -EFAULT: an unreadable argument array, or a userptr range that is not
 *   (or no longer) backed by ordinary memory (as for
 *   %DRM_UPTR_CREATE_PROBE);
 * - -EAGAIN: the userptr ranges kept being invalidated while the job was
 *   being committed; restart the ioctl;
 * - -ENODEV: the device was unplugged;
 * - -ENOMEM, -EINTR, -ERESTARTSYS.
 *
 * Overlap is checked by user address: a COPY between two mappings of the
 * same memory (a memfd mapped twice, say) is not detected, and what it
 * leaves in the destination is undefined; nothing else is affected.
 *
 * A job that does not finish within the engine's timeout, counted from
 * the moment the engine takes it (other jobs starting or being submitted
 * do not extend it), is stopped and its fence signalled with -ETIMEDOUT:
 * a job that had not started never touched memory; one that was executing
 * stopped between two slices of its work, with part of its writes done.
 * A job whose work is all done is never failed. Closing a DRM file waits
 * (killable) until its jobs have been handed to the engine, and they run;
 * when the process was killed, the jobs not handed over yet are cancelled
 * and their fences signalled with an error (-ESRCH or -ECANCELED). The
 * error is visible through the syncobj's fence (export it as a
 * sync_file).
 */

/**
 * enum drm_uptr_op - opcodes of &struct drm_uptr_cmd
 */
enum drm_uptr_op {
	/**
	 * @DRM_UPTR_OP_COPY: copy &drm_uptr_cmd.length bytes from (src_handle,
	 * src_offset) to (dst_handle, dst_offset). The two ranges must not
	 * overlap.
	 */
	DRM_UPTR_OP_COPY = 1,
	/**
	 * @DRM_UPTR_OP_FILL: fill (dst_handle, dst_offset, length) with the
	 * 32-bit &drm_uptr_cmd.pattern, in the CPU's byte order. Offset and
	 * length must be multiples of 4; src_handle must be 0.
	 */
	DRM_UPTR_OP_FILL = 2,
	/**
	 * @DRM_UPTR_OP_CHECKSUM: read (src_handle, src_offset, length) and
	 * write at (dst_handle, dst_offset) a __u64: the sum, modulo 2^64, of
	 * the range's 32-bit words in the CPU's byte order. Offset and
	 * length of the source must be multiples of 4; the source is only
	 * read.
	 */
	DRM_UPTR_OP_CHECKSUM = 3,
};

/**
 * struct drm_uptr_cmd - one command of a job
 *
 * Commands are passed as an array with a stride, so that fields can be
 * appended (see %DRM_UPTR_PARAM_CMD_SIZE).
 */
struct drm_uptr_cmd {
	/** @op: one of &enum drm_uptr_op */
	__u32 op;
	/** @flags: MBZ */
	__u32 flags;
	/** @src_handle: GEM handle read by COPY and CHECKSUM; 0 for FILL */
	__u32 src_handle;
	/** @dst_handle: GEM handle written */
	__u32 dst_handle;
	/** @src_offset: byte offset in @src_handle */
	__u64 src_offset;
	/** @dst_offset: byte offset in @dst_handle */
	__u64 dst_offset;
	/** @length: bytes to copy, fill or sum; not zero */
	__u64 length;
	/** @pattern: FILL's 32-bit value; MBZ for other opcodes */
	__u32 pattern;
	/** @pad: MBZ */
	__u32 pad;
};

/**
 * struct drm_uptr_sync - a syncobj and a timeline point
 */
struct drm_uptr_sync {
	/** @handle: syncobj handle; 0 for none (out_sync only) */
	__u32 handle;
	/** @flags: MBZ */
	__u32 flags;
	/**
	 * @point: timeline point; 0 for a binary syncobj (or to wait for a
	 * timeline syncobj's current fence)
	 */
	__u64 point;
};

/**
 * struct drm_uptr_submit - argument of %DRM_IOCTL_UPTR_SUBMIT
 */
struct drm_uptr_submit {
	/** @cmds: user pointer to @cmd_count commands, @cmd_stride apart */
	__u64 cmds;
	/** @in_syncs: user pointer to @in_sync_count &struct drm_uptr_sync */
	__u64 in_syncs;
	/** @cmd_count: number of commands, 1 to %DRM_UPTR_PARAM_MAX_CMDS */
	__u32 cmd_count;
	/** @cmd_stride: bytes between commands, normally sizeof(struct drm_uptr_cmd) */
	__u32 cmd_stride;
	/** @in_sync_count: syncobjs to wait for, 0 to %DRM_UPTR_PARAM_MAX_SYNCS */
	__u32 in_sync_count;
	/** @flags: MBZ */
	__u32 flags;
	/**
	 * @out_sync: syncobj (binary if @out_sync.point is 0, else a
	 * timeline point) that receives the job's fence; handle 0 for none
	 */
	struct drm_uptr_sync out_sync;
};

/**
 * struct drm_uptr_bo_create - argument of %DRM_IOCTL_UPTR_BO_CREATE
 */
struct drm_uptr_bo_create {
	/** @size: in, bytes, rounded up to the page size; not zero */
	__u64 size;
	/** @flags: MBZ */
	__u32 flags;
	/** @handle: out, GEM handle */
	__u32 handle;
};

/**
 * struct drm_uptr_bo_mmap_offset - argument of %DRM_IOCTL_UPTR_BO_MMAP_OFFSET
 */
struct drm_uptr_bo_mmap_offset {
	/** @handle: in, a device buffer */
	__u32 handle;
	/** @pad: MBZ */
	__u32 pad;
	/** @offset: out, to pass to mmap() on the DRM fd */
	__u64 offset;
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
/**
 * define DRM_IOCTL_UPTR_CREATE - create a userptr GEM object
 *
 * See "userptr objects" above for the errors.
 */
#define DRM_IOCTL_UPTR_CREATE		DRM_IOCTL_UPTR(WR, CREATE, create)
/**
 * define DRM_IOCTL_UPTR_BO_CREATE - create a device buffer
 *
 * Fails with -EINVAL for a zero size or non-zero flags, -E2BIG above
 * 1 GiB (device buffers are pinned), -ENOMEM.
 */
#define DRM_IOCTL_UPTR_BO_CREATE	DRM_IOCTL_UPTR(WR, BO_CREATE, bo_create)
/**
 * define DRM_IOCTL_UPTR_BO_MMAP_OFFSET - mmap offset of a device buffer
 *
 * Fails with -ENOENT for an unknown handle, -EINVAL for a non-zero pad or
 * a userptr object.
 */
#define DRM_IOCTL_UPTR_BO_MMAP_OFFSET	DRM_IOCTL_UPTR(WR, BO_MMAP_OFFSET, bo_mmap_offset)
/**
 * define DRM_IOCTL_UPTR_SUBMIT - queue a job on the copy engine
 *
 * See "device buffers and the copy engine" above for the errors.
 */
#define DRM_IOCTL_UPTR_SUBMIT		DRM_IOCTL_UPTR(W, SUBMIT, submit)

#if defined(__cplusplus)
}
#endif

#endif /* _UPTR_DRM_H_ */
