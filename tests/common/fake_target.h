/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A fake target for the fuzz targets and unit tests that drive the
 * symbolizer: "remote" objects laid out in this process's own memory, read
 * back through /proc/getpid()/mem exactly as the collector reads a target.
 */
#ifndef TESTS_COMMON_FAKE_TARGET_H
#define TESTS_COMMON_FAKE_TARGET_H

#include <stdbool.h>	/* symcache.h uses bool without including it */
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include "offsets.h"
#include "remote.h"
#include "symcache.h"

/* The str_layout the collector derives from a version's object offsets. */
static inline void fake_str_layout(struct str_layout *sl, const struct py_obj_offsets *obj,
				   unsigned int major)
{
	symcache__str_layout(sl, obj, major);
}

static inline void put64(uint8_t *base, size_t at, uint64_t v)
{
	memcpy(base + at, &v, sizeof(v));
}

static inline void put32(uint8_t *base, size_t at, uint32_t v)
{
	memcpy(base + at, &v, sizeof(v));
}

/*
 * The ident of py_code_check() for the code object whose first bytes are at
 * code (in this process, at least code_read of them), as the sampler takes
 * it: co_version when the layout has it and it is not 0, else the 8 bytes
 * at name + str_hash read from the target (0 when unreadable).
 */
static inline uint64_t fake_code_ident(const struct py_offsets *off, const uint8_t *code)
{
	uint64_t name, h = 0;
	uint32_t version = 0;

	memcpy(&name, code + off->code_name, sizeof(name));
	if (off->code_version)
		memcpy(&version, code + off->code_version, sizeof(version));
	if (version)
		return version;
	if (!name || !off->str_hash || remote_read(getpid(), name + off->str_hash, &h, sizeof(h)))
		return 0;
	return h;
}

/* A compact ASCII str holding s, at obj, as layout sl reads it. */
static inline void fake_ascii_str(uint8_t *obj, const struct str_layout *sl, const char *s)
{
	size_t n = strlen(s);

	if (sl->bytes_str) {
		put64(obj, sl->bytes_size, n);
		memcpy(obj + sl->bytes_sval, s, n);
		return;
	}
	put64(obj, sl->length, n);
	put32(obj, sl->state, 1u << sl->kind_shift | 1u << sl->compact_bit | 1u << sl->ascii_bit);
	memcpy(obj + sl->ascii_size, s, n);
}

/* A bytes object holding data[0 .. n). */
static inline void fake_bytes(uint8_t *obj, const struct str_layout *sl, const void *data,
			      size_t n)
{
	put64(obj, sl->bytes_size, n);
	memcpy(obj + sl->bytes_sval, data, n);
}

#endif
