// SPDX-License-Identifier: BSD-2-Clause
#include "utf8.h"

size_t utf8__decode(const char *str, size_t n, uint32_t *cp)
{
	const unsigned char *s = (const unsigned char *)str;
	uint32_t c, min;
	size_t len, i;

	if (!n)
		return 0;
	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if ((s[0] & 0xe0) == 0xc0)
		len = 2, c = s[0] & 0x1f, min = 0x80;
	else if ((s[0] & 0xf0) == 0xe0)
		len = 3, c = s[0] & 0x0f, min = 0x800;
	else if ((s[0] & 0xf8) == 0xf0)
		len = 4, c = s[0] & 0x07, min = 0x10000;
	else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

size_t utf8__next(const char *s, size_t n, uint32_t *cp)
{
	size_t len = utf8__decode(s, n, cp);

	if (len)
		return len;
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
		b[1] = 0x80 | ((cp >> 6) & 0x3f);
		b[2] = 0x80 | (cp & 0x3f);
		return 3;
	}
	b[0] = 0xf0 | cp >> 18;
	b[1] = 0x80 | ((cp >> 12) & 0x3f);
	b[2] = 0x80 | ((cp >> 6) & 0x3f);
	b[3] = 0x80 | (cp & 0x3f);
	return 4;
}

bool utf8__valid(const char *s, size_t n)
{
	uint32_t cp;
	size_t i = 0, len;

	while (i < n) {
		len = utf8__decode(s + i, n - i, &cp);
		if (!len)
			return false;
		i += len;
	}
	return true;
}
