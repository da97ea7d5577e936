// SPDX-License-Identifier: BSD-2-Clause
/*
 * speedscope's file format (https://www.speedscope.app/file-format-schema.json):
 * one shared frame table and a "sampled" profile per thread, each distinct
 * stack once with its samples' time as the weight, as py-spy writes it:
 * profiles named by thread, frames with the full file name.
 */
#include <errno.h>
#include <stdlib.h>
#include "json.h"
#include "out_common.h"

static void frame_json(FILE *f, const struct frame *fr)
{
	fputs("{\"name\":", f);
	json__str(f, fr->name);
	if (fr->kind != FRAME_MARKER && fr->filename[0]) {
		fputs(",\"file\":", f);
		json__str(f, fr->filename);
		if (fr->line > 0)
			fprintf(f, ",\"line\":%d", fr->line);
	}
	putc('}', f);
}

/* py-spy's: Thread 18037 "MainThread", with the process first when there
 * are several. */
static void profile_name(FILE *f, const struct out_thread *t, bool with_process)
{
	char *s = NULL;
	int n;

	if (with_process)
		n = asprintf(&s, "Process %d Thread %d \"%s\"", t->pid, t->tid, t->name);
	else
		n = asprintf(&s, "Thread %d \"%s\"", t->tid, t->name);
	json__str(f, n < 0 ? "Thread" : s);
	if (n >= 0)
		free(s);
}

int write_speedscope(FILE *f, const struct agg *a, const struct output_opts *o)
{
	struct out_thread *threads = NULL;
	struct view *v = NULL;
	size_t nthreads = 0, i, j, busiest = 0;
	/* Without a rate the weights stay sample counts. */
	double period = o->rate ? 1.0 / o->rate : 1.0;
	const char *unit = o->rate ? "seconds" : "none";
	bool with_process;
	/* Frames carry the full file name, as py-spy's do. */
	struct output_opts full = *o;
	int err;

	full.full_filenames = true;
	err = view__new(a, &full, &v);
	if (!err)
		err = threads__group(a, &threads, &nthreads, NULL);
	if (err)
		goto cleanup;
	with_process = o->process_roots || (nthreads && threads[0].pid != threads[nthreads - 1].pid);

	fputs("{\"$schema\":\"https://www.speedscope.app/file-format-schema.json\",\n"
	      "\"shared\":{\"frames\":[", f);
	for (i = 0; i < view__nframes(v); i++) {
		if (i)
			putc(',', f);
		putc('\n', f);
		frame_json(f, view__frame(v, i));
	}
	fputs("]},\n\"profiles\":[", f);
	for (i = 0; i < nthreads; i++) {
		const struct out_thread *t = &threads[i];

		if (t->total > threads[busiest].total)
			busiest = i;
		fputs(i ? ",\n{" : "\n{", f);
		fputs("\"type\":\"sampled\",\"name\":", f);
		profile_name(f, t, with_process);
		fprintf(f, ",\"unit\":\"%s\",\"startValue\":0,\"endValue\":", unit);
		json__num(f, t->total * period);
		fputs(",\n\"samples\":[", f);
		for (j = 0; j < t->nstacks; j++) {
			unsigned int n, k;
			const uint32_t *ids = view__stack(v, t->stacks[j], &n);

			fputs(j ? ",[" : "[", f);
			for (k = 0; k < n; k++)
				fprintf(f, k ? ",%u" : "%u", ids[k]);
			putc(']', f);
		}
		fputs("],\n\"weights\":[", f);
		for (j = 0; j < t->nstacks; j++) {
			if (j)
				putc(',', f);
			json__num(f, agg__stack(a, t->stacks[j])->count * period);
		}
		fputs("]}", f);
	}
	fputs("],\n\"name\":", f);
	if (nthreads && !with_process)
		json__str(f, threads[0].cmdline);
	else
		json__str(f, o->command && o->command[0] ? o->command : "pyspy-bpf");
	fprintf(f, ",\n\"activeProfileIndex\":%zu,\n\"exporter\":", busiest);
	json__str(f, "pyspy-bpf " PYSPY_VERSION);
	fputs("}\n", f);
	if (ferror(f))
		err = -EIO;
cleanup:
	threads__free(threads, nthreads);
	view__free(v);
	return err;
}
