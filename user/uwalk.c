// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <linux/types.h>
#include "clock.h"
#include "hashmap.h"
#include "remote.h"
#include "uwalk.h"
#include "sampler.bpf.h"

/* What bpf/walker.h expects of its includer. */
struct walk_ctx {
	struct sample_scratch *s;
	pid_t pid;
	bool gil;
	bool addrs;
	bool entry;		/* mark activations' first frames (uwalk__entries) */
};

/* The pass's counters: set by uwalk__thread() around its walk. */
static uint64_t *counts_now;

static void count(__u32 which)
{
	if (counts_now && which < PY_C__MAX)
		counts_now[which]++;
}

static long rd(struct walk_ctx *w, void *dst, __u32 size, __u64 src)
{
	return remote_read(w->pid, src, dst, size);
}

#include "walker.h"

/* Thread states of one process in this pass, by thread id. */
struct proc_index {
	struct hashmap *by_pthread;
	bool whole;		/* every thread state is in it */
};

struct uwalk {
	struct sample_scratch *s;
	bool entries;
	struct hashmap *procs;	/* pid -> struct proc_index, this pass */
	uwalk_emit_fn emit;
	void *ctx;
};

struct uwalk *uwalk__new(uwalk_emit_fn emit, void *ctx)
{
	struct uwalk *u = calloc(1, sizeof(*u));

	if (!u)
		return NULL;
	u->s = calloc(1, sizeof(*u->s));
	u->procs = hashmap__new();
	if (!u->s || !u->procs) {
		uwalk__free(u);
		return NULL;
	}
	u->emit = emit;
	u->ctx = ctx;
	return u;
}

static void free_index(void *ctx, void *v)
{
	struct proc_index *pi = v;

	(void)ctx;
	hashmap__free(pi->by_pthread);
	free(pi);
}

static void drop_indexes(struct uwalk *u)
{
	hashmap__free_all(u->procs, free_index, NULL);
	u->procs = hashmap__new();
}

void uwalk__free(struct uwalk *u)
{
	if (!u)
		return;
	hashmap__free_all(u->procs, free_index, NULL);
	free(u->s);
	free(u);
}

void uwalk__entries(struct uwalk *u, bool on)
{
	u->entries = on;
}

void uwalk__begin(struct uwalk *u)
{
	drop_indexes(u);
}

/*
 * One walk of the process's thread lists (every interpreter's), as the BPF
 * iterator indexes them: searching the list once per thread would cost
 * the square of their number.
 */
static struct proc_index *index_proc(struct uwalk *u, struct walk_ctx *w)
{
	struct sample_scratch *s = w->s;
	struct proc_index *pi;
	__u64 interp, next, mark = 0;
	__u32 visited = 0, lap = 1, since = 0;
	int step;

	if (!u->procs)
		return NULL;	/* out of memory at uwalk__begin() */
	if ((pi = hashmap__get(u->procs, w->pid)))
		return pi;
	pi = calloc(1, sizeof(*pi));
	if (!pi || !(pi->by_pthread = hashmap__new()) || hashmap__put(u->procs, w->pid, pi)) {
		if (pi)
			hashmap__free(pi->by_pthread);
		free(pi);
		return NULL;
	}
	interp = first_interp(w, &s->proc);
	if (!interp)
		return pi;
	s->interp = read_ptr(w, interp + s->proc.off.interp_next);
	s->tstate = read_ptr(w, interp + s->proc.off.interp_tstate_head);
	s->interps = 1;
	while (visited < PY_MAX_INDEX + PY_MAX_INTERPS) {
		visited++;
		step = list_step(w);
		if (step == STEP_END)
			break;
		if (step == STEP_MOVED)
			continue;
		/*
		 * A thread state seen before: the list loops (a thread state
		 * freed and reused while it is read, or garbage), and every
		 * one on the loop is in the index. Without this a loop costs
		 * PY_MAX_INDEX reads per pass. The mark moves to the current
		 * thread state at each power of two steps (Brent): any loop is
		 * caught within twice its length plus its lead-in.
		 */
		if (s->tstate == mark)
			break;
		if (++since == lap) {
			mark = s->tstate;
			lap <<= 1;
			since = 0;
		}
		next = ld64(s->tbuf, s->proc.off.tstate_thread_id, PY_TSTATE_READ);
		if (next && !hashmap__get(pi->by_pthread, next) &&
		    hashmap__put(pi->by_pthread, next, (void *)(uintptr_t)s->tstate))
			break;
		next = ld64(s->tbuf, s->proc.off.tstate_next, PY_TSTATE_READ);
		s->tstate = next == s->tstate ? 0 : next;	/* a self-loop in hostile memory */
	}
	pi->whole = !s->tstate && !s->interp;
	if (!pi->whole)
		count(PY_C_INDEX_SHORT);
	return pi;
}

int uwalk__frame(struct uwalk *u, const struct py_proc *p, pid_t pid, uint64_t frame_addr,
		 struct py_frame_rec *out)
{
	struct sample_scratch *s = u->s;
	struct walk_ctx w = { .s = s, .pid = pid };

	s->proc = *p;
	memset(&s->rec.hdr, 0, sizeof(s->rec.hdr));
	s->frame = frame_addr;
	s->chunk = 0;
	s->gen++;
	s->win_len = 0;
	s->cyc_frame = 0;
	s->cyc_steps = 0;
	s->cyc_power = 1;
	walk_one(&w);
	if (s->rec.hdr.nframes != 1 || (s->rec.hdr.status & PY_S_ENDS) || !s->rec.frames[0].code)
		return -EFAULT;
	*out = s->rec.frames[0];
	return 0;
}

void uwalk__thread(struct uwalk *u, const struct py_proc *p, const struct py_task_fact *f,
		   bool frame_addrs, uint64_t counts[PY_C__MAX])
{
	struct sample_scratch *s = u->s;
	struct walk_ctx w = { .s = s, .pid = f->pid, .gil = true, .addrs = frame_addrs,
			      .entry = u->entries };
	struct proc_index *pi;
	__u64 tstate;
	__u32 n, i;

	counts_now = counts;
	s->proc = *p;
	walk_prepare(s, f->pthread_id);
	/* The index's thread-state reads use the same window. */
	n = s->tstate_read;
	pi = index_proc(u, &w);
	tstate = pi ? (__u64)(uintptr_t)hashmap__get(pi->by_pthread, f->pthread_id) : 0;
	if (!tstate || rd(&w, s->tbuf, n, tstate) ||
	    ld64(s->tbuf, p->off.tstate_thread_id, PY_TSTATE_READ) != f->pthread_id) {
		count(PY_C_NO_TSTATE);
		goto out;
	}
	walk_begin(&w, tstate, f->pid, f->tid, f->running);
	s->rec.hdr.cpu = sched_getcpu();
	s->rec.hdr.ts = mono_ns();
	memcpy(s->rec.hdr.comm, f->comm, sizeof(s->rec.hdr.comm));
	s->rec.hdr.comm[sizeof(s->rec.hdr.comm) - 1] = 0;
	for (i = 0; i < PY_MAX_WALK; i++)
		if (walk_one(&w))
			break;
	walk_end(&w);
	n = s->rec.hdr.nframes < PY_MAX_FRAMES ? s->rec.hdr.nframes : PY_MAX_FRAMES;
	count(PY_C_EMITTED);
	u->emit(u->ctx, &s->rec, sizeof(struct py_stack_hdr) + (size_t)n * sizeof(struct py_frame_rec));
	if (frame_addrs) {
		s->addrs.kind = PY_REC_FRAME_ADDRS;
		s->addrs.tid = f->tid;
		s->addrs.nframes = n;
		s->addrs.pad = 0;
		u->emit(u->ctx, &s->addrs, sizeof(struct py_addrs_hdr) + (size_t)n * sizeof(__u64));
	}
out:
	counts_now = NULL;
}
