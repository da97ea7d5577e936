/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef PYSPY_PATHS_H
#define PYSPY_PATHS_H

#include <stddef.h>
#include <sys/types.h>

/*
 * py-spy's short file name: the path from the outermost enclosing package
 * (the folders that hold an __init__.py, looked up in the process's own root)
 * down to the file, e.g. "json/decoder.py"; a file outside any package keeps
 * only its base name. Names that are not paths ("<string>") stay as they are.
 */
void shorten_filename(pid_t pid, const char *filename, char *out, size_t len);

/*
 * The /proc folder that shows pid's memory, maps, executable, root and
 * command line: "/proc/PID", or, when the thread-group leader has exited
 * (a zombie) while other threads run on, "/proc/PID/task/TID" of one of
 * them: the leader's own files read as empty or fail then. The process's
 * map_files has no per-thread copy.
 */
void proc_dir(pid_t pid, char *buf, size_t len);

#endif
