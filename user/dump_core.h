/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * dump --core: the Python process an ELF core dump holds, read with the
 * collector's own walker (uwalk.c) and object readers, their reads served
 * by the core instead of /proc/PID/mem.
 */
#ifndef PYSPY_DUMP_CORE_H
#define PYSPY_DUMP_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include "uwalk.h"

struct py_process;
struct core_proc;

/*
 * Opens the core at path and the interpreter its process ran. Returns 0,
 * or with the reason in why: -ENOENT and the like when the core cannot be
 * opened, -EINVAL when it is no core this can read (or cut short),
 * -EPROTONOSUPPORT when its process runs no CPython that can be read (or
 * the interpreter's file is missing or not the one it ran).
 */
int core_proc__open(const char *path, struct core_proc **out, char *why, size_t whylen);
void core_proc__free(struct core_proc *cp);
struct py_process *core_proc__process(struct core_proc *cp);
/* The program's file, as the process named it ("" if the core does not say). */
const char *core_proc__exe(const struct core_proc *cp);
/*
 * Walks every thread of the core as dump's task iterator does: a stack
 * record (and its frame addresses when frame_addrs) per Python thread, to
 * emit. A thread found outside any system call is active; its GIL flag
 * is what the memory says. 0 or negative errno.
 */
int core_proc__walk(struct core_proc *cp, bool frame_addrs, uwalk_emit_fn emit, void *ctx);

#endif
