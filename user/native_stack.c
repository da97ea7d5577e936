// SPDX-License-Identifier: BSD-2-Clause
/*
 * One stack from a sample's Python frames and its C frames (native.h).
 *
 * Each activation of the eval loop in the C stack ran a run of Python
 * frames: one before 3.11, a chain of them since, the first of which the
 * walker marked (PY_LASTI_ENTRY). Innermost first, the C frames are copied
 * and every eval-loop frame is replaced by the next run of Python frames.
 * The two are paired from the leaf: an unwind that stopped early loses the
 * C frames near the root, and the Python frames it did not reach are put
 * there, in their order, so nothing the walker saw is lost.
 */
#include <stdio.h>
#include "native_int.h"
#include "native_stack.h"

/* The end (exclusive) of the run of Python frames starting at i: up to and
 * including the next entry frame. */
static unsigned int run_end(const struct py_frame_rec *frs, unsigned int i, unsigned int nraw)
{
	while (i < nraw && !(frs[i].lasti & PY_LASTI_ENTRY))
		i++;
	return i < nraw ? i + 1 : nraw;
}

struct merge {
	const struct frame **out;
	unsigned int n, cap;
};

static void put(struct merge *m, const struct frame *f)
{
	if (f && m->n < m->cap)
		m->out[m->n++] = f;
}

unsigned int native_stack__merge_with(native_namer_fn name, void *ctx, struct native_stats *st,
				      struct agg *a, const struct native_stack_in *in,
				      const struct frame **out, unsigned int cap)
{
	struct merge m = { .out = out, .cap = cap };
	unsigned int py = 0, nraw = in->nraw, keep = 0, i;
	bool paired = false;
	const struct py_native_hdr *nh = in->nh;

	/* A Python stack that did not come out frame for frame (out of
	 * memory) is not split into runs: it goes whole at the root. */
	if (in->npy < nraw)
		nraw = 0;
	if (nh->end < PY_NE__MAX)
		st->end[nh->end]++;
	for (i = 0; i < nh->nframes && i < PY_MAX_NATIVE; i++) {
		const struct py_native_frame *nf = &in->nf[i];
		struct native_name nn;
		const struct frame *f;

		/* A return address belongs to the call before it. */
		f = name(ctx, a, nf->file, i ? nf->addr - 1 : nf->addr, &nn);
		if (nn.eval && py < nraw) {
			unsigned int end = run_end(in->frs, py, nraw);

			for (; py < end; py++)
				put(&m, in->py[py]);
			paired = true;
			if (in->all)
				put(&m, f);
			keep = m.n;
			continue;
		}
		if (nn.eval)
			keep = m.n;
		if (!in->all && (nn.eval || nn.machinery))
			continue;
		put(&m, f);
	}
	/* Rootward of the outermost eval loop: the interpreter's start-up or
	 * a thread's bootstrap. */
	if (paired && !in->all && py == nraw)
		m.n = keep;
	if (py < nraw && nh->end == PY_NE_ROOT)
		st->unmatched++;
	for (i = py; i < in->npy; i++)
		put(&m, in->py[i]);
	return m.n;
}

static const struct frame *name_by_files(void *ctx, struct agg *a, uint32_t file, uint64_t addr,
					 struct native_name *nn)
{
	return native__frame(ctx, a, file, addr, nn);
}

unsigned int native_stack__merge(struct native *nt, struct agg *a, const struct native_stack_in *in,
				 const struct frame **out, unsigned int cap)
{
	return native_stack__merge_with(name_by_files, nt, native__stats_mut(nt), a, in, out, cap);
}
