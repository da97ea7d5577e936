// SPDX-License-Identifier: BSD-2-Clause
/*
 * maps__parse_line() on hostile /proc/PID/maps text: the input is split at
 * newlines like a maps file, and also parsed whole as one (cut) line.
 * fuzz-sources: user/procmaps.c
 *
 * Checked: a parsed line has start < end, perms of the form [r-][w-][x-][ps],
 * a path inside the line holding no newline or NUL.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "procmaps.h"

static void check(const char *line, size_t len)
{
	struct maps_entry e;
	char *copy = malloc(len ? len : 1);
	int err;

	if (!copy)
		abort();
	memcpy(copy, line, len);
	memset(&e, 0xa5, sizeof(e));
	err = maps__parse_line(copy, len, &e);
	if (err && err != -EINVAL)
		abort();
	if (!err) {
		if (e.start >= e.end || strlen(e.perms) != 4 ||
		    !strchr("r-", e.perms[0]) || !strchr("w-", e.perms[1]) ||
		    !strchr("x-", e.perms[2]) || !strchr("ps", e.perms[3]))
			abort();
		if (e.path < copy || e.path > copy + len || e.pathlen > (size_t)(copy + len - e.path))
			abort();
		if (memchr(e.path, '\n', e.pathlen) || memchr(e.path, 0, e.pathlen))
			abort();
	}
	free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size, *nl;

	check(p, size);
	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		check(p, (size_t)((nl ? nl + 1 : end) - p));
		p = nl ? nl + 1 : end;
	}
	return 0;
}
