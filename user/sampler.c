// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <linux/perf_event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "kfeatures.h"
#include "log.h"
#include "sampler.h"
#include "sampler.skel.h"

struct sampler {
	struct sampler_bpf *skel;
	struct ring_buffer *rb;
	struct bpf_link **links;
	int *pfds;
	int ncpus;
	struct bpf_link *iter_link;	/* for iter_pid; 0: unfiltered */
	pid_t iter_pid;
	int iter_fd;			/* the pass under way, or -1 */
	uint32_t iter_gen;		/* the pass's number, never 0 */
	sampler_record_fn fn;
	void *ctx;
};

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG && log_verbose < 2)
		return 0;
	if (!log_verbose)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

static int on_record(void *ctx, void *data, size_t size)
{
	struct sampler *s = ctx;

	s->fn(s->ctx, data, size);
	return 0;
}

int record__decode_stack(const void *data, size_t size, const struct py_stack_hdr **hdr,
			 const struct py_frame_rec **frames)
{
	const struct py_stack_hdr *h = data;

	if (size < sizeof(*h) || h->kind != PY_REC_STACK || h->nframes > PY_MAX_FRAMES ||
	    size < sizeof(*h) + (size_t)h->nframes * sizeof(struct py_frame_rec))
		return -EINVAL;
	*hdr = h;
	*frames = (const struct py_frame_rec *)(h + 1);
	return 0;
}

static int open_perf(struct sampler *s, int cpu, unsigned int rate)
{
	struct perf_event_attr attr = {
		.type = PERF_TYPE_SOFTWARE,
		.config = PERF_COUNT_SW_CPU_CLOCK,
		.size = sizeof(attr),
		.freq = 1,
		.sample_freq = rate,
		/* A tick in the idle task can never be Python: without this the
		 * program runs, cold, on every tick of every idle CPU. */
		.exclude_idle = 1,
	};
	int fd;

	fd = syscall(__NR_perf_event_open, &attr, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC);
	if (fd < 0)
		return errno == ENODEV ? 0 : -errno;	/* offline CPU */
	s->pfds[cpu] = fd;
	s->links[cpu] = bpf_program__attach_perf_event(s->skel->progs.on_sample, fd);
	if (!s->links[cpu]) {
		int err = -errno;

		s->links[cpu] = NULL;
		return err;
	}
	return 0;
}

/* Milliseconds since *t, and *t moved to now: the start-up phases for -v. */
static double lap_ms(struct timespec *t)
{
	struct timespec now;
	double ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (now.tv_sec - t->tv_sec) * 1e3 + (now.tv_nsec - t->tv_nsec) / 1e6;
	*t = now;
	return ms;
}

int sampler__open(struct sampler **out, const struct sampler_opts *o, sampler_record_fn fn,
		  void *ctx)
{
	LIBBPF_OPTS(bpf_object_open_opts, oo, .btf_custom_path = o->btf_path);
	struct kfeatures kf = { 0 };
	bool probed = false;
	struct sampler *s;
	struct timespec t;
	int err, cpu;

	*out = NULL;
	clock_gettime(CLOCK_MONOTONIC, &t);
	libbpf_set_print(libbpf_print);
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->fn = fn;
	s->ctx = ctx;
	s->ncpus = libbpf_num_possible_cpus();
	if (s->ncpus <= 0) {
		err = s->ncpus ? s->ncpus : -EINVAL;
		goto fail;
	}
	s->links = calloc(s->ncpus, sizeof(*s->links));
	s->pfds = malloc(s->ncpus * sizeof(*s->pfds));
	if (!s->links || !s->pfds) {
		err = -ENOMEM;
		goto fail;
	}
	for (cpu = 0; cpu < s->ncpus; cpu++)
		s->pfds[cpu] = -1;
	s->iter_fd = -1;

	/* Probing costs milliseconds: only to tell the user, or to explain a
	 * failed load. */
	if (log_verbose) {
		kfeatures__probe(&kf);
		kfeatures__log(&kf);
		probed = true;
		pr_debug("start-up: kernel features probed in %.1f ms", lap_ms(&t));
	}
	s->skel = sampler_bpf__open_opts(&oo);
	if (!s->skel) {
		err = -errno;
		pr_err("cannot open the BPF object: %s", strerror(-err));
		goto fail;
	}
	s->skel->rodata->follow_forks = o->follow_forks;
	s->skel->rodata->report_all_forks = o->report_all_forks;
	s->skel->rodata->sample_gil = o->sample_gil;
	s->skel->rodata->sample_time = o->sample_time;
	s->skel->rodata->sample_comm = o->sample_comm;
	/* Forks matter only when children are followed or reported; otherwise
	 * the program would run for nothing on every thread and process the
	 * host creates (a target that starts a thread per task pays it). */
	bpf_program__set_autoload(s->skel->progs.on_fork,
				  o->follow_forks || o->report_all_forks);
	/* The exit tracepoint runs for every thread that exits on the host,
	 * the target's too: a target that starts a thread per task pays it for
	 * an exit the caller's pidfd reports anyway. */
	bpf_program__set_autoattach(s->skel->progs.on_exit, !o->exits_watched);
	/* Attached on demand by sampler__iterate, with a pid filter; loaded
	 * only when it will run, so that a kernel without sleepable iterators
	 * still records. */
	bpf_program__set_autoload(s->skel->progs.walk_tasks, o->iterate);
	bpf_program__set_autoattach(s->skel->progs.walk_tasks, false);
	/* The iterator's thread index holds PY_MAX_INDEX entries, allocated
	 * up front (an LRU hash is): a token size when it never runs. */
	if (!o->iterate)
		bpf_map__set_max_entries(s->skel->maps.iter_threads, s->ncpus);
	bpf_map__set_max_entries(s->skel->maps.scratch, s->ncpus);
	if (o->ringbuf_bytes)
		bpf_map__set_max_entries(s->skel->maps.events, o->ringbuf_bytes);
	if (o->wake_quarter)
		s->skel->rodata->wake_bytes = bpf_map__max_entries(s->skel->maps.events) / 4;
	pr_debug("start-up: BPF object opened in %.1f ms", lap_ms(&t));
	err = sampler_bpf__load(s->skel);
	if (err) {
		char missing[256];

		if (!probed)
			kfeatures__probe(&kf);
		if (*kfeatures__missing(&kf, o->iterate, missing, sizeof(missing)))
			pr_err("this kernel lacks what %s needs: %s", !o->iterate ? "sampling" :
			       o->rate ? "--idle" : "dump", missing);
		else
			pr_err("cannot load the BPF programs: %s (run with -v for the verifier log)",
			       strerror(-err));
		goto fail;
	}
	pr_debug("start-up: BPF programs loaded and verified in %.1f ms", lap_ms(&t));
	err = sampler_bpf__attach(s->skel);
	if (err) {
		pr_err("cannot attach the process tracepoints: %s", strerror(-err));
		goto fail;
	}
	for (cpu = 0; o->rate && cpu < s->ncpus; cpu++) {
		err = open_perf(s, cpu, o->rate);
		if (err) {
			pr_err("cannot open a cpu-clock perf event on cpu %d: %s", cpu,
			       strerror(-err));
			goto fail;
		}
	}
	pr_debug("start-up: tracepoints and %d perf events attached in %.1f ms",
		 o->rate ? s->ncpus : 0, lap_ms(&t));
	/* Process events first: a drain reads them before the samples. */
	s->rb = ring_buffer__new(bpf_map__fd(s->skel->maps.proc_events), on_record, s, NULL);
	if (s->rb && ring_buffer__add(s->rb, bpf_map__fd(s->skel->maps.events), on_record, s)) {
		ring_buffer__free(s->rb);
		s->rb = NULL;
	}
	if (!s->rb) {
		err = -errno;
		pr_err("cannot set up the ring buffer: %s", strerror(-err));
		goto fail;
	}
	*out = s;
	return 0;
fail:
	sampler__free(s);
	return err;
}

int sampler__watch_exits(struct sampler *s)
{
	if (s->skel->links.on_exit)
		return 0;
	s->skel->links.on_exit = bpf_program__attach(s->skel->progs.on_exit);
	if (!s->skel->links.on_exit)
		return -errno;
	return 0;
}

void sampler__free(struct sampler *s)
{
	if (!s)
		return;
	ring_buffer__free(s->rb);
	if (s->iter_fd >= 0)
		close(s->iter_fd);
	bpf_link__destroy(s->iter_link);
	for (int cpu = 0; s->links && cpu < s->ncpus; cpu++)
		bpf_link__destroy(s->links[cpu]);
	for (int cpu = 0; s->pfds && cpu < s->ncpus; cpu++)
		if (s->pfds[cpu] >= 0)
			close(s->pfds[cpu]);
	sampler_bpf__destroy(s->skel);
	free(s->links);
	free(s->pfds);
	free(s);
}

int sampler__add_proc(struct sampler *s, pid_t pid, const struct py_proc *p)
{
	__u32 key = pid;

	if (bpf_map_update_elem(bpf_map__fd(s->skel->maps.procs), &key, p, BPF_ANY))
		return -errno;
	return 0;
}

void sampler__del_proc(struct sampler *s, pid_t pid)
{
	__u32 key = pid;

	bpf_map_delete_elem(bpf_map__fd(s->skel->maps.procs), &key);
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* A new pass: the configuration, the link (its pid filter makes the kernel
 * visit only that process's threads) and the iterator's file. */
static int iterate_begin(struct sampler *s, const struct iterate_opts *o)
{
	struct iter_config cfg = {
		.pid = o->pid,
		.idle_only = o->idle_only,
		.frame_addrs = o->frame_addrs,
	};
	__u32 zero = 0;
	int fd, err;

	if (bpf_program__fd(s->skel->progs.walk_tasks) < 0)
		return -ENOTSUP;	/* opened without iterate */
	if (!++s->iter_gen)
		s->iter_gen = 1;
	cfg.gen = s->iter_gen;
	if (bpf_map_update_elem(bpf_map__fd(s->skel->maps.iter_cfg), &zero, &cfg, BPF_ANY))
		return -errno;
	if (!s->iter_link || s->iter_pid != o->pid) {
		union bpf_iter_link_info info = {};
		LIBBPF_OPTS(bpf_iter_attach_opts, io);

		bpf_link__destroy(s->iter_link);
		if (o->pid) {
			info.task.pid = o->pid;
			io.link_info = &info;
			io.link_info_len = sizeof(info);
		}
		s->iter_link = bpf_program__attach_iter(s->skel->progs.walk_tasks, &io);
		if (!s->iter_link) {
			err = -errno;
			s->iter_link = NULL;
			return err;
		}
		s->iter_pid = o->pid;
	}
	fd = bpf_iter_create(bpf_link__fd(s->iter_link));
	if (fd < 0)
		return -errno;
	s->iter_fd = fd;
	return 0;
}

int sampler__iterate(struct sampler *s, const struct iterate_opts *o)
{
	/* The program writes a 4-byte token per thread it visits: a read
	 * returns after this many threads. */
	char buf[64 * sizeof(__u32)];
	ssize_t n;
	int err;

	if (s->iter_fd < 0 && (err = iterate_begin(s, o)))
		return err;
	for (;;) {
		n = read(s->iter_fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (ring_buffer__consume(s->rb) < 0) {
			n = -1;
			break;
		}
		if ((o->stop && *o->stop) || (o->deadline_ns && mono_ns() >= o->deadline_ns))
			return 0;
	}
	err = n < 0 ? -errno : 1;
	close(s->iter_fd);
	s->iter_fd = -1;
	ring_buffer__consume(s->rb);
	return err;
}

int sampler__drain(struct sampler *s)
{
	return ring_buffer__consume(s->rb);
}

int sampler__ring_fd(const struct sampler *s)
{
	return bpf_map__fd(s->skel->maps.events);
}

size_t sampler__ringbuf_bytes(const struct sampler *s)
{
	return bpf_map__max_entries(s->skel->maps.events);
}

int sampler__counters(struct sampler *s, uint64_t out[PY_C__MAX])
{
	int fd = bpf_map__fd(s->skel->maps.counters), err = 0;
	struct py_counters *vals = calloc(s->ncpus, sizeof(*vals));
	__u32 zero = 0;

	if (!vals)
		return -ENOMEM;
	memset(out, 0, PY_C__MAX * sizeof(out[0]));
	if (bpf_map_lookup_elem(fd, &zero, vals))
		err = -errno;
	for (int c = 0; !err && c < s->ncpus; c++)
		for (int k = 0; k < PY_C__MAX; k++)
			out[k] += vals[c].n[k];
	free(vals);
	return err;
}
