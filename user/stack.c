// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "stack.h"
#include "symcache.h"

enum { M_UNKNOWN, M_NOT_CODE, M_UNREADABLE, M_CYCLE, M_CORRUPT, M_TRUNCATED, M__MAX };

static const char *const marker_names[M__MAX] = {
	[M_UNKNOWN] = "<unknown>",
	[M_NOT_CODE] = "<not code>",
	[M_UNREADABLE] = "<unreadable frame>",
	[M_CYCLE] = "<cycle>",
	[M_CORRUPT] = "<corrupt frame>",
	[M_TRUNCATED] = "<truncated>",
};

/* How a walk ended short of the root, by status bit: a marker each, at the
 * root end, in this order. */
static const struct {
	uint16_t bit;
	int marker;
} stack_ends[] = {
	{ PY_S_READ_ERR, M_UNREADABLE },
	{ PY_S_CYCLE, M_CYCLE },
	{ PY_S_CORRUPT, M_CORRUPT },
	{ PY_S_TRUNCATED, M_TRUNCATED },
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
					struct symbolize_stats *st, int *err)
{
	struct symcache_site *site;
	const struct frame *f;
	struct code_info ci;
	uint64_t gen = agg__gen(a);

	*err = symcache__site(p->syms, rec, function_lines, &ci, &site);
	if (*err)
		return NULL;
	if (ci.unreadable)
		st->unreadable_names++;
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

		if (frs[i].code == PY_CODE_NOT_CODE) {
			out[n++] = marker(a, M_NOT_CODE);
			continue;
		}
		f = frs[i].code ? python_frame(a, p, &frs[i], function_lines, st, &err) : NULL;
		if (err) {
			if (err == -ESTALE)
				st->stale_frames++;
			st->unknown_frames++;
			f = marker(a, M_UNKNOWN);
		}
		if (f)
			out[n++] = f;
	}
	for (size_t k = 0; k < sizeof(stack_ends) / sizeof(stack_ends[0]); k++)
		if ((h->status & stack_ends[k].bit) && (out[n] = marker(a, stack_ends[k].marker)))
			n++;
	return n;
}

struct memo_slot {
	uint64_t hash;
	uint64_t agg_gen;
	const struct py_process *p;
	uint32_t nraw;			/* records */
	uint32_t n;			/* frames they gave */
	uint16_t status;		/* the record's PY_S_ENDS bits */
	bool function_lines;		/* symbolized by function, not by line */
	struct py_frame_rec *raw;	/* nraw records, then n frames (slot_frames) */
	size_t cap;			/* bytes at raw */
};

/*
 * A miss costs more than it saves: the stack is symbolized anyway and then
 * copied into a cold slot. Where stacks rarely repeat record for record (the
 * same lines, but other instructions), the memo is tried on MEMO_TRIAL
 * stacks and, when fewer than half of them were found, left alone for the
 * next MEMO_REST.
 */
#define MEMO_TRIAL 1024
#define MEMO_REST 16384

struct stack_memo {
	struct memo_slot slot[STACK_MEMO_SLOTS];
	uint32_t tried, found;		/* in the current trial */
	uint32_t rest;			/* stacks left to symbolize without it */
};

struct stack_memo *stack_memo__new(void)
{
	return calloc(1, sizeof(struct stack_memo));
}

void stack_memo__clear(struct stack_memo *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < STACK_MEMO_SLOTS; i++)
		m->slot[i].p = NULL;
}

void stack_memo__free(struct stack_memo *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < STACK_MEMO_SLOTS; i++)
		free(m->slot[i].raw);
	free(m);
}

static const struct frame **slot_frames(const struct memo_slot *sl)
{
	return (const struct frame **)(sl->raw + sl->nraw);
}

static uint64_t mix(uint64_t h, uint64_t v)
{
	h ^= v;
	h *= 0x9E3779B97F4A7C15ULL;
	return h ^ (h >> 29);
}

static uint64_t records_hash(const struct py_process *p, uint16_t status, uint32_t nraw,
			     const struct py_frame_rec *frs)
{
	uint64_t h = mix((uintptr_t)p, ((uint64_t)status << 32) | nraw);

	for (uint32_t i = 0; i < nraw; i++) {
		h = mix(h, frs[i].code);
		h = mix(h, ((uint64_t)frs[i].lasti << 32) | frs[i].check);
	}
	return h;
}

unsigned int stack__symbolize_memo(struct stack_memo *m, struct agg *a, struct py_process *p,
				   const struct py_stack_hdr *h, const struct py_frame_rec *frs,
				   bool function_lines, const struct frame **out,
				   struct symbolize_stats *st)
{
	uint16_t status = h->status & PY_S_ENDS;
	uint32_t nraw = h->nframes;
	uint64_t hash, unknown = st->unknown_frames + st->unreadable_names;
	struct memo_slot *sl;
	unsigned int n;
	size_t need;

	if (!m || nraw > STACK_MEMO_MAX_FRAMES)
		return stack__symbolize(a, p, h, frs, function_lines, out, st);
	if (m->rest) {
		m->rest--;
		return stack__symbolize(a, p, h, frs, function_lines, out, st);
	}
	if (++m->tried == MEMO_TRIAL) {
		if (m->found < MEMO_TRIAL / 2)
			m->rest = MEMO_REST;
		m->tried = m->found = 0;
	}
	hash = records_hash(p, status, nraw, frs);
	sl = &m->slot[hash & (STACK_MEMO_SLOTS - 1)];
	if (sl->p == p && sl->hash == hash && sl->agg_gen == agg__gen(a) &&
	    sl->status == status && sl->nraw == nraw && sl->function_lines == function_lines &&
	    !memcmp(sl->raw, frs, nraw * sizeof(*frs))) {
		m->found++;
		memcpy(out, slot_frames(sl), sl->n * sizeof(*out));
		return sl->n;
	}
	n = stack__symbolize(a, p, h, frs, function_lines, out, st);
	/* A frame that could not be read now may be readable on the next
	 * sample, and each sample of an unreadable name is counted: only
	 * stacks that came out whole are kept. */
	if (st->unknown_frames + st->unreadable_names != unknown)
		return n;
	need = nraw * sizeof(*frs) + n * sizeof(*out);
	if (need > sl->cap) {
		void *mem = realloc(sl->raw, need);

		if (!mem)
			return n;
		sl->raw = mem;
		sl->cap = need;
	}
	sl->hash = hash;
	sl->agg_gen = agg__gen(a);
	sl->p = p;
	sl->status = status;
	sl->function_lines = function_lines;
	sl->nraw = nraw;
	sl->n = n;
	memcpy(sl->raw, frs, nraw * sizeof(*frs));
	memcpy(slot_frames(sl), out, n * sizeof(*out));
	return n;
}

int record__decode_stack(const void *data, size_t size, const struct py_stack_hdr **hdr,
			 const struct py_frame_rec **frames)
{
	const struct py_stack_hdr *h = data;

	if (size < sizeof(*h) || h->kind != PY_REC_STACK || h->nframes > PY_MAX_FRAMES ||
	    size < sizeof(*h) + (size_t)h->nframes * sizeof(struct py_frame_rec))
		return -EINVAL;
	*hdr = h;
	*frames = (const struct py_frame_rec *)(h + 1);
	return 0;
}

int record__decode_addrs(const void *data, size_t size, struct py_addrs_hdr *hdr,
			 uint64_t *addrs)
{
	struct py_addrs_hdr h;

	if (size < sizeof(h))
		return -EINVAL;
	memcpy(&h, data, sizeof(h));
	if (h.kind != PY_REC_FRAME_ADDRS || h.nframes > PY_MAX_FRAMES ||
	    size < sizeof(h) + (size_t)h.nframes * sizeof(*addrs))
		return -EINVAL;
	*hdr = h;
	memcpy(addrs, (const char *)data + sizeof(h), (size_t)h.nframes * sizeof(*addrs));
	return 0;
}

int record__decode_native(const void *data, size_t size, struct py_native_hdr *hdr,
			  struct py_native_frame *frames)
{
	struct py_native_hdr h;

	if (size < sizeof(h))
		return -EINVAL;
	memcpy(&h, data, sizeof(h));
	if (h.kind != PY_REC_NATIVE || h.nframes > PY_MAX_NATIVE ||
	    size < sizeof(h) + (size_t)h.nframes * sizeof(*frames))
		return -EINVAL;
	*hdr = h;
	memcpy(frames, (const char *)data + sizeof(h), (size_t)h.nframes * sizeof(*frames));
	return 0;
}
