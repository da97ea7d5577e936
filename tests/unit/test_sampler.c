/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The ring-buffer stack record (record__decode_stack()): sizes that do
 * and do not match the frames the header announces.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "sampler.h"

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
		cmocka_unit_test(test_decode_stack),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
