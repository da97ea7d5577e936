/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The frame walker, one source for both sides: the BPF programs include it,
 * and so does the collector's own walker (user/uwalk.c), which kernels
 * without sleepable task iterators use for dump and --idle.
 *
 * The includer defines struct walk_ctx (with at least: struct
 * sample_scratch *s; bool addrs, whether frame addresses are kept; bool
 * entry, whether activations' first frames are marked), and:
 *   long rd(struct walk_ctx *w, void *dst, __u32 size, __u64 src);
 *   void count(__u32 which);
 */
#ifndef PYSPY_WALKER_H
#define PYSPY_WALKER_H

/* Loads from the read windows; offsets come from the table, so clamp them.
 * The table may come from the target (_Py_DebugOffsets): in userspace an
 * odd offset must not be an unaligned load. */
#ifdef __bpf__
#define LOAD(type, p) (*(const type *)(p))
#else
#define LOAD(type, p) ({ type v_; __builtin_memcpy(&v_, (p), sizeof(v_)); v_; })
#endif

static __always_inline __u64 ld64(const __u8 *buf, __u32 off, __u32 size)
{
	if (off > size - 8)
		return 0;
	return LOAD(__u64, buf + off);
}

static __always_inline __u32 ld32(const __u8 *buf, __u32 off, __u32 size)
{
	if (off > size - 4)
		return 0;
	return LOAD(__u32, buf + off);
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


static __always_inline __u64 first_interp(struct walk_ctx *w, const struct py_proc *p)
{
	if (p->off.flags & PY_F_INTERP_HEAD_SYM)
		return read_ptr(w, p->runtime);
	return read_ptr(w, p->runtime + p->off.runtime_interp_head);
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
		/* A real chunk is an allocation, aligned; a misaligned one
		 * would misalign the window and every load from it. */
		if (s->chunk && !(s->chunk & 7) && frame >= s->chunk &&
		    end <= s->chunk + PY_DATASTACK_MIN)
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

/*
 * Whether the walk has visited frame before: the set by address, then
 * Brent's cycle finding for a cycle longer than the set remembers (the
 * tortoise jumps to the walk's frame at every power of two; a cycle brings
 * the walk back to it within two of its turns).
 */
static __always_inline bool frame_repeats(struct sample_scratch *s, __u64 frame)
{
	struct frame_seen *fs = &s->fseen[((frame >> 4) ^ (frame >> 11)) & (FRAMES_SEEN - 1)];

	if (fs->gen == s->gen && fs->frame == frame)
		return true;
	fs->frame = frame;
	fs->gen = s->gen;
	if (frame == s->cyc_frame)
		return true;
	if (++s->cyc_steps >= s->cyc_power) {
		s->cyc_frame = frame;
		s->cyc_steps = 0;
		if (s->cyc_power < (1U << 30))
			s->cyc_power <<= 1;
	}
	return false;
}

/* Ends the walk on damage: the status bit and its counter. */
static __always_inline long walk_damaged(struct walk_ctx *w, __u16 bit, __u32 which)
{
	w->s->rec.hdr.status |= bit;
	w->s->frame = 0;
	count(which);
	return 1;
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
	if (frame_repeats(s, frame))
		return walk_damaged(w, PY_S_CYCLE, PY_C_CYCLE);
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
	if (s->frame == frame) {	/* its own caller: shown, then the marker */
		s->rec.hdr.status |= PY_S_CORRUPT;
		s->frame = 0;
		count(PY_C_CORRUPT);
	}
	/* 3.12+: shim / base frames owned by the C stack or the interpreter
	 * (owner values from owner_cstack up) are not Python code. */
	if ((off->flags & PY_F_OWNER) &&
	    fb[off->frame_owner & (PY_FRAME_READ - 1)] >= off->owner_cstack) {
		/* The C stack's entry into Python: the frame above it began an
		 * activation. */
		if (w->entry && n)
			s->rec.frames[(n - 1) & (PY_MAX_FRAMES - 1)].lasti |= PY_LASTI_ENTRY;
		count(PY_C_SKIPPED_FRAMES);
		return 0;
	}
	code = ld64(fb, off->frame_code, PY_FRAME_READ) & ~off->code_tag_mask;

	/* Masked after a barrier: else the compiler drops the mask, as n is
	 * known to be below PY_MAX_FRAMES, and an older verifier (5.10), which
	 * loses that bound when n is spilled, sees an unbounded index. */
	idx = n;
	asm volatile("" : "+r"(idx));
	idx &= PY_MAX_FRAMES - 1;
	fr = &s->rec.frames[idx];
	if (w->addrs)	/* only dump --locals asks for them */
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
	if (s->proc.code_type &&
	    ld64(s->cbuf, s->proc.off.ob_type ? s->proc.off.ob_type : 8, CODE_BUF) !=
	    s->proc.code_type) {
		/* Frames not owned by a thread (3.12+) were skipped above:
		 * this one's code is damaged. It stands in its place. */
		count(PY_C_NOT_CODE);
		fr->code = PY_CODE_NOT_CODE;
		fr->lasti = 0;
		fr->check = 0;
		s->rec.hdr.nframes = n + 1;
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
	fr->lasti = (__u32)lasti;
	if (w->entry && (!(off->flags & PY_F_INTERP_FRAME) ||
			 ((off->flags & PY_F_ENTRY_BYTE) && off->frame_owner &&
			  fb[(off->frame_owner - 1) & (PY_FRAME_READ - 1)])))
		fr->lasti |= PY_LASTI_ENTRY;
	fr->check = check;
	s->rec.hdr.nframes = n + 1;
	return 0;
}


/* The thread state bytes a walk needs, and the thread it looks for. */
static __always_inline void walk_prepare(struct sample_scratch *s, __u64 pthread_id)
{
	const struct py_offsets *off = &s->proc.off;
	__u32 n;

	s->pthread_id = pthread_id;
	n = max16(max16(max16(off->tstate_next, off->tstate_thread_id),
			max16(off->tstate_frame, off->tstate_interp)),
		  off->tstate_datastack) + 8;
	s->tstate_read = n > PY_TSTATE_READ ? PY_TSTATE_READ : n;
}

/*
 * The record's header, but for cpu, ts and comm, which are the caller's,
 * and the walk's first frame, from the thread state read into s->tbuf.
 */
static __always_inline void walk_begin(struct walk_ctx *w, __u64 tstate, __u32 pid,
				       __u32 tid, bool active)
{
	struct sample_scratch *s = w->s;
	const struct py_offsets *off = &s->proc.off;
	__u64 frame;

	s->rec.hdr.kind = PY_REC_STACK;
	s->rec.hdr.pid = pid;
	s->rec.hdr.tid = tid;
	s->rec.hdr.status = active ? PY_S_ACTIVE : 0;
	s->rec.hdr.tstate = tstate;
	s->rec.hdr.pthread_id = s->pthread_id;
	s->rec.hdr.nframes = 0;
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
	s->cyc_frame = 0;
	s->cyc_steps = 0;
	s->cyc_power = 1;
}

/* After the last walk_one(): a walk that stopped short is truncated. */
static __always_inline void walk_end(struct walk_ctx *w)
{
	struct sample_scratch *s = w->s;

	if (s->frame && !(s->rec.hdr.status & PY_S_ENDS))
		s->rec.hdr.status |= PY_S_TRUNCATED;
	if (s->rec.hdr.status & PY_S_TRUNCATED)
		count(PY_C_TRUNCATED);
}

#endif
