/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * One line of /proc/PID/maps, parsed without sscanf and without trusting the
 * line: the file name is whatever the target mapped, and a line can be cut
 * anywhere by a short read.
 */
#ifndef PYSPY_PROCMAPS_H
#define PYSPY_PROCMAPS_H

#include <stddef.h>
#include <stdint.h>

struct maps_entry {
	uint64_t start, end;	/* start < end */
	uint64_t offset;	/* file offset of start */
	char perms[5];		/* "r-xp", NUL-terminated */
	const char *path;	/* into the line; "" for an anonymous mapping */
	size_t pathlen;		/* bytes of path, up to the newline or len */
};

/*
 * Parses "start-end perms offset major:minor inode [path]" from line[0 ..
 * len) (a trailing newline, if any, ends the path; a NUL inside the path ends
 * it too). Returns 0, or -EINVAL for a line that is not a mapping: missing or
 * over-long numbers (more than 16 hex digits), start >= end, bad perms.
 * A path of a file mapping starts with '/'; pseudo paths such as "[heap]"
 * are returned as they are.
 */
int maps__parse_line(const char *line, size_t len, struct maps_entry *e);

#endif
