/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * What the writers share: the stacks as the options show them (synthetic
 * process and thread roots, file names and lines as chosen), with frames
 * numbered so that frames that print the same are one frame. The strict
 * UTF-8 reader they use is in textesc.h.
 */
#ifndef PYSPY_OUT_COMMON_H
#define PYSPY_OUT_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include "output.h"
#include "textesc.h"	/* utf8__next(), utf8__put() */

/* The text of the synthetic roots, as raw prints them: a process's ancestors
 * (with -s) are frames of the stack_trace, already named so. */
int process_root__text(const struct stack_trace *st, char *buf, size_t len);
int thread_root__text(const struct stack_trace *st, char *buf, size_t len);

struct view;

/*
 * Every stack of a, root first, as o shows it: frames carry the file name
 * o chooses in both filename and short_filename, line 0 with --nolineno,
 * and the synthetic roots o asks for as FRAME_MARKER frames.
 */
int view__new(const struct agg *a, const struct output_opts *o, struct view **out);
void view__free(struct view *v);
/* Distinct frames, numbered 0..n-1 in order of first use. */
size_t view__nframes(const struct view *v);
const struct frame *view__frame(const struct view *v, uint32_t id);
/* The text of frame id as frame__text() makes it. */
const char *view__label(const struct view *v, uint32_t id);
/* Frame ids of agg__stack(a, idx), root first. */
const uint32_t *view__stack(const struct view *v, size_t idx, unsigned int *n);

/* The threads of a profile, for writers that show one thread at a time. */
struct out_thread {
	int pid;
	int tid;		/* kernel tid */
	uint64_t thread_id;	/* pthread id */
	const char *name;	/* of its busiest stack: names can change */
	const char *cmdline;
	uint64_t total;		/* samples */
	size_t *stacks;		/* agg__stack() numbers, in insertion order */
	size_t nstacks;
};

/*
 * Groups the stacks of a by (pid, tid), sorted by pid then tid. With
 * thread_of, also sets (*thread_of)[stack idx] to the index of its thread.
 */
int threads__group(const struct agg *a, struct out_thread **out, size_t *n,
		   uint32_t **thread_of);
void threads__free(struct out_thread *t, size_t n);

#endif
