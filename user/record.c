// SPDX-License-Identifier: BSD-2-Clause
#include <ctype.h>
#include <dirent.h>
#include <limits.h>
#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include "clock.h"
#include "aggregate.h"
#include "hashmap.h"
#include "log.h"
#include "pyproc.h"
#include "record.h"
#include "sampler.h"
#include "stack.h"
#include "top.h"
#include "upload.h"

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
#define RING_MIN (256u << 10)
#define RING_MAX (8u << 20)
/* Retries after exec, until the interpreter is mapped: delays in ms. */
static const unsigned int retry_ms[] = { 0, 10, 40, 100, 250, 500, 1000, 2000 };
#define NRETRY (sizeof(retry_ms) / sizeof(retry_ms[0]))

enum drop_reason {
	D_UNKNOWN_PROC,		/* the record's process is not known to userspace */
	D_GIL_FILTERED,		/* --gil: the thread did not hold the GIL */
	D_MALFORMED,		/* a record that does not decode */
	D_EMPTY,		/* a thread in no Python function (starting, exiting) */
	D__MAX,
};

struct pending {
	unsigned int tries;
	uint64_t next_ns;
};

struct collector {
	struct record_opts *o;
	struct sampler *sampler;
	struct agg *agg;
	struct hashmap *procs;		/* pid -> struct py_process */
	struct hashmap *pending;	/* pid -> struct pending */
	struct hashmap *refused;	/* pid -> start time, warned once */
	struct hashmap *family;		/* -p / command pids and, with -s, descendants */
	pid_t child;			/* the command started, 0 if none */
	int child_status;		/* its wait status, once reaped */
	bool child_done;
	bool child_killed;		/* still running at the end: killed */
	uint64_t written;
	uint64_t drained_bytes;		/* stack records read by the last drain */
	uint64_t procs_seen;
	uint64_t drops[D__MAX];
	struct symbolize_stats sym;
	struct stack_memo *memo;	/* NULL: every stack is symbolized anew */
	struct top *top;		/* top: the live table instead of a file */
	struct uploader *uploader;	/* --upload */
	uint64_t unsupported;		/* processes refused */
	bool targets_gone;
	bool threads;			/* the output tells threads apart */
	/* Exits and execs wait until the samples taken before them are read. */
	struct proc_change {
		pid_t pid;
		bool exec;
	} *changes;
	size_t nchanges, changes_cap;
	uint64_t events_lost;		/* process events the kernel could not queue */
	uint64_t next_sweep;		/* next check of every known process */
	int ep;				/* what the sleep between drains waits on; -1: none */
	int pidfds[MAX_PIDS + 1];	/* -p targets and the command, in ep */
	int npidfds;
};

static volatile sig_atomic_t stop_requested, flush_requested;
static bool continuous;

static void on_signal(int sig)
{
	/* Continuous mode: SIGHUP writes the current interval early. */
	if (sig == SIGHUP && continuous)
		flush_requested = 1;
	else
		stop_requested = sig;
}

static bool host_wide(const struct collector *c)
{
	return c->o->npids == 0 && !c->o->command;
}

static void drop_process(struct collector *c, pid_t pid)
{
	struct py_process *p = hashmap__del(c->procs, pid);

	if (p) {
		sampler__del_proc(c->sampler, pid);
		stack_memo__clear(c->memo);
		py_process__free(p);
	}
}

static int add_process(struct collector *c, struct py_process *p)
{
	int err;

	drop_process(c, p->pid);
	err = hashmap__put(c->procs, p->pid, p);
	if (err)
		return err;
	err = sampler__add_proc(c->sampler, p->pid, &p->bpf);
	if (err) {
		hashmap__del(c->procs, p->pid);
		return err;
	}
	c->procs_seen++;
	pr_debug("profiling pid %d: CPython %u.%u.%u in '%s'", p->pid, p->major, p->minor,
		 p->micro, p->module);
	return 0;
}

/* Returns 0, or the py_process__open error when the pid is not (yet) Python. */
static int try_attach(struct collector *c, pid_t pid, bool loud)
{
	struct py_process *p;
	char why[256];
	int err;

	err = py_process__open(pid, &p, why, sizeof(why));
	if (err == -EPROTONOSUPPORT) {
		uint64_t st = proc_start_time(pid);

		if (hashmap__size(c->refused) >= 4096) {
			hashmap__free(c->refused);
			c->refused = hashmap__new();
		}
		if (loud || !c->refused ||
		    hashmap__get(c->refused, pid) != (void *)(uintptr_t)(st | 1)) {
			char cmd[256];

			read_cmdline(pid, cmd, sizeof(cmd));
			pr_warn("not profiling pid %d ('%s'): %s", pid, cmd, why);
			if (c->refused)
				hashmap__put(c->refused, pid, (void *)(uintptr_t)(st | 1));
			c->unsupported++;
		}
		return err;
	}
	if (err)
		return err;
	err = add_process(c, p);
	if (err) {
		pr_warn("cannot profile pid %d: %s", pid, strerror(-err));
		py_process__free(p);
	}
	return err;
}

static void schedule(struct collector *c, pid_t pid)
{
	struct pending *pd = hashmap__get(c->pending, pid);

	if (!pd) {
		pd = calloc(1, sizeof(*pd));
		if (!pd || hashmap__put(c->pending, pid, pd)) {
			free(pd);
			return;
		}
	}
	pd->tries = 0;
	pd->next_ns = mono_ns();
}

static void run_pending(struct collector *c)
{
	uint64_t now = mono_ns(), key;
	pid_t due[256];
	size_t pos = 0, n = 0, i;
	void *v;

	while (n < 256 && hashmap__next(c->pending, &pos, &key, &v))
		if (((struct pending *)v)->next_ns <= now)
			due[n++] = (pid_t)key;
	for (i = 0; i < n; i++) {
		struct pending *pd = hashmap__get(c->pending, due[i]);
		int err = try_attach(c, due[i], false);

		if (err == -ENOENT && ++pd->tries < NRETRY) {
			pd->next_ns = now + retry_ms[pd->tries] * 1000000ULL;
			continue;
		}
		free(hashmap__del(c->pending, due[i]));
	}
}

static bool is_followed(struct collector *c, pid_t pid)
{
	return host_wide(c) || hashmap__get(c->family, pid);
}

static void add_family(struct collector *c, pid_t pid)
{
	if (hashmap__size(c->family) < PY_MAX_PROCS)
		hashmap__put(c->family, pid, (void *)1);
}

static void on_stack(struct collector *c, const struct py_stack_hdr *h,
		     const struct py_frame_rec *frs)
{
	static const struct frame *frames[PY_MAX_FRAMES + 2];
	struct py_process *p = hashmap__get(c->procs, h->pid);
	struct stack_trace st = { 0 };
	unsigned int n;

	if (!p) {
		c->drops[D_UNKNOWN_PROC]++;
		return;
	}
	if (c->o->gil_only && !(h->status & PY_S_GIL)) {
		c->drops[D_GIL_FILTERED]++;
		return;
	}
	if (c->top) {
		top__add(c->top, c->agg, p, h, frs);
		c->written++;
		return;
	}
	if (!h->nframes && !(h->status & (PY_S_TRUNCATED | PY_S_READ_ERR))) {
		c->drops[D_EMPTY]++;
		return;
	}
	n = stack__symbolize_memo(c->memo, c->agg, p, h, frs, c->o->function, frames, &c->sym);

	st.pid = h->pid;
	st.ns_pid = p->ns_pid;
	if (c->threads) {
		st.thread_id = h->pthread_id;
		st.os_thread_id = h->tid;
		st.thread_name = py_process__thread_name(p, h->tid, h->pthread_id, h->comm);
	} else {
		st.thread_name = "";
	}
	st.active = h->status & PY_S_ACTIVE;
	st.owns_gil = h->status & PY_S_GIL;
	st.frames = frames;
	st.nframes = n;
	st.cmdline = p->cmdline;
	if (!agg__add(c->agg, &st, 1, h->ts))
		c->written++;
}

/*
 * The longest drain period. When a sample wakes the collector at a quarter
 * full (ring_wakes), max; else the period that keeps the ring buffer a
 * quarter full at most at the sampling rate, within [DRAIN_MIN_NS, max].
 */
static uint64_t drain_period(const struct record_opts *o, size_t ring, bool ring_wakes,
			     uint64_t max)
{
	int ncpus = libbpf_num_possible_cpus();
	double ns;

	if (o->top || ncpus <= 0 || o->subprocesses || (o->npids == 0 && !o->command))
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
	want = 2.0 * ncpus * o->rate * RECORD_BYTES_MAX * DRAIN_MIN_NS / 1e9;
	while (ring < want && ring < RING_MAX)
		ring *= 2;
	return ring;
}

/* The epoll set the collector sleeps on; c->ep stays -1 when it cannot be
 * made, and the collector sleeps on its clock alone. */
static int waiter_open(struct collector *c)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLET, .data.fd = -1 };
	int err;

	c->ep = epoll_create1(EPOLL_CLOEXEC);
	if (c->ep < 0)
		return -errno;
	if (epoll_ctl(c->ep, EPOLL_CTL_ADD, sampler__ring_fd(c->sampler), &ev)) {
		err = -errno;
		close(c->ep);
		c->ep = -1;
		return err;
	}
	return 0;
}

/* Wakes the sleep when pid exits. Returns false when it cannot: the exit is
 * then seen by the exit tracepoint, or by the next sweep. */
static bool watch_exit(struct collector *c, pid_t pid)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLONESHOT };
	int fd;

	if (c->ep < 0 || c->npidfds >= (int)(sizeof(c->pidfds) / sizeof(c->pidfds[0])))
		return false;
	fd = syscall(SYS_pidfd_open, pid, 0);
	if (fd < 0)
		return errno == ESRCH;	/* gone already: the sweep sees it */
	ev.data.fd = fd;
	if (epoll_ctl(c->ep, EPOLL_CTL_ADD, fd, &ev)) {
		close(fd);
		return false;
	}
	c->pidfds[c->npidfds++] = fd;
	return true;
}

static void waiter_close(struct collector *c)
{
	for (int i = 0; i < c->npidfds; i++)
		close(c->pidfds[i]);
	c->npidfds = 0;
	if (c->ep >= 0)
		close(c->ep);
	c->ep = -1;
}

/* Sleeps up to ns; true when the ring buffer or an exit woke it first. */
static bool sleep_ns(struct collector *c, uint64_t ns)
{
	struct timespec ts = { .tv_sec = ns / 1000000000ULL, .tv_nsec = ns % 1000000000ULL };
	struct epoll_event ev[4];
	int n;

	if (c->ep < 0) {
		nanosleep(&ts, NULL);
		return false;
	}
	n = epoll_pwait2(c->ep, ev, 4, &ts, NULL);
	if (n < 0 && errno == ENOSYS)	/* before Linux 5.11: whole milliseconds */
		n = epoll_wait(c->ep, ev, 4, (int)((ns + 999999) / 1000000));
	/* A pidfd: a target exited. The next drain's sweep looks at once. */
	for (int i = 0; i < n; i++)
		if (ev[i].data.fd >= 0)
			c->next_sweep = 0;
	return n > 0;
}

static void apply_change(struct collector *c, pid_t pid, bool exec)
{
	if (exec) {
		/* The old image is gone; the new one may be Python (later). */
		if (hashmap__get(c->procs, pid) || is_followed(c, pid)) {
			drop_process(c, pid);
			schedule(c, pid);
		}
		return;
	}
	drop_process(c, pid);
	free(hashmap__del(c->pending, pid));
	hashmap__del(c->refused, pid);
	if (pid != c->child)
		hashmap__del(c->family, pid);
}

/*
 * Process events come through their own ring buffer, read before the
 * samples: an exit applied at once would make the samples the process took
 * just before it unreadable. They wait in order until the samples are read.
 */
static void defer_change(struct collector *c, pid_t pid, bool exec)
{
	if (c->nchanges == c->changes_cap) {
		size_t cap = c->changes_cap ? c->changes_cap * 2 : 64;
		struct proc_change *n = realloc(c->changes, cap * sizeof(*n));

		if (!n) {
			apply_change(c, pid, exec);
			return;
		}
		c->changes = n;
		c->changes_cap = cap;
	}
	c->changes[c->nchanges++] = (struct proc_change){ .pid = pid, .exec = exec };
}

static void scan_proc(struct collector *c);

/*
 * Once a second: every known process that is gone is dropped (its exit
 * event may be the one lost), and host-wide, after the kernel lost process
 * events, /proc is scanned again for processes whose exec was lost.
 */
static void sweep(struct collector *c, uint64_t now)
{
	uint64_t k[PY_C__MAX] = { 0 }, key;
	pid_t gone[256];
	size_t pos = 0, n = 0;
	void *v;

	if (now < c->next_sweep)
		return;
	c->next_sweep = now + 1000000000ULL;
	while (n < 256 && hashmap__next(c->procs, &pos, &key, &v))
		if (py_process__gone((pid_t)key))
			gone[n++] = (pid_t)key;
	for (size_t i = 0; i < n; i++)
		apply_change(c, gone[i], false);
	sampler__counters(c->sampler, k);
	if (k[PY_C_EVENTS_LOST] > c->events_lost) {
		pr_debug("%" PRIu64 " process events lost: rescanning",
			 k[PY_C_EVENTS_LOST] - c->events_lost);
		c->events_lost = k[PY_C_EVENTS_LOST];
		if (host_wide(c))
			scan_proc(c);
	}
}

/* Reads what the kernel queued: process events, samples, then the exits. */
static void drain(struct collector *c)
{
	size_t i;

	c->drained_bytes = 0;
	sampler__drain(c->sampler);
	for (i = 0; i < c->nchanges; i++)
		apply_change(c, c->changes[i].pid, c->changes[i].exec);
	c->nchanges = 0;
	sweep(c, mono_ns());
}

static int on_record(void *ctx, const void *data, size_t size)
{
	struct collector *c = ctx;
	const struct py_stack_hdr *h;
	const struct py_frame_rec *frs;
	const struct py_proc_event *ev = data;
	struct py_process *parent, *child;

	if (size >= sizeof(__u32) && ev->kind == PY_REC_STACK) {
		if (record__decode_stack(data, size, &h, &frs)) {
			c->drops[D_MALFORMED]++;
			return 0;
		}
		c->drained_bytes += size;
		on_stack(c, h, frs);
		return 0;
	}
	if (size < sizeof(*ev)) {
		c->drops[D_MALFORMED]++;
		return 0;
	}
	switch (ev->kind) {
	case PY_REC_EXEC:
		defer_change(c, ev->pid, true);
		break;
	case PY_REC_FORK:
		if (c->o->subprocesses && hashmap__get(c->family, ev->ppid))
			add_family(c, ev->pid);
		parent = hashmap__get(c->procs, ev->ppid);
		if (!parent || !is_followed(c, ev->pid))
			break;
		if (py_process__fork(parent, ev->pid, &child))
			break;
		if (add_process(c, child))
			py_process__free(child);
		break;
	case PY_REC_EXIT:
		defer_change(c, ev->pid, false);
		break;
	default:
		c->drops[D_MALFORMED]++;
	}
	return 0;
}

static void scan_proc(struct collector *c)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	pid_t self = getpid();

	if (!d)
		return;
	while ((de = readdir(d))) {
		char *end;
		long pid = strtol(de->d_name, &end, 10);

		if (*end || pid <= 0 || pid == self || hashmap__get(c->procs, pid) ||
		    hashmap__get(c->pending, pid))
			continue;
		try_attach(c, pid, false);
	}
	closedir(d);
}

static void default_output(const struct record_opts *o, char *buf, size_t len)
{
	char stamp[32], who[32];
	time_t t = time(NULL);
	struct tm tm;

	localtime_r(&t, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%S", &tm);
	if (o->command) {
		const char *b = strrchr(o->command[0], '/');

		snprintf(who, sizeof(who), "%s", b ? b + 1 : o->command[0]);
	} else if (o->npids) {
		snprintf(who, sizeof(who), "%d", o->pids[0]);
	} else {
		snprintf(who, sizeof(who), "all");
	}
	snprintf(buf, len, "pyspy-bpf-%s-%s.%s", who, stamp, output__ext(o->out.format));
}

static bool any_target_alive(struct collector *c)
{
	if (c->child)
		return !c->child_done;
	return hashmap__size(c->procs) || hashmap__size(c->pending);
}

/*
 * record -- COMMAND: the child waits on a pipe until the sampler is
 * attached, so its very first Python frames are seen.
 */
static int start_command(struct collector *c, char **argv, int *go_fd)
{
	int fds[2];
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC))
		return -errno;
	pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return -errno;
	}
	if (!pid) {
		char b;

		close(fds[1]);
		signal(SIGPIPE, SIG_DFL);	/* ignored here, not by the command */
		if (read(fds[0], &b, 1) != 1)
			_exit(127);
		execvp(argv[0], argv);
		fprintf(stderr, "pyspy-bpf: cannot run '%s': %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(fds[0]);
	*go_fd = fds[1];
	c->child = pid;
	return 0;
}

static void reap_child(struct collector *c)
{
	int st;

	if (c->child && !c->child_done && waitpid(c->child, &st, WNOHANG) == c->child) {
		c->child_status = st;
		c->child_done = true;
	}
}

/*
 * The recording is over (the duration, a signal, top quit) while the
 * command still runs: it is killed, as py-spy does, so that nothing is left
 * running unwatched, and reaped.
 */
static void end_child(struct collector *c)
{
	int st = 0;

	reap_child(c);
	if (!c->child || c->child_done)
		return;
	if (kill(c->child, SIGKILL) && errno != ESRCH)
		return;
	while (waitpid(c->child, &st, 0) < 0 && errno == EINTR)
		;
	c->child_done = true;
	c->child_killed = true;
	c->child_status = st;
	fprintf(stderr, "pyspy-bpf: the command (pid %d) was still running: killed it\n",
		c->child);
}

/* One line, redrawn in place, while recording on a terminal. */
static void live_status(struct collector *c, uint64_t elapsed_ns, bool done)
{
	uint64_t k[PY_C__MAX] = { 0 }, lost;

	if (done) {
		fputs("\r\033[K", stderr);
		return;
	}
	sampler__counters(c->sampler, k);
	lost = k[PY_C_RB_FULL] + c->drops[D_UNKNOWN_PROC] + c->drops[D_MALFORMED];
	fprintf(stderr, "\r\033[Kpyspy-bpf: %.0fs  %" PRIu64 " samples  %u processes  %" PRIu64 " lost",
		elapsed_ns / 1e9, c->written, (unsigned int)hashmap__size(c->procs), lost);
}

static const char *open_hint(enum output_format f)
{
	switch (f) {
	case FMT_FLAMEGRAPH:
		return "open it in a web browser";
	case FMT_SPEEDSCOPE:
		return "open it in speedscope";
	case FMT_CHROMETRACE:
		return "open it in Perfetto or chrome://tracing";
	case FMT_PPROF:
		return "open it with 'go tool pprof -http=: FILE'";
	default:
		return "feed it to flamegraph.pl or inferno";
	}
}

static void summary(struct collector *c, const char *path, const uint64_t *k)
{
	static const struct {
		int idx;
		bool bpf;
		const char *what;
	} reasons[] = {
		{ PY_C_RB_FULL, true, "ring buffer full" },
		{ PY_C_NO_TSTATE, true, "thread without Python state" },
		{ PY_C_NO_INTERP, true, "interpreter not initialised" },
		{ D_UNKNOWN_PROC, false, "process not known yet" },
		{ D_GIL_FILTERED, false, "not holding the GIL (--gil)" },
		{ D_MALFORMED, false, "malformed record" },
		{ D_EMPTY, false, "no Python frame" },
	};
	char buf[1024], lost[96] = "", unreadable[64] = "";
	size_t n = 0;

	/* Exits lost are caught by the sweep; a lost exec or fork can cost a
	 * process until the next scan: say so. */
	if (c->sym.unreadable_names)
		snprintf(unreadable, sizeof(unreadable), ", unreadable names: %" PRIu64,
			 c->sym.unreadable_names);
	if (k[PY_C_EVENTS_LOST])
		snprintf(lost, sizeof(lost), "; process events lost: %" PRIu64 " (ring buffer full)",
			 k[PY_C_EVENTS_LOST]);
	for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++) {
		uint64_t v = reasons[i].bpf ? k[reasons[i].idx] : c->drops[reasons[i].idx];

		if (v)
			n += snprintf(buf + n, sizeof(buf) - n, "%s%" PRIu64 " %s", n ? ", " : "",
				      v, reasons[i].what);
	}
	if (!n)
		snprintf(buf, sizeof(buf), "none");
	fprintf(stderr,
		"pyspy-bpf: wrote %s profile to '%s': %" PRIu64 " samples, %" PRIu64
		" processes, %zu distinct stacks; not in output: %s; truncated stacks: %" PRIu64
		", unknown frames: %" PRIu64 "%s%s\n",
		output__name(c->o->out.format), path, c->written, c->procs_seen,
		agg__stacks(c->agg), buf, k[PY_C_TRUNCATED], c->sym.unknown_frames, unreadable,
		lost);
	/* The same stacks, at a higher cost per sample: say why. */
	if (*sampler__fallbacks(c->sampler))
		fprintf(stderr, "pyspy-bpf: on this kernel, at a higher cost: %s\n",
			sampler__fallbacks(c->sampler));
	if (strcmp(path, "-"))
		fprintf(stderr, "pyspy-bpf: %s\n", open_hint(c->o->out.format));
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* --keep: only the newest N of our interval files stay in the folder. */
static void prune(const char *dir, const char *ext, unsigned int keep)
{
	char **names = NULL, path[PATH_MAX];
	size_t n = 0, cap = 0, i;
	struct dirent *de;
	DIR *d;

	if (!(d = opendir(dir)))
		return;
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name), el = strlen(ext);

		/* Names sort by time: pyspy-bpf-<UTC time>.<ext>. */
		if (strncmp(de->d_name, "pyspy-bpf-", 10) || len < el + 11 ||
		    strcmp(de->d_name + len - el, ext) || de->d_name[len - el - 1] != '.')
			continue;
		if (n == cap) {
			char **nn = realloc(names, (cap = cap ? cap * 2 : 64) * sizeof(*nn));

			if (!nn)
				break;
			names = nn;
		}
		if (!(names[n] = strdup(de->d_name)))
			break;
		n++;
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof(*names), cmp_names);
	for (i = 0; i + keep < n; i++) {
		snprintf(path, sizeof(path), "%s%s%s", dir, dir[strlen(dir) - 1] == '/' ? "" : "/",
			 names[i]);
		if (unlink(path))
			pr_warn("cannot remove '%s': %s", path, strerror(errno));
	}
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/*
 * An upload's application name from a process's command line, as people
 * name their services: the script or module run by python ("web" for
 * "python3 -u /srv/web.py", "celery" for "python -m celery worker"), else
 * the executable's name; reduced to the characters Pyroscope accepts.
 */
static void app_name_of(const char *cmdline, char *out, size_t len)
{
	char word[256];
	const char *p = cmdline ? cmdline : "", *base, *w;
	size_t n, i = 0;
	bool python = false, first = true, module = false;

	out[0] = 0;
	for (;;) {
		while (*p == ' ')
			p++;
		if (!*p)
			break;
		n = strcspn(p, " ");
		snprintf(word, sizeof(word), "%.*s", (int)n, p);
		p += n;
		base = strrchr(word, '/');
		base = base ? base + 1 : word;
		if (first) {
			first = false;
			python = !strncmp(base, "python", 6) || !strncmp(base, "pypy", 4);
			if (python)
				continue;
		} else if (python && !module) {
			if (!strcmp(word, "-m")) {
				module = true;
				continue;
			}
			if (!strcmp(word, "-c")) {
				base = "python-c";
			} else if (word[0] == '-') {
				continue;
			}
		}
		w = base;
		for (i = 0; w[i] && i + 1 < len; i++)
			out[i] = isalnum((unsigned char)w[i]) || strchr("_.-", w[i]) ? w[i] : '_';
		out[i] = 0;
		if (i > 3 && !strcmp(out + i - 3, ".py"))
			out[i - 3] = 0;
		break;
	}
	if (!out[0])
		snprintf(out, len, "python");
}

static bool has_label(const struct record_opts *o, const char *key)
{
	size_t kl = strlen(key);

	for (unsigned int i = 0; i < o->ntags; i++)
		if (!strncmp(o->tags[i], key, kl) && o->tags[i][kl] == '=')
			return true;
	return false;
}

/* Sends one aggregate as pprof; labels: the tags, then host and pid unless
 * a tag names them. */
static int upload_agg(struct collector *c, const struct agg *a, const char *name, int pid,
		      uint64_t from_s, uint64_t until_s)
{
	struct record_opts *o = c->o;
	struct output_opts oo = o->out;
	const char *labels[MAX_TAGS + 2];
	char host[300], pidl[32], hn[256];
	size_t nl = 0, len = 0;
	char *buf = NULL;
	FILE *f;
	int err;

	for (unsigned int i = 0; i < o->ntags; i++)
		labels[nl++] = o->tags[i];
	if (!has_label(o, "host") && !gethostname(hn, sizeof(hn))) {
		hn[sizeof(hn) - 1] = 0;
		snprintf(host, sizeof(host), "host=%s", hn);
		if (!upload__check_label(host))
			labels[nl++] = host;
	}
	if (pid && !has_label(o, "pid")) {
		snprintf(pidl, sizeof(pidl), "pid=%d", pid);
		labels[nl++] = pidl;
	}
	oo.format = FMT_PPROF;
	f = open_memstream(&buf, &len);
	if (!f)
		return -errno;
	err = write_pprof(f, a, &oo);
	if (fclose(f) && !err)
		err = -EIO;
	if (!err)
		err = uploader__push(c->uploader, buf, len, name, labels, nl, from_s, until_s,
				     o->rate);
	free(buf);
	return err;
}

/* Each interval: one upload under --app-name, or one per process. */
static void upload_interval(struct collector *c, uint64_t from_s, uint64_t until_s)
{
	const struct stack_trace *st;
	struct hashmap *by_pid;
	size_t pos = 0;
	void *v;
	int err = 0;

	if (c->o->app_name) {
		err = upload_agg(c, c->agg, c->o->app_name, 0, from_s, until_s);
		if (err)
			pr_warn("cannot queue the profile for upload: %s", strerror(-err));
		return;
	}
	by_pid = hashmap__new();
	if (!by_pid) {
		pr_warn("cannot queue the profiles for upload: out of memory");
		return;
	}
	/* The stacks' frames stay the interval aggregate's: it outlives these. */
	while (!err && agg__next(c->agg, &pos, &st)) {
		struct agg *a = hashmap__get(by_pid, (uint32_t)st->pid);

		if (!a && (!(a = agg__new()) || hashmap__put(by_pid, (uint32_t)st->pid, a))) {
			agg__free(a);
			err = -ENOMEM;
			break;
		}
		err = agg__add(a, st, st->count, 0);
	}
	pos = 0;
	while (hashmap__next(by_pid, &pos, NULL, &v)) {
		struct agg *a = v;
		const struct stack_trace *first;
		size_t p0 = 0;
		char name[128];

		if (!err && agg__next(a, &p0, &first)) {
			app_name_of(first->cmdline, name, sizeof(name));
			err = upload_agg(c, a, name, first->pid, from_s, until_s);
		}
		agg__free(a);
	}
	hashmap__free(by_pid);
	if (err)
		pr_warn("cannot queue the profiles for upload: %s", strerror(-err));
}

/*
 * Continuous mode: the interval's profile, written atomically into the
 * folder under its start time and/or queued for upload, then a fresh
 * aggregate for the next one.
 */
static int flush_interval(struct collector *c, uint64_t start_unix_ns, uint64_t start_mono_ns,
			  uint64_t now_mono_ns)
{
	struct record_opts *o = c->o;
	char stamp[32], path[PATH_MAX];
	time_t t = start_unix_ns / 1000000000ULL;
	struct outfile *out = NULL;
	struct agg *fresh;
	struct tm tm;
	int err = 0;

	o->out.start_unix_ns = start_unix_ns;
	o->out.start_mono_ns = start_mono_ns;
	o->out.duration_s = (now_mono_ns - start_mono_ns) / 1e9;
	if (c->uploader)
		upload_interval(c, start_unix_ns / 1000000000ULL,
				(start_unix_ns + (now_mono_ns - start_mono_ns)) / 1000000000ULL);
	if (o->interval_dir) {
		gmtime_r(&t, &tm);
		strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%S", &tm);
		/* Milliseconds too: a SIGHUP can end two intervals within a second. */
		if (snprintf(path, sizeof(path), "%s%spyspy-bpf-%s.%03uZ.%s", o->interval_dir,
			     o->interval_dir[strlen(o->interval_dir) - 1] == '/' ? "" : "/", stamp,
			     (unsigned int)(start_unix_ns / 1000000 % 1000),
			     output__ext(o->out.format)) >= (int)sizeof(path))
			err = -ENAMETOOLONG;
		if (!err)
			err = outfile__open(path, &out);
		if (!err)
			err = outfile__write(out, c->agg, &o->out);
		if (!err) {
			/* Make room first: never more than --keep files in sight. */
			if (o->keep)
				prune(o->interval_dir, output__ext(o->out.format), o->keep - 1);
			err = outfile__commit(out);
			out = NULL;
		}
		outfile__abort(out);
		if (err) {
			pr_err("cannot write '%s': %s", path, strerror(-err));
		} else {
			fprintf(stderr, "pyspy-bpf: wrote %s profile to '%s': %" PRIu64
				" samples, %zu processes\n", output__name(o->out.format), path,
				agg__total(c->agg), hashmap__size(c->procs));
		}
	}
	fresh = agg__new();
	if (!fresh)
		return -ENOMEM;
	if (output__needs_timeline(o->out.format))
		agg__keep_timeline(fresh);
	agg__free(c->agg);
	c->agg = fresh;
	return err;
}

int cmd_record(struct record_opts *o)
{
	struct collector c = { .o = o, .threads = !o->top && output__needs_threads(&o->out),
			       .ep = -1 };
	struct sampler_opts so = {
		.rate = o->rate,
		.follow_forks = (o->npids == 0 && !o->command) || o->subprocesses,
		.report_all_forks = (o->npids != 0 || o->command) && o->subprocesses,
		.exits_watched = (o->npids != 0 || o->command) && !o->subprocesses,
		.sample_gil = o->top || o->gil_only,
		.sample_time = !o->top && output__needs_timeline(o->out.format),
		.sample_comm = c.threads,
		.ringbuf_bytes = ring_bytes(o),
		.wake_quarter = true,
		.btf_path = o->btf_path,
		.iterate = o->idle,
	};
	struct outfile *out = NULL;
	struct sigaction sa = { .sa_handler = on_signal };
	sigset_t sigs;
	char defpath[256];
	const char *path = o->output;
	uint64_t counters[PY_C__MAX] = { 0 }, end_ns = 0, start_ns, next_drain, next_tick;
	uint64_t period_ns = 1000000000ULL / o->rate;
	struct timespec wall;
	int status = EXIT_FAILURE_, err, i, go_fd = -1;
	bool status_tty = !o->top && isatty(STDERR_FILENO), watched;
	uint64_t next_status = 0, next_flush = 0, interval_mono = 0, interval_unix = 0;
	uint64_t period = DRAIN_MIN_NS, cur_period = DRAIN_MIN_NS;
	uint64_t churn = 0, nprocs = 0, t0 = mono_ns();

	c.family = hashmap__new();
	c.memo = stack_memo__new();
	c.agg = agg__new();
	if (c.agg && output__needs_timeline(o->out.format))
		agg__keep_timeline(c.agg);
	c.procs = hashmap__new();
	c.pending = hashmap__new();
	c.refused = hashmap__new();
	if (!c.agg || !c.procs || !c.pending || !c.refused || !c.family) {
		pr_err("out of memory");
		goto cleanup;
	}
	if (!path) {
		default_output(o, defpath, sizeof(defpath));
		path = defpath;
	}
	/*
	 * Signals first: from here on one ends the run through the paths below,
	 * which remove a temporary file or finish the output, and a SIGHUP in
	 * continuous mode never kills. A writer that goes away (a pipe, a FIFO)
	 * is an error to report, not a death.
	 */
	continuous = o->interval > 0;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGHUP);
	sigprocmask(SIG_UNBLOCK, &sigs, NULL);
	/* Refuse a bad output path before sampling starts. */
	err = o->top || continuous ? 0 : outfile__open(path, &out);
	if (err) {
		/* ENXIO from a FIFO (outfile__open): nothing reads it yet. */
		pr_err("cannot create '%s': %s%s", path, strerror(-err),
		       err == -ENXIO ? " (a FIFO is written only once its reader is started)"
				     : "");
		status = EXIT_OUTPUT;
		goto cleanup;
	}
	pr_debug("start-up: output checked at %.1f ms", (mono_ns() - t0) / 1e6);
	if (o->upload_url) {
		struct upload_opts uo = { .url = o->upload_url };

		err = uploader__new(&c.uploader, &uo);
		if (err) {
			pr_err("cannot upload to '%s': %s", o->upload_url, strerror(-err));
			status = err == -EINVAL ? EXIT_USAGE : EXIT_FAILURE_;
			goto cleanup;
		}
	}
	for (i = 0; i < o->npids; i++)
		add_family(&c, o->pids[i]);
	for (i = 0; i < o->npids; i++) {
		struct py_process *p;
		char why[256];

		err = py_process__open(o->pids[i], &p, why, sizeof(why));
		if (err == -ESRCH || (err && py_process__gone(o->pids[i]))) {
			pr_err("no process with pid %d", o->pids[i]);
			status = EXIT_NO_PROCESS;
			goto cleanup;
		}
		if (err == -EPROTONOSUPPORT) {
			pr_err("cannot profile pid %d: %s", o->pids[i], why);
			status = EXIT_NOT_PYTHON;
			goto cleanup;
		}
		if (err) {
			pr_err("pid %d does not run a CPython interpreter", o->pids[i]);
			status = EXIT_NOT_PYTHON;
			goto cleanup;
		}
		py_process__free(p);
	}
	if (o->npids)
		pr_debug("start-up: %d target%s read at %.1f ms", o->npids, o->npids > 1 ? "s" : "",
			 (mono_ns() - t0) / 1e6);

	if (o->command) {
		err = start_command(&c, o->command, &go_fd);
		if (err) {
			pr_err("cannot start '%s': %s", o->command[0], strerror(-err));
			goto cleanup;
		}
		add_family(&c, c.child);
		schedule(&c, c.child);
	}
	err = sampler__open(&c.sampler, &so, on_record, &c);
	if (err) {
		status = EXIT_KERNEL;
		goto cleanup;
	}
	pr_debug("start-up: sampler ready at %.1f ms", (mono_ns() - t0) / 1e6);
	err = waiter_open(&c);
	if (err)
		pr_debug("sleeping on the clock alone: %s", strerror(-err));
	period = drain_period(o, sampler__ringbuf_bytes(c.sampler), c.ep >= 0,
			      status_tty ? DRAIN_MAX_TTY_NS :
			      c.threads ? DRAIN_MAX_THREADS_NS : DRAIN_MAX_NS);
	watched = true;
	for (i = 0; i < o->npids; i++)
		watched &= watch_exit(&c, o->pids[i]);
	if (c.child)
		watched &= watch_exit(&c, c.child);
	if (so.exits_watched && !watched && (err = sampler__watch_exits(c.sampler)))
		pr_debug("exits seen by the sweep alone: %s", strerror(-err));
	/* Tracepoints first, then the scan: no process falls in between. */
	if (host_wide(&c))
		scan_proc(&c);
	for (i = 0; i < o->npids; i++)
		try_attach(&c, o->pids[i], true);
	pr_debug("start-up: processes attached: %zu%s, at %.1f ms", hashmap__size(c.procs),
		 host_wide(&c) ? " (/proc scanned)" : "", (mono_ns() - t0) / 1e6);
	if (go_fd >= 0) {
		/* Attached: let the command run. */
		if (write(go_fd, "g", 1) != 1)
			pr_warn("cannot start the command: %s", strerror(errno));
		close(go_fd);
		go_fd = -1;
	}
	if (!host_wide(&c) && !c.child && !hashmap__size(c.procs)) {
		pr_err("no process left to profile");
		status = EXIT_NO_PROCESS;
		goto cleanup;
	}
	start_ns = mono_ns();
	if (log_verbose) {
		/* The rest of the time, it waited for a CPU (a loaded host). */
		struct timespec cpu;

		clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu);
		pr_debug("start-up: sampling from %.1f ms, %.1f ms of it on a CPU",
			 (start_ns - t0) / 1e6, cpu.tv_sec * 1e3 + cpu.tv_nsec / 1e6);
	}
	clock_gettime(CLOCK_REALTIME, &wall);
	o->out.start_mono_ns = start_ns;
	o->out.start_unix_ns = wall.tv_sec * 1000000000ULL + wall.tv_nsec;
	o->out.rate = o->rate;
	if (o->duration > 0)
		end_ns = start_ns + (uint64_t)(o->duration * 1e9);
	if (o->top) {
		c.top = top__new(o->rate, o->delay, o->out.full_filenames);
		if (!c.top) {
			pr_err("out of memory");
			goto cleanup;
		}
	} else {
		fprintf(stderr, "pyspy-bpf: sampling %s at %u Hz per CPU%s\n",
			host_wide(&c) ? "every Python process"
			: c.child ? "the command" : "the process", o->rate,
			o->duration > 0 ? "" : "; press Control-C to stop");
	}

	next_drain = next_tick = interval_mono = start_ns;
	interval_unix = o->out.start_unix_ns;
	next_flush = start_ns + (uint64_t)(o->interval * 1e9);
	while (!stop_requested) {
		uint64_t now = mono_ns(), wake;

		if (end_ns && now >= end_ns)
			break;
		/* --idle: threads off the CPUs, once per sampling period. */
		if (o->idle && now >= next_tick) {
			/* A pass over many threads is spread over ticks: each
			 * gets half a period, and never the run's end. */
			struct iterate_opts io = {
				.pid = o->npids == 1 ? o->pids[0] : 0,
				.idle_only = true,
				.deadline_ns = now + period_ns / 2,
				.stop = &stop_requested,
			};

			if (end_ns && io.deadline_ns > end_ns)
				io.deadline_ns = end_ns;
			if (sampler__iterate(c.sampler, &io) == 0) {
				next_tick = now + period_ns / 2;
			} else {
				next_tick += period_ns;
				if (next_tick <= now)
					next_tick = now + period_ns;
			}
		}
		if (now >= next_drain) {
			reap_child(&c);
			drain(&c);
			run_pending(&c);
			if (!host_wide(&c) && !any_target_alive(&c)) {
				c.targets_gone = true;
				break;
			}
			if (symcache__churn() != churn ||
			    hashmap__size(c.procs) != nprocs || hashmap__size(c.pending) ||
			    c.drained_bytes > sampler__ringbuf_bytes(c.sampler) / 4) {
				churn = symcache__churn();
				nprocs = hashmap__size(c.procs);
				cur_period = DRAIN_MIN_NS;
			} else if (cur_period < period) {
				cur_period = cur_period * 2 < period ? cur_period * 2 : period;
			}
			next_drain = now + (hashmap__size(c.pending) ? PENDING_NS : cur_period);
		}
		if (continuous && (now >= next_flush || flush_requested)) {
			drain(&c);
			flush_interval(&c, interval_unix, interval_mono, now);
			flush_requested = 0;
			interval_unix += now - interval_mono;
			interval_mono = now;
			next_flush = now + (uint64_t)(o->interval * 1e9);
		}
		if (c.top && top__tick(c.top, now, hashmap__size(c.procs)))
			break;
		if (status_tty && now >= next_status) {
			live_status(&c, now - start_ns, false);
			next_status = now + 1000000000ULL;
		}
		wake = next_drain;
		if (continuous && next_flush < wake)
			wake = next_flush;
		if (o->idle && next_tick < wake)
			wake = next_tick;
		if (end_ns && end_ns < wake)
			wake = end_ns;
		now = mono_ns();
		/* Woken early: the ring is filling, or a target exited. */
		if (wake > now && sleep_ns(&c, wake - now))
			next_drain = 0;
	}
	drain(&c);
	end_child(&c);
	if (status_tty)
		live_status(&c, 0, true);
	sampler__counters(c.sampler, counters);
	o->out.duration_s = (mono_ns() - start_ns) / 1e9;
	if (continuous) {
		/* SIGTERM / the duration: the last, partial interval too. */
		err = flush_interval(&c, interval_unix, interval_mono, mono_ns());
		status = err ? EXIT_OUTPUT : EXIT_OK;
		goto cleanup;
	}
	if (c.top) {
		top__free(c.top);
		c.top = NULL;
		if (c.targets_gone)
			fprintf(stderr, "pyspy-bpf: the profiled process exited\n");
		status = EXIT_OK;
		goto cleanup;
	}
	if (c.targets_gone)
		fprintf(stderr, "pyspy-bpf: the profiled process exited\n");

	err = outfile__write(out, c.agg, &o->out);
	if (!err) {
		err = outfile__commit(out);
		out = NULL;
	}
	if (err) {
		pr_err("cannot write '%s': %s", path, strerror(-err));
		goto cleanup;
	}
	summary(&c, path, counters);
	status = EXIT_OK;
	if (c.child && !c.child_killed) {
		/* Like the command itself: its exit status, or 128 + its signal. */
		reap_child(&c);
		if (c.child_done && WIFEXITED(c.child_status))
			status = WEXITSTATUS(c.child_status);
		else if (c.child_done && WIFSIGNALED(c.child_status))
			status = 128 + WTERMSIG(c.child_status);
	}
cleanup:
	if (go_fd >= 0)
		close(go_fd);	/* the child sees EOF and exits */
	end_child(&c);
	if (c.uploader) {
		struct upload_stats us;

		uploader__stats(c.uploader, &us);
		/* What is still queued gets a last chance, bounded in time. */
		uploader__free(c.uploader, us.queued ? 10 : 0);
		fprintf(stderr, "pyspy-bpf: uploaded %" PRIu64 " profiles to '%s'", us.sent,
			o->upload_url);
		if (us.dropped_full + us.dropped_retries + us.dropped_rejected)
			fprintf(stderr, "; dropped %" PRIu64 " (queue full %" PRIu64 ", retries %"
				PRIu64 ", rejected %" PRIu64 ")",
				us.dropped_full + us.dropped_retries + us.dropped_rejected,
				us.dropped_full, us.dropped_retries, us.dropped_rejected);
		fprintf(stderr, "\n");
	}
	top__free(c.top);
	outfile__abort(out);
	waiter_close(&c);
	sampler__free(c.sampler);
	if (c.procs) {
		size_t pos = 0;
		void *v;

		while (hashmap__next(c.procs, &pos, NULL, &v))
			py_process__free(v);
	}
	if (c.pending) {
		size_t pos = 0;
		void *v;

		while (hashmap__next(c.pending, &pos, NULL, &v))
			free(v);
	}
	hashmap__free(c.procs);
	hashmap__free(c.pending);
	hashmap__free(c.refused);
	hashmap__free(c.family);
	agg__free(c.agg);
	stack_memo__free(c.memo);
	free(c.changes);
	return status;
}
