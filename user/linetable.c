/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Line tables of CPython code objects, 2.7 - 3.13+. See linetable.h for the
 * formats and the rule for instructions without a location.
 *
 * Every count in the table is untrusted: indices are checked against len
 * before each read, addresses are 64-bit and a lookup stops as soon as it
 * passes `offset` (so they stay below 2^32 + 2^9), and the running line is
 * 64-bit and checked against INT_MAX after every step, so nothing overflows.
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>

#include "linetable.h"

/* 3.11+ location entry codes (bits 3-6 of an entry's first byte). */
#define LOC_SHORT_MAX		9	/* 0-9: short form, same line */
#define LOC_ONE_LINE0		10	/* 10-12: one-line form, delta 0-2 */
#define LOC_ONE_LINE2		12
#define LOC_NO_COLUMNS		13
#define LOC_LONG		14	/* 15: no location */

/* A varint holds at most 6 chunks of 6 bits; CPython never writes more than
 * 32 significant bits. */
#define VARINT_MAX_SHIFT	30

static int s8(uint8_t b)
{
	return b < 0x80 ? (int)b : (int)b - 0x100;
}

static bool line_ok(int64_t line)
{
	return line >= -(int64_t)INT_MAX && line <= INT_MAX;
}

static int finish(int64_t line, int *out)
{
	if (line < 0 || line > INT_MAX)
		return -EINVAL;
	*out = (int)line;
	return 0;
}

/*
 * co_lnotab: for each pair, addr += pair[0]; if addr > offset we are done;
 * line += pair[1]. A dangling last byte is an address increment whose line
 * increment is missing: it still answers offsets before it.
 */
static int lnotab_line(const uint8_t *tab, size_t len, bool is_signed,
		       int64_t line, uint32_t offset, int *out)
{
	uint64_t addr = 0;
	size_t i;

	for (i = 0; i + 1 < len; i += 2) {
		addr += tab[i];
		if (addr > offset)
			return finish(line, out);
		line += is_signed ? s8(tab[i + 1]) : (int)tab[i + 1];
		if (!line_ok(line))
			return -EINVAL;
	}
	if (i < len && addr + tab[i] <= offset)
		return -EINVAL;
	return finish(line, out);
}

/*
 * 3.10 co_linetable: each pair covers [start, start + pair[0]) with the
 * running line moved by pair[1], or left alone for -128 (no line).
 */
static int linetable310_line(const uint8_t *tab, size_t len, int64_t line,
			     uint32_t offset, int *out)
{
	uint64_t start = 0, end;
	size_t i;
	int delta;

	for (i = 0; i + 1 < len; i += 2) {
		end = start + tab[i];
		delta = s8(tab[i + 1]);
		if (delta != -128) {
			line += delta;
			if (!line_ok(line))
				return -EINVAL;
		}
		if (offset < end)
			return finish(line, out);
		start = end;
	}
	if (i < len)
		return -EINVAL;
	return finish(line, out);
}

/* One byte after an entry's first byte: never has bit 7 set (that is what
 * marks the start of an entry). */
static int loc_byte(const uint8_t *tab, size_t len, size_t *i)
{
	if (*i >= len || (tab[*i] & 0x80))
		return -EINVAL;
	return tab[(*i)++];
}

/* Unsigned varint: 6-bit chunks, least significant first, 0x40 = more. */
static int loc_varint(const uint8_t *tab, size_t len, size_t *i,
		      uint32_t *val)
{
	uint64_t v = 0;
	unsigned int shift = 0;
	int b;

	for (;;) {
		b = loc_byte(tab, len, i);
		if (b < 0)
			return b;
		v |= (uint64_t)(b & 0x3f) << shift;
		if (!(b & 0x40))
			break;
		shift += 6;
		if (shift > VARINT_MAX_SHIFT)
			return -EINVAL;
	}
	if (v > UINT32_MAX)
		return -EINVAL;
	*val = (uint32_t)v;
	return 0;
}

/* Signed varint: magnitude << 1 | sign. */
static int loc_svarint(const uint8_t *tab, size_t len, size_t *i,
		       int64_t *val)
{
	uint32_t u;
	int err = loc_varint(tab, len, i, &u);

	if (err)
		return err;
	*val = (u & 1) ? -(int64_t)(u >> 1) : (int64_t)(u >> 1);
	return 0;
}

/*
 * 3.11+ location table. Entry: first byte 1CCCCLLL, covering LLL + 1 code
 * units (2 bytes each); code CCCC:
 *   0-9	short form, line delta 0, one column byte
 *   10-12	one-line form, line delta code - 10, column and end column bytes
 *   13		no columns: svarint line delta
 *   14		long form: svarint line delta, varint end line delta,
 *		varint column + 1, varint end column + 1
 *   15		no location, line unchanged
 * Line deltas are from the previous entry's line (co_firstlineno first).
 */
static int locations_line(const uint8_t *tab, size_t len, int64_t line,
			  uint32_t offset, int *out)
{
	uint64_t start = 0, end;
	int64_t delta;
	uint32_t skip;
	size_t i = 0;
	unsigned int code;
	int err = 0;
	uint8_t b;

	while (i < len) {
		b = tab[i++];
		if (!(b & 0x80))
			return -EINVAL;
		code = (b >> 3) & 15;
		end = start + 2 * ((uint64_t)(b & 7) + 1);
		delta = 0;
		if (code <= LOC_SHORT_MAX) {
			err = loc_byte(tab, len, &i);
		} else if (code <= LOC_ONE_LINE2) {
			delta = code - LOC_ONE_LINE0;
			err = loc_byte(tab, len, &i);
			if (err >= 0)
				err = loc_byte(tab, len, &i);
		} else if (code == LOC_NO_COLUMNS) {
			err = loc_svarint(tab, len, &i, &delta);
		} else if (code == LOC_LONG) {
			err = loc_svarint(tab, len, &i, &delta);
			if (!err)
				err = loc_varint(tab, len, &i, &skip);
			if (!err)
				err = loc_varint(tab, len, &i, &skip);
			if (!err)
				err = loc_varint(tab, len, &i, &skip);
		}
		/* 15, no location: no more bytes, line unchanged */
		if (err < 0)
			return err;
		line += delta;
		if (!line_ok(line))
			return -EINVAL;
		if (offset < end)
			return finish(line, out);
		start = end;
	}
	return finish(line, out);
}

int linetable__line(enum linetable_format fmt, const uint8_t *tab, size_t len,
		    int firstlineno, uint32_t offset, int *line)
{
	if (!line || (!tab && len))
		return -EINVAL;

	switch (fmt) {
	case LT_LNOTAB:
		return lnotab_line(tab, len, true, firstlineno, offset, line);
	case LT_LNOTAB_UNSIGNED:
		return lnotab_line(tab, len, false, firstlineno, offset, line);
	case LT_LINETABLE_310:
		return linetable310_line(tab, len, firstlineno, offset, line);
	case LT_LOCATIONS:
		return locations_line(tab, len, firstlineno, offset, line);
	}
	return -EINVAL;
}
