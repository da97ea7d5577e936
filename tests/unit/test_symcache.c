/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The symbol cache given what a target controls: string layouts taken from
 * a hostile _Py_DebugOffsets block (read_pystr(), symcache__lookup()),
 * code objects whose name is reused at the same address, code objects
 * already freed. Fixtures dir: $PYSPY_FIXTURES, default tests/fixtures.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "offsets.h"
#include "sampler.h"
#include "symcache.h"
#include "fake_target.h"
#include "fake_code.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Runs fn in a child: a crash (stack smashing, ASan) fails the test with
 * its signal instead of ending the whole binary. */
static bool in_child(void (*fn)(void *), void *arg, const char *what)
{
	int st;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (!pid) {
		/* cmocka's handlers would resume the test runner in the child */
		static const int sigs[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGSYS, SIGABRT };

		for (size_t i = 0; i < ARRAY_SIZE(sigs); i++)
			signal(sigs[i], SIG_DFL);
		fn(arg);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	if (WIFSIGNALED(st))
		print_error("%s: killed by signal %d\n", what, WTERMSIG(st));
	else if (WEXITSTATUS(st))
		print_error("%s: not refused (exit status %d)\n", what, WEXITSTATUS(st));
	return WIFEXITED(st) && !WEXITSTATUS(st);
}

/* Reading a str whose layout has an offset past read_pystr()'s header
 * buffer must be refused (-EINVAL), not read or written out of bounds. */
static void read_with(void *arg)
{
	const struct str_layout *sl = arg;
	char out[64];
	int err;

	memset(arena, 0, sizeof(arena));
	fake_ascii_str(arena, sl, "name");
	err = read_pystr(getpid(), sl, (uintptr_t)arena, out, sizeof(out));
	fprintf(stderr, "  read_pystr: %d '%s'\n", err, err ? "" : out);
	if (err != -EINVAL)
		_exit(1);
}

static void test_pystr_header_sizes(void **state)
{
	const struct py_offsets_entry *e = entry_313();
	struct str_layout sl;
	bool ok = true;

	(void)state;
	/* The real layout reads. */
	fake_str_layout(&sl, &e->obj, 3);
	memset(arena, 0, sizeof(arena));
	fake_ascii_str(arena, &sl, "name");
	{
		char out[64];

		assert_int_equal(read_pystr(getpid(), &sl, (uintptr_t)arena, out, sizeof(out)), 0);
		assert_string_equal(out, "name");
	}
	/* sizeof(PyASCIIObject) of 16 KiB: the header read would write 16 KiB
	 * into a 128-byte stack buffer (BUG: user/symcache.c read_pystr checks
	 * compact_size against the buffer, not ascii_size). */
	fake_str_layout(&sl, &e->obj, 3);
	sl.ascii_size = 0x4000;
	sl.compact_size = 72;
	ok &= in_child(read_with, &sl, "ascii_size 0x4000");
	/* PyASCIIObject.length at byte 208 of a 128-byte buffer (BUG: read
	 * out of bounds, found by fuzz_debugoffsets). */
	fake_str_layout(&sl, &e->obj, 3);
	sl.length = 208;
	sl.ascii_size = 40;
	ok &= in_child(read_with, &sl, "length at 208");
	assert_true(ok);
}

/* The same through the parser: a _Py_DebugOffsets block that the target
 * rewrote (its _PyRuntime is its own writable memory) is accepted and its
 * str layout then overflows the reader. Expected: either the parser
 * refuses it, or the readers refuse the layout. */
struct dbg_case {
	const char *name;
	uint16_t size_pos, field_pos;
	uint64_t size, value;
	bool lookup;		/* symbolize a code object, not just a str */
};

/* A code object with a name, a file and a line table, as off / sl lay them
 * out; then symcache__lookup(). Only reads in bounds may happen: a line
 * table that cannot be read is left out (NULL), the names still come. */
static int lookup_code(const struct py_offsets *off, const struct str_layout *sl,
		       struct code_info *ci)
{
	uint64_t base = (uintptr_t)arena, name = base + 0x10000, file = base + 0x18000;
	uint64_t lt = base + 0x20000, n = 4;
	struct py_frame_rec rec = { .code = base, .lasti = 0 };
	struct symcache *c;
	uint32_t one = 1;
	int err;

	memset(arena, 0, sizeof(arena));
	fake_ascii_str(arena + 0x10000, sl, "name");
	fake_ascii_str(arena + 0x18000, sl, "file.py");
	if (sl->bytes_size + 8u <= 0x8000 && sl->bytes_sval + 4u <= 0x8000) {
		memcpy(arena + 0x20000 + sl->bytes_size, &n, 8);
		memcpy(arena + 0x20000 + sl->bytes_sval, "\x80\x00\xd8\x04", 4);
	}
	memcpy(arena, &live_refcnt, 8);
	memcpy(arena + off->code_name, &name, 8);
	memcpy(arena + off->code_filename, &file, 8);
	memcpy(arena + off->code_linetable, &lt, 8);
	memcpy(arena + off->code_firstlineno, &one, 4);
	rec.check = py_code_check(name, code_ident(off, name), file, 1, 0);
	c = symcache__new(getpid(), off, sl);
	if (!c)
		return -ENOMEM;
	err = symcache__lookup(c, &rec, ci);
	if (!err)
		ci->linetable = ci->linetable ? (const uint8_t *)1 : NULL;	/* freed below */
	symcache__free(c);
	return err;
}

static void symbolize_with(void *arg)
{
	const struct dbg_case *dc = arg;
	const struct py_offsets_entry *e = entry_313();
	const struct py_debug_layout *lay = py_offsets__debug_layout(3, 13);
	char path[1024], line[256], why[128];
	struct py_offsets off = e->off;
	struct py_obj_offsets obj = e->obj;
	struct str_layout sl;
	uint8_t block[4096];
	const char *dir = getenv("PYSPY_FIXTURES");
	char out[64];
	FILE *f;
	int err;

	snprintf(path, sizeof(path), "%s/debugoffsets/cpython-3.13.0-pyenv.bin",
		 dir && *dir ? dir : "tests/fixtures");
	f = fopen(path, "rb");
	if (!f || !fgets(line, sizeof(line), f) || fread(block, 1, sizeof(block), f) != 4096 ||
	    !lay)
		_exit(3);
	fclose(f);
	memcpy(block + dc->size_pos, &dc->size, 8);
	memcpy(block + dc->field_pos, &dc->value, 8);
	err = py_offsets__apply_debug(&off, &obj, block, sizeof(block), 3, 13, why, sizeof(why));
	fprintf(stderr, "  %s: apply_debug %d (%s)\n", dc->name, err, why);
	if (err)
		_exit(0);	/* refused at the parser: fine */
	fake_str_layout(&sl, &obj, 3);
	if (dc->lookup) {
		struct code_info ci;

		err = lookup_code(&off, &sl, &ci);
		fprintf(stderr, "  %s: symcache__lookup %d, line table %s\n", dc->name, err,
			!err && ci.linetable ? "read" : "none");
		_exit(err || ci.linetable ? 1 : 0);
	}
	memset(arena, 0, sizeof(arena));
	fake_ascii_str(arena, &sl, "name");
	err = read_pystr(getpid(), &sl, (uintptr_t)arena, out, sizeof(out));
	fprintf(stderr, "  %s: read_pystr %d\n", dc->name, err);
	_exit(err == -EINVAL ? 0 : 1);
}

/*
 * Code compiled and dropped in a loop: the next code object, and its name,
 * land at the addresses of the last ones, with the same file, first line
 * and argument count. Only the name's content (its cached hash) or, from
 * 3.12 on, co_version tells them apart: the cached symbol of the old one
 * must not be given to the new one.
 */
static void reused_name(unsigned minor)
{
	const struct py_offsets_entry *e = py_offsets__find(3, minor, 0);
	uint64_t base = (uintptr_t)arena, name = base + 0x10000, file = base + 0x18000;
	struct py_frame_rec rec = { .code = base };
	struct str_layout sl;
	struct code_info ci;
	struct symcache *c;
	uint64_t h1 = 0x5bd1e9955bd1e995ULL, h2 = 0x1234567890abcdefULL;
	uint32_t one = 1, v1 = 41, v2 = 42, check1, check2;
	bool versioned;

	print_message("  3.%u\n", minor);
	assert_non_null(e);
	versioned = e->off.code_version != 0;
	assert_int_equal(versioned, minor >= 12);
	assert_int_not_equal(e->off.str_hash, 0);
	fake_str_layout(&sl, &e->obj, 3);
	memset(arena, 0, sizeof(arena));
	fake_ascii_str(arena + 0x10000, &sl, "f_000001");
	memcpy(arena + 0x10000 + e->off.str_hash, &h1, 8);
	fake_ascii_str(arena + 0x18000, &sl, "<string>");
	memcpy(arena, &live_refcnt, 8);
	memcpy(arena + e->off.code_name, &name, 8);
	memcpy(arena + e->off.code_filename, &file, 8);
	memcpy(arena + e->off.code_firstlineno, &one, 4);
	if (versioned)
		memcpy(arena + e->off.code_version, &v1, 4);
	c = symcache__new(getpid(), &e->off, &sl);
	assert_non_null(c);

	check1 = rec.check = py_code_check(name, versioned ? v1 : h1, file, 1, 0);
	assert_int_equal(symcache__lookup(c, &rec, &ci), 0);
	assert_string_equal(ci.name, "f_000001");

	/* freed; the next function, and its name, at the same addresses */
	fake_ascii_str(arena + 0x10000, &sl, "f_000002");
	memcpy(arena + 0x10000 + e->off.str_hash, &h2, 8);
	if (versioned)
		memcpy(arena + e->off.code_version, &v2, 4);
	check2 = py_code_check(name, versioned ? v2 : h2, file, 1, 0);
	assert_int_not_equal(check1, check2);
	/* a sample of the new one: the new name, not the cached old one */
	rec.check = check2;
	assert_int_equal(symcache__lookup(c, &rec, &ci), 0);
	assert_string_equal(ci.name, "f_000002");
	assert_int_equal(symcache__lookup(c, &rec, &ci), 0);
	assert_string_equal(ci.name, "f_000002");
	/* a sample of the old one, symbolized after the reuse: stale */
	rec.check = check1;
	assert_int_equal(symcache__lookup(c, &rec, &ci), -ESTALE);

	if (versioned) {
		/* co_version 0 (its counter wrapped): the name's hash again */
		memset(arena + e->off.code_version, 0, 4);
		rec.check = py_code_check(name, h2, file, 1, 0);
		assert_int_equal(symcache__lookup(c, &rec, &ci), 0);
		assert_string_equal(ci.name, "f_000002");
	}
	symcache__free(c);
}

static void test_symcache_reused_name(void **state)
{
	(void)state;
	reused_name(10);
	reused_name(12);
	reused_name(13);
}

/* A code object already freed when the collector reads it: its fields are
 * intact (same check value) but its strings may be reused, so it is stale,
 * never symbolized. */
static void test_symcache_freed_code(void **state)
{
	const struct py_offsets_entry *e = entry_313();
	struct str_layout sl;
	struct code_info ci;
	const uint64_t freed[] = { 0, (uintptr_t)arena + 0x3000, 1ULL << 32 };

	(void)state;
	fake_str_layout(&sl, &e->obj, 3);
	assert_int_equal(lookup_code(&e->off, &sl, &ci), 0);
	for (size_t i = 0; i < sizeof(freed) / sizeof(freed[0]); i++) {
		live_refcnt = freed[i];
		assert_int_equal(lookup_code(&e->off, &sl, &ci), -ESTALE);
	}
	live_refcnt = 0xFFFFFFFF;	/* immortal (3.12+): alive */
	assert_int_equal(lookup_code(&e->off, &sl, &ci), 0);
	live_refcnt = 1;
}

static void test_hostile_debug_offsets(void **state)
{
	const struct py_debug_layout *lay = py_offsets__debug_layout(3, 13);
	struct dbg_case cases[] = {
		{ "asciiobject_size 0x4000", lay ? lay->unicode_size : 0,
		  lay ? lay->unicode_ascii_size : 0, 0x8000, 0x4000, false },
		{ "length at 0x200", lay ? lay->unicode_size : 0,
		  lay ? lay->unicode_length : 0, 0x8000, 0x200, false },
		/* PyVarObject.ob_size (from tuple_object.ob_size) at 0xfff0: the
		 * line table's bytes header is read from a 64-byte stack buffer */
		{ "ob_size at 0xfff0", lay ? lay->tuple_size : 0,
		  lay ? lay->tuple_ob_size : 0, 0x20000, 0xfff0, true },
	};
	bool ok = true;

	(void)state;
	if (!lay || !lay->unicode_size || !lay->unicode_ascii_size)
		skip();
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		ok &= in_child(symbolize_with, &cases[i], cases[i].name);
	assert_true(ok);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pystr_header_sizes),
		cmocka_unit_test(test_hostile_debug_offsets),
		cmocka_unit_test(test_symcache_reused_name),
		cmocka_unit_test(test_symcache_freed_code),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
