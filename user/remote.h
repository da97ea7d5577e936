/* SPDX-License-Identifier: BSD-2-Clause */
/* Reading a target's memory without stopping it or waiting on it (/proc/PID/mem). */
#ifndef PYSPY_REMOTE_H
#define PYSPY_REMOTE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Reads exactly len bytes at addr; 0 or negative errno. */
int remote_read(pid_t pid, uint64_t addr, void *buf, size_t len);
/*
 * Reads of pid come from fn (the memory of a core dump) instead of
 * /proc/PID/mem; fn NULL: from /proc again. One source at a time.
 */
typedef int (*remote_source_fn)(void *ctx, uint64_t addr, void *buf, size_t len);
void remote_set_source(pid_t pid, remote_source_fn fn, void *ctx);
/* Closes what is kept open to read pid: called when the process is dropped. */
void remote_forget(pid_t pid);
static inline int remote_read_u64(pid_t pid, uint64_t addr, uint64_t *v)
{
	return remote_read(pid, addr, v, sizeof(*v));
}

#endif
