/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * /proc/PID/maps lines (maps__parse_line()): hand-written lines, good
 * and malformed, and every line of this process's own maps.
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

#include "procmaps.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static void test_maps_lines(void **state)
{
	static const struct {
		const char *line;
		int err;
		uint64_t start, end, offset;
		const char *perms, *path;
	} cases[] = {
		{ "55a12f816000-55a12f818000 r--p 00000000 fe:00 247134"
		  "                     /usr/bin/python3.11\n", 0,
		  0x55a12f816000, 0x55a12f818000, 0, "r--p", "/usr/bin/python3.11" },
		{ "7f3c1a200000-7f3c1a5f0000 r-xp 00096000 08:01 1311234 "
		  "/usr/lib/libpython3.12.so.1.0", 0,
		  0x7f3c1a200000, 0x7f3c1a5f0000, 0x96000, "r-xp", "/usr/lib/libpython3.12.so.1.0" },
		/* anonymous: nothing after the inode, with or without a space */
		{ "7f0000000000-7f0000001000 rw-p 00000000 00:00 0 \n", 0,
		  0x7f0000000000, 0x7f0000001000, 0, "rw-p", "" },
		{ "7f0000000000-7f0000001000 rw-p 00000000 00:00 0", 0,
		  0x7f0000000000, 0x7f0000001000, 0, "rw-p", "" },
		{ "7ffd4f9e2000-7ffd4fa03000 rw-p 00000000 00:00 0   [stack]\n", 0,
		  0x7ffd4f9e2000, 0x7ffd4fa03000, 0, "rw-p", "[stack]" },
		/* spaces and a (deleted) suffix belong to the path */
		{ "1000-2000 r-xs 0 103:02 12 /home/u/a dir/python3 (deleted)\n", 0,
		  0x1000, 0x2000, 0, "r-xs", "/home/u/a dir/python3 (deleted)" },
		{ "ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0 [vsyscall]", 0,
		  0xffffffffff600000, 0xffffffffff601000, 0, "--xp", "[vsyscall]" },
		/* 16 hex digits is the most a 64-bit value has */
		{ "0-ffffffffffffffff r--p ffffffffffffffff 00:00 18446744073709551615 /x", 0,
		  0, UINT64_MAX, UINT64_MAX, "r--p", "/x" },
		{ .line = "0-1ffffffffffffffff r--p 0 00:00 0 /x", .err = -EINVAL },
		{ .line = "0-1000 r--p 0 00:00 18446744073709551616 /x", .err = -EINVAL },	/* inode overflow */
		{ .line = "2000-1000 r--p 0 00:00 0 /x", .err = -EINVAL },	/* start >= end */
		{ .line = "1000-1000 r--p 0 00:00 0 /x", .err = -EINVAL },
		{ .line = "1000-2000 rwxq 0 00:00 0 /x", .err = -EINVAL },	/* bad perms */
		{ .line = "1000-2000 r--p", .err = -EINVAL },
		{ .line = "1000-2000 r--p 0 00:00", .err = -EINVAL },
		{ .line = "1000-2000 r--p 0 0000 0 /x", .err = -EINVAL },
		{ .line = "-1000-2000 r--p 0 00:00 0 /x", .err = -EINVAL },
		{ .line = "0x1000-0x2000 r--p 0 00:00 0 /x", .err = -EINVAL },
		{ .line = "1000-2000 r--p 0 00:00 12x /x", .err = -EINVAL },
		{ .line = "", .err = -EINVAL },
		{ .line = "\n", .err = -EINVAL },
		{ .line = "garbage", .err = -EINVAL },
	};
	struct maps_entry e;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		size_t len = strlen(cases[i].line);
		char *copy = malloc(len + 1);	/* exactly sized: ASan sees overreads */
		int err;

		assert_non_null(copy);
		memcpy(copy, cases[i].line, len);
		err = maps__parse_line(copy, len, &e);
		print_message("  '%s': %d\n", cases[i].line, err);
		assert_int_equal(err, cases[i].err);
		if (!err) {
			assert_true(e.start == cases[i].start);
			assert_true(e.end == cases[i].end);
			assert_true(e.offset == cases[i].offset);
			assert_string_equal(e.perms, cases[i].perms);
			assert_int_equal(e.pathlen, strlen(cases[i].path));
			assert_memory_equal(e.path, cases[i].path, e.pathlen);
		}
		free(copy);
	}
	/* A NUL inside the path ends it; a line cut short still parses. */
	assert_int_equal(maps__parse_line("1000-2000 r--p 0 00:00 0 /ab\0cd\n", 32, &e), 0);
	assert_int_equal(e.pathlen, 3);
	assert_int_equal(maps__parse_line("1000-2000 r--p 0 00:00 0 /abcdef", 28, &e), 0);
	assert_int_equal(e.pathlen, 3);
	assert_int_equal(maps__parse_line(NULL, 0, &e), -EINVAL);
}

/* This process's own maps: every line parses, and one maps this binary. */
static void test_maps_self(void **state)
{
	char line[8192], exe[4096];
	struct maps_entry e;
	bool found = false;
	ssize_t n;
	FILE *f;

	(void)state;
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	assert_true(n > 0);
	exe[n] = 0;
	f = fopen("/proc/self/maps", "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		assert_int_equal(maps__parse_line(line, strlen(line), &e), 0);
		if (e.pathlen == (size_t)n && !memcmp(e.path, exe, e.pathlen))
			found = true;
	}
	fclose(f);
	assert_true(found);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_maps_lines),
		cmocka_unit_test(test_maps_self),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
