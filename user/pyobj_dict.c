// SPDX-License-Identifier: BSD-2-Clause
/*
 * Dicts in every layout CPython used: 2.7's open table, 3.6-3.10's compact
 * keys, 3.11+'s log2-sized keys, split tables whose values live apart, and
 * instance attributes kept as values only (3.11+ managed dicts, 3.13+
 * inline values). Iteration follows insertion order where CPython keeps it.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "offsets.h"
#include "pyobj.h"
#include "pyobj_int.h"

static int iter_keys(struct dict_iter *it, uint64_t keys)
{
	struct ctx *c = it->c;
	const struct py_obj_offsets *o = c->o;
	uint8_t hdr[64];
	uint64_t size, nentries, ixbytes;
	int err;

	if (o->dk_indices > sizeof(hdr) || !keys)
		return -EINVAL;
	if ((err = pyobj_rd(c, keys, hdr, o->dk_indices)))
		return err;
	nentries = ld64(hdr, o->dk_nentries);
	if (o->dict_era == PY_DICT_COMPACT) {
		size = ld64(hdr, o->dk_size);
		/* Empty dicts share Py_EMPTY_KEYS, of size 1. */
		if (!size || size > PYOBJ_MAX_DICT_SLOTS || (size & (size - 1)))
			return -EINVAL;
		ixbytes = size * (size <= 0xff ? 1 : size <= 0xffff ? 2 : 4);
		it->esize = o->dict_entry_size;
	} else {
		unsigned int log2 = hdr[o->dk_size], log2ix = hdr[o->dk_log2_index_bytes];
		unsigned int kind = hdr[o->dk_kind];

		/* Index entries are 1, 2, 4 or 8 bytes: log2ix - log2 in 0..3. */
		if (log2 > 31 || log2ix < log2 || log2ix > log2 + 3 || kind > 2)
			return -EINVAL;
		size = 1ull << log2;
		if (size > PYOBJ_MAX_DICT_SLOTS)
			return -EINVAL;
		ixbytes = 1ull << log2ix;
		it->esize = kind ? o->dict_uentry_size : o->dict_entry_size;
	}
	if (nentries > size || it->esize < 16 || it->esize > 24)
		return -EINVAL;
	it->entries = keys + o->dk_indices + ixbytes;
	it->n = nentries;
	return 0;
}

/* Split values (3.11+): where values[0] is, and the insertion order. */
static int iter_values(struct dict_iter *it, uint64_t values)
{
	struct ctx *c = it->c;
	const struct py_obj_offsets *o = c->o;
	uint8_t buf[256];
	int err;

	if (!values || (values & 7))
		return -EINVAL;
	if (o->dict_era == PY_DICT_COMPACT) {
		it->values = values;	/* values[i] goes with entry i */
		return 0;
	}
	if (o->dict_era == PY_DICT_INLINE) {
		uint8_t hdr[8];
		unsigned int cap, size;

		if (!o->dv_values || o->dv_values > sizeof(hdr) ||
		    o->dv_size >= o->dv_values || o->dv_capacity >= o->dv_values)
			return -EINVAL;
		if ((err = pyobj_rd(c, values, hdr, o->dv_values)))
			return err;
		cap = hdr[o->dv_capacity];
		size = hdr[o->dv_size];
		if (size > cap)
			return -EINVAL;
		it->values = values + o->dv_values;
		if (size && (err = pyobj_rd(c, it->values + cap * 8ull, it->order, size)))
			return err;
		it->norder = size;
	} else {
		/* 3.11, 3.12: [-1] prefix size, [-2] item count, [-3 - i] order. */
		unsigned int prefix, used, i;

		if ((err = pyobj_rd(c, values - 1, buf, 1)))
			return err;
		prefix = buf[0];
		if (prefix < 2)
			return -EINVAL;
		if ((err = pyobj_rd(c, values - prefix, buf, prefix)))
			return err;
		used = buf[prefix - 2];
		if (used + 2 > prefix)
			return -EINVAL;
		for (i = 0; i < used; i++)
			it->order[i] = buf[prefix - 3 - i];
		it->norder = used;
		it->values = values;
	}
	it->ordered = true;
	return 0;
}

int pyobj_dict_iter_init(struct dict_iter *it, struct ctx *c, uint64_t dict)
{
	const struct py_obj_offsets *o = c->o;
	uint8_t hdr[64];
	size_t need;
	int err;

	memset(it, 0, sizeof(*it));
	it->c = c;
	if (o->dict_era == PY_DICT_OPEN27) {
		uint64_t mask;

		need = max_sz(o->dict_mask27, o->dict_table27) + 8;
		if (need > sizeof(hdr))
			return -EINVAL;
		if ((err = pyobj_rd(c, dict, hdr, need)))
			return err;
		mask = ld64(hdr, o->dict_mask27);
		if (mask < 7 || mask >= PYOBJ_MAX_DICT_SLOTS || (mask & (mask + 1)))
			return -EINVAL;
		it->entries = ld64(hdr, o->dict_table27);
		it->esize = o->dict_entry_size;
		it->n = mask + 1;
		return 0;
	}
	need = max_sz(o->dict_keys, o->dict_values) + 8;
	if (need > sizeof(hdr))
		return -EINVAL;
	if ((err = pyobj_rd(c, dict, hdr, need)))
		return err;
	if ((err = iter_keys(it, ld64(hdr, o->dict_keys))))
		return err;
	if (ld64(hdr, o->dict_values))
		return iter_values(it, ld64(hdr, o->dict_values));
	return 0;
}

/* Instance attributes kept as values only (3.11+): keys are the type's. */
static int values_iter_init(struct dict_iter *it, struct ctx *c, uint64_t keys,
			    uint64_t values)
{
	int err;

	memset(it, 0, sizeof(*it));
	it->c = c;
	if ((err = iter_keys(it, keys)))
		return err;
	return iter_values(it, values);
}

/* The entry at index i: key and, for combined tables, value. */
static int entry_at(struct dict_iter *it, uint64_t i, uint64_t *key, uint64_t *value)
{
	uint64_t first;
	int err;

	if (i >= it->n)
		return -EINVAL;
	if (!it->chunk_n || i < it->chunk_first || i >= it->chunk_first + it->chunk_n) {
		first = it->ordered ? i : i - i % CHUNK;
		it->chunk_n = it->ordered ? 1 : (it->n - first < CHUNK ? it->n - first : CHUNK);
		err = pyobj_rd(it->c, it->entries + first * it->esize, it->chunk,
			 it->chunk_n * it->esize);
		if (err) {
			it->chunk_n = 0;
			return err;
		}
		it->chunk_first = first;
	}
	first = (i - it->chunk_first) * it->esize;
	*key = ld64(it->chunk, first + it->esize - 16);
	*value = ld64(it->chunk, first + it->esize - 8);
	return 0;
}

/* Next live item: 1 and key/value, 0 at the end, or a negative errno. */
int pyobj_dict_next(struct dict_iter *it, uint64_t *key, uint64_t *value)
{
	uint64_t idx;
	int err;

	for (;;) {
		if (it->ordered) {
			if (it->i >= it->norder)
				return 0;
			idx = it->order[it->i++];
		} else {
			if (it->i >= it->n)
				return 0;
			idx = it->i++;
		}
		if ((err = entry_at(it, idx, key, value)))
			return err;
		if (it->values && (err = pyobj_rd64(it->c, it->values + idx * 8, value)))
			return err;
		/* Empty, deleted (2.7: dummy key with no value) or not set here. */
		if (*key && *value)
			return 1;
	}
}

static int dict_lookup(struct dict_iter *it, const char *name, uint64_t *value)
{
	uint64_t key;
	int ret;

	while ((ret = pyobj_dict_next(it, &key, value)) == 1) {
		if (pyobj_str_is(it->c, key, name))
			return 0;
	}
	return ret ? ret : -ENOENT;
}

int pyobj_dict_get(struct ctx *c, uint64_t dict, const char *name, uint64_t *value)
{
	struct dict_iter it;
	const struct tinfo *t;
	int err;

	if ((err = pyobj_type_of(c, dict, &t)))
		return err;
	if (t->kind != K_DICT)
		return -EINVAL;
	if ((err = pyobj_dict_iter_init(&it, c, dict)))
		return err;
	return dict_lookup(&it, name, value);
}

/* An instance attribute, from wherever this version keeps the instance dict. */
int pyobj_attr_get(struct ctx *c, uint64_t obj, const char *name, uint64_t *value)
{
	const struct py_obj_offsets *o = c->o;
	const struct tinfo *t;
	uint64_t dict = 0, values = 0, keys;
	struct dict_iter it;
	int err;

	if ((err = pyobj_type_of(c, obj, &t)))
		return err;
	if (tp_has(t, o->tpflag_managed_dict)) {
		if (o->dict_era == PY_DICT_LOG2_311) {
			if ((err = pyobj_rd64(c, obj + o->managed_values, &values)))
				return err;
			if (!values && (err = pyobj_rd64(c, obj + o->managed_dict, &dict)))
				return err;
		} else if (o->dict_era == PY_DICT_LOG2_312) {
			uint64_t dorv;

			/* Tagged: odd is the values pointer - 1, even a dict. */
			if ((err = pyobj_rd64(c, obj + o->managed_dict, &dorv)))
				return err;
			if (dorv & 1)
				values = dorv + 1;
			else
				dict = dorv;
		} else {
			if ((err = pyobj_rd64(c, obj + o->managed_dict, &dict)))
				return err;
			if (!dict && tp_has(t, o->tpflag_inline_values)) {
				uint8_t valid;

				if (t->basicsize < 16 || t->basicsize > 4096 || (t->basicsize & 7))
					return -EINVAL;
				values = obj + (uint64_t)t->basicsize;
				if ((err = pyobj_rd(c, values + o->dv_valid, &valid, 1)))
					return err;
				if (!valid)
					return -ENOENT;
			}
		}
	} else if (t->dictoffset > 0 && t->dictoffset < 65536) {
		if ((err = pyobj_rd64(c, obj + (uint64_t)t->dictoffset, &dict)))
			return err;
	}
	if (values) {
		if (!t->heap || !o->heaptype_cached_keys)
			return -EINVAL;
		if ((err = pyobj_rd64(c, t->addr + o->heaptype_cached_keys, &keys)))
			return err;
		if ((err = values_iter_init(&it, c, keys, values)))
			return err;
		return dict_lookup(&it, name, value);
	}
	if (!dict)
		return -ENOENT;
	return pyobj_dict_get(c, dict, name, value);
}
