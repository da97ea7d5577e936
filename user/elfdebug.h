/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Where the symbols a stripped file lost are found: its separate debug
 * file (by build-id or by .gnu_debuglink, beneath the root directory the
 * file's process sees) and its MiniDebugInfo (.gnu_debugdata, an
 * xz-compressed ELF). What is found is as hostile as the file itself.
 */
#ifndef PYSPY_ELFDEBUG_H
#define PYSPY_ELFDEBUG_H

#include "elffile.h"

/* The most bytes a MiniDebugInfo decompresses to, and the most memory
 * its decoder may take (xz -9 needs 65 MiB). */
#define MINIDEBUG_MAX (64u << 20)
#define MINIDEBUG_MEMLIMIT (80u << 20)

enum elfdebug_how {
	ELFDEBUG_BUILD_ID = 1,	/* /usr/lib/debug/.build-id/xx/rest.debug */
	ELFDEBUG_DEBUGLINK,	/* .gnu_debuglink's name, CRC32 checked */
};

/*
 * Opens path as the process whose root is root sees it ("/proc/PID/root",
 * a container's root; NULL, "" or "/" for ours): symlinks and ".." stay
 * inside root where the kernel has openat2 (RESOLVE_IN_ROOT). Read-only,
 * non-blocking (a FIFO cannot hang the caller). The fd or a negative errno.
 */
int open_in_root(const char *root, const char *path);

/*
 * The separate debug file of ef beneath root: first
 * /usr/lib/debug/.build-id/xx/rest.debug, which must carry ef's build-id;
 * then the .gnu_debuglink name in the folder of path (ef's absolute path
 * inside root; NULL skips this), in its .debug folder, and in
 * /usr/lib/debug/<folder>: the file's CRC32 must be the link's, and its
 * build-id ef's when both have one. 0 with *out (to elffile__free) and
 * *how set, -ENOENT when there is none, or another negative errno.
 */
int elfdebug__find(const struct elffile *ef, const char *root, const char *path,
		   struct elffile **out, enum elfdebug_how *how);

/*
 * ef's MiniDebugInfo, decompressed and opened in memory: 0, -ENOENT when
 * ef has none, -EFBIG when it would exceed MINIDEBUG_MAX bytes or
 * MINIDEBUG_MEMLIMIT of decoder memory, -EINVAL for a corrupt stream,
 * -ENOEXEC when the contents are no ELF file.
 */
int elfdebug__minidebuginfo(const struct elffile *ef, struct elffile **out);

#endif
