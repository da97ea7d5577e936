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

/* The state letter of a /proc stat file; 0 when unreadable. */
static char task_state(const char *stat_path)
{
	char buf[512], *p;
	ssize_t n;
	int fd;

	fd = open(stat_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	/* The name may hold spaces and parentheses: the last ')' ends it. */
	p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p[2] : 0;
}

void proc_dir(pid_t pid, char *buf, size_t len)
{
	char path[96];
	struct dirent *de;
	char state;
	DIR *d;

	snprintf(buf, len, "/proc/%d", pid);
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	state = task_state(path);
	if (state != 'Z' && state != 'X')
		return;
	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	d = opendir(path);
	if (!d)
		return;
	while ((de = readdir(d))) {
		long tid = strtol(de->d_name, NULL, 10);

		if (tid <= 0 || tid == pid)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%ld/stat", pid, tid);
		state = task_state(path);
		if (state && state != 'Z' && state != 'X') {
			snprintf(buf, len, "/proc/%d/task/%ld", pid, tid);
			break;
		}
	}
	closedir(d);
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
