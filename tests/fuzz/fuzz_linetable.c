// SPDX-License-Identifier: BSD-2-Clause
/*
 * linetable__line() on hostile line tables, all four formats.
 * fuzz-sources: user/linetable.c
 *
 * Input: format (1 byte), co_firstlineno (4, little endian), offset (4),
 * then the table. The table is copied to a buffer of exactly its size, so
 * ASan sees any read past it. Checked: the result is a line >= 0 or
 * -EINVAL, the same on a second call, and -EINVAL for a format that does
 * not exist. Correct lines are the unit tests' business (they compare with
 * what the interpreters say).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "linetable.h"

#define HDR 9

static uint32_t le32(const uint8_t *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

static int lookup(enum linetable_format fmt, const uint8_t *tab, size_t len, int first,
		  uint32_t offset, int *line)
{
	uint8_t *copy = malloc(len ? len : 1);
	int err;

	if (!copy)
		abort();
	memcpy(copy, tab, len);
	*line = -1;
	err = linetable__line(fmt, len ? copy : NULL, len, first, offset, line);
	free(copy);
	if (err && err != -EINVAL)
		abort();
	if (!err && *line < 0)
		abort();
	return err;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum linetable_format fmt;
	const uint8_t *tab;
	size_t len;
	uint32_t offset;
	int first, line, line2, err;

	if (size < HDR)
		return 0;
	fmt = (enum linetable_format)(data[0] % 5);	/* 4: not a format */
	first = (int)le32(data + 1);
	offset = le32(data + 5);
	tab = data + HDR;
	len = size - HDR;

	err = lookup(fmt, tab, len, first, offset, &line);
	if (fmt > LT_LNOTAB_UNSIGNED) {
		if (!err)
			abort();
		return 0;
	}
	if (lookup(fmt, tab, len, first, offset, &line2) != err || (!err && line != line2))
		abort();
	return 0;
}
