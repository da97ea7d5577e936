/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The collector's own stack walker, for kernels whose task iterator cannot
 * read another task's memory (no bpf_copy_from_user_task before 5.18): the
 * iterator reports each thread's kernel facts (struct py_task_fact) and this
 * walks the thread's stack from /proc/PID/mem, with the BPF walker's own
 * source (bpf/walker.h), into the same records. Nothing is stopped.
 */
#ifndef PYSPY_UWALK_H
#define PYSPY_UWALK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "pyspy.h"

struct uwalk;

/* Called with each record, as the ring buffer's are. */
typedef int (*uwalk_emit_fn)(void *ctx, const void *data, size_t size);

struct uwalk *uwalk__new(uwalk_emit_fn emit, void *ctx);
void uwalk__free(struct uwalk *u);
/* Mark the first frame of each eval-loop activation (dump's is_entry), as
 * the iterator does when asked; off by default. */
void uwalk__entries(struct uwalk *u, bool on);
/* A new pass: thread indexes of the last one are stale. */
void uwalk__begin(struct uwalk *u);
/*
 * Walks the thread f names, of the process p describes: emits its stack
 * record (and its frame addresses after it when frame_addrs), or counts
 * why not in counts[PY_C_*].
 */
void uwalk__thread(struct uwalk *u, const struct py_proc *p, const struct py_task_fact *f,
		   bool frame_addrs, uint64_t counts[PY_C__MAX]);

/*
 * One frame at frame_addr (a suspended coroutine's, which has no caller),
 * of the process p describes, into *out as the walker records it. 0, or
 * -EFAULT when it could not be read or is no Python frame.
 */
int uwalk__frame(struct uwalk *u, const struct py_proc *p, pid_t pid, uint64_t frame_addr,
		 struct py_frame_rec *out);

#endif
