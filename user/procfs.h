/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Readers of /proc: a process's folder, its stat fields, command line and
 * namespace pid. Every file is read once, in one go, and what a hostile
 * task put in its name (spaces, parentheses) cannot shift the fields.
 */
#ifndef PYSPY_PROCFS_H
#define PYSPY_PROCFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * The /proc folder that shows pid's memory, maps, executable, root and
 * command line: "/proc/PID", or, when the thread-group leader has exited
 * (a zombie) while other threads run on, "/proc/PID/task/TID" of one of
 * them: the leader's own files read as empty or fail then. The process's
 * map_files has no per-thread copy.
 */
void proc_dir(pid_t pid, char *buf, size_t len);
/* Reads /proc/PID/cmdline joined by spaces; 0 or negative errno. */
int read_cmdline(pid_t pid, char *buf, size_t len);
/* The innermost NSpid of /proc/PID/status: the pid its container sees. */
pid_t proc_ns_pid(pid_t pid);
/* Field 22 of /proc/PID/stat; 0 when unreadable. */
uint64_t proc_start_time(pid_t pid);

/*
 * Reads a stat file (PATH) into buf and returns where its fields after the
 * name start (the ')' that closes it), or NULL. The name may hold spaces
 * and parentheses: the last ')' ends it.
 */
char *procfs__stat_fields(const char *path, char *buf, size_t len);
/* The state letter of a stat file; 0 when unreadable. */
char procfs__state(const char *stat_path);
/* 1 when the task of a stat file is dead or exiting (PF_EXITING), 0 when
 * it runs, -1 when the file cannot be read (the task is gone too). */
int procfs__task_exiting(const char *stat_path);
/*
 * The process no longer runs: no such pid, a zombie waiting to be reaped, or
 * every thread in exit (killed; its memory is going).
 */
bool proc_gone(pid_t pid);
/* The parent of pid; 0 when unreadable. */
pid_t procfs__ppid(pid_t pid);
/* The processes whose parent is ppid, from /proc (at most max, into out).
 * Returns the count. */
size_t procfs__children(pid_t ppid, pid_t *out, size_t max);
/* How many threads pid has (field 20 of its stat); 0 when unreadable. */
unsigned int procfs__threads(pid_t pid);

#endif
