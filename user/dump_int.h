/* SPDX-License-Identifier: BSD-2-Clause */
/* dump's printers (dump_out.c) and what dump.c hands them. */
#ifndef PYSPY_DUMP_INT_H
#define PYSPY_DUMP_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "dump.h"
#include "model.h"
#include "pyproc.h"

/* A process of the family -s follows, in the order printed: depth first,
 * each process before its children (py-spy's). */
struct dump_proc {
	pid_t pid;
	int parent;		/* index in the family; -1: the process asked for */
	char *cmdline;		/* NULL until read */
	const char *exe;	/* the program, when /proc cannot say (--core) */
};

/* Per frame of a trace, beside the frames (shared, interned). */
enum {
	DF_ENTRY = 1 << 0,	/* the frame its eval-loop activation began with */
	DF_SHIM_ENTRY = 1 << 1,	/* and a shim frame (3.12+) marked that */
};

struct dump_trace {
	struct stack_trace st;
	uint8_t *flags;		/* st.nframes DF_* bits */
};

/* dump --async: a task, and where it sits in the tree. */
struct dump_task {
	const struct py_task *t;
	int parent;		/* the task awaiting it, which it is shown under; -1: none */
	int tid;		/* the thread found running it; 0: none */
	uint64_t tstate;	/* that thread's state */
	/* Running: on a walked thread's stack (tid), or running when the
	 * tasks were read on a thread where no other task was found. */
	bool running;
	bool own;		/* tr.st.frames is its own copy */
	struct dump_trace tr;	/* its frames, innermost first */
};

/* The tasks of one process under its header, as a tree: each task with
 * its frames, and under it the tasks it awaits (err: why there are none to
 * show, -EPROTONOSUPPORT for a version without them). */
void dump_out__tasks_text(const struct py_process *p, const struct dump_proc *fam, int self,
			  const struct dump_task *t, size_t n, int err, const struct dump_opts *o);
/* The same as elements of the JSON list, one per task. */
void dump_out__tasks_json(const struct dump_proc *fam, int self, const struct dump_task *t,
			  size_t n, const struct dump_opts *o, bool *first);

/* The text of one process: its header (with its parent's line when it has
 * one) and its threads, the oldest first as py-spy prints them. */
void dump_out__text(const struct py_process *p, const struct dump_proc *fam, int self,
		    const struct dump_trace *t, size_t n, const struct dump_opts *o);
/* py-spy's line between two processes of -s. */
void dump_out__separator(void);
/* One process's traces as elements of the JSON list, in the interpreter's
 * order; *first: none printed yet. */
void dump_out__json(const struct dump_proc *fam, int self, const struct dump_trace *t,
		    size_t n, const struct dump_opts *o, bool *first);

#endif
