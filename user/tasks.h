/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * --async: asyncio's tasks in the stacks. A sample of a thread running a
 * task shows, root first, the tasks awaiting it, each as a task frame
 * followed by the coroutines it is suspended in, then the running task's
 * own frames, in place of the event loop's frames below it. dump --async
 * lists every task as a tree of what awaits what.
 *
 * The tasks of a process are read from its memory (user/pyobj_tasks.c) at
 * most every TASKS_MAX_AGE_NS, or TASKS_MISS_NS when a sample finds no task
 * that the last read knows of; either way no more often than keeps the
 * reads under a few percent of the collector's time. A sample is matched to
 * its task by frame address: the frame of the task's coroutine, with the
 * same code object as when the tasks were read.
 */
#ifndef PYSPY_TASKS_H
#define PYSPY_TASKS_H

#include <stdbool.h>
#include <stdint.h>
#include "aggregate.h"
#include "pyobj.h"
#include "pyproc.h"
#include "stack.h"

struct tasks;

void tasks__free(struct tasks *t);

/*
 * A sample as tasks: in[0 .. nin) are the frames stack__symbolize() made of
 * the record (innermost first, in[i] from frs[i] for i < h->nframes),
 * addrs the frames' addresses. Writes at most max frames to out and
 * returns how many; 0 when the sample runs no known task (in stands).
 */
unsigned int tasks__stack(struct py_process *p, struct agg *a, bool function_lines,
			  const struct py_stack_hdr *h, const struct py_frame_rec *frs,
			  const uint64_t *addrs, const struct frame *const *in, unsigned int nin,
			  const struct frame **out, unsigned int max, struct symbolize_stats *st,
			  uint64_t now);

/* dump --async: the process's tasks, read now. The count (0: none), or a
 * negative errno (-EPROTONOSUPPORT: a version without them). */
int tasks__read(struct py_process *p, const struct py_task **out);
/* The frames task i is suspended in, innermost first (its own coroutine's
 * last); *n of them. */
const struct frame *const *tasks__frames(struct py_process *p, struct agg *a, int i,
					 unsigned int *n, struct symbolize_stats *st);
/* Index of the task whose own coroutine frame is at frame; -1 if none. */
int tasks__by_frame(struct py_process *p, uint64_t frame);
/* Index of the task at addr; -1 if none. */
int tasks__by_addr(struct py_process *p, uint64_t addr);

#endif
