/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Per-process cache of code objects: code address -> name, file, first line
 * and line table, validated by the check value the sampler computed, so a
 * freed and reused address is never given the old code's name.
 */
#ifndef PYSPY_SYMCACHE_H
#define PYSPY_SYMCACHE_H

#include <stdint.h>
#include <sys/types.h>
#include "pyspy.h"

/* Caps: entries per process, bytes per string and per line table. */
#define SYMCACHE_MAX_ENTRIES 65536
#define SYMCACHE_MAX_STR 1024
#define SYMCACHE_MAX_LINETABLE (256u << 10)

/* How strings and bytes objects are laid out in the target. */
struct str_layout {
	uint16_t length;	/* PyASCIIObject.length / PyStringObject ob_size */
	uint16_t state;		/* PyASCIIObject.state */
	uint16_t ascii_size;	/* sizeof(PyASCIIObject): compact ASCII data */
	uint16_t compact_size;	/* sizeof(PyCompactUnicodeObject) */
	uint8_t kind_shift, compact_bit, ascii_bit;
	uint16_t bytes_size;	/* PyBytesObject ob_size */
	uint16_t bytes_sval;	/* PyBytesObject ob_sval */
	bool bytes_str;		/* 2.7: str is a byte string */
};

struct code_info {
	const char *name;
	const char *filename;
	const char *short_filename;
	int firstlineno;
	const uint8_t *linetable;
	uint32_t linetable_len;
};

struct symcache;

struct symcache *symcache__new(pid_t pid, const struct py_offsets *off,
			       const struct str_layout *sl);
void symcache__free(struct symcache *c);
/*
 * The code object at rec->code, checked against rec->check. Returns 0 and
 * fills *ci (valid until the next call that may evict), -ESTALE when the
 * address now holds other code, or another negative errno when unreadable.
 */
int symcache__lookup(struct symcache *c, const struct py_frame_rec *rec, struct code_info *ci);
/* Line of rec's instruction in ci; 0 when the table cannot say. */
int symcache__line(const struct symcache *c, const struct code_info *ci, uint32_t lasti);

/* Reads a str object (PEP 393 or 2.7 bytes) as UTF-8 into out. */
int read_pystr(pid_t pid, const struct str_layout *sl, uint64_t addr, char *out, size_t outlen);

#endif
