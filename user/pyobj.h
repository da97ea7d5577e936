/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Python objects read out of a live process (dump --locals, thread names).
 * Implemented in user/pyobj_*.c; user/pyobj_int.h says which file does what.
 *
 * Everything read from the target is hostile: pointers may dangle, lengths
 * may be garbage, containers may contain themselves, and the process keeps
 * running while we read. Every length, count, depth and the number of
 * remote reads is capped (PYOBJ_* below); a bad object becomes a
 * placeholder, never a crash or an unbounded loop.
 *
 * Reprs follow Python 3's repr() (py-spy's dump format):
 *   int, bool, float, None  as repr() (floats: shortest round-trip form);
 *   str                     quoted and escaped as repr(); 2.7 unicode too
 *                           (no u prefix); 2.7 str as Python 2's repr
 *                           (bytes escapes, no b prefix);
 *   bytes                   b'...';
 *   list, tuple, dict       recursive; a container met again inside itself
 *                           is [...], (...) or {...} as in Python, and so is
 *                           one nested deeper than PYOBJ_MAX_DEPTH;
 *   cell (locals only)      its contents;
 *   anything else           <TYPENAME at 0xADDR> (tp_name; heap types, i.e.
 *                           classes, and subclasses of builtins included);
 *   object unreadable       <unreadable at 0xADDR> (also a bad type pointer);
 *   NULL inside a container <NULL>;
 *   inconsistent contents   <TYPENAME at 0xADDR> (e.g. a negative length);
 *   ints > PYOBJ_MAX_LONG_DIGITS digits  <int at 0xADDR>.
 * A repr longer than the budget is cut to budget - 3 bytes (at a UTF-8
 * character boundary) followed by "...". A truncated string's quote is
 * chosen from the part read.
 */
#ifndef PYSPY_PYOBJ_H
#define PYSPY_PYOBJ_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "model.h"
#include "offsets.h"
#include "symcache.h"

struct py_process;

/* Largest budget honoured (bytes of repr). */
#define PYOBJ_MAX_BUDGET 65536
/* Containers nested deeper than this are shown as [...], (...), {...}. */
#define PYOBJ_MAX_DEPTH 12
/* Remote reads per repr, per frame (all locals) and per thread-name scan. */
#define PYOBJ_MAX_READS 4096
#define PYOBJ_MAX_FRAME_READS 65536
#define PYOBJ_MAX_SCAN_READS 65536
/* Locals listed per frame (the first ones in co_varnames order). */
#define PYOBJ_MAX_LOCALS 1024
/* Digits (30 bits each) of the largest int printed in decimal (~1150 digits). */
#define PYOBJ_MAX_LONG_DIGITS 128
/* Dict slots or entries visited, per dict. */
#define PYOBJ_MAX_DICT_SLOTS (1u << 22)
/* Interpreters searched for thread names. */
#define PYOBJ_MAX_INTERPS 8

struct pyobj_reader {
	pid_t pid;
	unsigned int major, minor;
	const struct py_offsets *off;		/* the process's (bpf/pyspy.h) */
	const struct py_obj_offsets *obj;
	const struct str_layout *sl;		/* user/symcache.h */
	uint64_t runtime;			/* &_PyRuntime, or &interp_head on 2.7/3.6 (as struct py_proc.runtime) */
};

/*
 * A reader for an opened process: its offsets, strings and runtime address,
 * and the object offsets (the version's table overridden by _Py_DebugOffsets
 * on 3.13+), which go to *obj (it must outlive the reader, as p must).
 * 0 or negative errno.
 */
int pyobj__reader_init(struct pyobj_reader *r, struct py_obj_offsets *obj,
		       const struct py_process *p);

/*
 * Python-3-style repr of the object at addr into out (see above), at most
 * min(budget, PYOBJ_MAX_BUDGET, outlen - 1) bytes and always NUL-terminated
 * when outlen > 0. Returns 0 when the object itself was read (its contents
 * may still hold placeholders), else a negative errno with
 * "<unreadable at 0x...>" in out; -EINVAL for bad arguments.
 */
int pyobj__repr(const struct pyobj_reader *r, uint64_t addr, size_t budget,
		char *out, size_t outlen);

/*
 * Arguments and locals of a frame: frame_addr is the PyFrameObject (<= 3.10)
 * or _PyInterpreterFrame (3.11+), code_addr its code object. Names from
 * co_varnames (+ co_cellvars on <= 3.10) or co_localsplusnames (3.11+),
 * values from the frame's localsplus. Plain locals and cell variables are
 * listed, cells showing their contents (so an argument captured by a closure
 * keeps its value); free variables (the enclosing function's) and 3.12+
 * hidden comprehension locals are not. Unbound (NULL) locals are omitted.
 * arg: index < co_argcount + co_kwonlyargcount + varargs + varkw (<= 3.10
 * cells: named like such an argument). Each repr gets budget bytes.
 * Fills a calloc'ed array in *out (free with pyobj__free_locals), *n its
 * length; 0 or negative errno (nothing allocated then).
 */
int pyobj__frame_locals(const struct pyobj_reader *r, uint64_t frame_addr,
			uint64_t code_addr, size_t budget,
			struct local_variable **out, unsigned int *n);
void pyobj__free_locals(struct local_variable *v, unsigned int n);

/*
 * threading._active of every interpreter of the process: pthread ident ->
 * the Thread's name ("MainThread", "Thread-1 (worker)"), from
 * sys.modules['threading']._active and each Thread's _name attribute
 * (_Thread__name on 2.7) in its instance dict, managed dict (3.11+) or
 * inline values (3.13+). At most max entries. Returns the count, -ENOENT
 * when no interpreter has imported threading, or another negative errno.
 */
struct py_thread_name {
	uint64_t ident;
	uint64_t native_id;	/* Thread._native_id (3.8+): the kernel tid; 0 if unknown */
	char name[128];
};
int pyobj__thread_names(const struct pyobj_reader *r, struct py_thread_name *out,
			size_t max);

/*
 * The thread states of every interpreter, in their lists' order (a list is
 * newest first), at most max. Returns the count (those read before an
 * unreadable link included), or a negative errno when none was read.
 */
int pyobj__thread_states(const struct pyobj_reader *r, uint64_t *out, size_t max);

/*
 * asyncio's tasks (3.11+; user/pyobj_tasks.c says where they are found).
 * 3.14+ needs the _asyncio module's debug offsets (its .AsyncioDebug
 * section, _Py_AsyncioModuleDebugOffsets, as it is laid out there).
 */
struct py_asyncio_debug {
	uint64_t task_size, task_name, task_awaited_by, task_is_task,
		 task_awaited_by_is_set, task_coro, task_node;
	uint64_t interp_size, interp_tasks_head;
	uint64_t ts_size, ts_running_loop, ts_running_task, ts_tasks_head;
};

/* Tasks read per process; coroutine frames per task; awaiters kept per task. */
#define PYOBJ_MAX_TASKS 4096
#define PYOBJ_TASK_FRAMES 32
#define PYOBJ_TASK_AWAITERS 4

struct py_task {
	uint64_t addr;
	uint64_t coro;
	uint64_t waiter;	/* fut_waiter: the future it waits on; 0 if none */
	/* The thread state running it (3.14+; 1 when running on a thread not
	 * known, before 3.14); 0 when it is not running. */
	uint64_t thread;
	uint64_t awaited_by[PYOBJ_TASK_AWAITERS];	/* tasks awaiting it */
	unsigned int nawaited_by;
	/* Its coroutine's frame (_PyInterpreterFrame), then, when it is
	 * suspended, those of the coroutines it awaits through, outermost
	 * first. */
	uint64_t frames[PYOBJ_TASK_FRAMES];
	unsigned int nframes;
	char name[128];		/* UTF-8, cut to fit */
};

/*
 * Every task found, at most max (and PYOBJ_MAX_TASKS): the count (0 when
 * asyncio.tasks is not imported or holds none), -EPROTONOSUPPORT before 3.11
 * and on 3.14+ without dbg, or another negative errno.
 */
int pyobj__tasks(const struct pyobj_reader *r, const struct py_asyncio_debug *dbg,
		 struct py_task *out, size_t max);

/* tp_name of the object's type (printable ASCII). 0 or negative errno. */
int pyobj__type_name(const struct pyobj_reader *r, uint64_t addr, char *out,
		     size_t outlen);
/*
 * A str (2.7: str or unicode) as UTF-8, cut to fit outlen. 0, -ENOSPC when
 * cut, -EINVAL when not a string, or another negative errno.
 */
int pyobj__str(const struct pyobj_reader *r, uint64_t addr, char *out,
	       size_t outlen);

#endif
