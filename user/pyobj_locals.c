// SPDX-License-Identifier: BSD-2-Clause
/*
 * A frame's arguments and locals for dump --locals: the names from its code
 * object, the values from its slots, each shown as repr() (pyobj_repr.c).
 * Arguments captured by closures (<= 3.10) are read from their cells, once.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "offsets.h"
#include "pyobj.h"
#include "pyobj_int.h"

/* The items of a tuple of names (co_varnames...), the first PYOBJ_MAX_LOCALS. */
struct tuple_names {
	uint64_t n;
	uint64_t items[PYOBJ_MAX_LOCALS];
};

static int read_tuple(struct ctx *c, uint64_t addr, struct tuple_names *tn)
{
	const struct tinfo *t;
	uint64_t n;
	int err;

	tn->n = 0;
	if (!addr)
		return 0;
	if ((err = pyobj_type_of(c, addr, &t)))
		return err;
	if (t->kind != K_TUPLE)
		return -EINVAL;
	if ((err = pyobj_rd64(c, addr + c->o->ob_size, &n)))
		return err;
	if (n > LEN_MAX)
		return -EINVAL;
	if (n > PYOBJ_MAX_LOCALS)
		n = PYOBJ_MAX_LOCALS;
	if ((err = pyobj_rd(c, addr + c->o->tuple_item, tn->items, n * 8)))
		return err;
	tn->n = n;
	return 0;
}

/* The locals listed so far, at most cap, each repr cut to budget bytes. */
struct locals_out {
	struct local_variable *v;
	unsigned int n, cap;
	size_t budget;
};

static int add_local(struct ctx *c, struct locals_out *lo, uint64_t name_addr,
		     uint64_t value, bool arg)
{
	char name[NAME_MAX_BYTES];
	struct local_variable *v;
	struct sbuf s;
	char *repr;
	int err;

	if (lo->n >= lo->cap)
		return -E2BIG;
	err = pyobj_str_utf8(c, name_addr, name, sizeof(name));
	if (err && err != -ENOSPC)
		snprintf(name, sizeof(name), "<unreadable>");
	repr = malloc(lo->budget + 1);
	v = &lo->v[lo->n];
	v->name = strdup(name);
	if (!repr || !v->name) {
		free(repr);
		free((char *)v->name);
		v->name = NULL;
		return -ENOMEM;
	}
	/* Each value gets its own share of reads, within the frame's. */
	{
		unsigned int total = c->reads;

		c->reads = total < PYOBJ_MAX_READS ? total : PYOBJ_MAX_READS;
		total -= c->reads;
		pyobj_sb_init(&s, repr, lo->budget);
		pyobj_repr_obj(c, &s, value);
		pyobj_sb_finish(&s);
		c->reads += total;
	}
	v->addr = value;
	v->arg = arg;
	v->repr = repr;
	lo->n++;
	return 0;
}

/* A cell's contents, or the value itself when it is no cell (yet). */
static uint64_t cell_contents(struct ctx *c, uint64_t value)
{
	const struct tinfo *t;
	uint64_t ref;

	if (!value || pyobj_type_of(c, value, &t) || t->kind != K_CELL)
		return value;
	if (pyobj_rd64(c, value + c->o->cell_ref, &ref))
		return 0;
	return ref;
}

static bool same_name(struct ctx *c, uint64_t a, uint64_t b)
{
	char x[NAME_MAX_BYTES], y[NAME_MAX_BYTES];

	if (a == b)
		return true;
	return !pyobj_str_utf8(c, a, x, sizeof(x)) && !pyobj_str_utf8(c, b, y, sizeof(y)) &&
	       !strcmp(x, y);
}

/*
 * Where a frame's arguments and locals are, from its code object: the names
 * and, index for index, the frame's slots (localsplus).
 */
struct frame_vars {
	struct tuple_names *names;	/* co_varnames; co_localsplusnames (3.11+) */
	struct tuple_names *cells;	/* co_cellvars (<= 3.10): after all the locals */
	uint64_t *slots, nslots;	/* the frame's localsplus */
	uint64_t nargs;			/* the first nargs names are arguments */
	uint64_t nshown;		/* ... of which co_argcount are shown as such */
	uint8_t kinds[PYOBJ_MAX_LOCALS];	/* 3.11+: what each name is (CO_FAST_*) */
	unsigned int cell_arg[PYOBJ_MAX_LOCALS];	/* cell i is argument cell_arg[i] */
};

/*
 * The code object's header into code (size bytes), checked to be a code
 * object, and how many of its names are arguments (positional, keyword-only,
 * *args, **kwargs); of them, the co_argcount positional ones are what py-spy
 * lists as "Arguments" (keyword-only, *args and **kwargs go under "Locals"
 * there, and here).
 */
static int read_code(struct ctx *c, uint64_t code_addr, uint8_t *code, size_t size,
		     uint64_t *nargs, uint64_t *nshown)
{
	const struct py_offsets *off = c->r->off;
	const struct py_obj_offsets *o = c->o;
	int32_t argcount, kwonly = 0, flags;
	const struct tinfo *t;
	size_t need;
	int err;

	if ((err = pyobj_type_of(c, code_addr, &t)))
		return err;
	if (t->kind != K_CODE)
		return -EINVAL;
	need = max_sz(off->code_argcount, off->code_nlocals);
	need = max_sz(need, off->code_varnames);
	need = max_sz(need, o->code_flags);
	need = max_sz(need, o->code_kwonlyargcount);
	need = max_sz(need, o->code_cellvars);
	need = max_sz(need, o->code_localspluskinds) + 8;
	if (need > size)
		return -EINVAL;
	if ((err = pyobj_rd(c, code_addr, code, need)))
		return err;
	argcount = (int32_t)ld32(code, off->code_argcount);
	flags = (int32_t)ld32(code, o->code_flags);
	if (o->code_kwonlyargcount)
		kwonly = (int32_t)ld32(code, o->code_kwonlyargcount);
	if (argcount < 0 || kwonly < 0 || argcount > 65535 || kwonly > 65535)
		return -EINVAL;
	*nargs = (uint64_t)argcount + (uint64_t)kwonly + !!(flags & o->co_varargs) +
		 !!(flags & o->co_varkeywords);
	*nshown = (uint64_t)argcount;
	return 0;
}

/* 3.11+: co_localspluskinds, one kind byte per name; one slot per name. */
static int read_kinds(struct ctx *c, const uint8_t *code, struct frame_vars *fv)
{
	const struct py_obj_offsets *o = c->o;
	uint64_t kaddr = ld64(code, o->code_localspluskinds), klen;
	const struct tinfo *kt;
	int err;

	if ((err = pyobj_type_of(c, kaddr, &kt)))
		return err;
	if (kt->kind != K_BYTES || (err = pyobj_rd64(c, kaddr + o->ob_size, &klen)))
		return err ? err : -EINVAL;
	if (klen < fv->names->n)
		fv->names->n = klen;
	if ((err = pyobj_rd(c, kaddr + o->bytes_sval, fv->kinds, fv->names->n)))
		return err;
	fv->nslots = fv->names->n;
	return 0;
}

/* <= 3.10: co_nlocals slots, then one per co_cellvars name. */
static int read_cells(struct ctx *c, const uint8_t *code, struct frame_vars *fv)
{
	int32_t nlocals = (int32_t)ld32(code, c->r->off->code_nlocals);
	int err;

	if (nlocals < 0)
		return -EINVAL;
	if ((uint64_t)nlocals < fv->names->n)
		fv->names->n = (uint64_t)nlocals;
	if ((err = read_tuple(c, ld64(code, c->o->code_cellvars), fv->cells)))
		return err;
	/* Cells follow all co_nlocals locals in f_localsplus. */
	if ((uint64_t)nlocals > PYOBJ_MAX_LOCALS)
		fv->cells->n = 0;
	fv->nslots = (fv->cells->n ? (uint64_t)nlocals : fv->names->n) + fv->cells->n;
	return 0;
}

/* The names, what they are, and the frame's slots they index. */
static int read_vars(struct ctx *c, const uint8_t *code, uint64_t frame_addr,
		     struct frame_vars *fv)
{
	const struct py_offsets *off = c->r->off;
	int err;

	if ((err = read_tuple(c, ld64(code, off->code_varnames), fv->names)))
		return err;
	fv->cells->n = 0;
	if (off->flags & PY_F_INTERP_FRAME)
		err = read_kinds(c, code, fv);
	else
		err = read_cells(c, code, fv);
	if (err)
		return err;
	if (fv->nslots &&
	    (err = pyobj_rd(c, frame_addr + off->frame_localsplus, fv->slots, fv->nslots * 8)))
		return err;
	return 0;
}

/*
 * <= 3.10: an argument captured by a closure lives in its cell (3.x
 * clears its slot, 2.7 leaves the initial value there, stale once
 * assigned): list it once, from the cell, as an argument.
 */
static void match_cell_args(struct ctx *c, struct frame_vars *fv)
{
	const struct tuple_names *names = fv->names, *cells = fv->cells;
	uint64_t i, j;

	for (i = 0; i < cells->n; i++) {
		fv->cell_arg[i] = PYOBJ_MAX_LOCALS;
		for (j = 0; j < fv->nargs && j < names->n; j++) {
			/* PyCode_New interns names: the same object in both tuples. */
			if (cells->items[i] == names->items[j] ||
			    (cells->n * fv->nargs <= 64 &&
			     same_name(c, cells->items[i], names->items[j]))) {
				fv->cell_arg[i] = (unsigned int)j;
				break;
			}
		}
	}
}

/*
 * The value of name i, 0 when it is not listed here: an argument kept in a
 * cell (listed with the cells), a free or hidden variable (3.11+), a tagged
 * int or an unbound local.
 */
static uint64_t local_value(struct ctx *c, const struct frame_vars *fv, uint64_t i)
{
	const struct py_offsets *off = c->r->off;
	const struct py_obj_offsets *o = c->o;
	uint64_t value = fv->slots[i], j;
	uint8_t k;

	for (j = 0; j < fv->cells->n; j++) {
		if (fv->cell_arg[j] == i)
			return 0;
	}
	if (!(off->flags & PY_F_INTERP_FRAME))
		return value;
	k = fv->kinds[i];
	if ((k & o->fast_free) || (o->fast_hidden && (k & o->fast_hidden)) ||
	    !(k & (o->fast_local | o->fast_cell)))
		return 0;
	if (off->code_tag_mask) {
		/* _PyStackRef: both tag bits set is a tagged int, never a name's */
		if ((value & off->code_tag_mask) == off->code_tag_mask)
			return 0;
		value &= ~off->code_tag_mask;
	}
	if (k & o->fast_cell)
		value = cell_contents(c, value);
	return value;
}

/* Every listed local: the names in order, then the <= 3.10 cells. */
static int add_locals(struct ctx *c, const struct frame_vars *fv, struct locals_out *lo)
{
	const struct tuple_names *names = fv->names, *cells = fv->cells;
	uint64_t i, value;
	int err;

	for (i = 0; i < names->n; i++) {
		value = local_value(c, fv, i);
		if (!value)
			continue;
		if ((err = add_local(c, lo, names->items[i], value, i < fv->nshown)))
			return err;
	}
	for (i = 0; i < cells->n; i++) {
		value = cell_contents(c, fv->slots[fv->nslots - cells->n + i]);
		if (!value)
			continue;
		if ((err = add_local(c, lo, cells->items[i], value,
				     fv->cell_arg[i] < PYOBJ_MAX_LOCALS &&
					     fv->cell_arg[i] < fv->nshown)))
			return err;
	}
	return 0;
}

int pyobj__frame_locals(const struct pyobj_reader *r, uint64_t frame_addr,
			uint64_t code_addr, size_t budget,
			struct local_variable **out, unsigned int *n)
{
	struct frame_vars fv = { 0 };
	struct locals_out lo = { 0 };
	uint8_t code[512];
	struct ctx c;
	int err;

	if (!out || !n)
		return -EINVAL;
	*out = NULL;
	*n = 0;
	if (!r || !r->obj || !r->off || !r->sl || !frame_addr || !code_addr)
		return -EINVAL;
	if (budget > PYOBJ_MAX_BUDGET)
		budget = PYOBJ_MAX_BUDGET;
	pyobj_ctx_init(&c, r, PYOBJ_MAX_FRAME_READS);
	if ((err = pyobj_ctx_buffers(&c, budget)))
		return err;
	if ((err = read_code(&c, code_addr, code, sizeof(code), &fv.nargs, &fv.nshown)))
		goto out;
	fv.names = malloc(sizeof(*fv.names));
	fv.cells = malloc(sizeof(*fv.cells));
	fv.slots = malloc(sizeof(*fv.slots) * 2 * PYOBJ_MAX_LOCALS);
	if (!fv.names || !fv.cells || !fv.slots) {
		err = -ENOMEM;
		goto out;
	}
	if ((err = read_vars(&c, code, frame_addr, &fv)))
		goto out;
	lo.cap = (unsigned int)(fv.names->n + fv.cells->n);
	lo.budget = budget;
	lo.v = calloc(lo.cap ? lo.cap : 1, sizeof(*lo.v));
	if (!lo.v) {
		err = -ENOMEM;
		goto out;
	}
	match_cell_args(&c, &fv);
	err = add_locals(&c, &fv, &lo);
out:
	if (err) {
		pyobj__free_locals(lo.v, lo.n);
	} else {
		*out = lo.v;
		*n = lo.n;
	}
	free(fv.names);
	free(fv.cells);
	free(fv.slots);
	pyobj_ctx_fini(&c);
	return err;
}

void pyobj__free_locals(struct local_variable *v, unsigned int n)
{
	unsigned int i;

	if (!v)
		return;
	for (i = 0; i < n; i++) {
		free((char *)v[i].name);
		free((char *)v[i].repr);
	}
	free(v);
}
