// SPDX-License-Identifier: BSD-2-Clause
/*
 * dump: every Python thread of a process, running or sleeping, read by the
 * BPF task iterator with the sampler's own walker. Nothing is stopped.
 */
#include <dirent.h>
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
#include "json.h"
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
#include "textesc.h"

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
	if (c->nat && c->nat->h.tid == h->tid)
		c->threads[c->n].nat = c->nat;
	else
		free(c->nat);
	c->nat = NULL;
	c->n++;
	return 0;
}

static int cmp_tid(const void *x, const void *y)
{
	const struct py_stack_hdr *a = ((const struct thread_rec *)x)->stack;
	const struct py_stack_hdr *b = ((const struct thread_rec *)y)->stack;

	return (a->tid > b->tid) - (a->tid < b->tid);
}

static const char *status_text(const struct stack_trace *st)
{
	if (!st->active)
		return "idle";
	return st->owns_gil ? "active+gil" : "active";
}

/*
 * py-spy's layout: the arguments, then the other locals, under each frame.
 * Here and in print_text every string from the target is escaped (textesc.h):
 * it must neither drive the terminal nor start a line of its own.
 */
static void print_locals(const struct frame *f, bool args)
{
	bool header = false;

	for (unsigned int i = 0; f->locals && i < f->nlocals; i++) {
		const struct local_variable *v = &f->locals[i];

		if (v->arg != args)
			continue;
		if (!header)
			printf("        %s:\n", args ? "Arguments" : "Locals");
		header = true;
		fputs("            ", stdout);
		textesc__fputs(v->name, stdout);
		fputs(": ", stdout);
		textesc__fputs(v->repr, stdout);
		putchar('\n');
	}
}

/* The program's file: /proc/PID/exe, or as a core names it. */
static void exe_of(const struct py_process *p, const struct core_proc *core, char *exe,
		   size_t size)
{
	char link[64];
	ssize_t len;

	if (core) {
		snprintf(exe, size, "%s", core_proc__exe(core));
		return;
	}
	proc_dir(p->pid, link, sizeof(link) - 4);
	strcat(link, "/exe");
	len = readlink(link, exe, size - 1);
	exe[len > 0 ? len : 0] = 0;
}

static void print_text(const struct py_process *p, const struct stack_trace *sts, size_t n,
		       const struct dump_opts *o, const struct core_proc *core)
{
	char exe[4096];

	exe_of(p, core, exe, sizeof(exe));
	if (core) {
		printf("Process %d (core '", p->pid);
		textesc__fputs(o->core, stdout);
		printf("'): ");
	} else if (p->ns_pid && p->ns_pid != p->pid)
		printf("Process %d (%d in its namespace): ", p->pid, p->ns_pid);
	else
		printf("Process %d: ", p->pid);
	textesc__fputs(p->cmdline, stdout);
	printf("\nPython v%u.%u.%u (", p->major, p->minor, p->micro);
	textesc__fputs(exe, stdout);
	printf(")\n");
	for (size_t i = 0; i < n; i++) {
		const struct stack_trace *st = &sts[i];

		printf("\nThread %d (%s): \"", st->os_thread_id, status_text(st));
		textesc__fputs(st->thread_name, stdout);
		printf("\"\n");
		for (unsigned int j = 0; j < st->nframes; j++) {
			const struct frame *f = st->frames[j];
			const char *file = o->full_filenames ? f->filename : f->short_filename;

			fputs("    ", stdout);
			textesc__fputs(f->name, stdout);
			if (f->kind != FRAME_MARKER) {
				fputs(" (", stdout);
				textesc__fputs(file, stdout);
				if (f->kind == FRAME_NATIVE)
					putchar(')');
				else
					printf(":%d)", f->line);
			}
			putchar('\n');
			print_locals(f, true);
			print_locals(f, false);
		}
	}
	printf("\n");
}

static void print_json_frames(const struct stack_trace *st)
{
	printf("[");
	for (unsigned int j = 0; j < st->nframes; j++) {
		const struct frame *f = st->frames[j];

		printf("%s{\"name\": ", j ? ", " : "");
		json__str(stdout, f->name);
		printf(", \"filename\": ");
		json__str(stdout, f->filename);
		printf(", \"short_filename\": ");
		json__str(stdout, f->short_filename);
		printf(", \"line\": %d, \"locals\": ", f->line);
		if (!f->locals) {
			printf("null}");
			continue;
		}
		printf("[");
		for (unsigned int k = 0; k < f->nlocals; k++) {
			const struct local_variable *v = &f->locals[k];

			printf("%s{\"name\": ", k ? ", " : "");
			json__str(stdout, v->name);
			printf(", \"addr\": %" PRIu64 ", \"arg\": %s, \"repr\": ", v->addr,
			       v->arg ? "true" : "false");
			json__str(stdout, v->repr);
			printf("}");
		}
		printf("]}");
	}
	printf("]");
}

/* "damage": how the stack was damaged, one string per way, [] when whole. */
static void print_json_damage(const struct stack_trace *st)
{
	static const struct {
		uint16_t bit;
		const char *what;
	} ends[] = {
		{ PY_S_READ_ERR, "unreadable frame" },
		{ PY_S_CYCLE, "cycle" },
		{ PY_S_CORRUPT, "corrupt frame" },
		{ PY_S_TRUNCATED, "truncated" },
	};
	bool any = false;

	printf(", \"damage\": [");
	if (st->not_code) {
		printf("\"not code\"");
		any = true;
	}
	for (size_t k = 0; k < sizeof(ends) / sizeof(ends[0]); k++) {
		if (!(st->ends & ends[k].bit))
			continue;
		printf("%s\"%s\"", any ? ", " : "", ends[k].what);
		any = true;
	}
	printf("]");
}

static void print_json(const struct stack_trace *sts, size_t n, bool *first)
{
	for (size_t i = 0; i < n; i++) {
		const struct stack_trace *st = &sts[i];

		printf("%s\n  {\"pid\": %d, \"thread_id\": %" PRIu64 ", \"thread_name\": ",
		       *first ? "" : ",", st->pid, st->thread_id);
		json__str(stdout, st->thread_name);
		printf(", \"os_thread_id\": %d, \"active\": %s, \"owns_gil\": %s, \"frames\": ",
		       st->os_thread_id, st->active ? "true" : "false",
		       st->owns_gil ? "true" : "false");
		print_json_frames(st);
		print_json_damage(st);
		printf("}");
		*first = false;
	}
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
		struct iterate_opts io = { .pid = p->pid, .frame_addrs = o->locals > 0 };

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
static void free_traces(struct stack_trace *sts, size_t n)
{
	for (size_t i = 0; sts && i < n; i++) {
		for (unsigned int j = 0; j < sts[i].nframes; j++) {
			const struct frame *f = sts[i].frames[j];

			if (f->locals) {
				pyobj__free_locals((struct local_variable *)f->locals, f->nlocals);
				free((void *)f);
			}
		}
		free((void *)sts[i].frames);
	}
	free(sts);
}

/* --native: the thread's Python frames *fr (locals kept) merged with its
 * C frames, in a new array. */
static int with_native(struct collect *c, struct agg *a, const struct py_stack_hdr *h,
		       const struct py_frame_rec *frs, const struct native_rec *nat,
		       const struct frame ***fr, unsigned int *nf)
{
	const struct frame **merged = malloc(NATIVE_STACK_MAX * sizeof(*merged));
	struct native_stack_in in = {
		.frs = frs, .nraw = h->nframes, .py = *fr, .npy = *nf,
		.nh = &nat->h, .nf = nat->f,
	};

	if (!merged)
		return -ENOMEM;
	*nf = native_stack__merge(c->native, a, &in, merged, NATIVE_STACK_MAX);
	free(*fr);
	*fr = merged;
	return 0;
}

/* Walks one process's threads and prints them; 0 or negative errno. */
static int dump_one(struct sampler *s, struct py_process *p, const struct dump_opts *o,
		    struct collect *c, bool *first)
{
	static const struct frame *frames[STACK_MAX];
	struct symbolize_stats sym = { 0 };
	struct stack_trace *sts = NULL;
	struct agg *a = agg__new();
	size_t i, n = 0;
	int err;

	if (!a)
		return -ENOMEM;
	err = collect_threads(s, p, o, c);
	if (err)
		goto cleanup;
	/* Every thread's name at once, as py-spy lists them. */
	if (c->n) {
		qsort(c->threads, c->n, sizeof(c->threads[0]), cmp_tid);
		py_process__read_thread_names(p, c->n + 64);
	}
	sts = calloc(c->n + 1, sizeof(*sts));
	if (!sts) {
		err = -ENOMEM;
		goto cleanup;
	}
	for (i = 0; i < c->n; i++) {
		const struct py_stack_hdr *h;
		const struct py_frame_rec *frs;
		const struct frame **fr;
		unsigned int nf;

		if (record__decode_stack(c->threads[i].stack, c->threads[i].size, &h, &frs))
			continue;
		nf = stack__symbolize(a, p, h, frs, false, frames, &sym);
		fr = malloc((nf + 1) * sizeof(*fr));
		if (!fr) {
			err = -ENOMEM;
			goto cleanup;
		}
		memcpy(fr, frames, nf * sizeof(*fr));
		if (o->locals && c->threads[i].addrs)
			with_locals(p, fr, nf, frs, c->threads[i].addrs,
				    c->threads[i].naddrs < h->nframes ? c->threads[i].naddrs : h->nframes,
				    o->locals > 1 ? 1024 : 128);
		if (c->native && c->threads[i].nat && (err = with_native(c, a, h, frs,
									  c->threads[i].nat, &fr, &nf)))
			goto cleanup;
		sts[n].pid = p->pid;
		sts[n].ns_pid = p->ns_pid;
		sts[n].thread_id = h->pthread_id;
		sts[n].os_thread_id = h->tid;
		/* A copy: asking for the next thread's name may refresh the table. */
		sts[n].thread_name = agg__str(a, py_process__thread_name(p, h->tid, h->pthread_id, h->comm));
		if (!sts[n].thread_name)
			sts[n].thread_name = "";
		sts[n].active = h->status & PY_S_ACTIVE;
		sts[n].owns_gil = h->status & PY_S_GIL;
		sts[n].ends = h->status & PY_S_ENDS;
		sts[n].not_code = 0;
		for (unsigned int j = 0; j < h->nframes && j < PY_MAX_FRAMES; j++)
			sts[n].not_code += frs[j].code == PY_CODE_NOT_CODE;
		sts[n].frames = fr;
		sts[n].nframes = nf;
		sts[n].cmdline = p->cmdline;
		n++;
	}
	/* Gone before its threads could be read: that is no answer. */
	if (!n && !c->core && py_process__gone(p->pid)) {
		err = -ESRCH;
		goto cleanup;
	}
	if (o->json)
		print_json(sts, n, first);
	else
		print_text(p, sts, n, o, c->core);
cleanup:
	free_traces(sts, n);
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

/* The process and, with -s, its descendants (from /proc/PID/stat ppids). */
static size_t family(pid_t root, bool descendants, pid_t *out, size_t max)
{
	size_t n = 0, done = 0;
	DIR *d;
	struct dirent *de;

	out[n++] = root;
	if (!descendants)
		return n;
	while (done < n) {
		pid_t parent = out[done++];

		d = opendir("/proc");
		if (!d)
			break;
		while ((de = readdir(d)) && n < max) {
			char *end;
			long pid = strtol(de->d_name, &end, 10);

			if (*end || pid <= 0)
				continue;
			if (procfs__ppid(pid) == parent)
				out[n++] = pid;
		}
		closedir(d);
	}
	return n;
}

/* --core: the process a core dump holds, read from the core alone. */
static int dump_core(const struct dump_opts *o)
{
	struct collect c = { 0 };
	bool first = true;
	char why[768];
	int err;

	err = core_proc__open(o->core, &c.core, why, sizeof(why));
	if (err) {
		pr_err("cannot read core '%s': %s", o->core, why);
		return err == -EPROTONOSUPPORT ? EXIT_NOT_PYTHON :
		       err == -EINVAL || err == -ENOMEM ? EXIT_FAILURE_ : EXIT_NO_PROCESS;
	}
	if (o->json)
		printf("[");
	err = dump_one(NULL, core_proc__process(c.core), o, &c, &first);
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
	pid_t pids[DUMP_MAX_PROCS];
	size_t npids, i;
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
	npids = family(o->pid, o->subprocesses, pids, DUMP_MAX_PROCS);
	for (i = 0; i < npids; i++) {
		struct py_process *p = NULL;

		if (pids[i] == o->pid && root) {
			p = root;
			root = NULL;
		} else if (py_process__open(pids[i], &p, why, sizeof(why))) {
			continue;
		}
		err = dump_one(s, p, o, &c, &first);
		py_process__free(p);
		if (err && pids[i] != o->pid && py_process__gone(pids[i]))
			continue;	/* a descendant that exited meanwhile */
		if (err == -ESRCH || (err && py_process__gone(pids[i]))) {
			pr_err("no process with pid %d: it exited while being dumped", pids[i]);
			status = EXIT_NO_PROCESS;
			goto cleanup;
		}
		if (err) {
			pr_err("cannot dump pid %d: %s", pids[i], strerror(-err));
			goto cleanup;
		}
	}
	if (o->json)
		printf("\n]\n");
	fflush(stdout);
	status = EXIT_OK;
cleanup:
	native__free(c.native);
	sampler__free(s);
	py_process__free(root);
	free(c.threads);
	return status;
}
