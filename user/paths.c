// SPDX-License-Identifier: BSD-2-Clause
#include <dirent.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "paths.h"

/* Package levels climbed at most. */
#define MAX_PACKAGE_DEPTH 32

/* A ".." component would walk out of /proc/PID/root (a container's root
 * is a folder of the host): such a name is never looked up. */
static bool climbs(const char *path)
{
	for (const char *p = path; (p = strstr(p, "..")); p += 2)
		if ((p == path || p[-1] == '/') && (p[2] == '/' || !p[2]))
			return true;
	return false;
}

void shorten_filename(pid_t pid, const char *filename, char *out, size_t len)
{
	char probe[4200], dir[64];
	const char *start, *p, *root;
	int depth;

	if (!len)
		return;
	/* "<string>", "<frozen ...>" and other names that are not paths */
	if (filename[0] == '<' || !filename[0]) {
		snprintf(out, len, "%s", filename);
		return;
	}
	/* Paths are looked up as the process sees them: its root, or its
	 * working folder for a relative path. */
	root = filename[0] == '/' ? "root" : "cwd/";
	start = strrchr(filename, '/');
	if (!start || climbs(filename)) {
		if (start)
			filename = start + 1;
		snprintf(out, len, "%s", filename);
		return;
	}
	proc_dir(pid, dir, sizeof(dir));
	for (depth = 0; start > filename && depth < MAX_PACKAGE_DEPTH; depth++) {
		/* start points at the '/' before the current name; the folder holding
		 * it is filename[0 .. start). */
		int dirlen = (int)(start - filename);

		if (snprintf(probe, sizeof(probe), "%s/%s%.*s/__init__.py", dir, root, dirlen,
			     filename) >= (int)sizeof(probe) ||
		    access(probe, F_OK))
			break;
		for (p = start - 1; p > filename && *p != '/'; p--)
			;
		start = p;
	}
	snprintf(out, len, "%s", start[0] == '/' ? start + 1 : start);
}
