/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * What the pieces of `record` (and `top`) share: the collector's state and
 * the calls between them. Not for main.c or dump.c: they use record.h.
 *
 *   record.c      the engine: the sampler's records to the aggregate, the
 *                 drain loop, and cmd_record's phases
 *   targets.c     which processes are profiled: attach, retry, forks,
 *                 execs and exits, the sweep, the /proc scan
 *   waiter.c      signals, and the sleep between drains (epoll, pidfds)
 *   launch.c      record -- COMMAND: the child, its start and its end
 *   sink.c        where samples go: the profile file, top's table (sink.h)
 *   continuous.c  the --interval sink: the folder of profiles and the uploads
 *   summary.c     what is said on stderr: the live line, the summary
 */
#ifndef PYSPY_RECORD_INT_H
#define PYSPY_RECORD_INT_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "aggregate.h"
#include "hashmap.h"
#include "native.h"
#include "pyproc.h"
#include "record.h"
#include "sampler.h"
#include "sink.h"
#include "stack.h"

enum drop_reason {
	D_UNKNOWN_PROC,		/* the record's process is not known to userspace */
	D_GIL_FILTERED,		/* --gil: the thread did not hold the GIL */
	D_MALFORMED,		/* a record that does not decode */
	D_EMPTY,		/* a thread in no Python function (starting, exiting) */
	D__MAX,
};

/* Exits and execs wait until the samples taken before them are read. */
struct proc_change {
	pid_t pid;
	bool exec;
};

struct collector {
	struct record_opts *o;
	struct sampler *sampler;
	struct agg *agg;
	struct hashmap *procs;		/* pid -> struct py_process */
	struct hashmap *pending;	/* pid -> struct pending */
	struct hashmap *refused;	/* pid -> start time, warned once */
	struct hashmap *family;		/* pid -> struct member (targets.c): -p / command
					 * pids and, with -s, their descendants */
	pid_t child;			/* the command started, 0 if none */
	int child_status;		/* its wait status, once reaped */
	bool child_done;
	bool child_killed;		/* still running at the end: killed */
	int go_fd;			/* the command waits on it until attached; -1 */
	uint64_t written;
	uint64_t drained_bytes;		/* stack records read by the last drain */
	uint64_t procs_seen;
	uint64_t drops[D__MAX];
	struct symbolize_stats sym;
	struct stack_memo *memo;	/* NULL: every stack is symbolized anew */
	/* The sink (sink.h), and each one's own state. */
	const struct sink_ops *sink;
	struct outfile *out;		/* file: the profile being written */
	const char *path;		/* file: -o, or defpath */
	char defpath[256];
	struct top *top;		/* top: the live table */
	struct uploader *uploader;	/* continuous: --upload */
	uint64_t interval_mono, interval_unix; /* continuous: this interval's start */
	uint64_t next_flush;		/* continuous: its end */
	uint64_t unsupported;		/* processes refused */
	bool targets_gone;
	bool threads;			/* the output tells threads apart */
	struct proc_change *changes;
	size_t nchanges, changes_cap;
	uint64_t events_lost;		/* process events the kernel could not queue */
	uint64_t next_sweep;		/* next check of every known process */
	int ep;				/* what the sleep between drains waits on; -1: none */
	int pidfds[MAX_PIDS + 1];	/* -p targets and the command, in ep */
	int npidfds;
	/* --native: the tables, and the C frames of the stack record to come
	 * (they precede it, for the same thread). */
	struct native *native;
	struct {
		struct py_native_hdr h;
		struct py_native_frame f[PY_MAX_NATIVE];
	} nat;
	bool nat_ready;
	/* --async: the frame addresses of the stack record to come (they
	 * precede it, for the same thread). */
	struct {
		struct py_addrs_hdr h;
		uint64_t a[PY_MAX_FRAMES];
	} addrs;
	bool addrs_ready;
};

/* targets.c */
bool targets__host_wide(const struct collector *c);
int targets__add(struct collector *c, struct py_process *p);
int targets__try_attach(struct collector *c, pid_t pid, bool loud);
void targets__schedule(struct collector *c, pid_t pid);
void targets__run_pending(struct collector *c);
void targets__add_family(struct collector *c, pid_t pid, pid_t ppid);
/* With -s: the process frames of pid's ancestors in the family, root first,
 * interned in c->agg; how many (at most max). */
unsigned int targets__ancestors(struct collector *c, pid_t pid, const struct frame **out,
				unsigned int max);
void targets__on_fork(struct collector *c, pid_t ppid, pid_t pid);
void targets__defer_change(struct collector *c, pid_t pid, bool exec);
void targets__apply_changes(struct collector *c);
void targets__sweep(struct collector *c, uint64_t now);
void targets__scan_proc(struct collector *c);
void targets__adopt_descendants(struct collector *c);
bool targets__any_alive(const struct collector *c);
/* record -p: every pid is a Python process before anything starts; 0 or
 * the exit status. */
int targets__check_pids(struct collector *c);
/* Frees the known and pending processes (not the maps). */
void targets__free(struct collector *c);

/* waiter.c */
extern volatile sig_atomic_t stop_requested, flush_requested;
void waiter__signals(bool continuous);
int waiter__open(struct collector *c);
bool waiter__watch_exit(struct collector *c, pid_t pid);
bool waiter__sleep(struct collector *c, uint64_t ns);
void waiter__close(struct collector *c);

/* launch.c */
int launch__start(struct collector *c, char **argv, bool capture);
void launch__go(struct collector *c);
void launch__reap(struct collector *c);
void launch__end(struct collector *c);
/* The run's exit status: the command's, as the shell would give it. */
int launch__status(struct collector *c);

/* sink.c: the sample's stack (with its C frames under --native), in a
 * buffer valid until the next call. */
const struct frame **sink__stack(struct collector *c, struct py_process *p,
				 const struct py_stack_hdr *h, const struct py_frame_rec *frs,
				 bool function_lines, unsigned int *n);

/* summary.c */
void summary__live(struct collector *c, uint64_t elapsed_ns, bool done);
void summary__print(struct collector *c, const char *path, const uint64_t *k);

#endif
