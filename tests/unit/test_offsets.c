/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Offset tables (user/offsets_gen.c) and the _Py_DebugOffsets parser
 * (user/offsets.c). The fixtures under $PYSPY_FIXTURES/debugoffsets (default
 * tests/fixtures) are the start of _PyRuntime dumped from live interpreters
 * by tests/fixtures/gen_debugoffsets.py: parsing them must give exactly the
 * generated table's values, which ties both to the real interpreters.
 */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "fixtures.h"
#include "offsets.h"
#include "rng.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* ---- field lists, for comparisons that name what differs ---- */

#define OFF_FIELDS(X)                                                   \
	X(flags) X(version) X(runtime_interp_head) X(runtime_gil_holder) \
	X(interp_next) X(interp_tstate_head) X(interp_gil)              \
	X(gil_last_holder) X(gil_locked) X(tstate_next) X(tstate_interp) \
	X(tstate_frame) X(tstate_thread_id) X(tstate_native_id)         \
	X(cframe_current_frame) X(frame_back) X(frame_code)             \
	X(frame_instr) X(frame_owner) X(frame_localsplus) X(frame_read) \
	X(code_argcount) X(code_nlocals) X(code_firstlineno)            \
	X(code_varnames) X(code_filename) X(code_name) X(code_qualname) \
	X(code_linetable) X(code_adaptive) X(code_read) X(owner_cstack) \
	X(ob_type) X(str_hash) X(code_version) X(tstate_datastack) X(code_tag_mask)

#define OBJ_FIELDS(X)                                                   \
	X(ob_type) X(ob_size) X(type_name) X(type_flags) X(str_length)  \
	X(str_state) X(str_ascii_size) X(str_compact_size) X(str_data27) \
	X(str_kind_shift) X(str_kind_bits) X(str_compact_shift)         \
	X(str_ascii_shift) X(str_unicode_size27) X(pad0) X(bytes_sval)  \
	X(tuple_item) X(list_item) X(long_size) X(long_digit)           \
	X(long_shift) X(long_digit_size) X(long_tag_bits) X(pad1)       \
	X(int_ival) X(float_fval) X(dict_used) X(dict_keys) X(dict_values) \
	X(interp_modules) X(module_dict) X(type_basicsize)              \
	X(type_dictoffset) X(heaptype_cached_keys) X(cell_ref)          \
	X(code_flags) X(code_kwonlyargcount) X(code_cellvars)           \
	X(code_localspluskinds) X(co_varargs) X(co_varkeywords)         \
	X(fast_local) X(fast_cell) X(fast_free) X(fast_hidden)          \
	X(tpflag_heaptype) X(tpflag_managed_dict) X(tpflag_inline_values) \
	X(dict_era) X(managed_dict) X(managed_values) X(dict_mask27)    \
	X(dict_table27) X(dk_size) X(dk_log2_index_bytes) X(dk_kind)    \
	X(dk_nentries) X(dk_indices) X(dict_entry_size)                 \
	X(dict_uentry_size) X(dv_values) X(dv_capacity) X(dv_size)      \
	X(dv_valid)

static int diff_off(const char *what, const struct py_offsets *a,
		    const struct py_offsets *b)
{
	int n = 0;

#define X(f)								\
	if (a->f != b->f) {						\
		print_error("%s: off.%s: %llu != %llu\n", what, #f,	\
			    (unsigned long long)a->f,			\
			    (unsigned long long)b->f);			\
		n++;							\
	}
	OFF_FIELDS(X)
#undef X
	return n;
}

static int diff_obj(const char *what, const struct py_obj_offsets *a,
		    const struct py_obj_offsets *b)
{
	int n = 0;

#define X(f)								\
	if (a->f != b->f) {						\
		print_error("%s: obj.%s: %llu != %llu\n", what, #f,	\
			    (unsigned long long)a->f,			\
			    (unsigned long long)b->f);			\
		n++;							\
	}
	OBJ_FIELDS(X)
#undef X
	return n;
}

/* The X lists must cover every byte of the structs. */
#define X(f) + sizeof(((struct py_offsets *)0)->f)
_Static_assert(0 OFF_FIELDS(X) == sizeof(struct py_offsets), "OFF_FIELDS");
#undef X
#define X(f) + sizeof(((struct py_obj_offsets *)0)->f)
_Static_assert(0 OBJ_FIELDS(X) == sizeof(struct py_obj_offsets), "OBJ_FIELDS");
#undef X

/* ---- fixtures ---- */

struct fixture {
	char name[256];
	unsigned major, minor, micro;
	unsigned long hexversion;
	unsigned char *data;	/* exactly len bytes, so ASan sees overreads */
	size_t len;
};

static int load_fixture(const char *path, const char *name, struct fixture *fx)
{
	char line[512];
	size_t n, got;
	FILE *f;
	int ok;

	memset(fx, 0, sizeof(*fx));
	snprintf(fx->name, sizeof(fx->name), "%s", name);
	f = fopen(path, "rb");
	if (!f)
		return -errno;
	if (!fgets(line, sizeof(line), f)) {
		fclose(f);
		return -EINVAL;
	}
	ok = sscanf(line, "PYSPY-DEBUGOFFSETS 1 %u %u %u %lx %zu", &fx->major,
		    &fx->minor, &fx->micro, &fx->hexversion, &n) == 5;
	if (!ok || n == 0 || n > (1u << 20)) {
		fclose(f);
		return -EINVAL;
	}
	fx->data = malloc(n);
	assert_non_null(fx->data);
	got = fread(fx->data, 1, n, f);
	fclose(f);
	if (got != n) {
		free(fx->data);
		fx->data = NULL;
		return -EINVAL;
	}
	fx->len = n;
	return 0;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* All fixtures of a folder, sorted by name. Returns the count. */
static size_t load_dir(const char *sub, struct fixture **out)
{
	char path[1024], *names[256];
	struct fixture *fx;
	size_t n = 0, i;
	struct dirent *de;
	DIR *d;

	snprintf(path, sizeof(path), "%s/%s", fixtures_dir(), sub);
	d = opendir(path);
	if (!d)
		fail_msg("cannot open %s (set PYSPY_FIXTURES or run from the "
			 "repo root)", path);
	while ((de = readdir(d)) && n < ARRAY_SIZE(names)) {
		size_t l = strlen(de->d_name);

		if (l > 4 && !strcmp(de->d_name + l - 4, ".bin"))
			names[n++] = strdup(de->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof(names[0]), cmp_names);
	fx = calloc(n ? n : 1, sizeof(*fx));
	assert_non_null(fx);
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s/%s", fixtures_dir(), sub, names[i]);
		if (load_fixture(path, names[i], &fx[i]))
			fail_msg("bad fixture %s", path);
		free(names[i]);
	}
	*out = fx;
	return n;
}

/* The blocks of builds with a GIL: each gives its version's table. */
static size_t load_all(struct fixture **out)
{
	return load_dir("debugoffsets", out);
}

static void free_all(struct fixture *fx, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(fx[i].data);
	free(fx);
}

static __u64 rd_u64(const unsigned char *p)
{
	__u64 v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* ---- tables ---- */

static unsigned round8(unsigned n)
{
	return (n + 7) & ~7u;
}

static unsigned max2(unsigned a, unsigned b)
{
	return a > b ? a : b;
}

static void check_entry(const struct py_offsets_entry *e)
{
	const struct py_offsets *o = &e->off;
	const struct py_obj_offsets *ob = &e->obj;
	unsigned v = e->major << 8 | e->minor;
	int py3 = e->major >= 3;
	unsigned need, instr_w;

	print_message("  %u.%u.%u+\n", e->major, e->minor, e->min_micro);
	assert_int_equal(o->version, v);

	/* flags follow the version */
	assert_int_equal(!!(o->flags & PY_F_INTERP_FRAME), v >= 0x30b);
	assert_int_equal(!!(o->flags & PY_F_CFRAME), v == 0x30b || v == 0x30c);
	assert_int_equal(!!(o->flags & PY_F_INSTR_PTR), v >= 0x30b);
	assert_int_equal(!!(o->flags & PY_F_LASTI_UNITS), v == 0x30a);
	assert_int_equal(!!(o->flags & PY_F_OWNER), v >= 0x30c);
	assert_int_equal(!!(o->flags & PY_F_GIL_INTERP), v >= 0x30c);
	assert_int_equal(!!(o->flags & PY_F_BYTES_STR), !py3);
	assert_int_equal(!!(o->flags & PY_F_INTERP_HEAD_SYM), v < 0x307);
	/* 3.11's entry marker is a byte (is_entry); 3.12+ read it from owner */
	assert_int_equal(!!(o->flags & PY_F_ENTRY_BYTE), v == 0x30b);
	assert_int_equal(o->flags & ~0x1ffu, 0);

	/* fields present exactly in the versions that have them */
	assert_int_equal(!!o->runtime_interp_head, v >= 0x307);
	assert_int_equal(!!o->runtime_gil_holder, v >= 0x307 && v <= 0x30b);
	assert_int_equal(!!o->interp_gil, v >= 0x30c);
	assert_int_equal(!!o->gil_last_holder, v >= 0x30c);
	assert_int_equal(!!o->gil_locked, v >= 0x30c);
	assert_int_equal(!!o->tstate_native_id, v >= 0x30b);
	assert_int_equal(!!o->frame_owner, v >= 0x30b);
	assert_int_equal(!!o->code_qualname, v >= 0x30b);
	assert_int_equal(!!o->code_adaptive, v >= 0x30b);
	assert_int_equal(!!o->owner_cstack, v >= 0x30c);
	assert_int_equal(!!o->code_tag_mask, v >= 0x30e);
	if (o->code_tag_mask)	/* only tag bits below the 8-byte alignment */
		assert_true(o->code_tag_mask < 8);
	if (v < 0x30b || v > 0x30c)
		assert_int_equal(o->cframe_current_frame, 0);
	if (v == 0x30b)
		assert_int_not_equal(o->cframe_current_frame, 0);
	/* the tables are of builds with a GIL: the classic header */
	assert_int_equal(o->ob_type, 0);
	/* the data stack chunk bounds the frame windows from 3.11 on */
	assert_int_equal(!!o->tstate_datastack, v >= 0x30b);
	/* the str hash, mixed into the check value: right after the length
	 * (PyASCIIObject) / ob_size (2.7 PyStringObject) */
	assert_int_equal(o->str_hash, (py3 ? ob->str_length : ob->ob_size) + 8);
	/* co_version, the other part of it, from 3.12 on */
	assert_int_equal(!!o->code_version, v >= 0x30c);

	/* the thread state window holds what the walker reads */
	assert_true(o->tstate_next + 8 <= PY_TSTATE_READ);
	assert_true(o->tstate_interp + 8 <= PY_TSTATE_READ);
	assert_true(o->tstate_frame + 8 <= PY_TSTATE_READ);
	assert_true(o->tstate_thread_id + 8 <= PY_TSTATE_READ);
	assert_true(o->tstate_native_id + 8 <= PY_TSTATE_READ);
	assert_true(o->tstate_datastack + 8 <= PY_TSTATE_READ);

	/* frame_read: round8 of the furthest of back, code, instr, owner */
	instr_w = (o->flags & PY_F_INSTR_PTR) ? 8 : 4;
	need = max2(o->frame_back + 8, o->frame_code + 8);
	need = max2(need, o->frame_instr + instr_w);
	if (o->flags & PY_F_INTERP_FRAME)
		need = max2(need, o->frame_owner + 1);
	assert_int_equal(o->frame_read, round8(need));
	assert_int_equal(o->frame_read % 8, 0);
	assert_true(o->frame_read <= PY_FRAME_READ);
	if (o->flags & PY_F_INTERP_FRAME)
		assert_true(o->frame_localsplus >= o->frame_owner + 1);

	/* code_read: round8 of ob_type, argcount, firstlineno, filename, name,
	 * version */
	need = max2(ob->ob_type + 8, o->code_argcount + 4);
	need = max2(need, o->code_firstlineno + 4);
	need = max2(need, o->code_filename + 8);
	need = max2(need, o->code_name + 8);
	if (o->code_version)
		need = max2(need, o->code_version + 4);
	assert_int_equal(o->code_read, round8(need));
	assert_true(o->code_read <= PY_CODE_READ);

	/* objects */
	assert_int_equal(ob->ob_type, 8);
	assert_int_equal(ob->ob_size, 16);
	assert_true(ob->type_name && ob->type_flags > ob->type_name);
	assert_true(ob->bytes_sval > ob->ob_size);
	assert_true(ob->tuple_item > ob->ob_size && ob->list_item > ob->ob_size);
	assert_true(ob->long_digit > ob->long_size);
	assert_true(ob->long_shift == 15 || ob->long_shift == 30);
	assert_true(ob->long_digit_size * 8 > ob->long_shift);
	assert_int_equal(!!ob->long_tag_bits, v >= 0x30c);
	assert_true(ob->float_fval >= 16 && ob->dict_used >= 16);
	assert_int_equal(!!ob->dict_keys, py3);
	assert_int_equal(!!ob->int_ival, !py3);
	if (py3) {
		assert_true(ob->str_length >= 16);
		assert_true(ob->str_state > ob->str_length);
		assert_true(ob->str_ascii_size > ob->str_state);
		assert_true(ob->str_compact_size > ob->str_ascii_size);
		assert_int_equal(ob->str_kind_bits, 3);
		assert_true(ob->str_kind_shift + ob->str_kind_bits <= 32);
		assert_true(ob->str_compact_shift < 32 && ob->str_ascii_shift < 32);
		assert_int_not_equal(ob->str_compact_shift, ob->str_ascii_shift);
		assert_int_equal(ob->str_data27, 0);
	} else {
		assert_int_not_equal(ob->str_data27, 0);
		assert_true(ob->str_unicode_size27 == 2 || ob->str_unicode_size27 == 4);
	}

	/* objects read by user/pyobj_*.c */
	assert_true(ob->interp_modules >= 16 && ob->interp_modules % 8 == 0);
	assert_int_equal(ob->module_dict, 16);
	assert_true(ob->type_basicsize > ob->type_name);
	assert_true(ob->type_dictoffset > ob->type_flags);
	assert_int_equal(!!ob->heaptype_cached_keys, py3);
	assert_int_equal(ob->cell_ref, 16);
	assert_true(ob->code_flags > 16 && ob->code_flags < o->code_varnames);
	assert_int_equal(!!ob->code_kwonlyargcount, py3);
	assert_int_equal(!!ob->code_cellvars, v <= 0x30a);
	assert_int_equal(!!ob->code_localspluskinds, v >= 0x30b);
	assert_int_equal(ob->co_varargs, 4);
	assert_int_equal(ob->co_varkeywords, 8);
	assert_int_equal(!!ob->fast_local, v >= 0x30b);
	assert_int_equal(!!ob->fast_hidden, v >= 0x30c);
	if (v >= 0x30b)
		assert_true(ob->fast_local && ob->fast_cell && ob->fast_free &&
			    !(ob->fast_local & (ob->fast_cell | ob->fast_free)));
	assert_int_equal(ob->tpflag_heaptype, 9);
	assert_int_equal(!!ob->tpflag_managed_dict, v >= 0x30b);
	assert_int_equal(!!ob->tpflag_inline_values, v >= 0x30d);
	assert_int_equal(ob->dict_era, !py3 ? PY_DICT_OPEN27 :
			 v <= 0x30a ? PY_DICT_COMPACT :
			 v == 0x30b ? PY_DICT_LOG2_311 :
			 v == 0x30c ? PY_DICT_LOG2_312 : PY_DICT_INLINE);
	assert_int_equal(ob->managed_dict, v >= 0x30b ? -24 : 0);
	assert_int_equal(ob->managed_values, v == 0x30b ? -32 : 0);
	assert_int_equal(!!ob->dict_table27, !py3);
	assert_int_equal(ob->dict_entry_size, 24);
	assert_int_equal(ob->dict_uentry_size, v >= 0x30b ? 16 : 0);
	if (py3)
		assert_true(ob->dk_size && ob->dk_nentries > ob->dk_size &&
			    ob->dk_indices > ob->dk_nentries);
	assert_int_equal(ob->dv_values, v >= 0x30d ? 8 : 0);
	if (v >= 0x30d)
		assert_true(ob->dv_size < ob->dv_values && ob->dv_valid < ob->dv_values);
}

static void test_table_consistent(void **state)
{
	size_t i;

	(void)state;
	assert_true(py_offsets_table_len >= 11);
	for (i = 0; i < py_offsets_table_len; i++) {
		const struct py_offsets_entry *e = &py_offsets_table[i];

		check_entry(e);
		if (i) {	/* sorted, no duplicates */
			const struct py_offsets_entry *p = &py_offsets_table[i - 1];
			unsigned long long a = (unsigned long long)p->major << 40 |
				(unsigned long long)p->minor << 20 | p->min_micro;
			unsigned long long b = (unsigned long long)e->major << 40 |
				(unsigned long long)e->minor << 20 | e->min_micro;

			assert_true(a < b);
		}
	}
}

static void test_table_versions(void **state)
{
	static const unsigned want[][2] = {
		{ 2, 7 }, { 3, 6 }, { 3, 7 }, { 3, 8 }, { 3, 9 }, { 3, 10 },
		{ 3, 11 }, { 3, 12 }, { 3, 13 }, { 3, 14 }, { 3, 15 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(want); i++) {
		const struct py_offsets_entry *e;

		e = py_offsets__find(want[i][0], want[i][1], 0);
		assert_non_null(e);
		assert_int_equal(e->min_micro, 0);
		e = py_offsets__find(want[i][0], want[i][1], 99);
		assert_non_null(e);
		assert_int_equal(e->major, want[i][0]);
		assert_int_equal(e->minor, want[i][1]);
	}
}

static void test_find(void **state)
{
	const struct py_offsets_entry *e;

	(void)state;
	assert_null(py_offsets__find(2, 6, 9));
	assert_null(py_offsets__find(3, 5, 0));
	assert_null(py_offsets__find(3, 99, 0));
	assert_null(py_offsets__find(4, 0, 0));

	/* 3.7.0-3.7.3 keep gilstate elsewhere than 3.7.4+ */
	e = py_offsets__find(3, 7, 3);
	assert_non_null(e);
	assert_int_equal(e->min_micro, 0);
	assert_int_equal(e->off.runtime_gil_holder, 1392);
	e = py_offsets__find(3, 7, 4);
	assert_non_null(e);
	assert_int_equal(e->min_micro, 4);
	assert_int_equal(e->off.runtime_gil_holder, 1480);
	assert_ptr_equal(py_offsets__find(3, 7, 16), e);
	/* only the GIL holder differs */
	{
		struct py_offsets a = py_offsets__find(3, 7, 0)->off;

		a.runtime_gil_holder = e->off.runtime_gil_holder;
		assert_int_equal(diff_off("3.7.0 vs 3.7.4", &a, &e->off), 0);
	}

	e = py_offsets__find(3, 12, 1);
	assert_non_null(e);
	assert_int_equal(e->off.version, 0x030c);
}

static void test_debug_layouts(void **state)
{
	size_t i, j;

	(void)state;
	assert_true(py_debug_layouts_len >= 3);
	for (i = 0; i < py_debug_layouts_len; i++) {
		const struct py_debug_layout *l = &py_debug_layouts[i];
		const unsigned char *p = (const unsigned char *)l;
		size_t first = offsetof(struct py_debug_layout, version);

		assert_true(l->major == 3 && l->minor >= 13);
		assert_ptr_equal(py_offsets__debug_layout(l->major, l->minor), l);
		assert_non_null(py_offsets__find(l->major, l->minor, 0));
		assert_true(l->size > 8 && l->size < 4096);
		assert_int_equal(l->version, 8);
		assert_int_not_equal(l->free_threaded, 0);
		for (j = first; j < sizeof(*l); j += 2) {
			__u16 pos;

			memcpy(&pos, p + j, 2);
			assert_int_equal(pos % 8, 0);
			assert_true(pos + 8u <= l->size);
		}
	}
	assert_null(py_offsets__debug_layout(3, 12));
	assert_null(py_offsets__debug_layout(3, 99));
}

/* ---- the parser against live interpreters ---- */

static void test_fixtures_match_tables(void **state)
{
	struct fixture *fx;
	size_t n, i;
	int seen13 = 0, seen14 = 0, seen15 = 0, bad = 0;

	(void)state;
	n = load_all(&fx);
	assert_true(n >= 1);
	for (i = 0; i < n; i++) {
		const struct py_offsets_entry *e;
		struct py_offsets off;
		struct py_obj_offsets obj;
		char err[160];
		int ret;

		print_message("  %s: %u.%u.%u hex 0x%08lx, %zu bytes\n",
			      fx[i].name, fx[i].major, fx[i].minor,
			      fx[i].micro, fx[i].hexversion, fx[i].len);
		assert_int_equal(fx[i].hexversion >> 24, fx[i].major);
		assert_int_equal((fx[i].hexversion >> 16) & 0xff, fx[i].minor);
		e = py_offsets__find(fx[i].major, fx[i].minor, fx[i].micro);
		assert_non_null(e);
		off = e->off;
		obj = e->obj;
		ret = py_offsets__apply_debug(&off, &obj, fx[i].data, fx[i].len,
					      fx[i].major, fx[i].minor, err,
					      sizeof(err));
		if (ret)
			fail_msg("%s: %d %s", fx[i].name, ret, err);
		bad += diff_off(fx[i].name, &off, &e->off);
		bad += diff_obj(fx[i].name, &obj, &e->obj);

		/* the same from a zeroed start: every covered field set */
		memset(&off, 0, sizeof(off));
		off.flags = e->off.flags;
		ret = py_offsets__apply_debug(&off, NULL, fx[i].data, fx[i].len,
					      fx[i].major, fx[i].minor, err,
					      sizeof(err));
		assert_int_equal(ret, 0);
		assert_int_equal(off.runtime_interp_head, e->off.runtime_interp_head);
		assert_int_equal(off.interp_tstate_head, e->off.interp_tstate_head);
		assert_int_equal(off.interp_gil, e->off.interp_gil);
		assert_int_equal(off.gil_last_holder, e->off.gil_last_holder);
		assert_int_equal(off.gil_locked, e->off.gil_locked);
		assert_int_equal(off.tstate_frame, e->off.tstate_frame);
		assert_int_equal(off.tstate_native_id, e->off.tstate_native_id);
		assert_int_equal(off.frame_owner, e->off.frame_owner);
		assert_int_equal(off.frame_read, e->off.frame_read);
		assert_int_equal(off.code_read, e->off.code_read);
		assert_int_equal(off.code_adaptive, e->off.code_adaptive);
		/* not in the block, derived from the str length it gives */
		assert_int_equal(off.str_hash, e->off.str_hash);
		/* not in the block, and the code fields moved (from 0) */
		assert_int_equal(off.code_version, 0);
		/* not in the block: left alone */
		assert_int_equal(off.code_nlocals, 0);
		assert_int_equal(off.owner_cstack, 0);
		assert_int_equal(off.code_tag_mask, 0);

		/* object fields the block covers, from a zeroed start */
		memset(&obj, 0, sizeof(obj));
		ret = py_offsets__apply_debug(&off, &obj, fx[i].data, fx[i].len,
					      fx[i].major, fx[i].minor, err,
					      sizeof(err));
		assert_int_equal(ret, 0);
		assert_int_equal(obj.interp_modules, e->obj.interp_modules);
		assert_int_equal(obj.code_localspluskinds,
				 e->obj.code_localspluskinds);
		if (fx[i].minor >= 15) {
			assert_int_equal(obj.type_basicsize, e->obj.type_basicsize);
			assert_int_equal(obj.type_dictoffset, e->obj.type_dictoffset);
			assert_int_equal(obj.heaptype_cached_keys,
					 e->obj.heaptype_cached_keys);
		}
		assert_int_equal(obj.module_dict, 0);	/* not in the block */

		/* imports.modules moved (as in a 3.14 patch release): followed */
		{
			const struct py_debug_layout *l =
				py_offsets__debug_layout(fx[i].major, fx[i].minor);
			unsigned char *b = malloc(fx[i].len);
			__u64 moved = e->obj.interp_modules + 32;

			assert_non_null(b);
			assert_int_not_equal(l->interp_imports_modules, 0);
			memcpy(b, fx[i].data, fx[i].len);
			memcpy(b + l->interp_imports_modules, &moved, 8);
			obj = e->obj;
			ret = py_offsets__apply_debug(&off, &obj, b, fx[i].len,
						      fx[i].major, fx[i].minor,
						      err, sizeof(err));
			assert_int_equal(ret, 0);
			assert_int_equal(obj.interp_modules, moved);

			/* the str length moved: the hash, not in the block,
			 * follows it; one with no room for the hash after it
			 * is refused */
			memcpy(b, fx[i].data, fx[i].len);
			moved = e->obj.str_length + 16;
			memcpy(b + l->unicode_length, &moved, 8);
			obj = e->obj;
			off = e->off;
			ret = py_offsets__apply_debug(&off, &obj, b, fx[i].len,
						      fx[i].major, fx[i].minor,
						      err, sizeof(err));
			assert_int_equal(ret, 0);
			assert_int_equal(obj.str_length, moved);
			assert_int_equal(off.str_hash, moved + 8);
			moved = rd_u64(b + l->unicode_size) - 8;
			memcpy(b + l->unicode_length, &moved, 8);
			off = e->off;
			ret = py_offsets__apply_debug(&off, &obj, b, fx[i].len,
						      fx[i].major, fx[i].minor,
						      err, sizeof(err));
			assert_int_equal(ret, -ERANGE);
			assert_int_equal(off.str_hash, e->off.str_hash);

			/* the code object's fields moved: co_version, not
			 * in the block, is no longer trusted */
			assert_int_not_equal(e->off.code_version, 0);
			memcpy(b, fx[i].data, fx[i].len);
			moved = e->off.code_name + 8;
			memcpy(b + l->code_name, &moved, 8);
			obj = e->obj;
			off = e->off;
			ret = py_offsets__apply_debug(&off, &obj, b, fx[i].len,
						      fx[i].major, fx[i].minor,
						      err, sizeof(err));
			assert_int_equal(ret, 0);
			assert_int_equal(off.code_name, moved);
			assert_int_equal(off.code_version, 0);
			free(b);
		}

		seen13 |= fx[i].minor == 13;
		seen14 |= fx[i].minor == 14;
		seen15 |= fx[i].minor == 15;
	}
	free_all(fx, n);
	assert_int_equal(bad, 0);
	assert_true(seen13 && seen14 && seen15);
}

/* ---- errors ---- */

static struct fixture *pick(struct fixture *fx, size_t n, unsigned minor)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (fx[i].major == 3 && fx[i].minor == minor)
			return &fx[i];
	return NULL;
}

static unsigned char *dup_buf(const struct fixture *f, size_t len)
{
	unsigned char *b = malloc(len ? len : 1);

	assert_non_null(b);
	memcpy(b, f->data, len < f->len ? len : f->len);
	return b;
}

static void put64(unsigned char *b, size_t pos, __u64 v)
{
	memcpy(b + pos, &v, 8);
}

/*
 * A free-threaded build's block (debugoffsets-ft/, .bin: from a build of
 * scripts/build-source-pythons) over the table of the same version's build
 * with a GIL must give the table entry scripts/gen-offsets makes from the
 * free-threaded build's own headers (.layout): every field the walker and
 * the object readers use, those the block lacks included. The differences
 * are deliberate: no GIL to read, the flag, and ob_type for the walker.
 */
static __u64 layout_value(const char *text, const char *name, unsigned *found)
{
	char key[64];
	const char *p = text;
	size_t kl = (size_t)snprintf(key, sizeof(key), "%s=", name);

	while ((p = strstr(p, key))) {
		if (p == text || p[-1] == ' ') {
			(*found)++;
			return strtoull(p + kl, NULL, 0);
		}
		p += kl;
	}
	return 0;	/* padding, and the walker's ob_type: not in the tables */
}

static unsigned count_char(const char *s, char c)
{
	unsigned n = 0;

	while ((s = strchr(s, c)))
		n++, s++;
	return n;
}

static void load_layout(const char *bin, struct py_offsets *off, struct py_obj_offsets *obj)
{
	char path[1024], line[2][4096];
	size_t l = strlen(bin);
	FILE *f;

	snprintf(path, sizeof(path), "%s/debugoffsets-ft/%.*s.layout", fixtures_dir(),
		 (int)(l - 4), bin);
	f = fopen(path, "r");
	if (!f)
		fail_msg("cannot open %s", path);
	assert_non_null(fgets(line[0], sizeof(line[0]), f));
	assert_non_null(fgets(line[1], sizeof(line[1]), f));
	fclose(f);
	assert_memory_equal(line[0], "off: ", 5);
	assert_memory_equal(line[1], "obj: ", 5);
	memset(off, 0, sizeof(*off));
	memset(obj, 0, sizeof(*obj));
	unsigned found = 0;
#define X(f) off->f = (__typeof__(off->f))layout_value(line[0], #f, &found);
	OFF_FIELDS(X)
#undef X
#define X(f) obj->f = (__typeof__(obj->f))layout_value(line[1], #f, &found);
	OBJ_FIELDS(X)
#undef X
	/* every field of the layout is one of ours */
	assert_int_equal(found, count_char(line[0], '=') + count_char(line[1], '='));
	assert_true(found > 90);
}

static void test_free_threaded_matches_headers(void **state)
{
	struct fixture *fx;
	size_t n, i;

	(void)state;
	n = load_dir("debugoffsets-ft", &fx);
	assert_true(n >= 1);
	for (i = 0; i < n; i++) {
		const struct py_offsets_entry *e = py_offsets__find(3, fx[i].minor, fx[i].micro);
		struct py_offsets off = e->off, want;
		struct py_obj_offsets obj = e->obj, want_obj;
		char err[160];
		int ret;

		print_message("  %s: %u.%u.%u\n", fx[i].name, fx[i].major, fx[i].minor,
			      fx[i].micro);
		ret = py_offsets__apply_debug(&off, &obj, fx[i].data, fx[i].len, fx[i].major,
					      fx[i].minor, err, sizeof(err));
		if (ret)
			fail_msg("%s: %d %s", fx[i].name, ret, err);
		load_layout(fx[i].name, &want, &want_obj);
		assert_int_equal(want_obj.ob_type, 24);	/* the headers' own */
		want.flags = (want.flags & ~PY_F_GIL_INTERP) | PY_F_FREE_THREADED;
		want.interp_gil = want.gil_last_holder = want.gil_locked = 0;
		want.ob_type = (__u8)want_obj.ob_type;
		assert_int_equal(diff_off(fx[i].name, &off, &want) +
				 diff_obj(fx[i].name, &obj, &want_obj), 0);
		/* and the same block read as a GIL build's is refused */
		assert_int_not_equal(memcmp(&obj, &e->obj, sizeof(obj)), 0);
	}
	free_all(fx, n);
}

/* Expect ret and that *off was left untouched. */
static void expect_err(const struct fixture *f, const unsigned char *b,
		       size_t len, unsigned major, unsigned minor, int want,
		       const char *needle)
{
	const struct py_offsets_entry *e = py_offsets__find(3, f->minor, f->micro);
	struct py_offsets off = e->off;
	struct py_obj_offsets obj = e->obj;
	char err[160];
	int ret;

	ret = py_offsets__apply_debug(&off, &obj, b, len, major, minor, err,
				      sizeof(err));
	print_message("  %u.%u len %zu: %d (%s)\n", major, minor, len, ret, err);
	assert_int_equal(ret, want);
	assert_true(err[0] != '\0');
	if (needle)
		assert_non_null(strstr(err, needle));
	assert_memory_equal(&off, &e->off, sizeof(off));
	assert_memory_equal(&obj, &e->obj, sizeof(obj));
}

static void test_errors(void **state)
{
	static const unsigned minors[] = { 13, 14, 15 };
	struct fixture *fx;
	size_t n, k;

	(void)state;
	n = load_all(&fx);
	for (k = 0; k < ARRAY_SIZE(minors); k++) {
		struct fixture *f = pick(fx, n, minors[k]);
		const struct py_debug_layout *l;
		unsigned char *b;
		struct py_offsets off;
		char err[64];

		assert_non_null(f);
		l = py_offsets__debug_layout(3, f->minor);
		assert_non_null(l);

		/* cookie */
		b = dup_buf(f, f->len);
		b[3] ^= 0x20;
		expect_err(f, b, f->len, 3, f->minor, -EBADMSG, "cookie");
		free(b);

		/* version: block of another minor, or field changed */
		b = dup_buf(f, f->len);
		expect_err(f, b, f->len, 3, f->minor == 13 ? 14 : 13, -EPROTO,
			   "version");
		put64(b, l->version, 0x030c05f0);
		expect_err(f, b, f->len, 3, f->minor, -EPROTO, "version");
		put64(b, l->version, 0x040d00f0 | (__u64)f->minor << 16);
		expect_err(f, b, f->len, 3, f->minor, -EPROTO, "version");
		free(b);

		/* truncated: exact-size allocations, so ASan would see overreads */
		b = dup_buf(f, l->size - 1);
		expect_err(f, b, l->size - 1, 3, f->minor, -ENODATA, "truncated");
		free(b);
		b = dup_buf(f, 8);
		expect_err(f, b, 8, 3, f->minor, -ENODATA, NULL);
		free(b);
		b = dup_buf(f, l->size);	/* exactly the block: fine */
		off = py_offsets__find(3, f->minor, f->micro)->off;
		assert_int_equal(py_offsets__apply_debug(&off, NULL, b, l->size, 3,
							 f->minor, NULL, 0), 0);
		free(b);

		/* free-threaded: a flag that is not one, or a block whose
		 * object header is not larger than the build with a GIL's */
		b = dup_buf(f, f->len);
		put64(b, l->free_threaded, 2);
		expect_err(f, b, f->len, 3, f->minor, -ERANGE, "free_threaded");
		put64(b, l->free_threaded, 1);
		expect_err(f, b, f->len, 3, f->minor, -ERANGE, "free-threaded object header");
		put64(b, l->pyobject_size, 40);
		expect_err(f, b, f->len, 3, f->minor, -ERANGE, "free-threaded object header");
		free(b);

		/* offsets out of range */
		b = dup_buf(f, f->len);
		put64(b, l->runtime_interp_head, 0x10000);
		expect_err(f, b, f->len, 3, f->minor, -ERANGE, "interpreters_head");
		free(b);
		b = dup_buf(f, f->len);
		put64(b, l->tstate_thread_id, ~0ULL);
		expect_err(f, b, f->len, 3, f->minor, -ERANGE, "thread_id");
		free(b);
		b = dup_buf(f, f->len);	/* past its structure's size */
		put64(b, l->frame_owner, 4000);
		expect_err(f, b, f->len, 3, f->minor, -ERANGE, "owner");
		free(b);
		b = dup_buf(f, f->len);	/* inside the frame, beyond the window */
		put64(b, l->frame_size, 1000);
		put64(b, l->frame_owner, PY_FRAME_READ);
		expect_err(f, b, f->len, 3, f->minor, -ERANGE, "read window");
		free(b);
		b = dup_buf(f, f->len);
		put64(b, l->code_size, 4000);
		put64(b, l->code_name, PY_CODE_READ);
		expect_err(f, b, f->len, 3, f->minor, -ERANGE, "read window");
		free(b);
		b = dup_buf(f, f->len);
		put64(b, l->interp_size, 0);
		expect_err(f, b, f->len, 3, f->minor, -ERANGE, "size");
		free(b);
		b = dup_buf(f, f->len);
		put64(b, l->interp_gil_holder, 8);	/* before _gil */
		expect_err(f, b, f->len, 3, f->minor, -ERANGE, "GIL");
		free(b);
		b = dup_buf(f, f->len);
		put64(b, l->unicode_ascii_size, 0);
		expect_err(f, b, f->len, 3, f->minor, -ERANGE, "asciiobject_size");
		free(b);

		/* no layout, bad arguments */
		b = dup_buf(f, f->len);
		expect_err(f, b, f->len, 3, 12, -EOPNOTSUPP, "3.12");
		expect_err(f, b, f->len, 3, 16, -EOPNOTSUPP, NULL);
		expect_err(f, b, f->len, 2, 7, -EOPNOTSUPP, NULL);
		off = py_offsets__find(3, f->minor, 0)->off;
		assert_int_equal(py_offsets__apply_debug(NULL, NULL, b, f->len, 3,
							 f->minor, err,
							 sizeof(err)), -EINVAL);
		assert_int_equal(py_offsets__apply_debug(&off, NULL, NULL, 0, 3,
							 f->minor, err,
							 sizeof(err)), -EINVAL);
		/* a tiny err buffer is fine */
		assert_int_equal(py_offsets__apply_debug(&off, NULL, b, 4, 3,
							 f->minor, err, 1),
				 -ENODATA);
		assert_int_equal(err[0], '\0');
		free(b);
	}
	free_all(fx, n);
}

/* ---- garbage ---- */

static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;

static __u64 rnd(void)
{
	return xorshift64(&rng_state);
}

/* A random value that is sometimes plausible, sometimes not. */
static __u64 rnd_val(void)
{
	switch (rnd() % 5) {
	case 0:
		return rnd();
	case 1:
		return rnd() % 256;
	case 2:
		return rnd() % 0x20000;
	case 3:
		return (rnd() % 16) * 8;
	default:
		return 0;
	}
}

static void check_result(int ret, const struct py_offsets *off)
{
	if (ret == 0) {
		assert_true(off->frame_read <= PY_FRAME_READ);
		assert_true(off->code_read <= PY_CODE_READ);
		assert_int_equal(off->frame_read % 8, 0);
	} else {
		assert_true(ret == -ENODATA || ret == -EBADMSG || ret == -EPROTO ||
			    ret == -EPROTONOSUPPORT || ret == -ERANGE ||
			    ret == -EOPNOTSUPP);
	}
}

static void test_garbage(void **state)
{
	struct fixture *fx;
	size_t n, iter, ok = 0;

	(void)state;
	n = load_all(&fx);
	for (iter = 0; iter < 30000; iter++) {
		const struct fixture *f = &fx[rnd() % n];
		const struct py_offsets_entry *e;
		struct py_offsets off;
		struct py_obj_offsets obj;
		size_t len, j, words;
		unsigned char *b;
		char err[96];
		unsigned minor;
		int ret;

		/* length: often the full dump, sometimes short or tiny */
		switch (rnd() % 4) {
		case 0:
			len = rnd() % 1024;
			break;
		default:
			len = f->len;
		}
		b = malloc(len ? len : 1);
		assert_non_null(b);
		if (rnd() % 3 == 0) {
			/* pure noise, sometimes with a valid cookie and version */
			for (j = 0; j < len; j++)
				b[j] = (unsigned char)rnd();
			if (len >= 16 && rnd() % 2) {
				memcpy(b, PY_DEBUG_COOKIE, 8);
				put64(b, 8, (__u64)0x030d00f0 + ((rnd() % 3) << 16));
			}
		} else {
			/* a real block with some 8-byte words replaced */
			memcpy(b, f->data, len < f->len ? len : f->len);
			words = 1 + rnd() % 6;
			for (j = 0; j < words && len >= 24; j++) {
				size_t pos = 16 + (rnd() % ((len - 16) / 8)) * 8;

				if (pos + 8 <= len)
					put64(b, pos, rnd_val());
			}
		}
		minor = rnd() % 8 ? f->minor : 10 + rnd() % 8;
		e = py_offsets__find(3, minor, 0);
		if (e) {
			off = e->off;
			obj = e->obj;
		} else {
			memset(&off, 0, sizeof(off));
			memset(&obj, 0, sizeof(obj));
		}
		ret = py_offsets__apply_debug(&off, rnd() % 2 ? &obj : NULL, b, len,
					      3, minor, err, sizeof(err));
		check_result(ret, &off);
		ok += ret == 0;
		free(b);
	}
	print_message("  %zu of 30000 mutated blocks accepted\n", ok);
	free_all(fx, n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table_consistent),
		cmocka_unit_test(test_table_versions),
		cmocka_unit_test(test_find),
		cmocka_unit_test(test_debug_layouts),
		cmocka_unit_test(test_fixtures_match_tables),
		cmocka_unit_test(test_free_threaded_matches_headers),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_garbage),
	};

	return cmocka_run_group_tests_name("offsets", tests, NULL, NULL);
}
