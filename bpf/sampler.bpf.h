/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* BPF-only state of the sampler. */
#ifndef SAMPLER_BPF_H
#define SAMPLER_BPF_H

#define CODE_BUF 256	/* power of two >= PY_CODE_READ, so clamped loads verify */
#define WALK_UNROLL 4	/* frames per bpf_loop() step */
#define COMPAT_STEPS 16	/* steps per call of a compat_* global function */
#define CODE_CACHE 16	/* code objects remembered within one sample */
#define WIN_PAGE 4096
#define WIN_MAX 8192	/* the most one window read brings: >= a page plus a frame */
#define WIN_BUF 16384	/* power of two >= WIN_MAX + PY_FRAME_READ, so loads verify */
/* Every data stack chunk (3.11+) is at least this big
 * (_PY_DATA_STACK_CHUNK_SIZE, 16 KiB in 3.11-3.15): one allocation. */
#define PY_DATASTACK_MIN 16384

struct code_cache_entry {
	__u64 code;
	__u32 check;
	__u32 gen;		/* the sample it was read in */
};

/* Frames visited by the current walk, by address: a chain that comes back
 * to one is a cycle, caught at its first repeat when the frame is still
 * here (it is, for any cycle shorter than the set), else by Brent's
 * tortoise within two turns. */
#define FRAMES_SEEN 64
struct frame_seen {
	__u64 frame;
	__u32 gen;		/* the walk it was visited in */
	__u32 pad;
};
_Static_assert((FRAMES_SEEN & (FRAMES_SEEN - 1)) == 0, "frames seen mask");

_Static_assert(PY_CODE_READ <= CODE_BUF, "code window");
_Static_assert(WIN_MAX >= WIN_PAGE + PY_FRAME_READ, "a page window fits");
_Static_assert(WIN_BUF >= WIN_MAX + PY_FRAME_READ, "a frame at any window offset fits");
_Static_assert((PY_MAX_FRAMES & (PY_MAX_FRAMES - 1)) == 0, "frames mask");
_Static_assert(PY_MAX_WALK % WALK_UNROLL == 0, "walk steps");
_Static_assert(PY_MAX_WALK % COMPAT_STEPS == 0, "compat walk steps");
#define SEEN_TIDS 8
_Static_assert((SEEN_TIDS & (SEEN_TIDS - 1)) == 0, "seen mask");

/* Per-CPU working state of one sample, kept in a map: the BPF stack is too
 * small for the read windows and the record. */
struct sample_scratch {
	struct py_proc proc;	/* copy of this process's map entry */
	__u64 pthread_id;
	__u64 frame;		/* next frame to visit */
	__u64 interp;		/* thread search: next interpreter */
	__u64 tstate;		/* thread search: next thread state */
	__u64 found;
	__u64 chunk;		/* the thread's newest data stack chunk (3.11+), or 0 */
	__u32 interps;
	__u32 tstate_read;
	__u32 indexed;		/* iterator's index: thread states visited */
	__u32 index_full;	/* iterator's index: an insert failed */
	/* Threads found without a search and given no cache entry yet. */
	__u32 seen[SEEN_TIDS];
	__u32 seen_pos;
	/* The read windows take 8-byte loads at 8-byte field offsets: they
	 * start 8-aligned, whatever the fields above add up to (a 4-byte
	 * misalignment is undefined in the collector's walker, and strict
	 * alignment verifiers refuse it). */
	__u8 tbuf[PY_TSTATE_READ] __attribute__((aligned(8)));
	__u8 fbuf[PY_FRAME_READ];
	__u8 cbuf[CODE_BUF];
	__u8 gbuf[32];		/* struct _gil_runtime_state prefix */
	__u32 gen;		/* sample number, for ccache */
	__u32 win_len;
	__u64 win_base;		/* frames window: target address of win[0] */
	__u8 win[WIN_BUF];
	struct code_cache_entry ccache[CODE_CACHE];
	struct frame_seen fseen[FRAMES_SEEN];
	__u64 cyc_frame;	/* Brent's tortoise: a frame of this walk */
	__u32 cyc_steps;	/* frames since it was set */
	__u32 cyc_power;	/* frames until it moves */
	struct py_stack_rec rec;
	/* Frame addresses, parallel to rec.frames, right after a header: emitted
	 * as one record when asked (dump --locals). */
	struct py_addrs_hdr addrs;
	__u64 faddr[PY_MAX_FRAMES];
	/* --native: the header and the frames, emitted as one record. */
	struct py_native_hdr nhdr;
	struct py_native_frame nframes[PY_MAX_NATIVE];
};

_Static_assert(__builtin_offsetof(struct sample_scratch, tbuf) % 8 == 0 &&
	       __builtin_offsetof(struct sample_scratch, fbuf) % 8 == 0 &&
	       __builtin_offsetof(struct sample_scratch, cbuf) % 8 == 0 &&
	       __builtin_offsetof(struct sample_scratch, gbuf) % 8 == 0 &&
	       __builtin_offsetof(struct sample_scratch, win) % 8 == 0, "aligned read windows");
_Static_assert(__builtin_offsetof(struct sample_scratch, nframes) ==
	       __builtin_offsetof(struct sample_scratch, nhdr) + sizeof(struct py_native_hdr),
	       "native record in one piece");

/* Task states and flags the iterator checks (stable kernel ABI values). */
#define TASK_RUNNING_STATE 0
#define PF_KTHREAD_BIT 0x00200000

#endif
