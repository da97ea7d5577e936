/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Samples folded into distinct stacks with counts. Strings and frames are
 * interned, so a stack is a list of frame pointers and every writer reads the
 * same StackTrace values.
 */
#ifndef PYSPY_AGGREGATE_H
#define PYSPY_AGGREGATE_H

#include <stdbool.h>
#include <stddef.h>
#include "model.h"

struct agg;

struct agg *agg__new(void);
void agg__free(struct agg *a);
/* A number no other aggregation made by this process has had, never 0: tells
 * the frames of one aggregation from those of another that freed and
 * reallocated memory could put at the same address. */
uint64_t agg__gen(const struct agg *a);
/* An interned string; NULL only when out of memory. */
const char *agg__str(struct agg *a, const char *s);
/* An interned frame (its strings interned too). */
const struct frame *agg__frame(struct agg *a, const char *name, const char *filename,
			       const char *short_filename, int line, enum frame_kind kind);
/* Adds count samples of st (frames must come from agg__frame), taken at
 * ts_ns (CLOCK_MONOTONIC); 0 or -ENOMEM. */
int agg__add(struct agg *a, const struct stack_trace *st, uint64_t count, uint64_t ts_ns);
/* Keep every sample's time and stack, for writers that need the order
 * (chrometrace). Off by default: it costs 16 bytes per sample. */
void agg__keep_timeline(struct agg *a);

struct agg_sample {
	uint64_t ts_ns;		/* CLOCK_MONOTONIC */
	uint32_t stack;		/* index for agg__stack() */
	uint32_t count;
};

/* The samples in arrival order (per CPU they are in time order; across
 * CPUs, sort by ts_ns if needed); NULL when not kept. */
const struct agg_sample *agg__timeline(const struct agg *a, size_t *n);
/* Stack number idx (0 <= idx < agg__stacks()). */
const struct stack_trace *agg__stack(const struct agg *a, size_t idx);
/* Distinct stacks, in insertion order: *pos starts at 0. */
bool agg__next(const struct agg *a, size_t *pos, const struct stack_trace **st);
uint64_t agg__total(const struct agg *a);
size_t agg__stacks(const struct agg *a);

#endif
