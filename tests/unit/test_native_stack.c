/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * native_stack__merge_with(): Python and C frames of one sample merged
 * into one stack, for the cases in tests/fixtures/native/merge.txt (the
 * first taken from a real sample), plus a bound check. C frames are named
 * by the case itself (E: the eval loop, ~NAME: the interpreter's plumbing).
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

#include <cmocka.h>

#include "aggregate.h"
#include "fixtures.h"
#include "native_stack.h"

#define MAX_WORDS 64

struct merge_case {
	char name[64];
	char *py[MAX_WORDS], *native[MAX_WORDS], *expect[MAX_WORDS];
	unsigned int npy, nnative, nexpect;
	unsigned int end;
	bool all;
	char buf[3][1024];
};

/* The case's C frames by index: file 1, the index as the address. */
struct namer {
	const struct merge_case *c;
};

static const struct frame *fake_name(void *ctx, struct agg *a, uint32_t file, uint64_t addr,
				     struct native_name *nn)
{
	const struct namer *nm = ctx;
	const char *w;
	unsigned int i;

	memset(nn, 0, sizeof(*nn));
	assert_int_equal(file, 1);
	/* Every C frame but the innermost is named at its address - 1. */
	i = (unsigned int)(addr >> 8);
	assert_true(i < nm->c->nnative);
	w = nm->c->native[i];
	nn->eval = !strcmp(w, "E");
	nn->machinery = w[0] == '~';
	nn->function = w + nn->machinery;
	return agg__frame(a, nn->function, "lib.so", "lib.so", 0, FRAME_NATIVE);
}

static unsigned int split(char *s, char **out)
{
	unsigned int n = 0;

	for (char *t = strtok(s, " \n"); t && n < MAX_WORDS; t = strtok(NULL, " \n"))
		out[n++] = t;
	return n;
}

static unsigned int end_of(const char *s)
{
	static const char *const names[] = { "root", "truncated", "no-mapping", "no-cfi" };

	for (unsigned int i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strncmp(s, names[i], strlen(names[i])))
			return i;
	fail_msg("unknown end '%s'", s);
	return 0;
}

/* Reads the next case; false at the end of the file. */
static bool next_case(FILE *f, struct merge_case *c)
{
	char line[1024];
	bool in_case = false;

	memset(c, 0, sizeof(*c));
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "case ", 5)) {
			snprintf(c->name, sizeof(c->name), "%.63s", line + 5);
			c->name[strcspn(c->name, "\n")] = 0;
			in_case = true;
		} else if (!strncmp(line, "py:", 3)) {
			strcpy(c->buf[0], line + 3);
			c->npy = split(c->buf[0], c->py);
		} else if (!strncmp(line, "native:", 7)) {
			strcpy(c->buf[1], line + 7);
			c->nnative = split(c->buf[1], c->native);
		} else if (!strncmp(line, "end:", 4)) {
			c->end = end_of(line + 5);
		} else if (!strncmp(line, "all:", 4)) {
			c->all = atoi(line + 4) == 1;
		} else if (!strncmp(line, "expect:", 7)) {
			strcpy(c->buf[2], line + 7);
			c->nexpect = split(c->buf[2], c->expect);
			if (in_case)
				return true;
		}
	}
	return false;
}

/* Runs one case: records innermost first, as the BPF side sends them. */
static void run_case(const struct merge_case *c)
{
	struct py_frame_rec frs[MAX_WORDS] = { 0 };
	const struct frame *py[MAX_WORDS + 1], *out[NATIVE_STACK_MAX];
	struct py_native_frame nf[MAX_WORDS] = { 0 };
	struct py_native_hdr nh = { .kind = PY_REC_NATIVE, .nframes = c->nnative, .end = c->end };
	struct native_stats st = { 0 };
	struct namer nm = { c };
	struct agg *a = agg__new();
	unsigned int i, n;

	assert_non_null(a);
	for (i = 0; i < c->npy; i++) {
		const char *w = c->py[c->npy - 1 - i];
		size_t len = strlen(w);
		char name[128];
		bool entry = len && w[len - 1] == '*';

		snprintf(name, sizeof(name), "%.*s", (int)(len - entry), w);
		frs[i].code = 0x1000 + i;
		frs[i].lasti = entry ? PY_LASTI_ENTRY : 0;
		py[i] = agg__frame(a, name, "p.py", "p.py", 1, FRAME_PYTHON);
	}
	for (i = 0; i < c->nnative; i++) {
		unsigned int idx = c->nnative - 1 - i;

		nf[i].file = 1;
		/* The namer sees address - 1 for all but the innermost. */
		nf[i].addr = ((uint64_t)idx << 8) + (i ? 1 : 0);
	}
	{
		struct native_stack_in in = {
			.frs = frs, .nraw = c->npy, .py = py, .npy = c->npy,
			.nh = &nh, .nf = nf, .all = c->all,
		};

		n = native_stack__merge_with(fake_name, &nm, &st, a, &in, out, NATIVE_STACK_MAX);
	}
	if (n != c->nexpect)
		fail_msg("%s: %u frames, expected %u", c->name, n, c->nexpect);
	for (i = 0; i < n; i++) {
		const char *got = out[n - 1 - i]->name;

		if (strcmp(got, c->expect[i]))
			fail_msg("%s: frame %u (root first) is '%s', expected '%s'", c->name, i,
				 got, c->expect[i]);
	}
	assert_int_equal(st.end[c->end], 1);
	agg__free(a);
}

static void test_fixture_cases(void **state)
{
	char path[4096];
	struct merge_case *c = malloc(sizeof(*c));
	unsigned int cases = 0;
	FILE *f;

	(void)state;
	assert_non_null(c);
	snprintf(path, sizeof(path), "%s/native/merge.txt", fixtures_dir());
	f = fopen(path, "r");
	if (!f)
		fail_msg("%s: %s (set PYSPY_FIXTURES)", path, strerror(errno));
	while (next_case(f, c)) {
		run_case(c);
		cases++;
	}
	fclose(f);
	free(c);
	assert_true(cases >= 8);
}

/* A merged stack never passes its room, whatever the records claim. */
static void test_bounded(void **state)
{
	static struct py_frame_rec frs[PY_MAX_FRAMES];
	static const struct frame *py[PY_MAX_FRAMES], *out[16];
	static struct py_native_frame nf[PY_MAX_NATIVE];
	static struct merge_case c;
	struct py_native_hdr nh = { .kind = PY_REC_NATIVE, .nframes = UINT32_MAX };
	struct native_stats st = { 0 };
	struct namer nm = { &c };
	struct agg *a = agg__new();
	const struct frame *fr;
	unsigned int n;

	(void)state;
	assert_non_null(a);
	fr = agg__frame(a, "f", "p.py", "p.py", 1, FRAME_PYTHON);
	for (unsigned int i = 0; i < PY_MAX_FRAMES; i++) {
		py[i] = fr;
		frs[i].lasti = i % 3 ? 0 : PY_LASTI_ENTRY;
	}
	for (unsigned int i = 0; i < PY_MAX_NATIVE; i++) {
		c.native[i % MAX_WORDS] = i % 2 ? "E" : "c";
		nf[i].file = 1;
		nf[i].addr = ((uint64_t)(i % MAX_WORDS) << 8) + (i ? 1 : 0);
	}
	c.nnative = MAX_WORDS;
	nh.end = PY_NE__MAX + 5;	/* out of range: not counted, no crash */
	{
		struct native_stack_in in = {
			.frs = frs, .nraw = PY_MAX_FRAMES, .py = py, .npy = PY_MAX_FRAMES,
			.nh = &nh, .nf = nf,
		};

		n = native_stack__merge_with(fake_name, &nm, &st, a, &in, out, 16);
	}
	assert_int_equal(n, 16);
	agg__free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixture_cases),
		cmocka_unit_test(test_bounded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
