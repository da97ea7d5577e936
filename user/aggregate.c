// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "aggregate.h"
#include "hashmap.h"

struct istr {
	struct istr *next;	/* same-hash chain */
	char s[];
};

struct iframe {
	struct iframe *next;
	struct frame f;
};

struct astack {
	struct astack *next;	/* same-hash chain */
	uint32_t idx;		/* position in insertion order */
	struct stack_trace st;
	const struct frame *frames[];
};

/* Slots of the memo of the strings every sample brings (thread name, command
 * line): by the caller's pointer, checked by content. */
#define AGG_MEMO 64

struct memo {
	const char *src;	/* the caller's string */
	const char *str;	/* its interned copy */
};

struct agg {
	uint64_t gen;
	struct hashmap *strs, *frames, *stacks;
	struct memo memo[AGG_MEMO];
	struct astack **order;	/* insertion order, for stable output */
	size_t n, cap;
	uint64_t total;
	bool keep_timeline;
	struct agg_sample *timeline;
	size_t ntimeline, timeline_cap;
};

struct agg *agg__new(void)
{
	struct agg *a = calloc(1, sizeof(*a));

	static uint64_t last_gen;

	if (!a)
		return NULL;
	a->gen = __atomic_add_fetch(&last_gen, 1, __ATOMIC_RELAXED);
	a->strs = hashmap__new();
	a->frames = hashmap__new();
	a->stacks = hashmap__new();
	if (!a->strs || !a->frames || !a->stacks) {
		agg__free(a);
		return NULL;
	}
	return a;
}

/* A value heads a chain of entries linked at *next_off. */
static void free_chain(void *next_off, void *v)
{
	while (v) {
		void *next = *(void **)((char *)v + *(size_t *)next_off);

		free(v);
		v = next;
	}
}

static void free_chains(struct hashmap *m, size_t next_off)
{
	hashmap__free_all(m, free_chain, &next_off);
}

void agg__free(struct agg *a)
{
	if (!a)
		return;
	free_chains(a->strs, offsetof(struct istr, next));
	free_chains(a->frames, offsetof(struct iframe, next));
	free_chains(a->stacks, offsetof(struct astack, next));
	free(a->order);
	free(a->timeline);
	free(a);
}

uint64_t agg__gen(const struct agg *a)
{
	return a->gen;
}

void agg__keep_timeline(struct agg *a)
{
	a->keep_timeline = true;
}

const struct agg_sample *agg__timeline(const struct agg *a, size_t *n)
{
	*n = a->ntimeline;
	return a->keep_timeline ? a->timeline : NULL;
}

const struct stack_trace *agg__stack(const struct agg *a, size_t idx)
{
	return idx < a->n ? &a->order[idx]->st : NULL;
}

static int log_sample(struct agg *a, uint32_t stack, uint64_t count, uint64_t ts_ns)
{
	if (!a->keep_timeline)
		return 0;
	if (a->ntimeline == a->timeline_cap) {
		size_t cap = a->timeline_cap ? a->timeline_cap * 2 : 4096;
		struct agg_sample *t = realloc(a->timeline, cap * sizeof(*t));

		if (!t)
			return -ENOMEM;
		a->timeline = t;
		a->timeline_cap = cap;
	}
	a->timeline[a->ntimeline].ts_ns = ts_ns;
	a->timeline[a->ntimeline].stack = stack;
	a->timeline[a->ntimeline].count = count > UINT32_MAX ? UINT32_MAX : count;
	a->ntimeline++;
	return 0;
}

const char *agg__str(struct agg *a, const char *s)
{
	size_t len;
	uint64_t h;
	struct istr *head, *e;

	if (!s)
		s = "";
	len = strlen(s);
	h = hash_bytes(s, len, 0);
	head = hashmap__get(a->strs, h);
	for (e = head; e; e = e->next)
		if (!strcmp(e->s, s))
			return e->s;
	e = malloc(sizeof(*e) + len + 1);
	if (!e)
		return NULL;
	memcpy(e->s, s, len + 1);
	e->next = head;
	if (hashmap__put(a->strs, h, e)) {
		free(e);
		return NULL;
	}
	return e->s;
}

const struct frame *agg__frame(struct agg *a, const char *name, const char *filename,
			       const char *short_filename, int line, enum frame_kind kind)
{
	struct iframe *head, *e;
	uintptr_t key[5];
	uint64_t h;

	name = agg__str(a, name);
	filename = agg__str(a, filename);
	short_filename = agg__str(a, short_filename);
	if (!name || !filename || !short_filename)
		return NULL;
	key[0] = (uintptr_t)name;
	key[1] = (uintptr_t)filename;
	key[2] = (uintptr_t)short_filename;
	key[3] = (uintptr_t)line;
	key[4] = kind;
	h = hash_bytes(key, sizeof(key), 1);
	head = hashmap__get(a->frames, h);
	for (e = head; e; e = e->next)
		if (e->f.name == name && e->f.filename == filename &&
		    e->f.short_filename == short_filename && e->f.line == line && e->f.kind == kind)
			return &e->f;
	e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->f.name = name;
	e->f.filename = filename;
	e->f.short_filename = short_filename;
	e->f.line = line;
	e->f.kind = kind;
	e->next = head;
	if (hashmap__put(a->frames, h, e)) {
		free(e);
		return NULL;
	}
	return &e->f;
}

/*
 * agg__str() for strings that come back with every sample from the same
 * caller's memory: a hit costs a compare, not a hash. The pointer only picks
 * the slot; the content decides, so a caller's string freed and another put
 * in its place is not mistaken for it.
 */
static const char *str_memo(struct agg *a, const char *s)
{
	struct memo *m;
	const char *str;

	if (!s)
		s = "";
	m = &a->memo[((uintptr_t)s >> 4 ^ (uintptr_t)s >> 12) & (AGG_MEMO - 1)];
	if (m->src == s && !strcmp(m->str, s))
		return m->str;
	str = agg__str(a, s);
	if (str) {
		m->src = s;
		m->str = str;
	}
	return str;
}

static uint64_t stack_hash(const struct stack_trace *st)
{
	uint64_t hdr[5] = { (uint64_t)st->pid, st->thread_id, (uint64_t)st->os_thread_id,
			    (uint64_t)st->active << 1 | st->owns_gil,
			    (uint64_t)(uintptr_t)st->thread_name ^ (uint64_t)(uintptr_t)st->cmdline };
	uint64_t h = hash_bytes(st->frames, st->nframes * sizeof(st->frames[0]),
				hash_bytes(hdr, sizeof(hdr), 2));

	if (st->nancestors)
		h = hash_bytes(st->ancestors, st->nancestors * sizeof(st->ancestors[0]), h);
	return h;
}

static bool same_stack(const struct stack_trace *x, const struct stack_trace *y)
{
	return x->pid == y->pid && x->ns_pid == y->ns_pid && x->thread_id == y->thread_id &&
	       x->os_thread_id == y->os_thread_id && x->active == y->active &&
	       x->owns_gil == y->owns_gil && x->thread_name == y->thread_name &&
	       x->cmdline == y->cmdline && x->nframes == y->nframes &&
	       x->nancestors == y->nancestors &&
	       !memcmp(x->frames, y->frames, x->nframes * sizeof(x->frames[0])) &&
	       (!x->nancestors ||
		!memcmp(x->ancestors, y->ancestors, x->nancestors * sizeof(x->ancestors[0])));
}

int agg__add(struct agg *a, const struct stack_trace *st, uint64_t count, uint64_t ts_ns)
{
	struct stack_trace key = *st;
	struct astack *head, *e;
	uint64_t h;

	key.thread_name = str_memo(a, st->thread_name);
	key.cmdline = str_memo(a, st->cmdline);
	if (!key.thread_name || !key.cmdline)
		return -ENOMEM;
	h = stack_hash(&key);
	head = hashmap__get(a->stacks, h);
	for (e = head; e; e = e->next) {
		if (same_stack(&e->st, &key)) {
			if (log_sample(a, e->idx, count, ts_ns))
				return -ENOMEM;
			e->st.count += count;
			a->total += count;
			return 0;
		}
	}
	if (a->n == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 256;
		struct astack **o = realloc(a->order, cap * sizeof(*o));

		if (!o)
			return -ENOMEM;
		a->order = o;
		a->cap = cap;
	}
	/* The ancestors' frames follow the stack's in the same block. */
	e = malloc(sizeof(*e) + (st->nframes + st->nancestors) * sizeof(e->frames[0]));
	if (!e)
		return -ENOMEM;
	memcpy(e->frames, st->frames, st->nframes * sizeof(e->frames[0]));
	if (st->nancestors)
		memcpy(e->frames + st->nframes, st->ancestors,
		       st->nancestors * sizeof(e->frames[0]));
	e->st = key;
	e->st.frames = e->frames;
	e->st.ancestors = e->frames + st->nframes;
	e->st.count = count;
	e->next = head;
	e->idx = a->n;
	if (log_sample(a, e->idx, count, ts_ns) || hashmap__put(a->stacks, h, e)) {
		free(e);
		return -ENOMEM;
	}
	a->order[a->n++] = e;
	a->total += count;
	return 0;
}

bool agg__next(const struct agg *a, size_t *pos, const struct stack_trace **st)
{
	if (*pos >= a->n)
		return false;
	*st = &a->order[(*pos)++]->st;
	return true;
}

uint64_t agg__total(const struct agg *a)
{
	return a->total;
}

size_t agg__stacks(const struct agg *a)
{
	return a->n;
}
