/* SPDX-License-Identifier: BSD-2-Clause */
/* Profile writers: each reads the aggregated StackTraces and nothing else. */
#ifndef PYSPY_OUTPUT_H
#define PYSPY_OUTPUT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include "aggregate.h"

enum output_format {
	FMT_RAW,
	FMT_FLAMEGRAPH,
	FMT_SPEEDSCOPE,
	FMT_CHROMETRACE,
	FMT_PPROF,
};

struct output_opts {
	enum output_format format;
	/* What the profile was: for titles and metadata. */
	const char *command;	/* the pyspy-bpf command line */
	unsigned int rate;	/* Hz per CPU */
	double duration_s;	/* how long sampling ran */
	uint64_t start_unix_ns;	/* wall-clock start */
	uint64_t start_mono_ns;	/* CLOCK_MONOTONIC at start: sample times are on this clock */
	bool threads;		/* a root frame per thread */
	bool process_roots;	/* a root frame per process */
	bool nolineno;
	bool full_filenames;
};

const char *output__ext(enum output_format f);
const char *output__name(enum output_format f);
int output__parse_format(const char *s, enum output_format *f);
int output__write(FILE *f, const struct agg *a, const struct output_opts *o);
/* Whether the format reads agg__timeline(): call agg__keep_timeline() first. */
bool output__needs_timeline(enum output_format f);
/* Whether the output tells threads apart: when not, samples are aggregated
 * without their thread (a thread-churning process is then a few stacks,
 * not one per thread ever seen). */
bool output__needs_threads(const struct output_opts *o);

/* Collapsed stacks, root first; shared by writers that build the same text. */
int write_raw(FILE *f, const struct agg *a, const struct output_opts *o);
/* Interactive SVG flame graph. */
int write_flamegraph(FILE *f, const struct agg *a, const struct output_opts *o);
/* speedscope's file format: one sampled profile per thread. */
int write_speedscope(FILE *f, const struct agg *a, const struct output_opts *o);
/* Trace Event Format, B/E events per thread from the sample timeline. */
int write_chrometrace(FILE *f, const struct agg *a, const struct output_opts *o);
/* gzip-compressed profile.proto. */
int write_pprof(FILE *f, const struct agg *a, const struct output_opts *o);
/* The name of a process's root frame: process PID:"CMDLINE" (py-spy's), with
 * the pid in its own namespace when that differs. */
int process_frame__text(int pid, int ns_pid, const char *cmdline, char *buf, size_t len);
/* Appends the text of a frame as the collapsed format shows it. */
int frame__text(const struct frame *fr, const struct output_opts *o, char *buf, size_t len);

/*
 * An output file written under a temporary name in the same folder and
 * renamed when complete, so no reader sees half a profile. "-" is stdout.
 */
struct outfile;
int outfile__open(const char *path, struct outfile **out);
FILE *outfile__stream(struct outfile *o);
/* output__write() into the file; a failed write is its reason (ENOSPC,
 * EPIPE), not the writers' -EIO. */
int outfile__write(struct outfile *o, const struct agg *a, const struct output_opts *opts);
int outfile__commit(struct outfile *o);
void outfile__abort(struct outfile *o);

#endif
