// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include "stack.h"
#include "symcache.h"

enum { M_UNKNOWN, M_UNREADABLE, M_TRUNCATED, M__MAX };

static const char *const marker_names[M__MAX] = {
	[M_UNKNOWN] = "<unknown>",
	[M_UNREADABLE] = "<unreadable frame>",
	[M_TRUNCATED] = "<truncated>",
};

/* The marker frames of the aggregation last used (single-threaded callers). */
static struct {
	uint64_t gen;
	const struct frame *f[M__MAX];
} markers;

static const struct frame *marker(struct agg *a, int which)
{
	if (markers.gen != agg__gen(a)) {
		markers.gen = agg__gen(a);
		for (int i = 0; i < M__MAX; i++)
			markers.f[i] = NULL;
	}
	if (!markers.f[which])
		markers.f[which] = agg__frame(a, marker_names[which], "", "", 0, FRAME_MARKER);
	return markers.f[which];
}

/*
 * A frame costs two lookups of integers once seen: the code object's entry
 * and the site of its instruction, which remembers the line and the frame it
 * was interned as in this aggregation. Strings are hashed and line tables
 * decoded only for a new (code, instruction) or a new aggregation.
 */
static const struct frame *python_frame(struct agg *a, struct py_process *p,
					const struct py_frame_rec *rec, bool function_lines,
					int *err)
{
	struct symcache_site *site;
	const struct frame *f;
	struct code_info ci;
	uint64_t gen = agg__gen(a);

	*err = symcache__site(p->syms, rec, function_lines, &ci, &site);
	if (*err)
		return NULL;
	if (site->gen == gen)
		return site->val;
	f = agg__frame(a, ci.name, ci.filename, ci.short_filename, site->line, FRAME_PYTHON);
	if (f) {
		site->gen = gen;
		site->val = f;
	}
	return f;
}

unsigned int stack__symbolize(struct agg *a, struct py_process *p, const struct py_stack_hdr *h,
			      const struct py_frame_rec *frs, bool function_lines,
			      const struct frame **out, struct symbolize_stats *st)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < h->nframes && i < PY_MAX_FRAMES; i++) {
		const struct frame *f;
		int err = -EFAULT;

		f = frs[i].code ? python_frame(a, p, &frs[i], function_lines, &err) : NULL;
		if (err) {
			if (err == -ESTALE)
				st->stale_frames++;
			st->unknown_frames++;
			f = marker(a, M_UNKNOWN);
		}
		if (f)
			out[n++] = f;
	}
	if ((h->status & PY_S_READ_ERR) && (out[n] = marker(a, M_UNREADABLE)))
		n++;
	if ((h->status & PY_S_TRUNCATED) && (out[n] = marker(a, M_TRUNCATED)))
		n++;
	return n;
}
