/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pystr__*() against Python's own outputs (tests/fixtures/pystr/cases.txt,
 * written by tests/fixtures/gen_pystr.py): every case at every output size
 * from 0 to its full length + 2, so each truncation point is checked. Plus
 * bad arguments and random input under ASan/UBSan. Fixtures dir:
 * $PYSPY_FIXTURES, default tests/fixtures (relative to the repo root).
 */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fixtures.h"
#include "utf8_oracle.h"
#include "pystr.h"
#include "rng.h"

#define MAX_UNITS 4096

enum fn { F_DECODE, F_FROM_BYTES, F_REPR_STR, F_REPR_BYTES, F_COUNT };

static const char *const fn_names[F_COUNT] = {
	"decode", "from_bytes", "repr_str", "repr_bytes",
};

struct unit {
	size_t off, len;	/* into the case's `full` */
};

struct tcase {
	enum fn fn;
	unsigned int kind;
	uint8_t *data;		/* exactly-sized, unaligned when kind > 1 */
	void *alloc;
	size_t n;		/* chars (str) or bytes */
	char *full;
	size_t fulllen;
	struct unit units[MAX_UNITS];
	size_t nunits;
};

static size_t unhex(const char *s, size_t n, char *out)
{
	size_t i;

	assert_true(n % 2 == 0);
	for (i = 0; i < n / 2; i++) {
		int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);

		assert_true(hi >= 0 && lo >= 0);
		out[i] = (char)(hi << 4 | lo);
	}
	return n / 2;
}

/* The input, in its own allocation that ends exactly where the data ends and
 * starts at an odd address. */
static void set_data(struct tcase *c, const void *src, size_t nbytes)
{
	c->alloc = malloc(nbytes + 1);
	assert_non_null(c->alloc);
	c->data = (uint8_t *)c->alloc + 1;
	memcpy(c->data, src, nbytes);
}

static void parse_cps(struct tcase *c, const char *s)
{
	size_t cap = 16, n = 0;
	uint8_t *buf = malloc(cap * 4);
	char *end;

	assert_non_null(buf);
	if (strcmp(s, "-")) {
		for (;;) {
			unsigned long v = strtoul(s, &end, 16);
			uint16_t v16 = (uint16_t)v;
			uint32_t v32 = (uint32_t)v;

			assert_true(end != s);
			if (n == cap) {
				cap *= 2;
				buf = realloc(buf, cap * 4);
				assert_non_null(buf);
			}
			if (c->kind == 1)
				buf[n] = (uint8_t)v;
			else if (c->kind == 2)
				memcpy(buf + 2 * n, &v16, 2);
			else
				memcpy(buf + 4 * n, &v32, 4);
			n++;
			if (*end != ',')
				break;
			s = end + 1;
		}
	}
	c->n = n;
	set_data(c, buf, n * c->kind);
	free(buf);
}

static void parse_bytes(struct tcase *c, const char *s)
{
	size_t l = strcmp(s, "-") ? strlen(s) : 0;
	char *buf = malloc(l / 2 + 1);

	assert_non_null(buf);
	c->n = unhex(s, l, buf);
	set_data(c, buf, c->n);
	free(buf);
}

/* "tag field... : unit unit ..." */
static void parse_case(struct tcase *c, char *line)
{
	char *colon = strstr(line, " :"), *tok, *save = NULL, *sp;
	size_t cap = 64;

	assert_non_null(colon);
	*colon = '\0';
	sp = strchr(line, ' ');
	assert_non_null(sp);
	*sp = '\0';
	for (c->fn = 0; c->fn < F_COUNT; c->fn++)
		if (!strcmp(line, fn_names[c->fn]))
			break;
	assert_true(c->fn < F_COUNT);
	if (c->fn == F_DECODE || c->fn == F_REPR_STR) {
		c->kind = (unsigned int)strtoul(sp + 1, &tok, 10);
		assert_true(*tok == ' ');
		parse_cps(c, tok + 1);
	} else {
		c->kind = 1;
		parse_bytes(c, sp + 1);
	}
	c->full = malloc(cap);
	c->fulllen = 0;
	c->nunits = 0;
	assert_non_null(c->full);
	for (tok = strtok_r(colon + 2, " ", &save); tok;
	     tok = strtok_r(NULL, " ", &save)) {
		size_t l = strlen(tok);

		while (c->fulllen + l / 2 + 1 > cap) {
			cap *= 2;
			c->full = realloc(c->full, cap);
			assert_non_null(c->full);
		}
		assert_true(c->nunits < MAX_UNITS);
		c->units[c->nunits].off = c->fulllen;
		c->units[c->nunits].len = unhex(tok, l, c->full + c->fulllen);
		c->fulllen += c->units[c->nunits].len;
		c->nunits++;
	}
}

static int call(const struct tcase *c, char *out, size_t outlen)
{
	switch (c->fn) {
	case F_DECODE:
		return pystr__decode(c->kind, c->data, c->n, out, outlen);
	case F_FROM_BYTES:
		return pystr__from_bytes(c->data, c->n, out, outlen);
	case F_REPR_STR:
		return pystr__repr_str(c->kind, c->data, c->n, out, outlen);
	default:
		return pystr__repr_bytes(c->data, c->n, out, outlen);
	}
}

/*
 * Expected output for a buffer of outlen bytes (see pystr.h): the whole
 * thing if it fits in outlen - 1; else for decode / from_bytes as many whole
 * units as fit, for repr the opening quote, as many whole units as fit
 * with the closing quote and "...", the closing quote and "...", or with
 * too little room as much of "..." as fits.
 */
static int expect(const struct tcase *c, size_t outlen, char *exp,
		  size_t *explen)
{
	size_t cap = outlen - 1, len = 0, i, first = 0, last = c->nunits;
	bool repr = c->fn == F_REPR_STR || c->fn == F_REPR_BYTES;
	const struct unit *open = NULL, *close = NULL;

	if (c->fulllen <= cap) {
		memcpy(exp, c->full, c->fulllen);
		*explen = c->fulllen;
		return (int)c->fulllen;
	}
	if (repr) {
		assert_true(c->nunits >= 2);
		open = &c->units[0];
		close = &c->units[c->nunits - 1];
		first = 1;
		last = c->nunits - 1;
		if (open->len + close->len + 3 > cap) {
			len = cap < 3 ? cap : 3;
			memcpy(exp, "...", len);
			*explen = len;
			return -ENOSPC;
		}
		cap -= close->len + 3;
		memcpy(exp, c->full, open->len);
		len = open->len;
	}
	for (i = first; i < last && len + c->units[i].len <= cap; i++) {
		memcpy(exp + len, c->full + c->units[i].off, c->units[i].len);
		len += c->units[i].len;
	}
	if (repr) {
		memcpy(exp + len, c->full + close->off, close->len);
		len += close->len;
		memcpy(exp + len, "...", 3);
		len += 3;
	}
	*explen = len;
	return -ENOSPC;
}

static void check_case(const struct tcase *c, unsigned long lineno)
{
	size_t outlen, explen, maxlen = c->fulllen + 3;
	char *exp = malloc(maxlen + 8);
	char guard = 'Z';
	int ret, want;

	assert_non_null(exp);
	/* no room at all: -ENOSPC, nothing written */
	ret = call(c, &guard, 0);
	assert_int_equal(ret, -ENOSPC);
	assert_int_equal(guard, 'Z');
	ret = call(c, NULL, 0);
	assert_int_equal(ret, -ENOSPC);

	for (outlen = 1; outlen <= maxlen; outlen++) {
		char *out = malloc(outlen);

		assert_non_null(out);
		memset(out, 'Z', outlen);
		want = expect(c, outlen, exp, &explen);
		ret = call(c, out, outlen);
		if (ret != want || memcmp(out, exp, explen) ||
		    out[explen] != '\0')
			fail_msg("cases.txt:%lu %s outlen %zu: got %d \"%.*s\", "
				 "want %d \"%.*s\"", lineno, fn_names[c->fn],
				 outlen, ret, (int)strnlen(out, outlen), out,
				 want, (int)explen, exp);
		free(out);
	}
	free(exp);
}

static void test_fixture_cases(void **state)
{
	char path[PATH_MAX], *line = NULL;
	unsigned long counts[F_COUNT] = { 0 }, lineno = 0;
	size_t cap = 0;
	ssize_t n;
	FILE *f;

	(void)state;
	snprintf(path, sizeof(path), "%s/pystr/cases.txt", fixtures_dir());
	f = fopen(path, "r");
	if (!f)
		fail_msg("%s: %s (set PYSPY_FIXTURES)", path, strerror(errno));
	while ((n = getline(&line, &cap, f)) > 0) {
		struct tcase *c;

		lineno++;
		if (line[n - 1] == '\n')
			line[--n] = '\0';
		if (!line[0] || line[0] == '#')
			continue;
		c = calloc(1, sizeof(*c));
		assert_non_null(c);
		parse_case(c, line);
		check_case(c, lineno);
		counts[c->fn]++;
		free(c->alloc);
		free(c->full);
		free(c);
	}
	free(line);
	fclose(f);
	for (n = 0; n < F_COUNT; n++)
		assert_true(counts[n] > 0);
	print_message("  %lu decode, %lu from_bytes, %lu repr_str, %lu "
		      "repr_bytes cases, each at every output size\n",
		      counts[F_DECODE], counts[F_FROM_BYTES],
		      counts[F_REPR_STR], counts[F_REPR_BYTES]);
}

/* ------------------------------------------------------------ by hand */

static void test_small(void **state)
{
	static const uint8_t e_acute[] = { 0xe9 };
	static const uint16_t snow[] = { 0x2603, 0xd800 };
	static const uint32_t emoji[] = { 0x1f600, 0x110000 };
	char out[32];

	(void)state;
	/* outlen 1: only the NUL */
	memset(out, 'Z', sizeof(out));
	assert_int_equal(pystr__decode(1, "a", 1, out, 1), -ENOSPC);
	assert_int_equal(out[0], '\0');
	assert_int_equal(out[1], 'Z');
	assert_int_equal(pystr__decode(1, "", 0, out, 1), 0);
	assert_int_equal(pystr__decode(1, "ab", 2, out, 2), -ENOSPC);
	assert_string_equal(out, "a");
	/* 2-byte char does not fit in 1 byte: cut before it */
	assert_int_equal(pystr__decode(1, e_acute, 1, out, 2), -ENOSPC);
	assert_string_equal(out, "");
	assert_int_equal(pystr__decode(1, e_acute, 1, out, 3), 2);
	assert_string_equal(out, "\xc3\xa9");
	assert_int_equal(pystr__decode(2, snow, 2, out, sizeof(out)), 6);
	assert_string_equal(out, "\xe2\x98\x83\xef\xbf\xbd");
	assert_int_equal(pystr__decode(2, snow, 2, out, 6), -ENOSPC);
	assert_string_equal(out, "\xe2\x98\x83");
	assert_int_equal(pystr__decode(4, emoji, 2, out, sizeof(out)), 7);
	assert_string_equal(out, "\xf0\x9f\x98\x80\xef\xbf\xbd");
	assert_int_equal(pystr__decode(4, emoji, 2, out, 4), -ENOSPC);
	assert_string_equal(out, "");

	assert_int_equal(pystr__from_bytes("a\xff", 2, out, sizeof(out)), 5);
	assert_string_equal(out, "a\\xff");
	assert_int_equal(pystr__from_bytes("a\xff", 2, out, 5), -ENOSPC);
	assert_string_equal(out, "a");

	assert_int_equal(pystr__repr_str(1, "it's", 4, out, sizeof(out)), 6);
	assert_string_equal(out, "\"it's\"");
	assert_int_equal(pystr__repr_str(1, "abcdefgh", 8, out, 9), -ENOSPC);
	assert_string_equal(out, "'abc'...");
	assert_int_equal(pystr__repr_str(1, "abcdefgh", 8, out, 6), -ENOSPC);
	assert_string_equal(out, "''...");
	assert_int_equal(pystr__repr_str(1, "abcdefgh", 8, out, 5), -ENOSPC);
	assert_string_equal(out, "...");
	assert_int_equal(pystr__repr_str(1, "abcdefgh", 8, out, 3), -ENOSPC);
	assert_string_equal(out, "..");
	assert_int_equal(pystr__repr_str(1, "", 0, out, 3), 2);
	assert_string_equal(out, "''");
	assert_int_equal(pystr__repr_str(1, "", 0, out, 2), -ENOSPC);
	assert_string_equal(out, ".");
	assert_int_equal(pystr__repr_str(4, emoji, 2, out, sizeof(out)), 16);
	assert_string_equal(out, "'\xf0\x9f\x98\x80\\U00110000'");
	assert_int_equal(pystr__repr_bytes("\x00'", 2, out, sizeof(out)), 8);
	assert_string_equal(out, "b\"\\x00'\"");
	assert_int_equal(pystr__repr_bytes("abcdef", 6, out, 10), 9);
	assert_int_equal(pystr__repr_bytes("abcdef", 6, out, 9), -ENOSPC);
	assert_string_equal(out, "b'ab'...");
}

static void test_bad_args(void **state)
{
	char out[8];

	(void)state;
	memset(out, 'Z', sizeof(out));
	assert_int_equal(pystr__decode(3, "abc", 1, out, sizeof(out)), -EINVAL);
	assert_int_equal(out[0], '\0');
	assert_int_equal(pystr__decode(0, "abc", 1, out, sizeof(out)), -EINVAL);
	assert_int_equal(pystr__decode(1, NULL, 1, out, sizeof(out)), -EINVAL);
	assert_int_equal(pystr__decode(1, "a", 1, NULL, 4), -EINVAL);
	assert_int_equal(pystr__decode(4, "abcd", SIZE_MAX / 2, out,
				       sizeof(out)), -EINVAL);
	assert_int_equal(pystr__repr_str(8, "abc", 1, out, sizeof(out)),
			 -EINVAL);
	assert_int_equal(pystr__repr_str(2, "abcd", SIZE_MAX, out, sizeof(out)),
			 -EINVAL);
	assert_int_equal(pystr__from_bytes(NULL, 1, out, sizeof(out)), -EINVAL);
	assert_int_equal(pystr__repr_bytes(NULL, 1, out, sizeof(out)), -EINVAL);
	assert_int_equal(pystr__repr_bytes("a", 1, NULL, 1), -EINVAL);
	/* empty input may be NULL */
	assert_int_equal(pystr__decode(2, NULL, 0, out, sizeof(out)), 0);
	assert_string_equal(out, "");
	assert_int_equal(pystr__repr_bytes(NULL, 0, out, sizeof(out)), 3);
	assert_string_equal(out, "b''");
	assert_int_equal(pystr__from_bytes(NULL, 0, NULL, 0), -ENOSPC);
}

/* A huge outlen only bounds; nothing past the NUL is touched. */
static void test_huge_outlen(void **state)
{
	char out[16];

	(void)state;
	memset(out, 'Z', sizeof(out));
	assert_int_equal(pystr__decode(1, "abc", 3, out, SIZE_MAX), 3);
	assert_string_equal(out, "abc");
	assert_int_equal(out[4], 'Z');
	assert_int_equal(pystr__repr_str(1, "abc", 3, out, SIZE_MAX), 5);
	assert_string_equal(out, "'abc'");
	assert_int_equal(out[6], 'Z');
	assert_int_equal(pystr__from_bytes("\xff", 1, out, (size_t)INT_MAX + 7),
			 4);
	assert_int_equal(pystr__repr_bytes("\xff", 1, out, SIZE_MAX), 7);
	assert_string_equal(out, "b'\\xff'");
}

static uint64_t rng_state = 0x2545f4914f6cdd1dull;

static uint64_t rng(void)
{
	return xorshift64(&rng_state);
}

static void test_fuzz(void **state)
{
	static const uint32_t interesting[] = {
		0, 0x27, 0x22, 0x5c, 0x7f, 0x80, 0xff, 0x100, 0x7ff, 0x800,
		0xd7ff, 0xd800, 0xdbff, 0xdc00, 0xdfff, 0xe000, 0xfffd, 0xffff,
		0x10000, 0x10ffff, 0x110000, 0x7fffffff, 0x80000000, 0xffffffff,
	};
	unsigned int iter;

	(void)state;
	for (iter = 0; iter < 30000; iter++) {
		unsigned int kinds[] = { 1, 2, 4 }, kind = kinds[rng() % 3];
		size_t n = rng() % 40, outlen = rng() % 64, i;
		uint8_t *alloc = malloc(n * kind + 1), *data = alloc + 1;
		char *out = malloc(outlen + 1);
		int fn = (int)(rng() % F_COUNT), ret;

		assert_non_null(alloc);
		assert_non_null(out);
		for (i = 0; i < n * kind; i++)
			data[i] = (uint8_t)rng();
		if (rng() % 2) {
			for (i = 0; i < n; i++) {
				uint32_t v = interesting[rng() %
					(sizeof(interesting) /
					 sizeof(interesting[0]))];

				if (kind == 1)
					data[i] = (uint8_t)v;
				else if (kind == 2)
					memcpy(data + 2 * i, &(uint16_t){
						(uint16_t)v }, 2);
				else
					memcpy(data + 4 * i, &v, 4);
			}
		}
		memset(out, 'Z', outlen + 1);
		switch (fn) {
		case F_DECODE:
			ret = pystr__decode(kind, data, n, out, outlen);
			break;
		case F_FROM_BYTES:
			ret = pystr__from_bytes(data, n * kind, out, outlen);
			break;
		case F_REPR_STR:
			ret = pystr__repr_str(kind, data, n, out, outlen);
			break;
		default:
			ret = pystr__repr_bytes(data, n * kind, out, outlen);
			break;
		}
		assert_int_equal(out[outlen], 'Z');
		if (!outlen) {
			assert_int_equal(ret, -ENOSPC);
		} else {
			size_t len = ret >= 0 ? (size_t)ret :
					 strnlen(out, outlen);

			assert_true(ret >= 0 || ret == -ENOSPC);
			assert_true(len < outlen);
			assert_int_equal(out[len], '\0');
			assert_true(utf8_oracle_ok((unsigned char *)out, len));
			/* repr never lets a NUL through */
			if (fn == F_REPR_STR || fn == F_REPR_BYTES)
				assert_int_equal(strlen(out), len);
		}
		free(alloc);
		free(out);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixture_cases),
		cmocka_unit_test(test_small),
		cmocka_unit_test(test_bad_args),
		cmocka_unit_test(test_huge_outlen),
		cmocka_unit_test(test_fuzz),
	};

	return cmocka_run_group_tests_name("pystr", tests, NULL, NULL);
}
