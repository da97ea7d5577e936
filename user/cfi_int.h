/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * What the two halves of the CFI parser share; not for use outside them:
 * user/cfi.h is the interface.
 *
 *   cfi_prog.c  bounded reads (LEB128, DW_EH_PE_* pointers), the CFA
 *               program interpreter, the row builder
 *   cfi.c       the section's entries, CIE and FDE headers, the table
 *               assembled in pc order, lookup, merge
 */
#ifndef PYSPY_CFI_INT_H
#define PYSPY_CFI_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cfi.h"

/* x86-64 DWARF register numbers (psABI figure 3.36). */
#define REG_RBP 6
#define REG_RSP 7
#define REG_RA 16

/* DW_EH_PE_*: value format (low nibble), application (bits 4-6), indirect. */
#define PE_ABSPTR 0x00
#define PE_ULEB128 0x01
#define PE_UDATA2 0x02
#define PE_UDATA4 0x03
#define PE_UDATA8 0x04
#define PE_SLEB128 0x09
#define PE_SDATA2 0x0a
#define PE_SDATA4 0x0b
#define PE_SDATA8 0x0c
#define PE_PCREL 0x10
#define PE_ALIGNED 0x50
#define PE_INDIRECT 0x80
#define PE_OMIT 0xff

/* A window of the section; a read past its end sets bad, and every read
 * after that gives 0. */
struct cur {
	const uint8_t *p, *end;
	bool bad;
};

bool cfi_take(struct cur *c, size_t n, const uint8_t **at);
/* n (1..8) bytes, little endian. */
uint64_t cfi_rd_le(struct cur *c, size_t n);
/* Any number of bytes (padding allowed); bits past 64 must be 0 (ULEB) or
 * the sign (SLEB), else bad. */
uint64_t cfi_rd_uleb(struct cur *c);
int64_t cfi_rd_sleb(struct cur *c);
bool cfi_pe_known(uint8_t enc);
bool cfi_rd_encoded(struct cur *c, uint8_t enc, unsigned int addr_size, uint64_t vaddr,
		    uint64_t *out);

static inline uint8_t cfi_rd_u8(struct cur *c)
{
	return (uint8_t)cfi_rd_le(c, 1);
}

enum rule_kind { RULE_SAME, RULE_UNDEF, RULE_OFFSET, RULE_OTHER };

/* The rule of one register; RULE_OTHER is any we cannot express (register,
 * value, expression). */
struct rule {
	uint8_t kind;
	int64_t off;		/* RULE_OFFSET: saved at cfa + off */
};

/* state.cfa_expr: the CFA is register + offset, or an expression other than
 * the PLT's; 0..15 is the PLT expression's threshold. */
#define CFA_BY_REGISTER (-1)
#define CFA_BY_EXPRESSION (-2)

/* The columns of a row that matter. */
struct state {
	uint64_t cfa_reg;
	int64_t cfa_off;
	int cfa_expr;
	struct rule rbp, ra;
};

/* The table under construction: see cfi_push(). */
struct builder {
	struct cfi_row *rows;
	size_t n, cap, max;	/* max: the cap on rows, the final NONE row included */
	bool full;		/* cut at max: nothing more goes in */
	int err;		/* -ENOMEM */
};

/*
 * The rule from pc on. A row at the pc of the last one replaces it; a rule
 * equal to the last row's adds nothing, as does a leading CFI_CFA_NONE. When
 * one slot is left, the table ends with a CFI_CFA_NONE row at pc: the rows
 * before stay exact.
 */
void cfi_push(struct builder *b, uint64_t pc, const struct cfi_row *rule);
void cfi_push_none(struct builder *b, uint64_t pc);
void cfi_row_of(const struct state *s, struct cfi_row *r);

enum step { STEP_NEXT, STEP_DONE, STEP_CUT };

/* One CFA program (a CIE's initial instructions or an FDE's) being run. */
struct prog {
	struct cur c;
	const uint8_t *sec;		/* for the address of a set_loc operand */
	uint64_t sec_vaddr;
	uint64_t caf;			/* code alignment factor */
	int64_t daf;			/* data alignment factor */
	uint8_t enc;			/* DW_EH_PE_* of set_loc's operand */
	uint8_t addr_size;
	const struct state *init;	/* the CIE's rules; NULL in the CIE itself */
	struct builder *b;
	struct state cur;
	struct state stack[CFI_STATE_DEPTH];
	unsigned int depth;
	uint64_t loc, limit;		/* FDE: current location, end of its range */
	enum cfi_cut why;		/* of STEP_CUT */
};

/*
 * Runs p->c to its end (STEP_DONE), past p->limit (STEP_DONE) or to an
 * instruction it cannot follow (STEP_CUT, p->why). Each row is pushed to
 * p->b when the location moves past it; the last one (from p->loc) is the
 * caller's to push. A CIE's program (p->init NULL) may not move the location.
 */
int cfi_run(struct prog *p);

#endif
