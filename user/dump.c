// SPDX-License-Identifier: BSD-2-Clause
/*
 * dump: every Python thread of a process, running or sleeping, read by the
 * BPF task iterator with the sampler's own walker. Nothing is stopped.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "aggregate.h"
#include "dump.h"
#include "dump_core.h"
#include "dump_int.h"
#include "hashmap.h"
#include "log.h"
#include "native.h"
#include "native_stack.h"
#include "paths.h"
#include "procfs.h"
#include "pyobj.h"
#include "pyproc.h"
#include "exitcode.h"
#include "sampler.h"
#include "stack.h"
#include "tasks.h"

/* Threads reported per process, at most (a bound on memory, far above
 * what a process runs; a process cut here is reported as such). */
#define DUMP_MAX_THREADS (1u << 20)
/* Descendants followed with -s, at most. */
#define DUMP_MAX_PROCS 256

/* A thread's C frames (--native): the record that came before its stack. */
struct native_rec {
	struct py_native_hdr h;
	struct py_native_frame f[PY_MAX_NATIVE];
};

struct thread_rec {
	void *stack;		/* copy of the stack record */
	size_t size;
	uint64_t *addrs;	/* frame addresses, or NULL */
	uint32_t naddrs;
	struct native_rec *nat;	/* --native, or NULL */
	size_t pos;		/* in the interpreter's thread list; SIZE_MAX: not in it */
};

struct collect {
	struct thread_rec *threads;
	size_t n, cap;
	struct native_rec *nat;	/* --native: the next stack's C frames, or NULL */
	uint64_t malformed;
	uint64_t dropped;	/* stacks not kept: the cap, or out of memory */
	struct native *native;	/* --native: the unwind tables */
	struct core_proc *core;	/* --core: the threads come from it */
};

static bool room_for_one(struct collect *c)
{
	struct thread_rec *t;
	size_t cap;

	if (c->n < c->cap)
		return true;
	if (c->cap >= DUMP_MAX_THREADS)
		return false;
	cap = c->cap ? c->cap * 2 : 256;
	t = realloc(c->threads, cap * sizeof(*t));
	if (!t)
		return false;
	c->threads = t;
	c->cap = cap;
	return true;
}

static int on_record(void *ctx, const void *data, size_t size)
{
	struct collect *c = ctx;
	const struct py_stack_hdr *h;
	const struct py_frame_rec *frs;
	const struct py_addrs_hdr *a = data;

	if (size >= sizeof(*a) && a->kind == PY_REC_FRAME_ADDRS) {
		struct thread_rec *t = c->n ? &c->threads[c->n - 1] : NULL;

		if (!t || t->addrs || ((const struct py_stack_hdr *)t->stack)->tid != a->tid ||
		    a->nframes > PY_MAX_FRAMES || size < sizeof(*a) + a->nframes * 8ULL) {
			c->malformed++;
			return 0;
		}
		t->addrs = malloc(a->nframes * 8ULL + 1);
		if (t->addrs) {
			memcpy(t->addrs, a + 1, a->nframes * 8ULL);
			t->naddrs = a->nframes;
		}
		return 0;
	}
	if (size >= sizeof(*a) && a->kind == PY_REC_NATIVE) {
		free(c->nat);
		c->nat = malloc(sizeof(*c->nat));
		if (c->nat && record__decode_native(data, size, &c->nat->h, c->nat->f)) {
			free(c->nat);
			c->nat = NULL;
			c->malformed++;
		}
		return 0;
	}
	if (record__decode_stack(data, size, &h, &frs)) {
		c->malformed++;
		return 0;
	}
	if (!room_for_one(c) || !(c->threads[c->n].stack = malloc(size))) {
		c->dropped++;
		return 0;
	}
	memcpy(c->threads[c->n].stack, data, size);
	c->threads[c->n].size = size;
	c->threads[c->n].addrs = NULL;
	c->threads[c->n].naddrs = 0;
	c->threads[c->n].nat = NULL;
	c->threads[c->n].pos = SIZE_MAX;
	if (c->nat && c->nat->h.tid == h->tid)
		c->threads[c->n].nat = c->nat;
	else
		free(c->nat);
	c->nat = NULL;
	c->n++;
	return 0;
}

/* The interpreter's order (its list, newest first), then the threads it
 * did not list by tid. */
static int cmp_order(const void *x, const void *y)
{
	const struct thread_rec *a = x, *b = y;
	const struct py_stack_hdr *ha = a->stack, *hb = b->stack;

	if (a->pos != b->pos)
		return a->pos < b->pos ? -1 : 1;
	return (ha->tid > hb->tid) - (ha->tid < hb->tid);
}

/* Puts the threads in the order of the interpreter's thread list, as
 * py-spy reads them; by tid when the list cannot be read. */
static void order_threads(struct py_process *p, struct collect *c)
{
	size_t max = c->n + 64;
	uint64_t *ts = malloc(max * sizeof(*ts));
	struct hashmap *at = hashmap__new();
	int n = ts && at ? pyobj__thread_states(&p->reader, ts, max) : -ENOMEM;

	for (int i = n - 1; i >= 0; i--)	/* the first place of a repeat */
		hashmap__put(at, ts[i], (void *)(uintptr_t)(i + 1));
	for (size_t i = 0; n > 0 && i < c->n; i++) {
		const struct py_stack_hdr *h = c->threads[i].stack;
		uintptr_t pos = h->tstate ? (uintptr_t)hashmap__get(at, h->tstate) : 0;

		c->threads[i].pos = pos ? pos - 1 : SIZE_MAX;
	}
	if (n < 0)
		pr_debug("pid %d: cannot read the thread list: %s", p->pid, strerror(-n));
	qsort(c->threads, c->n, sizeof(c->threads[0]), cmp_order);
	hashmap__free(at);
	free(ts);
}

/*
 * -l: each Python frame becomes a private copy carrying its arguments and
 * locals, read from the frame's own memory (the frames are interned and
 * shared otherwise).
 */
static void with_locals(struct py_process *p, const struct frame **fr, unsigned int nf,
			const struct py_frame_rec *frs, const uint64_t *addrs, unsigned int naddrs,
			size_t budget)
{
	for (unsigned int j = 0; j < nf && j < naddrs; j++) {
		struct local_variable *vars = NULL;
		unsigned int nvars = 0;
		struct frame *copy;

		if (fr[j]->kind != FRAME_PYTHON || !frs[j].code ||
		    pyobj__frame_locals(&p->reader, addrs[j], frs[j].code, budget, &vars, &nvars))
			continue;
		copy = malloc(sizeof(*copy));
		if (!copy) {
			pyobj__free_locals(vars, nvars);
			continue;
		}
		/* No locals is an empty list, not "not asked for". */
		if (!vars && !(vars = calloc(1, sizeof(*vars)))) {
			free(copy);
			continue;
		}
		*copy = *fr[j];
		copy->locals = vars;
		copy->nlocals = nvars;
		fr[j] = copy;
	}
}

/* Threads that were walked and are missing from the listing: said loudly,
 * never a silently shorter list. */
static void warn_short(pid_t pid, const struct collect *c, const uint64_t *before,
		       const uint64_t *after)
{
	uint64_t full = after[PY_C_RB_FULL] - before[PY_C_RB_FULL];

	if (full)
		pr_warn("pid %d: %" PRIu64 " threads are missing: the ring buffer was full",
			pid, full);
	if (c->dropped)
		pr_warn("pid %d: %" PRIu64 " threads are missing: out of memory or more than %u",
			pid, c->dropped, DUMP_MAX_THREADS);
	if (after[PY_C_INDEX_SHORT] != before[PY_C_INDEX_SHORT])
		pr_warn("pid %d: more than %u thread states: threads past them may be missing",
			pid, PY_MAX_INDEX);
}

/* One pass of the task iterator over the process: every thread's stack
 * into c, and a warning if some could not be read. */
static int collect_threads(struct sampler *s, struct py_process *p, const struct dump_opts *o,
			   struct collect *c)
{
	uint64_t before[PY_C__MAX], after[PY_C__MAX];
	int err;

	if (c->core)
		return core_proc__walk(c->core, o->locals > 0, on_record, c);
	err = sampler__add_proc(s, p->pid, &p->bpf);
	if (!err && c->native && (err = native__add_proc(c->native, p->pid)))
		pr_debug("native: cannot read the mappings of pid %d: %s", p->pid,
			 strerror(-err));
	err = err == -ENOENT || err == -ESRCH || err == -EACCES ? 0 : err;
	if (!err)
		err = sampler__counters(s, before);
	if (!err) {
		struct iterate_opts io = { .pid = p->pid,
					   .frame_addrs = o->locals > 0 || o->async_tasks,
					 .entries = true };

		c->dropped = 0;
		while (!(err = sampler__iterate(s, &io)))
			;
		err = err < 0 ? err : 0;
	}
	if (!err && !sampler__counters(s, after))
		warn_short(p->pid, c, before, after);
	if (!err)
		err = sampler__drain(s) < 0 ? -EIO : 0;
	sampler__del_proc(s, p->pid);
	if (c->native)
		native__del_proc(c->native, p->pid);
	return err;
}

/* The traces' frame arrays, and the frames that carry locals (copies). */
static void free_traces(struct dump_trace *t, size_t n)
{
	for (size_t i = 0; t && i < n; i++) {
		for (unsigned int j = 0; j < t[i].st.nframes; j++) {
			const struct frame *f = t[i].st.frames[j];

			if (f->locals) {
				pyobj__free_locals((struct local_variable *)f->locals, f->nlocals);
				free((void *)f);
			}
		}
		free((void *)t[i].st.frames);
		free(t[i].flags);
	}
	free(t);
}

/*
 * Per frame: whether the frame began its activation, as the walker marked
 * it (3.11's entry flag, a 3.12+ shim frame below it, every frame before
 * 3.11); the records' frames come out one for one, the markers after them.
 */
static uint8_t *entry_flags(const struct py_process *p, const struct py_stack_hdr *h,
			    const struct py_frame_rec *frs, const struct frame **fr,
			    unsigned int nf)
{
	uint8_t shim = p->bpf.off.flags & PY_F_OWNER ? DF_SHIM_ENTRY : 0;
	uint8_t *fl = calloc(nf + 1, 1);

	for (unsigned int j = 0; fl && j < nf && j < h->nframes && j < PY_MAX_FRAMES; j++)
		if (fr[j]->kind == FRAME_PYTHON && (frs[j].lasti & PY_LASTI_ENTRY))
			fl[j] = DF_ENTRY | shim;
	return fl;
}

/* --native: the thread's Python frames *fr (locals kept) merged with its
 * C frames, in a new array; their flags follow them. */
static int with_native(struct collect *c, struct agg *a, const struct py_stack_hdr *h,
		       const struct py_frame_rec *frs, const struct native_rec *nat,
		       const struct frame ***fr, unsigned int *nf, uint8_t **flags)
{
	const struct frame **merged = malloc(NATIVE_STACK_MAX * sizeof(*merged));
	uint8_t *fl = calloc(NATIVE_STACK_MAX, 1);
	struct native_stack_in in = {
		.frs = frs, .nraw = h->nframes, .py = *fr, .npy = *nf,
		.nh = &nat->h, .nf = nat->f,
	};
	unsigned int n, k = 0;

	if (!merged || !fl) {
		free(merged);
		free(fl);
		return -ENOMEM;
	}
	n = native_stack__merge(c->native, a, &in, merged, NATIVE_STACK_MAX);
	/* The Python frames keep their order among the C frames. */
	for (unsigned int i = 0; i < n && k < *nf; i++)
		if (merged[i] == (*fr)[k])
			fl[i] = *flags ? (*flags)[k++] : (k++, 0);
	free(*fr);
	free(*flags);
	*fr = merged;
	*nf = n;
	*flags = fl;
	return 0;
}

/* One thread's trace from its record; 0 or negative errno. */
static int make_trace(struct collect *c, struct agg *a, struct py_process *p,
		      const struct dump_opts *o, const struct thread_rec *tr,
		      struct dump_trace *t)
{
	static const struct frame *frames[STACK_MAX];
	struct symbolize_stats sym = { 0 };
	const struct py_stack_hdr *h;
	const struct py_frame_rec *frs;
	const struct frame **fr;
	unsigned int nf;

	if (record__decode_stack(tr->stack, tr->size, &h, &frs))
		return -EINVAL;
	nf = stack__symbolize(a, p, h, frs, false, frames, &sym);
	fr = malloc((nf + 1) * sizeof(*fr));
	if (!fr)
		return -ENOMEM;
	memcpy(fr, frames, nf * sizeof(*fr));
	t->flags = entry_flags(p, h, frs, fr, nf);
	if (o->locals && tr->addrs)
		with_locals(p, fr, nf, frs, tr->addrs,
			    tr->naddrs < h->nframes ? tr->naddrs : h->nframes,
			    128 * (size_t)o->locals);
	t->st.frames = fr;
	t->st.nframes = nf;
	if (c->native && tr->nat &&
	    with_native(c, a, h, frs, tr->nat, &fr, &nf, &t->flags))
		return -ENOMEM;
	t->st.frames = fr;
	t->st.nframes = nf;
	t->st.pid = p->pid;
	t->st.ns_pid = p->ns_pid;
	t->st.thread_id = h->pthread_id;
	t->st.os_thread_id = h->tid;
	/* threading's name or none, as py-spy: the kernel's is no Python
	 * name. A copy: the next lookup may refresh the table. */
	t->st.thread_name = py_process__py_thread_name(p, h->tid, h->pthread_id);
	if (t->st.thread_name && !(t->st.thread_name = agg__str(a, t->st.thread_name)))
		return -ENOMEM;
	t->st.active = h->status & PY_S_ACTIVE;
	t->st.owns_gil = h->status & PY_S_GIL;
	t->st.ends = h->status & PY_S_ENDS;
	t->st.not_code = 0;
	for (unsigned int j = 0; j < h->nframes && j < PY_MAX_FRAMES; j++)
		t->st.not_code += frs[j].code == PY_CODE_NOT_CODE;
	t->st.cmdline = p->cmdline;
	return 0;
}

/* A task's frames if a thread ran it: those of the thread, from its
 * coroutine's frame in, and that thread (d->tid); none if no thread did. */
static int running_frames(struct collect *c, struct agg *a, struct py_process *p,
			  struct dump_task *d)
{
	static const struct frame *frames[STACK_MAX];
	struct symbolize_stats sym = { 0 };
	const struct py_stack_hdr *h;
	const struct py_frame_rec *frs;

	for (size_t i = 0; i < c->n; i++) {
		const struct thread_rec *tr = &c->threads[i];
		unsigned int k, nf;

		if (!tr->addrs || record__decode_stack(tr->stack, tr->size, &h, &frs))
			continue;
		for (k = 0; k < tr->naddrs && k < h->nframes; k++)
			if (tr->addrs[k] == d->t->frames[0])
				break;
		if (k == tr->naddrs || k == h->nframes)
			continue;
		nf = stack__symbolize(a, p, h, frs, false, frames, &sym);
		if (k >= nf)
			continue;
		d->tr.st.frames = malloc((k + 1) * sizeof(*frames));
		if (!d->tr.st.frames)
			return -ENOMEM;
		memcpy((void *)d->tr.st.frames, frames, (k + 1) * sizeof(*frames));
		d->tr.st.nframes = k + 1;
		d->own = true;
		d->tid = h->tid;
		d->tstate = h->tstate;
		return 0;
	}
	return 0;
}

/* dump --async: every task, where it sits in the tree, and its frames. */
static int make_tasks(struct collect *c, struct agg *a, struct py_process *p,
		      struct dump_task **out, size_t *nout)
{
	struct symbolize_stats sym = { 0 };
	const struct py_task *pt;
	struct dump_task *d;
	int n = tasks__read(p, &pt), err = 0;

	*out = NULL;
	*nout = 0;
	if (n < 0)
		return n;
	d = calloc(n + 1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	for (int i = 0; i < n && !err; i++) {
		d[i].t = &pt[i];
		d[i].parent = -1;
		for (unsigned int k = 0; k < pt[i].nawaited_by && d[i].parent < 0; k++)
			d[i].parent = tasks__by_addr(p, pt[i].awaited_by[k]);
		/* Running when the threads were walked, which was before
		 * the tasks were read: that thread's frames, then. */
		if (pt[i].nframes)
			err = running_frames(c, a, p, &d[i]);
		if (!d[i].own)
			d[i].tr.st.frames = tasks__frames(p, a, i, &d[i].tr.st.nframes, &sym);
	}
	/* The threads were walked first: a task that was running when the
	 * tasks were read, on a thread the walk found running another task,
	 * had not started yet then; one snapshot shows one task a thread.
	 * (Before 3.14 the thread is not known: any thread, then.) */
	for (int i = 0; i < n; i++) {
		d[i].running = d[i].tid || pt[i].thread;
		for (int j = 0; j < n && !d[i].tid && d[i].running; j++)
			if (d[j].tid && (pt[i].thread == 1 || pt[i].thread == d[j].tstate))
				d[i].running = false;
	}
	*out = d;
	*nout = n;
	return err;
}

static void free_tasks(struct dump_task *d, size_t n)
{
	for (size_t i = 0; d && i < n; i++)
		if (d[i].own)
			free((void *)d[i].tr.st.frames);
	free(d);
}

/* Walks one process's threads and prints them; 0 or negative errno. */
static int dump_one(struct sampler *s, struct py_process *p, const struct dump_opts *o,
		    struct collect *c, struct dump_proc *fam, int self, bool *first)
{
	struct dump_trace *t = NULL;
	struct dump_task *dt = NULL;
	struct agg *a = agg__new();
	size_t i, n = 0, ndt = 0;
	int err;

	if (!a)
		return -ENOMEM;
	err = collect_threads(s, p, o, c);
	if (err)
		goto cleanup;
	/* Every thread's name at once, as py-spy lists them. */
	if (c->n) {
		order_threads(p, c);
		py_process__read_thread_names(p, c->n + 64);
	}
	t = calloc(c->n + 1, sizeof(*t));
	if (!t) {
		err = -ENOMEM;
		goto cleanup;
	}
	for (i = 0; i < c->n; i++) {
		err = make_trace(c, a, p, o, &c->threads[i], &t[n]);
		if (err == -EINVAL)
			continue;
		n++;	/* freed with the others, whole or not */
		if (err)
			goto cleanup;
	}
	err = 0;
	/* Gone before its threads could be read: that is no answer. */
	if (!n && !c->core && py_process__gone(p->pid)) {
		err = -ESRCH;
		goto cleanup;
	}
	if (o->async_tasks) {
		int terr = make_tasks(c, a, p, &dt, &ndt);

		if (terr == -ENOMEM) {
			err = terr;
			goto cleanup;
		}
		if (o->json) {
			dump_out__tasks_json(fam, self, dt, ndt, o, first);
		} else {
			if (!*first)
				dump_out__separator();
			dump_out__tasks_text(p, fam, self, dt, ndt, terr, o);
			*first = false;
		}
	} else if (o->json) {
		dump_out__json(fam, self, t, n, o, first);
	} else {
		if (!*first)
			dump_out__separator();
		dump_out__text(p, fam, self, t, n, o);
		*first = false;
	}
cleanup:
	free_tasks(dt, ndt);
	free_traces(t, n);
	for (i = 0; i < c->n; i++) {
		free(c->threads[i].stack);
		free(c->threads[i].addrs);
		free(c->threads[i].nat);
	}
	free(c->nat);
	c->nat = NULL;
	c->n = 0;
	agg__free(a);
	return err;
}

/*
 * The process and, with -s, its descendants (from /proc/PID/stat ppids),
 * each before its children and siblings in the order found: the order
 * py-spy prints them in. Returns the count.
 */
static size_t family(pid_t root, bool descendants, struct dump_proc *out, size_t max)
{
	struct dump_proc found[DUMP_MAX_PROCS];
	int stack[DUMP_MAX_PROCS], where[DUMP_MAX_PROCS];
	pid_t kids[DUMP_MAX_PROCS];
	size_t n = 0, done = 0, top = 0, k = 0;

	found[n++] = (struct dump_proc){ .pid = root, .parent = -1 };
	while (descendants && done < n && n < max) {
		size_t parent = done++, nk, i;

		nk = procfs__children(found[parent].pid, kids, max - n);
		for (i = 0; i < nk; i++)
			if (kids[i] != root)
				found[n++] = (struct dump_proc){ .pid = kids[i],
								 .parent = (int)parent };
	}
	/* Depth first: a parent always comes before its children. */
	stack[top++] = 0;
	while (top) {
		int i = stack[--top];

		where[i] = (int)k;
		out[k] = found[i];
		out[k].parent = found[i].parent < 0 ? -1 : where[found[i].parent];
		k++;
		for (size_t j = n; j-- > 0;)
			if (found[j].parent == i)
				stack[top++] = (int)j;
	}
	for (k = 0; k < n; k++) {
		char buf[CMDLINE_MAX];

		if (!read_cmdline(out[k].pid, buf, sizeof(buf)))
			out[k].cmdline = strdup(buf);
	}
	return n;
}

static void family_free(struct dump_proc *fam, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(fam[i].cmdline);
}

/* --core: the process a core dump holds, read from the core alone. */
static int dump_core(const struct dump_opts *o)
{
	struct collect c = { 0 };
	struct dump_proc fam = { .parent = -1 };
	bool first = true;
	char why[768];
	int err;

	err = core_proc__open(o->core, &c.core, why, sizeof(why));
	if (err) {
		pr_err("cannot read core '%s': %s", o->core, why);
		return err == -EPROTONOSUPPORT ? EXIT_NOT_PYTHON :
		       err == -EINVAL || err == -ENOMEM ? EXIT_FAILURE_ : EXIT_NO_PROCESS;
	}
	fam.pid = core_proc__process(c.core)->pid;
	fam.cmdline = core_proc__process(c.core)->cmdline;
	fam.exe = core_proc__exe(c.core);
	if (o->json)
		printf("[");
	err = dump_one(NULL, core_proc__process(c.core), o, &c, &fam, 0, &first);
	if (!err && o->json)
		printf("\n]\n");
	fflush(stdout);
	if (err)
		pr_err("cannot dump core '%s': %s", o->core, strerror(-err));
	core_proc__free(c.core);
	free(c.threads);
	return err ? EXIT_FAILURE_ : EXIT_OK;
}

int cmd_dump(const struct dump_opts *o)
{
	struct sampler_opts so = { .rate = 0, .btf_path = o->btf_path, .iterate = true,
				   .native_rows = o->native ? NATIVE_ROWS_DEFAULT : 0 };
	struct native_maps nm;
	struct collect c = { 0 };
	struct sampler *s = NULL;
	struct py_process *root = NULL;
	struct dump_proc fam[DUMP_MAX_PROCS];
	size_t nfam = 0, i;
	bool first = true;
	char why[256];
	int err, status = EXIT_FAILURE_;

	if (o->core)
		return dump_core(o);
	err = py_process__open(o->pid, &root, why, sizeof(why));
	if (err == -ESRCH || (err && py_process__gone(o->pid))) {
		pr_err("no process with pid %d", o->pid);
		return EXIT_NO_PROCESS;
	}
	if (err == -EPROTONOSUPPORT) {
		pr_err("cannot dump pid %d: %s", o->pid, why);
		return EXIT_NOT_PYTHON;
	}
	if (err && !o->subprocesses) {
		pr_err("pid %d does not run a CPython interpreter", o->pid);
		return EXIT_NOT_PYTHON;
	}
	if (o->async_tasks && root && !o->subprocesses &&
	    (root->major < 3 || (root->major == 3 && root->minor < 11))) {
		pr_err("--async: pid %d runs Python %u.%u; asyncio tasks are read on 3.11 and later",
		       o->pid, root->major, root->minor);
		py_process__free(root);
		return EXIT_NOT_PYTHON;
	}
	err = sampler__open(&s, &so, on_record, &c);
	if (err) {
		status = EXIT_KERNEL;
		goto cleanup;
	}
	if (o->native && ((err = sampler__native_maps(s, &nm)) || (err = native__new(&nm, &c.native)))) {
		pr_err("--native: cannot set up the unwind tables: %s", strerror(-err));
		status = EXIT_KERNEL;
		goto cleanup;
	}
	if (o->json)
		printf("[");
	nfam = family(o->pid, o->subprocesses, fam, DUMP_MAX_PROCS);
	for (i = 0; i < nfam; i++) {
		pid_t pid = fam[i].pid;
		struct py_process *p = NULL;

		if (pid == o->pid && root) {
			p = root;
			root = NULL;
		} else if (py_process__open(pid, &p, why, sizeof(why))) {
			continue;
		}
		err = dump_one(s, p, o, &c, fam, (int)i, &first);
		py_process__free(p);
		if (err && pid != o->pid && py_process__gone(pid))
			continue;	/* a descendant that exited meanwhile */
		if (err == -ESRCH || (err && py_process__gone(pid))) {
			pr_err("no process with pid %d: it exited while being dumped", pid);
			status = EXIT_NO_PROCESS;
			goto cleanup;
		}
		if (err) {
			pr_err("cannot dump pid %d: %s", pid, strerror(-err));
			goto cleanup;
		}
	}
	if (o->json)
		printf("\n]\n");
	fflush(stdout);
	status = EXIT_OK;
cleanup:
	family_free(fam, nfam);
	native__free(c.native);
	sampler__free(s);
	py_process__free(root);
	free(c.threads);
	return status;
}
