/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The contract between the BPF programs and the collector: map value layouts,
 * ring-buffer records, counters and limits. Fixed-width types only; remote
 * addresses are __u64. Included by the BPF programs (after vmlinux.h) and by user/.
 */
#ifndef PYSPY_H
#define PYSPY_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/* Deepest stack recorded; deeper stacks are cut here and flagged truncated. */
#define PY_MAX_FRAMES 4096
/* Frames visited per sample, including skipped shim / non-code frames. */
#define PY_MAX_WALK 8192
/* Thread states visited when looking for the sampled thread's. */
#define PY_MAX_THREADS 1024
/* Thread states the task iterator indexes per process and pass: it walks
 * each process's thread list once, not once per thread. */
#define PY_MAX_INDEX 65536
/* Interpreters (main + subinterpreters) searched for a thread. */
#define PY_MAX_INTERPS 8
/* Byte windows read in one go from the target. */
#define PY_TSTATE_READ 320
#define PY_FRAME_READ 128
#define PY_CODE_READ 160
/* A thread's kernel name (TASK_COMM_LEN). */
#define PY_COMM_LEN 16

#define PY_MAX_PROCS 16384
/* Threads cached by pid and tid where the kernel has no task storage. */
#define PY_MAX_COMPAT_THREADS 32768

/* struct py_offsets.flags: what era-specific layout the walker follows. */
enum py_layout_flags {
	/* Frames are _PyInterpreterFrame (3.11+), not PyFrameObject. */
	PY_F_INTERP_FRAME = 1 << 0,
	/* tstate points at a _PyCFrame whose current_frame is the frame (3.11-3.12). */
	PY_F_CFRAME = 1 << 1,
	/* The frame's instruction field is a pointer into co_code_adaptive (3.11+). */
	PY_F_INSTR_PTR = 1 << 2,
	/* f_lasti counts 2-byte code units (3.10). */
	PY_F_LASTI_UNITS = 1 << 3,
	/* The frame has an owner byte; frames owned by the C stack are skipped (3.12+). */
	PY_F_OWNER = 1 << 4,
	/* The GIL holder is interp->ceval.gil->last_holder while locked (3.12+). */
	PY_F_GIL_INTERP = 1 << 5,
	/* Strings are PyStringObject bytes (2.7). */
	PY_F_BYTES_STR = 1 << 6,
	/* The interpreter list head is the variable interp_head (2.7-3.6). */
	PY_F_INTERP_HEAD_SYM = 1 << 7,
	/* The byte before the owner is is_entry (3.11). */
	PY_F_ENTRY_BYTE = 1 << 8,
	/* A free-threaded build (3.13t+): no GIL, a larger object header. */
	PY_F_FREE_THREADED = 1 << 9,
};

/*
 * Field offsets of one CPython build, in bytes. A field absent from a version
 * is 0 and its use is gated by a flag above. Userspace fills one per process:
 * from the generated tables, overridden by _Py_DebugOffsets on 3.13+.
 */
struct py_offsets {
	__u32 flags;
	__u16 version;		/* 0xMMmm, e.g. 0x030d */
	__u16 runtime_interp_head; /* _PyRuntime.interpreters.head */
	__u16 runtime_gil_holder;  /* _PyRuntime.gilstate.tstate_current (3.7-3.11) */
	__u16 interp_next;
	__u16 interp_tstate_head;
	__u16 interp_gil;	/* interp->ceval.gil (pointer, 3.12+) */
	__u16 gil_last_holder;
	__u16 gil_locked;
	__u16 tstate_next;
	__u16 tstate_interp;
	__u16 tstate_frame;	/* frame, cframe or current_frame */
	__u16 tstate_thread_id;	/* pthread_self() of the thread */
	__u16 tstate_native_id;	/* kernel tid (3.11+), 0 if absent */
	__u16 cframe_current_frame;
	__u16 frame_back;	/* f_back / previous */
	__u16 frame_code;	/* f_code / f_executable */
	__u16 frame_instr;	/* f_lasti (int) or prev_instr / instr_ptr */
	__u16 frame_owner;
	__u16 frame_localsplus;
	__u16 frame_read;	/* bytes to read per frame, <= PY_FRAME_READ */
	__u16 code_argcount;
	__u16 code_nlocals;
	__u16 code_firstlineno;
	__u16 code_varnames;	/* co_varnames / co_localsplusnames */
	__u16 code_filename;
	__u16 code_name;
	__u16 code_qualname;	/* 0 before 3.11 */
	__u16 code_linetable;	/* co_lnotab / co_linetable */
	__u16 code_adaptive;	/* co_code_adaptive (3.11+) */
	__u16 code_read;	/* bytes to read per code object, <= PY_CODE_READ */
	__u8 owner_cstack;	/* lowest owner value of non-Python frames (C stack / interpreter) */
	__u8 ob_type;		/* PyObject.ob_type; 0: 8, as in every build with a GIL */
	__u16 str_hash;		/* a str's cached hash: PyASCIIObject.hash (3.x),
				 * PyStringObject.ob_shash (2.7) */
	__u16 code_version;	/* co_version (u32, 3.12+): unique per code object */
	__u16 tstate_datastack;	/* tstate->datastack_chunk (3.11+), 0 if absent */
	__u64 code_tag_mask;	/* bits to clear in f_executable (tagged refs, 3.14+) */
};

/* Value of the procs map: everything the walker needs for one process. */
struct py_proc {
	__u64 runtime;		/* &_PyRuntime, or &interp_head (2.7-3.6) */
	__u64 gil_holder;	/* address of the GIL-holder tstate pointer; 0 if n/a */
	__u64 code_type;	/* &PyCode_Type: frames whose executable is not code are skipped */
	struct py_offsets off;
};

/* Value of the tstate cache, in the task's storage: its thread state,
 * re-checked on every use. */
struct py_thread {
	__u64 tstate;		/* 0: no Python thread state found */
	__u64 head;		/* thread list head seen when tstate was 0 */
	__u64 searched;		/* bpf_ktime_get_ns() of that search */
};

/*
 * A thread searched in vain is searched again once its list's head changes
 * (a new thread state), or after this long: a state is put at the head
 * before it is bound to its thread (3.12+ set thread_id later), so a
 * sample between the two must not hide the thread for good.
 */
#define PY_NO_TSTATE_RECHECK_NS (100 * 1000000ULL)

enum py_counter {
	PY_C_SAMPLES,		/* perf samples landing in a known Python process */
	PY_C_EMITTED,		/* stack records written to the ring buffer */
	PY_C_RB_FULL,		/* records dropped: ring buffer full */
	PY_C_NO_TSTATE,		/* thread has no Python thread state (native thread) */
	PY_C_NO_INTERP,		/* interpreter not initialised yet / being torn down */
	PY_C_READ_TSTATE,	/* reading the thread state failed */
	PY_C_READ_FRAME,	/* a frame could not be read (record flagged) */
	PY_C_READ_CODE,		/* a code object could not be read (frame kept, code 0) */
	PY_C_TRUNCATED,		/* deeper than PY_MAX_FRAMES (record flagged) */
	PY_C_SKIPPED_FRAMES,	/* shim / non-code frames skipped (not an error) */
	PY_C_EVENTS_LOST,	/* process events dropped: ring buffer full */
	PY_C_INDEX_SHORT,	/* iterator: a thread list longer than PY_MAX_INDEX
				 * (or the index map full): threads may be missed */
	PY_C_CYCLE,		/* the frame chain came back to a frame (record flagged) */
	PY_C_CORRUPT,		/* a frame is its own caller (record flagged) */
	PY_C_NOT_CODE,		/* a frame's code is not a code object (frame kept) */
	PY_C__MAX,
};

/* The value of the per-CPU counters map's one entry. */
struct py_counters {
	__u64 n[PY_C__MAX];
};

enum py_record_kind {
	PY_REC_STACK = 1,
	PY_REC_EXEC = 2,
	PY_REC_FORK = 3,
	PY_REC_EXIT = 4,
	PY_REC_FRAME_ADDRS = 5,	/* follows a stack record of the same tid (the
				 * task iterator), precedes one (perf samples) */
	PY_REC_NATIVE = 6,	/* precedes a stack record of the same tid */
};

/* struct py_stack_hdr.status bits */
enum py_stack_status {
	PY_S_TRUNCATED = 1 << 0, /* stopped at PY_MAX_FRAMES / PY_MAX_WALK */
	PY_S_READ_ERR = 1 << 1,	 /* the walk ended on an unreadable frame */
	PY_S_GIL = 1 << 2,	 /* the thread held the GIL */
	PY_S_ACTIVE = 1 << 3,	 /* the thread was on a CPU */
	PY_S_CYCLE = 1 << 4,	 /* the walk came back to a frame it had visited */
	PY_S_CORRUPT = 1 << 5,	 /* the walk ended on a frame that is its own caller */
};

/* The bits that say how a stack ended short of its root: a marker each. */
#define PY_S_ENDS (PY_S_TRUNCATED | PY_S_READ_ERR | PY_S_CYCLE | PY_S_CORRUPT)

/*
 * With --native (and in dump's passes), lasti's top bit marks a frame its
 * eval-loop activation began with: the C stack entered Python there (the C frames between it and its
 * caller's frame belong between them in the merged stack). Every frame
 * before 3.11, where each call is its own activation.
 */
#define PY_LASTI_ENTRY (1U << 31)

/* Per frame: userspace symbolizes (code, check) and finds the line from lasti. */
#define PY_CODE_NOT_CODE 1	/* py_frame_rec.code: the frame's code is no code object */

struct py_frame_rec {
	__u64 code;		/* code object address; 0 if unreadable, or PY_CODE_NOT_CODE */
	__u32 lasti;		/* byte offset of the instruction in the bytecode */
	__u32 check;		/* py_code_check() of the code object at sample time */
};

struct py_stack_hdr {
	__u32 kind;		/* PY_REC_STACK */
	__u32 pid;		/* tgid, as the host sees it */
	__u32 tid;
	__u16 cpu;
	__u16 status;
	__u64 ts;		/* bpf_ktime_get_ns(); 0 when not asked for */
	__u64 tstate;
	__u64 pthread_id;
	__u32 nframes;
	__u32 pad;
	char comm[PY_COMM_LEN];	/* the kernel's thread name, NUL-terminated */
};

struct py_stack_rec {
	struct py_stack_hdr hdr;
	struct py_frame_rec frames[PY_MAX_FRAMES];
};

/*
 * --native: the C frames of a sample, unwound in the BPF program from the
 * registers at the tick, by tables the collector derives from each mapped
 * file's CFI (.eh_frame / .debug_frame). Emitted just before the stack
 * record of the same thread: py_native_hdr, then nframes py_native_frame,
 * innermost first.
 */
#define PY_MAX_NATIVE 128	/* C frames kept per sample */
#define PY_NATIVE_MAPS 512	/* executable mappings per process */
#define PY_NATIVE_PAGE_SHIFT 16	/* rows are found through 64 KiB pages of a file */

/* A native frame: in a known file, the link-time address (bias removed),
 * which names it even after the file is unmapped; else the raw address. */
struct py_native_frame {
	__u64 addr;
	__u32 file;		/* py_native_map.file; 0: addr is the raw address */
	__u32 pad;
};

/* Why a native unwind stopped before the stack's first frame. */
enum py_native_end {
	PY_NE_ROOT = 0,		/* the outermost frame: the stack is whole */
	PY_NE_TRUNCATED,	/* PY_MAX_NATIVE frames */
	PY_NE_NO_MAPPING,	/* an address in no known file mapping (JIT, new dlopen) */
	PY_NE_NO_CFI,		/* a file address the tables do not cover */
	PY_NE_UNSUPPORTED,	/* a CFI rule the tables cannot express */
	PY_NE_READ,		/* the stack could not be read */
	PY_NE_BAD_FRAME,	/* a frame that does not move up the stack */
	PY_NE_NO_REGS,		/* no user registers (dump: a thread running on a CPU) */
	PY_NE__MAX,
};

struct py_native_hdr {
	__u32 kind;		/* PY_REC_NATIVE */
	__u32 tid;
	__u32 nframes;
	__u16 end;		/* enum py_native_end */
	__u16 pad;
};

/* One executable mapping of a process (py_native_proc.maps, by start). */
struct py_native_map {
	__u64 start;
	__u64 end;
	__u64 bias;		/* runtime address - link-time address */
	__u32 file;		/* the file's tables (native_pages), never 0 */
	__u32 pad;
};

/* Value of the native_procs map. */
struct py_native_proc {
	__u32 nmaps;
	/* Set by the BPF side when the process unmaps part of a mapping
	 * below: until the collector reads its mappings again, its C frames
	 * are not unwound (a library loaded at the same place would be named
	 * after the one unloaded). */
	__u16 stale;
	/* Set by the BPF side when a sample found no mapping and woke the
	 * collector to read them again: once per read. */
	__u16 woken;
	struct py_native_map maps[PY_NATIVE_MAPS];
};

/* Key of native_pages: the rows for one 64 KiB page of a file's addresses. */
struct py_native_page_key {
	__u32 file;
	__u32 page;		/* link-time address >> PY_NATIVE_PAGE_SHIFT */
};

/* native_rows[first, first + count): the rows in effect in the page, the
 * first of them starting at or before the page. */
struct py_native_page {
	__u32 first;
	__u32 count;
};

/* How the canonical frame address (the caller's stack pointer) is found. */
enum py_native_cfa {
	PY_CFA_NONE = 0,	/* no rule: the unwind stops (PY_NE_NO_CFI) */
	PY_CFA_SP,		/* sp + cfa_off */
	PY_CFA_FP,		/* bp + cfa_off */
	PY_CFA_PLT,		/* PLT entries: sp + 8, + 8 from offset cfa_off of
				 * the 16-byte entry on (past its push) */
	PY_CFA_ROOT,		/* no caller: the outermost frame */
	PY_CFA_UNSUPPORTED,	/* a rule the row cannot express */
};

/* Where the caller's frame pointer is. */
enum py_native_fp {
	PY_FP_SAME = 0,		/* unchanged */
	PY_FP_AT_CFA,		/* saved at cfa + fp_off8 * 8 */
	PY_FP_UNDEFINED,	/* lost: the caller's rules cannot use it */
};

/*
 * One row of a file's unwind table, in effect from pc to the next row's pc.
 * The return address is at cfa - 8 (x86-64); other rules are refused when
 * the table is made.
 */
struct py_native_row {
	__u32 pc;		/* link-time address */
	__u16 cfa_off;
	__s8 fp_off8;
	__u8 kinds;		/* enum py_native_cfa | enum py_native_fp << 4 */
};

/* Frame addresses of a stack record, innermost first (py_addrs_hdr, then
 * nframes __u64): after the task iterator's stack (dump --locals), before a
 * perf sample's (--async). */
struct py_addrs_hdr {
	__u32 kind;		/* PY_REC_FRAME_ADDRS */
	__u32 tid;
	__u32 nframes;
	__u32 pad;
};

/* The task iterator's settings (iter_cfg map, one entry). */
/*
 * What the task iterator tells of a thread on kernels without
 * bpf_copy_from_user_task (before 5.18), where the collector walks the
 * stack itself: the kernel's side of it.
 */
struct py_task_fact {
	__u32 pid;
	__u32 tid;
	__u64 pthread_id;	/* the thread pointer (fs base) */
	__u8 on_cpu;
	__u8 running;		/* TASK_RUNNING: on a CPU or waiting for one */
	__u8 pad[6];
	char comm[PY_COMM_LEN];
};

struct iter_config {
	__u32 pid;		/* only this process; 0: every known process */
	__u8 idle_only;		/* skip running threads (perf samples those) */
	__u8 frame_addrs;	/* also emit PY_REC_FRAME_ADDRS records */
	__u8 entries;		/* mark activations' first frames (dump's is_entry) */
	__u8 pad;
	__u32 gen;		/* the pass: indexes of earlier passes are stale */
	__u32 pad2;
};

/*
 * The task iterator's thread index (iter_threads map): (pid, pthread id) ->
 * thread state, built by one walk of the process's thread list per pass.
 * The entry of pthread id 0 says whether the process was indexed this pass.
 */
struct iter_thread_key {
	__u32 pid;
	__u32 pad;
	__u64 pthread_id;
};

struct iter_thread_val {
	__u64 tstate;		/* marker entry: thread states indexed */
	__u32 gen;
	__u32 whole;		/* marker entry: the list was walked to its end */
};

/* Process lifecycle record (exec, fork, exit). */
struct py_proc_event {
	__u32 kind;
	__u32 pid;
	__u32 ppid;		/* fork: the parent */
	__u32 pad;
	__u64 ts;
};

_Static_assert(sizeof(struct py_offsets) == 80, "py_offsets layout");
_Static_assert(sizeof(struct py_frame_rec) == 16, "py_frame_rec layout");
_Static_assert(sizeof(struct py_stack_hdr) == 64, "py_stack_hdr layout");
_Static_assert(sizeof(struct py_native_row) == 8, "py_native_row layout");
_Static_assert(sizeof(struct py_native_frame) == 16, "py_native_frame layout");
_Static_assert((PY_MAX_NATIVE & (PY_MAX_NATIVE - 1)) == 0 &&
	       (PY_NATIVE_MAPS & (PY_NATIVE_MAPS - 1)) == 0, "native masks");
_Static_assert(PY_FRAME_READ % 8 == 0 && PY_CODE_READ % 8 == 0, "read windows");

/*
 * The check value that ties a sampled code address to the code object that
 * ran: computed in BPF at sample time and in userspace when symbolizing, so a
 * freed and reused address is caught. Pointers alone are not enough: code
 * compiled and dropped in a loop puts the next code object, and its name, at
 * the addresses of the last ones. So ident, which tells code objects apart
 * by more than addresses, is mixed in too. Both sides take it the same way:
 *  - co_version (u32 at code_version, 3.12+) when not 0: every new code
 *    object gets the next value of a counter (0 once the counter wrapped),
 *    and it is in the code object's read window: nothing more to read;
 *  - else the 8 bytes at co_name + str_hash, the name's cached hash (0 when
 *    unreadable or str_hash is 0): a hash of its content, set since co_name
 *    strings are interned. One small read, once per code object per sample.
 */
static inline __u32 py_code_check(__u64 name, __u64 ident, __u64 filename,
				  __u32 firstlineno, __u32 argcount)
{
	__u64 h = name * 0x9E3779B97F4A7C15ULL;

	h ^= ident + 0x2545F4914F6CDD1DULL + (h << 6) + (h >> 2);
	h ^= filename + 0x632BE59BD9B4E019ULL + (h << 6) + (h >> 2);
	h ^= ((__u64)firstlineno << 8) ^ argcount;
	h *= 0xff51afd7ed558ccdULL;
	return (__u32)(h ^ (h >> 32));
}

#endif /* PYSPY_H */
