/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * One profiled Python process: where its interpreter lives, the layout the
 * sampler walks with, and its symbol cache.
 */
#ifndef PYSPY_PYPROC_H
#define PYSPY_PYPROC_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "offsets.h"
#include "procfs.h"
#include "pyobj.h"
#include "pyspy.h"
#include "symcache.h"

#define CMDLINE_MAX 4096
#define GONE_TIDS 64

struct py_process {
	pid_t pid;
	pid_t ns_pid;			/* in its own pid namespace (NSpid), 0 if unknown */
	uint64_t start_time;		/* /proc/PID/stat starttime: detects pid reuse */
	char cmdline[CMDLINE_MAX];	/* arguments joined by spaces */
	char module[4096];		/* file holding the interpreter, as the process sees it */
	unsigned int major, minor, micro;
	struct py_proc bpf;		/* the procs map value */
	struct py_obj_offsets obj;	/* object layouts, for names and locals */
	struct str_layout strings;
	struct pyobj_reader reader;	/* reads objects of this process */
	struct symcache *syms;
	struct tasks *tasks;		/* --async: its asyncio tasks (tasks.h); NULL */
	struct gone_tid {
		int tid;
		uint64_t at;		/* CLOCK_MONOTONIC ns */
	} gone[GONE_TIDS];			/* threads found gone when their name was read */
	struct hashmap *thread_names;	/* tid -> char *, the kernel's names */
	struct hashmap *py_names;	/* pthread ident -> struct py_name, threading's */
	uint64_t py_names_at;		/* CLOCK_MONOTONIC ns of the last read */
	uint64_t py_names_wait;		/* ns before the next one may start */
};

/*
 * Inspects pid. Returns 0 and a new process in *out; -ENOENT when it runs no
 * CPython interpreter (yet); -ESRCH when it is gone; -EPROTONOSUPPORT when
 * its interpreter cannot be read, with the reason in why.
 */
int py_process__open(pid_t pid, struct py_process **out, char *why, size_t whylen);
/*
 * The process no longer runs: no such pid, a zombie waiting to be reaped, or
 * every thread in exit (killed; its memory is going).
 */
bool py_process__gone(pid_t pid);

/* A free-threaded build (3.13t+): no GIL to hold. */
static inline bool py_process__free_threaded(const struct py_process *p)
{
	return p->bpf.off.flags & PY_F_FREE_THREADED;
}
/*
 * The parts of an open, for a process known by its memory alone (a core
 * dump, dump_core.c): an empty process, then its layout from the ELF file
 * holding its interpreter, loaded at bias. py_process__setup() reads the
 * version and _Py_DebugOffsets through remote_read(p->pid); 0, or
 * -EPROTONOSUPPORT with the reason in why.
 */
struct py_process *py_process__new(pid_t pid);
struct py_elf;
int py_process__setup(struct py_process *p, const struct py_elf *elf, uint64_t bias, char *why,
		      size_t whylen);
/* A forked child: the parent's layout at the same addresses. */
int py_process__fork(const struct py_process *parent, pid_t pid, struct py_process **out);
void py_process__free(struct py_process *p);
/*
 * A thread's name as Python knows it (threading's Thread.name, looked up by
 * pthread ident and re-read at most once a second when an ident is new),
 * else as the kernel shows it: comm, the name the sample carried (read from
 * /proc when it is NULL or empty); cached, never NULL.
 */
/* Reads threading's names of up to max threads now, outside the sample
 * path's ration: for listing every thread of a process at once. */
void py_process__read_thread_names(struct py_process *p, size_t max);
/* The thread's name from threading's, as last read; NULL when threading
 * does not know the thread (never the kernel's name: dump's unnamed). */
const char *py_process__py_thread_name(struct py_process *p, int tid, uint64_t ident);
const char *py_process__thread_name(struct py_process *p, int tid, uint64_t ident,
				    const char *comm);

#endif
