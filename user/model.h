/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The data model every output is produced from: StackTrace, Frame and
 * LocalVariable, as py-spy users know them.
 */
#ifndef PYSPY_MODEL_H
#define PYSPY_MODEL_H

#include <stdbool.h>
#include <stdint.h>

enum frame_kind {
	FRAME_PYTHON,
	FRAME_NATIVE,
	FRAME_MARKER,		/* <unknown>, <truncated>, process / thread roots */
};

struct local_variable {
	const char *name;
	uint64_t addr;
	bool arg;
	const char *repr;
};

struct frame {
	const char *name;
	const char *filename;
	const char *short_filename;
	int line;		/* 0: unknown */
	enum frame_kind kind;
	const struct local_variable *locals;	/* NULL unless asked for */
	unsigned int nlocals;
};

struct stack_trace {
	int pid;		/* as the host sees it */
	int ns_pid;		/* as its own pid namespace sees it; 0: the same */
	uint64_t thread_id;	/* the pthread id Python stores */
	const char *thread_name;
	int os_thread_id;	/* kernel tid */
	bool active;
	bool owns_gil;
	uint16_t ends;		/* PY_S_ENDS bits: how the walk ended short of the root */
	unsigned int not_code;	/* frames whose code was no code object (<not code>) */
	const struct frame *const *frames;	/* innermost first */
	unsigned int nframes;
	uint64_t count;		/* samples with exactly this stack */
	const char *cmdline;	/* the process's command line */
	/* With -s: the process frames of its profiled ancestors, root first
	 * (FRAME_MARKER frames named as the process roots are), under which
	 * the writers nest the process's own root as py-spy does. */
	const struct frame *const *ancestors;
	unsigned int nancestors;
};

#endif
