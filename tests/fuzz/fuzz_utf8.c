// SPDX-License-Identifier: BSD-2-Clause
/*
 * The collector's one UTF-8 codec (user/utf8.c) against an independent
 * reading of Unicode's Table 3-7 (byte ranges, not code point arithmetic).
 * fuzz-sources: user/utf8.c
 *
 * Input: any bytes. Checked: utf8__decode accepts exactly the sequences
 * the table allows, with the same length; utf8__put of the decoded code
 * point gives back the same bytes; utf8__next agrees with utf8__decode and
 * gives U+FFFD, 1 for the rest; utf8__valid is true exactly when every
 * step decodes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "utf8.h"

/* The table's well-formed sequence length at s[0..n), or 0. */
static size_t table_len(const unsigned char *s, size_t n)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t len;

	if (!n)
		return 0;
	if (s[0] <= 0x7f)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, lo = s[0] == 0xe0 ? 0xa0 : 0x80, hi = s[0] == 0xed ? 0x9f : 0xbf;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, lo = s[0] == 0xf0 ? 0x90 : 0x80, hi = s[0] == 0xf4 ? 0x8f : 0xbf;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if (s[i] < lo || s[i] > hi)
			return 0;
		lo = 0x80, hi = 0xbf;
	}
	return len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	bool all = true;
	size_t i = 0;

	while (i < size) {
		size_t want = table_len(data + i, size - i), got, next;
		uint32_t cp = 0, cp2 = 0;
		char buf[4];

		got = utf8__decode(s + i, size - i, &cp);
		if (got != want)
			abort();
		next = utf8__next(s + i, size - i, &cp2);
		if (got) {
			if (next != got || cp2 != cp || cp > 0x10ffff ||
			    (cp >= 0xd800 && cp <= 0xdfff))
				abort();
			if (utf8__put(buf, cp) != got || memcmp(buf, s + i, got))
				abort();
			i += got;
		} else {
			if (next != 1 || cp2 != 0xfffd)
				abort();
			all = false;
			i++;
		}
	}
	if (utf8__valid(s, size) != all)
		abort();
	return 0;
}
