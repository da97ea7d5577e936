/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * What every table cfi__parse() or cfi__merge() returns must satisfy,
 * whatever the input (unit tests and fuzz_cfi): rows strictly sorted by pc,
 * no two adjacent rows with the same rule, a first row with a rule and a
 * last row of CFI_CFA_NONE, kinds in range and the fields a kind does not
 * use at 0, at most max_rows rows; cfi__lookup() finding every row at its
 * pc and the row before at pc - 1, and agreeing with a linear scan around
 * CFI_CHECK_PROBES rows spread over the table and at 0 and 2^64 - 1.
 */
#ifndef TESTS_COMMON_CFI_CHECK_H
#define TESTS_COMMON_CFI_CHECK_H

#include <stddef.h>
#include <stdint.h>

#include "cfi.h"

static inline const struct cfi_row *cfi_check_scan(const struct cfi_table *t, uint64_t pc)
{
	const struct cfi_row *found = NULL;
	size_t i;

	for (i = 0; i < t->nrows && t->rows[i].pc <= pc; i++)
		found = &t->rows[i];
	return found;
}

static inline const char *cfi_check_row(const struct cfi_row *r)
{
	switch (r->cfa_kind) {
	case CFI_CFA_RSP:
	case CFI_CFA_RBP:
		break;
	case CFI_CFA_PLT:
		if (r->cfa_off < 0 || r->cfa_off > 15)
			return "PLT threshold out of 0..15";
		break;
	case CFI_CFA_NONE:
	case CFI_CFA_UNDEFINED:
	case CFI_CFA_UNSUPPORTED:
		if (r->cfa_off || r->rbp_kind || r->rbp_off)
			return "a row without a rule has other fields set";
		return NULL;
	default:
		return "cfa_kind out of range";
	}
	if (r->rbp_kind > CFI_RBP_UNSUPPORTED)
		return "rbp_kind out of range";
	if (r->rbp_kind != CFI_RBP_AT_CFA && r->rbp_off)
		return "rbp_off set without CFI_RBP_AT_CFA";
	return NULL;
}

static inline int cfi_check_same(const struct cfi_row *a, const struct cfi_row *b)
{
	return a->cfa_kind == b->cfa_kind && a->cfa_off == b->cfa_off &&
	       a->rbp_kind == b->rbp_kind && a->rbp_off == b->rbp_off;
}

/* Compared with a linear scan: pc - 1, pc, pc + 1 of up to this many rows. */
#define CFI_CHECK_PROBES 16

/* NULL, or the first invariant broken. */
static inline const char *cfi_check_table(const struct cfi_table *t, size_t max_rows)
{
	const struct cfi_row *want;
	const char *why;
	uint64_t pc;
	size_t i, k;

	if (!t->nrows)
		return t->rows ? "rows without nrows" : NULL;
	if (t->nrows > (max_rows ? max_rows : CFI_ROWS_MAX))
		return "more rows than the cap";
	if (t->rows[0].cfa_kind == CFI_CFA_NONE)
		return "first row without a rule";
	if (t->rows[t->nrows - 1].cfa_kind != CFI_CFA_NONE)
		return "last row not CFI_CFA_NONE";
	for (i = 0; i < t->nrows; i++) {
		why = cfi_check_row(&t->rows[i]);
		if (why)
			return why;
		if (i && t->rows[i - 1].pc >= t->rows[i].pc)
			return "rows not strictly sorted";
		if (i && cfi_check_same(&t->rows[i - 1], &t->rows[i]))
			return "adjacent rows alike";
		/* Sorted so far: a row holds its own pc, the one before holds pc - 1. */
		want = i ? &t->rows[i - 1] : t->rows[0].pc ? NULL : &t->rows[t->nrows - 1];
		if (cfi__lookup(t, t->rows[i].pc) != &t->rows[i] ||
		    cfi__lookup(t, t->rows[i].pc - 1) != want)
			return "lookup misses a row's start";
	}
	for (k = 0; k <= CFI_CHECK_PROBES; k++) {
		i = k == CFI_CHECK_PROBES ? t->nrows - 1 : k * t->nrows / CFI_CHECK_PROBES;
		for (pc = t->rows[i].pc - 1; pc != t->rows[i].pc + 2; pc++)
			if (cfi__lookup(t, pc) != cfi_check_scan(t, pc))
				return "lookup differs from a linear scan";
	}
	if (cfi__lookup(t, UINT64_MAX) != cfi_check_scan(t, UINT64_MAX) ||
	    cfi__lookup(t, 0) != cfi_check_scan(t, 0))
		return "lookup differs from a linear scan at 0 or 2^64 - 1";
	return NULL;
}

#endif
