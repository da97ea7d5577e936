/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef PYSPY_PATHS_H
#define PYSPY_PATHS_H

#include <stddef.h>
#include <sys/types.h>
#include "procfs.h"	/* proc_dir(), which callers of these use too */

/*
 * py-spy's short file name: the path from the outermost enclosing package
 * (the folders that hold an __init__.py, looked up in the process's own root)
 * down to the file, e.g. "json/decoder.py"; a file outside any package keeps
 * only its base name. Names that are not paths ("<string>") stay as they are.
 */
void shorten_filename(pid_t pid, const char *filename, char *out, size_t len);

#endif
