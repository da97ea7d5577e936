/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Fake code objects in an arena of this process, read back through
 * /proc/getpid()/mem by the symbol cache: shared by test_symcache.c and
 * test_stack.c. Include after <cmocka.h>.
 */
#ifndef TESTS_UNIT_FAKE_CODE_H
#define TESTS_UNIT_FAKE_CODE_H

#include <stdint.h>
#include <string.h>

#include "offsets.h"

static uint8_t arena[0x30000] __attribute__((aligned(16)));

static inline const struct py_offsets_entry *entry_313(void)
{
	const struct py_offsets_entry *e = py_offsets__find(3, 13, 0);

	assert_non_null(e);
	return e;
}

/* ob_refcnt of the fake code objects: live (1) unless a test frees one. The
 * symbol cache takes a count of 0 or a pointer (an allocator's free-list
 * link) as a freed object. */
static uint64_t live_refcnt = 1;

/* 8 bytes of the arena (0 past its end), as the sampler would read them. */
static inline uint64_t arena_ld64(size_t at)
{
	uint64_t v = 0;

	if (at + 8 <= sizeof(arena))
		memcpy(&v, arena + at, 8);
	return v;
}

/* The ident of py_code_check() of the code object at the arena's start, as
 * the sampler takes it: co_version, else the name's hash. */
static inline uint64_t code_ident(const struct py_offsets *off, uint64_t name)
{
	uint32_t version = 0;

	if (off->code_version)
		memcpy(&version, arena + off->code_version, 4);
	if (version)
		return version;
	if (!off->str_hash)
		return 0;
	return arena_ld64(name - (uintptr_t)arena + off->str_hash);
}

#endif
