/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef PYSPY_RECORD_H
#define PYSPY_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include "exitcode.h"
#include "output.h"

#define MAX_PIDS 64
#define MAX_TAGS 32

struct record_opts {
	pid_t pids[MAX_PIDS];
	int npids;		/* 0: every Python process on the host */
	bool subprocesses;
	unsigned int rate;
	double duration;	/* seconds; 0: until a signal */
	const char *output;	/* NULL: a default name in the current folder */
	struct output_opts out;
	bool gil_only;
	bool idle;		/* also threads that are off the CPUs (wall-clock) */
	bool top;		/* the top command: a live table, no file */
	double delay;		/* top: seconds between redraws */
	bool function;		/* a frame's line is its function's first line */
	bool native;		/* C frames too, merged with the Python ones */
	bool native_all;	/* ... every one, the eval loop's too, unmerged */
	bool async_tasks;	/* asyncio: a running task's awaiters instead of the loop */
	size_t ringbuf_bytes;
	bool hide_progress;	/* no status line on a terminal */
	bool capture;		/* -- COMMAND: its stdin, stdout, stderr on /dev/null */
	const char *btf_path;
	int argc;		/* the command line, for titles */
	char **argv;
	char **command;		/* record -- COMMAND...: start it and profile it */
	double interval;	/* continuous mode: seconds per profile; 0: off */
	const char *interval_dir; /* ... written into this folder */
	unsigned int keep;	/* ... keeping the newest this many; 0: all */
	const char *upload_url;	/* ... each interval's pprof sent there too */
	const char *app_name;	/* ... under this name; NULL: per process */
	const char *tags[MAX_TAGS]; /* ... with these "k=v" labels */
	unsigned int ntags;
};

int cmd_record(struct record_opts *o);

#endif
