/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Where a recording's samples go: the last stage of record's pipeline
 * (ring buffer -> engine -> sink). One of three, chosen by the command:
 *
 *   sink_file        one profile, written by a writer (out_*.c) at the end
 *   sink_continuous  a profile per --interval, into a folder and/or uploaded
 *                    (continuous.c)
 *   sink_top         the live table on the terminal (top.c draws it)
 *
 * The engine (record.c) calls these and nothing else of them; a sink calls
 * no part of the engine. The file and continuous sinks share the step that
 * symbolizes a sample into the aggregate (sink__aggregate).
 */
#ifndef PYSPY_SINK_H
#define PYSPY_SINK_H

#include <stdbool.h>
#include <stdint.h>
#include "pyproc.h"
#include "pyspy.h"

struct collector;

struct sink_ops {
	/* Before anything starts: a bad output path or URL is refused before
	 * a target is touched. 0 or the exit status. */
	int (*open)(struct collector *c);
	/* Sampling starts now (CLOCK_MONOTONIC). 0 or negative errno. */
	int (*start)(struct collector *c, uint64_t now);
	/* One sample of a known process. */
	void (*add)(struct collector *c, struct py_process *p, const struct py_stack_hdr *h,
		    const struct py_frame_rec *frs);
	/* When the sink next wants every sample taken until then (the engine
	 * drains first, then ticks); UINT64_MAX: only at the end. */
	uint64_t (*due)(const struct collector *c);
	/* Every turn of the loop; true ends the run (top's quit). */
	bool (*tick)(struct collector *c, uint64_t now);
	/* The run is over and its last samples read: the exit status.
	 * counters: the BPF side's (PY_C_*). */
	int (*finish)(struct collector *c, const uint64_t *counters);
	/* Whatever phase the run reached (after finish, or instead of it). */
	void (*free)(struct collector *c);
	/* Drawn on the terminal: drained at the shortest period, and no
	 * status line of its own. */
	bool live;
};

extern const struct sink_ops sink_file, sink_continuous, sink_top;

/* The profile sinks' add: the sample symbolized into c->agg. */
void sink__aggregate(struct collector *c, struct py_process *p, const struct py_stack_hdr *h,
		     const struct py_frame_rec *frs);
/* The line that says what is sampled (not for top: it owns the screen). */
void sink__say_sampling(const struct collector *c);

#endif
