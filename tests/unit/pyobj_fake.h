/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Python objects laid out in this process's memory with a version's
 * offsets, read back through /proc/PID/mem (pid = getpid()) as a target's
 * are: what the object readers' unit tests (test_pyobj.c,
 * test_pyobj_tasks.c) build their fakes from. cmocka's asserts check the
 * arena's room.
 */
#ifndef TESTS_UNIT_PYOBJ_FAKE_H
#define TESTS_UNIT_PYOBJ_FAKE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "offsets.h"
#include "pyobj.h"
#include "symcache.h"

#ifndef ARENA_SIZE
#define ARENA_SIZE (8u << 20)
#endif

/* ==== fake objects in our own memory ==== */

struct fake {
	const struct py_offsets_entry *e;
	struct py_obj_offsets obj;
	struct str_layout sl;
	struct pyobj_reader r;
	uint8_t *arena;
	size_t used;
	bool py2;
	uint64_t t_none, t_bool, t_int, t_long27, t_float, t_str, t_unicode, t_bytes;
	uint64_t t_list, t_tuple, t_dict, t_custom, t_code, t_cell;
	uint64_t none, yes, no;
};

static inline uint64_t A(const void *p)
{
	return (uint64_t)(uintptr_t)p;
}

static inline void *P(uint64_t a)
{
	return (void *)(uintptr_t)a;
}

static inline uint64_t fk_alloc(struct fake *f, size_t n)
{
	uint64_t a;

	f->used = (f->used + 15) & ~(size_t)15;
	assert_true(f->used + n <= ARENA_SIZE);
	a = A(f->arena + f->used);
	f->used += n;
	return a;
}

static inline void put64(uint64_t addr, uint64_t v)
{
	memcpy(P(addr), &v, 8);
}

static inline void put32(uint64_t addr, uint32_t v)
{
	memcpy(P(addr), &v, 4);
}

static inline uint64_t get64(uint64_t addr)
{
	uint64_t v;

	memcpy(&v, P(addr), 8);
	return v;
}

static inline uint64_t fk_cstr(struct fake *f, const char *s)
{
	uint64_t a = fk_alloc(f, strlen(s) + 1);

	memcpy(P(a), s, strlen(s) + 1);
	return a;
}

static inline uint64_t fk_type(struct fake *f, const char *name, bool heap)
{
	uint64_t t = fk_alloc(f, 1024);

	put64(t + f->obj.ob_type, t);	/* never looked at */
	put64(t + f->obj.type_name, fk_cstr(f, name));
	put64(t + f->obj.type_flags, heap ? 1ull << f->obj.tpflag_heaptype : 0);
	put64(t + f->obj.type_basicsize, 16);
	return t;
}

static inline uint64_t fk_obj(struct fake *f, uint64_t type, size_t size)
{
	uint64_t o = fk_alloc(f, size < 32 ? 32 : size);

	put64(o, 1);	/* refcount */
	put64(o + f->obj.ob_type, type);
	return o;
}

/* An int from its 30-bit digits (least significant first). */
static inline uint64_t fk_long_digits(struct fake *f, uint64_t type, const uint32_t *d, int nd,
			       bool neg)
{
	uint64_t o = fk_obj(f, type, f->obj.long_digit + 4u * (nd + 1));
	int i;

	if (f->obj.long_tag_bits)
		put64(o + f->obj.long_size, (uint64_t)nd << f->obj.long_tag_bits |
			  (nd == 0 ? 1 : neg ? 2 : 0));
	else
		put64(o + f->obj.long_size, neg ? -(uint64_t)nd : (uint64_t)nd);
	for (i = 0; i < nd; i++)
		put32(o + f->obj.long_digit + 4u * i, d[i]);
	return o;
}

static inline uint64_t fk_int(struct fake *f, int64_t v)
{
	uint32_t d[3];
	uint64_t m = v < 0 ? -(uint64_t)v : (uint64_t)v;
	int nd = 0;

	if (f->py2) {
		uint64_t o = fk_obj(f, f->t_int, 32);

		put64(o + f->obj.int_ival, (uint64_t)v);
		return o;
	}
	while (m) {
		d[nd++] = m & ((1u << 30) - 1);
		m >>= 30;
	}
	return fk_long_digits(f, f->t_int, d, nd, v < 0);
}

static inline uint64_t fk_float(struct fake *f, double v)
{
	uint64_t o = fk_obj(f, f->t_float, 32);

	memcpy(P(o + f->obj.float_fval), &v, 8);
	return o;
}

/* A str from code points (3.x: compact, kind chosen like CPython; 2.7: unicode). */
static inline uint64_t fk_ustr(struct fake *f, const uint32_t *cp, size_t n)
{
	uint32_t maxc = 0;
	unsigned int kind;
	size_t i, hsize;
	uint64_t o, data;
	bool ascii;

	for (i = 0; i < n; i++)
		maxc = cp[i] > maxc ? cp[i] : maxc;
	kind = maxc < 0x100 ? 1 : maxc < 0x10000 ? 2 : 4;
	if (f->py2) {
		o = fk_obj(f, f->t_unicode, 64);
		data = fk_alloc(f, (n + 1) * 4);
		put64(o + f->obj.str_length, n);
		put64(o + f->obj.str_data27, data);
		for (i = 0; i < n; i++)
			put32(data + 4 * i, cp[i]);
		return o;
	}
	ascii = maxc < 0x80;
	hsize = ascii ? f->sl.ascii_size : f->sl.compact_size;
	o = fk_obj(f, f->t_str, hsize + (n + 1) * kind);
	put64(o + f->sl.length, n);
	put32(o + f->sl.state, kind << f->sl.kind_shift | 1u << f->sl.compact_bit |
			       (ascii ? 1u << f->sl.ascii_bit : 0));
	for (i = 0; i < n; i++) {
		if (kind == 1)
			*(uint8_t *)P(o + hsize + i) = (uint8_t)cp[i];
		else if (kind == 2)
			memcpy(P(o + hsize + 2 * i), &(uint16_t){ (uint16_t)cp[i] }, 2);
		else
			put32(o + hsize + 4 * i, cp[i]);
	}
	return o;
}

/* An ASCII str (2.7: a byte str). */
static inline uint64_t fk_str(struct fake *f, const char *s)
{
	uint32_t cp[512];
	size_t n = strlen(s), i;

	assert_true(n < 512);
	if (f->py2) {
		uint64_t o = fk_obj(f, f->t_str, f->obj.bytes_sval + n + 1);

		put64(o + f->obj.ob_size, n);
		memcpy(P(o + f->obj.bytes_sval), s, n + 1);
		return o;
	}
	for (i = 0; i < n; i++)
		cp[i] = (unsigned char)s[i];
	return fk_ustr(f, cp, n);
}

static inline uint64_t fk_bytes(struct fake *f, const void *b, size_t n)
{
	uint64_t o = fk_obj(f, f->py2 ? f->t_str : f->t_bytes, f->obj.bytes_sval + n + 1);

	put64(o + f->obj.ob_size, n);
	memcpy(P(o + f->obj.bytes_sval), b, n);
	return o;
}

static inline uint64_t fk_list(struct fake *f, const uint64_t *items, size_t n)
{
	uint64_t o = fk_obj(f, f->t_list, 48), arr = fk_alloc(f, 8 * (n + 1));

	put64(o + f->obj.ob_size, n);
	put64(o + f->obj.list_item, arr);
	if (n)
		memcpy(P(arr), items, 8 * n);
	return o;
}

static inline uint64_t fk_tuple(struct fake *f, const uint64_t *items, size_t n)
{
	uint64_t o = fk_obj(f, f->t_tuple, f->obj.tuple_item + 8 * (n + 1));

	put64(o + f->obj.ob_size, n);
	if (n)
		memcpy(P(o + f->obj.tuple_item), items, 8 * n);
	return o;
}

/* A combined-table dict of n items, in the version's layout. */
static inline uint64_t fk_dict(struct fake *f, const uint64_t *keys, const uint64_t *vals, size_t n)
{
	const struct py_obj_offsets *o = &f->obj;
	uint64_t d = fk_obj(f, f->t_dict, 96), k, ent;
	unsigned int log2 = 3;
	size_t i, esize = o->dict_entry_size;

	while ((1u << log2) * 2 < n * 3)
		log2++;
	if (o->dict_era == PY_DICT_OPEN27) {
		ent = fk_alloc(f, esize << log2);
		put64(d + o->dict_used, n);
		put64(d + o->dict_mask27, (1u << log2) - 1);
		put64(d + o->dict_table27, ent);
		for (i = 0; i < n; i++) {
			put64(ent + i * esize, 12345);
			put64(ent + i * esize + esize - 16, keys[i]);
			put64(ent + i * esize + esize - 8, vals[i]);
		}
		return d;
	}
	k = fk_alloc(f, o->dk_indices + (1u << log2) + esize * (1u << log2));
	if (o->dict_era == PY_DICT_COMPACT) {
		put64(k + o->dk_size, 1u << log2);
	} else {
		*(uint8_t *)P(k + o->dk_size) = (uint8_t)log2;
		*(uint8_t *)P(k + o->dk_log2_index_bytes) = (uint8_t)log2;
		*(uint8_t *)P(k + o->dk_kind) = 0;	/* general: hash, key, value */
	}
	put64(k, 1);
	put64(k + o->dk_nentries, n);
	ent = k + o->dk_indices + (1u << log2);
	for (i = 0; i < n; i++) {
		*(uint8_t *)P(k + o->dk_indices + i) = (uint8_t)i;
		put64(ent + i * esize, 12345);
		put64(ent + i * esize + esize - 16, keys[i]);
		put64(ent + i * esize + esize - 8, vals[i]);
	}
	put64(d + o->dict_used, n);
	put64(d + o->dict_keys, k);
	put64(d + o->dict_values, 0);
	return d;
}

/* What pyproc.c derives from the object offsets. */
static inline void fk_str_layout(struct str_layout *sl, const struct py_obj_offsets *obj, bool py2)
{
	symcache__str_layout(sl, obj, py2 ? 2 : 3);
}

static inline void fk_init(struct fake *f, const struct py_offsets_entry *e)
{
	memset(f, 0, sizeof(*f));
	f->e = e;
	f->obj = e->obj;
	f->py2 = e->major == 2;
	f->arena = aligned_alloc(4096, ARENA_SIZE);
	assert_non_null(f->arena);
	memset(f->arena, 0, ARENA_SIZE);
	/* The first page is never an object: rd() refuses addresses < 4096. */
	f->used = 64;
	fk_str_layout(&f->sl, &f->obj, f->py2);
	f->r.pid = getpid();
	f->r.major = e->major;
	f->r.minor = e->minor;
	f->r.off = &e->off;
	f->r.obj = &f->obj;
	f->r.sl = &f->sl;
	f->t_none = fk_type(f, "NoneType", false);
	f->t_bool = fk_type(f, "bool", false);
	f->t_int = fk_type(f, "int", false);
	f->t_long27 = fk_type(f, "long", false);
	f->t_float = fk_type(f, "float", false);
	f->t_str = fk_type(f, "str", false);
	f->t_unicode = fk_type(f, "unicode", false);
	f->t_bytes = fk_type(f, "bytes", false);
	f->t_list = fk_type(f, "list", false);
	f->t_tuple = fk_type(f, "tuple", false);
	f->t_dict = fk_type(f, "dict", false);
	f->t_code = fk_type(f, "code", false);
	f->t_cell = fk_type(f, "cell", false);
	f->t_custom = fk_type(f, "Custom", true);
	f->none = fk_obj(f, f->t_none, 16);
	if (f->py2) {
		f->yes = fk_obj(f, f->t_bool, 32);
		put64(f->yes + f->obj.int_ival, 1);
		f->no = fk_obj(f, f->t_bool, 32);
	} else {
		uint32_t one = 1;

		f->yes = fk_long_digits(f, f->t_bool, &one, 1, false);
		f->no = fk_long_digits(f, f->t_bool, NULL, 0, false);
	}
}

static inline void fk_fini(struct fake *f)
{
	free(f->arena);
}

#endif
