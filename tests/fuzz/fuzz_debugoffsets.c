// SPDX-License-Identifier: BSD-2-Clause
/*
 * py_offsets__apply_debug() on a hostile _Py_DebugOffsets block (the target
 * owns the memory it is read from), then the layout it accepts put to use:
 * a code object laid out with those offsets is symbolized as the collector
 * would, so an accepted offset that a reader cannot take is caught.
 * fuzz-sources: user/offsets.c user/offsets_gen.c user/symcache.c user/hashmap.c
 *               user/linetable.c user/pystr.c user/paths.c user/procfs.c user/remote.c user/utf8.c
 *               user/capture.c user/log.c user/textesc.c
 * fuzz-libs: -lz
 *
 * Input: minor version selector (1 byte: 3.13, 3.14, 3.15 or 3.12, which
 * has no block), then the block (the collector reads 4096 bytes).
 * Checked: on failure nothing was written; on success the read windows fit
 * PY_FRAME_READ / PY_CODE_READ, and symbolizing does not crash.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "fake_target.h"
#include "offsets.h"
#include "symcache.h"

/* Fake objects, far enough apart for any offset below 0x10000. */
#define A_CODE 0x00000
#define A_NAME 0x10000
#define A_FILE 0x28000
#define A_LT 0x40000
#define ARENA 0x58000

static uint8_t arena[ARENA] __attribute__((aligned(64)));

static void symbolize(const struct py_offsets *off, const struct py_obj_offsets *obj)
{
	static const uint8_t table[] = { 0x80, 0x00, 0xd8, 0x04 };	/* 3.11+ locations */
	struct py_frame_rec rec = { 0 };
	struct str_layout sl;
	struct code_info ci;
	struct symcache *c;
	uint64_t base = (uintptr_t)arena;

	memset(arena, 0, sizeof(arena));
	fake_str_layout(&sl, obj, 3);
	fake_ascii_str(arena + A_NAME, &sl, "fuzzed");
	fake_ascii_str(arena + A_FILE, &sl, "fuzz.py");
	fake_bytes(arena + A_LT, &sl, table, sizeof(table));
	put64(arena, A_CODE + off->code_filename, base + A_FILE);
	put64(arena, A_CODE + off->code_name, base + A_NAME);
	put64(arena, A_CODE + off->code_linetable, base + A_LT);
	put32(arena, A_CODE + off->code_firstlineno, 1);
	put32(arena, A_CODE + off->code_argcount, 0);
	rec.code = base + A_CODE;
	rec.lasti = 2;
	/* What the BPF side computes from the same fields. */
	{
		uint64_t name, file;
		uint32_t first, argc;

		memcpy(&name, arena + A_CODE + off->code_name, 8);
		memcpy(&file, arena + A_CODE + off->code_filename, 8);
		memcpy(&first, arena + A_CODE + off->code_firstlineno, 4);
		memcpy(&argc, arena + A_CODE + off->code_argcount, 4);
		rec.check = py_code_check(name, fake_code_ident(off, arena + A_CODE), file, first,
					  argc);
	}
	c = symcache__new(getpid(), off, &sl);
	if (!c)
		abort();
	if (!symcache__lookup(c, &rec, &ci))
		(void)symcache__line(c, &ci, rec.lasti);
	symcache__free(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned minors[] = { 13, 14, 15, 12 };
	const struct py_offsets_entry *ent;
	struct py_offsets off, off0;
	struct py_obj_offsets obj, obj0;
	unsigned minor;
	char why[128];
	uint8_t *block;
	int err;

	if (size < 1)
		return 0;
	minor = minors[data[0] % 4];
	ent = py_offsets__find(3, minor, 999);
	if (!ent) {
		/* 3.12 is in the table; a missing 3.13+ entry is a build problem. */
		abort();
	}
	off = off0 = ent->off;
	obj = obj0 = ent->obj;
	block = malloc(size - 1 ? size - 1 : 1);
	if (!block)
		abort();
	memcpy(block, data + 1, size - 1);
	err = py_offsets__apply_debug(&off, &obj, block, size - 1, 3, minor, why, sizeof(why));
	free(block);
	if (err) {
		if (err != -EOPNOTSUPP && err != -ENODATA && err != -EBADMSG && err != -EPROTO &&
		    err != -EPROTONOSUPPORT && err != -ERANGE)
			abort();
		if (memcmp(&off, &off0, sizeof(off)) || memcmp(&obj, &obj0, sizeof(obj)) ||
		    !why[0])
			abort();
		return 0;
	}
	if (minor == 12 || off.frame_read > PY_FRAME_READ || off.code_read > PY_CODE_READ)
		abort();
	symbolize(&off, &obj);
	return 0;
}
