// SPDX-License-Identifier: BSD-2-Clause
/*
 * The processes being profiled: the collector's table of them (procs), the
 * BPF side's (the sampler's procs map), kept in step. A process is
 * attached when it is seen to run Python: at start (-p, the /proc scan),
 * after an exec (retried until the interpreter is mapped), after a fork of
 * a known one; it is dropped at its exit or exec, once the samples it took
 * before are read.
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "clock.h"
#include "exitcode.h"
#include "log.h"
#include "output.h"
#include "record_int.h"

/*
 * Retries after exec, until the interpreter is mapped (a libpython is mapped
 * by the new program's loader). Every RETRY_FAST_MS for the first
 * RETRY_FAST_TRIES tries: on a busy host the loader of a process that will
 * burn a second of CPU may not run for hundreds of milliseconds, and a
 * process attached late has lost its samples. Then backing off, for a
 * program that dlopens its interpreter late (or never: a try reads its maps).
 */
#define RETRY_FAST_MS 10
#define RETRY_FAST_TRIES 150
static const unsigned int retry_slow_ms[] = { 250, 500, 1000, 2000 };
#define NRETRY (RETRY_FAST_TRIES + sizeof(retry_slow_ms) / sizeof(retry_slow_ms[0]))

static unsigned int retry_delay_ms(unsigned int tries)
{
	return tries < RETRY_FAST_TRIES ? RETRY_FAST_MS : retry_slow_ms[tries - RETRY_FAST_TRIES];
}

struct pending {
	unsigned int tries;
	uint64_t next_ns;
};

bool targets__host_wide(const struct collector *c)
{
	return c->o->npids == 0 && !c->o->command;
}

static void drop_process(struct collector *c, pid_t pid)
{
	struct py_process *p = hashmap__del(c->procs, pid);

	if (p) {
		sampler__del_proc(c->sampler, pid);
		if (c->native)
			native__del_proc(c->native, pid);
		stack_memo__clear(c->memo);
		py_process__free(p);
	}
}

int targets__add(struct collector *c, struct py_process *p)
{
	int err;

	drop_process(c, p->pid);
	err = hashmap__put(c->procs, p->pid, p);
	if (err)
		return err;
	/* The unwind tables first: the process's first samples have them.
	 * Without its mappings a process is still sampled: its C frames end
	 * at the first address (counted as no mapping). */
	if (c->native && (err = native__add_proc(c->native, p->pid)))
		pr_debug("native: cannot read the mappings of pid %d: %s", p->pid,
			 strerror(-err));
	err = sampler__add_proc(c->sampler, p->pid, &p->bpf);
	if (err) {
		hashmap__del(c->procs, p->pid);
		if (c->native)
			native__del_proc(c->native, p->pid);
		return err;
	}
	c->procs_seen++;
	pr_debug("profiling pid %d: CPython %u.%u.%u in '%s'", p->pid, p->major, p->minor,
		 p->micro, p->module);
	return 0;
}

/* Returns 0, or the py_process__open error when the pid is not (yet) Python. */
int targets__try_attach(struct collector *c, pid_t pid, bool loud)
{
	struct py_process *p;
	char why[256];
	int err;

	err = py_process__open(pid, &p, why, sizeof(why));
	if (err == -EPROTONOSUPPORT) {
		uint64_t st = proc_start_time(pid);

		if (hashmap__size(c->refused) >= 4096) {
			hashmap__free(c->refused);
			c->refused = hashmap__new();
		}
		if (loud || !c->refused ||
		    hashmap__get(c->refused, pid) != (void *)(uintptr_t)(st | 1)) {
			char cmd[256];

			read_cmdline(pid, cmd, sizeof(cmd));
			pr_warn("not profiling pid %d ('%s'): %s", pid, cmd, why);
			if (c->refused)
				hashmap__put(c->refused, pid, (void *)(uintptr_t)(st | 1));
			c->unsupported++;
		}
		return err;
	}
	if (err)
		return err;
	if (c->o->gil_only && py_process__free_threaded(p)) {
		if (loud || !c->refused || !hashmap__get(c->refused, pid)) {
			pr_warn("not profiling pid %d: a free-threaded build has no GIL (--gil)",
				pid);
			if (c->refused)
				hashmap__put(c->refused, pid, (void *)(uintptr_t)1);
			c->unsupported++;
		}
		py_process__free(p);
		return -EPROTONOSUPPORT;
	}
	err = targets__add(c, p);
	if (err) {
		pr_warn("cannot profile pid %d: %s", pid, strerror(-err));
		py_process__free(p);
	}
	return err;
}

void targets__schedule(struct collector *c, pid_t pid)
{
	struct pending *pd = hashmap__get(c->pending, pid);

	if (!pd) {
		pd = calloc(1, sizeof(*pd));
		if (!pd || hashmap__put(c->pending, pid, pd)) {
			free(pd);
			return;
		}
	}
	pd->tries = 0;
	pd->next_ns = mono_ns();
}

void targets__run_pending(struct collector *c)
{
	uint64_t now = mono_ns(), key;
	pid_t due[256];
	size_t pos = 0, n = 0, i;
	void *v;

	while (n < 256 && hashmap__next(c->pending, &pos, &key, &v))
		if (((struct pending *)v)->next_ns <= now)
			due[n++] = (pid_t)key;
	for (i = 0; i < n; i++) {
		struct pending *pd = hashmap__get(c->pending, due[i]);
		int err = targets__try_attach(c, due[i], false);

		if (err == -ENOENT && ++pd->tries < NRETRY) {
			pd->next_ns = now + retry_delay_ms(pd->tries) * 1000000ULL;
			continue;
		}
		free(hashmap__del(c->pending, due[i]));
	}
}

static bool is_followed(struct collector *c, pid_t pid)
{
	return targets__host_wide(c) || hashmap__get(c->family, pid);
}

/* A process of the family: -p targets and the command, and with -s what
 * they start, each with its parent for the nesting of process roots. */
struct member {
	pid_t ppid;		/* 0: a -p target or the command */
	char *text;		/* its process frame's name; NULL until wanted */
	uint64_t gen;		/* agg__gen() of the aggregate frame was made in */
	const struct frame *frame;
};

static void member_free(struct member *m)
{
	if (m)
		free(m->text);
	free(m);
}

void targets__add_family(struct collector *c, pid_t pid, pid_t ppid)
{
	struct member *m = hashmap__get(c->family, pid);

	if (m) {
		/* A pid reused before its exit was read: a new process. */
		free(m->text);
		*m = (struct member){ .ppid = ppid };
		return;
	}
	if (hashmap__size(c->family) >= PY_MAX_PROCS || !(m = calloc(1, sizeof(*m))))
		return;
	m->ppid = ppid;
	if (hashmap__put(c->family, pid, m))
		free(m);
}

/*
 * The name of a member's process frame, made the first time a descendant
 * is sampled (a parent waits for its child, so it still runs) and kept: the
 * command line of a known Python process, else the one /proc shows.
 */
static const char *member_text(struct collector *c, pid_t pid, struct member *m)
{
	struct py_process *p = hashmap__get(c->procs, pid);
	static char cmdline[CMDLINE_MAX];
	pid_t ns_pid;
	int len;

	if (m->text)
		return m->text;
	if (p) {
		len = process_frame__text(pid, p->ns_pid, p->cmdline, NULL, 0);
		if (len >= 0 && (m->text = malloc(len + 1)))
			process_frame__text(pid, p->ns_pid, p->cmdline, m->text, len + 1);
		return m->text;
	}
	if (read_cmdline(pid, cmdline, sizeof(cmdline)) < 0)
		cmdline[0] = 0;
	ns_pid = proc_ns_pid(pid);
	len = process_frame__text(pid, ns_pid, cmdline, NULL, 0);
	if (len >= 0 && (m->text = malloc(len + 1)))
		process_frame__text(pid, ns_pid, cmdline, m->text, len + 1);
	return m->text;
}

unsigned int targets__ancestors(struct collector *c, pid_t pid, const struct frame **out,
				unsigned int max)
{
	struct member *m = hashmap__get(c->family, pid);
	unsigned int n = 0, i;

	/* Bounded: a reused pid could make the parents a cycle. */
	while (m && m->ppid && n < max) {
		pid_t ppid = m->ppid;

		m = hashmap__get(c->family, ppid);
		if (!m)
			break;
		if (m->gen != agg__gen(c->agg)) {
			const char *text = member_text(c, ppid, m);

			m->frame = text ? agg__frame(c->agg, text, "", "", 0, FRAME_MARKER) : NULL;
			m->gen = m->frame ? agg__gen(c->agg) : 0;
		}
		if (!m->frame)
			break;
		out[n++] = m->frame;
	}
	for (i = 0; i < n / 2; i++) {
		const struct frame *t = out[i];

		out[i] = out[n - 1 - i];
		out[n - 1 - i] = t;
	}
	return n;
}

static void apply_change(struct collector *c, pid_t pid, bool exec)
{
	if (exec) {
		struct member *m = hashmap__get(c->family, pid);

		/* Its descendants' process frame shows its new command line. */
		if (m) {
			free(m->text);
			*m = (struct member){ .ppid = m->ppid };
		}
		/* The old image is gone; the new one may be Python (later). */
		if (hashmap__get(c->procs, pid) || is_followed(c, pid)) {
			drop_process(c, pid);
			targets__schedule(c, pid);
		}
		return;
	}
	drop_process(c, pid);
	free(hashmap__del(c->pending, pid));
	hashmap__del(c->refused, pid);
	if (pid != c->child)
		member_free(hashmap__del(c->family, pid));
}

/*
 * Process events come through their own ring buffer, read before the
 * samples: an exit applied at once would make the samples the process took
 * just before it unreadable. They wait in order until the samples are read.
 */
void targets__defer_change(struct collector *c, pid_t pid, bool exec)
{
	if (c->nchanges == c->changes_cap) {
		size_t cap = c->changes_cap ? c->changes_cap * 2 : 64;
		struct proc_change *n = realloc(c->changes, cap * sizeof(*n));

		if (!n) {
			apply_change(c, pid, exec);
			return;
		}
		c->changes = n;
		c->changes_cap = cap;
	}
	c->changes[c->nchanges++] = (struct proc_change){ .pid = pid, .exec = exec };
}

/*
 * -p with -s: the targets' descendants already running join the family,
 * each under its parent, and are attached as the ones they start later
 * will be (py-spy follows them too). Generation by generation over /proc
 * (the fork tracepoint is attached first: a process forked meanwhile is in
 * the family already), at most PY_MAX_PROCS.
 */
void targets__adopt_descendants(struct collector *c)
{
	pid_t *queue = calloc(2 * PY_MAX_PROCS, sizeof(*queue)), *kids = queue + PY_MAX_PROCS;
	size_t n = 0, done = 0;
	pid_t self = getpid();

	if (!queue)
		return;
	for (int i = 0; i < c->o->npids && n < PY_MAX_PROCS; i++)
		queue[n++] = c->o->pids[i];
	while (done < n && n < PY_MAX_PROCS) {
		pid_t parent = queue[done++];
		size_t nk = procfs__children(parent, kids, PY_MAX_PROCS - n);

		for (size_t i = 0; i < nk; i++) {
			pid_t pid = kids[i];

			if (pid == self || hashmap__get(c->family, pid))
				continue;
			targets__add_family(c, pid, parent);
			queue[n++] = pid;
			if (!hashmap__get(c->procs, pid))
				targets__try_attach(c, pid, false);
		}
	}
	free(queue);
}

/* Host-wide: the processes already running, or whose exec event was lost. */
void targets__scan_proc(struct collector *c)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	pid_t self = getpid();

	if (!d)
		return;
	while ((de = readdir(d))) {
		char *end;
		long pid = strtol(de->d_name, &end, 10);

		if (*end || pid <= 0 || pid == self || hashmap__get(c->procs, pid) ||
		    hashmap__get(c->pending, pid))
			continue;
		targets__try_attach(c, pid, false);
	}
	closedir(d);
}

/*
 * Once a second: every known process that is gone is dropped (its exit
 * event may be the one lost), and host-wide, after the kernel lost process
 * events, /proc is scanned again for processes whose exec was lost.
 */
void targets__sweep(struct collector *c, uint64_t now)
{
	uint64_t k[PY_C__MAX] = { 0 }, key;
	pid_t gone[256];
	size_t pos = 0, n = 0;
	void *v;

	if (now < c->next_sweep)
		return;
	c->next_sweep = now + 1000000000ULL;
	while (n < 256 && hashmap__next(c->procs, &pos, &key, &v))
		if (py_process__gone((pid_t)key))
			gone[n++] = (pid_t)key;
	for (size_t i = 0; i < n; i++)
		apply_change(c, gone[i], false);
	sampler__counters(c->sampler, k);
	if (k[PY_C_EVENTS_LOST] > c->events_lost) {
		pr_debug("%" PRIu64 " process events lost: rescanning",
			 k[PY_C_EVENTS_LOST] - c->events_lost);
		c->events_lost = k[PY_C_EVENTS_LOST];
		if (targets__host_wide(c))
			targets__scan_proc(c);
	}
}

/* A command's run ends with the command; -p's with the last target. */
bool targets__any_alive(const struct collector *c)
{
	if (c->child)
		return !c->child_done;
	return hashmap__size(c->procs) || hashmap__size(c->pending);
}

/* A fork: with -s the child joins the family; a known Python parent's child
 * is attached at once, from the parent's state, before it execs or runs. */
void targets__on_fork(struct collector *c, pid_t ppid, pid_t pid)
{
	struct py_process *parent, *child;

	if (c->o->subprocesses && hashmap__get(c->family, ppid))
		targets__add_family(c, pid, ppid);
	parent = hashmap__get(c->procs, ppid);
	if (!parent || !is_followed(c, pid))
		return;
	if (py_process__fork(parent, pid, &child))
		return;
	if (targets__add(c, child))
		py_process__free(child);
}

/* The samples are read: the exits and execs deferred until then apply. */
void targets__apply_changes(struct collector *c)
{
	size_t i;

	for (i = 0; i < c->nchanges; i++)
		apply_change(c, c->changes[i].pid, c->changes[i].exec);
	c->nchanges = 0;
}

int targets__check_pids(struct collector *c)
{
	struct record_opts *o = c->o;
	int i, err;

	for (i = 0; i < o->npids; i++)
		targets__add_family(c, o->pids[i], 0);
	for (i = 0; i < o->npids; i++) {
		struct py_process *p;
		char why[256];

		err = py_process__open(o->pids[i], &p, why, sizeof(why));
		if (err == -ESRCH || (err && py_process__gone(o->pids[i]))) {
			pr_err("no process with pid %d", o->pids[i]);
			return EXIT_NO_PROCESS;
		}
		if (err == -EPROTONOSUPPORT) {
			pr_err("cannot profile pid %d: %s", o->pids[i], why);
			return EXIT_NOT_PYTHON;
		}
		if (err && o->subprocesses) {
			/* A shell or a launcher: what it started is profiled. */
			pr_debug("pid %d runs no CPython: its descendants only", o->pids[i]);
			continue;
		}
		if (err) {
			pr_err("pid %d does not run a CPython interpreter", o->pids[i]);
			return EXIT_NOT_PYTHON;
		}
		if (o->gil_only && py_process__free_threaded(p)) {
			pr_err("cannot profile pid %d with --gil: CPython %u.%u is a free-threaded "
			       "build, without a GIL", o->pids[i], p->major, p->minor);
			py_process__free(p);
			return EXIT_NOT_PYTHON;
		}
		py_process__free(p);
	}
	return 0;
}

void targets__free(struct collector *c)
{
	size_t pos;
	void *v;

	if (c->procs) {
		pos = 0;
		while (hashmap__next(c->procs, &pos, NULL, &v))
			py_process__free(v);
	}
	if (c->pending) {
		pos = 0;
		while (hashmap__next(c->pending, &pos, NULL, &v))
			free(v);
	}
	if (c->family) {
		pos = 0;
		while (hashmap__next(c->family, &pos, NULL, &v))
			member_free(v);
	}
}
