// SPDX-License-Identifier: BSD-2-Clause
/*
 * textesc__str / textesc__cols / textesc__fputs on hostile names, at a
 * fuzzed output size and width.
 * fuzz-sources: user/textesc.c user/utf8.c
 *
 * Input: output size (2, little endian), width (1), then the text (cut at
 * its first NUL). Checked, per textesc.h: the full result is at most 4
 * times the input, valid UTF-8 with no C0, DEL, C1 or bidi control; the
 * FILE variant writes the same; a cut result is a prefix of the full one,
 * -ENOSPC only when the full one did not fit, NUL-terminated.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "textesc.h"

#define HDR 3

static void check_safe(const char *s, size_t n)
{
	size_t k;
	uint32_t cp;

	for (; n; s += k, n -= k) {
		k = utf8__next(s, n, &cp);
		if ((cp == 0xfffd && k == 1) || cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) ||
		    textesc__reorders(cp))
			abort();
	}
}

static void check_cut(int rc, const char *out, size_t outlen, const char *full, int frc)
{
	size_t len;

	if (!outlen) {
		if (rc != -ENOSPC)
			abort();
		return;
	}
	len = strlen(out);
	if (len >= outlen || memcmp(out, full, len))
		abort();
	if (rc >= 0 ? (size_t)rc != len : rc != -ENOSPC)
		abort();
	if (rc == -ENOSPC && len == (size_t)frc)
		abort();
	check_safe(out, len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t outlen, cols, n, flen = 0;
	char *in, *out, *full, *fbuf = NULL;
	int rc, frc;
	FILE *f;

	if (size < HDR)
		return 0;
	outlen = data[0] | (size_t)data[1] << 8;
	cols = data[2];
	n = strnlen((const char *)data + HDR, size - HDR);
	in = malloc(n + 1);
	out = malloc(outlen ? outlen : 1);
	full = malloc(4 * n + 1);
	if (!in || !out || !full)
		abort();
	memcpy(in, data + HDR, n);
	in[n] = 0;

	frc = textesc__str(in, full, 4 * n + 1);
	if (frc < 0 || (size_t)frc > 4 * n || full[frc])
		abort();
	check_safe(full, frc);
	f = open_memstream(&fbuf, &flen);
	if (!f)
		abort();
	textesc__fputs(in, f);
	if (fclose(f) || flen != (size_t)frc || memcmp(fbuf, full, flen))
		abort();

	rc = textesc__str(in, outlen ? out : NULL, outlen);
	check_cut(rc, out, outlen, full, frc);
	if (rc >= 0 && rc != frc)
		abort();
	rc = textesc__cols(in, cols, outlen ? out : NULL, outlen);
	check_cut(rc, out, outlen, full, frc);

	free(fbuf);
	free(in);
	free(out);
	free(full);
	return 0;
}
