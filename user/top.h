/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * top: a live table of the functions where the samples land, as py-spy's
 * top shows it: %Own, %Total, GIL and Active over the last refresh period
 * (--delay), OwnTime and TotalTime since the start (or the last R).
 */
#ifndef PYSPY_TOP_H
#define PYSPY_TOP_H

#include <stdbool.h>
#include <stdint.h>
#include "aggregate.h"
#include "pyproc.h"
#include "pyspy.h"

struct top;

/* What the lines above the table say, as of the draw. */
struct top_head {
	const char *what;	/* after "Collecting samples from ": escaped */
	unsigned int threads;	/* every thread of the profiled processes */
	unsigned int procs;
	bool show_procs;	/* more than one process may be profiled */
};

/* Takes over the terminal (when stdout is one) until top__free; the first
 * refresh period starts at now_ns (CLOCK_MONOTONIC). */
struct top *top__new(unsigned int rate, double delay_s, bool full_filenames, uint64_t now_ns);
void top__free(struct top *t);
/* Counts one sample: top__sample() with its header, then top__count()
 * with its frames by line and by function (sink__stack()). */
void top__sample(struct top *t, const struct py_stack_hdr *h);
void top__count(struct top *t, bool by_line, const struct frame **frames, unsigned int n);
/* When the table is next redrawn (CLOCK_MONOTONIC ns). */
uint64_t top__due(const struct top *t);
/* Handles the keys typed; returns true when the user quit. */
bool top__keys(struct top *t, uint64_t now_ns);
/* Whether to draw now: the refresh is due, or a key changed the view. */
bool top__draw_due(const struct top *t, uint64_t now_ns);
/* Draws the table under the header h; a due refresh also closes the
 * period its percentages cover and starts the next. */
void top__draw(struct top *t, uint64_t now_ns, const struct top_head *h);

#endif
