/* SPDX-License-Identifier: BSD-2-Clause */
/* One ring-buffer stack record -> interned frames, shared by record, dump and top. */
#ifndef PYSPY_STACK_H
#define PYSPY_STACK_H

#include <stdbool.h>
#include <stdint.h>
#include "aggregate.h"
#include "pyproc.h"
#include "pyspy.h"

struct symbolize_stats {
	uint64_t unknown_frames;	/* frames shown as <unknown> */
	uint64_t stale_frames;		/* of which: code address reused before lookup */
	uint64_t unreadable_names;	/* frames whose name or file is <unreadable> */
};

/*
 * Fills out[] (room for STACK_MAX) with the record's frames, innermost
 * first: <not code> in place of a frame whose code is no code object, and
 * at the root end a marker for each way the walk ended short (<unreadable
 * frame>, <cycle>, <corrupt frame>, <truncated>); with function_lines, a
 * frame's line is its function's first line. Returns the number of frames.
 */
#define STACK_MAX (PY_MAX_FRAMES + 4)

unsigned int stack__symbolize(struct agg *a, struct py_process *p, const struct py_stack_hdr *h,
			      const struct py_frame_rec *frs, bool function_lines,
			      const struct frame **out, struct symbolize_stats *st);

/*
 * Symbolized stacks remembered by their records: a sample that repeats a
 * stack seen earlier in the same aggregation costs one hash of its records
 * instead of two lookups per frame. Bounded: a fixed number of slots, and
 * only stacks of at most STACK_MEMO_MAX_FRAMES frames.
 */
#define STACK_MEMO_SLOTS 1024
#define STACK_MEMO_MAX_FRAMES 128

struct stack_memo;

struct stack_memo *stack_memo__new(void);
void stack_memo__free(struct stack_memo *m);
/* Forgets every stack: call when a process is dropped. */
void stack_memo__clear(struct stack_memo *m);

/* stack__symbolize() through m (which may be NULL). */
unsigned int stack__symbolize_memo(struct stack_memo *m, struct agg *a, struct py_process *p,
				   const struct py_stack_hdr *h, const struct py_frame_rec *frs,
				   bool function_lines, const struct frame **out,
				   struct symbolize_stats *st);

/* Decodes a stack record; 0 or -EINVAL when malformed. */
int record__decode_stack(const void *data, size_t size, const struct py_stack_hdr **hdr,
			 const struct py_frame_rec **frames);

/* Decodes a frame addresses record (--async) into *hdr and addrs (room
 * for PY_MAX_FRAMES); 0 or -EINVAL when malformed. */
int record__decode_addrs(const void *data, size_t size, struct py_addrs_hdr *hdr,
			 uint64_t *addrs);

/* Decodes a native record (--native) into *hdr and frames (room for
 * PY_MAX_NATIVE); 0 or -EINVAL when malformed. */
int record__decode_native(const void *data, size_t size, struct py_native_hdr *hdr,
			  struct py_native_frame *frames);

#endif
