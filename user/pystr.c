/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Python str / bytes contents to UTF-8 and to repr(). See pystr.h.
 *
 * Output goes through a small writer that holds at most `cap` bytes (outlen
 * - 1, at most INT_MAX) and only ever takes a whole unit (one character or
 * one escape), so output is cut on unit boundaries and never overruns.
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "pystr.h"

struct writer {
	char *out;
	size_t cap;		/* bytes available before the NUL */
	size_t pos;
};

/* A unit of output: one character or one escape, at most 10 bytes
 * (\UXXXXXXXX). */
struct unit {
	char s[12];
	size_t len;
};

static const char hexdigits[] = "0123456789abcdef";

static int writer_init(struct writer *w, char *out, size_t outlen)
{
	w->out = out;
	w->pos = 0;
	w->cap = 0;
	if (!outlen)
		return -ENOSPC;
	w->cap = outlen - 1 > INT_MAX ? INT_MAX : outlen - 1;
	out[0] = '\0';
	return 0;
}

static bool writer_fits(const struct writer *w, size_t n)
{
	return n <= w->cap - w->pos;
}

/* Appends n bytes if they fit; false (and nothing written) otherwise. */
static bool writer_put(struct writer *w, const char *s, size_t n)
{
	if (!writer_fits(w, n))
		return false;
	memcpy(w->out + w->pos, s, n);
	w->pos += n;
	return true;
}

static int writer_end(struct writer *w, int err)
{
	w->out[w->pos] = '\0';
	return err ? err : (int)w->pos;
}

/* Checks the common arguments; on -EINVAL leaves out as "" if it can. */
static int check_args(unsigned int kind, const void *data, size_t n,
		      char *out, size_t outlen)
{
	if ((kind != 1 && kind != 2 && kind != 4) || (!data && n) ||
	    (!out && outlen) || n > SIZE_MAX / kind) {
		if (out && outlen)
			out[0] = '\0';
		return -EINVAL;
	}
	return 0;
}

static uint32_t code_point(const void *data, unsigned int kind, size_t i)
{
	const unsigned char *p = (const unsigned char *)data + i * kind;
	uint16_t u16;
	uint32_t u32;

	switch (kind) {
	case 1:
		return *p;
	case 2:
		memcpy(&u16, p, sizeof(u16));
		return u16;
	default:
		memcpy(&u32, p, sizeof(u32));
		return u32;
	}
}

static bool is_surrogate(uint32_t cp)
{
	return cp >= 0xd800 && cp <= 0xdfff;
}

/* UTF-8 of a code point that is <= U+10FFFF and not a surrogate. */
static void unit_utf8(struct unit *u, uint32_t cp)
{
	if (cp < 0x80) {
		u->s[0] = (char)cp;
		u->len = 1;
	} else if (cp < 0x800) {
		u->s[0] = (char)(0xc0 | cp >> 6);
		u->s[1] = (char)(0x80 | (cp & 0x3f));
		u->len = 2;
	} else if (cp < 0x10000) {
		u->s[0] = (char)(0xe0 | cp >> 12);
		u->s[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u->s[2] = (char)(0x80 | (cp & 0x3f));
		u->len = 3;
	} else {
		u->s[0] = (char)(0xf0 | cp >> 18);
		u->s[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		u->s[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u->s[3] = (char)(0x80 | (cp & 0x3f));
		u->len = 4;
	}
}

/* Backslash, then c, then ndigits lowercase hex digits of v (0 for none). */
static void unit_escape(struct unit *u, char c, uint32_t v, int ndigits)
{
	int i;

	u->s[0] = '\\';
	u->s[1] = c;
	for (i = 0; i < ndigits; i++)
		u->s[2 + i] = hexdigits[(v >> (4 * (ndigits - 1 - i))) & 0xf];
	u->len = 2 + (size_t)ndigits;
}

int pystr__decode(unsigned kind, const void *data, size_t nchars, char *out,
		  size_t outlen)
{
	struct writer w;
	struct unit u;
	uint32_t cp;
	size_t i;
	int err;

	err = check_args(kind, data, nchars, out, outlen);
	if (err)
		return err;
	if (writer_init(&w, out, outlen))
		return -ENOSPC;
	for (i = 0; i < nchars; i++) {
		cp = code_point(data, kind, i);
		if (cp > 0x10ffff || is_surrogate(cp))
			cp = 0xfffd;
		unit_utf8(&u, cp);
		if (!writer_put(&w, u.s, u.len))
			return writer_end(&w, -ENOSPC);
	}
	return writer_end(&w, 0);
}

/*
 * Length of the well-formed UTF-8 sequence at s[0 .. n), or 0 if s[0] does
 * not start one (Unicode Table 3-7: no overlong forms, no surrogates,
 * nothing above U+10FFFF).
 */
static size_t utf8_seq_len(const unsigned char *s, size_t n)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t len, i;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		if (s[0] == 0xe0)
			lo = 0xa0;
		else if (s[0] == 0xed)
			hi = 0x9f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		if (s[0] == 0xf0)
			lo = 0x90;
		else if (s[0] == 0xf4)
			hi = 0x8f;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if (s[i] < lo || s[i] > hi)
			return 0;
		lo = 0x80;
		hi = 0xbf;
	}
	return len;
}

int pystr__from_bytes(const void *data, size_t len, char *out, size_t outlen)
{
	const unsigned char *s = data;
	struct writer w;
	struct unit u;
	size_t i = 0, n;
	int err;

	err = check_args(1, data, len, out, outlen);
	if (err)
		return err;
	if (writer_init(&w, out, outlen))
		return -ENOSPC;
	while (i < len) {
		n = utf8_seq_len(s + i, len - i);
		if (n) {
			if (!writer_put(&w, (const char *)s + i, n))
				return writer_end(&w, -ENOSPC);
			i += n;
			continue;
		}
		unit_escape(&u, 'x', s[i], 2);
		if (!writer_put(&w, u.s, u.len))
			return writer_end(&w, -ENOSPC);
		i++;
	}
	return writer_end(&w, 0);
}

/* ------------------------------------------------------------------ repr */

struct cp_range {
	uint32_t first, last;
};

/*
 * Code points for which str.isprintable() is false (categories Cc, Cf, Cs,
 * Co, Cn, Zl, Zp and Zs other than U+0020), as sorted inclusive ranges.
 */
/* BEGIN GENERATED nonprintable */
static const struct cp_range nonprintable[] = {
	{ 0x0, 0x1f },
};
#define UNICODE_VERSION "none"
/* END GENERATED nonprintable */

static bool is_printable(uint32_t cp)
{
	size_t lo = 0, hi = sizeof(nonprintable) / sizeof(nonprintable[0]);
	size_t mid;

	if (cp > 0x10ffff)
		return false;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (cp < nonprintable[mid].first)
			hi = mid;
		else if (cp > nonprintable[mid].last)
			lo = mid + 1;
		else
			return false;
	}
	return true;
}

/* The escapes both reprs share; false if c is left for the caller. */
static bool unit_ascii(struct unit *u, uint32_t c, char quote)
{
	if (c == (uint32_t)quote || c == '\\') {
		u->s[0] = '\\';
		u->s[1] = (char)c;
		u->len = 2;
	} else if (c == '\t') {
		unit_escape(u, 't', 0, 0);
	} else if (c == '\n') {
		unit_escape(u, 'n', 0, 0);
	} else if (c == '\r') {
		unit_escape(u, 'r', 0, 0);
	} else if (c < ' ' || c == 0x7f) {
		unit_escape(u, 'x', c, 2);
	} else if (c < 0x7f) {
		u->s[0] = (char)c;
		u->len = 1;
	} else {
		return false;
	}
	return true;
}

static void unit_repr_str(struct unit *u, uint32_t cp, char quote)
{
	if (unit_ascii(u, cp, quote))
		return;
	if (is_printable(cp))
		unit_utf8(u, cp);
	else if (cp <= 0xff)
		unit_escape(u, 'x', cp, 2);
	else if (cp <= 0xffff)
		unit_escape(u, 'u', cp, 4);
	else
		unit_escape(u, 'U', cp, 8);
}

static void unit_repr_byte(struct unit *u, uint32_t b, char quote)
{
	if (!unit_ascii(u, b, quote))
		unit_escape(u, 'x', b, 2);
}

/* Python's choice: single quotes unless the text has ' and no ". */
static char repr_quote(unsigned int kind, const void *data, size_t n)
{
	bool squote = false, dquote = false;
	uint32_t c;
	size_t i;

	for (i = 0; i < n && !(squote && dquote); i++) {
		c = code_point(data, kind, i);
		squote |= c == '\'';
		dquote |= c == '"';
	}
	return squote && !dquote ? '"' : '\'';
}

static int repr(unsigned int kind, const void *data, size_t n, bool bytes,
		char *out, size_t outlen)
{
	static const char dots[] = "...";
	const size_t ndots = sizeof(dots) - 1;
	struct writer w;
	struct unit u;
	size_t i, openlen, mark = 0;
	bool have_mark = false;
	char quote, open[2];
	int err;

	err = check_args(kind, data, n, out, outlen);
	if (err)
		return err;
	if (writer_init(&w, out, outlen))
		return -ENOSPC;
	quote = repr_quote(kind, data, n);
	openlen = 0;
	if (bytes)
		open[openlen++] = 'b';
	open[openlen++] = quote;

	/*
	 * Write whole units while they fit with room for the closing quote;
	 * remember the last unit boundary that also leaves room for "...".
	 */
	if (!writer_put(&w, open, openlen) || !writer_fits(&w, 1))
		goto truncate;
	have_mark = writer_fits(&w, 1 + ndots);
	mark = w.pos;
	for (i = 0; i < n; i++) {
		if (bytes)
			unit_repr_byte(&u, code_point(data, kind, i), quote);
		else
			unit_repr_str(&u, code_point(data, kind, i), quote);
		if (!writer_fits(&w, u.len + 1))
			goto truncate;
		writer_put(&w, u.s, u.len);
		if (writer_fits(&w, 1 + ndots)) {
			have_mark = true;
			mark = w.pos;
		}
	}
	writer_put(&w, &quote, 1);
	return writer_end(&w, 0);

truncate:
	if (w.pos >= openlen && have_mark) {
		w.pos = mark;
		writer_put(&w, &quote, 1);
		writer_put(&w, dots, ndots);
	} else {
		w.pos = 0;
		writer_put(&w, dots, w.cap < ndots ? w.cap : ndots);
	}
	return writer_end(&w, -ENOSPC);
}

int pystr__repr_str(unsigned kind, const void *data, size_t nchars, char *out,
		    size_t outlen)
{
	return repr(kind, data, nchars, false, out, outlen);
}

int pystr__repr_bytes(const void *data, size_t len, char *out, size_t outlen)
{
	return repr(1, data, len, true, out, outlen);
}
