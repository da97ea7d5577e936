/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The aggregation (agg__add()): the strings of a sample are interned, not
 * kept as the caller's buffers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "aggregate.h"

/* agg__add() interns the thread name and command line of every sample: a
 * caller's buffer whose content changes must give the new string. */
static void test_agg_strings(void **state)
{
	struct agg *a = agg__new();
	const struct frame *fr[1];
	const struct stack_trace *st;
	char name[32] = "first", cmd[64] = "python app.py";
	struct stack_trace s = { .pid = 1, .thread_name = name, .cmdline = cmd, .frames = fr,
				 .nframes = 1 };
	size_t pos = 0;

	(void)state;
	assert_non_null(a);
	fr[0] = agg__frame(a, "f", "f.py", "f.py", 1, FRAME_PYTHON);
	assert_int_equal(agg__add(a, &s, 1, 0), 0);
	assert_int_equal(agg__add(a, &s, 1, 0), 0);
	strcpy(name, "second");
	assert_int_equal(agg__add(a, &s, 1, 0), 0);
	strcpy(cmd, "python other.py");
	assert_int_equal(agg__add(a, &s, 1, 0), 0);
	assert_int_equal(agg__stacks(a), 3);
	assert_true(agg__next(a, &pos, &st));
	assert_string_equal(st->thread_name, "first");
	assert_string_equal(st->cmdline, "python app.py");
	assert_int_equal(st->count, 2);
	assert_true(agg__next(a, &pos, &st));
	assert_string_equal(st->thread_name, "second");
	assert_string_equal(st->cmdline, "python app.py");
	assert_true(agg__next(a, &pos, &st));
	assert_string_equal(st->thread_name, "second");
	assert_string_equal(st->cmdline, "python other.py");
	assert_ptr_not_equal(st->thread_name, name);
	agg__free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_agg_strings),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
