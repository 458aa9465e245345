// SPDX-License-Identifier: GPL-2.0-only
/*
 * Copyright (C) 2026 The uptr authors
 */

#define CREATE_TRACE_POINTS
#include "uptr_trace.h"
