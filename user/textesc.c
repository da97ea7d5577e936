// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include "textesc.h"

/* Longest escape: "\u202e". */
#define ESC_MAX 6

bool textesc__reorders(uint32_t cp)
{
	return cp == 0x061c || cp == 0x200e || cp == 0x200f ||
	       (cp >= 0x2028 && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

/*
 * The next character of s (n bytes left): sets *k to its length in s and
 * returns the length of its escape in esc, or 0 when it is shown as is.
 */
static size_t next(const char *s, size_t n, size_t *k, char esc[ESC_MAX + 1])
{
	static const char hex[] = "0123456789abcdef";
	uint32_t cp;

	*k = utf8__next(s, n, &cp);
	if (cp == 0xfffd && *k == 1)
		cp = (unsigned char)s[0];	/* a stray byte: shown as \xNN */
	else if (cp >= 0x20 && cp != 0x7f && !(cp >= 0x80 && cp <= 0x9f) && !textesc__reorders(cp))
		return 0;
	esc[0] = '\\';
	switch (cp) {
	case '\n':
		esc[1] = 'n';
		return 2;
	case '\r':
		esc[1] = 'r';
		return 2;
	case '\t':
		esc[1] = 't';
		return 2;
	}
	if (cp <= 0xff) {
		esc[1] = 'x';
		esc[2] = hex[cp >> 4];
		esc[3] = hex[cp & 0xf];
		return 4;
	}
	esc[1] = 'u';
	esc[2] = hex[cp >> 12 & 0xf];
	esc[3] = hex[cp >> 8 & 0xf];
	esc[4] = hex[cp >> 4 & 0xf];
	esc[5] = hex[cp & 0xf];
	return 6;
}

/* s escaped into out, at most max characters of the result (see textesc.h). */
static int escape(const char *s, size_t max, char *out, size_t outlen)
{
	size_t n = strlen(s), at = 0, k, e;
	char esc[ESC_MAX + 1];

	if (!outlen)
		return -ENOSPC;
	for (; n; s += k, n -= k) {
		const char *piece = esc;
		size_t chars;

		e = next(s, n, &k, esc);
		chars = e;	/* an escape is ASCII */
		if (!e) {
			piece = s;
			e = k;
			chars = 1;
		}
		if (e >= outlen - at || at + e > INT_MAX || chars > max) {
			out[at] = 0;
			return -ENOSPC;
		}
		memcpy(out + at, piece, e);
		at += e;
		max -= chars;
	}
	out[at] = 0;
	return at;
}

int textesc__str(const char *s, char *out, size_t outlen)
{
	return escape(s, SIZE_MAX, out, outlen);
}

int textesc__cols(const char *s, size_t cols, char *out, size_t outlen)
{
	return escape(s, cols, out, outlen);
}

void textesc__fputs(const char *s, FILE *f)
{
	size_t n = strlen(s), k, e, run = 0;
	char esc[ESC_MAX + 1];

	/* Runs of characters shown as they are go out in one write. */
	for (; n; n -= k) {
		e = next(s + run, n, &k, esc);
		if (!e) {
			run += k;
			continue;
		}
		fwrite(s, 1, run, f);
		fwrite(esc, 1, e, f);
		s += run + k;
		run = 0;
	}
	fwrite(s, 1, run, f);
}

size_t utf8__next(const char *str, size_t n, uint32_t *cp)
{
	const unsigned char *s = (const unsigned char *)str;
	uint32_t c, min;
	size_t len, i;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if ((s[0] & 0xe0) == 0xc0) {
		len = 2, c = s[0] & 0x1f, min = 0x80;
	} else if ((s[0] & 0xf0) == 0xe0) {
		len = 3, c = s[0] & 0x0f, min = 0x800;
	} else if ((s[0] & 0xf8) == 0xf0) {
		len = 4, c = s[0] & 0x07, min = 0x10000;
	} else {
		goto bad;
	}
	if (len > n)
		goto bad;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			goto bad;
		c = c << 6 | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		goto bad;
	*cp = c;
	return len;
bad:
	*cp = 0xfffd;
	return 1;
}

size_t utf8__put(char *buf, uint32_t cp)
{
	unsigned char *b = (unsigned char *)buf;

	if (cp < 0x80) {
		b[0] = cp;
		return 1;
	}
	if (cp < 0x800) {
		b[0] = 0xc0 | cp >> 6;
		b[1] = 0x80 | (cp & 0x3f);
		return 2;
	}
	if (cp < 0x10000) {
		b[0] = 0xe0 | cp >> 12;
		b[1] = 0x80 | (cp >> 6 & 0x3f);
		b[2] = 0x80 | (cp & 0x3f);
		return 3;
	}
	b[0] = 0xf0 | cp >> 18;
	b[1] = 0x80 | (cp >> 12 & 0x3f);
	b[2] = 0x80 | (cp >> 6 & 0x3f);
	b[3] = 0x80 | (cp & 0x3f);
	return 4;
}
