// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "hashmap.h"
#include "out_common.h"

int frame__text(const struct frame *fr, const struct output_opts *o, char *buf, size_t len)
{
	const char *file = o->full_filenames ? fr->filename : fr->short_filename;

	if (fr->kind == FRAME_MARKER || !file[0])
		return snprintf(buf, len, "%s", fr->name);
	if (o->nolineno || fr->line <= 0)
		return snprintf(buf, len, "%s (%s)", fr->name, file);
	return snprintf(buf, len, "%s (%s:%d)", fr->name, file, fr->line);
}

int process_frame__text(int pid, int ns_pid, const char *cmdline, char *buf, size_t len)
{
	if (ns_pid && ns_pid != pid)
		return snprintf(buf, len, "process %d (%d in its namespace):\"%s\"", pid, ns_pid,
				cmdline);
	return snprintf(buf, len, "process %d:\"%s\"", pid, cmdline);
}

int process_root__text(const struct stack_trace *st, char *buf, size_t len)
{
	return process_frame__text(st->pid, st->ns_pid, st->cmdline, buf, len);
}

/* py-spy's: the kernel's thread id, and the name when the thread has one. */
int thread_root__text(const struct stack_trace *st, char *buf, size_t len)
{
	if (!st->thread_name || !st->thread_name[0])
		return snprintf(buf, len, "thread (%d)", st->os_thread_id);
	return snprintf(buf, len, "thread (%d): %s", st->os_thread_id, st->thread_name);
}

struct view {
	const struct output_opts *o;
	/* Interns the frames as shown: equal text, equal pointer. */
	struct agg *shown;
	/* Frame pointer (the caller's or a shown one) -> id + 1. */
	struct hashmap *ids;
	const struct frame **frames;
	char **labels;
	size_t nframes, cap;
	uint32_t *stack_ids;
	size_t *off;		/* stack idx -> first id in stack_ids; off[n] = end */
	size_t nstacks;
};

static int shown_id(struct view *v, const struct frame *fr, uint32_t *id)
{
	void *val = hashmap__get(v->ids, (uintptr_t)fr);
	int len;

	if (val) {
		*id = (uintptr_t)val - 1;
		return 0;
	}
	if (v->nframes == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 256;
		const struct frame **f = realloc(v->frames, cap * sizeof(*f));
		char **l;

		if (!f)
			return -ENOMEM;
		v->frames = f;
		l = realloc(v->labels, cap * sizeof(*l));
		if (!l)
			return -ENOMEM;
		v->labels = l;
		v->cap = cap;
	}
	len = frame__text(fr, v->o, NULL, 0);
	v->labels[v->nframes] = malloc(len + 1);
	if (!v->labels[v->nframes])
		return -ENOMEM;
	frame__text(fr, v->o, v->labels[v->nframes], len + 1);
	if (hashmap__put(v->ids, (uintptr_t)fr, (void *)(uintptr_t)(v->nframes + 1))) {
		free(v->labels[v->nframes]);
		return -ENOMEM;
	}
	v->frames[v->nframes] = fr;
	*id = v->nframes++;
	return 0;
}

static int frame_id(struct view *v, const struct frame *fr, uint32_t *id)
{
	const char *file = v->o->full_filenames ? fr->filename : fr->short_filename;
	const struct frame *s;
	void *val = hashmap__get(v->ids, (uintptr_t)fr);
	int err;

	if (val) {
		*id = (uintptr_t)val - 1;
		return 0;
	}
	s = agg__frame(v->shown, fr->name, file, file, v->o->nolineno ? 0 : fr->line, fr->kind);
	if (!s)
		return -ENOMEM;
	err = shown_id(v, s, id);
	if (!err && hashmap__put(v->ids, (uintptr_t)fr, (void *)(uintptr_t)(*id + 1)))
		err = -ENOMEM;
	return err;
}

/* A synthetic root by its text: a process is one frame whether it is the
 * root of its own stacks or an ancestor of another's. */
static int marker_id(struct view *v, const char *text, uint32_t *id)
{
	const struct frame *s = agg__frame(v->shown, text, "", "", 0, FRAME_MARKER);

	return s ? shown_id(v, s, id) : -ENOMEM;
}

static int root_id(struct view *v, const struct stack_trace *st,
		   int (*text)(const struct stack_trace *, char *, size_t), uint32_t *id)
{
	int len = text(st, NULL, 0), err;
	char *buf = malloc(len + 1);

	if (!buf)
		return -ENOMEM;
	text(st, buf, len + 1);
	err = marker_id(v, buf, id);
	free(buf);
	return err;
}

int view__new(const struct agg *a, const struct output_opts *o, struct view **out)
{
	struct view *v = calloc(1, sizeof(*v));
	size_t total = 0, idx, at = 0;
	int err = -ENOMEM;

	*out = NULL;
	if (!v)
		return -ENOMEM;
	v->o = o;
	v->nstacks = agg__stacks(a);
	v->shown = agg__new();
	v->ids = hashmap__new();
	v->off = calloc(v->nstacks + 1, sizeof(*v->off));
	if (!v->shown || !v->ids || !v->off)
		goto fail;
	for (idx = 0; idx < v->nstacks; idx++)
		total += agg__stack(a, idx)->nframes + agg__stack(a, idx)->nancestors + 2;
	v->stack_ids = malloc((total + 1) * sizeof(*v->stack_ids));
	if (!v->stack_ids)
		goto fail;
	for (idx = 0; idx < v->nstacks; idx++) {
		const struct stack_trace *st = agg__stack(a, idx);

		v->off[idx] = at;
		for (unsigned int i = 0; o->process_roots && i < st->nancestors; i++) {
			err = marker_id(v, st->ancestors[i]->name, &v->stack_ids[at++]);
			if (err)
				goto fail;
		}
		if (o->process_roots) {
			err = root_id(v, st, process_root__text, &v->stack_ids[at++]);
			if (err)
				goto fail;
		}
		if (o->threads) {
			err = root_id(v, st, thread_root__text, &v->stack_ids[at++]);
			if (err)
				goto fail;
		}
		for (int i = (int)st->nframes - 1; i >= 0; i--) {
			err = frame_id(v, st->frames[i], &v->stack_ids[at++]);
			if (err)
				goto fail;
		}
	}
	v->off[v->nstacks] = at;
	*out = v;
	return 0;
fail:
	view__free(v);
	return err;
}

void view__free(struct view *v)
{
	if (!v)
		return;
	for (size_t i = 0; i < v->nframes; i++)
		free(v->labels[i]);
	free(v->labels);
	free(v->frames);
	free(v->stack_ids);
	free(v->off);
	hashmap__free(v->ids);
	agg__free(v->shown);
	free(v);
}

size_t view__nframes(const struct view *v)
{
	return v->nframes;
}

const struct frame *view__frame(const struct view *v, uint32_t id)
{
	return v->frames[id];
}

const char *view__label(const struct view *v, uint32_t id)
{
	return v->labels[id];
}

const uint32_t *view__stack(const struct view *v, size_t idx, unsigned int *n)
{
	*n = v->off[idx + 1] - v->off[idx];
	return v->stack_ids + v->off[idx];
}

static int cmp_thread(const void *x, const void *y)
{
	const struct out_thread *a = x, *b = y;

	if (a->pid != b->pid)
		return a->pid < b->pid ? -1 : 1;
	return a->tid < b->tid ? -1 : a->tid > b->tid;
}

int threads__group(const struct agg *a, struct out_thread **out, size_t *n,
		   uint32_t **thread_of)
{
	size_t nstacks = agg__stacks(a), nt = 0, i;
	struct hashmap *m = hashmap__new();
	struct out_thread *t = calloc(nstacks + 1, sizeof(*t));
	uint32_t *of = calloc(nstacks + 1, sizeof(*of));
	uint64_t *best = calloc(nstacks + 1, sizeof(*best));
	int err = -ENOMEM;

	*out = NULL;
	*n = 0;
	if (thread_of)
		*thread_of = NULL;
	if (!m || !t || !of || !best)
		goto cleanup;
	/* Pass 1: which thread each stack belongs to, and the threads' sizes. */
	for (i = 0; i < nstacks; i++) {
		const struct stack_trace *st = agg__stack(a, i);
		uint64_t key = (uint64_t)(uint32_t)st->pid << 32 | (uint32_t)st->os_thread_id;
		void *val = hashmap__get(m, key);
		struct out_thread *th;

		if (!val) {
			if (hashmap__put(m, key, (void *)(uintptr_t)(nt + 1)))
				goto cleanup;
			val = (void *)(uintptr_t)(++nt);
			th = &t[nt - 1];
			th->pid = st->pid;
			th->tid = st->os_thread_id;
			th->thread_id = st->thread_id;
			th->name = st->thread_name;
			th->cmdline = st->cmdline;
		}
		of[i] = (uintptr_t)val - 1;
		th = &t[of[i]];
		th->nstacks++;
		th->total += st->count;
		if (st->count > best[of[i]]) {
			best[of[i]] = st->count;
			th->name = st->thread_name;
			th->cmdline = st->cmdline;
			th->thread_id = st->thread_id;
		}
	}
	for (i = 0; i < nt; i++) {
		t[i].stacks = malloc(t[i].nstacks * sizeof(*t[i].stacks) + 1);
		if (!t[i].stacks)
			goto cleanup;
		t[i].nstacks = 0;
	}
	for (i = 0; i < nstacks; i++)
		t[of[i]].stacks[t[of[i]].nstacks++] = i;
	/* Sort, then renumber: best[] now maps old index -> new. */
	if (nt > 1)
		qsort(t, nt, sizeof(*t), cmp_thread);
	for (i = 0; i < nt; i++) {
		uint64_t key = (uint64_t)(uint32_t)t[i].pid << 32 | (uint32_t)t[i].tid;

		best[(uintptr_t)hashmap__get(m, key) - 1] = i;
	}
	for (i = 0; i < nstacks; i++)
		of[i] = best[of[i]];
	*out = t;
	*n = nt;
	t = NULL;
	if (thread_of) {
		*thread_of = of;
		of = NULL;
	}
	err = 0;
cleanup:
	if (t)
		threads__free(t, nt);
	free(of);
	free(best);
	hashmap__free(m);
	return err;
}

void threads__free(struct out_thread *t, size_t n)
{
	if (!t)
		return;
	for (size_t i = 0; i < n; i++)
		free(t[i].stacks);
	free(t);
}
