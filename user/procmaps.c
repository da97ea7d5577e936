// SPDX-License-Identifier: BSD-2-Clause
/* /proc/PID/maps lines; see procmaps.h. */
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include "procmaps.h"

struct cursor {
	const char *p, *end;
};

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* 1 to max_digits digits in base 16 (or 10), no sign, no "0x", no overflow. */
static bool number(struct cursor *c, unsigned int base, unsigned int max_digits, uint64_t *out)
{
	uint64_t v = 0;
	unsigned int n = 0;
	int d;

	while (c->p < c->end) {
		d = hexval(*c->p);
		if (d < 0 || (unsigned int)d >= base)
			break;
		if (++n > max_digits || v > (UINT64_MAX - (unsigned int)d) / base)
			return false;
		v = v * base + (unsigned int)d;
		c->p++;
	}
	*out = v;
	return n > 0;
}

static bool expect(struct cursor *c, char ch)
{
	if (c->p >= c->end || *c->p != ch)
		return false;
	c->p++;
	return true;
}

static void skip_spaces(struct cursor *c)
{
	while (c->p < c->end && *c->p == ' ')
		c->p++;
}

int maps__parse_line(const char *line, size_t len, struct maps_entry *e)
{
	static const char allowed[4][3] = { "r-", "w-", "x-", "ps" };
	struct cursor c = { line, line + len };
	uint64_t dev_major, dev_minor, inode;
	const char *nl;
	int i;

	if (!line || !e)
		return -EINVAL;
	/* 2^64 - 1 needs 16 hex digits; 20 decimal digits for the inode. */
	if (!number(&c, 16, 16, &e->start) || !expect(&c, '-') ||
	    !number(&c, 16, 16, &e->end) || !expect(&c, ' ') || e->start >= e->end)
		return -EINVAL;
	if (c.end - c.p < 5)
		return -EINVAL;
	for (i = 0; i < 4; i++) {
		if (!c.p[i] || !memchr(allowed[i], c.p[i], 2))
			return -EINVAL;
		e->perms[i] = c.p[i];
	}
	e->perms[4] = 0;
	c.p += 4;
	if (!expect(&c, ' ') || !number(&c, 16, 16, &e->offset) || !expect(&c, ' ') ||
	    !number(&c, 16, 8, &dev_major) || !expect(&c, ':') ||
	    !number(&c, 16, 8, &dev_minor) || !expect(&c, ' ') ||
	    !number(&c, 10, 20, &inode))
		return -EINVAL;
	/* An anonymous mapping ends right after the inode (or one space). */
	if (c.p < c.end && *c.p != ' ' && *c.p != '\n')
		return -EINVAL;
	skip_spaces(&c);
	e->path = c.p;
	nl = memchr(c.p, '\n', (size_t)(c.end - c.p));
	e->pathlen = (size_t)((nl ? nl : c.end) - c.p);
	nl = memchr(c.p, 0, e->pathlen);
	if (nl)
		e->pathlen = (size_t)(nl - c.p);
	return 0;
}
