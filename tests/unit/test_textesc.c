/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * textesc__*(): names from a hostile target made safe for a terminal. Known
 * cases, every truncation point and width of each, the FILE variant against
 * the buffer one, the messages (log.h), and random bytes: the result never
 * holds a control character (C0, DEL, C1), a bidi control nor invalid UTF-8.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "log.h"
#include "out_common.h"
#include "textesc.h"
#include "rng.h"

static const struct {
	const char *in, *out;
} cases[] = {
	/* Ordinary names print as they are. */
	{ "", "" },
	{ "main", "main" },
	{ "<module> (app.py:12)", "<module> (app.py:12)" },
	{ "a;b c\\d 'q' \"dq\"", "a;b c\\d 'q' \"dq\"" },
	{ "caf\xc3\xa9", "caf\xc3\xa9" },
	{ "\xe6\xbc\xa2\xe5\xad\x97", "\xe6\xbc\xa2\xe5\xad\x97" },
	{ "\xf0\x9f\x90\x8d", "\xf0\x9f\x90\x8d" },
	{ "\xef\xbf\xbd", "\xef\xbf\xbd" },		/* a real U+FFFD */
	{ "\xc2\xa0\xc2\xbf", "\xc2\xa0\xc2\xbf" },	/* U+00A0, U+00BF: past C1 */
	{ "\xe2\x80\x8b", "\xe2\x80\x8b" },		/* zero width space */
	/* Terminal commands. */
	{ "evil\x1b[2J", "evil\\x1b[2J" },
	{ "\x1b]0;x\x07", "\\x1b]0;x\\x07" },
	{ "line\nThread 1 (idle): \"x\"", "line\\nThread 1 (idle): \"x\"" },
	{ "a\tb\rc\bd", "a\\tb\\rc\\x08d" },
	{ "\x01\x1f\x7f", "\\x01\\x1f\\x7f" },
	{ "\xc2\x80\xc2\x9b" "2J\xc2\x9f", "\\x80\\x9b2J\\x9f" },	/* C1 */
	/* Bytes that are not UTF-8. */
	{ "\x9b" "2J", "\\x9b2J" },
	{ "\xff\xfe", "\\xff\\xfe" },
	{ "\xc3", "\\xc3" },				/* cut short */
	{ "\xe2\x98x", "\\xe2\\x98x" },
	{ "\xc0\xaf", "\\xc0\\xaf" },			/* overlong */
	{ "\xed\xa0\x80", "\\xed\\xa0\\x80" },		/* surrogate */
	{ "\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80" },	/* > U+10FFFF */
	/* Text that reorders or breaks the line. */
	{ "abc\xe2\x80\xae" "cba", "abc\\u202ecba" },
	{ "\xe2\x80\xaa\xe2\x81\xa6\xe2\x81\xa9\xd8\x9c\xe2\x80\x8f",
	  "\\u202a\\u2066\\u2069\\u061c\\u200f" },
	{ "a\xe2\x80\xa8" "b\xe2\x80\xa9", "a\\u2028b\\u2029" },
};

/*
 * Whether out may be cut after at bytes: not inside an escape ("\xNN",
 * "\uNNNN", "\n") nor a UTF-8 character. No case's input holds a backslash
 * followed by x, u, n, t or r, so every such pair in out is an escape.
 */
static bool boundary(const char *out, size_t at)
{
	for (size_t i = 0; i < at;) {
		size_t k;
		uint32_t cp;

		if (out[i] == '\\' && out[i + 1] == 'x')
			k = 4;
		else if (out[i] == '\\' && out[i + 1] == 'u')
			k = 6;
		else if (out[i] == '\\' && out[i + 1] && strchr("ntr", out[i + 1]))
			k = 2;
		else
			k = utf8__next(out + i, strlen(out + i), &cp);
		if (i + k > at)
			return false;
		i += k;
	}
	return true;
}

static void test_cases(void **state)
{
	char out[256];

	(void)state;
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		const char *want = cases[c].out;
		size_t full = strlen(want);

		assert_int_equal(textesc__str(cases[c].in, out, sizeof(out)), full);
		assert_string_equal(out, want);
		/* Every size: a prefix of the whole, cut between units. */
		for (size_t outlen = 0; outlen <= full + 2; outlen++) {
			char *small = malloc(outlen ? outlen : 1);
			int ret;

			assert_non_null(small);
			ret = textesc__str(cases[c].in, small, outlen);
			if (outlen > full) {
				assert_int_equal(ret, full);
				assert_string_equal(small, want);
			} else {
				assert_int_equal(ret, -ENOSPC);
			}
			if (outlen) {
				size_t len = strlen(small);

				assert_true(len < outlen);
				assert_memory_equal(small, want, len);
				if (!boundary(want, len))
					fail_msg("case %zu cut inside an escape at %zu: '%s'", c, len,
						 small);
				/* The longest prefix that fits, not less. */
				if (ret == -ENOSPC)
					for (size_t l = len + 1; l < outlen; l++)
						assert_false(boundary(want, l));
			}
			free(small);
		}
	}
}

/* Characters of out[0 .. len): an escape counts its own characters. */
static size_t nchars(const char *out, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++)
		n += ((unsigned char)out[i] & 0xc0) != 0x80;
	return n;
}

static void test_cols(void **state)
{
	char out[256];

	(void)state;
	assert_int_equal(textesc__cols("ab\x1b[2J", 4, out, sizeof(out)), -ENOSPC);
	assert_string_equal(out, "ab");
	assert_int_equal(textesc__cols("ab\x1b[2J", 6, out, sizeof(out)), -ENOSPC);
	assert_string_equal(out, "ab\\x1b");
	assert_int_equal(textesc__cols("ab\x1b[2J", 9, out, sizeof(out)), 9);
	assert_int_equal(textesc__cols("\xc3\xa9\xe6\xbc\xa2x", 2, out, sizeof(out)), -ENOSPC);
	assert_string_equal(out, "\xc3\xa9\xe6\xbc\xa2");
	/* Every width: the longest prefix that shows in it, cut between units. */
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		const char *want = cases[c].out;
		size_t full = strlen(want), all = nchars(want, full);

		for (size_t cols = 0; cols <= all + 1; cols++) {
			int ret = textesc__cols(cases[c].in, cols, out, sizeof(out));
			size_t len = strlen(out);

			assert_int_equal(ret, cols >= all ? (int)full : -ENOSPC);
			assert_memory_equal(out, want, len);
			assert_true(boundary(want, len));
			assert_true(nchars(out, len) <= cols);
			for (size_t l = len + 1; l <= full; l++)
				assert_false(boundary(want, l) && nchars(want, l) <= cols);
		}
	}
}

static void test_fputs(void **state)
{
	(void)state;
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		char *buf = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&buf, &len);

		assert_non_null(f);
		textesc__fputs(cases[c].in, f);
		assert_int_equal(fclose(f), 0);
		assert_int_equal(len, strlen(cases[c].out));
		assert_string_equal(buf, cases[c].out);
		free(buf);
	}
}

/* What pr_warn() writes to stderr, read back from a temporary file. */
static char *warned(const char *fmt, const char *arg)
{
	FILE *tmp = tmpfile();
	int saved = dup(STDERR_FILENO);
	char *buf;
	long len;

	assert_non_null(tmp);
	assert_true(saved >= 0);
	fflush(stderr);
	assert_true(dup2(fileno(tmp), STDERR_FILENO) >= 0);
	pr_warn(fmt, arg);
	fflush(stderr);
	assert_true(dup2(saved, STDERR_FILENO) >= 0);
	close(saved);
	len = lseek(fileno(tmp), 0, SEEK_END);
	assert_true(len >= 0);
	buf = calloc(1, len + 1);
	assert_non_null(buf);
	assert_int_equal(pread(fileno(tmp), buf, len, 0), len);
	fclose(tmp);
	return buf;
}

/* Messages name target command lines and files: escaped, short or long. */
static void test_messages(void **state)
{
	char *long_arg = malloc(3001), *want = malloc(8000), *got;

	(void)state;
	got = warned("not profiling pid 1 ('%s'): x", "py\x1b]0;t\x07\nz\xc2\x9b");
	assert_string_equal(got, "pyspy-bpf: warning: not profiling pid 1 "
				 "('py\\x1b]0;t\\x07\\nz\\x9b'): x\n");
	free(got);
	assert_non_null(long_arg);
	assert_non_null(want);
	for (int i = 0; i < 3000; i++)
		long_arg[i] = i % 100 == 99 ? '\x1b' : 'a';
	long_arg[3000] = 0;
	got = warned("'%s'", long_arg);
	textesc__str(long_arg, want, 8000);
	assert_int_equal(strlen(got), strlen("pyspy-bpf: warning: ''\n") + strlen(want));
	assert_non_null(strstr(got, want));
	free(got);
	free(long_arg);
	free(want);
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint32_t rng(void)
{
	return (uint32_t)(xorshift64(&rng_state) >> 16);
}

/* No C0, DEL or C1 control, nothing but valid UTF-8, no bidi control. */
static void assert_safe(const char *s)
{
	size_t n = strlen(s), k;
	uint32_t cp;

	for (; n; s += k, n -= k) {
		k = utf8__next(s, n, &cp);
		assert_false(cp == 0xfffd && k == 1);
		assert_true(cp >= 0x20);
		assert_false(cp >= 0x7f && cp <= 0x9f);
		assert_false(cp >= 0x202a && cp <= 0x202e);
		assert_false(cp >= 0x2066 && cp <= 0x2069);
	}
}

static void test_random(void **state)
{
	static const char *const pieces[] = {
		"\x1b", "\x9b", "\xc2\x9b", "\xe2\x80\xae", "\n", "\\", "\xc3", "\xc3\xa9",
		"\xf0\x9f\x90\x8d", "\xed\xa0\x80", "\x7f", "a",
	};
	char in[64], out[4 * sizeof(in)], small[24];

	(void)state;
	for (unsigned int iter = 0; iter < 50000; iter++) {
		size_t n = 0;
		int ret;

		while (n < sizeof(in) - 5) {
			if (rng() % 2) {
				in[n++] = (char)(rng() % 255 + 1);
			} else {
				const char *p = pieces[rng() % (sizeof(pieces) / sizeof(pieces[0]))];

				memcpy(in + n, p, strlen(p));
				n += strlen(p);
			}
			if (rng() % 16 == 0)
				break;
		}
		in[n] = 0;
		ret = textesc__str(in, out, sizeof(out));
		assert_true(ret >= 0 && (size_t)ret <= 4 * n);
		assert_safe(out);
		ret = textesc__str(in, small, sizeof(small));
		assert_true(ret >= 0 || ret == -ENOSPC);
		assert_safe(small);
		assert_memory_equal(small, out, strlen(small));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cases),
		cmocka_unit_test(test_cols),
		cmocka_unit_test(test_fputs),
		cmocka_unit_test(test_messages),
		cmocka_unit_test(test_random),
	};

	return cmocka_run_group_tests_name("textesc", tests, NULL, NULL);
}
