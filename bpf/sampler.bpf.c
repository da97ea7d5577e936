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
	bool gil;		/* read whether the thread holds the GIL */
	bool time;		/* stamp the record */
	bool comm;		/* name the thread */
};

static __always_inline long rd(struct walk_ctx *w, void *dst, __u32 size, __u64 src)
{
	if (w->task)
		return bpf_copy_from_user_task(dst, size, (const void *)src, w->task, 0);
	return bpf_probe_read_user(dst, size, (const void *)src);
}

/* Loads from the read windows; offsets come from the table, so clamp them. */
static __always_inline __u64 ld64(const __u8 *buf, __u32 off, __u32 size)
{
	if (off > size - 8)
		return 0;
	return *(const __u64 *)(buf + off);
}

static __always_inline __u32 ld32(const __u8 *buf, __u32 off, __u32 size)
{
	if (off > size - 4)
		return 0;
	return *(const __u32 *)(buf + off);
}

static __always_inline __u32 max16(__u32 a, __u32 b)
{
	return a > b ? a : b;
}

static __always_inline __u64 read_ptr(struct walk_ctx *w, __u64 addr)
{
	__u64 v = 0;

	if (!addr || rd(w, &v, sizeof(v), addr))
		return 0;
	return v;
}

/* A step along the thread lists of every interpreter, shared by the search
 * and the iterator's index: moves to the next interpreter when the current
 * list ends, or reads s->tstate into s->tbuf. */
enum { STEP_END, STEP_MOVED, STEP_READ };

static __always_inline int list_step(struct walk_ctx *w)
{
	struct sample_scratch *s = w->s;
	const struct py_offsets *off = &s->proc.off;
	__u32 n;

	if (!s->tstate) {
		if (!s->interp || s->interps++ >= PY_MAX_INTERPS)
			return STEP_END;
		s->tstate = read_ptr(w, s->interp + off->interp_tstate_head);
		s->interp = read_ptr(w, s->interp + off->interp_next);
		return STEP_MOVED;
	}
	n = s->tstate_read;
	if (n > PY_TSTATE_READ)
		n = PY_TSTATE_READ;
	if (rd(w, s->tbuf, n, s->tstate)) {
		s->tstate = 0;
		return STEP_MOVED;
	}
	return STEP_READ;
}

/* One step of the thread-list search: visit s->tstate or move to the next
 * interpreter when the current list ends. */
static long find_thread_step(__u32 i, void *ctx)
{
	struct walk_ctx *w = ctx;
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

static __always_inline __u64 first_interp(struct walk_ctx *w, const struct py_proc *p)
{
	if (p->off.flags & PY_F_INTERP_HEAD_SYM)
		return read_ptr(w, p->runtime);
	return read_ptr(w, p->runtime + p->off.runtime_interp_head);
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
 * The sampled thread's PyThreadState, matched on thread_id == pthread_self()
 * (the thread pointer), cached per tid and re-checked on every use. A thread
 * without a cached state tries the GIL's last holder before the search, and
 * is cached from its second sample on when found that way.
 * Leaves the thread state's first bytes in s->tbuf. Returns 0 when the
 * thread has none.
 */
static __always_inline __u64 find_tstate(struct walk_ctx *w, struct task_struct *task)
{
	struct sample_scratch *s = w->s;
	const struct py_offsets *off = &s->proc.off;
	struct py_thread *cached;
	__u64 interp, head, cand;
	__u32 n = s->tstate_read;

	if (n > PY_TSTATE_READ)
		n = PY_TSTATE_READ;
	cached = bpf_task_storage_get(&threads, task, NULL, 0);
	if (cached && cached->tstate) {
		if (!rd(w, s->tbuf, n, cached->tstate) &&
		    ld64(s->tbuf, off->tstate_thread_id, PY_TSTATE_READ) == s->pthread_id)
			return cached->tstate;
	}

	s->found = 0;
	head = 0;
	if (w->gen) {
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
			if (!cached && !seen_before(s, task->pid))
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
	if (cached && !cached->tstate && cached->head == head) {
		count(PY_C_NO_TSTATE);
		return 0;
	}
	s->interp = read_ptr(w, interp + off->interp_next);
	s->tstate = head;
	s->interps = 1;
	bpf_loop(PY_MAX_THREADS + PY_MAX_INTERPS, find_thread_step, w, 0);

store:
	if (!cached)
		cached = bpf_task_storage_get(&threads, task, NULL,
					      BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (cached) {
		cached->tstate = s->found;
		cached->head = head;
	}
	if (!s->found)
		count(PY_C_NO_TSTATE);
	return s->found;
}

static __always_inline bool holds_gil(struct walk_ctx *w, __u64 tstate)
{
	struct sample_scratch *s = w->s;
	const struct py_offsets *off = &s->proc.off;
	__u64 interp, gp;

	if (off->flags & PY_F_GIL_INTERP) {
		interp = ld64(s->tbuf, off->tstate_interp, PY_TSTATE_READ);
		gp = read_ptr(w, interp + off->interp_gil);
		if (!gp || rd(w, s->gbuf, sizeof(s->gbuf), gp))
			return false;
		return ld32(s->gbuf, off->gil_locked, sizeof(s->gbuf)) &&
		       ld64(s->gbuf, off->gil_last_holder, sizeof(s->gbuf)) == tstate;
	}
	return s->proc.gil_holder && read_ptr(w, s->proc.gil_holder) == tstate;
}

/*
 * Frames cluster, and a read costs far more than its bytes: one read brings
 * a frame's callers too. 3.11+ frames sit next to each other in the
 * thread's data stack, callers below callees; older PyFrameObjects of one
 * size share allocator pools. The window ends at the frame's end and starts
 * as low as is known to be mapped whenever the frame is: the start of its
 * data stack chunk when the frame is in the thread's newest one (a single
 * allocation of at least PY_DATASTACK_MIN bytes), else the frame's own
 * page; at most WIN_MAX bytes. Returns where the frame's bytes are in the
 * window, or NULL when the caller must read the frame on its own.
 */
static __always_inline const __u8 *frame_window(struct walk_ctx *w, __u64 frame, __u32 rdsz)
{
	struct sample_scratch *s = w->s;
	__u64 end = frame + rdsz, lo, start, len;
	__u32 off;

	if (frame & 7)
		return NULL;
	if (!(frame >= s->win_base && end <= s->win_base + s->win_len)) {
		lo = frame & ~(__u64)(WIN_PAGE - 1);
		if (s->chunk && frame >= s->chunk && end <= s->chunk + PY_DATASTACK_MIN)
			lo = s->chunk;
		start = end > WIN_MAX ? end - WIN_MAX : 0;
		if (start < lo)
			start = lo;
		len = end - start;
		/* Keep the bound check and the helper on the same register. */
		asm volatile("" : "+r"(len));
		if (len > WIN_MAX)
			return NULL;
		if (rd(w, s->win, len, start)) {
			s->win_len = 0;
			return NULL;
		}
		s->win_base = start;
		s->win_len = len;
	}
	off = frame - s->win_base;
	if (off > WIN_BUF - PY_FRAME_READ)
		return NULL;
	return s->win + off;
}

/* One frame of the walk. Returns 1 to stop. */
static __always_inline long walk_one(struct walk_ctx *w)
{
	struct sample_scratch *s = w->s;
	const struct py_offsets *off;
	struct py_frame_rec *fr;
	struct code_cache_entry *cc;
	const __u8 *fb;
	__u64 frame, code, ip, base, name, ident;
	__u32 n, rdsz, idx, slot, check, vo;
	__s32 lasti;

	if (!s->frame)
		return 1;
	off = &s->proc.off;
	frame = s->frame;
	n = s->rec.hdr.nframes;
	if (n >= PY_MAX_FRAMES) {
		s->rec.hdr.status |= PY_S_TRUNCATED;
		return 1;
	}
	rdsz = off->frame_read;
	if (rdsz > PY_FRAME_READ)
		rdsz = PY_FRAME_READ;
	fb = frame_window(w, frame, rdsz);
	if (!fb) {
		if (rd(w, s->fbuf, rdsz, frame)) {
			s->rec.hdr.status |= PY_S_READ_ERR;
			count(PY_C_READ_FRAME);
			return 1;
		}
		fb = s->fbuf;
	}
	s->frame = ld64(fb, off->frame_back, PY_FRAME_READ);
	if (s->frame == frame)	/* a self-loop in hostile memory */
		s->frame = 0;
	/* 3.12+: shim / base frames owned by the C stack or the interpreter
	 * (owner values from owner_cstack up) are not Python code. */
	if ((off->flags & PY_F_OWNER) &&
	    fb[off->frame_owner & (PY_FRAME_READ - 1)] >= off->owner_cstack) {
		count(PY_C_SKIPPED_FRAMES);
		return 0;
	}
	code = ld64(fb, off->frame_code, PY_FRAME_READ) & ~off->code_tag_mask;

	idx = n & (PY_MAX_FRAMES - 1);
	fr = &s->rec.frames[idx];
	if (w->task)	/* only dump --locals asks for them */
		s->faddr[idx] = frame;
	/*
	 * A code object seen earlier in this same sample is still the same
	 * object: the frames on the stack hold references to it. Recursion
	 * costs one read of it, not one per level.
	 */
	slot = (code >> 4) & (CODE_CACHE - 1);
	cc = &s->ccache[slot];
	if (cc->code == code && cc->gen == s->gen && code) {
		check = cc->check;
		goto have_check;
	}
	rdsz = off->code_read;
	if (rdsz > PY_CODE_READ)
		rdsz = PY_CODE_READ;
	if (!code || rd(w, s->cbuf, rdsz, code)) {
		/* Kept as an unreadable frame: the stack is not silently shorter. */
		count(PY_C_READ_CODE);
		fr->code = 0;
		fr->lasti = 0;
		fr->check = 0;
		s->rec.hdr.nframes = n + 1;
		return 0;
	}
	if (s->proc.code_type && ld64(s->cbuf, 8, CODE_BUF) != s->proc.code_type) {
		/* 3.13+: f_executable of a non-Python frame is not a code object. */
		count(PY_C_SKIPPED_FRAMES);
		return 0;
	}
	/* See py_code_check(): co_version, else the name's cached hash (a read
	 * outside the code object, paid once per code object per sample). */
	name = ld64(s->cbuf, off->code_name, CODE_BUF);
	ident = 0;
	vo = off->code_version;
	if (vo) {
		/* Keep the compiler from folding this test into ld32()'s bound
		 * check, as one range check the verifier cannot follow. */
		asm volatile("" : "+r"(vo));
		ident = ld32(s->cbuf, vo, CODE_BUF);
	}
	if (!ident && name && off->str_hash &&
	    rd(w, &ident, sizeof(ident), name + off->str_hash))
		ident = 0;
	check = py_code_check(name, ident,
			      ld64(s->cbuf, off->code_filename, CODE_BUF),
			      ld32(s->cbuf, off->code_firstlineno, CODE_BUF),
			      ld32(s->cbuf, off->code_argcount, CODE_BUF));
	cc->code = code;
	cc->check = check;
	cc->gen = s->gen;
have_check:
	if (off->flags & PY_F_INSTR_PTR) {
		ip = ld64(fb, off->frame_instr, PY_FRAME_READ);
		base = code + off->code_adaptive;
		lasti = ip > base && ip - base < (1U << 30) ? ip - base : 0;
	} else {
		lasti = (__s32)ld32(fb, off->frame_instr, PY_FRAME_READ);
		if (lasti < 0 || lasti >= (1 << 29))
			lasti = 0;
		if (off->flags & PY_F_LASTI_UNITS)
			lasti *= 2;
	}
	fr->code = code;
	fr->lasti = lasti;
	fr->check = check;
	s->rec.hdr.nframes = n + 1;
	return 0;
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
 * when the thread has no Python state (counted).
 */
static __always_inline bool walk_thread(struct walk_ctx *w, struct task_struct *task,
					__u32 pid, __u32 tid,
					__u64 pthread_id, bool active)
{
	struct sample_scratch *s = w->s;
	const struct py_offsets *off = &s->proc.off;
	__u64 tstate, frame;
	__u32 n;

	s->pthread_id = pthread_id;
	n = max16(max16(max16(off->tstate_next, off->tstate_thread_id),
			max16(off->tstate_frame, off->tstate_interp)),
		  off->tstate_datastack) + 8;
	s->tstate_read = n > PY_TSTATE_READ ? PY_TSTATE_READ : n;

	tstate = find_tstate(w, task);
	if (!tstate)
		return false;

	s->rec.hdr.kind = PY_REC_STACK;
	s->rec.hdr.pid = pid;
	s->rec.hdr.tid = tid;
	s->rec.hdr.cpu = bpf_get_smp_processor_id();
	s->rec.hdr.status = active ? PY_S_ACTIVE : 0;
	s->rec.hdr.ts = w->time ? bpf_ktime_get_ns() : 0;
	s->rec.hdr.tstate = tstate;
	s->rec.hdr.pthread_id = pthread_id;
	s->rec.hdr.nframes = 0;
	/* The collector would otherwise open /proc for every new thread. */
	s->rec.hdr.comm[0] = 0;
	if (w->task)
		bpf_probe_read_kernel_str(s->rec.hdr.comm, sizeof(s->rec.hdr.comm), task->comm);
	else if (w->comm)
		bpf_get_current_comm(s->rec.hdr.comm, sizeof(s->rec.hdr.comm));
	if (w->gil && holds_gil(w, tstate))
		s->rec.hdr.status |= PY_S_GIL;

	frame = ld64(s->tbuf, off->tstate_frame, PY_TSTATE_READ);
	s->chunk = off->tstate_datastack ?
		   ld64(s->tbuf, off->tstate_datastack, PY_TSTATE_READ) : 0;
	if (off->flags & PY_F_CFRAME)
		frame = read_ptr(w, frame + off->cframe_current_frame);
	s->frame = frame;
	s->gen++;
	s->win_len = 0;
	bpf_loop(PY_MAX_WALK / WALK_UNROLL, walk_step, w, 0);
	if (s->frame && !(s->rec.hdr.status & PY_S_READ_ERR))
		s->rec.hdr.status |= PY_S_TRUNCATED;
	if (s->rec.hdr.status & PY_S_TRUNCATED)
		count(PY_C_TRUNCATED);
	return true;
}

static __always_inline void emit_stack(struct sample_scratch *s)
{
	__u32 n = s->rec.hdr.nframes;
	__u64 size, flags = BPF_RB_NO_WAKEUP;

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

/* For dump --locals: the frame addresses of the stack just emitted. */
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
	if (bpf_ringbuf_output(&events, &s->addrs, size, 0))
		count(PY_C_RB_FULL);
}

SEC("perf_event")
int on_sample(struct bpf_perf_event_data *ctx)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 pid = pid_tgid >> 32, tid = (__u32)pid_tgid, cpu;
	struct walk_ctx w = {};
	const struct py_proc *proc;
	struct task_struct *task;

	proc = bpf_map_lookup_elem(&procs, &pid);
	if (!proc)
		return 0;
	count(PY_C_SAMPLES);
	cpu = bpf_get_smp_processor_id();
	w.s = bpf_map_lookup_elem(&scratch, &cpu);
	if (!w.s)
		return 0;
	w.s->proc = *proc;
	w.gil = sample_gil;
	w.time = sample_time;
	w.comm = sample_comm;
	task = bpf_get_current_task_btf();
	if (walk_thread(&w, task, pid, tid, BPF_CORE_READ(task, thread.fsbase), true))
		emit_stack(w.s);
	return 0;
}

/* task_struct.__state was state (a long) before 5.14. */
struct task_struct___pre_5_14 {
	long state;
} __attribute__((preserve_access_index));

/* Kernel fields whose type changed across versions are read at the size
 * the running kernel's BTF gives: on_cpu is an int up to 7.1, a u8 since. */
static __always_inline bool task_on_cpu(struct task_struct *t)
{
	return BPF_CORE_READ_BITFIELD_PROBED(t, on_cpu) != 0;
}

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
	if (!walk_thread(&w, task, pid, tid, task->thread.fsbase, active))
		return 0;
	emit_stack(w.s);
	if (cfg->frame_addrs)
		emit_frame_addrs(w.s);
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
