// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include "stack.h"
#include "symcache.h"

static const struct frame *marker(struct agg *a, const char *name)
{
	return agg__frame(a, name, "", "", 0, FRAME_MARKER);
}

unsigned int stack__symbolize(struct agg *a, struct py_process *p, const struct py_stack_hdr *h,
			      const struct py_frame_rec *frs, bool function_lines,
			      const struct frame **out, struct symbolize_stats *st)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < h->nframes && i < PY_MAX_FRAMES; i++) {
		const struct frame *f;
		struct code_info ci;
		int err = frs[i].code ? symcache__lookup(p->syms, &frs[i], &ci) : -EFAULT;

		if (!err) {
			int line = function_lines ? ci.firstlineno
						  : symcache__line(p->syms, &ci, frs[i].lasti);

			f = agg__frame(a, ci.name, ci.filename, ci.short_filename, line,
				       FRAME_PYTHON);
		} else {
			if (err == -ESTALE)
				st->stale_frames++;
			st->unknown_frames++;
			f = marker(a, "<unknown>");
		}
		if (f)
			out[n++] = f;
	}
	if ((h->status & PY_S_READ_ERR) && (out[n] = marker(a, "<unreadable frame>")))
		n++;
	if ((h->status & PY_S_TRUNCATED) && (out[n] = marker(a, "<truncated>")))
		n++;
	return n;
}
