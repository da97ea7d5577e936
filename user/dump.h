/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef PYSPY_DUMP_H
#define PYSPY_DUMP_H

#include <stdbool.h>
#include <sys/types.h>

struct dump_opts {
	pid_t pid;
	bool subprocesses;
	bool json;
	int locals;		/* 0: none; 1: -l; 2: -ll (larger budget) */
	bool full_filenames;
	bool native;		/* C frames too, merged with the Python frames */
	bool async_tasks;	/* asyncio: every task, as a tree of what awaits what */
	const char *btf_path;
	const char *core;	/* --core: a core dump instead of a live pid */
};

/* Prints every Python thread of the process, running or not, without
 * stopping it. Returns an exit status. */
int cmd_dump(const struct dump_opts *o);

#endif
