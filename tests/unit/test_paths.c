/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * py-spy's file name shortening (shorten_filename()) in a temporary tree
 * of packages.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "paths.h"

static char tree[64];

static void touch(const char *rel)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tree, rel);
	f = fopen(path, "w");
	assert_non_null(f);
	fclose(f);
}

static void mkdirs(const char *rel)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", tree, rel);
	assert_int_equal(mkdir(path, 0755), 0);
}

static void expect_short(const char *filename, size_t outlen, const char *want)
{
	char *out = malloc(outlen ? outlen : 1);

	assert_non_null(out);
	memset(out, 'Z', outlen ? outlen : 1);
	shorten_filename(getpid(), filename, out, outlen);
	print_message("  '%.80s' (%zu) -> '%s'\n", filename, outlen, outlen ? out : "");
	if (outlen)
		assert_string_equal(out, want);
	else
		assert_int_equal(out[0], 'Z');
	free(out);
}

static void test_shorten(void **state)
{
	char path[8192], cwd[4096];
	size_t n;

	(void)state;
	snprintf(tree, sizeof(tree), "/tmp/pyspy-paths-XXXXXX");
	assert_non_null(mkdtemp(tree));
	mkdirs("pkg");
	mkdirs("pkg/sub");
	mkdirs("plain");
	touch("pkg/__init__.py");
	touch("pkg/sub/__init__.py");

	snprintf(path, sizeof(path), "%s/pkg/sub/mod.py", tree);
	expect_short(path, 4096, "pkg/sub/mod.py");
	expect_short(path, 5, "pkg/");	/* cut to the room there is */
	expect_short(path, 1, "");
	expect_short(path, 0, "");
	snprintf(path, sizeof(path), "%s/pkg/sub/__init__.py", tree);
	expect_short(path, 4096, "pkg/sub/__init__.py");
	snprintf(path, sizeof(path), "%s/plain/mod.py", tree);
	expect_short(path, 4096, "mod.py");
	/* ".." could leave the process's root: never looked up */
	snprintf(path, sizeof(path), "%s/plain/../pkg/sub/mod.py", tree);
	expect_short(path, 4096, "mod.py");
	snprintf(path, sizeof(path), "%s/pkg/sub/..x/mod..py", tree);
	expect_short(path, 4096, "mod..py");
	expect_short("<string>", 4096, "<string>");
	expect_short("<frozen importlib._bootstrap>", 4096, "<frozen importlib._bootstrap>");
	expect_short("", 4096, "");
	expect_short("mod.py", 4096, "mod.py");
	expect_short("/", 4096, "");
	expect_short("/mod.py", 4096, "mod.py");
	expect_short("//x//y.py", 4096, "y.py");

	/* relative to the process's working folder */
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(chdir(tree), 0);
	expect_short("pkg/sub/mod.py", 4096, "pkg/sub/mod.py");
	expect_short("./pkg/sub/mod.py", 4096, "pkg/sub/mod.py");
	assert_int_equal(chdir(cwd), 0);

	/* longer than the probe buffer: the base name, no overflow */
	n = (size_t)snprintf(path, sizeof(path), "%s/pkg/", tree);
	memset(path + n, 'a', 6000);
	strcpy(path + n + 6000, "/m.py");
	expect_short(path, 4096, "m.py");
	/* a path of slashes and nothing else */
	memset(path, '/', 5000);
	path[5000] = 0;
	expect_short(path, 4096, "");

	snprintf(path, sizeof(path), "rm -rf '%s'", tree);
	assert_int_equal(system(path), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shorten),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
