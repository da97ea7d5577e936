/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The hash table everything is keyed by, against a model, and
 * hash_bytes().
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hashmap.h"

static void test_hashmap_model(void **state)
{
	enum { KEYS = 300 };
	static uintptr_t model[KEYS];
	struct hashmap *m = hashmap__new();
	unsigned int seed = 1;
	size_t size = 0, pos, n;
	uint64_t key;
	void *v;

	(void)state;
	assert_non_null(m);
	assert_int_equal(hashmap__put(m, 1, NULL), -EINVAL);
	memset(model, 0, sizeof(model));
	for (int step = 0; step < 200000; step++) {
		/* few keys, many deletes: long probe runs that wrap around */
		uint64_t k = (uint64_t)(rand_r(&seed) % KEYS);
		uintptr_t val = (uintptr_t)step + 1;

		switch (rand_r(&seed) % 3) {
		case 0:
			assert_int_equal(hashmap__put(m, k * 0x100000000ULL, (void *)val), 0);
			size += !model[k];
			model[k] = val;
			break;
		case 1:
			assert_ptr_equal(hashmap__del(m, k * 0x100000000ULL), (void *)model[k]);
			size -= !!model[k];
			model[k] = 0;
			break;
		default:
			assert_ptr_equal(hashmap__get(m, k * 0x100000000ULL), (void *)model[k]);
		}
		assert_int_equal(hashmap__size(m), size);
	}
	for (uint64_t k = 0; k < KEYS; k++)
		assert_ptr_equal(hashmap__get(m, k * 0x100000000ULL), (void *)model[k]);
	pos = 0;
	n = 0;
	while (hashmap__next(m, &pos, &key, &v)) {
		assert_true(key % 0x100000000ULL == 0 && key / 0x100000000ULL < KEYS);
		assert_ptr_equal(v, (void *)model[key / 0x100000000ULL]);
		n++;
	}
	assert_int_equal(n, size);
	hashmap__free(m);
	hashmap__free(NULL);
}

static void test_hash_bytes(void **state)
{
	(void)state;
	assert_true(hash_bytes("abc", 3, 0) == hash_bytes("abc", 3, 0));
	assert_true(hash_bytes("abc", 3, 0) != hash_bytes("abc", 3, 1));
	assert_true(hash_bytes("abc", 3, 0) != hash_bytes("abd", 3, 0));
	assert_true(hash_bytes(NULL, 0, 0) == hash_bytes("x", 0, 0));
	/* Every length around the 8-byte words, and bytes in every position:
	 * no two of these keys collide. */
	{
		static const char text[] = "abcdefghijklmnopqrstuvwxyz0123456789";
		uint64_t h[2 * 24];
		size_t n = 0;

		for (size_t len = 0; len < 24; len++) {
			char buf[32];

			h[n++] = hash_bytes(text, len, 0);
			memcpy(buf, text, len);
			if (len)
				buf[len - 1] ^= 1;
			h[n++] = hash_bytes(buf, len, 0);
		}
		/* "": the same key twice */
		for (size_t i = 2; i < n; i++)
			for (size_t j = 0; j < i; j++)
				assert_true(h[i] != h[j]);
		/* trailing zero bytes count */
		assert_true(hash_bytes("ab\0\0", 4, 0) != hash_bytes("ab", 2, 0));
		assert_true(hash_bytes("ab\0\0\0\0\0\0\0", 9, 0) !=
			    hash_bytes("ab\0\0\0\0\0\0", 8, 0));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hashmap_model),
		cmocka_unit_test(test_hash_bytes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
