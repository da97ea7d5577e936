/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * user/elfsym.c: naming native addresses, checked against binutils' nm.
 *
 * 1. Real files on this machine: the libc this test runs on (from
 *    /proc/self/maps), every pyenv libpython (PYENV_ROOT or ~/.pyenv) and
 *    /usr/bin/python3.11: every function nm -D / nm lists must resolve to
 *    one of nm's names for its address, and one byte into it. A missing
 *    file is skipped, or fails when CI=true.
 * 2. Files built here by tests/fixtures/elfsym/build.sh (cc, objcopy, xz):
 *    a stripped program with MiniDebugInfo made as Fedora makes it; its
 *    debug file found by build-id or .gnu_debuglink beneath a temporary
 *    directory used as the process's root, or refused (wrong build-id,
 *    wrong CRC, a FIFO); a C++ library whose demangled names must be
 *    nm -C's (g++).
 * 3. Known C++ and Rust legacy names through the demangler.
 * Synthetic and hostile tables: test_elfsym_layout.c.
 */
#include <elf.h>
#include <errno.h>
#include <glob.h>
#include <inttypes.h>
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

#include "demangle.h"
#include "elfdebug.h"
#include "elffile.h"
#include "elfsym.h"
#include "fixtures.h"
#include "nm_oracle.h"

static char work[256];		/* where build.sh put the fixtures */

static bool in_ci(void)
{
	const char *v = getenv("CI");

	return v && (!strcmp(v, "true") || !strcmp(v, "1") || !strcmp(v, "yes"));
}

/* A file the test wants but this machine lacks: a skip, a failure in CI. */
static void missing(const char *what)
{
	print_message("  no %s on this machine%s\n", what, in_ci() ? " (CI: failing)" : ", skipped");
	if (in_ci())
		fail_msg("%s missing under CI", what);
	skip();
}

static struct elfsym *table_of(const char *path, const struct elfsym_opts *opts)
{
	struct elffile *ef = NULL;
	struct elfsym *t = NULL;

	assert_int_equal(elffile__open(path, &ef), 0);
	assert_int_equal(elfsym__new(ef, opts, &t), 0);
	elffile__free(ef);
	return t;
}

/*
 * The file's own tables (no debug file, no MiniDebugInfo: nm reads
 * neither) against nm -D and nm; returns the mismatches.
 */
static size_t check_file(const char *path, size_t min_addrs)
{
	const struct elfsym_opts opts = {
		.flags = ELFSYM_NO_DEBUG_FILE | ELFSYM_NO_MINIDEBUGINFO | ELFSYM_NO_DEMANGLE,
	};
	struct elfsym *t = table_of(path, &opts);
	struct nm_list l = { 0 };
	struct nm_result r;
	size_t names;

	nm_read(&l, "-D --without-symbol-versions", path);
	nm_read(&l, "", path);
	names = l.n;
	r = nm_compare(t, &l, path);
	print_message("  %s: %zu addresses (%zu names), %zu one byte in, table %zu, "
		      "%zu mismatches\n", path, r.addrs, names, r.inside, elfsym__count(t),
		      r.mismatches);
	assert_true(r.addrs >= min_addrs);
	assert_int_equal(elfsym__count(t), r.addrs);
	/* nothing at 0 or at the top of the address space */
	assert_null(elfsym__lookup(t, 0, NULL));
	assert_null(elfsym__lookup(t, UINT64_MAX, NULL));
	elfsym__free(t);
	nm_free(&l);
	return r.mismatches;
}

static bool libc_path(char *out, size_t len)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[4400];
	bool found = false;

	assert_non_null(f);
	while (!found && fgets(line, sizeof(line), f)) {
		char *path = strchr(line, '/'), *base;

		if (!path)
			continue;
		path[strcspn(path, "\n")] = 0;
		base = strrchr(path, '/') + 1;
		if (!strncmp(base, "libc.so", 7) || !strncmp(base, "libc-", 5)) {
			snprintf(out, len, "%s", path);
			found = true;
		}
	}
	fclose(f);
	return found;
}

static void test_real_libc(void **state)
{
	char path[4096];

	(void)state;
	if (!libc_path(path, sizeof(path)))
		missing("libc in /proc/self/maps");
	assert_int_equal(check_file(path, 1000), 0);
}

static void test_real_pyenv(void **state)
{
	const char *root = getenv("PYENV_ROOT"), *home = getenv("HOME");
	char pattern[4096];
	glob_t g;

	(void)state;
	if (root && *root)
		snprintf(pattern, sizeof(pattern), "%s/versions/*/lib/libpython*.so.1.0", root);
	else
		snprintf(pattern, sizeof(pattern), "%s/.pyenv/versions/*/lib/libpython*.so.1.0",
			 home ? home : "");
	if (glob(pattern, 0, NULL, &g) || !g.gl_pathc)
		missing("pyenv libpython");
	for (size_t i = 0; i < g.gl_pathc; i++)
		assert_int_equal(check_file(g.gl_pathv[i], 1000), 0);
	globfree(&g);
}

static void test_real_system_python(void **state)
{
	(void)state;
	if (access("/usr/bin/python3.11", R_OK))
		missing("/usr/bin/python3.11");
	assert_int_equal(check_file("/usr/bin/python3.11", 1000), 0);
}

/* The oracle can fail: libc's names against another file's table. */
static void test_oracle_fails(void **state)
{
	const struct elfsym_opts opts = { .flags = ELFSYM_NO_DEBUG_FILE };
	char libc[4096], other[4200];
	struct elfsym *t;
	struct nm_list l = { 0 };
	struct nm_result r;

	(void)state;
	if (!libc_path(libc, sizeof(libc)))
		missing("libc in /proc/self/maps");
	snprintf(other, sizeof(other), "%s/tiny", work);
	t = table_of(other, &opts);
	nm_read(&l, "-D --without-symbol-versions", libc);
	r = nm_compare(t, &l, "libc names, tiny's table (expected)");
	print_message("  %zu of %zu addresses mismatch, as they must\n", r.mismatches, r.addrs);
	assert_true(r.mismatches > r.addrs / 2);
	elfsym__free(t);
	nm_free(&l);
}

/* The address nm gives a symbol of the unstripped tiny. */
static uint64_t addr_in_tiny(const char *name)
{
	char path[300];
	struct nm_list l = { 0 };
	uint64_t a = 0;

	snprintf(path, sizeof(path), "%s/tiny", work);
	nm_read(&l, "", path);
	for (size_t i = 0; i < l.n; i++)
		if (!strcmp(l.s[i].name, name))
			a = l.s[i].addr;
	nm_free(&l);
	assert_true(a != 0);
	return a;
}

/* Every function of the unstripped tiny, by nm, resolves in t. */
static void expect_all_of_tiny(struct elfsym *t, const char *label)
{
	char path[300];
	struct nm_list l = { 0 };
	struct nm_result r;

	snprintf(path, sizeof(path), "%s/tiny", work);
	nm_read(&l, "", path);
	r = nm_compare(t, &l, label);
	print_message("  %s: %zu addresses of tiny, %zu mismatches\n", label, r.addrs,
		      r.mismatches);
	assert_true(r.addrs >= 5);
	assert_int_equal(r.mismatches, 0);
	nm_free(&l);
}

static void test_minidebuginfo(void **state)
{
	struct elfsym_opts opts = { .flags = ELFSYM_NO_DEBUG_FILE };
	uint64_t a = addr_in_tiny("only_in_minidebug"), off;
	char path[300];
	struct elfsym *t;

	(void)state;
	snprintf(path, sizeof(path), "%s/tiny.mini", work);
	t = table_of(path, &opts);
	assert_int_equal(elfsym__sources(t), ELFSYM_SRC_DYNSYM | ELFSYM_SRC_MINIDEBUGINFO);
	assert_string_equal(elfsym__lookup(t, a, &off), "only_in_minidebug");
	assert_int_equal(off, 0);
	assert_string_equal(elfsym__lookup(t, a + 1, &off), "only_in_minidebug");
	assert_int_equal(off, 1);
	expect_all_of_tiny(t, "tiny.mini");
	elfsym__free(t);

	/* without it, the static function has no name */
	opts.flags |= ELFSYM_NO_MINIDEBUGINFO;
	t = table_of(path, &opts);
	assert_int_equal(elfsym__sources(t), ELFSYM_SRC_DYNSYM);
	assert_null(elfsym__lookup(t, a, NULL));
	assert_string_equal(elfsym__lookup(t, addr_in_tiny("exported_fn"), NULL), "exported_fn");
	elfsym__free(t);
}

/* file (in work) with root (in work) as its process's root; returns the
 * sources and whether only_in_minidebug is named. */
static unsigned int with_root(const char *file, const char *root, bool *named)
{
	struct elfsym_opts opts = { .path = "/usr/bin/tiny", .flags = ELFSYM_NO_MINIDEBUGINFO };
	char path[300], rootdir[300];
	struct elfsym *t;
	unsigned int sources;
	const char *name;

	snprintf(path, sizeof(path), "%s/%s", work, file);
	snprintf(rootdir, sizeof(rootdir), "%s/%s", work, root);
	opts.root = rootdir;
	t = table_of(path, &opts);
	sources = elfsym__sources(t);
	name = elfsym__lookup(t, addr_in_tiny("only_in_minidebug"), NULL);
	*named = name && !strcmp(name, "only_in_minidebug");
	if (sources & (ELFSYM_SRC_DEBUG_BUILD_ID | ELFSYM_SRC_DEBUGLINK))
		expect_all_of_tiny(t, root);
	elfsym__free(t);
	print_message("  %s in %s: sources 0x%x, %s\n", file, root, sources,
		      *named ? "named" : "not named");
	return sources;
}

static void test_debug_build_id(void **state)
{
	bool named;

	(void)state;
	assert_int_equal(with_root("tiny.stripped", "root-bid", &named),
			 ELFSYM_SRC_DYNSYM | ELFSYM_SRC_DEBUG_BUILD_ID);
	assert_true(named);
	/* an absolute symlink resolves inside the root */
	assert_int_equal(with_root("tiny.stripped", "root-bid-symlink", &named),
			 ELFSYM_SRC_DYNSYM | ELFSYM_SRC_DEBUG_BUILD_ID);
	assert_true(named);
	/* another build's debug file at the path; a FIFO (must not block) */
	assert_int_equal(with_root("tiny.stripped", "root-bid-wrong", &named), ELFSYM_SRC_DYNSYM);
	assert_false(named);
	assert_int_equal(with_root("tiny.stripped", "root-bid-fifo", &named), ELFSYM_SRC_DYNSYM);
	assert_false(named);
	/* a root without it */
	assert_int_equal(with_root("tiny.stripped", "root-link-dir", &named), ELFSYM_SRC_DYNSYM);
	assert_false(named);
}

static void test_debuglink(void **state)
{
	static const char *const good[] = { "root-link-dir", "root-link-dotdebug",
					     "root-link-global" };
	struct elffile *ef;
	struct elfsym *t;
	char path[300];
	const char *name;
	uint32_t crc;
	bool named;

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_int_equal(with_root("tiny.link", good[i], &named),
				 ELFSYM_SRC_DYNSYM | ELFSYM_SRC_DEBUGLINK);
		assert_true(named);
	}
	/* tiny2's debug file under tiny's name: its CRC is not the link's */
	assert_int_equal(with_root("tiny.link", "root-link-wrongcrc", &named), ELFSYM_SRC_DYNSYM);
	assert_false(named);
	/* linked to tiny2's debug file (CRC right), whose build-id is not tiny's */
	assert_int_equal(with_root("tiny.badid", "root-link-wrongcrc", &named), ELFSYM_SRC_DYNSYM);
	assert_false(named);

	/* no path: no debuglink search */
	snprintf(path, sizeof(path), "%s/tiny.link", work);
	assert_int_equal(elffile__open(path, &ef), 0);
	assert_int_equal(elffile__debuglink(ef, &name, &crc), 0);
	assert_string_equal(name, "tiny.debug");
	snprintf(path, sizeof(path), "%s/root-link-dir", work);
	assert_int_equal(elfsym__new(ef, &(struct elfsym_opts){ .root = path }, &t), 0);
	assert_int_equal(elfsym__sources(t), ELFSYM_SRC_DYNSYM);
	elfsym__free(t);
	elffile__free(ef);
}

/* elfsym__open: the file itself beneath the root. */
static void test_open_in_root(void **state)
{
	struct elfsym_opts opts = { .path = "/usr/bin/tiny.debug" };
	char root[300];
	struct elfsym *t;

	(void)state;
	snprintf(root, sizeof(root), "%s/root-link-dir", work);
	opts.root = root;
	assert_int_equal(elfsym__open(&opts, &t), 0);
	assert_string_equal(elfsym__lookup(t, addr_in_tiny("second_static"), NULL),
			    "second_static");
	elfsym__free(t);
	opts.path = "/usr/bin/none";
	assert_int_equal(elfsym__open(&opts, &t), -ENOENT);
	/* ".." does not leave the root */
	opts.path = "/../../../../../../../../usr/bin/tiny.debug";
	assert_int_equal(elfsym__open(&opts, &t), 0);
	elfsym__free(t);
}

/* The C++ library's names, demangled, against nm -C. */
static void test_cxx(void **state)
{
	char path[300];
	struct elfsym *t;
	struct nm_list l = { 0 };
	struct nm_result r;
	bool seen = false;

	(void)state;
	snprintf(path, sizeof(path), "%s/libcxx.so", work);
	if (access(path, R_OK))
		missing("g++ (for libcxx.so)");
	t = table_of(path, NULL);
	nm_read(&l, "-C -D --without-symbol-versions", path);
	nm_read(&l, "-C", path);
	for (size_t i = 0; i < l.n; i++)
		seen |= !strcmp(l.s[i].name, "pyspy_demo::Box<int>::operator+=(pyspy_demo::Box<int> const&)");
	assert_true(seen);
	r = nm_compare(t, &l, "libcxx.so");
	print_message("  libcxx.so: %zu addresses, %zu mismatches with nm -C\n", r.addrs,
		      r.mismatches);
	assert_true(r.addrs >= 8);
	assert_int_equal(r.mismatches, 0);
	elfsym__free(t);
	nm_free(&l);
}

static void test_demangle(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "_ZN10pyspy_demo10overloadedEi", "pyspy_demo::overloaded(int)" },
		{ "_Z3fooi.constprop.0", "foo(int) [clone .constprop.0]" },
		{ "_ZNSt6vectorIiSaIiEE9push_backERKi",
		  "std::vector<int, std::allocator<int> >::push_back(int const&)" },
		/* Rust legacy: the hash dropped, the escapes decoded */
		{ "_ZN3std2rt10lang_start28_$u7b$$u7b$closure$u7d$$u7d$17h0123456789abcdefE",
		  "std::rt::lang_start::{{closure}}" },
		{ "_ZN4core3ptr85drop_in_place$LT$std..rt..lang_start$LT$$LP$$RP$$GT$..$u7b$$u7b$"
		  "closure$u7d$$u7d$$GT$17h4c9f0b3e0b7b5d1aE",
		  "core::ptr::drop_in_place<std::rt::lang_start<()>::{{closure}}>" },
		{ "_ZN5alloc7raw_vec19RawVec$LT$T$C$A$GT$11allocate_in17hfa6c5c4d11e1e5e3E",
		  "alloc::raw_vec::RawVec<T,A>::allocate_in" },
		{ "_ZN3foo3bar17h0123456789abcdefE.llvm.12345", "foo::bar" },
		{ "main", NULL }, { "_Z", NULL }, { "_Zgarbage", NULL }, { "", NULL },
	};
	char *longname = malloc(DEMANGLE_IN_MAX + 16);

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *d = demangle(cases[i].in);

		print_message("  '%s' -> '%s'\n", cases[i].in, d ? d : "(none)");
		if (cases[i].out) {
			assert_non_null(d);
			assert_string_equal(d, cases[i].out);
		}
		else
			assert_null(d);
		free(d);
	}
	/* too long to be given to the demangler */
	strcpy(longname, "_ZN");
	for (size_t i = 3; i + 5 < DEMANGLE_IN_MAX + 8; i += 4)
		strcpy(longname + i, "3abc");
	assert_null(demangle(longname));
	free(longname);
}

static int setup(void **state)
{
	const char *tmp = getenv("TMPDIR");
	char cmd[1024];

	(void)state;
	snprintf(work, sizeof(work), "%s/test_elfsym.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(work))
		return -1;
	snprintf(cmd, sizeof(cmd), "sh '%s/elfsym/build.sh' '%s'", fixtures_dir(), work);
	if (system(cmd)) {
		fprintf(stderr, "test_elfsym: '%s' failed\n", cmd);
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	char cmd[600];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", work);
	return system(cmd) ? -1 : 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_real_libc),
		cmocka_unit_test(test_real_pyenv),
		cmocka_unit_test(test_real_system_python),
		cmocka_unit_test(test_oracle_fails),
		cmocka_unit_test(test_minidebuginfo),
		cmocka_unit_test(test_debug_build_id),
		cmocka_unit_test(test_debuglink),
		cmocka_unit_test(test_open_in_root),
		cmocka_unit_test(test_cxx),
		cmocka_unit_test(test_demangle),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
