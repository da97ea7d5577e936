/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Well-formed UTF-8 as the Unicode Standard's table 3-7 lists it, byte
 * range by byte range: the tests' oracle, written apart from user/utf8.c's
 * decoder so that a mistake in one is not repeated in the other.
 */
#ifndef TESTS_COMMON_UTF8_ORACLE_H
#define TESTS_COMMON_UTF8_ORACLE_H

#include <stdbool.h>
#include <stddef.h>

/* The length of the well-formed sequence at s, 0 if it is ill-formed or
 * cut short by n. */
static inline size_t utf8_oracle_seq(const unsigned char *s, size_t n)
{
	static const struct {
		unsigned char lo[4], hi[4];
		size_t len;
	} rows[] = {
		{ { 0x00 }, { 0x7f }, 1 },
		{ { 0xc2, 0x80 }, { 0xdf, 0xbf }, 2 },
		{ { 0xe0, 0xa0, 0x80 }, { 0xe0, 0xbf, 0xbf }, 3 },
		{ { 0xe1, 0x80, 0x80 }, { 0xec, 0xbf, 0xbf }, 3 },
		{ { 0xed, 0x80, 0x80 }, { 0xed, 0x9f, 0xbf }, 3 },
		{ { 0xee, 0x80, 0x80 }, { 0xef, 0xbf, 0xbf }, 3 },
		{ { 0xf0, 0x90, 0x80, 0x80 }, { 0xf0, 0xbf, 0xbf, 0xbf }, 4 },
		{ { 0xf1, 0x80, 0x80, 0x80 }, { 0xf3, 0xbf, 0xbf, 0xbf }, 4 },
		{ { 0xf4, 0x80, 0x80, 0x80 }, { 0xf4, 0x8f, 0xbf, 0xbf }, 4 },
	};
	size_t r, k;

	if (!n)
		return 0;
	for (r = 0; r < sizeof(rows) / sizeof(rows[0]); r++) {
		if (s[0] < rows[r].lo[0] || s[0] > rows[r].hi[0])
			continue;
		if (rows[r].len > n)
			return 0;
		for (k = 1; k < rows[r].len; k++)
			if (s[k] < rows[r].lo[k] || s[k] > rows[r].hi[k])
				return 0;
		return rows[r].len;
	}
	return 0;
}

/* Every byte of s[0..n) in well-formed sequences. */
static inline bool utf8_oracle_ok(const unsigned char *s, size_t n)
{
	size_t i = 0, k;

	while (i < n) {
		k = utf8_oracle_seq(s + i, n - i);
		if (!k)
			return false;
		i += k;
	}
	return true;
}

#endif
