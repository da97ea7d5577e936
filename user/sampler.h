/* SPDX-License-Identifier: BSD-2-Clause */
/* The BPF side's life: load, attach to every CPU, feed processes, drain records. */
#ifndef PYSPY_SAMPLER_H
#define PYSPY_SAMPLER_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "pyspy.h"

struct sampler;

struct sampler_opts {
	unsigned int rate;		/* Hz per CPU; 0: no perf events (dump) */
	bool follow_forks;		/* forked children inherit their parent's entry */
	bool report_all_forks;		/* fork / exit records for every process */
	/* The caller learns of its processes' exits itself (a pidfd each):
	 * the exit tracepoint is attached only by sampler__watch_exits(). */
	bool exits_watched;
	bool sample_gil;		/* perf samples: PY_S_GIL read (top, --gil) */
	bool sample_time;		/* perf samples: hdr.ts set (timeline formats) */
	bool sample_comm;		/* perf samples: hdr.comm set (outputs showing threads) */
	bool sample_addrs;		/* perf samples: frame addresses first (--async) */
	size_t ringbuf_bytes;		/* 0: default */
	bool wake_quarter;		/* a sample wakes the ring's poller when it is 1/4 full */
	const char *btf_path;		/* NULL: the kernel's own */
	bool iterate;			/* sampler__iterate() will be called (dump, --idle) */
	/* --native: C frames unwound with each stack, from tables of this
	 * many rows (sampler__native_maps()); 0: none. */
	size_t native_rows;
};

/* Called for every ring-buffer record; data is untrusted until decoded. */
typedef int (*sampler_record_fn)(void *ctx, const void *data, size_t size);

struct native_maps;
/* --native: the maps the unwind tables go to; -ENOENT without native_rows. */
int sampler__native_maps(struct sampler *s, struct native_maps *out);

int sampler__open(struct sampler **out, const struct sampler_opts *o, sampler_record_fn fn,
		  void *ctx);
void sampler__free(struct sampler *s);
/* With exits_watched, for when the caller cannot watch them after all:
 * exits come as records again. */
int sampler__watch_exits(struct sampler *s);
int sampler__add_proc(struct sampler *s, pid_t pid, const struct py_proc *p);
void sampler__del_proc(struct sampler *s, pid_t pid);
/* Drains what the ring buffer holds; returns records handled or negative errno. */
int sampler__drain(struct sampler *s);
/*
 * The sample ring buffer's map fd, for epoll: with wake_quarter, it signals
 * readable (EPOLLET) once the buffer is a quarter full, and not before.
 */
int sampler__ring_fd(const struct sampler *s);
/* The sample ring buffer's size in bytes, as loaded. */
size_t sampler__ringbuf_bytes(const struct sampler *s);
struct iterate_opts {
	pid_t pid;			/* 0: every known process */
	bool idle_only;			/* only threads that are not on a CPU */
	bool frame_addrs;		/* a PY_REC_FRAME_ADDRS record after each stack */
	bool entries;			/* PY_LASTI_ENTRY on activations' first frames */
	uint64_t deadline_ns;		/* CLOCK_MONOTONIC; 0: none */
	volatile sig_atomic_t *stop;	/* ends the call when it becomes non-zero; may be NULL */
};

/*
 * A pass of the task iterator over the threads of known processes: their
 * stacks arrive through the ring buffer like samples, drained as the pass
 * goes. Each read of the iterator walks a bounded number of threads, so the
 * call returns soon after the deadline passes or *stop is set. Returns 1
 * when the pass is complete, 0 when it was cut short (the next call goes on
 * with it, where it stopped), or a negative errno.
 */
int sampler__iterate(struct sampler *s, const struct iterate_opts *o);
/* Sums of the per-CPU counters. */
int sampler__counters(struct sampler *s, uint64_t out[PY_C__MAX]);
/* The kernel fallbacks in use, as text for -v and summaries; "" when none. */
const char *sampler__fallbacks(const struct sampler *s);

#endif
