// SPDX-License-Identifier: BSD-2-Clause
/*
 * The collector's own stack walker (user/uwalk.c, with the BPF side's
 * bpf/walker.h) against a hostile target: a fake runtime, interpreters,
 * thread states, frames and code objects laid out in this process's memory
 * and read back through /proc/PID/mem, as a real target's are. Checks that
 * every walk ends, that each thread yields either no record (counted) or
 * one well-formed stack record, followed by a frame address record of the
 * same depth when asked, and that the GIL flag says what the memory says.
 * fuzz-sources: user/uwalk.c user/hashmap.c user/remote.c user/paths.c user/procfs.c
 *               user/offsets_gen.c user/capture.c user/log.c user/textesc.c user/utf8.c
 * fuzz-libs: -lz
 * fuzz-max-len: 8192
 *
 * Input: layout (1 byte: an entry of the offsets table, 2.7 to 3.15),
 * process flags (1), where &_PyRuntime, the GIL holder pointer and
 * PyCode_Type are in the fake memory (2 each), a fact count (1, up to 7),
 * then 6 bytes per thread fact, then patches of the fake memory until the
 * end. The memory is zero but for the patches: offset (2), length (1), the
 * bytes; length 0 is a pointer patch instead, offset (2) of its target in
 * the memory. As in fuzz_record, an aligned 8-byte word whose top 16 bits
 * are 0xfeed is also a pointer into the memory (low 16 bits the offset).
 * A fact: where its pthread id is in the memory (2: the 8 bytes there),
 * flags (1), then an offset (2) and a byte (1) written to the memory just
 * before the walk (a target that runs while it is walked).
 * With process flag 0x08 the field offsets are the struct py_offsets at the
 * end of the memory (S_OFFS), as a 3.13+ target's _Py_DebugOffsets can set
 * them: any 16-bit value; the layout flags stay the table's.
 *
 * With FUZZ_UWALK_SEEDS=DIR in the environment the binary writes a few
 * seeds per layout into DIR and exits (tests/fuzz/gen_corpus.py runs it).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "offsets.h"
#include "remote.h"
#include "uwalk.h"

#define MEM 0x10000
#define TAG 0xfeedULL
#define MAX_FACTS 7
#define HDR_LEN 9
#define FACT_LEN 6

/* Process flags (byte 1). */
#define P_GIL_HOLDER 0x01	/* proc.gil_holder set (layouts before 3.12 read it) */
#define P_CODE_TYPE 0x02	/* proc.code_type set: non-code frames are skipped */
#define P_NO_RUNTIME 0x04	/* proc.runtime 0 */
#define P_OFFSETS 0x08		/* offsets from the memory at S_OFFS */

/* Where P_OFFSETS takes the offsets from. */
#define S_OFFS (MEM - 0x80)
_Static_assert(sizeof(struct py_offsets) <= 0x80, "offsets block");

/* Fact flags. */
#define F_RUNNING 0x01
#define F_ON_CPU 0x02
#define F_ADDRS 0x04		/* frame_addrs */
#define F_NEW_PASS 0x08		/* uwalk__begin() first: the index is rebuilt */
#define F_NO_PID 0x10		/* pid 0: every read fails */
#define F_LONG_COMM 0x20	/* comm without its NUL */
#define F_POKE 0x40		/* write the fact's byte first */
#define F_NO_PTHREAD 0x80	/* pthread id 0 */

/*
 * The fake memory: page-aligned, with unmapped pages on both sides, so that
 * reads running off either end fail as they would in a target, and frame
 * windows reaching below it fail too.
 */
static uint8_t *mem;
/* FUZZ_UWALK_TRACE set: each record is printed (to check what seeds do). */
static bool trace;

/* The walk under way, for the emit callback's checks. */
static struct expect {
	const struct py_offsets_entry *ent;
	const struct py_proc *proc;
	const struct py_task_fact *fact;
	bool addrs;
	unsigned int stacks, addr_recs;
	uint32_t nframes;
	uint64_t tstate;
} ex;

static uint64_t ld(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static uint64_t addr_of(uint16_t off)
{
	return (uintptr_t)mem + off;
}

/*
 * A read of the target as the oracle knows it: true with the bytes when
 * the range is in the fake memory, false when it cannot be mapped (below
 * mmap_min_addr, so 0 + a field offset is covered); anything else is
 * somewhere in this process and the oracle does not know it.
 */
enum peek { PEEK_OK, PEEK_FAULT, PEEK_UNKNOWN };

static enum peek peek(uint64_t addr, void *dst, size_t n)
{
	if (addr >= (uintptr_t)mem && addr - (uintptr_t)mem <= MEM - n) {
		memcpy(dst, mem + (addr - (uintptr_t)mem), n);
		return PEEK_OK;
	}
	if (addr + n >= addr && addr + n <= 4096)
		return PEEK_FAULT;
	return PEEK_UNKNOWN;
}

/* Whether the thread state holds the GIL, read the way the layout says;
 * -1 when the oracle cannot tell. */
static int gil_oracle(const struct py_proc *p, uint64_t tstate)
{
	const struct py_offsets *off = &p->off;
	uint64_t interp, gp, holder, v;
	uint8_t gbuf[32];
	uint32_t locked;
	enum peek r;

	if (off->flags & PY_F_GIL_INTERP) {
		/* The walker takes tstate->interp from the bytes it read. */
		if (off->tstate_interp > PY_TSTATE_READ - 8)
			interp = 0;
		else if (peek(tstate + off->tstate_interp, &interp, 8) != PEEK_OK)
			return -1;
		r = peek(interp + off->interp_gil, &gp, 8);
		if (r != PEEK_OK)
			return r == PEEK_FAULT ? 0 : -1;
		if (!gp)
			return 0;
		/* The walker reads the GIL state's first 32 bytes in one go. */
		r = peek(gp, gbuf, sizeof(gbuf));
		if (r != PEEK_OK)
			return r == PEEK_FAULT ? 0 : -1;
		if (off->gil_locked > sizeof(gbuf) - 4 || off->gil_last_holder > sizeof(gbuf) - 8)
			return 0;
		memcpy(&locked, gbuf + off->gil_locked, 4);
		memcpy(&holder, gbuf + off->gil_last_holder, 8);
		return locked && holder == tstate;
	}
	if (!p->gil_holder)
		return 0;
	r = peek(p->gil_holder, &v, 8);
	if (r != PEEK_OK)
		return r == PEEK_FAULT ? 0 : -1;
	return v == tstate;
}

static void check_stack(const struct py_stack_hdr *h, const struct py_frame_rec *fr, size_t size)
{
	const struct py_offsets *off = &ex.proc->off;
	const struct py_task_fact *f = ex.fact;
	uint64_t tid = 0;
	int gil;

	if (ex.stacks++ || ex.addr_recs)
		abort();	/* one stack record per thread, before its addresses */
	if (h->nframes > PY_MAX_FRAMES ||
	    size != sizeof(*h) + (size_t)h->nframes * sizeof(*fr))
		abort();
	if (h->pid != f->pid || h->tid != f->tid || h->pthread_id != f->pthread_id ||
	    !f->pthread_id || !h->tstate)
		abort();
	if (h->status & ~(PY_S_ENDS | PY_S_GIL | PY_S_ACTIVE))
		abort();
	/* The walk ends one way: TRUNCATED only when nothing else ended it. */
	if ((h->status & PY_S_TRUNCATED) && (h->status & (PY_S_CYCLE | PY_S_CORRUPT)))
		abort();
	if (!(h->status & PY_S_ACTIVE) != !f->running)
		abort();
	if (h->comm[PY_COMM_LEN - 1] || strncmp(h->comm, f->comm, PY_COMM_LEN - 1))
		abort();
	/* The thread state was checked against the thread before the walk. */
	if (peek(h->tstate + off->tstate_thread_id, &tid, 8) == PEEK_OK && tid != f->pthread_id)
		abort();
	gil = gil_oracle(ex.proc, h->tstate);
	if (gil >= 0 && !gil != !(h->status & PY_S_GIL))
		abort();
	for (uint32_t i = 0; i < h->nframes; i++) {
		if (fr[i].code != PY_CODE_NOT_CODE && (fr[i].code & off->code_tag_mask))
			abort();
		if ((!fr[i].code || fr[i].code == PY_CODE_NOT_CODE) && (fr[i].lasti || fr[i].check))
			abort();
		if (fr[i].lasti >= 1u << 30)
			abort();
	}
	ex.nframes = h->nframes;
	ex.tstate = h->tstate;
	if (trace) {
		fprintf(stderr, "stack tid %u tstate +%#llx status %#x frames %u:", h->tid,
			(unsigned long long)(h->tstate - (uintptr_t)mem), h->status, h->nframes);
		for (uint32_t i = 0; i < h->nframes && i < 8; i++)
			fprintf(stderr, " %#llx/%u", fr[i].code ?
				(unsigned long long)(fr[i].code - (uintptr_t)mem) : 0ULL,
				fr[i].lasti);
		fprintf(stderr, "\n");
	}
}

static void check_addrs(const struct py_addrs_hdr *a, size_t size)
{
	const uint64_t *fa = (const void *)(a + 1);

	if (!ex.addrs || ex.stacks != 1 || ex.addr_recs++)
		abort();	/* asked for, right after its stack, once */
	if (a->tid != ex.fact->tid || a->nframes != ex.nframes || a->pad ||
	    size != sizeof(*a) + (size_t)a->nframes * sizeof(*fa))
		abort();
	for (uint32_t i = 0; i < a->nframes; i++)
		if (!fa[i])
			abort();
}

static int on_record(void *ctx, const void *data, size_t size)
{
	/* Not a malloc per record: ASan's quarantine makes every one fresh
	 * pages, most of the time of a deep walk. */
	static uint8_t copy[sizeof(struct py_stack_rec)] __attribute__((aligned(8)));
	uint32_t kind;

	(void)ctx;
	if (size < sizeof(struct py_addrs_hdr) || size > sizeof(copy))
		abort();
	/* A size beyond the walker's buffer is caught here by ASan, one
	 * beyond the record's contents by the checks on the copy. */
	memcpy(copy, data, size);
	memcpy(&kind, copy, sizeof(kind));
	if (kind == PY_REC_STACK && size >= sizeof(struct py_stack_hdr))
		check_stack((const void *)copy,
			    (const void *)(copy + sizeof(struct py_stack_hdr)), size);
	else if (kind == PY_REC_FRAME_ADDRS)
		check_addrs((const void *)copy, size);
	else
		abort();
	return 0;
}

static uint16_t le16(const uint8_t *p)
{
	return p[0] | p[1] << 8;
}

/* The bytes of the fake memory the last input wrote: only they are
 * cleared and searched for tags (a pass over all of it costs more than
 * most walks). */
static size_t dirty_lo, dirty_hi = MEM;

static void dirty(size_t at, size_t len)
{
	if (at < dirty_lo)
		dirty_lo = at;
	if (at + len > dirty_hi)
		dirty_hi = at + len;
}

/* Lays out the fake memory from the patches; a truncated last patch
 * writes what it has. */
static void apply_patches(const uint8_t *p, size_t n)
{
	while (n >= 3) {
		uint16_t at = le16(p);
		size_t len = p[2];

		p += 3, n -= 3;
		if (!len) {
			uint64_t v;

			if (n < 2)
				return;
			v = addr_of(le16(p));
			p += 2, n -= 2;
			if (at <= MEM - 8) {
				memcpy(mem + at, &v, 8);
				dirty(at, 8);
			}
			continue;
		}
		if (len > n)
			len = n;
		memcpy(mem + at, p, at + len > MEM ? MEM - at : len);
		dirty(at, at + len > MEM ? MEM - at : len);
		p += len, n -= len;
	}
}

static void fix_tags(void)
{
	for (size_t w = dirty_lo & ~(size_t)7; w + 8 <= MEM && w < dirty_hi; w += 8) {
		uint64_t v = ld(mem + w);

		if (v >> 48 == TAG) {
			v = addr_of(v & 0xffff);
			memcpy(mem + w, &v, 8);
		}
	}
}

/*
 * The field offsets a target's _Py_DebugOffsets would give: any value, as
 * py_offsets__apply_debug() checks none but the read windows. The era's
 * flags, owner value and tag mask are the table's. Offsets the walker loads
 * from its own buffers keep the alignment of their field, as in every
 * CPython build: misaligned ones are another question than this target's
 * (they make misaligned loads in the collector's build of the walker).
 */
static void offsets_from_mem(struct py_offsets *off)
{
	struct py_offsets t = *off;
	__u16 a8 = (__u16)~7u, a4 = (__u16)~3u;

	memcpy(off, mem + S_OFFS, sizeof(*off));
	off->flags = t.flags;
	off->version = t.version;
	off->owner_cstack = t.owner_cstack;
	off->code_tag_mask = t.code_tag_mask;
	off->gil_locked &= a4;
	off->gil_last_holder &= a8;
	off->tstate_next &= a8;
	off->tstate_interp &= a8;
	off->tstate_frame &= a8;
	off->tstate_thread_id &= a8;
	off->tstate_datastack &= a8;
	off->frame_back &= a8;
	off->frame_code &= a8;
	off->frame_instr &= t.flags & PY_F_INSTR_PTR ? a8 : a4;
	off->code_name &= a8;
	off->code_filename &= a8;
	off->code_firstlineno &= a4;
	off->code_argcount &= a4;
	off->code_version &= a4;
}

/* ---- seeds: small valid walks per layout ---- */

/* Where the seeds put things in the fake memory. */
enum {
	S_RT = 0x0000,		/* _PyRuntime, or interp_head */
	S_GIL = 0x0800,		/* 3.12+: struct _gil_runtime_state */
	S_GILH = 0x0900,	/* before: the GIL holder pointer */
	S_INTERP = 0x1000,	/* the main interpreter (3.13+: 7 KiB of it) */
	S_INTERP2 = 0x3000,	/* a subinterpreter */
	S_TS1 = 0x5000,		/* thread states */
	S_TS2 = 0x5200,
	S_TS3 = 0x5400,
	S_CFRAME1 = 0x5800,	/* 3.11-3.12: _PyCFrame */
	S_CFRAME2 = 0x5840,
	S_CHUNK = 0x8000,	/* 3.11+: the data stack chunk of TS1's frames */
	S_F4 = S_CHUNK + 0x40,	/* TS1's frames, callers below callees */
	S_F3 = S_CHUNK + 0xc0,
	S_F2 = S_CHUNK + 0x140,
	S_F1 = S_CHUNK + 0x1c0,
	S_F5 = 0x9040,		/* TS2's frame, in no chunk */
	S_CODE_A = 0xc000,
	S_CODE_B = 0xc110,	/* another code cache slot than A's */
	S_NAME_A = 0xd000,
	S_NAME_B = 0xd100,
	S_CODE_TYPE = 0xe000,
	S_OTHER_TYPE = 0xe100,
	S_NONCODE = 0xe200,	/* an executable that is not code */
};

enum seed_kind { SEED_BASIC, SEED_RACE, SEED_DEEP, SEED_LOOP, SEED_OFFSETS, SEED__N };
static const char *const seed_names[] = { "basic", "race", "deep", "loop", "offsets" };

struct seed {
	uint8_t buf[4096];
	size_t len;
};

static void s_bytes(struct seed *s, uint16_t at, const void *d, uint8_t n)
{
	if (s->len + 3 + n > sizeof(s->buf))
		abort();
	s->buf[s->len++] = at & 0xff;
	s->buf[s->len++] = at >> 8;
	s->buf[s->len++] = n;
	if (n)
		memcpy(s->buf + s->len, d, n);
	s->len += n;
}

static void s_ptr(struct seed *s, uint16_t at, uint16_t target)
{
	uint8_t p[2] = { target & 0xff, target >> 8 };

	s_bytes(s, at, NULL, 0);
	memcpy(s->buf + s->len, p, 2);
	s->len += 2;
}

static void s_u64(struct seed *s, uint16_t at, uint64_t v)
{
	s_bytes(s, at, &v, 8);
}

static void s_u32(struct seed *s, uint16_t at, uint32_t v)
{
	s_bytes(s, at, &v, 4);
}

static void s_u8(struct seed *s, uint16_t at, uint8_t v)
{
	s_bytes(s, at, &v, 1);
}

static void s_fact(struct seed *s, unsigned int i, uint16_t pthread_at, uint8_t flags,
		   uint16_t poke_at, uint8_t poke)
{
	uint8_t *f = s->buf + HDR_LEN + i * FACT_LEN;

	f[0] = pthread_at & 0xff, f[1] = pthread_at >> 8;
	f[2] = flags;
	f[3] = poke_at & 0xff, f[4] = poke_at >> 8;
	f[5] = poke;
}

/* A frame: its caller, its code, its instruction 6 bytes into the code. */
static void s_frame(struct seed *s, const struct py_offsets *off, uint16_t at, uint16_t back,
		    uint16_t code, bool shim)
{
	if (back)
		s_ptr(s, at + off->frame_back, back);
	/* 3.14+: f_executable is a tagged reference; the walker clears it. */
	s_ptr(s, at + off->frame_code, code + (off->code_tag_mask ? 1 : 0));
	if (off->flags & PY_F_INSTR_PTR)
		s_ptr(s, at + off->frame_instr, code + off->code_adaptive + 6);
	else
		s_u32(s, at + off->frame_instr, off->flags & PY_F_LASTI_UNITS ? 3 : 6);
	if (shim)
		s_u8(s, at + off->frame_owner, off->owner_cstack);
}

static void s_code(struct seed *s, const struct py_offsets *off, uint16_t at, uint16_t name,
		   uint32_t version)
{
	s_ptr(s, at + 8, S_CODE_TYPE);	/* ob_type */
	s_ptr(s, at + off->code_name, name);
	s_ptr(s, at + off->code_filename, S_NAME_B);
	s_u32(s, at + off->code_firstlineno, 10);
	s_u32(s, at + off->code_argcount, 1);
	if (off->code_version)
		s_u32(s, at + off->code_version, version);
	s_u64(s, name + off->str_hash, 0x5eed0000u + name);
}

static void s_thread(struct seed *s, const struct py_offsets *off, uint16_t ts, uint16_t next,
		     uint16_t interp, uint64_t pthread, uint16_t cframe, uint16_t frame,
		     uint16_t chunk)
{
	if (next)
		s_ptr(s, ts + off->tstate_next, next);
	s_ptr(s, ts + off->tstate_interp, interp);
	s_u64(s, ts + off->tstate_thread_id, pthread);
	if (off->tstate_native_id)
		s_u64(s, ts + off->tstate_native_id, pthread & 0xffff);
	if (off->flags & PY_F_CFRAME) {
		s_ptr(s, ts + off->tstate_frame, cframe);
		if (frame)
			s_ptr(s, cframe + off->cframe_current_frame, frame);
	} else if (frame) {
		s_ptr(s, ts + off->tstate_frame, frame);
	}
	if (off->tstate_datastack && chunk)
		s_ptr(s, ts + off->tstate_datastack, chunk);
}

static void build_seed(struct seed *s, const struct py_offsets_entry *e, size_t idx,
		       enum seed_kind kind)
{
	const struct py_offsets *off = &e->off;
	bool owner = off->flags & PY_F_OWNER;
	unsigned int nfacts;

	memset(s, 0, sizeof(*s));
	s->buf[0] = (uint8_t)idx;
	s->buf[1] = P_GIL_HOLDER | (kind == SEED_RACE ? 0 : P_CODE_TYPE);
	s->buf[2] = S_RT & 0xff, s->buf[3] = S_RT >> 8;
	s->buf[4] = S_GILH & 0xff, s->buf[5] = S_GILH >> 8;
	s->buf[6] = S_CODE_TYPE & 0xff, s->buf[7] = S_CODE_TYPE >> 8;
	nfacts = kind == SEED_BASIC || kind == SEED_OFFSETS ? 5 : kind == SEED_RACE ? 4 :
		 kind == SEED_LOOP ? 2 : 1;
	s->buf[8] = nfacts;
	s->len = HDR_LEN + nfacts * FACT_LEN;
	if (kind == SEED_OFFSETS) {
		/* The table's offsets, through the memory. */
		s->buf[1] |= P_OFFSETS;
		s_bytes(s, S_OFFS, off, sizeof(*off));
	}

	/* 2.7-3.6: runtime is &interp_head, whose runtime_interp_head is 0. */
	s_ptr(s, S_RT + off->runtime_interp_head, S_INTERP);
	s_ptr(s, S_INTERP + off->interp_tstate_head, S_TS1);
	if (off->interp_next != off->interp_tstate_head && kind == SEED_BASIC) {
		s_ptr(s, S_INTERP + off->interp_next, S_INTERP2);
		s_ptr(s, S_INTERP2 + off->interp_tstate_head, S_TS3);
	}
	/* TS1 holds the GIL, whichever way the layout keeps it. */
	if (off->flags & PY_F_GIL_INTERP) {
		s_ptr(s, S_INTERP + off->interp_gil, S_GIL);
		s_u32(s, S_GIL + off->gil_locked, 1);
		s_ptr(s, S_GIL + off->gil_last_holder, S_TS1);
	}
	s_ptr(s, S_GILH, S_TS1);

	s_thread(s, off, S_TS1, S_TS2, S_INTERP, 0x7f3a1c000640ULL, S_CFRAME1, S_F1, S_CHUNK);
	/* loop: the thread list comes back to TS1, the interpreter list
	 * to the main interpreter. */
	s_thread(s, off, S_TS2, kind == SEED_LOOP ? S_TS1 : 0, S_INTERP, 0x7f3a1b7ff640ULL,
		 S_CFRAME2, S_F5, 0);
	if (kind == SEED_LOOP && off->interp_next != off->interp_tstate_head)
		s_ptr(s, S_INTERP + off->interp_next, S_INTERP);
	/* A subinterpreter's thread, idle: no frame. */
	s_thread(s, off, S_TS3, 0, S_INTERP2, 0x7f3a1affe640ULL, S_CFRAME2 + 0x20, 0, 0);

	/* TS1: A called by B called by a shim (3.12+) or a non-code
	 * executable, called by A: A's code is read once. */
	if (kind == SEED_DEEP) {
		/* F1 and F2 call each other: the walk stops at PY_MAX_FRAMES. */
		s_frame(s, off, S_F1, S_F2, S_CODE_A, false);
		s_frame(s, off, S_F2, S_F1, S_CODE_B, false);
	} else {
		s_frame(s, off, S_F1, S_F2, S_CODE_A, false);
		s_frame(s, off, S_F2, S_F3, S_CODE_B, false);
		s_frame(s, off, S_F3, S_F4, owner ? S_CODE_B : S_NONCODE, owner);
		/* loop: the outermost frame's caller is F2, through the
		 * skipped one, until PY_MAX_WALK. */
		s_frame(s, off, S_F4, kind == SEED_LOOP ? S_F2 : 0, S_CODE_A, false);
	}
	s_frame(s, off, S_F5, 0, S_CODE_B, false);
	s_code(s, off, S_CODE_A, S_NAME_A, 17);
	s_code(s, off, S_CODE_B, S_NAME_B, 0);
	s_ptr(s, S_NONCODE + 8, S_OTHER_TYPE);

	switch (kind) {
	case SEED_BASIC:
	case SEED_OFFSETS:
		s_fact(s, 0, S_TS1 + off->tstate_thread_id, F_RUNNING | F_ON_CPU | F_ADDRS, 0, 0);
		s_fact(s, 1, S_TS2 + off->tstate_thread_id, F_ADDRS | F_LONG_COMM, 0, 0);
		s_fact(s, 2, S_TS3 + off->tstate_thread_id, 0, 0, 0);
		s_fact(s, 3, 0, F_NO_PTHREAD, 0, 0);
		s_fact(s, 4, S_TS1 + off->tstate_thread_id, F_NO_PID | F_NEW_PASS, 0, 0);
		break;
	case SEED_RACE:
		s_fact(s, 0, S_TS1 + off->tstate_thread_id, F_ADDRS, 0, 0);
		/* TS2's thread id changes after the index was built. */
		s_fact(s, 1, S_TS2 + off->tstate_thread_id, F_POKE,
		       S_TS2 + off->tstate_thread_id, 0x41);
		/* A new pass finds it again. */
		s_fact(s, 2, S_TS2 + off->tstate_thread_id, F_NEW_PASS | F_ADDRS, 0, 0);
		/* F1's caller becomes F1 itself (0x81c0: F2 at 0x8140 and F1
		 * differ in the low byte only). */
		s_fact(s, 3, S_TS1 + off->tstate_thread_id, F_POKE | F_ADDRS,
		       S_F1 + off->frame_back, (S_F1 & 0xff));
		break;
	case SEED_LOOP:
		s_fact(s, 0, S_TS2 + off->tstate_thread_id, F_ADDRS, 0, 0);
		s_fact(s, 1, S_TS1 + off->tstate_thread_id, F_RUNNING | F_ADDRS, 0, 0);
		break;
	default:
		s_fact(s, 0, S_TS1 + off->tstate_thread_id, F_RUNNING | F_ADDRS, 0, 0);
		break;
	}
}

static void write_seeds(const char *dir)
{
	static struct seed s;
	char path[4096];
	FILE *f;

	for (size_t i = 0; i < py_offsets_table_len && i < 256; i++) {
		const struct py_offsets_entry *e = &py_offsets_table[i];

		for (int k = 0; k < SEED__N; k++) {
			build_seed(&s, e, i, k);
			snprintf(path, sizeof(path), "%s/seed-%u.%u.%u-%s", dir, e->major, e->minor,
				 e->min_micro, seed_names[k]);
			f = fopen(path, "wb");
			if (!f || fwrite(s.buf, 1, s.len, f) != s.len || fclose(f))
				abort();
		}
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *dir = getenv("FUZZ_UWALK_SEEDS");
	long page = sysconf(_SC_PAGESIZE);
	uint8_t *m;

	(void)argc, (void)argv;
	trace = getenv("FUZZ_UWALK_TRACE");
	if (dir) {
		write_seeds(dir);
		exit(0);
	}
	m = mmap(NULL, MEM + 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED || munmap(m, page) || munmap(m + page + MEM, page))
		abort();
	mem = m + page;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct uwalk *u;
	const struct py_offsets_entry *ent;
	struct py_task_fact facts[MAX_FACTS];
	uint64_t counts[PY_C__MAX] = { 0 }, before[PY_C__MAX];
	struct py_proc proc;
	unsigned int nfacts, i;
	const uint8_t *fp;
	uint8_t pf;

	if (size < HDR_LEN)
		return 0;
	nfacts = data[8] & 7;
	if (size < HDR_LEN + nfacts * FACT_LEN)
		return 0;
	if (!u && !(u = uwalk__new(on_record, NULL)))
		abort();
	ent = &py_offsets_table[data[0] % py_offsets_table_len];
	pf = data[1];

	if (dirty_lo < dirty_hi)
		memset(mem + dirty_lo, 0, dirty_hi - dirty_lo);
	dirty_lo = MEM, dirty_hi = 0;
	apply_patches(data + HDR_LEN + nfacts * FACT_LEN, size - HDR_LEN - nfacts * FACT_LEN);
	fix_tags();

	memset(&proc, 0, sizeof(proc));
	proc.runtime = pf & P_NO_RUNTIME ? 0 : addr_of(le16(data + 2));
	proc.gil_holder = pf & P_GIL_HOLDER ? addr_of(le16(data + 4)) : 0;
	proc.code_type = pf & P_CODE_TYPE ? addr_of(le16(data + 6)) : 0;
	proc.off = ent->off;
	if (pf & P_OFFSETS)
		offsets_from_mem(&proc.off);

	/* Each input is a pass of its own: the last one's index is stale. */
	uwalk__begin(u);
	for (i = 0; i < nfacts; i++) {
		struct py_task_fact *f = &facts[i];
		uint16_t at;

		fp = data + HDR_LEN + i * FACT_LEN;
		if (fp[2] & F_POKE) {
			mem[le16(fp + 3)] = fp[5];
			dirty(le16(fp + 3), 1);
		}
		memset(f, 0, sizeof(*f));
		f->pid = fp[2] & F_NO_PID ? 0 : getpid();
		f->tid = 1000 + i;
		at = le16(fp);
		f->pthread_id = fp[2] & F_NO_PTHREAD ? 0 : ld(mem + (at > MEM - 8 ? MEM - 8 : at));
		f->on_cpu = !!(fp[2] & F_ON_CPU);
		f->running = !!(fp[2] & F_RUNNING);
		if (fp[2] & F_LONG_COMM)
			memset(f->comm, 'x', sizeof(f->comm));
		else
			snprintf(f->comm, sizeof(f->comm), "worker-%u", i);
		if (fp[2] & F_NEW_PASS)
			uwalk__begin(u);

		memset(&ex, 0, sizeof(ex));
		ex.ent = ent;
		ex.proc = &proc;
		ex.fact = f;
		ex.addrs = fp[2] & F_ADDRS;
		memcpy(before, counts, sizeof(before));
		uwalk__thread(u, &proc, f, ex.addrs, counts);
		/* Either a record (and its addresses when asked) or a count of
		 * why not: a thread is never dropped silently. */
		if (ex.stacks != counts[PY_C_EMITTED] - before[PY_C_EMITTED] ||
		    ex.addr_recs != (ex.stacks && ex.addrs))
			abort();
		if (!ex.stacks && counts[PY_C_NO_TSTATE] == before[PY_C_NO_TSTATE])
			abort();
		if (ex.stacks && counts[PY_C_NO_TSTATE] != before[PY_C_NO_TSTATE])
			abort();
	}
	if (trace) {
		fprintf(stderr, "counts:");
		for (i = 0; i < PY_C__MAX; i++)
			fprintf(stderr, " %llu", (unsigned long long)counts[i]);
		fprintf(stderr, "\n");
	}
	return 0;
}
