// SPDX-License-Identifier: BSD-2-Clause
/*
 * Trace Event Format (chrome://tracing, Perfetto) as py-spy writes it: a
 * JSON list of events; per thread, its samples in time order, a frame
 * begins (B) where a sample's root-first stack first has it and ends (E)
 * where a later sample no longer does, so the events nest. Frames are
 * compared by function, file and line (line 0 with --nolineno), so a slice
 * lasts while they stay. Each event names the function alone, with the
 * file and line in its args.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include "json.h"
#include "out_common.h"

/* py-spy's category of every event. */
#define CATEGORY "py-spy"

/* A thread unseen for this many sampling periods was off CPU: end its frames. */
#define GAP_PERIODS 3

struct ct {
	FILE *f;
	const struct view *v;
	const struct output_opts *o;
	uint64_t period_ns;
	bool first;
};

struct order {
	uint64_t ts;
	uint32_t thread;
	uint32_t pos;		/* in the timeline: ties stay in arrival order */
};

static int cmp_order(const void *x, const void *y)
{
	const struct order *a = x, *b = y;

	if (a->thread != b->thread)
		return a->thread < b->thread ? -1 : 1;
	if (a->ts != b->ts)
		return a->ts < b->ts ? -1 : 1;
	return a->pos < b->pos ? -1 : a->pos > b->pos;
}

/* The keys in py-spy's order: args, cat, name, ph, pid, tid, ts. */
static void event(struct ct *c, char ph, const struct out_thread *t, uint64_t ts,
		  const char *name, const char *filename, int line)
{
	/* Microseconds since sampling started; samples are on the same clock. */
	uint64_t us = ts > c->o->start_mono_ns ? (ts - c->o->start_mono_ns) / 1000 : 0;

	fputs(c->first ? "{\"args\":{\"filename\":" : ",\n{\"args\":{\"filename\":", c->f);
	c->first = false;
	json__str(c->f, filename);
	if (line >= 0)
		fprintf(c->f, ",\"line\":%d},\"cat\":\"" CATEGORY "\",\"name\":", line);
	else
		fputs(",\"line\":null},\"cat\":\"" CATEGORY "\",\"name\":", c->f);
	json__str(c->f, name);
	fprintf(c->f, ",\"ph\":\"%c\",\"pid\":%d,\"tid\":%d,\"ts\":%" PRIu64 "}", ph, t->pid,
		t->tid, us);
}

static void frame_event(struct ct *c, char ph, const struct out_thread *t, uint64_t ts,
			uint32_t id)
{
	const struct frame *fr = view__frame(c->v, id);

	/* No line with --nolineno: null, as py-spy writes it. */
	event(c, ph, t, ts, fr->name, fr->filename, c->o->nolineno ? -1 : fr->line);
}

/* Ends the frames of prev that cur does not share and begins cur's new ones. */
static void step(struct ct *c, const struct out_thread *t, uint64_t ts, const uint32_t *prev,
		 unsigned int np, const uint32_t *cur, unsigned int nc)
{
	unsigned int common = 0, i;

	while (common < np && common < nc && prev[common] == cur[common])
		common++;
	for (i = np; i > common; i--)
		frame_event(c, 'E', t, ts, prev[i - 1]);
	for (i = common; i < nc; i++)
		frame_event(c, 'B', t, ts, cur[i]);
}

/* A name per process and per thread, before their events: the thread's is
 * "TID: NAME", as py-spy's is (its number being Python's thread id). */
static void metadata(struct ct *c, const struct out_thread *threads, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct out_thread *t = &threads[i];
		char *s = NULL;

		if (!i || t->pid != threads[i - 1].pid) {
			fprintf(c->f, "%s{\"args\":{\"name\":", c->first ? "" : ",\n");
			json__str(c->f, t->cmdline);
			fprintf(c->f, "},\"cat\":\"" CATEGORY "\",\"name\":\"process_name\","
				"\"ph\":\"M\",\"pid\":%d,\"tid\":%d,\"ts\":0}", t->pid, t->pid);
			c->first = false;
		}
		fputs(",\n{\"args\":{\"filename\":\"\",\"line\":null,\"name\":", c->f);
		if (t->name[0] && asprintf(&s, "%d: %s", t->tid, t->name) >= 0) {
			json__str(c->f, s);
			free(s);
		} else {
			fprintf(c->f, "\"%d\"", t->tid);
		}
		fprintf(c->f, "},\"cat\":\"" CATEGORY "\",\"name\":\"thread_name\",\"ph\":\"M\","
			"\"pid\":%d,\"tid\":%d,\"ts\":0}", t->pid, t->tid);
	}
}

/* Samples in time order per thread, from the kept timeline. */
static int from_timeline(struct ct *c, const struct agg_sample *tl, size_t n,
			 const struct out_thread *threads, const uint32_t *thread_of)
{
	struct order *ord = malloc((n + 1) * sizeof(*ord));
	const uint32_t *prev = NULL, *cur;
	unsigned int np = 0, nc;
	uint64_t last = 0;
	size_t i;

	if (!ord)
		return -ENOMEM;
	if (n > UINT32_MAX)
		n = UINT32_MAX;
	for (i = 0; i < n; i++) {
		ord[i].ts = tl[i].ts_ns;
		ord[i].thread = thread_of[tl[i].stack];
		ord[i].pos = i;
	}
	if (n > 1)
		qsort(ord, n, sizeof(*ord), cmp_order);
	for (i = 0; i < n; i++) {
		const struct out_thread *t = &threads[ord[i].thread];

		if (i && ord[i].thread != ord[i - 1].thread) {
			step(c, &threads[ord[i - 1].thread], last + c->period_ns, prev, np, NULL, 0);
			np = 0;
		}
		if (np && ord[i].ts - last > GAP_PERIODS * c->period_ns) {
			step(c, t, last + c->period_ns, prev, np, NULL, 0);
			np = 0;
		}
		cur = view__stack(c->v, tl[ord[i].pos].stack, &nc);
		step(c, t, ord[i].ts, prev, np, cur, nc);
		prev = cur;
		np = nc;
		last = ord[i].ts;
	}
	if (n)
		step(c, &threads[ord[n - 1].thread], last + c->period_ns, prev, np, NULL, 0);
	free(ord);
	return 0;
}

/*
 * Without a timeline only the totals are known: each thread's distinct
 * stacks are laid end to end, each as long as its samples took.
 */
static void from_totals(struct ct *c, const struct agg *a, const struct out_thread *threads,
			size_t nthreads)
{
	for (size_t i = 0; i < nthreads; i++) {
		const struct out_thread *t = &threads[i];
		const uint32_t *prev = NULL, *cur;
		unsigned int np = 0, nc;
		uint64_t ts = c->o->start_mono_ns;

		for (size_t j = 0; j < t->nstacks; j++) {
			cur = view__stack(c->v, t->stacks[j], &nc);
			step(c, t, ts, prev, np, cur, nc);
			ts += agg__stack(a, t->stacks[j])->count * c->period_ns;
			prev = cur;
			np = nc;
		}
		step(c, t, ts, prev, np, NULL, 0);
	}
}

int write_chrometrace(FILE *f, const struct agg *a, const struct output_opts *o)
{
	struct ct c = { .f = f, .o = o, .first = true };
	struct out_thread *threads = NULL;
	const struct agg_sample *tl;
	uint32_t *thread_of = NULL;
	struct view *v = NULL;
	/* Frames carry the full file name, as py-spy's do; frames that show
	 * the same are one, so a slice merges by comparing ids. */
	struct output_opts full = *o;
	size_t nthreads = 0, n;
	int err;

	full.full_filenames = true;
	c.period_ns = o->rate ? 1000000000ULL / o->rate : 10000000ULL;
	err = view__new(a, &full, &v);
	if (!err)
		err = threads__group(a, &threads, &nthreads, &thread_of);
	if (err)
		goto cleanup;
	c.v = v;
	tl = agg__timeline(a, &n);

	putc('[', f);
	metadata(&c, threads, nthreads);
	if (tl)
		err = from_timeline(&c, tl, n, threads, thread_of);
	else
		from_totals(&c, a, threads, nthreads);
	if (err)
		goto cleanup;
	fputs("]\n", f);
	if (ferror(f))
		err = -EIO;
cleanup:
	free(thread_of);
	threads__free(threads, nthreads);
	view__free(v);
	return err;
}
