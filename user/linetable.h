/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Instruction offset -> source line, decoded from a code object's line table
 * as read from a (possibly hostile) target. Pure functions: no allocation, no
 * reads outside tab[0..len), every loop bounded by len.
 *
 * Formats (CPython's Objects/lnotab_notes.txt and Objects/locations.md):
 *
 * LT_LNOTAB_UNSIGNED, LT_LNOTAB: co_lnotab, pairs (address increment, line
 *	increment), both bytes. The line of offset q is co_firstlineno plus the
 *	line increments of all pairs whose running address is <= q. Address
 *	increments are unsigned; line increments are unsigned up to 3.5 (2.7
 *	writes a jump of 300 lines as increments 255, 45) and int8 from 3.6.
 * LT_LINETABLE_310: co_linetable of 3.10, pairs (bytecode bytes covered,
 *	int8 line delta); a delta of -128 means "no line" and leaves the running
 *	line as it is. Zero-length pairs only move the running line.
 * LT_LOCATIONS: the 3.11+ location table (co_linetable), one entry per run of
 *	1..8 code units, see linetable.c.
 *
 * No location (3.10 -128, 3.11+ code 15), where CPython reports -1 / None:
 * we report the running line of the table at that point, which is the line
 * of the nearest located instruction before it, or co_firstlineno when there
 * is none. The same rule covers offsets past the end of the table and an
 * empty table: the last line the table arrived at (co_firstlineno for an
 * empty table). For <= 3.9 that is exactly what PyCode_Addr2Line() does.
 */
#ifndef PYSPY_LINETABLE_H
#define PYSPY_LINETABLE_H

#include <stddef.h>
#include <stdint.h>

enum linetable_format {
	LT_LNOTAB,		/* co_lnotab, 3.6 - 3.9: signed line increments */
	LT_LINETABLE_310,	/* co_linetable, 3.10 */
	LT_LOCATIONS,		/* 3.11+ location table (co_linetable) */
	LT_LNOTAB_UNSIGNED,	/* co_lnotab, 2.7 and 3.0 - 3.5: unsigned line
				 * increments */
};

/*
 * Line of the instruction at byte offset `offset` into the bytecode: f_lasti
 * (bytes) for <= 3.9, 2 * f_lasti for 3.10 (whose f_lasti counts code units),
 * and the byte offset from co_code_adaptive for 3.11+ (any byte of an
 * instruction or of its inline caches gives the instruction's line).
 *
 * Returns 0 with the line (>= 0) in *line, or -EINVAL for a malformed table
 * (truncated entry, bad entry byte, over-long varint, line out of range) or
 * bad arguments. Only the part of the table up to `offset` is examined, so a
 * table cut short after it still answers.
 */
int linetable__line(enum linetable_format fmt, const uint8_t *tab, size_t len,
		    int firstlineno, uint32_t offset, int *line);

#endif
