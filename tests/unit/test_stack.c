/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * stack__symbolize() and the per-site cache it keeps over the symbol
 * cache, on fake 3.13 code objects in this process.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "offsets.h"
#include "sampler.h"
#include "stack.h"
#include "symcache.h"
#include "fake_target.h"
#include "fake_code.h"

/* NCODE fake 3.13 code objects at arena + i * 0x400, all named "name" in
 * "file.py", first line 10, with a location table that puts byte offsets
 * 0-1 on line 11 and 2-5 (and everything after) on line 12. */
#define NCODE 20

static uint32_t fake_codes(const struct py_offsets *off, const struct str_layout *sl,
			   const char *name)
{
	static const uint8_t table[] = { 0xd8, 0x00, 0x04, 0xd8, 0x00, 0x04, 0xd0, 0x00, 0x04 };
	uint64_t base = (uintptr_t)arena, nm = base + 0x10000, file = base + 0x18000;
	uint64_t lt = base + 0x20000, n = sizeof(table);
	uint32_t first = 10;

	memset(arena, 0, sizeof(arena));
	fake_ascii_str(arena + 0x10000, sl, name);
	fake_ascii_str(arena + 0x18000, sl, "file.py");
	memcpy(arena + 0x20000 + sl->bytes_size, &n, 8);
	memcpy(arena + 0x20000 + sl->bytes_sval, table, sizeof(table));
	for (int i = 0; i < NCODE; i++) {
		uint8_t *code = arena + i * 0x400;

		memcpy(code, &live_refcnt, 8);
		memcpy(code + off->code_name, &nm, 8);
		memcpy(code + off->code_filename, &file, 8);
		memcpy(code + off->code_linetable, &lt, 8);
		memcpy(code + off->code_firstlineno, &first, 4);
	}
	return py_code_check(nm, code_ident(off, nm), file, first, 0);
}

static int line_at(uint32_t lasti)
{
	return lasti < 2 ? 11 : 12;
}

/*
 * stack__symbolize() keeps, per code object and instruction, the line and
 * the frame it was interned as: the frames must be what agg__frame() gives
 * for the same strings and line, in whichever aggregation is passed, with
 * and without function_lines, through the caps on kept sites, and a code
 * object replaced at the same address must not be given the old one's name.
 */
static void test_symbolize_cache(void **state)
{
	const struct py_offsets_entry *e = entry_313();
	const struct frame *out[STACK_MAX], *keep[3];
	struct py_frame_rec frs[3];
	struct py_stack_hdr h = { .kind = PY_REC_STACK, .nframes = 3 };
	struct symbolize_stats st = { 0 };
	struct str_layout sl;
	struct py_process *p = calloc(1, sizeof(*p));
	struct agg *a = agg__new(), *b = agg__new();
	uint32_t check, check2;
	uint64_t base = (uintptr_t)arena;
	unsigned int n, i;

	(void)state;
	assert_non_null(p);
	assert_non_null(a);
	assert_non_null(b);
	assert_true(agg__gen(a) && agg__gen(b) && agg__gen(a) != agg__gen(b));
	fake_str_layout(&sl, &e->obj, 3);
	check = fake_codes(&e->off, &sl, "name");
	p->syms = symcache__new(getpid(), &e->off, &sl);
	assert_non_null(p->syms);
	for (i = 0; i < 3; i++)
		frs[i] = (struct py_frame_rec){ .code = base, .lasti = i * 2, .check = check };
	frs[2].lasti = 1000;

	for (int round = 0; round < 2; round++) {
		n = stack__symbolize(a, p, &h, frs, false, out, &st);
		assert_int_equal(n, 3);
		for (i = 0; i < 3; i++) {
			assert_ptr_equal(out[i], agg__frame(a, "name", "file.py", "file.py",
							    line_at(frs[i].lasti), FRAME_PYTHON));
			if (round)
				assert_ptr_equal(out[i], keep[i]);
			keep[i] = out[i];
		}
	}
	assert_int_equal(out[0]->line, 11);
	assert_int_equal(out[1]->line, 12);
	assert_int_equal(out[2]->line, 12);
	/* function_lines: the first line, and frames of their own */
	n = stack__symbolize(a, p, &h, frs, true, out, &st);
	assert_int_equal(n, 3);
	for (i = 0; i < 3; i++)
		assert_ptr_equal(out[i], agg__frame(a, "name", "file.py", "file.py", 10,
						    FRAME_PYTHON));
	/* another aggregation: its own frames; and back */
	for (int round = 0; round < 2; round++) {
		n = stack__symbolize(b, p, &h, frs, false, out, &st);
		for (i = 0; i < 3; i++) {
			assert_ptr_equal(out[i], agg__frame(b, "name", "file.py", "file.py",
							    line_at(frs[i].lasti), FRAME_PYTHON));
			assert_ptr_not_equal(out[i], keep[i]);
		}
		n = stack__symbolize(a, p, &h, frs, false, out, &st);
		for (i = 0; i < 3; i++)
			assert_ptr_equal(out[i], keep[i]);
	}
	assert_int_equal(st.unknown_frames, 0);

	/* Many instructions in many code objects: past both caps on sites. */
	for (uint32_t lasti = 0; lasti < 2 * SYMCACHE_MAX_SITES + 64; lasti += 2) {
		struct py_frame_rec r[NCODE];
		struct py_stack_hdr hh = { .kind = PY_REC_STACK, .nframes = NCODE };

		for (i = 0; i < NCODE; i++)
			r[i] = (struct py_frame_rec){ .code = base + i * 0x400, .lasti = lasti,
						      .check = check };
		n = stack__symbolize(a, p, &hh, r, false, out, &st);
		assert_int_equal(n, NCODE);
		for (i = 0; i < NCODE; i++)
			assert_int_equal(out[i]->line, line_at(lasti));
	}
	n = stack__symbolize(a, p, &h, frs, false, out, &st);
	for (i = 0; i < 3; i++)
		assert_ptr_equal(out[i], keep[i]);

	/* The code object at base replaced by another one (its name elsewhere,
	 * so another check): the new name, never the old frames; a record of the
	 * old code taken before the change is stale. */
	fake_codes(&e->off, &sl, "other");
	{
		uint64_t nm2 = base + 0x12000;

		fake_ascii_str(arena + 0x12000, &sl, "other");
		memcpy(arena + e->off.code_name, &nm2, 8);
		check2 = py_code_check(nm2, code_ident(&e->off, nm2), base + 0x18000, 10, 0);
	}
	for (i = 0; i < 3; i++)
		frs[i].check = check2;
	n = stack__symbolize(a, p, &h, frs, false, out, &st);
	assert_int_equal(n, 3);
	for (i = 0; i < 3; i++)
		assert_ptr_equal(out[i], agg__frame(a, "other", "file.py", "file.py",
						    line_at(frs[i].lasti), FRAME_PYTHON));
	for (i = 0; i < 3; i++)
		frs[i].check = check;
	n = stack__symbolize(a, p, &h, frs, false, out, &st);
	assert_int_equal(n, 3);
	for (i = 0; i < 3; i++)
		assert_string_equal(out[i]->name, "<unknown>");
	assert_int_equal(st.stale_frames, 3);
	assert_int_equal(st.unknown_frames, 3);

	symcache__free(p->syms);
	free(p);
	agg__free(a);
	agg__free(b);
}

/*
 * Damage the walker found: a frame whose code is no code object stands in
 * place as <not code>; each way the walk ended short adds its marker at
 * the root end, in a fixed order; the memo keeps stacks apart by them.
 */
static void test_damage_markers(void **state)
{
	const struct py_offsets_entry *e = entry_313();
	const struct frame *out[STACK_MAX];
	struct py_frame_rec frs[3];
	struct py_stack_hdr h = { .kind = PY_REC_STACK, .nframes = 3 };
	struct symbolize_stats st = { 0 };
	struct str_layout sl;
	struct py_process *p = calloc(1, sizeof(*p));
	struct agg *a = agg__new();
	struct stack_memo *m = stack_memo__new();
	static const struct {
		uint16_t status;
		const char *ends[4];
	} cases[] = {
		{ 0, { NULL } },
		{ PY_S_CYCLE, { "<cycle>" } },
		{ PY_S_CORRUPT, { "<corrupt frame>" } },
		{ PY_S_READ_ERR, { "<unreadable frame>" } },
		{ PY_S_TRUNCATED, { "<truncated>" } },
		{ PY_S_CYCLE | PY_S_GIL | PY_S_ACTIVE, { "<cycle>" } },
		{ PY_S_ENDS, { "<unreadable frame>", "<cycle>", "<corrupt frame>", "<truncated>" } },
	};
	uint32_t check;
	unsigned int n, k;

	(void)state;
	assert_non_null(p);
	assert_non_null(a);
	assert_non_null(m);
	fake_str_layout(&sl, &e->obj, 3);
	check = fake_codes(&e->off, &sl, "name");
	p->syms = symcache__new(getpid(), &e->off, &sl);
	assert_non_null(p->syms);
	frs[0] = (struct py_frame_rec){ .code = (uintptr_t)arena, .lasti = 2, .check = check };
	frs[1] = (struct py_frame_rec){ .code = PY_CODE_NOT_CODE, .lasti = 0, .check = 0 };
	frs[2] = frs[0];
	for (int round = 0; round < 2; round++) {
		for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
			h.status = cases[c].status;
			n = round ? stack__symbolize_memo(m, a, p, &h, frs, false, out, &st) :
				    stack__symbolize(a, p, &h, frs, false, out, &st);
			for (k = 0; k < 4 && cases[c].ends[k]; k++)
				;
			assert_int_equal(n, 3 + k);
			assert_string_equal(out[0]->name, "name");
			assert_string_equal(out[1]->name, "<not code>");
			assert_int_equal(out[1]->kind, FRAME_MARKER);
			assert_string_equal(out[2]->name, "name");
			for (k = 0; k < 4 && cases[c].ends[k]; k++) {
				assert_string_equal(out[3 + k]->name, cases[c].ends[k]);
				assert_int_equal(out[3 + k]->kind, FRAME_MARKER);
			}
		}
	}
	/* <not code> is a marker, not a frame that could not be named */
	assert_int_equal(st.unknown_frames, 0);

	stack_memo__free(m);
	symcache__free(p->syms);
	free(p);
	agg__free(a);
}

/* The ring-buffer stack record: sizes that do and do not match the frames
 * the header announces. */
static void test_decode_stack(void **state)
{
	size_t full = sizeof(struct py_stack_hdr) + 3 * sizeof(struct py_frame_rec);
	const struct py_stack_hdr *h;
	const struct py_frame_rec *f;
	struct py_stack_hdr *rec;
	uint8_t *buf = calloc(1, full);

	(void)state;
	assert_non_null(buf);
	rec = (struct py_stack_hdr *)buf;
	rec->kind = PY_REC_STACK;
	rec->nframes = 3;
	assert_int_equal(record__decode_stack(buf, full, &h, &f), 0);
	assert_ptr_equal(h, buf);
	assert_ptr_equal(f, buf + sizeof(*rec));
	/* one byte short of the frames it announces */
	assert_int_equal(record__decode_stack(buf, full - 1, &h, &f), -EINVAL);
	/* shorter than a header */
	assert_int_equal(record__decode_stack(buf, sizeof(*rec) - 1, &h, &f), -EINVAL);
	assert_int_equal(record__decode_stack(buf, 0, &h, &f), -EINVAL);
	/* more frames than any record holds, even if the size "matches" */
	rec->nframes = PY_MAX_FRAMES + 1;
	assert_int_equal(record__decode_stack(buf, full, &h, &f), -EINVAL);
	rec->nframes = UINT32_MAX;	/* nframes * 16 must not wrap */
	assert_int_equal(record__decode_stack(buf, full, &h, &f), -EINVAL);
	rec->nframes = 0;
	assert_int_equal(record__decode_stack(buf, sizeof(*rec), &h, &f), 0);
	rec->kind = PY_REC_EXIT;
	assert_int_equal(record__decode_stack(buf, full, &h, &f), -EINVAL);
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_symbolize_cache),
		cmocka_unit_test(test_decode_stack),
		cmocka_unit_test(test_damage_markers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
