// SPDX-License-Identifier: BSD-2-Clause
/* Bounded reads, the CFA program interpreter and the row builder; see
 * cfi_int.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "cfi_int.h"

/* ==== reading ==== */

bool cfi_take(struct cur *c, size_t n, const uint8_t **at)
{
	if (c->bad || (size_t)(c->end - c->p) < n) {
		c->bad = true;
		return false;
	}
	*at = c->p;
	c->p += n;
	return true;
}

uint64_t cfi_rd_le(struct cur *c, size_t n)
{
	const uint8_t *at;
	uint64_t v = 0;

	if (!cfi_take(c, n, &at))
		return 0;
	while (n--)
		v = v << 8 | at[n];
	return v;
}

uint64_t cfi_rd_uleb(struct cur *c)
{
	unsigned int shift = 0;
	uint64_t v = 0;
	uint8_t b, chunk;

	do {
		if (!c->bad && c->p >= c->end)
			c->bad = true;
		if (c->bad)
			return 0;
		b = *c->p++;
		chunk = b & 0x7f;
		if (shift >= 64) {
			if (chunk)
				c->bad = true;
			continue;
		}
		v |= (uint64_t)chunk << shift;
		if (shift == 63 && chunk >> 1)
			c->bad = true;
		shift += 7;
	} while (b & 0x80);
	return c->bad ? 0 : v;
}

int64_t cfi_rd_sleb(struct cur *c)
{
	bool lost_one = false, lost_zero = false, neg;
	unsigned int shift = 0;
	uint64_t v = 0;
	uint8_t b, chunk;

	do {
		if (!c->bad && c->p >= c->end)
			c->bad = true;
		if (c->bad)
			return 0;
		b = *c->p++;
		chunk = b & 0x7f;
		if (shift >= 64) {
			lost_one |= chunk != 0;
			lost_zero |= chunk != 0x7f;
			continue;
		}
		v |= (uint64_t)chunk << shift;
		if (shift == 63) {
			lost_one |= (chunk >> 1) != 0;
			lost_zero |= (chunk >> 1) != 0x3f;
		}
		shift += 7;
	} while (b & 0x80);
	if (shift < 64 && (b & 0x40))
		v |= ~(uint64_t)0 << shift;
	neg = v >> 63;
	if (neg ? lost_zero : lost_one) {
		c->bad = true;
		return 0;
	}
	return (int64_t)v;
}

static uint64_t sext(uint64_t v, unsigned int bits)
{
	uint64_t sign = (uint64_t)1 << (bits - 1);

	return (v ^ sign) - sign;
}

bool cfi_pe_known(uint8_t enc)
{
	switch (enc & 0x0f) {
	case PE_ABSPTR: case PE_ULEB128: case PE_UDATA2: case PE_UDATA4: case PE_UDATA8:
	case PE_SLEB128: case PE_SDATA2: case PE_SDATA4: case PE_SDATA8:
		return true;
	}
	return false;
}

/*
 * A DW_EH_PE_* encoded value whose first byte is at address vaddr. Returns
 * true with *out when the value is usable: absolute or pc-relative, not
 * indirect. The bytes are consumed if the format is known (c->bad: they were
 * not all there); nothing is read for an unknown format or DW_EH_PE_omit.
 */
bool cfi_rd_encoded(struct cur *c, uint8_t enc, unsigned int addr_size, uint64_t vaddr,
		       uint64_t *out)
{
	uint64_t v = 0;

	if (!cfi_pe_known(enc))
		return false;
	switch (enc & 0x0f) {
	case PE_ABSPTR: v = cfi_rd_le(c, addr_size); break;
	case PE_ULEB128: v = cfi_rd_uleb(c); break;
	case PE_UDATA2: v = cfi_rd_le(c, 2); break;
	case PE_UDATA4: v = cfi_rd_le(c, 4); break;
	case PE_UDATA8: v = cfi_rd_le(c, 8); break;
	case PE_SLEB128: v = (uint64_t)cfi_rd_sleb(c); break;
	case PE_SDATA2: v = sext(cfi_rd_le(c, 2), 16); break;
	case PE_SDATA4: v = sext(cfi_rd_le(c, 4), 32); break;
	case PE_SDATA8: v = cfi_rd_le(c, 8); break;
	}
	if (c->bad || (enc & PE_INDIRECT))
		return false;
	switch (enc & 0x70) {
	case 0:
		break;
	case PE_PCREL:
		v += vaddr;
		break;
	default:		/* textrel, datarel, funcrel, aligned */
		return false;
	}
	*out = v;
	return true;
}

/* ==== the table under construction ==== */

static bool row_eq(const struct cfi_row *a, const struct cfi_row *b)
{
	return a->cfa_kind == b->cfa_kind && a->cfa_off == b->cfa_off &&
	       a->rbp_kind == b->rbp_kind && a->rbp_off == b->rbp_off;
}

void cfi_push(struct builder *b, uint64_t pc, const struct cfi_row *rule)
{
	struct cfi_row r = *rule, *rows;
	size_t cap;

	if (b->full || b->err)
		return;
	if (b->n && b->rows[b->n - 1].pc == pc)
		b->n--;
	if (b->n + 1 >= b->max && r.cfa_kind != CFI_CFA_NONE) {
		memset(&r, 0, sizeof(r));
		b->full = true;
	}
	if ((b->n && row_eq(&b->rows[b->n - 1], &r)) || (!b->n && r.cfa_kind == CFI_CFA_NONE))
		return;
	if (b->n == b->cap) {
		cap = b->cap ? b->cap * 2 : 256;
		if (cap > b->max)
			cap = b->max;
		rows = realloc(b->rows, cap * sizeof(*rows));
		if (!rows) {
			b->err = -ENOMEM;
			return;
		}
		b->rows = rows;
		b->cap = cap;
	}
	r.pc = pc;
	b->rows[b->n++] = r;
}

void cfi_push_none(struct builder *b, uint64_t pc)
{
	struct cfi_row none = { 0 };

	cfi_push(b, pc, &none);
}

void cfi_row_of(const struct state *s, struct cfi_row *r)
{
	memset(r, 0, sizeof(*r));
	if (s->ra.kind == RULE_UNDEF) {
		r->cfa_kind = CFI_CFA_UNDEFINED;
		return;
	}
	if (s->ra.kind != RULE_OFFSET || s->ra.off != -8)
		goto unsupported;
	if (s->cfa_expr >= 0) {
		r->cfa_kind = CFI_CFA_PLT;
		r->cfa_off = s->cfa_expr;
	} else if (s->cfa_expr == CFA_BY_REGISTER &&
		   (s->cfa_reg == REG_RSP || s->cfa_reg == REG_RBP) &&
		   s->cfa_off >= INT32_MIN && s->cfa_off <= INT32_MAX) {
		r->cfa_kind = s->cfa_reg == REG_RSP ? CFI_CFA_RSP : CFI_CFA_RBP;
		r->cfa_off = (int32_t)s->cfa_off;
	} else {
		goto unsupported;
	}
	switch (s->rbp.kind) {
	case RULE_SAME:
		break;
	case RULE_UNDEF:
		r->rbp_kind = CFI_RBP_UNDEFINED;
		break;
	case RULE_OFFSET:
		if (s->rbp.off >= INT16_MIN && s->rbp.off <= INT16_MAX) {
			r->rbp_kind = CFI_RBP_AT_CFA;
			r->rbp_off = (int16_t)s->rbp.off;
			break;
		}
		/* fall through */
	default:
		r->rbp_kind = CFI_RBP_UNSUPPORTED;
	}
	return;
unsupported:
	memset(r, 0, sizeof(*r));
	r->cfa_kind = CFI_CFA_UNSUPPORTED;
}

/* ==== CFA programs ==== */

enum {
	OP_ADVANCE_LOC = 0x40, OP_OFFSET = 0x80, OP_RESTORE = 0xc0,
	OP_NOP = 0x00, OP_SET_LOC, OP_ADVANCE_LOC1, OP_ADVANCE_LOC2, OP_ADVANCE_LOC4,
	OP_OFFSET_EXTENDED, OP_RESTORE_EXTENDED, OP_UNDEFINED, OP_SAME_VALUE, OP_REGISTER,
	OP_REMEMBER_STATE, OP_RESTORE_STATE, OP_DEF_CFA, OP_DEF_CFA_REGISTER,
	OP_DEF_CFA_OFFSET, OP_DEF_CFA_EXPRESSION, OP_EXPRESSION, OP_OFFSET_EXTENDED_SF,
	OP_DEF_CFA_SF, OP_DEF_CFA_OFFSET_SF, OP_VAL_OFFSET, OP_VAL_OFFSET_SF,
	OP_VAL_EXPRESSION,
	OP_MIPS_ADVANCE_LOC8 = 0x1d,
	OP_GNU_ARGS_SIZE = 0x2e, OP_GNU_NEGATIVE_OFFSET_EXTENDED = 0x2f,
};

static int cut(struct prog *p, enum cfi_cut why)
{
	p->why = why;
	return STEP_CUT;
}

static struct rule *rule_of(struct state *s, uint64_t reg)
{
	if (reg == REG_RBP)
		return &s->rbp;
	if (reg == REG_RA)
		return &s->ra;
	return NULL;
}

static void set_rule(struct prog *p, uint64_t reg, uint8_t kind, int64_t off)
{
	struct rule *r = rule_of(&p->cur, reg);

	if (r) {
		r->kind = kind;
		r->off = off;
	}
}

/* DW_CFA_restore: back to the CIE's rule; in the CIE, to the default
 * (RULE_SAME). */
static void restore_rule(struct prog *p, uint64_t reg)
{
	struct rule *r = rule_of(&p->cur, reg);

	if (!r)
		return;
	if (!p->init)
		*r = (struct rule){ RULE_SAME, 0 };
	else
		*r = reg == REG_RBP ? p->init->rbp : p->init->ra;
}

/* The current row holds up to `to`; a CIE's program may not move. */
static int move_to(struct prog *p, uint64_t to)
{
	struct cfi_row r;

	if (!p->init || to < p->loc)
		return cut(p, CFI_CUT_LOCATION);
	cfi_row_of(&p->cur, &r);
	cfi_push(p->b, p->loc, &r);
	p->loc = to;
	return to >= p->limit ? STEP_DONE : STEP_NEXT;
}

static int advance(struct prog *p, unsigned int size, uint64_t delta)
{
	uint64_t to;

	if (size)
		delta = cfi_rd_le(&p->c, size);
	if (p->c.bad)
		return cut(p, CFI_CUT_TRUNCATED);
	if (__builtin_mul_overflow(delta, p->caf, &delta) || __builtin_add_overflow(p->loc, delta, &to))
		return cut(p, CFI_CUT_LOCATION);
	return move_to(p, to);
}

static int set_loc(struct prog *p)
{
	uint64_t vaddr = p->sec_vaddr + (uint64_t)(p->c.p - p->sec), to;

	if (!cfi_rd_encoded(&p->c, p->enc, p->addr_size, vaddr, &to))
		return cut(p, p->c.bad ? CFI_CUT_TRUNCATED : CFI_CUT_LOCATION);
	return move_to(p, to);
}

/* The exact expression ld writes for its lazy PLT (binutils' elf_x86_64
 * eh_frame templates): DW_OP_breg7 8; DW_OP_breg16 0; DW_OP_lit15; DW_OP_and;
 * DW_OP_lit<K>; DW_OP_ge; DW_OP_lit3; DW_OP_shl; DW_OP_plus. Returns K, or
 * CFA_BY_EXPRESSION for anything else. */
static int plt_threshold(const uint8_t *e, uint64_t n)
{
	static const uint8_t head[] = { 0x77, 0x08, 0x80, 0x00, 0x3f, 0x1a };
	static const uint8_t tail[] = { 0x2a, 0x33, 0x24, 0x22 };

	if (n != sizeof(head) + 1 + sizeof(tail) || memcmp(e, head, sizeof(head)) ||
	    e[sizeof(head)] < 0x30 || e[sizeof(head)] > 0x3f ||
	    memcmp(e + sizeof(head) + 1, tail, sizeof(tail)))
		return CFA_BY_EXPRESSION;
	return e[sizeof(head)] - 0x30;
}

/* A DW_FORM_block operand: ULEB length, then the bytes. */
static const uint8_t *rd_block(struct cur *c, uint64_t *n)
{
	const uint8_t *at = NULL;

	*n = cfi_rd_uleb(c);
	if (!c->bad && *n <= (uint64_t)(c->end - c->p))
		cfi_take(c, *n, &at);
	else
		c->bad = true;
	return at;
}

/* ULEB or SLEB times the data alignment factor, or false if past int64. */
static bool factored(struct prog *p, uint64_t u, int64_t *out)
{
	return u <= INT64_MAX && !__builtin_mul_overflow((int64_t)u, p->daf, out);
}

static bool factored_sf(struct prog *p, int64_t s, int64_t *out)
{
	return !__builtin_mul_overflow(s, p->daf, out);
}

/* Operations on one register's rule. STEP_NEXT also for "not mine". */
static int step_register(struct prog *p, uint8_t op)
{
	struct cur *c = &p->c;
	uint64_t reg = cfi_rd_uleb(c), u;
	int64_t off = 0;

	switch (op) {
	case OP_OFFSET_EXTENDED:
	case OP_VAL_OFFSET:
	case OP_GNU_NEGATIVE_OFFSET_EXTENDED:
		u = cfi_rd_uleb(c);
		if (!c->bad && !factored(p, u, &off))
			return cut(p, CFI_CUT_OVERFLOW);
		if (op == OP_GNU_NEGATIVE_OFFSET_EXTENDED) {
			if (off == INT64_MIN)
				return cut(p, CFI_CUT_OVERFLOW);
			off = -off;
		}
		set_rule(p, reg, op == OP_VAL_OFFSET ? RULE_OTHER : RULE_OFFSET, off);
		break;
	case OP_OFFSET_EXTENDED_SF:
	case OP_VAL_OFFSET_SF:
		if (!factored_sf(p, cfi_rd_sleb(c), &off))
			return cut(p, CFI_CUT_OVERFLOW);
		set_rule(p, reg, op == OP_VAL_OFFSET_SF ? RULE_OTHER : RULE_OFFSET, off);
		break;
	case OP_RESTORE_EXTENDED:
		restore_rule(p, reg);
		break;
	case OP_UNDEFINED:
		set_rule(p, reg, RULE_UNDEF, 0);
		break;
	case OP_SAME_VALUE:
		set_rule(p, reg, RULE_SAME, 0);
		break;
	case OP_REGISTER:
		cfi_rd_uleb(c);
		set_rule(p, reg, RULE_OTHER, 0);
		break;
	case OP_EXPRESSION:
	case OP_VAL_EXPRESSION:
		rd_block(c, &u);
		set_rule(p, reg, RULE_OTHER, 0);
		break;
	default:
		return cut(p, CFI_CUT_OPCODE);
	}
	return c->bad ? cut(p, CFI_CUT_TRUNCATED) : STEP_NEXT;
}

/* Operations on the CFA rule and on the stack of states. */
static int step_cfa(struct prog *p, uint8_t op)
{
	struct cur *c = &p->c;
	struct state *s = &p->cur;
	const uint8_t *e;
	uint64_t u;
	int64_t off;

	switch (op) {
	case OP_DEF_CFA:
	case OP_DEF_CFA_SF:
		s->cfa_reg = cfi_rd_uleb(c);
		s->cfa_expr = CFA_BY_REGISTER;
		/* fall through */
	case OP_DEF_CFA_OFFSET:
	case OP_DEF_CFA_OFFSET_SF:
		if (op == OP_DEF_CFA || op == OP_DEF_CFA_OFFSET) {
			u = cfi_rd_uleb(c);
			if (u > INT64_MAX)
				return cut(p, c->bad ? CFI_CUT_TRUNCATED : CFI_CUT_OVERFLOW);
			off = (int64_t)u;
		} else if (!factored_sf(p, cfi_rd_sleb(c), &off)) {
			return cut(p, CFI_CUT_OVERFLOW);
		}
		s->cfa_off = off;
		break;
	case OP_DEF_CFA_REGISTER:
		s->cfa_reg = cfi_rd_uleb(c);
		s->cfa_expr = CFA_BY_REGISTER;
		break;
	case OP_DEF_CFA_EXPRESSION:
		e = rd_block(c, &u);
		if (e)
			s->cfa_expr = plt_threshold(e, u);
		break;
	case OP_REMEMBER_STATE:
		if (p->depth == CFI_STATE_DEPTH)
			return cut(p, CFI_CUT_STATE);
		p->stack[p->depth++] = *s;
		break;
	case OP_RESTORE_STATE:
		if (!p->depth)
			return cut(p, CFI_CUT_STATE);
		*s = p->stack[--p->depth];
		break;
	default:
		return step_register(p, op);
	}
	return c->bad ? cut(p, CFI_CUT_TRUNCATED) : STEP_NEXT;
}

static int step(struct prog *p)
{
	uint8_t op = cfi_rd_u8(&p->c);
	int64_t off;
	uint64_t u;

	switch (op & 0xc0) {
	case OP_ADVANCE_LOC:
		return advance(p, 0, op & 0x3f);
	case OP_OFFSET:
		u = cfi_rd_uleb(&p->c);
		if (p->c.bad)
			return cut(p, CFI_CUT_TRUNCATED);
		if (!factored(p, u, &off))
			return cut(p, CFI_CUT_OVERFLOW);
		set_rule(p, op & 0x3f, RULE_OFFSET, off);
		return STEP_NEXT;
	case OP_RESTORE:
		restore_rule(p, op & 0x3f);
		return STEP_NEXT;
	}
	switch (op) {
	case OP_NOP:
	case OP_GNU_ARGS_SIZE:
		if (op == OP_GNU_ARGS_SIZE)
			cfi_rd_uleb(&p->c);
		return p->c.bad ? cut(p, CFI_CUT_TRUNCATED) : STEP_NEXT;
	case OP_SET_LOC:
		return set_loc(p);
	case OP_ADVANCE_LOC1:
		return advance(p, 1, 0);
	case OP_ADVANCE_LOC2:
		return advance(p, 2, 0);
	case OP_ADVANCE_LOC4:
		return advance(p, 4, 0);
	case OP_MIPS_ADVANCE_LOC8:
		return advance(p, 8, 0);
	}
	return step_cfa(p, op);
}

int cfi_run(struct prog *p)
{
	int ret = STEP_NEXT;

	while (ret == STEP_NEXT && p->c.p < p->c.end)
		ret = step(p);
	return ret == STEP_NEXT ? STEP_DONE : ret;
}

