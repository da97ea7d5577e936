// SPDX-License-Identifier: BSD-2-Clause
/*
 * pystr__decode / from_bytes / repr_str / repr_bytes on hostile contents,
 * at a fuzzed output size.
 * fuzz-sources: user/pystr.c user/utf8.c
 *
 * Input: function (1 byte), kind (1: 1, 2, 4 or a bad kind), output size (2,
 * little endian), then the code units. Input and output buffers are exactly
 * sized (the input misaligned) so ASan sees any access outside them.
 * Checked, per pystr.h: the return value is a length, -ENOSPC or -EINVAL
 * (bad kind only); out is NUL-terminated; it is valid UTF-8 up to the NUL;
 * the full result is returned when the buffer is large enough; a truncated
 * decode is a prefix of the full result; a truncated repr is a prefix of
 * the full repr closed by its quote and "...", or a prefix of "...".
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "pystr.h"
#include "utf8_oracle.h"

#define HDR 4

static int call(int fn, unsigned kind, const void *data, size_t n, char *out, size_t outlen)
{
	switch (fn) {
	case 0:
		return pystr__decode(kind, data, n, out, outlen);
	case 1:
		return pystr__from_bytes(data, n, out, outlen);
	case 2:
		return pystr__repr_str(kind, data, n, out, outlen);
	default:
		return pystr__repr_bytes(data, n, out, outlen);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned kinds[] = { 1, 2, 4, 1, 2, 4, 1, 3 };
	unsigned kind;
	size_t n, nbytes, outlen, fulllen, len;
	char *in, *out, *full;
	int fn, rc, frc;

	if (size < HDR)
		return 0;
	fn = data[0] % 4;
	kind = fn == 1 || fn == 3 ? 1 : kinds[data[1] % 8];
	outlen = data[2] | (size_t)data[3] << 8;
	n = (size - HDR) / (kind == 3 ? 1 : kind);
	nbytes = n * (kind == 3 ? 1 : kind);

	/* Misaligned input: memcpy'd code units need no alignment. */
	in = malloc(nbytes + 1);
	out = malloc(outlen ? outlen : 1);
	fulllen = 10 * n + 8;	/* \UXXXXXXXX per unit, quotes, b, NUL */
	full = malloc(fulllen);
	if (!in || !out || !full)
		abort();
	memcpy(in + 1, data + HDR, nbytes);

	frc = call(fn, kind, in + 1, n, full, fulllen);
	rc = call(fn, kind, in + 1, n, outlen ? out : NULL, outlen);
	if (kind == 3) {
		if (frc != -EINVAL || rc != -EINVAL)
			abort();
		goto done;
	}
	/* The large buffer always holds the whole result. */
	if (frc < 0 || (size_t)frc >= fulllen || full[frc])
		abort();
	if (!outlen) {
		if (rc != -ENOSPC)
			abort();
		goto done;
	}
	if (rc != -ENOSPC && rc < 0)
		abort();
	if (!memchr(out, 0, outlen))
		abort();
	len = rc >= 0 ? (size_t)rc : strlen(out);
	if (len >= outlen || out[len] || !utf8_oracle_ok((unsigned char *)out, len))
		abort();
	if (rc >= 0) {
		/* It fitted: exactly the full result. */
		if (rc != frc || memcmp(out, full, (size_t)rc))
			abort();
		goto done;
	}
	/* -ENOSPC only when the full result did not fit. */
	if ((size_t)frc < outlen)
		abort();
	if (fn < 2) {
		/* decode may hold U+0000: compare up to the first NUL only. */
		if (memcmp(out, full, len))
			abort();
	} else if (len >= 4 && !memcmp(out + len - 3, "...", 3) && len - 4 >= 1 &&
		   out[len - 4] == full[frc - 1]) {
		if (memcmp(out, full, len - 4))
			abort();
		/* room for the quoted form means it was used */
	} else {
		if (len > 3 || memcmp(out, "...", len))
			abort();
		if (outlen >= (fn == 3 ? 7u : 6u))
			abort();
	}
done:
	free(in);
	free(out);
	free(full);
	return 0;
}
