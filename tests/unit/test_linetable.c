/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * linetable__line() against the interpreters' own answers
 * (tests/fixtures/linetables/<version>.txt, written by
 * tests/fixtures/gen_linetables.py under each interpreter), plus hand-made
 * and malformed tables. Fixtures dir: $PYSPY_FIXTURES, default
 * tests/fixtures (relative to the repo root).
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fixtures.h"
#include "linetable.h"
#include "rng.h"

#define MAX_FIXTURES 64

struct fixture_stats {
	unsigned long codes, offsets, noloc, live, formats_seen;
};

static int parse_format(const char *s, enum linetable_format *fmt)
{
	if (!strcmp(s, "lnotab"))
		*fmt = LT_LNOTAB;
	else if (!strcmp(s, "lnotab_unsigned"))
		*fmt = LT_LNOTAB_UNSIGNED;
	else if (!strcmp(s, "linetable310"))
		*fmt = LT_LINETABLE_310;
	else if (!strcmp(s, "locations"))
		*fmt = LT_LOCATIONS;
	else
		return -1;
	return 0;
}

/* "-" or hex digits -> malloc'ed buffer of exactly *len bytes (NULL if 0),
 * so that ASan catches any read past the table. */
static uint8_t *parse_hex(const char *s, size_t *len)
{
	size_t n = strlen(s), i;
	uint8_t *buf;

	*len = 0;
	if (!strcmp(s, "-"))
		return NULL;
	assert_true(n % 2 == 0);
	buf = malloc(n / 2);
	assert_non_null(buf);
	for (i = 0; i < n / 2; i++) {
		int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);

		assert_true(hi >= 0 && lo >= 0);
		buf[i] = (uint8_t)(hi << 4 | lo);
	}
	*len = n / 2;
	return buf;
}

struct code_rec {
	char name[128];
	enum linetable_format fmt;
	int firstlineno;
	unsigned long codelen;
	uint8_t *tab;
	size_t tablen;
};

static void check_offsets(const struct code_rec *c, char *toks,
			  struct fixture_stats *st, const char *file)
{
	unsigned long q = 0;
	char *save = NULL, *tok;
	int line, err;

	for (tok = strtok_r(toks, " \n", &save); tok;
	     tok = strtok_r(NULL, " \n", &save)) {
		int noloc = *tok == '~';
		long want;
		unsigned long count, k;
		char *end;

		want = strtol(tok + noloc, &end, 10);
		assert_true(*end == '*');
		count = strtoul(end + 1, &end, 10);
		assert_true(*end == '\0');
		for (k = 0; k < count; k++, q++) {
			line = -1;
			err = linetable__line(c->fmt, c->tab, c->tablen,
					      c->firstlineno, (uint32_t)q,
					      &line);
			if (err || line != want)
				fail_msg("%s: code %s (firstlineno %d) offset "
					 "%lu: got %d (err %d), interpreter "
					 "%s%ld", file, c->name,
					 c->firstlineno, q, line, err,
					 noloc ? "no location -> " : "", want);
		}
		st->offsets += count;
		if (noloc)
			st->noloc += count;
	}
	assert_int_equal(q, c->codelen);

	/* past the end: the running line, never an error */
	for (q = c->codelen; q < c->codelen + 4; q++) {
		err = linetable__line(c->fmt, c->tab, c->tablen,
				      c->firstlineno, (uint32_t)q, &line);
		assert_int_equal(err, 0);
		assert_true(line >= 0);
	}
	err = linetable__line(c->fmt, c->tab, c->tablen, c->firstlineno,
			      UINT32_MAX, &line);
	assert_int_equal(err, 0);
}

/* Every prefix of a real table: 0 with a line, or -EINVAL; never a crash
 * (the prefix is its own exactly-sized allocation). */
static void check_prefixes(const struct code_rec *c)
{
	size_t n, step = c->tablen > 256 ? c->tablen / 128 : 1;
	uint32_t offs[] = { 0, 2, 7, (uint32_t)c->codelen / 2,
			    (uint32_t)c->codelen - 1, (uint32_t)c->codelen };
	unsigned int k;
	int line, err;

	for (n = 0; n < c->tablen; n += step) {
		uint8_t *p = malloc(n ? n : 1);

		assert_non_null(p);
		memcpy(p, c->tab, n);
		for (k = 0; k < sizeof(offs) / sizeof(offs[0]); k++) {
			line = -1;
			err = linetable__line(c->fmt, n ? p : NULL, n,
					      c->firstlineno, offs[k], &line);
			assert_true(err == 0 || err == -EINVAL);
			if (!err)
				assert_true(line >= 0);
		}
		free(p);
	}
}

static void test_fixture_file(void **state)
{
	const char *path = *state;
	struct fixture_stats st = { 0 };
	struct code_rec c = { .tab = NULL };
	char *buf = NULL, *p;
	size_t cap = 0;
	ssize_t n;
	int in_code = 0, have_lines = 0, line, err;
	FILE *f = fopen(path, "r");
	char version[64] = "";

	if (!f)
		fail_msg("%s: %s", path, strerror(errno));
	while ((n = getline(&buf, &cap, f)) > 0) {
		if (buf[n - 1] == '\n')
			buf[--n] = '\0';
		if (buf[0] == '#' || !buf[0])
			continue;
		if (!strncmp(buf, "python ", 7)) {
			snprintf(version, sizeof(version), "%s", buf + 7);
		} else if (!strncmp(buf, "code ", 5)) {
			char fmt[32];
			unsigned long idx;

			assert_false(in_code);
			assert_int_equal(sscanf(buf, "code %lu %31s %d %lu %127s",
						&idx, fmt, &c.firstlineno,
						&c.codelen, c.name), 5);
			assert_int_equal(parse_format(fmt, &c.fmt), 0);
			st.formats_seen |= 1ul << c.fmt;
			in_code = 1;
			have_lines = 0;
		} else if (!strncmp(buf, "tab ", 4)) {
			assert_true(in_code);
			c.tab = parse_hex(buf + 4, &c.tablen);
		} else if (!strncmp(buf, "lines", 5)) {
			assert_true(in_code);
			p = buf + 5;
			check_offsets(&c, p, &st, path);
			have_lines = 1;
		} else if (!strncmp(buf, "live ", 5)) {
			unsigned long off;
			int want;

			assert_true(in_code && have_lines);
			assert_int_equal(sscanf(buf, "live %lu %d", &off,
						&want), 2);
			err = linetable__line(c.fmt, c.tab, c.tablen,
					      c.firstlineno, (uint32_t)off,
					      &line);
			assert_int_equal(err, 0);
			assert_int_equal(line, want);
			st.live++;
		} else if (!strcmp(buf, "end")) {
			assert_true(in_code && have_lines);
			check_prefixes(&c);
			free(c.tab);
			c.tab = NULL;
			in_code = 0;
			st.codes++;
		} else {
			fail_msg("%s: bad line: %.60s", path, buf);
		}
	}
	free(buf);
	fclose(f);
	assert_false(in_code);
	assert_true(st.codes > 0);
	assert_true(version[0] != '\0');
	print_message("  python %s: %lu code objects, %lu offsets "
		      "(%lu without location), %lu live frames\n",
		      version, st.codes, st.offsets, st.noloc, st.live);
}

/* ---------------------------------------------------------- hand-made */

static int L(enum linetable_format fmt, const uint8_t *tab, size_t len,
	     int first, uint32_t off)
{
	int line = -12345;
	int err = linetable__line(fmt, tab, len, first, off, &line);

	return err ? err : line;
}

static void test_lnotab(void **state)
{
	/* 2.7 jump of 300 lines: (6, 255) (0, 45) */
	static const uint8_t t27[] = { 0, 1, 6, 255, 0, 45, 4, 1 };
	/* 3.6+: (2, +1) (4, -1) (0, -128) (6, 127) */
	static const uint8_t t36[] = { 2, 1, 4, 0xff, 0, 0x80, 6, 127 };

	(void)state;
	assert_int_equal(L(LT_LNOTAB_UNSIGNED, t27, sizeof(t27), 10, 0), 11);
	assert_int_equal(L(LT_LNOTAB_UNSIGNED, t27, sizeof(t27), 10, 5), 11);
	assert_int_equal(L(LT_LNOTAB_UNSIGNED, t27, sizeof(t27), 10, 6), 311);
	assert_int_equal(L(LT_LNOTAB_UNSIGNED, t27, sizeof(t27), 10, 9), 311);
	assert_int_equal(L(LT_LNOTAB_UNSIGNED, t27, sizeof(t27), 10, 10), 312);
	assert_int_equal(L(LT_LNOTAB_UNSIGNED, t27, sizeof(t27), 10, 1000), 312);
	/* the same bytes read as 3.6+ go backwards */
	assert_int_equal(L(LT_LNOTAB, t27, sizeof(t27), 10, 6), 55);

	assert_int_equal(L(LT_LNOTAB, t36, sizeof(t36), 5, 0), 5);
	assert_int_equal(L(LT_LNOTAB, t36, sizeof(t36), 5, 1), 5);
	assert_int_equal(L(LT_LNOTAB, t36, sizeof(t36), 5, 2), 6);
	assert_int_equal(L(LT_LNOTAB, t36, sizeof(t36), 5, 5), 6);
	assert_int_equal(L(LT_LNOTAB, t36, sizeof(t36), 500, 6), 372);
	assert_int_equal(L(LT_LNOTAB, t36, sizeof(t36), 500, 11), 372);
	assert_int_equal(L(LT_LNOTAB, t36, sizeof(t36), 500, 12), 499);
	/* goes negative: an error, not a negative line */
	assert_int_equal(L(LT_LNOTAB, t36, sizeof(t36), 5, 6), -EINVAL);
	/* the table says nothing */
	assert_int_equal(L(LT_LNOTAB, NULL, 0, 7, 0), 7);
	assert_int_equal(L(LT_LNOTAB, NULL, 0, 7, UINT32_MAX), 7);
	/* dangling byte: answers what it can */
	assert_int_equal(L(LT_LNOTAB, t36, 3, 5, 2), 6);
	assert_int_equal(L(LT_LNOTAB, t36, 3, 5, 5), 6);
	assert_int_equal(L(LT_LNOTAB, t36, 3, 5, 6), -EINVAL);
}

static void test_linetable310(void **state)
{
	/* (6, +0) (0, 127) (0, 127) (4, 46) (2, no line) (254, -1) (0, -128) */
	static const uint8_t t[] = { 6, 0, 0, 127, 0, 127, 4, 46, 2, 0x80,
				     254, 0xff, 0, 0x80 };

	(void)state;
	assert_int_equal(L(LT_LINETABLE_310, t, sizeof(t), 1, 0), 1);
	assert_int_equal(L(LT_LINETABLE_310, t, sizeof(t), 1, 5), 1);
	assert_int_equal(L(LT_LINETABLE_310, t, sizeof(t), 1, 6), 301);
	assert_int_equal(L(LT_LINETABLE_310, t, sizeof(t), 1, 9), 301);
	/* no line: the running line */
	assert_int_equal(L(LT_LINETABLE_310, t, sizeof(t), 1, 10), 301);
	assert_int_equal(L(LT_LINETABLE_310, t, sizeof(t), 1, 11), 301);
	assert_int_equal(L(LT_LINETABLE_310, t, sizeof(t), 1, 12), 300);
	assert_int_equal(L(LT_LINETABLE_310, t, sizeof(t), 1, 265), 300);
	assert_int_equal(L(LT_LINETABLE_310, t, sizeof(t), 1, 266), 300);
	/* no line first: co_firstlineno */
	{
		static const uint8_t t2[] = { 4, 0x80, 2, 3 };

		assert_int_equal(L(LT_LINETABLE_310, t2, 4, 9, 0), 9);
		assert_int_equal(L(LT_LINETABLE_310, t2, 4, 9, 3), 9);
		assert_int_equal(L(LT_LINETABLE_310, t2, 4, 9, 4), 12);
	}
	/* truncated pair */
	assert_int_equal(L(LT_LINETABLE_310, t, 1, 1, 0), -EINVAL);
	assert_int_equal(L(LT_LINETABLE_310, t, 3, 1, 0), 1);
	assert_int_equal(L(LT_LINETABLE_310, t, 3, 1, 6), -EINVAL);
}

static void test_locations(void **state)
{
	static const uint8_t t[] = {
		/* short form, 1 unit: line 10 */
		0x80 | (0 << 3) | 0, 0x00,
		/* one-line form delta 2, 3 units: line 12 */
		0x80 | (12 << 3) | 2, 4, 9,
		/* no columns, delta -5 (svarint 11), 1 unit: line 7 */
		0x80 | (13 << 3) | 0, 11,
		/* no location, 2 units */
		0x80 | (15 << 3) | 1,
		/* long form, delta +100 (svarint 200 = 0x48 0x03), end
		 * line delta 3, col+1 200, endcol+1 1, 8 units: line 107 */
		0x80 | (14 << 3) | 7, 0x48, 0x03, 3, 0x48, 0x03, 1,
	};
	static const uint8_t big[] = {
		/* delta +70000: svarint 140000 = 0x60 0x4b 0x22 */
		0x80 | (13 << 3) | 0, 0x60, 0x4b, 0x22,
		/* delta -70000: svarint 140001 = 0x61 0x4b 0x22 */
		0x80 | (13 << 3) | 0, 0x61, 0x4b, 0x22,
	};

	(void)state;
	assert_int_equal(L(LT_LOCATIONS, t, sizeof(t), 10, 0), 10);
	assert_int_equal(L(LT_LOCATIONS, t, sizeof(t), 10, 1), 10);
	assert_int_equal(L(LT_LOCATIONS, t, sizeof(t), 10, 2), 12);
	assert_int_equal(L(LT_LOCATIONS, t, sizeof(t), 10, 7), 12);
	assert_int_equal(L(LT_LOCATIONS, t, sizeof(t), 10, 8), 7);
	assert_int_equal(L(LT_LOCATIONS, t, sizeof(t), 10, 10), 7);
	assert_int_equal(L(LT_LOCATIONS, t, sizeof(t), 10, 13), 7);
	assert_int_equal(L(LT_LOCATIONS, t, sizeof(t), 10, 14), 107);
	assert_int_equal(L(LT_LOCATIONS, t, sizeof(t), 10, 29), 107);
	assert_int_equal(L(LT_LOCATIONS, t, sizeof(t), 10, 30), 107);
	assert_int_equal(L(LT_LOCATIONS, big, sizeof(big), 1, 0), 70001);
	assert_int_equal(L(LT_LOCATIONS, big, sizeof(big), 1, 2), 1);
	/* no location first: co_firstlineno */
	{
		static const uint8_t t2[] = { 0x80 | (15 << 3), 0x80 | (11 << 3),
					      1, 2 };

		assert_int_equal(L(LT_LOCATIONS, t2, 4, 3, 0), 3);
		assert_int_equal(L(LT_LOCATIONS, t2, 4, 3, 1), 3);
		assert_int_equal(L(LT_LOCATIONS, t2, 4, 3, 2), 4);
	}
	/* truncations of the long form: only offsets before it answer */
	assert_int_equal(L(LT_LOCATIONS, t, 11, 10, 13), 7);
	assert_int_equal(L(LT_LOCATIONS, t, 11, 10, 14), -EINVAL);
	assert_int_equal(L(LT_LOCATIONS, t, 13, 10, 14), -EINVAL);
	assert_int_equal(L(LT_LOCATIONS, t, 14, 10, 14), -EINVAL);
	assert_int_equal(L(LT_LOCATIONS, t, 15, 10, 14), 107);
	assert_int_equal(L(LT_LOCATIONS, t, 1, 10, 0), -EINVAL);
	assert_int_equal(L(LT_LOCATIONS, t, 3, 10, 0), 10);
	assert_int_equal(L(LT_LOCATIONS, t, 4, 10, 2), -EINVAL);
}

static void test_locations_malformed(void **state)
{
	/* entry start without bit 7 */
	static const uint8_t no_start[] = { 0x05, 0x00 };
	/* column byte with bit 7 set */
	static const uint8_t bad_col[] = { 0x80, 0x80 };
	/* 7-chunk varint */
	static const uint8_t long_var[] = { 0x80 | (13 << 3), 0x40, 0x40,
					    0x40, 0x40, 0x40, 0x40, 0x00 };
	/* 6 chunks but > 32 bits */
	static const uint8_t wide_var[] = { 0x80 | (13 << 3), 0x40, 0x40,
					    0x40, 0x40, 0x40, 0x3f };
	/* 6 chunks, 32 bits: delta -(2^31 - 1), line out of range */
	static const uint8_t max_var[] = { 0x80 | (13 << 3), 0x7f, 0x7f,
					   0x7f, 0x7f, 0x7f, 0x03 };
	/* +2^30 twice from INT_MAX / 2 + ... -> over INT_MAX */
	static const uint8_t up[] = { 0x80 | (13 << 3), 0x40, 0x40, 0x40,
				      0x40, 0x40, 0x02,
				      0x80 | (13 << 3), 0x40, 0x40, 0x40,
				      0x40, 0x40, 0x02 };

	(void)state;
	assert_int_equal(L(LT_LOCATIONS, no_start, 2, 1, 0), -EINVAL);
	assert_int_equal(L(LT_LOCATIONS, bad_col, 2, 1, 0), -EINVAL);
	assert_int_equal(L(LT_LOCATIONS, long_var, sizeof(long_var), 1, 0),
			 -EINVAL);
	assert_int_equal(L(LT_LOCATIONS, wide_var, sizeof(wide_var), 1, 0),
			 -EINVAL);
	assert_int_equal(L(LT_LOCATIONS, max_var, sizeof(max_var), 1, 0),
			 -EINVAL);
	assert_int_equal(L(LT_LOCATIONS, max_var, sizeof(max_var), INT_MAX,
			   0), 0);
	/* the first entry alone is fine (2^30 + 5), the second overflows */
	assert_int_equal(L(LT_LOCATIONS, up, sizeof(up), 5, 0), (1 << 30) + 5);
	assert_int_equal(L(LT_LOCATIONS, up, sizeof(up), 5, 2), -EINVAL);
	assert_int_equal(L(LT_LOCATIONS, up, sizeof(up), INT_MAX, 0),
			 -EINVAL);
}

static void test_bad_args(void **state)
{
	static const uint8_t t[] = { 2, 1 };
	int line;

	(void)state;
	assert_int_equal(linetable__line(LT_LNOTAB, t, 2, 1, 0, NULL), -EINVAL);
	assert_int_equal(linetable__line(LT_LNOTAB, NULL, 2, 1, 0, &line),
			 -EINVAL);
	assert_int_equal(linetable__line((enum linetable_format)99, t, 2, 1, 0,
					 &line), -EINVAL);
	assert_int_equal(L(LT_LNOTAB, NULL, 0, -1, 0), -EINVAL);
	assert_int_equal(L(LT_LOCATIONS, NULL, 0, INT_MIN, 0), -EINVAL);
	assert_int_equal(L(LT_LOCATIONS, NULL, 0, 0, 0), 0);
	assert_int_equal(L(LT_LINETABLE_310, NULL, 0, INT_MAX, 0), INT_MAX);
}

/* Line runs near INT_MAX and long address runs must not overflow. */
static void test_extremes(void **state)
{
	size_t n = 1 << 20, i;
	uint8_t *t = malloc(n);

	(void)state;
	assert_non_null(t);
	memset(t, 0xff, n);
	/* lnotab: address +255, line +255 (unsigned) per pair */
	assert_int_equal(L(LT_LNOTAB_UNSIGNED, t, n, 0, UINT32_MAX),
			 255 * (int)(n / 2));
	assert_int_equal(L(LT_LNOTAB_UNSIGNED, t, n, 0, 254), 0);
	assert_int_equal(L(LT_LNOTAB_UNSIGNED, t, n, 0, 255), 255);
	assert_int_equal(L(LT_LNOTAB, t, n, INT_MAX, UINT32_MAX), INT_MAX -
			 (int)(n / 2));
	assert_int_equal(L(LT_LNOTAB, t, n, INT_MIN, 0), -EINVAL);
	/* 3.10: 255 bytes, -1 line per pair */
	assert_int_equal(L(LT_LINETABLE_310, t, n, 10, 0), 9);
	assert_int_equal(L(LT_LINETABLE_310, t, n, 10, 255 * 10), -EINVAL);
	assert_int_equal(L(LT_LINETABLE_310, t, n, INT_MAX, UINT32_MAX),
			 INT_MAX - (int)(n / 2));
	/* 3.11+: 0xff = no location, 8 units each */
	assert_int_equal(L(LT_LOCATIONS, t, n, 3, UINT32_MAX), 3);
	assert_int_equal(L(LT_LOCATIONS, t, n, 3, 16 * (uint32_t)n - 1), 3);
	/* +127 lines per pair up to overflow */
	for (i = 0; i < n; i += 2) {
		t[i] = 0;
		t[i + 1] = 127;
	}
	assert_int_equal(L(LT_LNOTAB, t, n, INT_MAX - 1000, 0), -EINVAL);
	assert_int_equal(L(LT_LINETABLE_310, t, n, INT_MAX - 1000, 0),
			 -EINVAL);
	assert_int_equal(L(LT_LINETABLE_310, t, n, 0, 0), 127 * (int)(n / 2));
	free(t);
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng(void)
{
	return xorshift64(&rng_state);
}

/* Random tables, biased towards bytes that mean something. Under ASan and
 * UBSan this is the "never crash, never read past, never overflow" test. */
static void test_fuzz(void **state)
{
	static const uint8_t interesting[] = { 0x00, 0x01, 0x02, 0x3f, 0x40,
					       0x41, 0x7f, 0x80, 0x81, 0xf8,
					       0xf0, 0xe8, 0xff, 0xfe, 0x7e,
					       0xd0, 0xd7 };
	unsigned int iter, k;
	int line, err;

	(void)state;
	for (iter = 0; iter < 20000; iter++) {
		size_t n = rng() % 64, i;
		uint8_t *t = malloc(n ? n : 1);
		enum linetable_format fmt = rng() % 4;
		int first = (int)(rng() % 5 == 0 ? (uint32_t)rng() :
				  rng() % 1000);

		assert_non_null(t);
		for (i = 0; i < n; i++)
			t[i] = rng() % 2 ? interesting[rng() %
						       sizeof(interesting)]
					 : (uint8_t)rng();
		for (k = 0; k < 8; k++) {
			uint32_t off = k == 7 ? UINT32_MAX :
				       (uint32_t)(rng() % (n * 8 + 1));

			line = -1;
			err = linetable__line(fmt, n ? t : NULL, n, first, off,
					      &line);
			assert_true(err == 0 || err == -EINVAL);
			if (!err)
				assert_true(line >= 0);
		}
		free(t);
	}
}

/* --------------------------------------------------------------- main */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(void)
{
	static const struct CMUnitTest fixed[] = {
		cmocka_unit_test(test_lnotab),
		cmocka_unit_test(test_linetable310),
		cmocka_unit_test(test_locations),
		cmocka_unit_test(test_locations_malformed),
		cmocka_unit_test(test_bad_args),
		cmocka_unit_test(test_extremes),
		cmocka_unit_test(test_fuzz),
	};
	struct CMUnitTest tests[MAX_FIXTURES + sizeof(fixed) / sizeof(fixed[0])];
	char *paths[MAX_FIXTURES], *names[MAX_FIXTURES];
	char dir[PATH_MAX];
	size_t nfix = 0, i, ntests = 0;
	struct dirent *de;
	DIR *d;
	int rc;

	snprintf(dir, sizeof(dir), "%s/linetables", fixtures_dir());
	d = opendir(dir);
	if (!d) {
		fprintf(stderr, "test_linetable: %s: %s (set PYSPY_FIXTURES)\n",
			dir, strerror(errno));
		return 1;
	}
	while ((de = readdir(d)) && nfix < MAX_FIXTURES) {
		size_t l = strlen(de->d_name);

		if (l < 5 || strcmp(de->d_name + l - 4, ".txt"))
			continue;
		names[nfix++] = strdup(de->d_name);
	}
	closedir(d);
	if (!nfix) {
		fprintf(stderr, "test_linetable: no fixtures in %s\n", dir);
		return 1;
	}
	qsort(names, nfix, sizeof(names[0]), cmp_str);
	for (i = 0; i < nfix; i++) {
		size_t l = strlen(dir) + strlen(names[i]) + 2;

		paths[i] = malloc(l);
		snprintf(paths[i], l, "%s/%s", dir, names[i]);
		tests[ntests++] = (struct CMUnitTest){
			.name = names[i],
			.test_func = test_fixture_file,
			.initial_state = paths[i],
		};
	}
	for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		tests[ntests++] = fixed[i];

	rc = _cmocka_run_group_tests("linetable", tests, ntests, NULL, NULL);
	for (i = 0; i < nfix; i++) {
		free(paths[i]);
		free(names[i]);
	}
	return rc;
}
