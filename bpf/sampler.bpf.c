// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The sampler: on every cpu-clock tick that lands in a known Python process,
 * find the interrupted thread's PyThreadState and walk its frame chain,
 * emitting (code address, instruction offset, check value) per frame.
 * Process exec / fork / exit tracepoints keep userspace's view current.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "pyspy.h"
#include "sampler.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Set by userspace before load. */
const volatile bool follow_forks = false;
/* -s: every fork and exit is reported, so descendants of processes that are
 * not Python (a shell, a launcher) can be followed too. */
const volatile bool report_all_forks = false;
/* What a perf sample records beyond the stack: whether the thread holds the
 * GIL (top, --gil), when it was taken (timeline formats) and the thread's
 * kernel name (outputs that show threads). Each costs helper calls on every
 * sample, so it is read only when asked for; the task iterator, which is
 * rare, always records all three. */
const volatile bool sample_gil = false;
const volatile bool sample_time = false;
const volatile bool sample_comm = false;
/* --async: each stack's frame addresses too, in a PY_REC_FRAME_ADDRS record
 * just before it (the collector finds the asyncio tasks' coroutines by
 * their frames). */
const volatile bool sample_addrs = false;
/* Unread bytes in the sample ring buffer past which a sample wakes the
 * collector; 0: never (it drains on its own clock only). Below it, samples
 * wake nobody: the collector sleeps for its drain period, however long. */
const volatile __u64 wake_bytes = 0;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PY_MAX_PROCS);
	__type(key, __u32);
	__type(value, struct py_proc);
} procs SEC(".maps");

/* Each thread's PyThreadState, kept with the task itself: found in a few
 * loads from the task, where a hash by tid costs a search of cold memory;
 * freed with the task. */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct py_thread);
} threads SEC(".maps");

/* The same on kernels without task storage (before 5.11). Sized by
 * userspace: a token size when task storage is there. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, PY_MAX_COMPAT_THREADS);
	__type(key, __u64);
	__type(value, struct py_thread);
} compat_threads SEC(".maps");

/* Indexed by CPU id; max_entries is set to the number of possible CPUs. A
 * per-CPU array cannot hold a value this large. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sample_scratch);
} scratch SEC(".maps");

/* The task iterator's own state: it may run while a perf sample lands on
 * the same CPU, so it cannot share that CPU's slot. One iterator runs at a
 * time. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sample_scratch);
} iscratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct iter_config);
} iter_cfg SEC(".maps");

/* The task iterator's thread index (struct iter_thread_key). Sized by
 * userspace: PY_MAX_INDEX entries when the iterator runs, a token size when
 * it does not. Least recently used entries go first, which are those of
 * earlier passes. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, PY_MAX_INDEX);
	__type(key, struct iter_thread_key);
	__type(value, struct iter_thread_val);
} iter_threads SEC(".maps");

/* One entry holding every counter: userspace reads them in one lookup. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct py_counters);
} counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 << 20);
} events SEC(".maps");

/* Process exec / fork / exit events: their own buffer, so a burst of samples
 * that fills the one above never costs the collector a process. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 << 10);
} proc_events SEC(".maps");

static __always_inline void count(__u32 which)
{
	__u32 zero = 0;
	struct py_counters *c = bpf_map_lookup_elem(&counters, &zero);

	if (c && which < PY_C__MAX)
		c->n[which] += 1;
}

/*
 * Where a walk keeps its state, and whose memory it reads: the current task
 * (perf samples, bpf_probe_read_user) or another one (the task iterator,
 * bpf_copy_from_user_task). The iterator's branch is dead code for the
 * verifier in the perf program, where task is a constant NULL.
 */
struct walk_ctx {
	struct sample_scratch *s;
	struct task_struct *task;
	__u32 pid;
	__u32 gen;		/* the iterator's pass */
	__u32 cpu;		/* perf samples: this CPU, the scratch's key */
	bool gil;		/* read whether the thread holds the GIL */
	bool time;		/* stamp the record */
	bool comm;		/* name the thread */
	bool addrs;		/* keep frame addresses (dump --locals) */
	bool entry;		/* mark activations' first frames (--native) */
	__u64 switches;		/* the iterator: the thread's context switches
				 * before its walk */
};

static __always_inline long rd(struct walk_ctx *w, void *dst, __u32 size, __u64 src)
{
	if (w->task)
		return bpf_copy_from_user_task(dst, size, (const void *)src, w->task, 0);
	return bpf_probe_read_user(dst, size, (const void *)src);
}

/* Kernel fields whose type changed across versions are read at the size
 * the running kernel's BTF gives: on_cpu is an int up to 7.1, a u8 since. */
static __always_inline bool task_on_cpu(struct task_struct *t)
{
	return BPF_CORE_READ_BITFIELD_PROBED(t, on_cpu) != 0;
}

/* How often the thread was switched in and out, so far. */
static __always_inline __u64 task_switches(struct task_struct *t)
{
	return BPF_CORE_READ(t, nvcsw) + BPF_CORE_READ(t, nivcsw);
}

#include "walker.h"
#include "native.bpf.h"

/* One step of the thread-list search: visit s->tstate or move to the next
 * interpreter when the current list ends. */
static __always_inline long find_thread_one(struct walk_ctx *w)
{
	struct sample_scratch *s = w->s;
	const struct py_offsets *off = &s->proc.off;
	int step = list_step(w);

	if (step != STEP_READ)
		return step == STEP_END;
	if (ld64(s->tbuf, off->tstate_thread_id, PY_TSTATE_READ) == s->pthread_id) {
		s->found = s->tstate;
		return 1;
	}
	s->tstate = ld64(s->tbuf, off->tstate_next, PY_TSTATE_READ);
	return 0;
}

static long find_thread_step(__u32 i, void *ctx)
{
	return find_thread_one(ctx);
}

/*
 * The thread state that last took the GIL: the sampled thread's own in the
 * common case of a thread running Python code, so a thread seen for the
 * first time is usually found without searching the thread list. Only a
 * candidate: the caller checks its thread id.
 */
static __always_inline __u64 gil_candidate(struct walk_ctx *w)
{
	struct sample_scratch *s = w->s;
	const struct py_offsets *off = &s->proc.off;
	__u64 gp;

	if (off->flags & PY_F_GIL_INTERP) {
		gp = read_ptr(w, first_interp(w, &s->proc) + off->interp_gil);
		return gp ? read_ptr(w, gp + off->gil_last_holder) : 0;
	}
	return read_ptr(w, s->proc.gil_holder);
}

/*
 * Whether this CPU found the thread by its GIL before, among the last
 * SEEN_TIDS such threads; remembers it if not. A cache entry costs an
 * allocation, about as much as the rest of the sample: a thread that lives
 * for one sample (a thread per task) should not pay it.
 */
static __always_inline bool seen_before(struct sample_scratch *s, __u32 tid)
{
	int i;

#pragma unroll
	for (i = 0; i < SEEN_TIDS; i++)
		if (s->seen[i] == tid)
			return true;
	s->seen[s->seen_pos++ & (SEEN_TIDS - 1)] = tid;
	return false;
}

/* One step of indexing a process's threads for the iterator: visit
 * s->tstate or move to the next interpreter when the current list ends. */
static long index_step(__u32 i, void *ctx)
{
	struct walk_ctx *w = ctx;
	struct sample_scratch *s = w->s;
	const struct py_offsets *off = &s->proc.off;
	struct iter_thread_key k = { .pid = w->pid };
	struct iter_thread_val v = { .gen = w->gen };
	int step = list_step(w);
	__u64 next;

	if (step != STEP_READ)
		return step == STEP_END;
	k.pthread_id = ld64(s->tbuf, off->tstate_thread_id, PY_TSTATE_READ);
	v.tstate = s->tstate;
	if (k.pthread_id && bpf_map_update_elem(&iter_threads, &k, &v, BPF_ANY))
		s->index_full = 1;
	s->indexed++;
	next = ld64(s->tbuf, off->tstate_next, PY_TSTATE_READ);
	s->tstate = next == s->tstate ? 0 : next;	/* a self-loop in hostile memory */
	return 0;
}

/*
 * The thread state of pthread_id from the iterator's index of this process,
 * built on the process's first thread of the pass: one walk of the thread
 * list, where searching it for every thread costs the square of their
 * number. Sets *whole when the index holds every thread state of the
 * process, so that a thread absent from it has none.
 */
static __always_inline __u64 indexed_tstate(struct walk_ctx *w, bool *whole)
{
	struct sample_scratch *s = w->s;
	struct iter_thread_key k = { .pid = w->pid };
	struct iter_thread_val *v, mark = { .gen = w->gen };
	__u64 interp;

	*whole = false;
	v = bpf_map_lookup_elem(&iter_threads, &k);
	if (!v || v->gen != w->gen) {
		interp = first_interp(w, &s->proc);
		if (!interp)
			return 0;
		s->interp = read_ptr(w, interp + s->proc.off.interp_next);
		s->tstate = read_ptr(w, interp + s->proc.off.interp_tstate_head);
		s->interps = 1;
		s->indexed = 0;
		s->index_full = 0;
		bpf_loop(PY_MAX_INDEX + PY_MAX_INTERPS, index_step, w, 0);
		mark.tstate = s->indexed;
		mark.whole = !s->tstate && !s->interp && !s->index_full;
		if (!mark.whole)
			count(PY_C_INDEX_SHORT);
		bpf_map_update_elem(&iter_threads, &k, &mark, BPF_ANY);
		v = bpf_map_lookup_elem(&iter_threads, &k);
		if (!v)
			return 0;
	}
	*whole = v->whole;
	k.pthread_id = s->pthread_id;
	if (!k.pthread_id)
		return 0;
	v = bpf_map_lookup_elem(&iter_threads, &k);
	return v && v->gen == w->gen ? v->tstate : 0;
}

/*
 * Kernels without bpf_loop() (before 5.17) run the search and the walk as
 * bounded loops over global functions: the verifier checks a global
 * function once, where an inlined step would be checked once per
 * iteration. Each call does COMPAT_STEPS steps on this CPU's scratch.
 */
__noinline int compat_search(__u32 cpu)
{
	struct walk_ctx w = {};
	int k;

	w.s = bpf_map_lookup_elem(&scratch, &cpu);
	if (!w.s)
		return 1;
	for (k = 0; k < COMPAT_STEPS; k++)
		if (find_thread_one(&w))
			return 1;
	return 0;
}

__noinline int compat_walk(__u32 cpu)
{
	struct walk_ctx w = {};
	int k;

	w.s = bpf_map_lookup_elem(&scratch, &cpu);
	if (!w.s)
		return 1;
	for (k = 0; k < COMPAT_STEPS; k++)
		if (walk_one(&w))
			return 1;
	return 0;
}

/*
 * The thread's cache entry; create: make one if there is none. Without
 * task storage (before 5.11), an LRU hash keyed by pid and tid: a tid the
 * kernel reuses finds the old thread's entry, which is re-checked on use
 * like any other.
 */
static __always_inline struct py_thread *thread_cache(struct task_struct *task, __u32 pid,
						      __u32 tid, bool create, const bool compat)
{
	__u64 key = (__u64)pid << 32 | tid;
	struct py_thread fresh = {};

	if (!compat)
		return bpf_task_storage_get(&threads, task, NULL,
					    create ? BPF_LOCAL_STORAGE_GET_F_CREATE : 0);
	if (create)
		bpf_map_update_elem(&compat_threads, &key, &fresh, BPF_NOEXIST);
	return bpf_map_lookup_elem(&compat_threads, &key);
}

/*
 * The sampled thread's PyThreadState, matched on thread_id == pthread_self()
 * (the thread pointer), cached per tid and re-checked on every use. A thread
 * without a cached state tries the GIL's last holder before the search, and
 * is cached from its second sample on when found that way.
 * Leaves the thread state's first bytes in s->tbuf. Returns 0 when the
 * thread has none.
 */
static __always_inline __u64 find_tstate(struct walk_ctx *w, struct task_struct *task,
					 __u32 pid, __u32 tid, const bool compat)
{
	struct sample_scratch *s = w->s;
	const struct py_offsets *off = &s->proc.off;
	struct py_thread *cached;
	__u64 interp, head, cand;
	__u32 n = s->tstate_read;

	if (n > PY_TSTATE_READ)
		n = PY_TSTATE_READ;
	cached = thread_cache(task, pid, tid, false, compat);
	if (cached && cached->tstate) {
		if (!rd(w, s->tbuf, n, cached->tstate) &&
		    ld64(s->tbuf, off->tstate_thread_id, PY_TSTATE_READ) == s->pthread_id)
			return cached->tstate;
	}

	s->found = 0;
	head = 0;
	if (!compat && w->gen) {
		bool whole;

		cand = indexed_tstate(w, &whole);
		if (cand && !rd(w, s->tbuf, n, cand) &&
		    ld64(s->tbuf, off->tstate_thread_id, PY_TSTATE_READ) == s->pthread_id) {
			s->found = cand;
			goto store;
		}
		if (whole)
			goto store;
	}
	if (!cached || cached->tstate) {
		cand = gil_candidate(w);
		if (cand && !rd(w, s->tbuf, n, cand) &&
		    ld64(s->tbuf, off->tstate_thread_id, PY_TSTATE_READ) == s->pthread_id) {
			s->found = cand;
			if (!cached && !seen_before(s, tid))
				return cand;
			goto store;
		}
	}

	interp = first_interp(w, &s->proc);
	if (!interp) {
		count(PY_C_NO_INTERP);
		return 0;
	}
	head = read_ptr(w, interp + off->interp_tstate_head);
	/* New thread states are pushed at the head: an unchanged head means
	 * a thread already searched in vain still has no Python state. */
	if (cached && !cached->tstate && cached->head == head &&
	    bpf_ktime_get_ns() - cached->searched < PY_NO_TSTATE_RECHECK_NS) {
		count(PY_C_NO_TSTATE);
		return 0;
	}
	s->interp = read_ptr(w, interp + off->interp_next);
	s->tstate = head;
	s->interps = 1;
	if (compat) {
		int i;

		for (i = 0; i < (PY_MAX_THREADS + PY_MAX_INTERPS) / COMPAT_STEPS + 1; i++)
			if (compat_search(w->cpu))
				break;
	} else {
		bpf_loop(PY_MAX_THREADS + PY_MAX_INTERPS, find_thread_step, w, 0);
	}

store:
	if (!cached)
		cached = thread_cache(task, pid, tid, true, compat);
	if (cached) {
		cached->tstate = s->found;
		cached->head = head;
		cached->searched = bpf_ktime_get_ns();
	}
	if (!s->found)
		count(PY_C_NO_TSTATE);
	return s->found;
}

/*
 * WALK_UNROLL frames per bpf_loop() step: each step is a call and a return,
 * which cost more than a frame's own work where returns are mitigated
 * (SRSO safe-RET, retbleed).
 */
static long walk_step(__u32 i, void *ctx)
{
	int k;

#pragma unroll
	for (k = 0; k < WALK_UNROLL; k++)
		if (walk_one(ctx))
			return 1;
	return 0;
}

/*
 * Walks one thread of a known Python process into w->s->rec. Returns false
 * when the thread has no Python state (counted). compat: the program for
 * kernels before 5.17 (a constant, so each program holds one branch).
 */
static __always_inline bool walk_thread(struct walk_ctx *w, struct task_struct *task,
					__u32 pid, __u32 tid, __u64 pthread_id, bool active,
					const bool compat)
{
	struct sample_scratch *s = w->s;
	__u64 tstate;
	int i;

	walk_prepare(s, pthread_id);
	tstate = find_tstate(w, task, pid, tid, compat);
	if (!tstate)
		return false;
	walk_begin(w, tstate, pid, tid, active);
	s->rec.hdr.cpu = bpf_get_smp_processor_id();
	s->rec.hdr.ts = w->time ? bpf_ktime_get_ns() : 0;
	/* The collector would otherwise open /proc for every new thread. */
	s->rec.hdr.comm[0] = 0;
	if (w->task)
		bpf_probe_read_kernel_str(s->rec.hdr.comm, sizeof(s->rec.hdr.comm), task->comm);
	else if (w->comm)
		bpf_get_current_comm(s->rec.hdr.comm, sizeof(s->rec.hdr.comm));
	if (compat) {
		for (i = 0; i < PY_MAX_WALK / COMPAT_STEPS; i++)
			if (compat_walk(w->cpu))
				break;
	} else {
		bpf_loop(PY_MAX_WALK / WALK_UNROLL, walk_step, w, 0);
	}
	walk_end(w);
	return true;
}

/* wake: the collector must read the record at once (else it does when the
 * ring is a quarter full, or at its drain period). */
static __always_inline void emit_stack(struct sample_scratch *s, bool wake)
{
	__u32 n = s->rec.hdr.nframes;
	__u64 size, flags = wake ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;

	if (n > PY_MAX_FRAMES)
		n = PY_MAX_FRAMES;
	size = sizeof(struct py_stack_hdr) + (__u64)n * sizeof(struct py_frame_rec);
	if (wake_bytes && bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= wake_bytes)
		flags = BPF_RB_FORCE_WAKEUP;
	if (bpf_ringbuf_output(&events, &s->rec, size, flags))
		count(PY_C_RB_FULL);
	else
		count(PY_C_EMITTED);
}

/* For dump --locals and --async: the frame addresses of the stack. Never a
 * wakeup of its own: in a sample the stack record that follows decides
 * (a wakeup a sample made the collector's --async CPU ten times
 * dearer: 20.5 against 1.9 ms per 1000 samples), and the
 * iterator's reader consumes as it reads. */
static __always_inline void emit_frame_addrs(struct sample_scratch *s)
{
	__u32 n = s->rec.hdr.nframes;
	__u64 size;

	if (n > PY_MAX_FRAMES)
		n = PY_MAX_FRAMES;
	s->addrs.kind = PY_REC_FRAME_ADDRS;
	s->addrs.tid = s->rec.hdr.tid;
	s->addrs.nframes = n;
	s->addrs.pad = 0;
	size = sizeof(struct py_addrs_hdr) + (__u64)n * sizeof(__u64);
	if (bpf_ringbuf_output(&events, &s->addrs, size, BPF_RB_NO_WAKEUP))
		count(PY_C_RB_FULL);
}

static __always_inline int sample(struct bpf_perf_event_data *ctx, const bool compat)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 pid = pid_tgid >> 32, tid = (__u32)pid_tgid, cpu;
	struct walk_ctx w = {};
	const struct py_proc *proc;
	struct task_struct *task;
	bool wake = false;

	proc = bpf_map_lookup_elem(&procs, &pid);
	if (!proc)
		return 0;
	count(PY_C_SAMPLES);
	/* Not &w.cpu: w must not escape, so that w.task is a known NULL. */
	cpu = bpf_get_smp_processor_id();
	w.cpu = cpu;
	w.s = bpf_map_lookup_elem(&scratch, &cpu);
	if (!w.s)
		return 0;
	w.s->proc = *proc;
	w.gil = sample_gil;
	w.time = sample_time;
	w.comm = sample_comm;
	w.addrs = sample_addrs;
	/* Kernels before 5.17 have no native unwinding: userspace refuses
	 * --native there. */
	w.entry = native && !compat;
	if (compat)
		task = (struct task_struct *)bpf_get_current_task();
	else
		task = bpf_get_current_task_btf();
	if (!walk_thread(&w, task, pid, tid, BPF_CORE_READ(task, thread.fsbase), true, compat))
		return 0;
	/* compat first: the compat program must not hold the unwinder at all
	 * (its bpf_loop callbacks are function pointers, which kernels before
	 * 5.13 refuse to load even where no path reaches them). */
	if (!compat && w.entry)
		wake = native_unwind(&w, ctx, task, pid, tid);
	if (sample_addrs)
		emit_frame_addrs(w.s);
	emit_stack(w.s, wake);
	return 0;
}

SEC("perf_event")
int on_sample(struct bpf_perf_event_data *ctx)
{
	return sample(ctx, false);
}

/* The same for kernels before 5.17 (see compat_walk()); userspace loads
 * one of the two. */
SEC("perf_event")
int on_sample_compat(struct bpf_perf_event_data *ctx)
{
	return sample(ctx, true);
}

/* task_struct.__state was state (a long) before 5.14. */
struct task_struct___pre_5_14 {
	long state;
} __attribute__((preserve_access_index));


static __always_inline long task_state(struct task_struct *t)
{
	if (bpf_core_field_exists(t->__state))
		return BPF_CORE_READ_BITFIELD_PROBED(t, __state);
	return BPF_CORE_READ((struct task_struct___pre_5_14 *)t, state);
}

/*
 * Threads that are not on a CPU, which perf events never see: walked by a
 * sleepable task iterator that userspace runs for --idle ticks and for
 * dump. Nothing is stopped; their memory is read with
 * bpf_copy_from_user_task.
 */
SEC("iter.s/task")
int walk_tasks(struct bpf_iter__task *ctx)
{
	struct task_struct *task = ctx->task;
	struct walk_ctx w = {};
	const struct py_proc *proc;
	const struct iter_config *cfg;
	__u32 pid, tid, zero = 0;
	bool active, on_cpu;

	if (!task)
		return 0;
	pid = task->tgid;
	tid = task->pid;
	cfg = bpf_map_lookup_elem(&iter_cfg, &zero);
	proc = bpf_map_lookup_elem(&procs, &pid);
	if (!cfg || !proc || (cfg->pid && cfg->pid != pid))
		return 0;
	if (task->flags & PF_KTHREAD_BIT)
		return 0;
	/* A token per thread of a known process: a read of the iterator
	 * returns once its buffer is full, so the reader bounds each read's
	 * work and can drain, stop or give up in between. */
	bpf_seq_write(ctx->meta->seq, &tid, sizeof(tid));
	/* A thread on a CPU is the perf event's to sample; a runnable one waiting
	 * for a CPU is still active. */
	on_cpu = task_on_cpu(task);
	if (cfg->idle_only && on_cpu)
		return 0;
	active = on_cpu || task_state(task) == TASK_RUNNING_STATE;
	w.s = bpf_map_lookup_elem(&iscratch, &zero);
	if (!w.s)
		return 0;
	w.s->proc = *proc;
	w.task = task;
	w.pid = pid;
	w.gen = cfg->gen;
	w.gil = true;
	w.time = true;
	w.comm = true;
	w.addrs = true;
	w.entry = native || cfg->entries;
	w.switches = task_switches(task);
	if (!walk_thread(&w, task, pid, tid, task->thread.fsbase, active, false))
		return 0;
	/* A thread on another CPU: its registers are not where it entered
	 * the kernel last, its stack moves under the reads. */
	/* The collector reads the iterator's records as they come. */
	if (native)
		native_unwind(&w, NULL, on_cpu ? NULL : task, pid, tid);
	emit_stack(w.s, false);
	if (cfg->frame_addrs)
		emit_frame_addrs(w.s);
	return 0;
}

/*
 * Kernels without bpf_copy_from_user_task (before 5.18): the iterator tells
 * the collector each thread's kernel facts (struct py_task_fact), and the
 * collector walks the stack itself (user/uwalk.c, the same walker).
 */
SEC("iter/task")
int list_tasks(struct bpf_iter__task *ctx)
{
	struct task_struct *task = ctx->task;
	const struct iter_config *cfg;
	struct py_task_fact f = {};
	__u32 zero = 0;

	if (!task)
		return 0;
	f.pid = task->tgid;
	f.tid = task->pid;
	cfg = bpf_map_lookup_elem(&iter_cfg, &zero);
	if (!cfg || (cfg->pid && cfg->pid != f.pid) || !bpf_map_lookup_elem(&procs, &f.pid))
		return 0;
	if (task->flags & PF_KTHREAD_BIT)
		return 0;
	f.on_cpu = task_on_cpu(task);
	if (cfg->idle_only && f.on_cpu)
		return 0;
	f.running = f.on_cpu || task_state(task) == TASK_RUNNING_STATE;
	f.pthread_id = BPF_CORE_READ(task, thread.fsbase);
	bpf_probe_read_kernel_str(f.comm, sizeof(f.comm), task->comm);
	bpf_seq_write(ctx->meta->seq, &f, sizeof(f));
	return 0;
}

static __always_inline void proc_event(__u32 kind, __u32 pid, __u32 ppid)
{
	struct py_proc_event ev = {
		.kind = kind,
		.pid = pid,
		.ppid = ppid,
		.ts = bpf_ktime_get_ns(),
	};

	if (bpf_ringbuf_output(&proc_events, &ev, sizeof(ev), BPF_RB_NO_WAKEUP))
		count(PY_C_EVENTS_LOST);
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(on_exec, struct task_struct *task)
{
	__u32 pid = task->tgid;

	/* The old image is gone: whatever was known about it is stale. */
	bpf_map_delete_elem(&procs, &pid);
	proc_event(PY_REC_EXEC, pid, 0);
	return 0;
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(on_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 ppid = parent->tgid, pid = child->tgid;
	struct py_proc *p;

	if (child->pid != child->tgid)	/* a new thread, not a process */
		return 0;
	p = bpf_map_lookup_elem(&procs, &ppid);
	/* A forked interpreter has the parent's layout at the same addresses. */
	if (p && follow_forks)
		bpf_map_update_elem(&procs, &pid, p, BPF_NOEXIST);
	if (p || report_all_forks)
		proc_event(PY_REC_FORK, pid, ppid);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(on_exit, struct task_struct *task)
{
	__u32 pid = task->tgid;

	if (BPF_CORE_READ(task, signal, live.counter) != 0)
		return 0;	/* other threads of the process live on */
	if (!bpf_map_lookup_elem(&procs, &pid) && !report_all_forks)
		return 0;
	bpf_map_delete_elem(&procs, &pid);
	proc_event(PY_REC_EXIT, pid, 0);
	return 0;
}
