// SPDX-License-Identifier: BSD-2-Clause
/*
 * The profile file and top's table as sinks of a recording (sink.h), and
 * the step the profile sinks share: a sample symbolized into the aggregate.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "clock.h"
#include "log.h"
#include "native_stack.h"
#include "procfs.h"
#include "record_int.h"
#include "sink.h"
#include "tasks.h"
#include "textesc.h"
#include "top.h"

/* Process frames above a process's own with -s: deeper trees are cut at
 * the root side (a reused pid could even make a cycle). */
#define ANCESTORS_MAX 64

const struct frame **sink__stack(struct collector *c, struct py_process *p,
				 const struct py_stack_hdr *h, const struct py_frame_rec *frs,
				 bool function_lines, unsigned int *n)
{
	static const struct frame *frames[STACK_MAX];
	static const struct frame *merged[NATIVE_STACK_MAX];
	struct native_stack_in in;
	unsigned int nt;

	*n = stack__symbolize_memo(c->memo, c->agg, p, h, frs, function_lines, frames, &c->sym);
	if (c->addrs_ready) {
		nt = tasks__stack(p, c->agg, function_lines, h, frs, c->addrs.a, frames, *n,
				  merged, NATIVE_STACK_MAX, &c->sym, mono_ns());
		if (nt) {
			*n = nt;
			return merged;
		}
	}
	if (!c->native || !c->nat_ready)
		return frames;
	in = (struct native_stack_in){
		.frs = frs, .nraw = h->nframes, .py = frames, .npy = *n,
		.nh = &c->nat.h, .nf = c->nat.f, .all = c->o->native_all,
	};
	*n = native_stack__merge(c->native, c->agg, &in, merged, NATIVE_STACK_MAX);
	return merged;
}

void sink__aggregate(struct collector *c, struct py_process *p, const struct py_stack_hdr *h,
		     const struct py_frame_rec *frs)
{
	const struct frame **frames;
	struct stack_trace st = { 0 };
	unsigned int n;

	if (!h->nframes && !(h->status & PY_S_ENDS)) {
		c->drops[D_EMPTY]++;
		return;
	}
	frames = sink__stack(c, p, h, frs, c->o->function, &n);

	st.pid = h->pid;
	st.ns_pid = p->ns_pid;
	if (c->threads) {
		st.thread_id = h->pthread_id;
		st.os_thread_id = h->tid;
		st.thread_name = py_process__thread_name(p, h->tid, h->pthread_id, h->comm);
	} else {
		st.thread_name = "";
	}
	st.active = h->status & PY_S_ACTIVE;
	st.owns_gil = h->status & PY_S_GIL;
	st.frames = frames;
	st.nframes = n;
	st.cmdline = p->cmdline;
	if (c->o->subprocesses) {
		static const struct frame *ancestors[ANCESTORS_MAX];

		st.ancestors = ancestors;
		st.nancestors = targets__ancestors(c, p->pid, ancestors, ANCESTORS_MAX);
	}
	if (!agg__add(c->agg, &st, 1, h->ts))
		c->written++;
}

void sink__say_sampling(const struct collector *c)
{
	fprintf(stderr, "pyspy-bpf: sampling %s at %u Hz per CPU%s\n",
		targets__host_wide(c) ? "every Python process"
		: c->child ? "the command" : "the process", c->o->rate,
		c->o->duration > 0 ? "" : "; press Control-C to stop");
}

static uint64_t never_due(const struct collector *c)
{
	(void)c;
	return UINT64_MAX;
}

/* The profile file. */

/* No -o: a name in the current folder, from the target and the time. */
static void default_output(const struct record_opts *o, char *buf, size_t len)
{
	char stamp[32], who[32];
	time_t t = time(NULL);
	struct tm tm;

	localtime_r(&t, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%S", &tm);
	if (o->command) {
		const char *b = strrchr(o->command[0], '/');

		snprintf(who, sizeof(who), "%s", b ? b + 1 : o->command[0]);
	} else if (o->npids) {
		snprintf(who, sizeof(who), "%d", o->pids[0]);
	} else {
		snprintf(who, sizeof(who), "all");
	}
	snprintf(buf, len, "pyspy-bpf-%s-%s.%s", who, stamp, output__ext(o->out.format));
}

static int file_open(struct collector *c)
{
	int err;

	c->path = c->o->output;
	if (!c->path) {
		default_output(c->o, c->defpath, sizeof(c->defpath));
		c->path = c->defpath;
	}
	err = outfile__open(c->path, &c->out);
	if (err) {
		/* ENXIO from a FIFO (outfile__open): nothing reads it yet. */
		pr_err("cannot create '%s': %s%s", c->path, strerror(-err),
		       err == -ENXIO ? " (a FIFO is written only once its reader is started)"
				     : "");
		return EXIT_OUTPUT;
	}
	return 0;
}

static int file_start(struct collector *c, uint64_t now)
{
	(void)now;
	sink__say_sampling(c);
	return 0;
}

static bool file_tick(struct collector *c, uint64_t now)
{
	(void)c;
	(void)now;
	return false;
}

static int file_finish(struct collector *c, const uint64_t *counters)
{
	int err;

	if (c->targets_gone)
		fprintf(stderr, "pyspy-bpf: the profiled process exited\n");
	err = outfile__write(c->out, c->agg, &c->o->out);
	if (!err) {
		err = outfile__commit(c->out);
		c->out = NULL;
	}
	if (err) {
		pr_err("cannot write '%s': %s", c->path, strerror(-err));
		return EXIT_FAILURE_;
	}
	summary__print(c, c->path, counters);
	return launch__status(c);
}

/* A half-written output is removed. */
static void file_free(struct collector *c)
{
	outfile__abort(c->out);
	c->out = NULL;
}

const struct sink_ops sink_file = {
	.open = file_open,
	.start = file_start,
	.add = sink__aggregate,
	.due = never_due,
	.tick = file_tick,
	.finish = file_finish,
	.free = file_free,
};

/* top's table. */

static int top_open(struct collector *c)
{
	(void)c;
	return 0;
}

static int top_start(struct collector *c, uint64_t now)
{
	c->top = top__new(c->o->rate, c->o->delay, c->o->out.full_filenames, now);
	if (!c->top) {
		pr_err("out of memory");
		return -ENOMEM;
	}
	return 0;
}

static void top_add(struct collector *c, struct py_process *p, const struct py_stack_hdr *h,
		    const struct py_frame_rec *frs)
{
	const struct frame **frames;
	unsigned int n;

	top__sample(c->top, h);
	frames = sink__stack(c, p, h, frs, false, &n);
	top__count(c->top, true, frames, n);
	frames = sink__stack(c, p, h, frs, true, &n);
	top__count(c->top, false, frames, n);
	c->written++;
}

static uint64_t top_due(const struct collector *c)
{
	return top__due(c->top);
}

/*
 * What top's first line names after "Collecting samples from ", as py-spy
 * writes it: the process's command line and Python version, or with -s
 * "and subprocesses"; then pyspy-bpf's own modes, several -p and the host.
 */
static void top_what(struct collector *c, char *buf, size_t len)
{
	const struct record_opts *o = c->o;
	pid_t pid = c->child ? c->child : o->npids ? o->pids[0] : 0;
	struct py_process *p = pid ? hashmap__get(c->procs, pid) : NULL;
	char cmd[CMDLINE_MAX], shown[4 * CMDLINE_MAX];
	size_t off;

	if (targets__host_wide(c)) {
		snprintf(buf, len, "every Python process on the host");
		return;
	}
	if (o->npids > 1) {
		off = snprintf(buf, len, "%d processes (pids", o->npids);
		for (int i = 0; i < o->npids && off < len; i++)
			off += snprintf(buf + off, len - off, "%s %d", i ? "," : "", o->pids[i]);
		if (off < len)
			snprintf(buf + off, len - off, ")%s", o->subprocesses ? " and subprocesses" : "");
		return;
	}
	/* Not attached yet (a command that is starting): /proc has it. */
	if (p)
		snprintf(cmd, sizeof(cmd), "%s", p->cmdline);
	else if (read_cmdline(pid, cmd, sizeof(cmd)) || !cmd[0])
		snprintf(cmd, sizeof(cmd), "Pid %d", pid);
	textesc__str(cmd, shown, sizeof(shown));	/* cut when it does not fit */
	if (o->subprocesses)
		snprintf(buf, len, "'%s' and subprocesses", shown);
	else if (p)
		snprintf(buf, len, "'%s' (python v%u.%u.%u)", shown, p->major, p->minor, p->micro);
	else
		snprintf(buf, len, "'%s'", shown);
}

static bool top_tick(struct collector *c, uint64_t now)
{
	struct top_head h = { .procs = hashmap__size(c->procs) };
	char what[4 * CMDLINE_MAX + 64];
	size_t pos = 0;
	void *v;

	if (top__keys(c->top, now))
		return true;
	if (!top__draw_due(c->top, now))
		return false;
	top_what(c, what, sizeof(what));
	h.what = what;
	h.show_procs = targets__host_wide(c) || c->o->subprocesses || c->o->npids > 1;
	/* py-spy counts every thread of its last sample, idle ones too: the
	 * kernel's count of each process's threads, read at the draw. */
	while (hashmap__next(c->procs, &pos, NULL, &v))
		h.threads += procfs__threads(((struct py_process *)v)->pid);
	top__draw(c->top, now, &h);
	return false;
}

/* The terminal given back first, then what is said on it. */
static int top_finish(struct collector *c, const uint64_t *counters)
{
	(void)counters;
	top__free(c->top);
	c->top = NULL;
	if (c->targets_gone)
		fprintf(stderr, "pyspy-bpf: the profiled process exited\n");
	return launch__status(c);	/* top -- COMMAND: the command's */
}

static void top_free(struct collector *c)
{
	top__free(c->top);
	c->top = NULL;
}

const struct sink_ops sink_top = {
	.open = top_open,
	.start = top_start,
	.add = top_add,
	.due = top_due,
	.tick = top_tick,
	.finish = top_finish,
	.free = top_free,
	.live = true,
};
