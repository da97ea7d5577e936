// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <linux/perf_event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "capture.h"
#include "clock.h"
#include "kfeatures.h"
#include "log.h"
#include "native.h"
#include "sampler.h"
#include "sampler.skel.h"
#include "uwalk.h"

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
	/* Kernel fallbacks, chosen at load. compat_sample: on_sample_compat
	 * (no bpf_loop, task storage or BTF task pointer: before 5.17).
	 * compat_iter: list_tasks and the collector's own walker (no
	 * bpf_copy_from_user_task: before 5.18). */
	bool compat_sample;
	bool compat_iter;
	struct uwalk *uw;		/* compat_iter */
	struct iterate_opts iter_opts;	/* compat_iter: the pass under way */
	/* compat_iter: a fact split between two reads, its first bytes. */
	struct py_task_fact carry;
	size_t carry_len;
	uint64_t ucounts[PY_C__MAX];	/* compat_iter: the collector's walks */
	sampler_record_fn fn;
	void *ctx;
	bool replay;			/* no BPF: records come from a capture */
	void *native_rows;		/* native_rows, mapped; NULL until asked for */
	size_t native_len;
};

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG && log_verbose < 2)
		return 0;
	if (!log_verbose)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

/* Every record reaches the collector here, the ring buffer's and the
 * collector's own walker's (compat_iter): what a capture logs. */
static int deliver(void *ctx, const void *data, size_t size)
{
	struct sampler *s = ctx;

	if (capture_mode)
		capture__record(data, size);
	s->fn(s->ctx, data, size);
	return 0;
}

static int on_record(void *ctx, void *data, size_t size)
{
	return deliver(ctx, data, size);
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
	s->links[cpu] = bpf_program__attach_perf_event(s->compat_sample ?
						       s->skel->progs.on_sample_compat :
						       s->skel->progs.on_sample, fd);
	if (!s->links[cpu]) {
		int err = -errno;

		s->links[cpu] = NULL;
		return err;
	}
	return 0;
}

/* Milliseconds since *t, and *t moved to now: the start-up phases for -v. */
static double lap_ms(uint64_t *t)
{
	uint64_t now = mono_ns();
	double ms = (now - *t) / 1e6;

	*t = now;
	return ms;
}

/*
 * Which programs this kernel can run: the modern ones where it has what
 * they use, the compat ones otherwise. Same records either way; only the
 * cost differs (see sampler__fallbacks()).
 */
static void choose_fallbacks(struct sampler *s, const struct kfeatures *kf)
{
	s->compat_sample = !(kf->loop && kf->task_storage && kf->current_task_btf);
	s->compat_iter = !(kf->loop && kf->copy_from_user_task);
}

/*
 * PYSPY_BPF_FALLBACKS=sample,iter (or all) takes the old kernels' way on a
 * new one: how the tests hold both ways to the same output.
 */
static void force_fallbacks(struct sampler *s)
{
	const char *f = getenv("PYSPY_BPF_FALLBACKS");

	if (!f)
		return;
	if (strstr(f, "sample") || strstr(f, "all"))
		s->compat_sample = true;
	if (strstr(f, "iter") || strstr(f, "all"))
		s->compat_iter = true;
}

/* Opens the BPF object for these options and fallbacks, and loads it:
 * -ENOENT when it cannot be opened, else what the load gave. */
/*
 * --native: unmaps of a process's executable mappings mark them stale
 * (native.bpf.h), from fentry on the three system calls where the kernel
 * allows it (only they pay), else from every system call's tracepoint
 * (about 0.2 µs on each system call of the host). Not on kernels that
 * need fallbacks: --native is refused there.
 */
static void choose_mapping_hooks(struct sampler *s, bool native)
{
	bool fentry = native && kfeatures__fentry("__x64_sys_munmap") &&
		      kfeatures__fentry("__x64_sys_mremap") && kfeatures__fentry("__x64_sys_mmap");

	if (native)
		pr_debug("native: mapping changes seen from %s", fentry ?
			 "fentry on munmap, mremap and mmap" : "the sys_enter tracepoint");
	bpf_program__set_autoload(s->skel->progs.on_sys_enter, native && !fentry);
	bpf_program__set_autoload(s->skel->progs.on_munmap, fentry);
	bpf_program__set_autoload(s->skel->progs.on_mremap, fentry);
	bpf_program__set_autoload(s->skel->progs.on_mmap, fentry);
}

static int open_and_load(struct sampler *s, const struct sampler_opts *o,
			 const struct bpf_object_open_opts *oo, uint64_t *t)
{
	s->skel = sampler_bpf__open_opts(oo);
	if (!s->skel)
		return -ENOENT;
	pr_debug("start-up: BPF object opened in %.1f ms", lap_ms(t));
	s->skel->rodata->follow_forks = o->follow_forks;
	s->skel->rodata->report_all_forks = o->report_all_forks;
	s->skel->rodata->sample_gil = o->sample_gil;
	s->skel->rodata->sample_time = o->sample_time;
	s->skel->rodata->sample_comm = o->sample_comm;
	s->skel->rodata->sample_addrs = o->sample_addrs;
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
	bpf_program__set_autoload(s->skel->progs.walk_tasks, o->iterate && !s->compat_iter);
	bpf_program__set_autoattach(s->skel->progs.walk_tasks, false);
	bpf_program__set_autoload(s->skel->progs.list_tasks, o->iterate && s->compat_iter);
	bpf_program__set_autoattach(s->skel->progs.list_tasks, false);
	/* One perf program of the two, none for dump. */
	bpf_program__set_autoload(s->skel->progs.on_sample, o->rate && !s->compat_sample);
	bpf_program__set_autoload(s->skel->progs.on_sample_compat, o->rate && s->compat_sample);
	/* LRU hashes are allocated up front: a token size when unused. The
	 * task storage map cannot be created at all before 5.11. */
	if (!o->iterate || s->compat_iter)
		bpf_map__set_max_entries(s->skel->maps.iter_threads, s->ncpus);
	if (!o->rate || !s->compat_sample)
		bpf_map__set_max_entries(s->skel->maps.compat_threads, s->ncpus);
	bpf_map__set_autocreate(s->skel->maps.threads, (o->rate && !s->compat_sample) ||
				(o->iterate && !s->compat_iter));
	bpf_map__set_max_entries(s->skel->maps.scratch, s->ncpus);
	if (o->ringbuf_bytes)
		bpf_map__set_max_entries(s->skel->maps.events, o->ringbuf_bytes);
	if (o->wake_quarter)
		s->skel->rodata->wake_bytes = bpf_map__max_entries(s->skel->maps.events) / 4;
	s->skel->rodata->native = o->native_rows != 0;
	choose_mapping_hooks(s, o->native_rows && !s->compat_sample);
	if (o->native_rows)
		bpf_map__set_max_entries(s->skel->maps.native_rows, o->native_rows);
	else
		bpf_map__set_max_entries(s->skel->maps.native_procs, 1);
	return sampler_bpf__load(s->skel);
}

int sampler__native_maps(struct sampler *s, struct native_maps *out)
{
	size_t len;
	void *rows;

	if (!s->skel || !s->skel->rodata->native)
		return -ENOENT;
	if (!s->native_rows) {
		len = (size_t)bpf_map__max_entries(s->skel->maps.native_rows) *
		      sizeof(struct py_native_row);
		rows = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED,
			    bpf_map__fd(s->skel->maps.native_rows), 0);
		if (rows == MAP_FAILED)
			return -errno;
		s->native_rows = rows;
		s->native_len = len;
	}
	out->procs_fd = bpf_map__fd(s->skel->maps.native_procs);
	out->pages_fd = bpf_map__fd(s->skel->maps.native_pages);
	out->rows = s->native_rows;
	out->nrows = bpf_map__max_entries(s->skel->maps.native_rows);
	return 0;
}

const char *sampler__fallbacks(const struct sampler *s)
{
	bool cs = s->compat_sample && s->skel &&
		  bpf_program__fd(s->skel->progs.on_sample_compat) >= 0;
	bool ci = s->compat_iter && s->uw;

	if (cs && ci)
		return "stacks walked in bounded loops, threads cached by tid in a hash "
		       "(no bpf_loop / task storage); dump and --idle walk stacks in the "
		       "collector (no bpf_copy_from_user_task)";
	if (cs)
		return "stacks walked in bounded loops, threads cached by tid in a hash "
		       "(no bpf_loop / task storage)";
	if (ci)
		return "dump and --idle walk stacks in the collector (no bpf_copy_from_user_task)";
	return "";
}

/*
 * Open and load the BPF object with what this kernel offers: the modern
 * programs first; on a refusal, probe the kernel and load the fallbacks it
 * needs (the same stacks, at a higher cost). A clear error when nothing loads.
 */
static int load_for_this_kernel(struct sampler *s, const struct sampler_opts *o, uint64_t *t)
{
	LIBBPF_OPTS(bpf_object_open_opts, oo, .btf_custom_path = o->btf_path);
	struct kfeatures kf = { 0 };
	bool probed = false;
	int err;

	/* Probing costs milliseconds: only to tell the user, or to explain a
	 * failed load. */
	if (log_verbose) {
		kfeatures__probe(&kf);
		kfeatures__log(&kf);
		probed = true;
		pr_debug("start-up: kernel features probed in %.1f ms", lap_ms(t));
	}
	if (probed)
		choose_fallbacks(s, &kf);
	force_fallbacks(s);
	err = open_and_load(s, o, &oo, t);
	if (err && err != -ENOENT && !probed) {
		/* A kernel that lacks something modern: probe, and load again
		 * with what it has, if that is something else. */
		bool cs = s->compat_sample, ci = s->compat_iter;

		kfeatures__probe(&kf);
		probed = true;
		choose_fallbacks(s, &kf);
		if (cs != s->compat_sample || ci != s->compat_iter) {
			sampler_bpf__destroy(s->skel);
			s->skel = NULL;
			err = open_and_load(s, o, &oo, t);
		}
	}
	if (err && err != -ENOENT && !(s->compat_sample && s->compat_iter)) {
		/* A kernel newer than this build that refuses the modern
		 * programs for a reason of its own: the old ones use less. */
		pr_debug("the BPF programs did not load (%s): trying the fallbacks",
			 strerror(-err));
		sampler_bpf__destroy(s->skel);
		s->skel = NULL;
		s->compat_sample = s->compat_iter = true;
		if (!open_and_load(s, o, &oo, t))
			err = 0;
	}
	if (err == -ENOENT) {
		pr_err("cannot open the BPF object: %s", strerror(ENOENT));
		return err;
	}
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
		return err;
	}
	return 0;
}

int sampler__open(struct sampler **out, const struct sampler_opts *o, sampler_record_fn fn,
		  void *ctx)
{
	struct sampler *s;
	uint64_t t;
	int err, cpu;

	*out = NULL;
	t = mono_ns();
	libbpf_set_print(libbpf_print);
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->fn = fn;
	s->ctx = ctx;
	s->iter_fd = -1;
	if (capture_mode == CAPTURE_REPLAY) {
		s->replay = true;
		*out = s;
		return 0;
	}
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

	err = load_for_this_kernel(s, o, &t);
	if (!err && o->native_rows && (s->compat_sample || (o->iterate && s->compat_iter))) {
		pr_err("--native needs Linux 5.18 or later (bpf_loop, bpf_task_pt_regs and "
		       "bpf_copy_from_user_task)");
		err = -EOPNOTSUPP;
	}
	if (err)
		goto fail;
	if (s->compat_iter && o->iterate && !(s->uw = uwalk__new(deliver, s))) {
		err = -ENOMEM;
		goto fail;
	}
	if (capture_mode)
		capture__fact(CF_RING, 0, 0, bpf_map__max_entries(s->skel->maps.events), NULL);
	pr_debug("kernel fallbacks: %s", *sampler__fallbacks(s) ? sampler__fallbacks(s) : "none");
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
	if (s->replay || s->skel->links.on_exit)
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
	if (s->native_rows)
		munmap(s->native_rows, s->native_len);
	sampler_bpf__destroy(s->skel);
	uwalk__free(s->uw);
	free(s->links);
	free(s->pfds);
	free(s);
}

int sampler__add_proc(struct sampler *s, pid_t pid, const struct py_proc *p)
{
	__u32 key = pid;

	if (s->replay)
		return 0;
	if (bpf_map_update_elem(bpf_map__fd(s->skel->maps.procs), &key, p, BPF_ANY))
		return -errno;
	return 0;
}

void sampler__del_proc(struct sampler *s, pid_t pid)
{
	__u32 key = pid;

	if (!s->replay)
		bpf_map_delete_elem(bpf_map__fd(s->skel->maps.procs), &key);
}

/* A new pass: the configuration, the link (its pid filter makes the kernel
 * visit only that process's threads) and the iterator's file. */
static int iterate_begin(struct sampler *s, const struct iterate_opts *o)
{
	struct iter_config cfg = {
		.pid = o->pid,
		.idle_only = o->idle_only,
		.frame_addrs = o->frame_addrs,
		.entries = o->entries,
	};
	__u32 zero = 0;
	int fd, err;

	struct bpf_program *prog = s->compat_iter ? s->skel->progs.list_tasks :
				   s->skel->progs.walk_tasks;

	if (bpf_program__fd(prog) < 0)
		return -ENOTSUP;	/* opened without iterate */
	if (s->uw)	/* the collector's own walker marks them the same way */
		uwalk__entries(s->uw, o->entries);
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
		s->iter_link = bpf_program__attach_iter(prog, &io);
		/* Kernels before 6.1 take no pid filter; the program checks
		 * the pid itself anyway. */
		if (!s->iter_link && o->pid) {
			io.link_info = NULL;
			io.link_info_len = 0;
			s->iter_link = bpf_program__attach_iter(prog, &io);
		}
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
	if (s->uw) {
		uwalk__begin(s->uw);
		s->iter_opts = *o;
		s->carry_len = 0;
	}
	return 0;
}

/* compat_iter: the iterator's read is whole facts; each thread is walked
 * here. */
static void walk_facts(struct sampler *s, const char *buf, size_t n)
{
	int fd = bpf_map__fd(s->skel->maps.procs);
	struct py_task_fact f;
	struct py_proc p;
	__u32 have = 0;
	size_t take;

	while (n) {
		take = sizeof(f) - s->carry_len;
		if (take > n)
			take = n;
		memcpy((char *)&s->carry + s->carry_len, buf, take);
		s->carry_len += take;
		buf += take;
		n -= take;
		if (s->carry_len < sizeof(f))
			break;
		f = s->carry;
		s->carry_len = 0;
		if (!have || have != f.pid) {
			if (bpf_map_lookup_elem(fd, &f.pid, &p))
				continue;	/* dropped since */
			have = f.pid;
		}
		uwalk__thread(s->uw, &p, &f, s->iter_opts.frame_addrs, s->ucounts);
	}
}

static int iterate_live(struct sampler *s, const struct iterate_opts *o)
{
	/* The program writes a 4-byte token per thread it visits (compat:
	 * the thread's facts): a read returns after this many threads. */
	char buf[64 * sizeof(struct py_task_fact)] __attribute__((aligned(8)));
	size_t chunk = s->compat_iter ? sizeof(buf) : 64 * sizeof(__u32);
	ssize_t n;
	int err;

	if (s->iter_fd < 0 && (err = iterate_begin(s, o)))
		return err;
	for (;;) {
		n = read(s->iter_fd, buf, chunk);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (s->compat_iter)
			walk_facts(s, buf, n);
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

/* A capture marks where each pass and drain ended, with its result and
 * time; a replay hands over the records up to that mark. */
int sampler__iterate(struct sampler *s, const struct iterate_opts *o)
{
	int ret;

	if (s->replay)
		return capture__replay_step(s->fn, s->ctx);
	ret = iterate_live(s, o);
	if (capture_mode)
		capture__step(CS_ITER, mono_ns(), ret);
	return ret;
}

int sampler__drain(struct sampler *s)
{
	int ret;

	if (s->replay)
		return capture__replay_step(s->fn, s->ctx);
	ret = ring_buffer__consume(s->rb);
	if (capture_mode)
		capture__step(CS_DRAIN, mono_ns(), ret);
	return ret;
}

int sampler__ring_fd(const struct sampler *s)
{
	return s->replay ? -1 : bpf_map__fd(s->skel->maps.events);
}

size_t sampler__ringbuf_bytes(const struct sampler *s)
{
	if (s->replay)
		return capture__value(CF_RING, 0, 0, 0);
	return bpf_map__max_entries(s->skel->maps.events);
}

int sampler__counters(struct sampler *s, uint64_t out[PY_C__MAX])
{
	struct py_counters *vals;
	__u32 zero = 0;
	int fd, err = 0;

	memset(out, 0, PY_C__MAX * sizeof(out[0]));
	if (s->replay)
		return 0;	/* the kernel's counters are not captured */
	fd = bpf_map__fd(s->skel->maps.counters);
	vals = calloc(s->ncpus, sizeof(*vals));
	if (!vals)
		return -ENOMEM;
	if (bpf_map_lookup_elem(fd, &zero, vals))
		err = -errno;
	for (int c = 0; !err && c < s->ncpus; c++)
		for (int k = 0; k < PY_C__MAX; k++)
			out[k] += vals[c].n[k];
	for (int k = 0; !err && k < PY_C__MAX; k++)
		out[k] += s->ucounts[k];
	free(vals);
	return err;
}
