// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include "textesc.h"
#include "utf8.h"

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

