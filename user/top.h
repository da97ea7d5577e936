/* SPDX-License-Identifier: BSD-2-Clause */
/* top: a live table of the functions where the samples land. */
#ifndef PYSPY_TOP_H
#define PYSPY_TOP_H

#include <stdbool.h>
#include <stdint.h>
#include "aggregate.h"
#include "pyproc.h"
#include "pyspy.h"

struct top;

/* Takes over the terminal (when stdout is one) until top__free. */
struct top *top__new(unsigned int rate, double delay_s, bool full_filenames);
void top__free(struct top *t);
/* Counts one sample: top__sample() with its header, then top__count()
 * with its frames by line and by function (sink__stack()). */
void top__sample(struct top *t, const struct py_stack_hdr *h);
void top__count(struct top *t, bool by_line, const struct frame **frames, unsigned int n);
/* When the table is next redrawn (CLOCK_MONOTONIC ns). */
uint64_t top__due(const struct top *t);
/* Handles keys and redraws when due; returns true when the user quit. */
bool top__tick(struct top *t, uint64_t now_ns, unsigned int nprocs);

#endif
