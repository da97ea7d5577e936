/* SPDX-License-Identifier: BSD-2-Clause */
/* --native: a sample's Python and C frames merged into one stack. */
#ifndef PYSPY_NATIVE_STACK_H
#define PYSPY_NATIVE_STACK_H

#include <stdbool.h>
#include "aggregate.h"
#include "native.h"
#include "stack.h"
#include "pyspy.h"

struct native_stack_in {
	/* The stack record's frames (with PY_LASTI_ENTRY), and the frames
	 * stack__symbolize() made of them: py[i] is frs[i]'s for i < nraw,
	 * then the root's markers, npy in all. */
	const struct py_frame_rec *frs;
	unsigned int nraw;
	const struct frame *const *py;
	unsigned int npy;
	/* The native record of the same sample. */
	const struct py_native_hdr *nh;
	const struct py_native_frame *nf;
	/* Every C frame, the eval loop's too, each followed by what it ran:
	 * for debugging the interpreter itself. */
	bool all;
};

/* Names a C frame (file, address) and says what it is: native__frame(),
 * or a test's own. */
typedef const struct frame *(*native_namer_fn)(void *ctx, struct agg *a, uint32_t file,
					       uint64_t addr, struct native_name *nn);

/* The merged stack, innermost first, into out (room for cap frames);
 * returns its length. Counts into st. */
unsigned int native_stack__merge_with(native_namer_fn name, void *ctx, struct native_stats *st,
				      struct agg *a, const struct native_stack_in *in,
				      const struct frame **out, unsigned int cap);
/* The same, named by nt's files. */
unsigned int native_stack__merge(struct native *nt, struct agg *a, const struct native_stack_in *in,
				 const struct frame **out, unsigned int cap);

/* Room a merged stack may need. */
#define NATIVE_STACK_MAX (STACK_MAX + PY_MAX_NATIVE)

#endif
