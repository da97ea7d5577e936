// SPDX-License-Identifier: BSD-2-Clause
/*
 * Trace Event Format (chrome://tracing, Perfetto): per thread, its samples in
 * time order; a frame begins (B) where a sample's root-first stack first has
 * it and ends (E) where a later sample no longer does, so the events nest.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include "json.h"
#include "out_common.h"

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

static void event_head(struct ct *c, char ph, const struct out_thread *t, uint64_t ts)
{
	/* Microseconds since sampling started; samples are on the same clock. */
	double us = ts > c->o->start_mono_ns ? (ts - c->o->start_mono_ns) / 1e3 : 0;

	fprintf(c->f, "%s{\"ph\":\"%c\",\"pid\":%d,\"tid\":%d,\"ts\":%.3f", c->first ? "" : ",\n",
		ph, t->pid, t->tid, us);
	c->first = false;
}

static void frame_event(struct ct *c, char ph, const struct out_thread *t, uint64_t ts,
			uint32_t id)
{
	const struct frame *fr = view__frame(c->v, id);

	event_head(c, ph, t, ts);
	fputs(",\"name\":", c->f);
	json__str(c->f, view__label(c->v, id));
	if (ph == 'B') {
		fprintf(c->f, ",\"cat\":\"%s\"",
			fr->kind == FRAME_PYTHON ? "python" :
			fr->kind == FRAME_NATIVE ? "native" : "marker");
		if (fr->kind != FRAME_MARKER && fr->filename[0]) {
			fputs(",\"args\":{\"file\":", c->f);
			json__str(c->f, fr->filename);
			fprintf(c->f, ",\"line\":%d}", fr->line);
		}
	}
	putc('}', c->f);
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

static void metadata(struct ct *c, const struct out_thread *threads, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct out_thread *t = &threads[i];

		if (!i || t->pid != threads[i - 1].pid) {
			fprintf(c->f, "%s{\"ph\":\"M\",\"name\":\"process_name\",\"pid\":%d,"
				"\"tid\":0,\"args\":{\"name\":", c->first ? "" : ",\n", t->pid);
			json__str(c->f, t->cmdline);
			fputs("}}", c->f);
			c->first = false;
		}
		fprintf(c->f, ",\n{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":%d,\"tid\":%d,"
			"\"args\":{\"name\":", t->pid, t->tid);
		json__str(c->f, t->name);
		fputs("}}", c->f);
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
	size_t nthreads = 0, n;
	int err;

	c.period_ns = o->rate ? 1000000000ULL / o->rate : 10000000ULL;
	err = view__new(a, o, &v);
	if (!err)
		err = threads__group(a, &threads, &nthreads, &thread_of);
	if (err)
		goto cleanup;
	c.v = v;
	tl = agg__timeline(a, &n);

	fputs("{\"traceEvents\":[\n", f);
	metadata(&c, threads, nthreads);
	if (tl)
		err = from_timeline(&c, tl, n, threads, thread_of);
	else
		from_totals(&c, a, threads, nthreads);
	if (err)
		goto cleanup;
	fputs("\n],\n\"displayTimeUnit\":\"ms\",\n\"otherData\":{\"exporter\":", f);
	json__str(f, "pyspy-bpf " PYSPY_VERSION);
	if (o->command) {
		fputs(",\"command\":", f);
		json__str(f, o->command);
	}
	fprintf(f, ",\"rate\":\"%u\",\"timeline\":\"%s\"}}\n", o->rate,
		tl ? "samples" : "aggregated");
	if (ferror(f))
		err = -EIO;
cleanup:
	free(thread_of);
	threads__free(threads, nthreads);
	view__free(v);
	return err;
}
