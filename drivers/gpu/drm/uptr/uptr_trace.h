/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Copyright (C) 2026 The uptr authors
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM uptr

#if !defined(_UPTR_TRACE_H_) || defined(TRACE_HEADER_MULTI_READ)
#define _UPTR_TRACE_H_

#include <linux/tracepoint.h>

#include "uptr_mirror.h"

TRACE_EVENT(uptr_mirror_fault,
	    TP_PROTO(struct uptr_mirror *mirror, unsigned long start,
		     unsigned long npages, int ret),
	    TP_ARGS(mirror, start, npages, ret),
	    TP_STRUCT__entry(__field(const void *, mirror)
			     __field(unsigned long, start)
			     __field(unsigned long, npages)
			     __field(int, ret)),
	    TP_fast_assign(__entry->mirror = mirror;
			   __entry->start = start;
			   __entry->npages = npages;
			   __entry->ret = ret;),
	    TP_printk("mirror=%p start=0x%lx npages=%lu ret=%d",
		      __entry->mirror, __entry->start, __entry->npages,
		      __entry->ret)
);

DECLARE_EVENT_CLASS(uptr_mirror_span,
		    TP_PROTO(struct uptr_mirror *mirror, unsigned long start,
			     unsigned long end, unsigned long n),
		    TP_ARGS(mirror, start, end, n),
		    TP_STRUCT__entry(__field(const void *, mirror)
				     __field(unsigned long, start)
				     __field(unsigned long, end)
				     __field(unsigned long, n)),
		    TP_fast_assign(__entry->mirror = mirror;
				   __entry->start = start;
				   __entry->end = end;
				   __entry->n = n;),
		    TP_printk("mirror=%p range=[0x%lx, 0x%lx) n=%lu",
			      __entry->mirror, __entry->start, __entry->end,
			      __entry->n)
);

/* n: the retry count so far */
DEFINE_EVENT(uptr_mirror_span, uptr_mirror_retry,
	     TP_PROTO(struct uptr_mirror *mirror, unsigned long start,
		      unsigned long end, unsigned long n),
	     TP_ARGS(mirror, start, end, n)
);

/* n: the notifier sequence the commit was checked against */
DEFINE_EVENT(uptr_mirror_span, uptr_mirror_commit,
	     TP_PROTO(struct uptr_mirror *mirror, unsigned long start,
		      unsigned long end, unsigned long n),
	     TP_ARGS(mirror, start, end, n)
);

TRACE_DEFINE_ENUM(MMU_NOTIFY_UNMAP);
TRACE_DEFINE_ENUM(MMU_NOTIFY_CLEAR);
TRACE_DEFINE_ENUM(MMU_NOTIFY_PROTECTION_VMA);
TRACE_DEFINE_ENUM(MMU_NOTIFY_PROTECTION_PAGE);
TRACE_DEFINE_ENUM(MMU_NOTIFY_SOFT_DIRTY);
TRACE_DEFINE_ENUM(MMU_NOTIFY_RELEASE);
TRACE_DEFINE_ENUM(MMU_NOTIFY_MIGRATE);
TRACE_DEFINE_ENUM(MMU_NOTIFY_EXCLUSIVE);

#define uptr_show_mmu_event(event)				\
	__print_symbolic(event,					\
			 { MMU_NOTIFY_UNMAP, "unmap" },		\
			 { MMU_NOTIFY_CLEAR, "clear" },		\
			 { MMU_NOTIFY_PROTECTION_VMA, "protection_vma" }, \
			 { MMU_NOTIFY_PROTECTION_PAGE, "protection_page" }, \
			 { MMU_NOTIFY_SOFT_DIRTY, "soft_dirty" },	\
			 { MMU_NOTIFY_RELEASE, "release" },	\
			 { MMU_NOTIFY_MIGRATE, "migrate" },	\
			 { MMU_NOTIFY_EXCLUSIVE, "exclusive" })

TRACE_EVENT(uptr_mirror_invalidate,
	    TP_PROTO(struct uptr_mirror *mirror, unsigned long start,
		     unsigned long end, int event, unsigned long dropped,
		     bool blockable),
	    TP_ARGS(mirror, start, end, event, dropped, blockable),
	    TP_STRUCT__entry(__field(const void *, mirror)
			     __field(unsigned long, start)
			     __field(unsigned long, end)
			     __field(int, event)
			     __field(unsigned long, dropped)
			     __field(bool, blockable)),
	    TP_fast_assign(__entry->mirror = mirror;
			   __entry->start = start;
			   __entry->end = end;
			   __entry->event = event;
			   __entry->dropped = dropped;
			   __entry->blockable = blockable;),
	    TP_printk("mirror=%p range=[0x%lx, 0x%lx) event=%s dropped=%lu blockable=%d",
		      __entry->mirror, __entry->start, __entry->end,
		      uptr_show_mmu_event(__entry->event), __entry->dropped,
		      __entry->blockable)
);

#endif /* _UPTR_TRACE_H_ */

#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE uptr_trace
#include <trace/define_trace.h>
