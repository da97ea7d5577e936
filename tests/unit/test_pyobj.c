/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * user/pyobj_*.c: reprs, frame locals and thread names read from a process.
 *
 * 1. Fake objects: for every version in the offsets table, objects laid out
 *    with that version's offsets are built in this process's memory and read
 *    back through /proc/PID/mem on ourselves (pid = getpid()).
 * 2. Hostile memory: bad pointers, cycles, huge lengths, inconsistent
 *    headers, deep nesting, then random mutations of valid objects; every
 *    result must be a bounded, NUL-terminated placeholder (run under
 *    `make SANITIZE=1` for ASan/UBSan).
 * 3. Floats: repr() of tests/fixtures/pyobj/floats.txt (Python's own).
 * 4. Live interpreters: for every interpreter scripts/list-interpreters
 *    finds, tests/programs/objects_target.py is started; its thread names
 *    and the locals of its sleeping objects_target() frame (found by walking
 *    the thread states and frames here) must match what it printed with
 *    Python's repr(). A CPython minor version (2.7, 3.6-3.15) without an
 *    interpreter is skipped, or fails when CI=true.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "fixtures.h"
#include "offsets.h"
#include "pyobj.h"
#include "pyproc.h"
#include "remote.h"
#include "rng.h"

#define ARENA_SIZE (8u << 20)

static bool in_ci(void)
{
	const char *v = getenv("CI");

	return v && (!strcmp(v, "true") || !strcmp(v, "1") || !strcmp(v, "yes"));
}

#include "pyobj_fake.h"

/* Checks the invariants every repr keeps, and returns it. */
static const char *repr_of(struct fake *f, uint64_t addr, size_t budget, int *ret)
{
	static char out[PYOBJ_MAX_BUDGET + 16];
	size_t lim = budget < PYOBJ_MAX_BUDGET ? budget : PYOBJ_MAX_BUDGET;
	int r;

	memset(out, 'Z', sizeof(out));
	r = pyobj__repr(&f->r, addr, budget, out, sizeof(out));
	assert_true(r <= 0);
	assert_non_null(memchr(out, 0, lim + 1));
	assert_true(strlen(out) <= lim);
	if (ret)
		*ret = r;
	return out;
}

static void expect_repr(struct fake *f, uint64_t addr, const char *want)
{
	char where[64];
	int ret;
	const char *got = repr_of(f, addr, 4096, &ret);

	snprintf(where, sizeof(where), "%u.%u", f->e->major, f->e->minor);
	if (strcmp(got, want) || ret)
		fail_msg("%s: repr '%s' (%d), want '%s'", where, got, ret, want);
}

static void test_fake_values(void **state)
{
	size_t k;

	(void)state;
	for (k = 0; k < py_offsets_table_len; k++) {
		const struct py_offsets_entry *e = &py_offsets_table[k];
		static const uint32_t big70[] = { 12345, 0, 1 };	/* 2**60 + 12345 */
		static const uint32_t cafe[] = { 'c', 'a', 'f', 0xe9 };
		static const uint32_t zh[] = { 0x4e2d, 0x6587 };
		static const uint32_t snake[] = { 's', 0x1f40d, '\'' };
		static const uint32_t ctrl[] = { 0, 0x7f, 0x85, '\n', '\\' };
		uint64_t items[8], keys[4], vals[4], d, l;
		struct fake f;
		char want[128];

		print_message("  %u.%u.%u+\n", e->major, e->minor, e->min_micro);
		fk_init(&f, e);
		expect_repr(&f, f.none, "None");
		expect_repr(&f, f.yes, "True");
		expect_repr(&f, f.no, "False");
		expect_repr(&f, fk_int(&f, 0), "0");
		expect_repr(&f, fk_int(&f, 42), "42");
		expect_repr(&f, fk_int(&f, -7), "-7");
		expect_repr(&f, fk_int(&f, INT64_MIN + 1), "-9223372036854775807");
		if (!f.py2) {
			expect_repr(&f, fk_long_digits(&f, f.t_int, big70, 3, false),
				    "1152921504606859321");
			expect_repr(&f, fk_long_digits(&f, f.t_int, big70, 3, true),
				    "-1152921504606859321");
		} else {
			expect_repr(&f, fk_long_digits(&f, f.t_long27, big70, 3, true),
				    "-1152921504606859321");
		}
		expect_repr(&f, fk_float(&f, 1.5), "1.5");
		expect_repr(&f, fk_float(&f, -0.0), "-0.0");
		expect_repr(&f, fk_float(&f, 1e16), "1e+16");
		expect_repr(&f, fk_str(&f, "hello"), "'hello'");
		expect_repr(&f, fk_str(&f, "it's"), "\"it's\"");
		expect_repr(&f, fk_str(&f, ""), "''");
		expect_repr(&f, fk_ustr(&f, cafe, 4), "'caf\xc3\xa9'");
		expect_repr(&f, fk_ustr(&f, zh, 2), "'\xe4\xb8\xad\xe6\x96\x87'");
		expect_repr(&f, fk_ustr(&f, snake, 3), "\"s\xf0\x9f\x90\x8d'\"");
		expect_repr(&f, fk_ustr(&f, ctrl, 5), "'\\x00\\x7f\\x85\\n\\\\'");
		/* 2.7 str: Python 2's repr, no b */
		expect_repr(&f, fk_bytes(&f, "\x00\xff" "a'", 4),
			    f.py2 ? "\"\\x00\\xffa'\"" : "b\"\\x00\\xffa'\"");
		expect_repr(&f, fk_bytes(&f, "\t\"'", 3),
			    f.py2 ? "'\\t\"\\''" : "b'\\t\"\\''");

		items[0] = fk_int(&f, 1);
		items[1] = fk_str(&f, "two");
		items[2] = f.none;
		l = fk_list(&f, items, 3);
		expect_repr(&f, l, "[1, 'two', None]");
		expect_repr(&f, fk_list(&f, items, 0), "[]");
		expect_repr(&f, fk_tuple(&f, items, 1), "(1,)");
		expect_repr(&f, fk_tuple(&f, items, 0), "()");
		expect_repr(&f, fk_tuple(&f, items, 2), "(1, 'two')");

		keys[0] = fk_str(&f, "a");
		vals[0] = fk_int(&f, 1);
		keys[1] = fk_int(&f, 5);
		vals[1] = fk_list(&f, &f.yes, 1);
		keys[2] = f.none;
		vals[2] = fk_float(&f, 0.25);
		d = fk_dict(&f, keys, vals, 3);
		expect_repr(&f, d, "{'a': 1, 5: [True], None: 0.25}");
		expect_repr(&f, fk_dict(&f, keys, vals, 0), "{}");
		items[0] = d;
		items[1] = l;
		expect_repr(&f, fk_tuple(&f, items, 2),
			    "({'a': 1, 5: [True], None: 0.25}, [1, 'two', None])");

		/* a deleted entry (value NULL) is skipped */
		vals[1] = 0;
		expect_repr(&f, fk_dict(&f, keys, vals, 3), "{'a': 1, None: 0.25}");

		/* everything else, classes included */
		d = fk_obj(&f, f.t_custom, 32);
		snprintf(want, sizeof(want), "<Custom at 0x%" PRIx64 ">", d);
		expect_repr(&f, d, want);
		d = fk_obj(&f, fk_type(&f, "int", true), 64);	/* a class named int */
		snprintf(want, sizeof(want), "<int at 0x%" PRIx64 ">", d);
		expect_repr(&f, d, want);
		fk_fini(&f);
	}
}

/* ==== hostile memory ==== */

#include <sys/mman.h>

/* Zero pages for the largest dict tables believed (reserved, not used). */
#define BIG_MAP (64u << 20)

/* One readable page followed by an inaccessible one. */
static char *guard_pages(void)
{
	char *p = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	assert_true(p != MAP_FAILED);
	/* A hole, not a PROT_NONE page: targets are read through
	 * /proc/PID/mem, which reads those (as debuggers do). */
	assert_int_equal(munmap(p + 4096, 4096), 0);
	return p;
}

static bool valid_utf8(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		int n = *p < 0x80 ? 0 : (*p & 0xe0) == 0xc0 ? 1 : (*p & 0xf0) == 0xe0 ? 2 :
			(*p & 0xf8) == 0xf0 ? 3 : -1;

		if (n < 0)
			return false;
		for (p++; n > 0; n--, p++) {
			if ((*p & 0xc0) != 0x80)
				return false;
		}
	}
	return true;
}

static void expect_unreadable(struct fake *f, uint64_t addr)
{
	char want[64];
	int ret;
	const char *got = repr_of(f, addr, 1024, &ret);

	snprintf(want, sizeof(want), "<unreadable at 0x%" PRIx64 ">", addr);
	assert_string_equal(got, want);
	assert_true(ret < 0);
}

static void expect_other(struct fake *f, uint64_t addr, const char *type)
{
	char want[96];

	snprintf(want, sizeof(want), "<%s at 0x%" PRIx64 ">", type, addr);
	expect_repr(f, addr, want);
}

static void test_hostile(void **state)
{
	size_t k;

	(void)state;
	for (k = 0; k < py_offsets_table_len; k++) {
		const struct py_offsets_entry *e = &py_offsets_table[k];
		const struct py_obj_offsets *o;
		uint64_t x, y, t, items[4], keys[2], vals[2];
		char want[256];
		struct timespec t0, t1;
		const char *got;
		struct fake f;
		char *page, *big;
		int i, ret;

		fk_init(&f, e);
		o = &f.obj;
		print_message("  %u.%u.%u+\n", e->major, e->minor, e->min_micro);

		/* bad pointers */
		expect_unreadable(&f, 0);
		expect_unreadable(&f, 1);
		expect_unreadable(&f, 0xdeadbeef);
		expect_unreadable(&f, ~0ull);
		expect_unreadable(&f, ~0ull - 7);
		expect_unreadable(&f, A(f.arena) + 4096 + 3);	/* unaligned */
		/* bad type pointer, bad type name pointer */
		expect_unreadable(&f, fk_obj(&f, 0x10, 32));
		expect_unreadable(&f, fk_obj(&f, A(f.arena) + 4096 + 4, 32));
		t = fk_type(&f, "x", false);
		put64(t + o->type_name, 8);
		expect_unreadable(&f, fk_obj(&f, t, 32));
		t = fk_type(&f, "", false);
		expect_unreadable(&f, fk_obj(&f, t, 32));
		/* a type name without NUL is cut; control bytes become '?' */
		t = fk_type(&f, "x", false);
		y = fk_alloc(&f, 8192);
		memset(P(y), 'A', 8192);
		put64(t + o->type_name, y);
		x = fk_obj(&f, t, 32);
		snprintf(want, sizeof(want), "<%.63s at 0x%" PRIx64 ">", (const char *)P(y), x);
		expect_repr(&f, x, want);
		expect_other(&f, fk_obj(&f, fk_type(&f, "bad\x01\xffname", false), 32),
			     "bad??name");
		/* a type name running into an inaccessible page */
		page = guard_pages();
		memset(page + 4096 - 5, 'B', 5);
		t = fk_type(&f, "x", false);
		put64(t + o->type_name, A(page + 4096 - 5));
		expect_unreadable(&f, fk_obj(&f, t, 32));

		/* containing themselves */
		items[0] = fk_int(&f, 1);
		x = fk_list(&f, items, 2);
		put64(get64(x + o->list_item) + 8, x);
		expect_repr(&f, x, "[1, [...]]");
		keys[0] = fk_str(&f, "self");
		vals[0] = f.none;
		x = fk_dict(&f, keys, vals, 1);
		if (o->dict_era == PY_DICT_OPEN27)
			put64(get64(x + o->dict_table27) + 16, x);
		else
			put64(get64(x + o->dict_keys) + o->dk_indices + 8 + 16, x);
		expect_repr(&f, x, "{'self': {...}}");
		y = fk_list(&f, items, 1);
		items[1] = y;
		x = fk_tuple(&f, items, 2);
		put64(get64(y + o->list_item), x);
		expect_repr(&f, x, "(1, [(...)])");
		/* a list whose items are all itself: bounded by the budget */
		x = fk_list(&f, items, 1);
		put64(x + o->ob_size, 1u << 20);
		y = fk_alloc(&f, 8u << 20 >> 3);	/* 1 MiB of pointers */
		for (i = 0; i < (1 << 17); i++)
			put64(y + 8u * i, x);
		put64(x + o->list_item, y);
		got = repr_of(&f, x, 1024, &ret);
		assert_int_equal(ret, 0);
		assert_int_equal(strlen(got), 1024);
		assert_string_equal(got + 1021, "...");
		assert_memory_equal(got, "[[...], [...], ", 15);

		/* deeper than PYOBJ_MAX_DEPTH */
		x = fk_list(&f, items, 0);
		for (i = 0; i < 20; i++)
			x = fk_list(&f, &x, 1);
		want[0] = 0;
		for (i = 0; i < PYOBJ_MAX_DEPTH; i++)
			strcat(want, "[");
		strcat(want, "[...]");
		for (i = 0; i < PYOBJ_MAX_DEPTH; i++)
			strcat(want, "]");
		expect_repr(&f, x, want);

		/* huge, negative, inconsistent lengths */
		x = fk_list(&f, items, 1);
		put64(x + o->ob_size, 1ull << 60);
		expect_other(&f, x, "list");
		put64(x + o->ob_size, (uint64_t)-5);
		expect_other(&f, x, "list");
		put64(x + o->ob_size, 3);
		put64(x + o->list_item, 0);
		expect_other(&f, x, "list");
		x = fk_tuple(&f, items, 1);
		put64(x + o->ob_size, 1ull << 50);
		expect_other(&f, x, "tuple");
		/* plausible length, zeroed memory: NULL items until the budget */
		put64(x + o->ob_size, 1ull << 39);
		got = repr_of(&f, x, 100, &ret);
		assert_int_equal(ret, 0);
		assert_int_equal(strlen(got), 100);
		assert_memory_equal(got, "(1, ", 4);
		assert_string_equal(got + 97, "...");
		/* items running into an inaccessible page */
		x = fk_list(&f, items, 1);
		put64(x + o->ob_size, 600);
		memset(page, 0, 4096);
		put64(A(page) + 4096 - 16, items[0]);
		put64(A(page) + 4096 - 8, items[0]);
		put64(x + o->list_item, A(page) + 4096 - 16);
		snprintf(want, sizeof(want), "[1, 1, <unreadable at 0x%" PRIx64 ">]",
			 A(page) + 4096);
		expect_repr(&f, x, want);
		munmap(page, 8192);

		x = f.py2 ? fk_str(&f, "abc") : fk_str(&f, "abc");
		put64(x + (f.py2 ? o->ob_size : f.sl.length), 1ull << 62);
		expect_other(&f, x, "str");
		x = fk_bytes(&f, "ab", 2);
		put64(x + o->ob_size, 1ull << 50);
		expect_other(&f, x, f.py2 ? "str" : "bytes");
		/* a long string: read no further than the budget needs */
		x = fk_bytes(&f, "ab", 2);
		put64(x + o->ob_size, 1ull << 39);
		got = repr_of(&f, x, 64, &ret);
		/* cut whole characters or escapes (\x00 is 4): its closing
		 * quote, then the ellipsis */
		assert_in_range(strlen(got), 61, 64);
		assert_string_equal(got + strlen(got) - 4, "'...");
		if (!f.py2) {
			uint32_t cp[300];

			x = fk_str(&f, "abc");
			put32(x + f.sl.state, 3u << f.sl.kind_shift | 1u << f.sl.compact_bit);
			expect_other(&f, x, "str");	/* kind 3 */
			put32(x + f.sl.state, 1u << f.sl.kind_shift);
			expect_other(&f, x, "str");	/* not compact */
			/* cut at a character boundary, never inside UTF-8 */
			for (i = 0; i < 300; i++)
				cp[i] = i % 3 ? 0xe9 : 0x4e2d;
			x = fk_ustr(&f, cp, 300);
			for (i = 5; i < 40; i++) {
				got = repr_of(&f, x, (size_t)i, &ret);
				assert_true(valid_utf8(got));
				assert_true(strlen(got) <= (size_t)i);
				assert_string_equal(got + strlen(got) - 3, "...");
			}
		}

		/* ints */
		{
			uint32_t d[4] = { 1, 2, 3, 4 };

			x = fk_long_digits(&f, f.py2 ? f.t_long27 : f.t_int, d, 4, false);
			put64(x + o->long_size, o->long_tag_bits ?
				  (uint64_t)1000 << o->long_tag_bits : 1000);
			expect_other(&f, x, f.py2 ? "long" : "int");
			x = fk_long_digits(&f, f.py2 ? f.t_long27 : f.t_int, d, 4, false);
			put32(x + o->long_digit + 4, 1u << 30);
			expect_other(&f, x, f.py2 ? "long" : "int");
			d[3] = 0;	/* not normalized */
			x = fk_long_digits(&f, f.py2 ? f.t_long27 : f.t_int, d, 4, false);
			expect_other(&f, x, f.py2 ? "long" : "int");
			if (o->long_tag_bits) {
				put64(x + o->long_size, 3);	/* sign 3 */
				expect_other(&f, x, "int");
				put64(x + o->long_size, 1 | 1u << o->long_tag_bits);
				expect_other(&f, x, "int");	/* zero with digits */
			}
		}

		/* dicts */
		keys[0] = fk_str(&f, "a");
		vals[0] = f.none;
		x = fk_dict(&f, keys, vals, 1);
		if (o->dict_era == PY_DICT_OPEN27) {
			put64(x + o->dict_mask27, 6);
			expect_other(&f, x, "dict");
			put64(x + o->dict_mask27, (1ull << 40) - 1);
			expect_other(&f, x, "dict");
			put64(x + o->dict_mask27, 7);
			put64(x + o->dict_table27, 0x1000);
			expect_repr(&f, x, "{<unreadable>}");
		} else {
			y = get64(x + o->dict_keys);
			put64(y + o->dk_nentries, 1000);
			expect_other(&f, x, "dict");
			put64(y + o->dk_nentries, 1);
			if (o->dict_era == PY_DICT_COMPACT) {
				put64(y + o->dk_size, 12);
				expect_other(&f, x, "dict");
				put64(y + o->dk_size, 1ull << 40);
				expect_other(&f, x, "dict");
			} else {
				*(uint8_t *)P(y + o->dk_size) = 200;
				expect_other(&f, x, "dict");
				*(uint8_t *)P(y + o->dk_size) = 3;
				*(uint8_t *)P(y + o->dk_kind) = 7;
				expect_other(&f, x, "dict");
				*(uint8_t *)P(y + o->dk_kind) = 0;
				*(uint8_t *)P(y + o->dk_log2_index_bytes) = 9;
				expect_other(&f, x, "dict");
				*(uint8_t *)P(y + o->dk_log2_index_bytes) = 3;
				/* a split table whose order prefix lies */
				put64(x + o->dict_values, A(f.arena) + 8192);
				ret = pyobj__repr(&f.r, x, 64, want, sizeof(want));
				assert_int_equal(ret, 0);
				put64(x + o->dict_values, 0);
			}
			put64(x + o->dict_keys, 0);
			expect_other(&f, x, "dict");
			/* the largest table believed, all empty: the reads run out */
			big = mmap(NULL, BIG_MAP, PROT_READ | PROT_WRITE,
				   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
			assert_true(big != MAP_FAILED);
			y = A(big);
			put64(x + o->dict_keys, y);
			if (o->dict_era == PY_DICT_COMPACT) {
				put64(y + o->dk_size, PYOBJ_MAX_DICT_SLOTS);
			} else {
				*(uint8_t *)P(y + o->dk_size) = 22;
				*(uint8_t *)P(y + o->dk_log2_index_bytes) = 24;
			}
			put64(y + o->dk_nentries, PYOBJ_MAX_DICT_SLOTS / 2);
			clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
			got = repr_of(&f, x, 1024, &ret);
			clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t1);
			assert_string_equal(got, "{<unreadable>}");
			/* CPU time: a busy machine does not stretch it. */
			assert_true(t1.tv_sec - t0.tv_sec < 2);
			munmap(big, BIG_MAP);
		}

		/* budgets and output sizes */
		for (i = 0; i < 4; i++)
			items[i] = fk_int(&f, 1000 + i);
		x = fk_list(&f, items, 4);
		expect_repr(&f, x, "[1000, 1001, 1002, 1003]");
		assert_string_equal(repr_of(&f, x, 24, NULL), "[1000, 1001, 1002, 1003]");
		assert_string_equal(repr_of(&f, x, 23, NULL), "[1000, 1001, 1002, 1...");
		assert_string_equal(repr_of(&f, x, 3, NULL), "...");
		assert_string_equal(repr_of(&f, x, 2, NULL), "..");
		assert_string_equal(repr_of(&f, x, 0, NULL), "");
		ret = pyobj__repr(&f.r, x, 1024, want, 10);
		assert_int_equal(ret, 0);
		assert_string_equal(want, "[1000,...");
		assert_int_equal(pyobj__repr(&f.r, x, 1024, want, 0), -EINVAL);
		assert_int_equal(pyobj__repr(NULL, x, 1024, want, 10), -EINVAL);
		fk_fini(&f);
	}
}

/* ==== floats against Python's repr() ==== */

static void test_floats(void **state)
{
	const struct py_offsets_entry *e = py_offsets__find(3, 12, 0);
	char path[512], line[256], want[128];
	unsigned long long bits;
	int n = 0, bad = 0;
	struct fake f;
	FILE *fp;

	(void)state;
	snprintf(path, sizeof(path), "%s/pyobj/floats.txt", fixtures_dir());
	fp = fopen(path, "r");
	if (!fp)
		fail_msg("cannot open %s (run from the repo root or set PYSPY_FIXTURES)", path);
	fk_init(&f, e);
	while (fgets(line, sizeof(line), fp)) {
		uint64_t o;
		double v;
		const char *got;

		if (sscanf(line, "%llx %127s", &bits, want) != 2)
			continue;
		memcpy(&v, &bits, 8);
		o = fk_float(&f, v);
		got = repr_of(&f, o, 1024, NULL);
		if (strcmp(got, want)) {
			print_error("float %016llx: '%s', Python: '%s'\n", bits, got, want);
			bad++;
		}
		n++;
	}
	fclose(fp);
	fk_fini(&f);
	print_message("  %d floats\n", n);
	assert_true(n > 3000);
	assert_int_equal(bad, 0);
}

/* ==== frames and thread names, faked ==== */

struct want_local {
	const char *name;
	bool arg;
	const char *repr;
};

static void check_locals(const char *what, const struct local_variable *v, unsigned int n,
			 const struct want_local *w, unsigned int nw)
{
	unsigned int i, j, bad = 0;

	for (i = 0; i < nw; i++) {
		for (j = 0; j < n; j++) {
			if (!strcmp(v[j].name, w[i].name))
				break;
		}
		if (j == n) {
			print_error("%s: local %s missing\n", what, w[i].name);
			bad++;
		} else if (v[j].arg != w[i].arg || strcmp(v[j].repr, w[i].repr)) {
			print_error("%s: local %s: arg %d '%s', want arg %d '%s'\n", what,
				    w[i].name, v[j].arg, v[j].repr, w[i].arg, w[i].repr);
			bad++;
		}
	}
	if (n != nw) {
		for (j = 0; j < n; j++)
			print_error("%s: got %s = %s\n", what, v[j].name, v[j].repr);
		print_error("%s: %u locals, want %u\n", what, n, nw);
		bad++;
	}
	assert_int_equal(bad, 0);
}

static uint64_t fk_cell(struct fake *f, uint64_t v)
{
	uint64_t c = fk_obj(f, f->t_cell, 32);

	put64(c + f->obj.cell_ref, v);
	return c;
}

/*
 * def f(a, b, *args, **kw): x = 1; y unbound; a and c captured by a closure
 * (<= 3.10: a's slot is cleared, its value is in its cell); 3.11+ also a
 * free variable (not listed) and, 3.12+, a hidden comprehension local.
 */
static void fake_frame(struct fake *f, uint64_t *frame, uint64_t *code)
{
	const struct py_offsets *off = f->r.off;
	const struct py_obj_offsets *o = &f->obj;
	uint64_t co = fk_obj(f, f->t_code, 512), fr = fk_alloc(f, 1024);
	uint64_t empty_t = fk_tuple(f, NULL, 0), empty_d = fk_dict(f, NULL, NULL, 0);
	uint64_t slots = fr + off->frame_localsplus, names[10];
	int i;

	put32(co + off->code_argcount, 2);
	put32(co + o->code_flags, o->co_varargs | o->co_varkeywords | 0x20);
	if (o->code_kwonlyargcount)
		put32(co + o->code_kwonlyargcount, 0);
	if (!(off->flags & PY_F_INTERP_FRAME)) {
		static const char *const v[] = { "a", "b", "args", "kw", "x", "y" };
		uint64_t cells[2];

		for (i = 0; i < 6; i++)
			names[i] = fk_str(f, v[i]);
		put32(co + off->code_nlocals, 6);
		put64(co + off->code_varnames, fk_tuple(f, names, 6));
		cells[0] = fk_str(f, "a");
		cells[1] = fk_str(f, "c");
		put64(co + o->code_cellvars, fk_tuple(f, cells, 2));
		/* 2.7 keeps the argument's first value in its slot (stale) */
		if (f->py2)
			put64(slots, fk_int(f, -1));
		put64(slots + 8 * 1, fk_str(f, "bee"));
		put64(slots + 8 * 2, empty_t);
		put64(slots + 8 * 3, empty_d);
		put64(slots + 8 * 4, fk_int(f, 1));
		put64(slots + 8 * 6, fk_cell(f, fk_int(f, 7)));
		put64(slots + 8 * 7, fk_cell(f, fk_str(f, "cv")));
	} else {
		static const char *const v[] = { "a", "b", "args", "kw", "x", "y", "c", "fv", "h" };
		uint8_t kinds[9];
		uint64_t tag = off->code_tag_mask ? 1 : 0;	/* deferred refs */

		for (i = 0; i < 9; i++)
			names[i] = fk_str(f, v[i]);
		put64(co + off->code_varnames, fk_tuple(f, names, 9));
		for (i = 0; i < 6; i++)
			kinds[i] = o->fast_local;
		kinds[0] |= o->fast_cell;
		kinds[6] = o->fast_cell;
		kinds[7] = o->fast_free;
		kinds[8] = o->fast_hidden ? (o->fast_hidden | o->fast_local) : o->fast_free;
		put64(co + o->code_localspluskinds, fk_bytes(f, kinds, 9));
		put64(slots + 8 * 0, fk_cell(f, fk_int(f, 7)) | tag);
		put64(slots + 8 * 1, fk_str(f, "bee"));
		put64(slots + 8 * 2, empty_t | tag);
		put64(slots + 8 * 3, empty_d);
		put64(slots + 8 * 4, fk_int(f, 1) | tag);
		put64(slots + 8 * 5, tag);	/* NULL */
		put64(slots + 8 * 6, fk_cell(f, fk_str(f, "cv")));
		put64(slots + 8 * 7, fk_cell(f, fk_int(f, 9)));
		put64(slots + 8 * 8, fk_int(f, 5));
	}
	*frame = fr;
	*code = co;
}

/* The Thread instance: its _name in this version's instance dict. */
static uint64_t fake_thread(struct fake *f, uint64_t name, bool values)
{
	const struct py_obj_offsets *o = &f->obj;
	uint64_t t = fk_type(f, "Thread", true), obj, keys[2], vals[2];

	keys[0] = fk_str(f, "_target");
	keys[1] = fk_str(f, f->py2 ? "_Thread__name" : "_name");
	vals[0] = f->none;
	vals[1] = name;
	obj = fk_alloc(f, 128) + 64;	/* room for the pre-header */
	put64(obj + o->ob_type, t);
	if (!o->tpflag_managed_dict) {
		put64(t + o->type_dictoffset, 16);
		put64(obj + 16, fk_dict(f, keys, vals, 2));
		return obj;
	}
	put64(t + o->type_flags, get64(t + o->type_flags) | 1ull << o->tpflag_managed_dict);
	if (!values) {
		put64(obj + (int64_t)o->managed_dict, fk_dict(f, keys, vals, 2));
		return obj;
	}
	/* values only: unicode keys kept by the type */
	{
		uint64_t k = fk_alloc(f, o->dk_indices + 8 + 16 * 8), v, ent;

		*(uint8_t *)P(k + o->dk_size) = 3;
		*(uint8_t *)P(k + o->dk_log2_index_bytes) = 3;
		*(uint8_t *)P(k + o->dk_kind) = 2;	/* split */
		put64(k + o->dk_nentries, 2);
		ent = k + o->dk_indices + 8;
		put64(ent, keys[0]);
		put64(ent + 16, keys[1]);
		put64(t + o->heaptype_cached_keys, k);
		if (o->dict_era == PY_DICT_INLINE) {
			put64(t + o->type_flags, get64(t + o->type_flags) |
				  1ull << o->tpflag_inline_values);
			v = obj + 16;	/* tp_basicsize */
			*(uint8_t *)P(v + o->dv_capacity) = 2;
			*(uint8_t *)P(v + o->dv_size) = 2;
			*(uint8_t *)P(v + o->dv_valid) = 1;
			put64(v + o->dv_values, vals[0]);
			put64(v + o->dv_values + 8, vals[1]);
			*(uint8_t *)P(v + o->dv_values + 16) = 0;
			*(uint8_t *)P(v + o->dv_values + 17) = 1;
			return obj;
		}
		v = fk_alloc(f, 64) + 8;	/* prefix: size 8, 2 used, order 0 1 */
		*(uint8_t *)P(v - 1) = 8;
		*(uint8_t *)P(v - 2) = 2;
		*(uint8_t *)P(v - 3) = 0;
		*(uint8_t *)P(v - 4) = 1;
		put64(v, vals[0]);
		put64(v + 8, vals[1]);
		if (o->dict_era == PY_DICT_LOG2_311)
			put64(obj + (int64_t)o->managed_values, v);
		else
			put64(obj + (int64_t)o->managed_dict, v - 1);
	}
	return obj;
}

/* interp -> sys.modules -> threading -> _active -> two threads. */
static uint64_t fake_interp(struct fake *f, uint64_t *runtime)
{
	const struct py_obj_offsets *o = &f->obj;
	const struct py_offsets *off = f->r.off;
	uint64_t interp = fk_alloc(f, 16384), rt = fk_alloc(f, 4096);
	uint64_t mod, mdict, active, k[3], v[3];
	uint32_t big[3] = { 5, 7, 1 };

	k[0] = fk_int(f, 0x1234);
	v[0] = fake_thread(f, fk_str(f, "MainThread"), false);
	k[1] = f->py2 ? fk_long_digits(f, f->t_long27, big, 3, false) :
			fk_long_digits(f, f->t_int, big, 3, false);
	/* 2.7: a UTF-8 byte str; 3.x: a latin-1 str */
	v[1] = fake_thread(f, f->py2 ? fk_str(f, "worker-\xc3\xa9") :
			   fk_ustr(f, (const uint32_t[]){ 'w', '-', 0xe9 }, 3),
			   o->tpflag_managed_dict != 0);
	active = fk_dict(f, k, v, 2);
	k[0] = fk_str(f, "_active");
	v[0] = active;
	k[1] = fk_str(f, "local");
	v[1] = f->none;
	mdict = fk_dict(f, k, v, 2);
	mod = fk_obj(f, fk_type(f, "module", false), 64);
	put64(mod + o->module_dict, mdict);
	k[0] = fk_str(f, "sys");
	v[0] = f->none;
	k[1] = fk_int(f, 3);	/* not a str: never matches */
	v[1] = f->none;
	k[2] = fk_str(f, "threading");
	v[2] = mod;
	put64(interp + o->interp_modules, fk_dict(f, k, v, 3));
	if (off->flags & PY_F_INTERP_HEAD_SYM) {
		put64(rt, interp);
		*runtime = rt;
	} else {
		put64(rt + off->runtime_interp_head, interp);
		*runtime = rt;
	}
	return interp;
}

static void test_fake_frames_threads(void **state)
{
	size_t k;

	(void)state;
	for (k = 0; k < py_offsets_table_len; k++) {
		const struct py_offsets_entry *e = &py_offsets_table[k];
		const struct want_local want[] = {
			{ "a", true, "7" }, { "b", true, "'bee'" }, { "args", false, "()" },
			{ "kw", false, "{}" }, { "x", false, "1" }, { "c", false, "'cv'" },
		};
		struct py_thread_name names[4];
		struct local_variable *v;
		uint64_t frame, code, interp;
		unsigned int n;
		struct fake f;
		char what[32];
		int ret;

		fk_init(&f, e);
		snprintf(what, sizeof(what), "%u.%u.%u+", e->major, e->minor, e->min_micro);
		print_message("  %s\n", what);
		fake_frame(&f, &frame, &code);
		ret = pyobj__frame_locals(&f.r, frame, code, 128, &v, &n);
		assert_int_equal(ret, 0);
		check_locals(what, v, n, want, 6);
		pyobj__free_locals(v, n);
		/* not a code object, NULLs */
		assert_int_equal(pyobj__frame_locals(&f.r, frame, frame, 128, &v, &n), -EFAULT);
		assert_int_equal(pyobj__frame_locals(&f.r, frame, f.none, 128, &v, &n), -EINVAL);
		assert_null(v);
		assert_int_equal(n, 0);
		assert_int_equal(pyobj__frame_locals(&f.r, 0, code, 128, &v, &n), -EINVAL);
		assert_int_equal(pyobj__frame_locals(&f.r, 8, code, 128, &v, &n), -EFAULT);

		interp = fake_interp(&f, &f.r.runtime);
		ret = pyobj__thread_names(&f.r, names, 4);
		assert_int_equal(ret, 2);
		assert_int_equal(names[0].ident, 0x1234);
		assert_string_equal(names[0].name, "MainThread");
		assert_int_equal(names[1].ident, 5 | 7ull << 30 | 1ull << 60);
		assert_string_equal(names[1].name, f.py2 ? "worker-\xc3\xa9" : "w-\xc3\xa9");
		assert_int_equal(pyobj__thread_names(&f.r, names, 1), 1);
		assert_int_equal(pyobj__thread_names(&f.r, names, 0), 0);
		/* no threading module: -ENOENT; garbage runtime: an error */
		put64(interp + f.obj.interp_modules, fk_dict(&f, NULL, NULL, 0));
		assert_int_equal(pyobj__thread_names(&f.r, names, 4), -ENOENT);
		f.r.runtime = 0x10;
		assert_true(pyobj__thread_names(&f.r, names, 4) < 0);
		fk_fini(&f);
	}
}

/* ==== random mutations of valid objects ==== */

static double since(const struct timespec *t0);
static double cpu_since(const struct timespec *t0);

static double max_d(double a, double b)
{
	return a > b ? a : b;
}

static uint64_t rng = 0x9E3779B97F4A7C15ULL;

static uint64_t rnd(void)
{
	return xorshift64(&rng);
}

static uint64_t rnd_word(struct fake *f, uint64_t lo, uint64_t hi)
{
	switch (rnd() % 8) {
	case 0:
		return rnd();
	case 1:
		return rnd() % 64;
	case 2:
		return (uint64_t)-(int64_t)(rnd() % 8);
	case 3:
		return 1ull << (rnd() % 64);
	case 4:
		return lo + (rnd() % (hi - lo)) / 8 * 8;	/* another object */
	case 5:
		return lo + rnd() % (hi - lo);
	case 6:
		return A(f->arena) + ARENA_SIZE - 8 * (rnd() % 16);
	default:
		return 0;
	}
}

static void test_fuzz(void **state)
{
	unsigned int iters = getenv("PYOBJ_FUZZ") ? (unsigned int)atoi(getenv("PYOBJ_FUZZ")) : 400;
	static const char *const what[] = { "repr", "repr (random address)", "frame_locals",
					     "thread_names" };
	double slowest = 0, slow[4] = { 0 };
	size_t k;

	(void)state;
	if (getenv("PYOBJ_SEED"))
		rng = strtoull(getenv("PYOBJ_SEED"), NULL, 0) | 1;
	for (k = 0; k < py_offsets_table_len; k++) {
		const struct py_offsets_entry *e = &py_offsets_table[k];
		uint64_t items[8], keys[4], vals[4], root, lo, hi, frame, code;
		static uint64_t saved_at[64], saved[64];
		uint32_t cp[] = { 'a', 0xe9, 0x4e2d, 0x1f40d };
		unsigned int it, ok = 0;
		struct timespec t0;
		struct fake f;

		fk_init(&f, e);
		lo = A(f.arena) + f.used;
		items[0] = fk_int(&f, -123456789012345LL);
		items[1] = fk_float(&f, 2.5);
		items[2] = fk_ustr(&f, cp, 4);
		items[3] = fk_bytes(&f, "\x01z", 2);
		keys[0] = fk_str(&f, "k");
		vals[0] = fk_list(&f, items, 4);
		keys[1] = fk_int(&f, 9);
		vals[1] = fk_tuple(&f, items, 3);
		keys[2] = f.none;
		vals[2] = fk_obj(&f, f.t_custom, 32);
		items[4] = fk_dict(&f, keys, vals, 3);
		items[5] = f.yes;
		items[6] = fk_list(&f, items, 6);
		root = fk_tuple(&f, items, 7);
		fake_frame(&f, &frame, &code);
		fake_interp(&f, &f.r.runtime);
		hi = A(f.arena) + f.used;
		for (it = 0; it < iters; it++) {
			unsigned int m = 1 + rnd() % 6, j;
			struct py_thread_name names[4];
			struct local_variable *v;
			unsigned int n;
			int ret;

			for (j = 0; j < m; j++) {
				saved_at[j] = lo + (rnd() % ((hi - lo) / 8)) * 8;
				saved[j] = get64(saved_at[j]);
				if (rnd() % 4)
					put64(saved_at[j], rnd_word(&f, lo, hi));
				else	/* a single byte: kinds, sizes, flags */
					*(uint8_t *)P(saved_at[j] + rnd() % 8) = (uint8_t)rnd();
			}
			clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
			repr_of(&f, root, rnd() % 2 ? 1024 : rnd() % 200, &ret);
			ok += ret == 0;
			slow[0] = max_d(slow[0], cpu_since(&t0));
			clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
			repr_of(&f, lo + (rnd() % ((hi - lo) / 8)) * 8, 128, NULL);
			slow[1] = max_d(slow[1], cpu_since(&t0));
			clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
			if (pyobj__frame_locals(&f.r, frame, code, rnd() % 300, &v, &n) == 0) {
				for (j = 0; j < n; j++)
					assert_true(strlen(v[j].repr) < 300 && v[j].name);
				pyobj__free_locals(v, n);
			}
			slow[2] = max_d(slow[2], cpu_since(&t0));
			clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
			ret = pyobj__thread_names(&f.r, names, 4);
			slow[3] = max_d(slow[3], cpu_since(&t0));
			assert_true(ret <= 4);
			for (j = 0; ret > 0 && j < (unsigned int)ret; j++)
				assert_true(strlen(names[j].name) < sizeof(names[j].name));
			while (m-- > 0)
				put64(saved_at[m], saved[m]);
		}
		print_message("  %u.%u.%u+: %u mutations, %u root reprs read\n", e->major,
			      e->minor, e->min_micro, iters, ok);
		fk_fini(&f);
	}
	/* The read caps bound every call (65536 reads at most): the CPU time
	 * it took, which a busy machine does not stretch. */
	for (k = 0; k < 4; k++) {
		print_message("  slowest %s: %.1f ms of CPU\n", what[k], slow[k] * 1e3);
		slowest = max_d(slowest, slow[k]);
	}
	assert_true(slowest < 0.5);
}

/* ==== live interpreters ==== */

#define MAX_INTERPS 64
#define MAX_LINES 256
#define TARGET "tests/programs/objects_target.py"
#define FUNC "objects_target"
/* Budgets checked: dump -l and -ll, and a small one for truncation. */
static const size_t budgets[] = { 1024, 128, 40 };

struct target {
	char label[64], path[512], version[32], build[16];
	unsigned int major, minor;
	pid_t pid;		/* 0: not started */
	int in, out;		/* its stdin (ours to close) and stdout */
	char buf[1 << 17];
	size_t len;
	char *lines[MAX_LINES];
	unsigned int nlines;
	bool ready;
	char err[256];
	double ready_s;
};

static struct target *targets;
static unsigned int ntargets;
static struct timespec live_start;

/* CPU seconds of this thread since t0 (CLOCK_THREAD_CPUTIME_ID). */
static double cpu_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

static double since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

static int list_interpreters(void)
{
	char line[1024];
	FILE *p;

	targets = calloc(MAX_INTERPS, sizeof(*targets));
	assert_non_null(targets);
	p = popen("scripts/list-interpreters 2>/dev/null", "r");
	if (!p)
		return -errno;
	while (ntargets < MAX_INTERPS && fgets(line, sizeof(line), p)) {
		struct target *t = &targets[ntargets];

		line[strcspn(line, "\n")] = 0;
		if (sscanf(line, "%63[^\t]\t%511[^\t]\t%31[^\t]\t%15s", t->label, t->path,
			   t->version, t->build) != 4 ||
		    sscanf(t->version, "%u.%u", &t->major, &t->minor) != 2)
			continue;
		t->in = t->out = -1;
		ntargets++;
	}
	pclose(p);
	return 0;
}

static void start_target(struct target *t)
{
	int in[2], out[2];
	pid_t pid;

	if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC)) {
		snprintf(t->err, sizeof(t->err), "pipe: %s", strerror(errno));
		return;
	}
	pid = fork();
	if (pid < 0) {
		snprintf(t->err, sizeof(t->err), "fork: %s", strerror(errno));
		return;
	}
	if (!pid) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		execl(t->path, t->path, "-E", TARGET, (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	t->pid = pid;
	t->in = in[1];
	t->out = out[0];
}

/*
 * Reads the target's lines until "ready" (or EOF, or seconds more): from
 * this call, not from the targets' start, so that a target that was ready
 * long ago, while earlier tests ran on a busy machine, is still read.
 */
static void wait_ready(struct target *t, double seconds)
{
	struct timespec t0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (!t->ready && t->out >= 0 && since(&t0) < seconds) {
		struct pollfd pfd = { .fd = t->out, .events = POLLIN };
		ssize_t n;
		char *nl;

		if (poll(&pfd, 1, 100) <= 0)
			continue;
		n = read(t->out, t->buf + t->len, sizeof(t->buf) - 1 - t->len);
		if (n <= 0) {
			snprintf(t->err, sizeof(t->err), "exited before 'ready'");
			return;
		}
		t->len += (size_t)n;
		t->buf[t->len] = 0;
		/* Split complete lines in place. */
		while ((nl = memchr(t->buf + (t->nlines ? 0 : 0), '\n', t->len))) {
			size_t used = (size_t)(nl - t->buf) + 1;
			char *line = strndup(t->buf, used - 1);

			assert_non_null(line);
			memmove(t->buf, t->buf + used, t->len - used);
			t->len -= used;
			t->buf[t->len] = 0;
			if (t->nlines < MAX_LINES)
				t->lines[t->nlines++] = line;
			else
				free(line);
			if (!strncmp(line, "ready ", 6)) {
				t->ready = true;
				t->ready_s = since(&live_start);
			}
		}
	}
	if (!t->ready && !t->err[0])
		snprintf(t->err, sizeof(t->err), "no 'ready' in time");
}

static void stop_target(struct target *t)
{
	unsigned int i;

	if (t->in >= 0)
		close(t->in);
	if (t->out >= 0)
		close(t->out);
	t->in = t->out = -1;
	if (t->pid > 0) {
		kill(t->pid, SIGKILL);
		waitpid(t->pid, NULL, 0);
		t->pid = 0;
	}
	for (i = 0; i < t->nlines; i++)
		free(t->lines[i]);
	t->nlines = 0;
}

static int setup_live(void **state)
{
	unsigned int i;

	(void)state;
	clock_gettime(CLOCK_MONOTONIC, &live_start);
	if (list_interpreters())
		return 0;
	/* All at once: the total is the slowest start, not the sum. */
	for (i = 0; i < ntargets; i++)
		start_target(&targets[i]);
	return 0;
}

static int teardown_live(void **state)
{
	unsigned int i;

	(void)state;
	for (i = 0; i < ntargets; i++)
		stop_target(&targets[i]);
	free(targets);
	return 0;
}

static const char *line_arg(struct target *t, const char *key)
{
	size_t n = strlen(key);
	unsigned int i;

	for (i = 0; i < t->nlines; i++) {
		if (!strncmp(t->lines[i], key, n) && t->lines[i][n] == ' ')
			return t->lines[i] + n + 1;
	}
	return NULL;
}

/* The repr cut the way the reader cuts: budget - 3 bytes at a character boundary, then "...". */
/* Bytes of one character or escape at p of a repr. */
static size_t unit_len(const char *p)
{
	unsigned char b = (unsigned char)p[0];

	if (b == '\\')
		return p[1] == 'x' ? 4 : p[1] == 'u' ? 6 : p[1] == 'U' ? 10 : 2;
	return b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
}

/* What a repr longer than budget becomes: a string's start, its closing
 * quote and "..."; anything else cut to budget - 3 bytes and "...". */
static void cut_expected(const char *full, size_t budget, char *out, size_t outlen)
{
	size_t len = strlen(full), cut, head;
	const char *q;

	if (len <= budget) {
		snprintf(out, outlen, "%s", full);
		return;
	}
	q = strchr("'\"", full[len - 1]) ? strchr(full, full[len - 1]) : NULL;
	if (q && q - full <= 1 && (q == full || full[0] == 'b')) {
		head = (size_t)(q - full) + 1;
		for (cut = 0; head + cut < len - 1 && head + cut + unit_len(full + head + cut) + 4 <=
							     budget;)
			cut += unit_len(full + head + cut);
		snprintf(out, outlen, "%.*s%c...", (int)(head + cut), full, full[len - 1]);
		return;
	}
	cut = budget >= 3 ? budget - 3 : 0;
	while (cut > 0 && ((unsigned char)full[cut] & 0xc0) == 0x80)
		cut--;
	snprintf(out, outlen, "%.*s%.*s", (int)cut, full, (int)(budget < 3 ? budget : 3), "...");
}

/* interp -> threads -> the thread state of ident -> frames -> FUNC's. */
static int find_frame(const struct pyobj_reader *r, uint64_t ident, uint64_t *frame,
		      uint64_t *code, char *why, size_t whylen)
{
	const struct py_offsets *off = r->off;
	uint64_t interp, ts = 0, fr, v;
	int i, j;

	if (remote_read_u64(r->pid, off->flags & PY_F_INTERP_HEAD_SYM ? r->runtime :
				    r->runtime + off->runtime_interp_head, &interp)) {
		snprintf(why, whylen, "interpreter list unreadable");
		return -EFAULT;
	}
	for (i = 0; interp && i < 8 && !ts; i++) {
		uint64_t t;

		if (remote_read_u64(r->pid, interp + off->interp_tstate_head, &t))
			break;
		for (j = 0; t && j < 1024; j++) {
			if (remote_read_u64(r->pid, t + off->tstate_thread_id, &v))
				break;
			if (v == ident) {
				ts = t;
				break;
			}
			if (remote_read_u64(r->pid, t + off->tstate_next, &t))
				break;
		}
		if (remote_read_u64(r->pid, interp + off->interp_next, &interp))
			break;
	}
	if (!ts) {
		snprintf(why, whylen, "no thread state with thread_id %" PRIu64, ident);
		return -ENOENT;
	}
	if (remote_read_u64(r->pid, ts + off->tstate_frame, &fr))
		return -EFAULT;
	if ((off->flags & PY_F_CFRAME) &&
	    remote_read_u64(r->pid, fr + off->cframe_current_frame, &fr))
		return -EFAULT;
	for (i = 0; fr && i < 4096; i++) {
		char type[64], name[128];
		uint64_t c;

		if (remote_read_u64(r->pid, fr + off->frame_code, &c))
			break;
		c &= ~off->code_tag_mask;
		if (!pyobj__type_name(r, c, type, sizeof(type)) && !strcmp(type, "code") &&
		    !remote_read_u64(r->pid, c + off->code_name, &v) &&
		    !pyobj__str(r, v, name, sizeof(name)) && !strcmp(name, FUNC)) {
			*frame = fr;
			*code = c;
			return 0;
		}
		if (remote_read_u64(r->pid, fr + off->frame_back, &fr))
			break;
	}
	snprintf(why, whylen, "no frame of %s", FUNC);
	return -ENOENT;
}

static void check_threads(struct target *t, const struct pyobj_reader *r)
{
	struct py_thread_name names[64];
	unsigned int i, want = 0, bad = 0;
	int n, j;

	n = pyobj__thread_names(r, names, 64);
	if (n < 0)
		fail_msg("%s: thread names: %s", t->label, strerror(-n));
	for (i = 0; i < t->nlines; i++) {
		unsigned long long ident;
		int pos = 0;

		if (sscanf(t->lines[i], "thread %llu %n", &ident, &pos) != 1 || !pos)
			continue;
		want++;
		for (j = 0; j < n; j++) {
			if (names[j].ident == ident)
				break;
		}
		if (j == n) {
			print_error("%s: thread %llu (%s) not found\n", t->label, ident,
				    t->lines[i] + pos);
			bad++;
		} else if (strcmp(names[j].name, t->lines[i] + pos)) {
			print_error("%s: thread %llu: '%s', want '%s'\n", t->label, ident,
				    names[j].name, t->lines[i] + pos);
			bad++;
		}
	}
	if ((unsigned int)n != want) {
		print_error("%s: %d thread names, want %u\n", t->label, n, want);
		bad++;
	}
	if (want < 4) {
		print_error("%s: the target listed %u threads\n", t->label, want);
		bad++;
	}
	if (bad)
		fail_msg("%s: %u thread name mismatches", t->label, bad);
}

static void check_locals_live(struct target *t, const struct pyobj_reader *r,
			      uint64_t frame, uint64_t code, size_t budget)
{
	static char want[PYOBJ_MAX_BUDGET + 8], one[PYOBJ_MAX_BUDGET + 8];
	struct local_variable *v;
	unsigned int n, i, j, nwant = 0, bad = 0;
	int err;

	err = pyobj__frame_locals(r, frame, code, budget, &v, &n);
	if (err)
		fail_msg("%s: frame locals: %s", t->label, strerror(-err));
	for (i = 0; i < t->nlines; i++) {
		char name[128];
		int arg, pos = 0;

		if (sscanf(t->lines[i], "local %127s %d %n", name, &arg, &pos) != 2 || !pos)
			continue;
		nwant++;
		cut_expected(t->lines[i] + pos, budget, want, sizeof(want));
		for (j = 0; j < n; j++) {
			if (!strcmp(v[j].name, name))
				break;
		}
		if (j == n) {
			print_error("%s/%zu: local %s missing\n", t->label, budget, name);
			bad++;
			continue;
		}
		if (strcmp(v[j].repr, want) || v[j].arg != !!arg) {
			print_error("%s/%zu: %s: arg %d '%s'\n%*swant arg %d '%s'\n", t->label,
				    budget, name, v[j].arg, v[j].repr, (int)strlen(t->label) + 12,
				    "", arg, want);
			bad++;
		}
		/* The same through pyobj__repr, from the value's address. */
		pyobj__repr(r, v[j].addr, budget, one, sizeof(one));
		if (strcmp(one, v[j].repr)) {
			print_error("%s/%zu: %s: pyobj__repr '%s' != '%s'\n", t->label, budget,
				    name, one, v[j].repr);
			bad++;
		}
	}
	if (n != nwant) {
		for (j = 0; j < n; j++)
			print_error("%s: got %s = %s\n", t->label, v[j].name, v[j].repr);
		print_error("%s/%zu: %u locals, want %u\n", t->label, budget, n, nwant);
		bad++;
	}
	pyobj__free_locals(v, n);
	if (nwant < 40) {
		print_error("%s: the target listed %u locals\n", t->label, nwant);
		bad++;
	}
	if (bad)
		fail_msg("%s: %u mismatches with budget %zu", t->label, bad, budget);
}

static void test_live(void **state)
{
	struct target *t = *state;
	struct py_process *p = NULL;
	struct py_obj_offsets obj;
	struct pyobj_reader r;
	struct timespec t0;
	uint64_t frame = 0, code = 0;
	unsigned long long ident;
	const char *s;
	char why[256];
	size_t b;
	int err;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (!t->pid)
		fail_msg("%s: not started: %s", t->label, t->err);
	wait_ready(t, 60.0);
	if (!t->ready)
		fail_msg("%s (%s): %s", t->label, t->path, t->err);
	err = py_process__open(t->pid, &p, why, sizeof(why));
	if ((err == -EPERM || err == -EACCES) && geteuid() && !in_ci()) {
		print_message("  SKIP %s: cannot read the target's memory as non-root (%s)\n",
			      t->label, strerror(-err));
		stop_target(t);
		skip();
	}
	if (err)
		fail_msg("%s: py_process__open: %s: %s", t->label, strerror(-err), why);
	assert_int_equal(p->major, t->major);
	assert_int_equal(p->minor, t->minor);
	err = pyobj__reader_init(&r, &obj, p);
	if (err)
		fail_msg("%s: pyobj__reader_init: %s", t->label, strerror(-err));

	check_threads(t, &r);
	s = line_arg(t, "main");
	assert_non_null(s);
	ident = strtoull(s, NULL, 10);
	assert_non_null(line_arg(t, "func"));
	if (find_frame(&r, ident, &frame, &code, why, sizeof(why)))
		fail_msg("%s: %s", t->label, why);
	for (b = 0; b < sizeof(budgets) / sizeof(budgets[0]); b++)
		check_locals_live(t, &r, frame, code, budgets[b]);
	print_message("  %s %s (%s): %u lines, ready after %.2fs, checked in %.3fs\n",
		      t->label, t->version, t->build, t->nlines, t->ready_s, since(&t0));
	py_process__free(p);
	stop_target(t);
}

/* Every minor version the offsets table supports has an interpreter. */
static void test_live_coverage(void **state)
{
	unsigned int i, j, missing = 0;

	(void)state;
	if (!ntargets) {
		if (in_ci())
			fail_msg("scripts/list-interpreters found no interpreter");
		print_message("  SKIP: scripts/list-interpreters found no interpreter\n");
		skip();
	}
	for (i = 0; i < py_offsets_table_len; i++) {
		const struct py_offsets_entry *e = &py_offsets_table[i];
		bool found = false;

		if (i && py_offsets_table[i - 1].major == e->major &&
		    py_offsets_table[i - 1].minor == e->minor)
			continue;
		for (j = 0; j < ntargets && !found; j++)
			found = targets[j].major == e->major && targets[j].minor == e->minor;
		if (!found) {
			print_message("  %s: no CPython %u.%u interpreter (pyenv, /usr/bin, or "
				      "scripts/install-debian-pythons)\n",
				      in_ci() ? "FAIL" : "SKIP", e->major, e->minor);
			missing++;
		}
	}
	if (missing && in_ci())
		fail_msg("%u CPython versions without an interpreter under CI", missing);
	print_message("  %u interpreters, all started in parallel\n", ntargets);
}

int main(void)
{
	const struct CMUnitTest unit[] = {
		cmocka_unit_test(test_fake_values),
		cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_floats),
		cmocka_unit_test(test_fake_frames_threads),
		cmocka_unit_test(test_fuzz),
	};
	struct CMUnitTest *live;
	unsigned int i;
	int fails;

	signal(SIGPIPE, SIG_IGN);
	fails = cmocka_run_group_tests_name("pyobj", unit, NULL, NULL);
	if (getenv("PYOBJ_NO_LIVE")) {
		print_message("PYOBJ_NO_LIVE set: live interpreters not tested\n");
		return fails;
	}
	setup_live(NULL);
	live = calloc(ntargets + 1, sizeof(*live));
	assert_non_null(live);
	live[0] = (struct CMUnitTest)cmocka_unit_test(test_live_coverage);
	for (i = 0; i < ntargets; i++) {
		live[i + 1] = (struct CMUnitTest)cmocka_unit_test_prestate(test_live, &targets[i]);
		live[i + 1].name = targets[i].label;
	}
	fails += _cmocka_run_group_tests("pyobj-live", live, ntargets + 1, NULL, NULL);
	print_message("live: %.2fs for %u interpreters\n", since(&live_start), ntargets);
	teardown_live(NULL);
	free(live);
	return fails;
}
