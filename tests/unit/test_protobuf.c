/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The protobuf reader (pb__read_varint(), pb__next()) on hand-made
 * varints and fields, good and malformed, and what pb__*() writes.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "protobuf.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static int read1(const uint8_t *b, size_t n, uint64_t *v, size_t *used)
{
	uint8_t *copy = malloc(n ? n : 1);
	struct pb_reader r = { copy, copy + n };
	int err;

	assert_non_null(copy);
	memcpy(copy, b, n);
	err = pb__read_varint(&r, v);
	*used = (uintptr_t)r.p - (uintptr_t)copy;
	free(copy);
	return err;
}

static void test_pb_varint(void **state)
{
	static const struct {
		const char *bytes;
		size_t n;
		int err;
		uint64_t v;
	} cases[] = {
		{ "\x00", 1, 0, 0 },
		{ "\x7f", 1, 0, 127 },
		{ "\x80\x01", 2, 0, 128 },
		{ "\x96\x01", 2, 0, 150 },
		{ "\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 10, 0, UINT64_MAX },
		/* a tenth byte carrying more than the 64th bit */
		{ "\xff\xff\xff\xff\xff\xff\xff\xff\xff\x02", 10, -EBADMSG, 0 },
		/* eleven bytes */
		{ "\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x00", 11, -EBADMSG, 0 },
		{ "\x80", 1, -EBADMSG, 0 },
		{ "", 0, -EBADMSG, 0 },
		/* non-minimal but valid: 0 in two bytes */
		{ "\x80\x00", 2, 0, 0 },
	};
	uint64_t v;
	size_t used, i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		v = 0xdead;
		assert_int_equal(read1((const uint8_t *)cases[i].bytes, cases[i].n, &v, &used),
				 cases[i].err);
		if (!cases[i].err) {
			assert_true(v == cases[i].v);
			assert_int_equal(used, cases[i].n);
		}
	}
}

static int next_all(const uint8_t *b, size_t n, struct pb_field *last, int *count)
{
	struct pb_reader r = { b, b + n };
	int err;

	*count = 0;
	while ((err = pb__next(&r, last)) == 1)
		(*count)++;
	return err;
}

static void test_pb_fields(void **state)
{
	struct pb_buf b = { 0 };
	struct pb_field f;
	uint64_t packed[] = { 1, 300, UINT64_MAX };
	int count;

	(void)state;
	pb__uint(&b, 1, 150);
	pb__bytes(&b, 2, "abc", 3);
	pb__packed(&b, 3, packed, 3);
	pb__uint_nz(&b, 4, 0);	/* left out */
	pb__tag(&b, 5, PB_I64);
	for (int i = 0; i < 8; i++)
		pb__varint(&b, 0x11);	/* one byte each */
	pb__tag(&b, 6, PB_I32);
	for (int i = 0; i < 4; i++)
		pb__varint(&b, 0x22);
	assert_int_equal(b.err, 0);
	assert_int_equal(next_all(b.data, b.len, &f, &count), 0);
	assert_int_equal(count, 5);
	assert_int_equal(f.num, 6);
	assert_true(f.v == 0x22222222);

	/* field number 0, a length past the end, a wire type 3 / 4 / 6 / 7 */
	assert_int_equal(next_all((const uint8_t *)"\x00\x01", 2, &f, &count), -EBADMSG);
	assert_int_equal(next_all((const uint8_t *)"\x12\x05" "ab", 4, &f, &count), -EBADMSG);
	assert_int_equal(next_all((const uint8_t *)"\x12\xff\xff\xff\xff\xff\xff\xff\xff\x7f",
				  10, &f, &count), -EBADMSG);
	assert_int_equal(next_all((const uint8_t *)"\x0b", 1, &f, &count), -EBADMSG);
	assert_int_equal(next_all((const uint8_t *)"\x0c", 1, &f, &count), -EBADMSG);
	assert_int_equal(next_all((const uint8_t *)"\x0e", 1, &f, &count), -EBADMSG);
	assert_int_equal(next_all((const uint8_t *)"\x0f", 1, &f, &count), -EBADMSG);
	/* fixed-width fields cut short */
	assert_int_equal(next_all((const uint8_t *)"\x09\x01\x02", 3, &f, &count), -EBADMSG);
	assert_int_equal(next_all((const uint8_t *)"\x0d\x01", 2, &f, &count), -EBADMSG);
	/* a field number above 32 bits */
	assert_int_equal(next_all((const uint8_t *)"\x80\x80\x80\x80\x80\x01\x00", 7, &f, &count),
			 -EBADMSG);
	assert_int_equal(next_all(NULL, 0, &f, &count), 0);
	pb__free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pb_varint),
		cmocka_unit_test(test_pb_fields),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
