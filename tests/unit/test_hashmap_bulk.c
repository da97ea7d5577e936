// SPDX-License-Identifier: BSD-2-Clause
/* hashmap__free_all and hashmap__del_if: every value freed once, the
 * survivors of a bulk delete all still found. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>
#include "hashmap.h"

#define N 10000

static void count_free(void *ctx, void *v)
{
	(*(int *)ctx)++;
	free(v);
}

static bool odd_key(void *ctx, uint64_t key, void *v)
{
	(void)ctx;
	assert_int_equal(*(uint64_t *)v, key);
	return key & 1;
}

static struct hashmap *filled(void)
{
	struct hashmap *m = hashmap__new();

	assert_non_null(m);
	for (uint64_t k = 1; k <= N; k++) {
		uint64_t *v = malloc(sizeof(*v));

		assert_non_null(v);
		*v = k;
		assert_int_equal(hashmap__put(m, k, v), 0);
	}
	return m;
}

static void test_free_all(void **state)
{
	struct hashmap *m = filled();
	int freed = 0;

	(void)state;
	hashmap__free_all(m, count_free, &freed);
	assert_int_equal(freed, N);
	hashmap__free_all(NULL, count_free, &freed);
	assert_int_equal(freed, N);
}

static void test_del_if(void **state)
{
	struct hashmap *m = filled();
	int freed = 0;

	(void)state;
	assert_int_equal(hashmap__del_if(m, odd_key, count_free, &freed), N / 2);
	assert_int_equal(freed, N / 2);
	assert_int_equal(hashmap__size(m), N / 2);
	for (uint64_t k = 1; k <= N; k++) {
		uint64_t *v = hashmap__get(m, k);

		if (k & 1) {
			assert_null(v);
		} else {
			assert_non_null(v);
			assert_int_equal(*v, k);
		}
	}
	/* Still a working table: deletes and inserts after it. */
	free(hashmap__del(m, 2));
	assert_null(hashmap__get(m, 2));
	assert_int_equal(hashmap__del_if(m, odd_key, NULL, NULL), 0);
	hashmap__free_all(m, NULL, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_free_all),
		cmocka_unit_test(test_del_if),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
