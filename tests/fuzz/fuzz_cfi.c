// SPDX-License-Identifier: BSD-2-Clause
/*
 * cfi__parse() and cfi__merge() on hostile CFI sections.
 * fuzz-sources: user/cfi.c user/cfi_prog.c
 * fuzz-max-len: 16384
 *
 * Input: flags (1 byte: bit 0 the section kind, bits 1-2 the row cap: none,
 * 2, 7 or 64), the section's address (8, little endian), then the section,
 * copied to a buffer of exactly its size so that ASan sees any read past it.
 * Checked: the call succeeds; the table keeps the invariants of
 * tests/common/cfi_check.h (sorted, merged, ends in "no CFI", lookup agrees
 * with a linear scan, within the cap); the counts add up; a second parse
 * gives the same table; the same bytes read as the other kind of section
 * and merged under the first table keep the invariants, and the merge takes
 * the first table's rule wherever it has one, the other's elsewhere.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "cfi.h"
#include "cfi_check.h"

#define HDR 9

static void check(const char *why)
{
	if (why)
		abort();
}

static void check_stats(const struct cfi_stats *st, const struct cfi_table *t)
{
	unsigned long skipped = 0, cut = 0, bad = 0;
	size_t i;

	for (i = 0; i < CFI_SKIP__COUNT; i++)
		skipped += st->skipped[i];
	for (i = 0; i < CFI_CUT__COUNT; i++)
		cut += st->cut[i];
	for (i = 0; i < CFI_CIE__COUNT; i++)
		bad += st->cies_bad[i];
	if (st->rows != t->nrows || bad > st->cies || cut > st->fdes ||
	    (unsigned long)st->cies + st->fdes + skipped > st->entries ||
	    st->rows_unsupported > st->rows || st->bad_entry > 1 || st->truncated > 1)
		abort();
}

static void parse(const uint8_t *sec, size_t len, uint64_t vaddr, enum cfi_section kind,
		  size_t cap, struct cfi_table *t)
{
	struct cfi_stats st;

	if (cfi__parse(sec, len, vaddr, kind, cap, t, &st))
		abort();
	check(cfi_check_table(t, cap));
	check_stats(&st, t);
}

/* At every row start of either table, the merge has first's rule, or fill's. */
static void check_merge(const struct cfi_table *first, const struct cfi_table *fill)
{
	const struct cfi_table *src[2] = { first, fill };
	const struct cfi_row *a, *f, *m, *want;
	struct cfi_table merged;
	size_t k, i;

	if (cfi__merge(first, fill, 0, &merged))
		abort();
	check(cfi_check_table(&merged, 0));
	for (k = 0; k < 2; k++) {
		for (i = 0; i < src[k]->nrows; i++) {
			uint64_t pc = src[k]->rows[i].pc;

			a = cfi__lookup(first, pc);
			f = cfi__lookup(fill, pc);
			m = cfi__lookup(&merged, pc);
			want = a && a->cfa_kind != CFI_CFA_NONE ? a : f;
			if (want && want->cfa_kind != CFI_CFA_NONE) {
				if (!m || !cfi_check_same(m, want))
					abort();
			} else if (m && m->cfa_kind != CFI_CFA_NONE) {
				abort();
			}
		}
	}
	cfi__table_free(&merged);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t caps[] = { 0, 2, 7, 64 };
	struct cfi_table t, again, other;
	enum cfi_section kind;
	uint8_t *sec;
	uint64_t vaddr = 0;
	size_t len, cap, i;

	if (size < HDR)
		return 0;
	kind = data[0] & 1 ? CFI_DEBUG_FRAME : CFI_EH_FRAME;
	cap = caps[data[0] >> 1 & 3];
	for (i = 0; i < 8; i++)
		vaddr |= (uint64_t)data[1 + i] << (8 * i);
	len = size - HDR;
	sec = malloc(len ? len : 1);
	if (!sec)
		abort();
	memcpy(sec, data + HDR, len);

	parse(len ? sec : NULL, len, vaddr, kind, cap, &t);
	parse(len ? sec : NULL, len, vaddr, kind, cap, &again);
	if (t.nrows != again.nrows ||
	    (t.nrows && memcmp(t.rows, again.rows, t.nrows * sizeof(*t.rows))))
		abort();
	parse(len ? sec : NULL, len, vaddr,
	      kind == CFI_EH_FRAME ? CFI_DEBUG_FRAME : CFI_EH_FRAME, 0, &other);
	check_merge(&t, &other);
	check_merge(&other, &t);

	cfi__table_free(&t);
	cfi__table_free(&again);
	cfi__table_free(&other);
	free(sec);
	return 0;
}
