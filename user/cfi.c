// SPDX-License-Identifier: BSD-2-Clause
/*
 * .eh_frame / .debug_frame -> unwind rows; see cfi.h.
 *
 * Three steps: walk the entries once, parsing every CIE (its initial
 * instructions run once, whatever the number of FDEs using it) and noting
 * every FDE; read the FDEs' headers and sort them by pc; run each FDE's
 * program in pc order (cfi_prog.c), its rows going to a builder that merges
 * them, fills the gaps between FDEs and enforces the cap.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "cfi_int.h"

struct cie {
	size_t off;			/* of the entry */
	const uint8_t *insns, *end;	/* initial instructions */
	uint64_t caf;			/* code alignment factor */
	int64_t daf;			/* data alignment factor */
	uint8_t fde_enc;		/* 'R': pc_begin and set_loc */
	uint8_t addr_size;
	bool aug_data;			/* 'z': FDEs have augmentation data */
	int bad;			/* -1, or enum cfi_cie_bad */
	struct state init;		/* after the initial instructions */
};

struct fde {
	size_t off;			/* of the entry */
	size_t cie_off;			/* of its CIE; SIZE_MAX: none */
	size_t body, end;		/* after the CIE pointer; past the entry */
	bool cut;			/* too short for its CIE pointer */
	uint64_t begin, limit;		/* pc range [begin, limit) */
	const uint8_t *insns;
	size_t cie;			/* index in cies[] */
};

/* One call of cfi__parse(). */
struct parse {
	const uint8_t *sec;
	size_t len;
	uint64_t sec_vaddr;
	enum cfi_section kind;
	struct cie *cies;
	size_t ncies;
	struct fde *fdes;
	size_t nfdes;
	struct builder b;
	struct cfi_range *funcs;	/* the FDEs taken, nfuncs of them */
	size_t nfuncs;
	struct cfi_stats *st;
};

/* ==== entries ==== */

struct entry {
	size_t off;		/* of the length field */
	size_t body;		/* past the CIE id / CIE pointer */
	size_t end;		/* past the entry */
	size_t cie_off;		/* FDE: its CIE's offset, SIZE_MAX if it cannot be one */
	bool is_cie, is_zero;
	bool cut;		/* too short for its id: an FDE, truncated */
};

/*
 * The entry at *off, moving *off past it. Returns 1, 0 at the end of the
 * section, -1 for a length that does not fit (nothing after it can be
 * trusted to start an entry).
 */
static int next_entry(const uint8_t *sec, size_t len, enum cfi_section kind, size_t *off,
		      struct entry *e)
{
	uint64_t n, id, cie_id;
	size_t id_at, id_size = 4;
	struct cur c;

	if (*off >= len)
		return 0;
	c = (struct cur){ sec + *off, sec + len, false };
	memset(e, 0, sizeof(*e));
	e->off = *off;
	n = cfi_rd_le(&c, 4);
	if (n == 0xffffffff) {
		n = cfi_rd_le(&c, 8);
		id_size = 8;
	} else if (n >= 0xfffffff0) {
		return -1;	/* reserved by DWARF */
	}
	id_at = (size_t)(c.p - sec);
	if (c.bad || n > len - id_at)
		return -1;
	e->end = id_at + (size_t)n;
	*off = e->end;
	if (!n) {
		e->is_zero = true;
		return 1;
	}
	e->body = e->end;
	e->cie_off = SIZE_MAX;
	c.end = sec + e->end;
	id = cfi_rd_le(&c, id_size);
	e->cut = c.bad;
	if (e->cut)
		return 1;
	e->body = id_at + id_size;
	cie_id = kind == CFI_EH_FRAME ? 0 : id_size == 8 ? UINT64_MAX : 0xffffffff;
	e->is_cie = id == cie_id;
	if (e->is_cie)
		return 1;
	/* .eh_frame: back from the pointer's own offset; .debug_frame: from 0. */
	if (kind == CFI_DEBUG_FRAME && id < len)
		e->cie_off = (size_t)id;
	else if (kind == CFI_EH_FRAME && id <= id_at)
		e->cie_off = id_at - (size_t)id;
	return 1;
}

/* The augmentation string's characters after 'z', and their data; -1 or
 * enum cfi_cie_bad. */
static int cie_augmentation(const struct parse *ps, struct cur *c, const char *aug,
			    struct cie *cie)
{
	uint64_t n = cfi_rd_uleb(c), ignored;
	struct cur d = *c;
	uint8_t enc;

	if (c->bad || n > (uint64_t)(c->end - c->p))
		return CFI_CIE_TRUNCATED;
	d.end = c->p + n;
	c->p = d.end;
	cie->aug_data = true;
	for (; *aug; aug++) {
		switch (*aug) {
		case 'R':
		case 'L':
			enc = cfi_rd_u8(&d);
			if (!d.bad && enc != PE_OMIT && !cfi_pe_known(enc))
				return CFI_CIE_AUGMENTATION;
			if (*aug == 'R')
				cie->fde_enc = enc;
			break;
		case 'P':	/* the personality routine: only skipped */
			enc = cfi_rd_u8(&d);
			/* aligned: padding we do not need to know of */
			if (!d.bad && (!cfi_pe_known(enc) || (enc & 0x70) == PE_ALIGNED))
				return CFI_CIE_AUGMENTATION;
			cfi_rd_encoded(&d, enc, cie->addr_size,
				       ps->sec_vaddr + (uint64_t)(d.p - ps->sec), &ignored);
			break;
		case 'S':	/* signal frame: nothing to read */
			break;
		default:
			return CFI_CIE_AUGMENTATION;
		}
		if (d.bad)
			return CFI_CIE_TRUNCATED;
	}
	return -1;
}

/* The CIE's fields up to its initial instructions; -1 or enum cfi_cie_bad. */
static int cie_header(const struct parse *ps, const struct entry *e, struct cie *cie)
{
	struct cur c = { ps->sec + e->body, ps->sec + e->end, false };
	const char *aug;
	uint8_t version;
	uint64_t ra;
	int bad;

	version = cfi_rd_u8(&c);
	aug = (const char *)c.p;
	if (c.bad || !memchr(c.p, 0, (size_t)(c.end - c.p)))
		return CFI_CIE_TRUNCATED;
	c.p += strlen(aug) + 1;
	if (version != 1 && version != 3 && (version != 4 || ps->kind != CFI_DEBUG_FRAME))
		return CFI_CIE_VERSION;
	cie->addr_size = 8;
	if (aug[0] == 'e' && aug[1] == 'h') {	/* GCC 2: a pointer to EH data */
		cfi_rd_le(&c, 8);
		aug += 2;
	}
	if (version == 4) {
		cie->addr_size = cfi_rd_u8(&c);
		if (!c.bad && ((cie->addr_size != 4 && cie->addr_size != 8) || cfi_rd_u8(&c)))
			return CFI_CIE_ADDRESS_SIZE;
	}
	cie->caf = cfi_rd_uleb(&c);
	cie->daf = cfi_rd_sleb(&c);
	ra = version == 1 ? cfi_rd_u8(&c) : cfi_rd_uleb(&c);
	if (c.bad)
		return CFI_CIE_TRUNCATED;
	if (ra != REG_RA)
		return CFI_CIE_RA_COLUMN;
	if (aug[0] == 'z') {
		bad = cie_augmentation(ps, &c, aug + 1, cie);
		if (bad >= 0)
			return bad;
	} else if (aug[0]) {
		return CFI_CIE_AUGMENTATION;
	}
	cie->insns = c.p;
	cie->end = c.end;
	return -1;
}

static void parse_cie(const struct parse *ps, const struct entry *e, struct cie *cie)
{
	struct prog p;

	memset(cie, 0, sizeof(*cie));
	cie->off = e->off;
	cie->bad = cie_header(ps, e, cie);
	if (cie->bad >= 0)
		return;
	memset(&p, 0, sizeof(p));
	p.c = (struct cur){ cie->insns, cie->end, false };
	p.caf = cie->caf;
	p.daf = cie->daf;
	p.cur.cfa_reg = UINT64_MAX;	/* no CFA until the CIE says */
	p.cur.cfa_expr = CFA_BY_REGISTER;
	if (cfi_run(&p) != STEP_DONE || p.depth)
		cie->bad = CFI_CIE_PROGRAM;
	cie->init = p.cur;
}

/* arr with room for one more than n, or NULL (arr is still the caller's). */
static void *grow(void *arr, size_t n, size_t *cap, size_t size)
{
	size_t c;

	if (n < *cap)
		return arr;
	c = *cap ? *cap * 2 : 64;
	if (c > SIZE_MAX / size)
		return NULL;
	arr = realloc(arr, c * size);
	if (arr)
		*cap = c;
	return arr;
}

/* Pass 1: every CIE parsed, every FDE noted. */
static int scan(struct parse *ps)
{
	size_t off = 0, cap_cies = 0, cap_fdes = 0;
	struct entry e;
	void *arr;
	int ret;

	while ((ret = next_entry(ps->sec, ps->len, ps->kind, &off, &e)) > 0) {
		ps->st->entries++;
		if (e.is_zero)
			continue;
		if (e.is_cie) {
			arr = grow(ps->cies, ps->ncies, &cap_cies, sizeof(*ps->cies));
			if (!arr)
				return -ENOMEM;
			ps->cies = arr;
			parse_cie(ps, &e, &ps->cies[ps->ncies]);
			ps->st->cies++;
			if (ps->cies[ps->ncies].bad >= 0)
				ps->st->cies_bad[ps->cies[ps->ncies].bad]++;
			ps->ncies++;
			continue;
		}
		arr = grow(ps->fdes, ps->nfdes, &cap_fdes, sizeof(*ps->fdes));
		if (!arr)
			return -ENOMEM;
		ps->fdes = arr;
		ps->fdes[ps->nfdes++] = (struct fde){ .off = e.off, .cie_off = e.cie_off,
						      .body = e.body, .end = e.end,
						      .cut = e.cut };
	}
	ps->st->bad_entry = ret < 0;
	return 0;
}

/* Pass 2: pc range and program of an FDE; -1 or enum cfi_skip. */
static int fde_header(const struct parse *ps, struct fde *f)
{
	struct cur c = { ps->sec + f->body, ps->sec + f->end, false };
	const struct cie *cie;
	uint64_t range = 0, n;
	size_t lo = 0, hi = ps->ncies, mid;
	bool usable;

	if (f->cut)
		return CFI_SKIP_TRUNCATED;
	while (lo < hi) {	/* the CIEs are in section order */
		mid = lo + (hi - lo) / 2;
		if (ps->cies[mid].off < f->cie_off)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == ps->ncies || ps->cies[lo].off != f->cie_off || ps->cies[lo].bad >= 0)
		return CFI_SKIP_CIE;
	f->cie = lo;
	cie = &ps->cies[lo];
	usable = cfi_rd_encoded(&c, cie->fde_enc, cie->addr_size,
				ps->sec_vaddr + f->body, &f->begin);
	/* The range: the same format, never relative. */
	cfi_rd_encoded(&c, cie->fde_enc & 0x0f, cie->addr_size, 0, &range);
	if (cie->aug_data) {
		n = cfi_rd_uleb(&c);
		if (!c.bad && n > (uint64_t)(c.end - c.p))
			c.bad = true;
		else if (!c.bad)
			c.p += n;
	}
	if (c.bad)
		return CFI_SKIP_TRUNCATED;
	if (!usable)
		return CFI_SKIP_ENCODING;
	if (!range)
		return CFI_SKIP_EMPTY;
	if (__builtin_add_overflow(f->begin, range, &f->limit))
		return CFI_SKIP_WRAP;
	f->insns = c.p;
	return -1;
}

static int fde_cmp(const void *a, const void *b)
{
	const struct fde *x = a, *y = b;

	if (x->begin != y->begin)
		return x->begin < y->begin ? -1 : 1;
	return x->off < y->off ? -1 : x->off > y->off;
}

/* Pass 3: one FDE's rows, after the table so far (which ends before it). */
static void run_fde(struct parse *ps, const struct fde *f)
{
	const struct cie *cie = &ps->cies[f->cie];
	struct cfi_row r;
	struct prog p;

	memset(&p, 0, sizeof(p));
	p.c = (struct cur){ f->insns, ps->sec + f->end, false };
	p.sec = ps->sec;
	p.sec_vaddr = ps->sec_vaddr;
	p.caf = cie->caf;
	p.daf = cie->daf;
	p.enc = cie->fde_enc;
	p.addr_size = cie->addr_size;
	p.init = &cie->init;
	p.b = &ps->b;
	p.cur = cie->init;
	p.loc = f->begin;
	p.limit = f->limit;
	if (cfi_run(&p) == STEP_CUT) {
		ps->st->cut[p.why]++;
		memset(&r, 0, sizeof(r));
		r.cfa_kind = CFI_CFA_UNSUPPORTED;
	} else {
		cfi_row_of(&p.cur, &r);
	}
	if (p.loc < p.limit)
		cfi_push(&ps->b, p.loc, &r);
}

/* Passes 2 and 3. */
static void build(struct parse *ps)
{
	size_t i, n = 0;
	uint64_t end = 0;
	bool any = false;
	int skip;

	for (i = 0; i < ps->nfdes; i++) {
		skip = fde_header(ps, &ps->fdes[i]);
		if (skip >= 0)
			ps->st->skipped[skip]++;
		else
			ps->fdes[n++] = ps->fdes[i];
	}
	if (n)
		qsort(ps->fdes, n, sizeof(*ps->fdes), fde_cmp);
	ps->funcs = n ? malloc(n * sizeof(*ps->funcs)) : NULL;
	for (i = 0; i < n && !ps->b.err; i++) {
		const struct fde *f = &ps->fdes[i];

		if (ps->b.full) {
			ps->st->skipped[CFI_SKIP_LIMIT]++;
			continue;
		}
		if (any && f->begin < end) {
			ps->st->skipped[CFI_SKIP_OVERLAP]++;
			continue;
		}
		if (any && f->begin > end)
			cfi_push_none(&ps->b, end);
		run_fde(ps, f);
		ps->st->fdes++;
		if (ps->funcs)
			ps->funcs[ps->nfuncs++] = (struct cfi_range){ f->begin, f->limit };
		if (f->limit - f->begin > ps->st->largest_end - ps->st->largest_begin) {
			ps->st->largest_begin = f->begin;
			ps->st->largest_end = f->limit;
		}
		end = f->limit;
		any = true;
	}
	cfi_push_none(&ps->b, end);
}

int cfi__parse(const uint8_t *sec, size_t len, uint64_t sec_vaddr, enum cfi_section kind,
	       size_t max_rows, struct cfi_table *out, struct cfi_stats *st)
{
	struct parse ps = { .sec = sec, .len = len, .sec_vaddr = sec_vaddr, .kind = kind,
			    .st = st };
	size_t i;
	int err;

	memset(out, 0, sizeof(*out));
	memset(st, 0, sizeof(*st));
	if ((!sec && len) || (kind != CFI_EH_FRAME && kind != CFI_DEBUG_FRAME) || max_rows == 1)
		return -EINVAL;
	ps.b.max = max_rows ? max_rows : CFI_ROWS_MAX;
	err = scan(&ps);
	if (err)
		goto cleanup;
	build(&ps);
	err = ps.b.err;
	if (err)
		goto cleanup;
	out->rows = ps.b.rows;
	out->nrows = ps.b.n;
	ps.b.rows = NULL;
	out->funcs = ps.funcs;
	out->nfuncs = ps.nfuncs;
	ps.funcs = NULL;
	st->rows = (__u32)out->nrows;
	st->truncated = ps.b.full;
	for (i = 0; i < out->nrows; i++)
		st->rows_unsupported += out->rows[i].cfa_kind == CFI_CFA_UNSUPPORTED;
cleanup:
	free(ps.b.rows);
	free(ps.funcs);
	free(ps.cies);
	free(ps.fdes);
	return err;
}

const struct cfi_row *cfi__lookup(const struct cfi_table *t, uint64_t pc)
{
	size_t lo = 0, hi = t->nrows, mid;

	/* The first row past pc; the one before it holds pc. */
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (t->rows[mid].pc <= pc)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo ? &t->rows[lo - 1] : NULL;
}

int cfi__merge(const struct cfi_table *first, const struct cfi_table *fill, size_t max_rows,
	       struct cfi_table *out)
{
	static const struct cfi_row none;
	struct builder b = { .max = max_rows ? max_rows : CFI_ROWS_MAX };
	const struct cfi_row *a = NULL, *f = NULL;
	size_t i = 0, j = 0;
	uint64_t pc;

	memset(out, 0, sizeof(*out));
	if (b.max == 1)
		return -EINVAL;
	/* Every row start of either table, in order, with the rule there. */
	while ((i < first->nrows || j < fill->nrows) && !b.err && !b.full) {
		if (j == fill->nrows || (i < first->nrows && first->rows[i].pc <= fill->rows[j].pc))
			pc = first->rows[i].pc;
		else
			pc = fill->rows[j].pc;
		while (i < first->nrows && first->rows[i].pc <= pc)
			a = &first->rows[i++];
		while (j < fill->nrows && fill->rows[j].pc <= pc)
			f = &fill->rows[j++];
		if (a && a->cfa_kind != CFI_CFA_NONE)
			cfi_push(&b, pc, a);
		else
			cfi_push(&b, pc, f ? f : &none);
	}
	if (b.err || b.full) {
		free(b.rows);
		return b.err ? b.err : -E2BIG;
	}
	out->rows = b.rows;
	out->nrows = b.n;
	return 0;
}

void cfi__table_free(struct cfi_table *t)
{
	if (!t)
		return;
	free(t->rows);
	free(t->funcs);
	t->rows = NULL;
	t->nrows = 0;
	t->funcs = NULL;
	t->nfuncs = 0;
}

const char *cfi__skip_name(enum cfi_skip r)
{
	static const char *const names[CFI_SKIP__COUNT] = {
		[CFI_SKIP_CIE] = "bad cie", [CFI_SKIP_TRUNCATED] = "truncated",
		[CFI_SKIP_ENCODING] = "pointer encoding", [CFI_SKIP_EMPTY] = "empty range",
		[CFI_SKIP_WRAP] = "range wraps", [CFI_SKIP_OVERLAP] = "overlap",
		[CFI_SKIP_LIMIT] = "table full",
	};

	return (unsigned int)r < CFI_SKIP__COUNT ? names[r] : "?";
}

const char *cfi__cut_name(enum cfi_cut r)
{
	static const char *const names[CFI_CUT__COUNT] = {
		[CFI_CUT_OPCODE] = "unknown opcode", [CFI_CUT_TRUNCATED] = "truncated",
		[CFI_CUT_STATE] = "state stack", [CFI_CUT_LOCATION] = "location",
		[CFI_CUT_OVERFLOW] = "offset overflow",
	};

	return (unsigned int)r < CFI_CUT__COUNT ? names[r] : "?";
}

const char *cfi__cie_bad_name(enum cfi_cie_bad r)
{
	static const char *const names[CFI_CIE__COUNT] = {
		[CFI_CIE_TRUNCATED] = "truncated", [CFI_CIE_VERSION] = "version",
		[CFI_CIE_AUGMENTATION] = "augmentation", [CFI_CIE_ADDRESS_SIZE] = "address size",
		[CFI_CIE_RA_COLUMN] = "return address column", [CFI_CIE_PROGRAM] = "initial instructions",
	};

	return (unsigned int)r < CFI_CIE__COUNT ? names[r] : "?";
}
