// SPDX-License-Identifier: BSD-2-Clause
/*
 * The record engine: the sampler's records to the sink (sink.h: the
 * profile file, continuous mode's intervals or top's table), drained in a
 * loop until the duration, a signal, the targets' end or the sink's, then
 * the sink finished. cmd_record runs it in phases; the pieces it drives are
 * listed in record_int.h.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include "capture.h"
#include "clock.h"
#include "log.h"
#include "record_int.h"

/*
 * Samples are read every drain period: DRAIN_MIN_NS when records may come
 * fast (top refreshing, processes coming and going), up to DRAIN_MAX_NS
 * otherwise. Between drains the collector sleeps on the ring buffer, which a
 * sample wakes once a quarter of it is unread, and on a pidfd per -p target
 * or command: a waking collector costs more than the drain itself at low
 * rates, and neither a filling ring nor an exit waits for the period. The
 * pidfds stand for the exit tracepoint there (see exits_watched). While
 * code is created and freed (start-up, imports, generated code: see
 * symcache__churn()) or processes come and go, the period is DRAIN_MIN_NS:
 * a code object must be read before it is freed, or its frames are
 * <unknown>; it doubles back once nothing was new. A function sampled for
 * the first time in a steady state does not shorten it: it lives as long as
 * its module. Host-wide and with -s, new processes are attached from
 * their exec events: DRAIN_MIN_NS always. A process waiting to be attached
 * is retried every PENDING_NS.
 */
#define DRAIN_MIN_NS (50 * 1000000ULL)
#define DRAIN_MAX_NS (8000 * 1000000ULL)
/* Outputs that show threads name them from the target's memory at the
 * drain: a short-lived thread must still be there. */
#define DRAIN_MAX_THREADS_NS (2000 * 1000000ULL)
/* The status line on a terminal shows the samples drained, every second. */
#define DRAIN_MAX_TTY_NS (1000 * 1000000ULL)
#define PENDING_NS (10 * 1000000ULL)
#define RECORD_BYTES_EST 2048		/* a generous average stack record */
/* The largest stack record: header and PY_MAX_FRAMES frames. */
#define RECORD_BYTES_MAX (sizeof(struct py_stack_hdr) + PY_MAX_FRAMES * sizeof(struct py_frame_rec))
/* --native: the C frames' record before each stack. */
#define NATIVE_BYTES_MAX (sizeof(struct py_native_hdr) + PY_MAX_NATIVE * sizeof(struct py_native_frame))
/* --async: the frame addresses' record before each stack. */
#define ADDRS_BYTES_MAX (sizeof(struct py_addrs_hdr) + PY_MAX_FRAMES * sizeof(__u64))
#define RING_MIN (256u << 10)
#define RING_MAX (8u << 20)

/* A stack of a known process, to the sink; anything else is counted as a
 * drop for the summary. */
static void on_stack(struct collector *c, const struct py_stack_hdr *h,
		     const struct py_frame_rec *frs)
{
	struct py_process *p = hashmap__get(c->procs, h->pid);

	if (!p) {
		c->drops[D_UNKNOWN_PROC]++;
		return;
	}
	if (c->o->gil_only && !(h->status & PY_S_GIL)) {
		c->drops[D_GIL_FILTERED]++;
		return;
	}
	/* An address in no mapping: a library loaded since. */
	if (c->nat_ready && c->nat.h.end == PY_NE_NO_MAPPING)
		native__maps_changed(c->native, h->pid, mono_ns());
	c->sink->add(c, p, h, frs);
}

/*
 * The longest drain period. When a sample wakes the collector at a quarter
 * full (ring_wakes), max; else the period that keeps the ring buffer a
 * quarter full at most at the sampling rate, within [DRAIN_MIN_NS, max].
 */
static uint64_t drain_period(const struct collector *c, size_t ring, bool ring_wakes,
			     uint64_t max)
{
	const struct record_opts *o = c->o;
	int ncpus = libbpf_num_possible_cpus();
	double ns;

	if (c->sink->live || ncpus <= 0 || o->subprocesses || (o->npids == 0 && !o->command))
		return DRAIN_MIN_NS;
	if (ring_wakes)
		return max;
	ns = (double)ring / 4 / ((double)ncpus * o->rate * RECORD_BYTES_EST) * 1e9;
	if (ns < DRAIN_MIN_NS)
		return DRAIN_MIN_NS;
	return ns > max ? max : (uint64_t)ns;
}

/*
 * The ring buffer for -p and commands: room for two DRAIN_MIN_NS periods of
 * the largest records on every CPU at the rate, in [RING_MIN, RING_MAX]: the
 * drain period falls back to DRAIN_MIN_NS as soon as a drain finds it more
 * than a quarter full. Mapping all of it (twice) costs its size in RSS and
 * a page table entry per page at start and at exit: at 99 Hz on a few CPUs
 * 8 MiB would be mostly that. Host-wide and with -s, where any number of
 * processes may sample at once, the map's own size stands.
 */
static size_t ring_bytes(const struct record_opts *o)
{
	int ncpus = libbpf_num_possible_cpus();
	double want;
	size_t ring = RING_MIN;

	if (o->ringbuf_bytes)
		return o->ringbuf_bytes;
	if (ncpus <= 0 || o->subprocesses || (o->npids == 0 && !o->command))
		return 0;
	want = 2.0 * ncpus * o->rate * (RECORD_BYTES_MAX + (o->native ? NATIVE_BYTES_MAX : 0) +
					(o->async_tasks ? ADDRS_BYTES_MAX : 0)) *
	       DRAIN_MIN_NS / 1e9;
	while (ring < want && ring < RING_MAX)
		ring *= 2;
	return ring;
}

/* Reads what the kernel queued: process events, samples, then the exits. */
static void drain(struct collector *c)
{
	c->drained_bytes = 0;
	sampler__drain(c->sampler);
	targets__apply_changes(c);
	targets__sweep(c, mono_ns());
}

/* The sampler's callback, for every record drained: a stack, or a process
 * event (deferred until the samples before it are read). */
static int on_record(void *ctx, const void *data, size_t size)
{
	struct collector *c = ctx;
	const struct py_stack_hdr *h;
	const struct py_frame_rec *frs;
	const struct py_proc_event *ev = data;

	if (size >= sizeof(__u32) && ev->kind == PY_REC_STACK) {
		if (record__decode_stack(data, size, &h, &frs)) {
			c->drops[D_MALFORMED]++;
			c->nat_ready = false;
			return 0;
		}
		c->drained_bytes += size;
		c->nat_ready &= c->nat.h.tid == h->tid;
		c->addrs_ready &= c->addrs.h.tid == h->tid && c->addrs.h.nframes == h->nframes;
		on_stack(c, h, frs);
		c->nat_ready = c->addrs_ready = false;
		return 0;
	}
	if (size >= sizeof(__u32) && ev->kind == PY_REC_FRAME_ADDRS) {
		c->addrs_ready = c->o->async_tasks && !record__decode_addrs(data, size, &c->addrs.h,
								   c->addrs.a);
		if (!c->addrs_ready)
			c->drops[D_MALFORMED]++;
		c->drained_bytes += size;
		return 0;
	}
	if (size >= sizeof(__u32) && ev->kind == PY_REC_NATIVE) {
		c->nat_ready = c->native && !record__decode_native(data, size, &c->nat.h,
								      c->nat.f);
		if (!c->nat_ready)
			c->drops[D_MALFORMED]++;
		c->drained_bytes += size;
		return 0;
	}
	if (size < sizeof(*ev)) {
		c->drops[D_MALFORMED]++;
		return 0;
	}
	switch (ev->kind) {
	case PY_REC_EXEC:
		targets__defer_change(c, ev->pid, true);
		break;
	case PY_REC_FORK:
		targets__on_fork(c, ev->ppid, ev->pid);
		break;
	case PY_REC_EXIT:
		targets__defer_change(c, ev->pid, false);
		break;
	default:
		c->drops[D_MALFORMED]++;
	}
	return 0;
}

/* A run's own state: its clocks, and when each periodic job is next due. */
struct run {
	uint64_t t0;			/* cmd_record's start: start-up timings */
	uint64_t start_ns, end_ns;	/* sampling from, until; 0: no end */
	uint64_t period_ns;		/* the sampling period: --idle passes */
	uint64_t next_drain, next_tick, next_status;
	uint64_t period, cur_period;	/* drain periods: the longest, the current */
	uint64_t churn, nprocs;		/* at the last drain: a change shortens it */
	bool status_tty;
};

/* The tables; the sampler comes later, once the targets are checked. */
static int collector_init(struct collector *c)
{
	c->family = hashmap__new();
	c->memo = stack_memo__new();
	c->agg = agg__new();
	if (c->agg && output__needs_timeline(c->o->out.format))
		agg__keep_timeline(c->agg);
	c->procs = hashmap__new();
	c->pending = hashmap__new();
	c->refused = hashmap__new();
	if (!c->agg || !c->procs || !c->pending || !c->refused || !c->family)
		return -ENOMEM;
	return 0;
}

/* Refuses a bad output path (or upload URL) before sampling starts: 0 or
 * the exit status. */
static int open_output(struct collector *c, struct run *r)
{
	int err = c->sink->open(c);

	if (!err)
		pr_debug("start-up: output checked at %.1f ms", (mono_ns() - r->t0) / 1e6);
	return err;
}

/* The BPF side, and what the sleep between drains waits on. */
static int start_sampler(struct collector *c, struct run *r)
{
	struct record_opts *o = c->o;
	struct sampler_opts so = {
		.rate = o->rate,
		.follow_forks = (o->npids == 0 && !o->command) || o->subprocesses,
		.report_all_forks = (o->npids != 0 || o->command) && o->subprocesses,
		.exits_watched = (o->npids != 0 || o->command) && !o->subprocesses,
		.sample_gil = o->top || o->gil_only,
		/* A capture keeps what every format may want of a sample. */
		.sample_time = !o->top && (output__needs_timeline(o->out.format) ||
					   capture_mode == CAPTURE_WRITE),
		.sample_comm = c->threads || capture_mode == CAPTURE_WRITE,
		.sample_addrs = o->async_tasks,
		.ringbuf_bytes = ring_bytes(o),
		.wake_quarter = true,
		.btf_path = o->btf_path,
		.iterate = o->idle,
		.native_rows = o->native ? NATIVE_ROWS_DEFAULT : 0,
	};
	struct native_maps nm;
	bool watched = true;
	int err, i;

	err = sampler__open(&c->sampler, &so, on_record, c);
	if (err)
		return err;
	if (o->native && capture_mode != CAPTURE_REPLAY) {
		err = sampler__native_maps(c->sampler, &nm);
		if (!err)
			err = native__new(&nm, &c->native);
		if (err) {
			pr_err("--native: cannot set up the unwind tables: %s", strerror(-err));
			return err;
		}
	}
	pr_debug("start-up: sampler ready at %.1f ms", (mono_ns() - r->t0) / 1e6);
	err = waiter__open(c);
	if (err)
		pr_debug("sleeping on the clock alone: %s", strerror(-err));
	r->period = drain_period(c, sampler__ringbuf_bytes(c->sampler), c->ep >= 0,
				 r->status_tty ? DRAIN_MAX_TTY_NS :
				 c->threads ? DRAIN_MAX_THREADS_NS : DRAIN_MAX_NS);
	for (i = 0; i < o->npids; i++)
		watched &= waiter__watch_exit(c, o->pids[i]);
	if (c->child)
		watched &= waiter__watch_exit(c, c->child);
	if (so.exits_watched && !watched && (err = sampler__watch_exits(c->sampler)))
		pr_debug("exits seen by the sweep alone: %s", strerror(-err));
	return 0;
}

/* The processes already running, then the command let go: 0 or the exit
 * status when there is nothing to profile. */
static int attach(struct collector *c, struct run *r)
{
	struct record_opts *o = c->o;
	int i;

	/* Tracepoints first, then the scan: no process falls in between. */
	if (targets__host_wide(c))
		targets__scan_proc(c);
	for (i = 0; i < o->npids; i++)
		targets__try_attach(c, o->pids[i], true);
	/* Not under a capture: it logs the targets' /proc, not the scan. */
	if (o->subprocesses && o->npids && !capture_mode)
		targets__adopt_descendants(c);
	pr_debug("start-up: processes attached: %zu%s, at %.1f ms", hashmap__size(c->procs),
		 targets__host_wide(c) ? " (/proc scanned)" : "", (mono_ns() - r->t0) / 1e6);
	launch__go(c);
	if (!targets__host_wide(c) && !c->child && !hashmap__size(c->procs)) {
		pr_err("no process left to profile");
		return EXIT_NO_PROCESS;
	}
	return 0;
}

/* Sampling starts now: the profile's clocks, then the sink's start. */
static int start_clock(struct collector *c, struct run *r)
{
	struct record_opts *o = c->o;
	struct timespec wall;

	r->start_ns = capture__value(CF_CLOCK, 0, CC_START_MONO, mono_ns());
	if (log_verbose) {
		/* The rest of the time, it waited for a CPU (a loaded host). */
		struct timespec cpu;

		clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu);
		pr_debug("start-up: sampling from %.1f ms, %.1f ms of it on a CPU",
			 (r->start_ns - r->t0) / 1e6, cpu.tv_sec * 1e3 + cpu.tv_nsec / 1e6);
	}
	clock_gettime(CLOCK_REALTIME, &wall);
	o->out.start_mono_ns = r->start_ns;
	o->out.start_unix_ns = capture__value(CF_CLOCK, 0, CC_START_UNIX,
					      wall.tv_sec * 1000000000ULL + wall.tv_nsec);
	o->out.rate = o->rate;
	if (o->duration > 0)
		r->end_ns = r->start_ns + (uint64_t)(o->duration * 1e9);
	if (c->sink->start(c, r->start_ns))
		return -ENOMEM;
	r->next_drain = r->next_tick = r->start_ns;
	return 0;
}

/* --idle: threads off the CPUs, once per sampling period. */
static void idle_tick(struct collector *c, struct run *r, uint64_t now)
{
	/* A pass over many threads is spread over ticks: each gets half a
	 * period, and never the run's end. */
	struct iterate_opts io = {
		.pid = c->o->npids == 1 ? c->o->pids[0] : 0,
		.idle_only = true,
		.deadline_ns = now + r->period_ns / 2,
		.stop = &stop_requested,
	};

	if (r->end_ns && io.deadline_ns > r->end_ns)
		io.deadline_ns = r->end_ns;
	if (sampler__iterate(c->sampler, &io) == 0) {
		r->next_tick = now + r->period_ns / 2;
	} else {
		r->next_tick += r->period_ns;
		if (r->next_tick <= now)
			r->next_tick = now + r->period_ns;
	}
}

/* A drain, and the next one's time; false when every target is gone. */
static bool drain_step(struct collector *c, struct run *r, uint64_t now)
{
	launch__reap(c);
	drain(c);
	targets__run_pending(c);
	if (!targets__host_wide(c) && !targets__any_alive(c)) {
		c->targets_gone = true;
		return false;
	}
	if (symcache__churn() != r->churn ||
	    hashmap__size(c->procs) != r->nprocs || hashmap__size(c->pending) ||
	    c->drained_bytes > sampler__ringbuf_bytes(c->sampler) / 4) {
		r->churn = symcache__churn();
		r->nprocs = hashmap__size(c->procs);
		r->cur_period = DRAIN_MIN_NS;
	} else if (r->cur_period < r->period) {
		r->cur_period = r->cur_period * 2 < r->period ? r->cur_period * 2 : r->period;
	}
	r->next_drain = now + (hashmap__size(c->pending) ? PENDING_NS : r->cur_period);
	return true;
}

/* Until the duration, a signal, the targets' end or the sink's (top's quit). */
static void run_loop(struct collector *c, struct run *r)
{
	while (!stop_requested) {
		uint64_t now = mono_ns(), due = c->sink->due(c), wake;

		if (r->end_ns && now >= r->end_ns)
			break;
		if (c->o->idle && now >= r->next_tick)
			idle_tick(c, r, now);
		/* The sink sees every sample taken until it is due. */
		if ((now >= r->next_drain || now >= due) && !drain_step(c, r, now))
			break;
		if (c->sink->tick(c, now))
			break;
		if (r->status_tty && now >= r->next_status) {
			summary__live(c, now - r->start_ns, false);
			r->next_status = now + 1000000000ULL;
		}
		wake = r->next_drain;
		due = c->sink->due(c);
		if (due < wake)
			wake = due;
		if (c->o->idle && r->next_tick < wake)
			wake = r->next_tick;
		if (r->end_ns && r->end_ns < wake)
			wake = r->end_ns;
		now = mono_ns();
		/* Woken early: the ring is filling, or a target exited. */
		if (wake > now && waiter__sleep(c, wake - now))
			r->next_drain = 0;
	}
}

/*
 * A replay (capture.h): the captured drains and --idle passes, in their
 * order and at their times, instead of the clock's; the last drain is
 * finish()'s own.
 */
static void replay_loop(struct collector *c, struct run *r)
{
	enum capture_step step;

	while ((step = capture__next_step()) != CS_END) {
		if (step == CS_ITER)
			idle_tick(c, r, mono_ns());
		else if (!drain_step(c, r, mono_ns()))
			break;
	}
}

/* The last samples read, then the sink finished: the exit status. */
static int finish(struct collector *c, struct run *r)
{
	uint64_t counters[PY_C__MAX] = { 0 };

	drain(c);
	launch__end(c);
	if (r->status_tty)
		summary__live(c, 0, true);
	sampler__counters(c->sampler, counters);
	c->o->out.duration_s = (capture__value(CF_CLOCK, 0, CC_END_MONO, mono_ns()) -
				r->start_ns) / 1e9;
	return c->sink->finish(c, counters);
}

/* Whatever phase the run reached: the command is not left behind, and the
 * sink's leftovers (a half-written output, an upload queue) are dealt with. */
static void collector_free(struct collector *c)
{
	if (c->go_fd >= 0)
		close(c->go_fd);	/* the child sees EOF and exits */
	launch__end(c);
	c->sink->free(c);
	waiter__close(c);
	sampler__free(c->sampler);
	native__free(c->native);
	targets__free(c);
	hashmap__free(c->procs);
	hashmap__free(c->pending);
	hashmap__free(c->refused);
	hashmap__free(c->family);
	agg__free(c->agg);
	stack_memo__free(c->memo);
	free(c->changes);
}

/*
 * PYSPY_BPF_CAPTURE=FILE: this run also writes down what it receives.
 * PYSPY_BPF_REPLAY=FILE: this run receives it from FILE, and takes from it
 * the pids, rate, --subprocesses, --idle and the command line string its
 * output shows. Both for -p alone. 0 or the exit status.
 */
_Static_assert(CAPTURE_MAX_PIDS == MAX_PIDS, "a capture's pids are -p's");

static int capture_setup(struct collector *c, struct run *r)
{
	struct record_opts *o = c->o;
	struct capture_hdr h = { .rate = o->rate, .subprocesses = o->subprocesses,
				 .idle = o->idle, .npids = o->npids,
				 .command = o->out.command };
	const char *path;
	int mode = capture__mode_from_env(&path);

	if (mode == CAPTURE_OFF)
		return 0;
	if (mode < 0) {
		pr_err("PYSPY_BPF_CAPTURE and PYSPY_BPF_REPLAY cannot both be set");
		return EXIT_USAGE;
	}
	if (o->top || o->interval > 0 || o->command || (mode == CAPTURE_WRITE && !o->npids)) {
		pr_err("%s: only for record -p", mode == CAPTURE_WRITE ? "PYSPY_BPF_CAPTURE"
		       : "PYSPY_BPF_REPLAY");
		return EXIT_USAGE;
	}
	memcpy(h.pids, o->pids, sizeof(h.pids));
	if (capture__start(mode, path, &h))
		return EXIT_FAILURE_;
	if (mode == CAPTURE_WRITE)
		return 0;
	o->rate = h.rate;
	o->npids = h.npids;
	memcpy(o->pids, h.pids, sizeof(o->pids));
	o->subprocesses = h.subprocesses;
	o->idle = h.idle;
	o->out.process_roots = o->subprocesses;
	o->out.command = h.command;
	r->period_ns = 1000000000ULL / o->rate;
	r->status_tty = false;
	return 0;
}

int cmd_record(struct record_opts *o)
{
	struct collector c = {
		.o = o,
		.sink = o->top ? &sink_top : o->interval > 0 ? &sink_continuous : &sink_file,
		.threads = !o->top && output__needs_threads(&o->out),
		.ep = -1,
		.go_fd = -1,
	};
	struct run r = {
		.t0 = mono_ns(),
		.period_ns = 1000000000ULL / o->rate,
		.period = DRAIN_MIN_NS,
		.cur_period = DRAIN_MIN_NS,
		.status_tty = !c.sink->live && !o->hide_progress && isatty(STDERR_FILENO),
	};
	int status = EXIT_FAILURE_, err;

	if (collector_init(&c)) {
		pr_err("out of memory");
		goto cleanup;
	}
	if ((err = capture_setup(&c, &r))) {
		status = err;
		goto cleanup;
	}
	/* Signals first: from here on one ends the run through the paths below. */
	waiter__signals(o->interval > 0);
	if ((err = open_output(&c, &r)) || (err = targets__check_pids(&c))) {
		status = err;
		goto cleanup;
	}
	if (o->npids)
		pr_debug("start-up: %d target%s read at %.1f ms", o->npids, o->npids > 1 ? "s" : "",
			 (mono_ns() - r.t0) / 1e6);
	if (o->command) {
		err = launch__start(&c, o->command, o->capture);
		if (err) {
			pr_err("cannot start '%s': %s", o->command[0], strerror(-err));
			goto cleanup;
		}
		targets__add_family(&c, c.child, 0);
		targets__schedule(&c, c.child);
	}
	if (start_sampler(&c, &r)) {
		status = EXIT_KERNEL;
		goto cleanup;
	}
	if ((err = attach(&c, &r))) {
		status = err;
		goto cleanup;
	}
	if (start_clock(&c, &r))
		goto cleanup;
	if (capture_mode == CAPTURE_REPLAY)
		replay_loop(&c, &r);
	else
		run_loop(&c, &r);
	status = finish(&c, &r);
cleanup:
	collector_free(&c);
	if (capture_mode && (err = capture__end(status == EXIT_OK)) && !status) {
		pr_err("cannot write the capture: %s", strerror(-err));
		status = EXIT_FAILURE_;
	}
	return status;
}
