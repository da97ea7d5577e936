/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * --native: the C frames of the sampled thread, unwound from its registers
 * at the tick by the tables the collector made from each mapped file's CFI
 * (struct py_native_row). Per frame: the mapping of the address (a binary
 * search of the process's executable mappings), the rows of its 64 KiB page
 * (one hash lookup), the row in effect (a binary search of a few rows),
 * then one read of the stack for the return address and the saved frame
 * pointer. Nothing is copied out but the addresses found.
 *
 * Included by sampler.bpf.c after struct walk_ctx, rd() and count().
 */
#ifndef NATIVE_BPF_H
#define NATIVE_BPF_H

/* x86-64 user mode: the low two bits of cs. */
#define USER_RPL 3
/* Binary search steps: 2^10 > PY_NATIVE_MAPS, 2^17 > the rows of one page. */
#define MAP_SEARCH_STEPS 10
#define ROW_SEARCH_STEPS 17

const volatile bool native = false;

/* Sized by userspace: a token size without --native. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, PY_MAX_PROCS);
	__type(key, __u32);
	__type(value, struct py_native_proc);
} native_procs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 1 << 18);
	__type(key, struct py_native_page_key);
	__type(value, struct py_native_page);
} native_pages SEC(".maps");

/* Written in place by userspace (mapped). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct py_native_row);
} native_rows SEC(".maps");

/*
 * The binary searches are bpf_loop() callbacks: the verifier checks one
 * step once, where an inline loop inside the unwind's own callback makes it
 * follow every path through every step.
 */
struct map_search {
	const struct py_native_proc *np;
	__u64 addr;
	__u32 lo, hi;
};

/* Narrows [lo, hi) to the last mapping starting at or below addr. */
static long map_search_step(__u32 i, void *ctx)
{
	struct map_search *ms = ctx;
	__u32 mid;

	if (ms->lo + 1 >= ms->hi)
		return 1;
	mid = ms->lo + (ms->hi - ms->lo) / 2;
	if (ms->np->maps[mid & (PY_NATIVE_MAPS - 1)].start <= ms->addr)
		ms->lo = mid;
	else
		ms->hi = mid;
	return 0;
}

/* The index of the mapping holding addr, or -1. */
static __always_inline int native_find_map(const struct py_native_proc *np, __u64 addr)
{
	struct map_search ms = { .np = np, .addr = addr, .hi = np->nmaps };
	__u32 lo;

	if (ms.hi > PY_NATIVE_MAPS)
		ms.hi = PY_NATIVE_MAPS;
	if (!ms.hi)
		return -1;
	bpf_loop(MAP_SEARCH_STEPS, map_search_step, &ms, 0);
	lo = ms.lo & (PY_NATIVE_MAPS - 1);
	if (addr < np->maps[lo].start || addr >= np->maps[lo].end)
		return -1;
	return lo;
}

struct row_search {
	__u32 pc;
	__u32 lo, hi;
	bool fail;
};

/* Narrows [lo, hi) to the last row at or below pc. */
static long row_search_step(__u32 i, void *ctx)
{
	struct row_search *rs = ctx;
	const struct py_native_row *r;
	__u32 mid;

	if (rs->lo + 1 >= rs->hi)
		return 1;
	mid = rs->lo + (rs->hi - rs->lo) / 2;
	r = bpf_map_lookup_elem(&native_rows, &mid);
	if (!r) {
		rs->fail = true;
		return 1;
	}
	if (r->pc <= rs->pc)
		rs->lo = mid;
	else
		rs->hi = mid;
	return 0;
}

/* The row in effect at pc (a link-time address of file), or NULL. */
static __always_inline const struct py_native_row *native_find_row(__u32 file, __u64 pc)
{
	struct py_native_page_key key = { .file = file, .page = pc >> PY_NATIVE_PAGE_SHIFT };
	struct row_search rs = { .pc = (__u32)pc };
	const struct py_native_page *pg;
	const struct py_native_row *r;
	__u32 idx;

	if (pc >> 32)
		return NULL;
	pg = bpf_map_lookup_elem(&native_pages, &key);
	if (!pg || !pg->count)
		return NULL;
	rs.lo = pg->first;
	rs.hi = pg->first + pg->count;
	bpf_loop(ROW_SEARCH_STEPS, row_search_step, &rs, 0);
	if (rs.fail)
		return NULL;
	idx = rs.lo;
	r = bpf_map_lookup_elem(&native_rows, &idx);
	if (!r || r->pc > (__u32)pc)
		return NULL;
	return r;
}

/* Where the unwind is: the registers of the frame being unwound. */
struct native_walk {
	struct walk_ctx *w;
	struct py_native_proc *np;	/* woken is written */
	__u64 ip, sp, bp;
	__u32 n;
	__u16 end;
	/* The last frame's mapping and row: callers are often in the same
	 * file, and a recursion returns to the same address again and again. */
	int last_map;
	__u32 last_file;
	__u64 last_pc;
	const struct py_native_row *last_row;
};

/* The caller's registers from the row in effect; false to stop (nw->end). */
static __always_inline bool native_apply(struct native_walk *nw, const struct py_native_row *r)
{
	__u64 cfa, slots[2] = {}, fp_at;
	__u32 cfa_kind = r->kinds & 15, fp_kind = r->kinds >> 4;

	switch (cfa_kind) {
	case PY_CFA_SP:
		cfa = nw->sp + r->cfa_off;
		break;
	case PY_CFA_FP:
		cfa = nw->bp + r->cfa_off;
		break;
	case PY_CFA_PLT:
		/* cfa_off: where in the 16-byte entry its push has run
		 * (11 for ld's plain PLT, 9 for its IBT one). */
		cfa = nw->sp + 8 + ((nw->ip & 15) >= r->cfa_off ? 8 : 0);
		break;
	case PY_CFA_ROOT:
		nw->end = PY_NE_ROOT;
		return false;
	case PY_CFA_NONE:
		nw->end = PY_NE_NO_CFI;
		return false;
	default:
		nw->end = PY_NE_UNSUPPORTED;
		return false;
	}
	/* The return address at cfa - 8 and, as compilers save it, the frame
	 * pointer at cfa - 16: one read for both. */
	fp_at = cfa + (__s64)r->fp_off8 * 8;
	if (fp_kind == PY_FP_AT_CFA && fp_at == cfa - 16) {
		if (rd(nw->w, slots, sizeof(slots), cfa - 16))
			goto unreadable;
		nw->bp = slots[0];
	} else {
		if (rd(nw->w, &slots[1], sizeof(slots[1]), cfa - 8))
			goto unreadable;
		if (fp_kind == PY_FP_AT_CFA && rd(nw->w, &nw->bp, sizeof(nw->bp), fp_at))
			goto unreadable;
		if (fp_kind == PY_FP_UNDEFINED)
			nw->bp = 0;
	}
	/* The stack grows down: a caller's frame is above its callee's. */
	if (cfa <= nw->sp || !slots[1]) {
		nw->end = slots[1] ? PY_NE_BAD_FRAME : PY_NE_ROOT;
		return false;
	}
	nw->sp = cfa;
	nw->ip = slots[1];
	return true;
unreadable:
	nw->end = PY_NE_READ;
	return false;
}

/* One frame: records nw->ip, then moves to the caller. Returns 1 to stop. */
static long native_step(__u32 i, void *ctx)
{
	struct native_walk *nw = ctx;
	struct sample_scratch *s = nw->w->s;
	const struct py_native_map *m;
	const struct py_native_row *r;
	struct py_native_frame *f;
	__u64 at;
	int mi;

	if (nw->n >= PY_MAX_NATIVE) {
		nw->end = PY_NE_TRUNCATED;
		return 1;
	}
	f = &s->nframes[nw->n & (PY_MAX_NATIVE - 1)];
	nw->n++;
	f->addr = nw->ip;
	f->file = 0;
	f->pad = 0;
	/* A return address is the instruction after the call: its rules are
	 * those of the call, which may be the function's last instruction. */
	at = nw->n == 1 ? nw->ip : nw->ip - 1;
	mi = nw->last_map;
	m = &nw->np->maps[mi & (PY_NATIVE_MAPS - 1)];
	if (mi < 0 || at < m->start || at >= m->end) {
		mi = native_find_map(nw->np, at);
		if (mi < 0) {
			nw->end = PY_NE_NO_MAPPING;
			return 1;
		}
		nw->last_map = mi;
		m = &nw->np->maps[mi & (PY_NATIVE_MAPS - 1)];
	}
	f->addr = nw->ip - m->bias;
	f->file = m->file;
	if (nw->last_row && nw->last_file == m->file && nw->last_pc == at - m->bias) {
		r = nw->last_row;
	} else {
		r = native_find_row(m->file, at - m->bias);
		if (!r) {
			nw->end = PY_NE_NO_CFI;
			return 1;
		}
		nw->last_row = r;
		nw->last_file = m->file;
		nw->last_pc = at - m->bias;
	}
	return native_apply(nw, r) ? 0 : 1;
}

/*
 * The user registers of the sampled thread: the tick's own when it landed
 * in user mode, else those the thread entered the kernel with.
 */
static __always_inline bool native_regs(struct bpf_perf_event_data *ctx, struct task_struct *task,
					struct native_walk *nw)
{
	struct pt_regs *regs;
	__u64 cs;

	/* cs shares a word with the FRED bits on new kernels: the context
	 * is read whole words at a time. */
	cs = ctx ? *(const __u64 *)((const char *)&ctx->regs +
				      __builtin_offsetof(struct pt_regs, cs)) : 0;
	if (ctx && (cs & 3) == USER_RPL) {
		nw->ip = ctx->regs.ip;
		nw->sp = ctx->regs.sp;
		nw->bp = ctx->regs.bp;
		return true;
	}
	if (!task)
		return false;
	regs = (struct pt_regs *)bpf_task_pt_regs(task);
	if (!regs)
		return false;
	nw->ip = BPF_CORE_READ(regs, ip);
	nw->sp = BPF_CORE_READ(regs, sp);
	nw->bp = BPF_CORE_READ(regs, bp);
	return nw->ip && nw->sp;
}

/*
 * Unwinds the thread into s->nframes and emits them (py_native_hdr first),
 * ahead of the thread's stack record. ctx is NULL for the task iterator;
 * task NULL there: no registers to start from (PY_NE_NO_REGS). True when
 * the stack record should wake the collector.
 */
static __always_inline bool native_unwind(struct walk_ctx *w, struct bpf_perf_event_data *ctx,
					  struct task_struct *task, __u32 pid, __u32 tid)
{
	struct sample_scratch *s = w->s;
	struct native_walk nw = { .w = w, .end = PY_NE_ROOT, .last_map = -1 };
	__u64 size;
	__u32 n;

	nw.np = bpf_map_lookup_elem(&native_procs, &pid);
	if (!nw.np || nw.np->stale)
		nw.end = PY_NE_NO_MAPPING;
	else if (!native_regs(ctx, task, &nw))
		nw.end = PY_NE_NO_REGS;
	else
		bpf_loop(PY_MAX_NATIVE + 1, native_step, &nw, 0);
	/* The iterator reads a thread off the CPUs: if it was scheduled in
	 * while it was read (on a CPU now, or switched since), its stack moved
	 * under the reads, and its C frames cannot be paired with the Python
	 * ones read before: none are kept. */
	if (w->task && task && (task_on_cpu(task) || task_switches(task) != w->switches)) {
		nw.n = 0;
		nw.end = PY_NE_NO_REGS;
	}
	n = nw.n;
	if (n > PY_MAX_NATIVE)
		n = PY_MAX_NATIVE;
	s->nhdr.kind = PY_REC_NATIVE;
	s->nhdr.tid = tid;
	s->nhdr.nframes = n;
	s->nhdr.end = nw.end;
	s->nhdr.pad = 0;
	size = sizeof(struct py_native_hdr) + (__u64)n * sizeof(struct py_native_frame);
	if (bpf_ringbuf_output(&events, &s->nhdr, size, BPF_RB_NO_WAKEUP))
		count(PY_C_RB_FULL);
	/* The first sample that finds no mapping since they were read wakes
	 * the collector (with its stack record): a library just loaded (or
	 * replaced) is read at once, not at the next drain. */
	if (nw.end == PY_NE_NO_MAPPING && nw.np && !nw.np->woken) {
		nw.np->woken = 1;
		return true;
	}
	return false;
}

/*
 * A process of native_procs unmaps or remaps memory: if any of its
 * executable mappings is touched, its entry is stale until the collector
 * reads the mappings again (a dlclose, then a dlopen at the same address,
 * must not be named after the library that left). Seen from fentry on the
 * three system calls where the kernel allows it (only they pay), else from
 * the raw sys_enter tracepoint (syscall tracepoints need tracefs), which
 * runs for every system call of the host while --native records and
 * returns at once for all but three. Userspace loads one of the two.
 */
/* x86-64 system call numbers. */
#define NR_MMAP 9
#define NR_MUNMAP 11
#define NR_MREMAP 25
#define MAP_FIXED_BITS 0x100010	/* MAP_FIXED | MAP_FIXED_NOREPLACE */

static __always_inline void mappings_change(__u64 addr, __u64 len)
{
	struct py_native_proc *np;
	struct map_search ms;
	__u32 pid, i;

	pid = bpf_get_current_pid_tgid() >> 32;
	np = bpf_map_lookup_elem(&native_procs, &pid);
	if (!np || np->stale || !len || addr + len < addr)
		return;
	/* The last mapping starting below the range's end overlaps it when
	 * it ends above the range's start. */
	ms.np = np;
	ms.addr = addr + len - 1;
	ms.lo = 0;
	ms.hi = np->nmaps > PY_NATIVE_MAPS ? PY_NATIVE_MAPS : np->nmaps;
	if (!ms.hi || np->maps[0].start > ms.addr)
		return;
	bpf_loop(MAP_SEARCH_STEPS, map_search_step, &ms, 0);
	i = ms.lo & (PY_NATIVE_MAPS - 1);
	if (np->maps[i].end > addr)
		np->stale = 1;
}

SEC("tp_btf/sys_enter")
int BPF_PROG(on_sys_enter, struct pt_regs *regs, long id)
{
	/* Every system call of the host comes here: the others leave at once. */
	if (id != NR_MUNMAP && id != NR_MREMAP && id != NR_MMAP)
		return 0;
	if (id == NR_MMAP && !(BPF_CORE_READ(regs, r10) & MAP_FIXED_BITS))
		return 0;	/* a new place: nothing known is replaced */
	mappings_change(BPF_CORE_READ(regs, di), BPF_CORE_READ(regs, si));
	return 0;
}

/* The system calls' own entry points (x86-64's wrappers take the user's
 * registers): munmap(addr, len), mremap(old, old_len, ...), and mmap(addr,
 * len, prot, flags) with MAP_FIXED (its flags in r10, the fourth). */
SEC("fentry/__x64_sys_munmap")
int BPF_PROG(on_munmap, const struct pt_regs *regs)
{
	mappings_change(BPF_CORE_READ(regs, di), BPF_CORE_READ(regs, si));
	return 0;
}

SEC("fentry/__x64_sys_mremap")
int BPF_PROG(on_mremap, const struct pt_regs *regs)
{
	mappings_change(BPF_CORE_READ(regs, di), BPF_CORE_READ(regs, si));
	return 0;
}

SEC("fentry/__x64_sys_mmap")
int BPF_PROG(on_mmap, const struct pt_regs *regs)
{
	if (BPF_CORE_READ(regs, r10) & MAP_FIXED_BITS)
		mappings_change(BPF_CORE_READ(regs, di), BPF_CORE_READ(regs, si));
	return 0;
}

#endif
