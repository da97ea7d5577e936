/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cfi__parse() on sections built here byte by byte: every DW_CFA opcode,
 * every pointer encoding and CIE form, the table's layout (gaps, order,
 * overlaps, the cap), cfi__merge(), and hostile input: every prefix of a
 * real section and random mutations, each table checked against the
 * invariants of tests/common/cfi_check.h (run under `make SANITIZE=1` for
 * ASan/UBSan). Real sections against readelf: test_cfi_readelf.c.
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cfi.h"
#include "cfi_check.h"
#include "fixtures.h"
#include "rng.h"

#define B(...) ((const uint8_t[]){ __VA_ARGS__ }), sizeof((const uint8_t[]){ __VA_ARGS__ })

/* The usual x86-64 CIE program: cfa = rsp + 8, return address at cfa - 8. */
#define CIE_INSNS B(0x0c, 0x07, 0x08, 0x90, 0x01)

/* ==== building sections ==== */

struct sb {
	uint8_t b[16384];
	size_t n;
	enum cfi_section kind;
	uint64_t vaddr;
	bool dwarf64;		/* entries with the 64-bit length escape */
	uint8_t enc;		/* FDE pointer encoding of the last CIE */
	bool z;			/* the last CIE had 'z' */
	unsigned int addr_size;	/* .debug_frame */
};

static void sb_init(struct sb *s, enum cfi_section kind)
{
	memset(s, 0, sizeof(*s));
	s->kind = kind;
	s->vaddr = 0x10000;
	s->enc = kind == CFI_EH_FRAME ? 0x1b : 0x00;
	s->z = kind == CFI_EH_FRAME;
	s->addr_size = 8;
}

static void put(struct sb *s, const void *p, size_t n)
{
	if (!n)
		return;
	assert_true(s->n + n <= sizeof(s->b));
	memcpy(s->b + s->n, p, n);
	s->n += n;
}

static void le(struct sb *s, uint64_t v, unsigned int n)
{
	while (n--) {
		put(s, &(uint8_t){ (uint8_t)v }, 1);
		v >>= 8;
	}
}

static void uleb(struct sb *s, uint64_t v)
{
	do {
		uint8_t b = v & 0x7f;

		v >>= 7;
		put(s, &(uint8_t){ (uint8_t)(b | (v ? 0x80 : 0)) }, 1);
	} while (v);
}

static void sleb(struct sb *s, int64_t v)
{
	bool more = true;

	while (more) {
		uint8_t b = v & 0x7f;

		v >>= 7;
		more = !((v == 0 && !(b & 0x40)) || (v == -1 && (b & 0x40)));
		put(s, &(uint8_t){ (uint8_t)(b | (more ? 0x80 : 0)) }, 1);
	}
}

/* A DW_EH_PE_* value at the current offset. */
static void enc_value(struct sb *s, uint8_t enc, uint64_t v)
{
	if ((enc & 0x0f) == 0x0f)	/* DW_EH_PE_omit: nothing */
		return;
	if ((enc & 0x70) == 0x10)
		v -= s->vaddr + s->n;
	switch (enc & 0x0f) {
	case 0x00: le(s, v, s->kind == CFI_EH_FRAME ? 8 : s->addr_size); break;
	case 0x01: uleb(s, v); break;
	case 0x02: case 0x0a: le(s, v, 2); break;
	case 0x03: case 0x0b: le(s, v, 4); break;
	case 0x04: case 0x0c: le(s, v, 8); break;
	case 0x09: sleb(s, (int64_t)v); break;
	default: fail_msg("no such encoding %#x", enc);
	}
}

/* The length field; entry_end() writes it. */
static size_t entry_begin(struct sb *s)
{
	size_t off = s->n;

	if (s->dwarf64) {
		le(s, 0xffffffff, 4);
		le(s, 0, 8);
	} else {
		le(s, 0, 4);
	}
	return off;
}

static void entry_end(struct sb *s, size_t off)
{
	size_t hdr = s->dwarf64 ? 12 : 4;
	uint64_t n = s->n - off - hdr;
	unsigned int i;

	for (i = 0; i < hdr - 4; i++)
		s->b[off + 4 + i] = (uint8_t)(n >> (8 * i));
	for (i = 0; hdr == 4 && i < 4; i++)
		s->b[off + i] = (uint8_t)(n >> (8 * i));
}

/* Any CIE: version, augmentation string and data, factors, RA column. */
static size_t cie_raw(struct sb *s, uint8_t version, const char *aug, const uint8_t *augdata,
		      size_t naugdata, uint64_t caf, int64_t daf, uint64_t ra, const uint8_t *insns,
		      size_t ninsns)
{
	size_t off = entry_begin(s), id = s->dwarf64 ? 8 : 4;

	le(s, s->kind == CFI_EH_FRAME ? 0 : UINT64_MAX, (unsigned int)id);
	put(s, &version, 1);
	put(s, aug, strlen(aug) + 1);
	if (aug[0] == 'e' && aug[1] == 'h')
		le(s, 0x1234, 8);	/* GCC 2's EH data pointer */
	if (version == 4) {
		le(s, s->addr_size, 1);
		le(s, 0, 1);
	}
	uleb(s, caf);
	sleb(s, daf);
	if (version == 1)
		le(s, ra, 1);
	else
		uleb(s, ra);
	if (aug[0] == 'z') {
		uleb(s, naugdata);
		put(s, augdata, naugdata);
	}
	put(s, insns, ninsns);
	entry_end(s, off);
	s->z = aug[0] == 'z';
	return off;
}

/* An eh_frame "zR" CIE with encoding enc, or a debug_frame version 1 CIE. */
static size_t cie(struct sb *s, uint8_t enc, const uint8_t *insns, size_t ninsns)
{
	size_t off;

	if (s->kind == CFI_DEBUG_FRAME)
		return cie_raw(s, 1, "", NULL, 0, 1, -8, 16, insns, ninsns);
	off = cie_raw(s, 1, "zR", &enc, 1, 1, -8, 16, insns, ninsns);
	s->enc = enc;
	return off;
}

/* An FDE's header; its instructions follow, then entry_end(). */
static size_t fde_begin(struct sb *s, size_t cie_off, uint64_t begin, uint64_t range,
			const uint8_t *augdata, size_t naugdata)
{
	size_t off = entry_begin(s);
	unsigned int id = s->dwarf64 ? 8 : 4;

	le(s, s->kind == CFI_EH_FRAME ? s->n - cie_off : cie_off, id);
	enc_value(s, s->enc, begin);
	enc_value(s, s->enc & 0x0f, range);
	if (s->z) {
		uleb(s, naugdata);
		put(s, augdata, naugdata);
	}
	return off;
}

static size_t fde(struct sb *s, size_t cie_off, uint64_t begin, uint64_t range,
		  const uint8_t *insns, size_t ninsns)
{
	size_t off = fde_begin(s, cie_off, begin, range, NULL, 0);

	put(s, insns, ninsns);
	entry_end(s, off);
	return off;
}

/* ==== parsing them ==== */

static void parse_max(const struct sb *s, size_t max_rows, struct cfi_table *t,
		      struct cfi_stats *st)
{
	uint8_t *copy = malloc(s->n ? s->n : 1);	/* exactly: ASan sees overreads */
	const char *why;

	assert_non_null(copy);
	memcpy(copy, s->b, s->n);
	assert_int_equal(cfi__parse(copy, s->n, s->vaddr, s->kind, max_rows, t, st), 0);
	free(copy);
	why = cfi_check_table(t, max_rows);
	if (why)
		fail_msg("table of %zu rows: %s", t->nrows, why);
	assert_int_equal(st->rows, t->nrows);
}

static void parse(const struct sb *s, struct cfi_table *t, struct cfi_stats *st)
{
	parse_max(s, 0, t, st);
}

struct row {
	uint64_t pc;
	uint8_t cfa;
	int32_t off;
	uint8_t rbp;
	int16_t rbp_off;
};

/* Expected rows: a rule with rbp not saved, with rbp saved, none. */
#define ROW(pc, cfa, off) { pc, cfa, off, 0, 0 }
#define ROW_RBP(pc, cfa, off, rbp, rbp_off) { pc, cfa, off, rbp, rbp_off }
#define END(pc) { pc, 0, 0, 0, 0 }

static void expect_rows(const struct cfi_table *t, const struct row *want, size_t n)
{
	size_t i;

	for (i = 0; i < t->nrows && i < n; i++) {
		const struct cfi_row *r = &t->rows[i];

		if (r->pc != want[i].pc || r->cfa_kind != want[i].cfa || r->cfa_off != want[i].off ||
		    r->rbp_kind != want[i].rbp || r->rbp_off != want[i].rbp_off)
			fail_msg("row %zu: pc %#llx cfa %u%+d rbp %u%+d, want pc %#llx cfa %u%+d rbp %u%+d",
				 i, (unsigned long long)r->pc, r->cfa_kind, r->cfa_off, r->rbp_kind,
				 r->rbp_off, (unsigned long long)want[i].pc, want[i].cfa, want[i].off,
				 want[i].rbp, want[i].rbp_off);
	}
	assert_int_equal(t->nrows, n);
}

static unsigned int sum(const __u32 *v, size_t n)
{
	unsigned int s = 0;

	while (n--)
		s += v[n];
	return s;
}

/* ==== one FDE, one state ==== */

#define OK -1
#define RSP CFI_CFA_RSP
#define RBP CFI_CFA_RBP
#define PLT CFI_CFA_PLT
#define UNDEF CFI_CFA_UNDEFINED
#define UNSUP CFI_CFA_UNSUPPORTED
#define SAME CFI_RBP_SAME
#define AT CFI_RBP_AT_CFA
#define R_UNDEF CFI_RBP_UNDEFINED
#define R_UNSUP CFI_RBP_UNSUPPORTED

/* Instructions at the FDE's start, the rule they give, and the cut if any. */
struct op_case {
	const char *name;
	uint8_t insns[40];
	size_t n;
	uint8_t cfa;
	int32_t off;
	uint8_t rbp;
	int16_t rbp_off;
	int cut;
};

#define OPS(...) { __VA_ARGS__ }, sizeof((uint8_t[]){ __VA_ARGS__ })
/* DW_OP_breg7 8; DW_OP_breg16 0; DW_OP_lit15; DW_OP_and; DW_OP_lit<k>;
 * DW_OP_ge; DW_OP_lit3; DW_OP_shl; DW_OP_plus */
#define PLT_EXPR(k) 0x0f, 11, 0x77, 8, 0x80, 0, 0x3f, 0x1a, 0x30 + (k), 0x2a, 0x33, 0x24, 0x22

static const struct op_case op_cases[] = {
	{ "nop", OPS(0x00), RSP, 8, SAME, 0, OK },
	{ "def_cfa rsp 16", OPS(0x0c, 7, 16), RSP, 16, SAME, 0, OK },
	{ "def_cfa rbp 16", OPS(0x0c, 6, 16), RBP, 16, SAME, 0, OK },
	{ "def_cfa r10 0", OPS(0x0c, 10, 0), UNSUP, 0, 0, 0, OK },
	{ "def_cfa_sf rsp -2", OPS(0x12, 7, 0x7e), RSP, 16, SAME, 0, OK },
	{ "def_cfa_register rbp", OPS(0x0d, 6), RBP, 8, SAME, 0, OK },
	{ "def_cfa_offset 32", OPS(0x0e, 32), RSP, 32, SAME, 0, OK },
	{ "def_cfa_offset_sf -4", OPS(0x13, 0x7c), RSP, 32, SAME, 0, OK },
	{ "def_cfa_offset padded LEB", OPS(0x0e, 0x90, 0x80, 0x80, 0x00), RSP, 16, SAME, 0, OK },
	{ "def_cfa_offset 2^31", OPS(0x0e, 0x80, 0x80, 0x80, 0x80, 0x08), UNSUP, 0, 0, 0, OK },
	{ "def_cfa_offset 2^31 - 1", OPS(0x0e, 0xff, 0xff, 0xff, 0xff, 0x07), RSP, INT32_MAX,
	  SAME, 0, OK },
	{ "PLT lit11", OPS(PLT_EXPR(11)), PLT, 11, SAME, 0, OK },
	{ "PLT lit9", OPS(PLT_EXPR(9)), PLT, 9, SAME, 0, OK },
	{ "PLT then def_cfa", OPS(PLT_EXPR(11), 0x0c, 7, 8), RSP, 8, SAME, 0, OK },
	{ "PLT, rsp + 16", OPS(0x0f, 11, 0x77, 16, 0x80, 0, 0x3f, 0x1a, 0x3b, 0x2a, 0x33, 0x24,
			       0x22), UNSUP, 0, 0, 0, OK },
	{ "PLT, lit4 for lit3", OPS(0x0f, 11, 0x77, 8, 0x80, 0, 0x3f, 0x1a, 0x3b, 0x2a, 0x34, 0x24,
				    0x22), UNSUP, 0, 0, 0, OK },
	{ "PLT, one byte short", OPS(0x0f, 10, 0x77, 8, 0x80, 0, 0x3f, 0x1a, 0x3b, 0x2a, 0x33,
				     0x24), UNSUP, 0, 0, 0, OK },
	{ "def_cfa_expression deref", OPS(0x0f, 3, 0x76, 0x78, 0x06), UNSUP, 0, 0, 0, OK },
	{ "def_cfa_register after an expression", OPS(0x0f, 1, 0x96, 0x0d, 7), RSP, 8, SAME, 0,
	  OK },
	{ "offset rbp 2", OPS(0x86, 2), RSP, 8, AT, -16, OK },
	{ "offset_extended rbp 2", OPS(0x05, 6, 2), RSP, 8, AT, -16, OK },
	{ "offset_extended_sf rbp -2", OPS(0x11, 6, 0x7e), RSP, 8, AT, 16, OK },
	{ "GNU_negative_offset_extended rbp 2", OPS(0x2f, 6, 2), RSP, 8, AT, 16, OK },
	{ "offset rbp at int16 min", OPS(0x05, 6, 0x80, 0x20), RSP, 8, AT, INT16_MIN, OK },
	{ "offset rbp past int16", OPS(0x05, 6, 0x80, 0x21), RSP, 8, R_UNSUP, 0, OK },
	{ "val_offset rbp", OPS(0x14, 6, 2), RSP, 8, R_UNSUP, 0, OK },
	{ "val_offset_sf rbp", OPS(0x15, 6, 0x7e), RSP, 8, R_UNSUP, 0, OK },
	{ "register rbp rbx", OPS(0x09, 6, 3), RSP, 8, R_UNSUP, 0, OK },
	{ "expression rbp", OPS(0x10, 6, 2, 0x76, 0), RSP, 8, R_UNSUP, 0, OK },
	{ "val_expression rbp", OPS(0x16, 6, 2, 0x76, 0), RSP, 8, R_UNSUP, 0, OK },
	{ "undefined rbp", OPS(0x07, 6), RSP, 8, R_UNDEF, 0, OK },
	{ "same_value rbp", OPS(0x86, 2, 0x08, 6), RSP, 8, SAME, 0, OK },
	{ "restore rbp", OPS(0x86, 2, 0xc6), RSP, 8, SAME, 0, OK },
	{ "restore_extended rbp", OPS(0x86, 2, 0x06, 6), RSP, 8, SAME, 0, OK },
	{ "undefined rip", OPS(0x07, 16), UNDEF, 0, 0, 0, OK },
	{ "offset rip 2", OPS(0x90, 2), UNSUP, 0, 0, 0, OK },
	{ "same_value rip", OPS(0x08, 16), UNSUP, 0, 0, 0, OK },
	{ "register rip", OPS(0x09, 16, 3), UNSUP, 0, 0, 0, OK },
	{ "restore rip", OPS(0x07, 16, 0xd0), RSP, 8, SAME, 0, OK },
	{ "restore_extended rip", OPS(0x07, 16, 0x06, 16), RSP, 8, SAME, 0, OK },
	{ "val_offset rip", OPS(0x14, 16, 1), UNSUP, 0, 0, 0, OK },
	{ "other registers", OPS(0x83, 2, 0x05, 17, 3, 0x07, 3, 0x09, 12, 13, 0x10, 0x90, 0x4e,
				 1, 0x96, 0x11, 0xff, 0x7f, 0x7f), RSP, 8, SAME, 0, OK },
	{ "GNU_args_size", OPS(0x2e, 16), RSP, 8, SAME, 0, OK },
	{ "remember, change, restore", OPS(0x0a, 0x0e, 32, 0x86, 2, 0x0b), RSP, 8, SAME, 0, OK },
	{ "nested remember", OPS(0x0a, 0x0e, 16, 0x0a, 0x0e, 24, 0x0b, 0x0b), RSP, 8, SAME, 0, OK },
	{ "remember 16 deep", OPS(0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a,
				  0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a), RSP, 8, SAME, 0, OK },
	{ "remember 17 deep", OPS(0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a,
				  0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a), UNSUP, 0, 0, 0,
	  CFI_CUT_STATE },
	{ "restore_state, empty", OPS(0x0b), UNSUP, 0, 0, 0, CFI_CUT_STATE },
	{ "unknown 0x17", OPS(0x17), UNSUP, 0, 0, 0, CFI_CUT_OPCODE },
	{ "GNU_window_save", OPS(0x2d), UNSUP, 0, 0, 0, CFI_CUT_OPCODE },
	{ "hi_user", OPS(0x3f), UNSUP, 0, 0, 0, CFI_CUT_OPCODE },
	{ "def_cfa cut short", OPS(0x0c, 7), UNSUP, 0, 0, 0, CFI_CUT_TRUNCATED },
	{ "LEB cut short", OPS(0x0e, 0x80), UNSUP, 0, 0, 0, CFI_CUT_TRUNCATED },
	{ "block past the end", OPS(0x0f, 5, 0x77), UNSUP, 0, 0, 0, CFI_CUT_TRUNCATED },
	{ "ULEB past 64 bits", OPS(0x0e, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
				   0x02), UNSUP, 0, 0, 0, CFI_CUT_TRUNCATED },
	{ "ULEB 2^63 for def_cfa_offset", OPS(0x0e, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
					      0x80, 0x01), UNSUP, 0, 0, 0, CFI_CUT_OVERFLOW },
	{ "SLEB -1 in 10 bytes", OPS(0x13, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
				     0x7f), RSP, 8, SAME, 0, OK },
	{ "SLEB past 64 bits", OPS(0x13, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
				   0x01), UNSUP, 0, 0, 0, CFI_CUT_TRUNCATED },
	{ "offset 2^62 factored", OPS(0x86, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x40),
	  UNSUP, 0, 0, 0, CFI_CUT_OVERFLOW },
	{ "def_cfa_sf 2^62 factored", OPS(0x12, 7, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
					  0xc0, 0x00), UNSUP, 0, 0, 0, CFI_CUT_OVERFLOW },
	{ "negative offset of -2^63", OPS(0x2f, 6, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
					  0x10), UNSUP, 0, 0, 0, CFI_CUT_OVERFLOW },
};

/* An FDE over [0x1000, 0x1010) running c's instructions, its rule at 0x1000. */
static void test_opcodes(void **state)
{
	const struct cfi_row *r;
	struct cfi_table t;
	struct cfi_stats st;
	struct sb s;
	size_t i, c;

	(void)state;
	for (i = 0; i < sizeof(op_cases) / sizeof(op_cases[0]); i++) {
		const struct op_case *oc = &op_cases[i];

		for (c = 0; c < 2; c++) {	/* in .eh_frame and .debug_frame */
			sb_init(&s, c ? CFI_DEBUG_FRAME : CFI_EH_FRAME);
			fde(&s, cie(&s, 0x1b, CIE_INSNS), 0x1000, 0x10, oc->insns, oc->n);
			parse(&s, &t, &st);
			r = cfi__lookup(&t, 0x1000);
			if (!r || r->cfa_kind != oc->cfa || r->cfa_off != oc->off ||
			    r->rbp_kind != oc->rbp || r->rbp_off != oc->rbp_off)
				fail_msg("%s: cfa %d%+d rbp %d%+d, want cfa %u%+d rbp %u%+d", oc->name,
					 r ? r->cfa_kind : -1, r ? r->cfa_off : 0, r ? r->rbp_kind : -1,
					 r ? r->rbp_off : 0, oc->cfa, oc->off, oc->rbp, oc->rbp_off);
			assert_int_equal(st.fdes, 1);
			assert_int_equal(sum(st.cut, CFI_CUT__COUNT), oc->cut != OK);
			if (oc->cut != OK && !st.cut[oc->cut])
				fail_msg("%s: not cut for %s", oc->name, cfi__cut_name(oc->cut));
			assert_int_equal(cfi__lookup(&t, 0x1010)->cfa_kind, CFI_CFA_NONE);
			cfi__table_free(&t);
		}
	}
}

/* ==== locations ==== */

static void test_locations(void **state)
{
	static const struct row want[] = {
		ROW(0x1000, RSP, 8), ROW(0x1001, RSP, 16), ROW(0x1010, RSP, 24), ROW(0x1110, RSP, 32),
		ROW(0x1310, RSP, 40), ROW(0x1410, RSP, 48), ROW(0x1800, RSP, 64), END(0x2000),
	};
	struct cfi_table t;
	struct cfi_stats st;
	struct sb s;
	size_t c, c_off, off;

	(void)state;
	for (c = 0; c < 3; c++) {	/* .eh_frame, .debug_frame, 64-bit .eh_frame */
		sb_init(&s, c == 1 ? CFI_DEBUG_FRAME : CFI_EH_FRAME);
		s.dwarf64 = c == 2;
		c_off = cie(&s, 0x1b, CIE_INSNS);
		off = fde_begin(&s, c_off, 0x1000, 0x1000, NULL, 0);
		put(&s, B(0x41, 0x0e, 16));				/* advance_loc 1 */
		put(&s, B(0x02, 0x0f, 0x0e, 24));			/* advance_loc1 15 */
		put(&s, B(0x03, 0x00, 0x01, 0x0e, 32));		/* advance_loc2 0x100 */
		put(&s, B(0x04, 0x00, 0x02, 0, 0, 0x0e, 40));		/* advance_loc4 0x200 */
		put(&s, B(0x1d, 0, 1, 0, 0, 0, 0, 0, 0, 0x0e, 48));	/* MIPS_advance_loc8 */
		put(&s, B(0x01));					/* set_loc 0x1800 */
		enc_value(&s, s.enc, 0x1800);
		put(&s, B(0x0e, 56, 0x40, 0x0e, 64));	/* a row replaced at the same pc */
		entry_end(&s, off);
		parse(&s, &t, &st);
		expect_rows(&t, want, sizeof(want) / sizeof(want[0]));
		assert_null(cfi__lookup(&t, 0xfff));
		assert_int_equal(cfi__lookup(&t, 0x17ff)->cfa_off, 48);
		assert_int_equal(cfi__lookup(&t, UINT64_MAX)->cfa_kind, CFI_CFA_NONE);
		cfi__table_free(&t);
	}
}

static void test_location_limits(void **state)
{
	static const struct row scaled[] = {
		ROW(0x1000, RSP, 8), ROW(0x1004, RSP, 16), ROW(0x100c, RSP, 24), END(0x1010),
	};
	static const struct row back[] = { ROW(0x1000, RSP, 8), ROW(0x1004, UNSUP, 0), END(0x1010) };
	static const struct row past[] = { ROW(0x1000, RSP, 8), END(0x1010) };
	static const struct row wrap[] = { ROW(UINT64_MAX - 0x20, RSP, 8),
					   ROW(UINT64_MAX - 0x1f, UNSUP, 0), END(UINT64_MAX - 0x10) };
	struct cfi_table t;
	struct cfi_stats st;
	struct sb s;
	size_t off;

	(void)state;
	/* code alignment factor 4 */
	sb_init(&s, CFI_DEBUG_FRAME);
	off = cie_raw(&s, 1, "", NULL, 0, 4, -8, 16, CIE_INSNS);
	fde(&s, off, 0x1000, 0x10, B(0x41, 0x0e, 16, 0x02, 2, 0x0e, 24));
	parse(&s, &t, &st);
	expect_rows(&t, scaled, 4);
	cfi__table_free(&t);
	/* set_loc backwards: cut */
	sb_init(&s, CFI_DEBUG_FRAME);
	fde(&s, cie(&s, 0, CIE_INSNS), 0x1000, 0x10,
	    B(0x44, 0x01, 0x02, 0x10, 0, 0, 0, 0, 0, 0, 0x0e, 16));
	parse(&s, &t, &st);
	expect_rows(&t, back, 3);
	assert_int_equal(st.cut[CFI_CUT_LOCATION], 1);
	cfi__table_free(&t);
	/* past the FDE's end: the rest is not looked at */
	sb_init(&s, CFI_EH_FRAME);
	fde(&s, cie(&s, 0x1b, CIE_INSNS), 0x1000, 0x10, B(0x02, 0xff, 0x0e, 16, 0xff));
	parse(&s, &t, &st);
	expect_rows(&t, past, 2);
	assert_int_equal(sum(st.cut, CFI_CUT__COUNT), 0);
	cfi__table_free(&t);
	/* a location past 2^64 */
	sb_init(&s, CFI_EH_FRAME);
	fde(&s, cie(&s, 0x04, CIE_INSNS), UINT64_MAX - 0x20, 0x10,
	    B(0x41, 0x1d, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0e, 16));
	parse(&s, &t, &st);
	expect_rows(&t, wrap, 3);
	assert_int_equal(st.cut[CFI_CUT_LOCATION], 1);
	cfi__table_free(&t);
}

/* ==== pointer encodings and CIE forms ==== */

static void expect_one_fde(const struct sb *s, uint64_t at)
{
	struct cfi_table t;
	struct cfi_stats st;
	const struct row want[] = { ROW(at, RSP, 8), END(at + 0x10) };

	parse(s, &t, &st);
	assert_int_equal(st.fdes, 1);
	expect_rows(&t, want, 2);
	cfi__table_free(&t);
}

static void expect_skipped(const struct sb *s, enum cfi_skip why)
{
	struct cfi_table t;
	struct cfi_stats st;

	parse(s, &t, &st);
	if (st.fdes || st.skipped[why] != 1)
		fail_msg("%u FDEs in, %u skipped for %s", st.fdes, st.skipped[why],
			 cfi__skip_name(why));
	assert_int_equal(t.nrows, 0);
	cfi__table_free(&t);
}

static void expect_bad_cie(const struct sb *s, enum cfi_cie_bad why)
{
	struct cfi_table t;
	struct cfi_stats st;

	parse(s, &t, &st);
	if (st.cies_bad[why] != 1)
		fail_msg("CIE not rejected for %s", cfi__cie_bad_name(why));
	assert_int_equal(st.skipped[CFI_SKIP_CIE], 1);
	assert_int_equal(t.nrows, 0);
	cfi__table_free(&t);
}

static void test_encodings(void **state)
{
	static const uint8_t good[] = { 0x00, 0x01, 0x02, 0x03, 0x04, 0x09, 0x0a, 0x0b, 0x0c,
					0x10, 0x11, 0x12, 0x13, 0x14, 0x19, 0x1a, 0x1b, 0x1c };
	static const uint8_t skipped[] = { 0x2b, 0x3b, 0x4b, 0x5b, 0x9b, 0x80, 0xff };
	struct sb s;
	uint64_t at;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good); i++) {
		sb_init(&s, CFI_EH_FRAME);
		at = good[i] & 0x10 ? s.vaddr + 0x100 : 0x1234;
		fde(&s, cie(&s, good[i], CIE_INSNS), at, 0x10, B(0));
		expect_one_fde(&s, at);
	}
	for (i = 0; i < sizeof(skipped); i++) {
		sb_init(&s, CFI_EH_FRAME);
		fde(&s, cie(&s, skipped[i], CIE_INSNS), 0x1234, 0x10, B(0));
		expect_skipped(&s, CFI_SKIP_ENCODING);
	}
	/* a format that does not exist */
	sb_init(&s, CFI_EH_FRAME);
	s.enc = 0x03;
	fde(&s, cie_raw(&s, 1, "zR", B(0x05), 1, -8, 16, CIE_INSNS), 0x1234, 0x10, B(0));
	expect_bad_cie(&s, CFI_CIE_AUGMENTATION);
}

static void test_augmentations(void **state)
{
	/* P: pcrel|sdata4|indirect personality; L: LSDA pcrel|sdata4; R */
	static const uint8_t plr[] = { 0x9b, 1, 2, 3, 4, 0x1b, 0x1b };
	struct sb s;
	size_t off;

	(void)state;
	sb_init(&s, CFI_EH_FRAME);
	off = cie_raw(&s, 1, "zPLR", plr, sizeof(plr), 1, -8, 16, CIE_INSNS);
	s.enc = 0x1b;
	off = fde_begin(&s, off, 0x2000, 0x10, B(9, 9, 9, 9));	/* the LSDA pointer */
	entry_end(&s, off);
	expect_one_fde(&s, 0x2000);
	/* 'S', version 3 (return address column as ULEB) */
	sb_init(&s, CFI_EH_FRAME);
	s.enc = 0x1b;
	fde(&s, cie_raw(&s, 3, "zRS", B(0x1b), 1, -8, 16, CIE_INSNS), 0x20000, 0x10, B(0));
	expect_one_fde(&s, 0x20000);
	/* GCC 2's "eh": no 'z', absolute pointers */
	sb_init(&s, CFI_EH_FRAME);
	s.enc = 0x00;
	fde(&s, cie_raw(&s, 1, "eh", NULL, 0, 1, -8, 16, CIE_INSNS), 0x3000, 0x10, B(0));
	expect_one_fde(&s, 0x3000);
	/* no augmentation at all */
	sb_init(&s, CFI_EH_FRAME);
	s.enc = 0x00;
	fde(&s, cie_raw(&s, 1, "", NULL, 0, 1, -8, 16, CIE_INSNS), 0x3000, 0x10, B(0));
	expect_one_fde(&s, 0x3000);
	/* an unknown character */
	sb_init(&s, CFI_EH_FRAME);
	fde(&s, cie_raw(&s, 1, "zRX", B(0x1b), 1, -8, 16, CIE_INSNS), 0x3000, 0x10, B(0));
	expect_bad_cie(&s, CFI_CIE_AUGMENTATION);
	/* without 'z' nothing else can be skipped */
	sb_init(&s, CFI_EH_FRAME);
	s.z = false;
	fde(&s, cie_raw(&s, 1, "R", NULL, 0, 1, -8, 16, CIE_INSNS), 0x3000, 0x10, B(0));
	expect_bad_cie(&s, CFI_CIE_AUGMENTATION);
	/* a personality encoding that does not exist, an aligned one */
	sb_init(&s, CFI_EH_FRAME);
	fde(&s, cie_raw(&s, 1, "zPR", B(0x07, 0, 0x1b), 1, -8, 16, CIE_INSNS), 0x3000, 0x10,
	    B(0));
	expect_bad_cie(&s, CFI_CIE_AUGMENTATION);
	sb_init(&s, CFI_EH_FRAME);
	fde(&s, cie_raw(&s, 1, "zPR", B(0x50, 0, 0x1b), 1, -8, 16, CIE_INSNS), 0x3000, 0x10,
	    B(0));
	expect_bad_cie(&s, CFI_CIE_AUGMENTATION);
	/* augmentation data shorter than the string says */
	sb_init(&s, CFI_EH_FRAME);
	fde(&s, cie_raw(&s, 1, "zPR", B(0x9b, 0), 1, -8, 16, NULL, 0), 0x3000, 0x10, B(0));
	expect_bad_cie(&s, CFI_CIE_TRUNCATED);
}

static void test_cie_forms(void **state)
{
	struct cfi_table t;
	struct cfi_stats st;
	struct sb s;
	size_t off;

	(void)state;
	/* .debug_frame version 4: address size 8, then 4 */
	sb_init(&s, CFI_DEBUG_FRAME);
	fde(&s, cie_raw(&s, 4, "", NULL, 0, 1, -8, 16, CIE_INSNS), 0x5000, 0x10, B(0));
	expect_one_fde(&s, 0x5000);
	sb_init(&s, CFI_DEBUG_FRAME);
	s.addr_size = 4;
	fde(&s, cie_raw(&s, 4, "", NULL, 0, 1, -8, 16, CIE_INSNS), 0x5000, 0x10, B(0));
	expect_one_fde(&s, 0x5000);
	sb_init(&s, CFI_DEBUG_FRAME);
	s.addr_size = 2;
	fde(&s, cie_raw(&s, 4, "", NULL, 0, 1, -8, 16, CIE_INSNS), 0x5000, 0x10, B(0));
	expect_bad_cie(&s, CFI_CIE_ADDRESS_SIZE);
	/* a segment selector */
	sb_init(&s, CFI_DEBUG_FRAME);
	off = cie_raw(&s, 4, "", NULL, 0, 1, -8, 16, CIE_INSNS);
	s.b[off + 4 + 4 + 1 + 1 + 1] = 1;
	fde(&s, off, 0x5000, 0x10, B(0));
	expect_bad_cie(&s, CFI_CIE_ADDRESS_SIZE);
	/* versions */
	sb_init(&s, CFI_EH_FRAME);
	fde(&s, cie_raw(&s, 4, "zR", B(0x1b), 1, -8, 16, CIE_INSNS), 0x5000, 0x10, B(0));
	expect_bad_cie(&s, CFI_CIE_VERSION);
	sb_init(&s, CFI_DEBUG_FRAME);
	fde(&s, cie_raw(&s, 2, "", NULL, 0, 1, -8, 16, CIE_INSNS), 0x5000, 0x10, B(0));
	expect_bad_cie(&s, CFI_CIE_VERSION);
	/* return address column */
	sb_init(&s, CFI_EH_FRAME);
	fde(&s, cie_raw(&s, 1, "zR", B(0x1b), 1, -8, 15, CIE_INSNS), 0x5000, 0x10, B(0));
	expect_bad_cie(&s, CFI_CIE_RA_COLUMN);
	/* initial instructions that move, leave a state pushed, or are cut */
	sb_init(&s, CFI_EH_FRAME);
	fde(&s, cie(&s, 0x1b, B(0x0c, 7, 8, 0x41, 0x90, 1)), 0x5000, 0x10, B(0));
	expect_bad_cie(&s, CFI_CIE_PROGRAM);
	sb_init(&s, CFI_EH_FRAME);
	fde(&s, cie(&s, 0x1b, B(0x0c, 7, 8, 0x0a, 0x90, 1)), 0x5000, 0x10, B(0));
	expect_bad_cie(&s, CFI_CIE_PROGRAM);
	sb_init(&s, CFI_EH_FRAME);
	fde(&s, cie(&s, 0x1b, B(0x0c, 7, 8, 0x90)), 0x5000, 0x10, B(0));
	expect_bad_cie(&s, CFI_CIE_PROGRAM);
	/* an unterminated augmentation string */
	sb_init(&s, CFI_EH_FRAME);
	off = entry_begin(&s);
	put(&s, B(0, 0, 0, 0, 1, 'z', 'R'));
	entry_end(&s, off);
	fde(&s, off, 0x5000, 0x10, B(0));
	expect_bad_cie(&s, CFI_CIE_TRUNCATED);
	/* no CFA from the CIE: unsupported until the FDE gives one; a restore
	 * in the CIE is the default rule */
	sb_init(&s, CFI_EH_FRAME);
	fde(&s, cie(&s, 0x1b, B(0x86, 2, 0xc6, 0x90, 1)), 0x5000, 0x10, B(0x41, 0x0c, 7, 8));
	parse(&s, &t, &st);
	expect_rows(&t, (const struct row[]){ ROW(0x5000, UNSUP, 0), ROW(0x5001, RSP, 8), END(0x5010) },
		    3);
	cfi__table_free(&t);
}

/* ==== entries ==== */

static void test_dwarf_forms(void **state)
{
	struct sb s;
	size_t off, c;

	(void)state;
	for (c = 0; c < 4; c++) {	/* 32 / 64-bit, .eh_frame / .debug_frame */
		sb_init(&s, c & 1 ? CFI_DEBUG_FRAME : CFI_EH_FRAME);
		s.dwarf64 = c & 2;
		fde(&s, cie(&s, 0x1b, CIE_INSNS), 0x6000, 0x10, B(0));
		expect_one_fde(&s, 0x6000);
	}
	/* .debug_frame: a CIE may come after its FDEs */
	sb_init(&s, CFI_DEBUG_FRAME);
	off = fde(&s, 0, 0x6000, 0x10, B(0));
	s.b[off + 4] = (uint8_t)s.n;
	cie(&s, 0, CIE_INSNS);
	expect_one_fde(&s, 0x6000);
	/* .eh_frame: 0xffffffff is a CIE pointer, to nowhere */
	sb_init(&s, CFI_EH_FRAME);
	off = entry_begin(&s);
	put(&s, B(0xff, 0xff, 0xff, 0xff, 0x1b));
	entry_end(&s, off);
	expect_skipped(&s, CFI_SKIP_CIE);
	/* .debug_frame: a CIE pointer past the section, or to an FDE */
	sb_init(&s, CFI_DEBUG_FRAME);
	cie(&s, 0, CIE_INSNS);
	fde(&s, 0x1000, 0x6000, 0x10, B(0));
	expect_skipped(&s, CFI_SKIP_CIE);
	sb_init(&s, CFI_DEBUG_FRAME);
	fde(&s, 0, 0x6000, 0x10, B(0));
	expect_skipped(&s, CFI_SKIP_CIE);
}

static void test_entries(void **state)
{
	struct cfi_table t;
	struct cfi_stats st;
	struct sb s;
	size_t c_off, off;

	(void)state;
	/* a zero terminator between entries: later ones still read */
	sb_init(&s, CFI_EH_FRAME);
	c_off = cie(&s, 0x1b, CIE_INSNS);
	fde(&s, c_off, 0x7000, 0x10, B(0));
	le(&s, 0, 4);
	fde(&s, c_off, 0x7100, 0x10, B(0));
	parse(&s, &t, &st);
	assert_int_equal(st.entries, 4);
	assert_int_equal(st.fdes, 2);
	assert_int_equal(t.nrows, 4);
	cfi__table_free(&t);
	/* lengths past the end, reserved, or cut: the walk stops there */
	for (off = 0; off < 3; off++) {
		sb_init(&s, CFI_EH_FRAME);
		fde(&s, cie(&s, 0x1b, CIE_INSNS), 0x7000, 0x10, B(0));
		if (off == 0)
			le(&s, 0x100, 4);
		else if (off == 1)
			le(&s, 0xfffffff0, 4);
		else
			put(&s, B(0xff, 0xff, 0xff, 0xff, 1, 2, 3));
		parse(&s, &t, &st);
		assert_int_equal(st.bad_entry, 1);
		assert_int_equal(st.fdes, 1);
		cfi__table_free(&t);
	}
	/* an entry too short for its id; an FDE header cut short; FDE
	 * augmentation data past the end */
	sb_init(&s, CFI_EH_FRAME);
	cie(&s, 0x1b, CIE_INSNS);
	put(&s, B(2, 0, 0, 0, 0, 0));
	expect_skipped(&s, CFI_SKIP_TRUNCATED);
	sb_init(&s, CFI_EH_FRAME);
	c_off = cie(&s, 0x1b, CIE_INSNS);
	off = entry_begin(&s);
	le(&s, s.n - c_off, 4);
	le(&s, 0x100, 4);
	entry_end(&s, off);
	expect_skipped(&s, CFI_SKIP_TRUNCATED);
	sb_init(&s, CFI_EH_FRAME);
	c_off = cie(&s, 0x1b, CIE_INSNS);
	s.z = false;
	off = fde_begin(&s, c_off, 0x7000, 0x10, NULL, 0);
	put(&s, B(9));
	entry_end(&s, off);
	expect_skipped(&s, CFI_SKIP_TRUNCATED);
	/* an .eh_frame CIE pointer back into the middle of the CIE */
	sb_init(&s, CFI_EH_FRAME);
	c_off = cie(&s, 0x1b, CIE_INSNS);
	fde(&s, c_off + 4, 0x7000, 0x10, B(0));
	expect_skipped(&s, CFI_SKIP_CIE);
}

/* ==== the table's layout ==== */

static void test_layout(void **state)
{
	static const struct row want[] = {
		ROW(0x8000, RSP, 8), ROW(0x8004, RSP, 16), ROW(0x800c, RSP, 8), END(0x8020),
		ROW_RBP(0x8040, RSP, 16, AT, -16), END(0x8050),
	};
	struct cfi_table t;
	struct cfi_stats st;
	struct sb s;
	size_t c;

	(void)state;
	/* out of order, a gap, two neighbours with the same rule at their
	 * seam, an overlap, an FDE at the same pc, an empty one, one that wraps */
	sb_init(&s, CFI_EH_FRAME);
	c = cie(&s, 0x0c, CIE_INSNS);
	fde(&s, c, 0x8040, 0x10, B(0x0e, 16, 0x86, 2));
	fde(&s, c, 0x8010, 0x10, B(0));
	fde(&s, c, 0x8000, 0x10, B(0x44, 0x0e, 16, 0x48, 0x0e, 8));
	fde(&s, c, 0x8018, 0x10, B(0x0e, 32));
	fde(&s, c, 0x8040, 0x8, B(0x0e, 48));
	fde(&s, c, 0x9000, 0, B(0));
	fde(&s, c, UINT64_MAX - 8, 0x10, B(0));
	parse(&s, &t, &st);
	expect_rows(&t, want, sizeof(want) / sizeof(want[0]));
	assert_int_equal(st.fdes, 3);
	assert_int_equal(st.skipped[CFI_SKIP_OVERLAP], 2);
	assert_int_equal(st.skipped[CFI_SKIP_EMPTY], 1);
	assert_int_equal(st.skipped[CFI_SKIP_WRAP], 1);
	assert_int_equal(cfi__lookup(&t, 0x8030)->cfa_kind, CFI_CFA_NONE);
	assert_int_equal(cfi__lookup(&t, 0x801f)->cfa_off, 8);
	cfi__table_free(&t);
	/* an FDE at pc 0, a section of nothing */
	sb_init(&s, CFI_DEBUG_FRAME);
	fde(&s, cie(&s, 0, CIE_INSNS), 0, 4, B(0x07, 16));
	parse(&s, &t, &st);
	expect_rows(&t, (const struct row[]){ ROW(0, UNDEF, 0), END(4) }, 2);
	cfi__table_free(&t);
	sb_init(&s, CFI_EH_FRAME);
	parse(&s, &t, &st);
	assert_int_equal(t.nrows, 0);
	assert_null(t.rows);
	assert_null(cfi__lookup(&t, 0));
	cfi__table_free(&t);
}

/* Many FDEs, two rows each: every cap keeps the rows before the cut exact. */
static void test_cap(void **state)
{
	struct cfi_table full, t;
	struct cfi_stats st, st_full;
	const struct cfi_row *a, *b;
	struct sb s;
	size_t c, i, max;

	(void)state;
	sb_init(&s, CFI_EH_FRAME);
	c = cie(&s, 0x1b, CIE_INSNS);
	for (i = 0; i < 100; i++)
		fde(&s, c, 0x20000 + 0x20 * i + (i % 3 ? 0 : 8), 0x18, B(0x41, 0x0e, 16));
	parse(&s, &full, &st_full);
	assert_int_equal(st_full.truncated, 0);
	for (max = 2; max <= full.nrows + 1; max++) {
		parse_max(&s, max, &t, &st);
		assert_true(t.nrows <= max);
		assert_int_equal(st.truncated, max < full.nrows);
		assert_int_equal(st.fdes + st.skipped[CFI_SKIP_LIMIT], st_full.fdes);
		for (i = 0; i + 1 < t.nrows; i++) {
			a = cfi__lookup(&full, t.rows[i].pc);
			b = &t.rows[i];
			assert_int_equal(a->pc, b->pc);
			assert_memory_equal(&a->cfa_off, &b->cfa_off, 8);
		}
		cfi__table_free(&t);
	}
	assert_int_equal(cfi__parse(s.b, s.n, s.vaddr, s.kind, 1, &t, &st), -EINVAL);
	cfi__table_free(&full);
}

static void test_merge(void **state)
{
	static const struct row want[] = {
		ROW(0x1000, RSP, 16), ROW(0x1010, RBP, 16), ROW(0x1030, RSP, 16), ROW(0x1040, RBP, 16),
		END(0x1050),
	};
	struct cfi_table eh, dbg, m, empty = { 0 };
	struct cfi_stats st;
	struct sb s;
	size_t c;

	(void)state;
	sb_init(&s, CFI_EH_FRAME);
	c = cie(&s, 0x1b, CIE_INSNS);
	fde(&s, c, 0x1000, 0x10, B(0x0e, 16));
	fde(&s, c, 0x1030, 0x10, B(0x0e, 16));
	parse(&s, &eh, &st);
	sb_init(&s, CFI_DEBUG_FRAME);
	fde(&s, cie(&s, 0, CIE_INSNS), 0x1008, 0x48, B(0x0c, 6, 16));
	parse(&s, &dbg, &st);
	assert_int_equal(cfi__merge(&eh, &dbg, 0, &m), 0);
	assert_null(cfi_check_table(&m, 0));
	expect_rows(&m, want, sizeof(want) / sizeof(want[0]));
	cfi__table_free(&m);
	/* the fill's rows never hide the first's */
	assert_int_equal(cfi__merge(&dbg, &eh, 0, &m), 0);
	expect_rows(&m, (const struct row[]){ ROW(0x1000, RSP, 16), ROW(0x1008, RBP, 16),
					      END(0x1050) }, 3);
	cfi__table_free(&m);
	assert_int_equal(cfi__merge(&empty, &dbg, 0, &m), 0);
	assert_int_equal(m.nrows, dbg.nrows);
	assert_memory_equal(m.rows, dbg.rows, dbg.nrows * sizeof(*dbg.rows));
	cfi__table_free(&m);
	assert_int_equal(cfi__merge(&empty, &empty, 0, &m), 0);
	assert_int_equal(m.nrows, 0);
	assert_int_equal(cfi__merge(&eh, &dbg, 4, &m), -E2BIG);
	assert_null(m.rows);
	assert_int_equal(cfi__merge(&eh, &dbg, 5, &m), 0);
	cfi__table_free(&m);
	assert_int_equal(cfi__merge(&eh, &dbg, 1, &m), -EINVAL);
	cfi__table_free(&eh);
	cfi__table_free(&dbg);
}

/* ==== hostile input ==== */

/* Parses as both kinds, at a small cap and at none; checks the tables. */
static void parse_any(const uint8_t *data, size_t len, uint64_t vaddr)
{
	static const size_t caps[] = { 0, 3 };
	uint8_t *copy = malloc(len ? len : 1);
	struct cfi_table t;
	struct cfi_stats st;
	const char *why;
	size_t k, c;
	int err;

	assert_non_null(copy);
	memcpy(copy, data, len);
	for (k = 0; k < 2; k++) {
		for (c = 0; c < 2; c++) {
			err = cfi__parse(copy, len, vaddr, k ? CFI_DEBUG_FRAME : CFI_EH_FRAME,
					 caps[c], &t, &st);
			assert_int_equal(err, 0);
			why = cfi_check_table(&t, caps[c]);
			if (why)
				fail_msg("%zu bytes: %s", len, why);
			assert_int_equal(st.rows, t.nrows);
			cfi__table_free(&t);
		}
	}
	free(copy);
}

static void *fixture(const char *name, size_t *len)
{
	char path[PATH_MAX];
	uint8_t *buf;
	FILE *in;
	long n;

	snprintf(path, sizeof(path), "%s/cfi/%s", fixtures_dir(), name);
	in = fopen(path, "rb");
	if (!in)
		fail_msg("cannot open '%s': %s", path, strerror(errno));
	assert_int_equal(fseek(in, 0, SEEK_END), 0);
	n = ftell(in);
	assert_true(n > 0);
	rewind(in);
	buf = malloc((size_t)n);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, in), (size_t)n);
	fclose(in);
	*len = (size_t)n;
	return buf;
}

/* Every prefix of real sections, then random changes to them. */
static void test_hostile(void **state)
{
	static const char *const names[] = { "lazy.eh_frame", "dwarf64.debug_frame",
					     "dwarf32.debug_frame" };
	uint64_t rng = 0x9e3779b97f4a7c15ull;
	uint8_t *orig, *buf;
	size_t len, n, i, k, flips;

	(void)state;
	for (n = 0; n < sizeof(names) / sizeof(names[0]); n++) {
		orig = fixture(names[n], &len);
		for (i = 0; i <= len; i++)
			parse_any(orig, i, 0x2000);
		buf = malloc(len);
		assert_non_null(buf);
		for (i = 0; i < 3000; i++) {
			memcpy(buf, orig, len);
			flips = 1 + xorshift64(&rng) % 4;
			for (k = 0; k < flips; k++) {
				uint64_t r = xorshift64(&rng);

				buf[r % len] = r >> 32 & 3 ? (uint8_t)(r >> 40) :
							     buf[r % len] ^ (uint8_t)(1 << (r >> 48 & 7));
			}
			parse_any(buf, len - (xorshift64(&rng) % 2 ? 0 : xorshift64(&rng) % len),
				  xorshift64(&rng));
		}
		free(buf);
		free(orig);
	}
	/* bytes from nowhere */
	buf = malloc(512);
	assert_non_null(buf);
	for (i = 0; i < 3000; i++) {
		len = xorshift64(&rng) % 512;
		for (k = 0; k < len; k++)
			buf[k] = (uint8_t)xorshift64(&rng);
		parse_any(buf, len, xorshift64(&rng));
	}
	free(buf);
}

/* One CIE with a long program and many FDEs using it: the program runs
 * once, not once per FDE. */
static void test_shared_cie(void **state)
{
	static uint8_t nops[8000];
	struct cfi_table t;
	struct cfi_stats st;
	struct sb *s = malloc(sizeof(*s));
	size_t c, i;

	(void)state;
	assert_non_null(s);
	sb_init(s, CFI_EH_FRAME);
	memcpy(nops, (const uint8_t[]){ 0x0c, 7, 8, 0x90, 1 }, 5);
	c = cie(s, 0x1b, nops, sizeof(nops));
	for (i = 0; s->n + 32 < sizeof(s->b); i++)
		fde(s, c, 0x40000 + 16 * i, 8, B(0));
	parse(s, &t, &st);
	assert_int_equal(st.fdes, i);
	assert_int_equal(t.nrows, 2 * i);
	cfi__table_free(&t);
	free(s);
}

static void test_args(void **state)
{
	struct cfi_table t = { 0 };
	struct cfi_stats st;
	unsigned int i;

	(void)state;
	assert_int_equal(cfi__parse(NULL, 1, 0, CFI_EH_FRAME, 0, &t, &st), -EINVAL);
	assert_int_equal(cfi__parse((const uint8_t *)"", 0, 0, (enum cfi_section)7, 0, &t, &st),
			 -EINVAL);
	assert_int_equal(cfi__parse(NULL, 0, 0, CFI_DEBUG_FRAME, 0, &t, &st), 0);
	assert_int_equal(t.nrows, 0);
	cfi__table_free(&t);
	cfi__table_free(NULL);
	for (i = 0; i <= CFI_SKIP__COUNT; i++)
		assert_non_null(cfi__skip_name((enum cfi_skip)i));
	for (i = 0; i <= CFI_CUT__COUNT; i++)
		assert_non_null(cfi__cut_name((enum cfi_cut)i));
	for (i = 0; i <= CFI_CIE__COUNT; i++)
		assert_non_null(cfi__cie_bad_name((enum cfi_cie_bad)i));
	assert_string_equal(cfi__skip_name(CFI_SKIP__COUNT), "?");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_opcodes),
		cmocka_unit_test(test_locations),
		cmocka_unit_test(test_location_limits),
		cmocka_unit_test(test_encodings),
		cmocka_unit_test(test_augmentations),
		cmocka_unit_test(test_cie_forms),
		cmocka_unit_test(test_dwarf_forms),
		cmocka_unit_test(test_entries),
		cmocka_unit_test(test_layout),
		cmocka_unit_test(test_cap),
		cmocka_unit_test(test_merge),
		cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_shared_cie),
		cmocka_unit_test(test_args),
	};

	return cmocka_run_group_tests_name("cfi", tests, NULL, NULL);
}
