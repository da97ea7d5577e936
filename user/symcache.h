/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Per-process cache of code objects: code address -> name, file, first line
 * and line table, validated by the check value the sampler computed, so a
 * freed and reused address is never given the old code's name.
 */
#ifndef PYSPY_SYMCACHE_H
#define PYSPY_SYMCACHE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "pyspy.h"

/* Caps: entries per process, bytes per string and per line table, sites
 * (see symcache__site) per code object and per process. */
#define SYMCACHE_MAX_ENTRIES 65536
#define SYMCACHE_MAX_SITES 4096
#define SYMCACHE_MAX_SITES_TOTAL 65536
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
	uint16_t ob_type;	/* PyObject.ob_type */
	uint64_t str_type;	/* the str type in the target; 0: not checked */
};

struct code_info {
	const char *name;
	const char *filename;
	const char *short_filename;
	int firstlineno;
	const uint8_t *linetable;
	uint32_t linetable_len;
	bool unreadable;	/* name or filename is "<unreadable>" */
};

/*
 * One instruction of a cached code object (or, with function_lines, the code
 * object as a whole): its line, worked out once, and a slot for the caller
 * to keep what it made of it. The caller owns val and tells its values apart
 * by gen, a number of its own that is never 0 (stack.c: an interned frame and
 * the aggregation it belongs to). A site lives as long as its code object's
 * entry, so it goes when the code at that address changes and with the
 * process; at most SYMCACHE_MAX_SITES per code object and
 * SYMCACHE_MAX_SITES_TOTAL per process are kept.
 */
struct symcache_site {
	uint64_t gen;		/* 0: val unset */
	const void *val;
	int line;		/* symcache__line(), or co_firstlineno for function_lines */
};

struct symcache;

struct symcache *symcache__new(pid_t pid, const struct py_offsets *off,
			       const struct str_layout *sl);
void symcache__free(struct symcache *c);
/* A count, over every cache, of code objects that could not be read
 * (freed before their first sample was drained) or that were read and look
 * short-lived (module bodies, code compiled from strings): a change means
 * code is being created and freed (start-up, imports, code generation).
 * Functions read for the first time in a steady state do not change it. */
uint64_t symcache__churn(void);
/*
 * The code object at rec->code, checked against rec->check. Returns 0 and
 * fills *ci (valid until the next call that may evict), -ESTALE when the
 * address now holds other code, or another negative errno when unreadable.
 */
int symcache__lookup(struct symcache *c, const struct py_frame_rec *rec, struct code_info *ci);
/*
 * symcache__lookup(), and the site of rec->lasti in that code object (of the
 * code object as a whole with function_lines) in *site; both valid until the
 * next call that may evict. Repeated instructions cost two lookups of
 * integers and no reads of the target.
 */
int symcache__site(struct symcache *c, const struct py_frame_rec *rec, bool function_lines,
		   struct code_info *ci, struct symcache_site **site);
/* Line of rec's instruction in ci; 0 when the table cannot say. */
int symcache__line(const struct symcache *c, const struct code_info *ci, uint32_t lasti);

/*
 * Where a PEP 393 str keeps its characters, from its first hlen bytes (at
 * least sl->ascii_size): count, bytes per character (1, 2, 4) and the
 * header's size, after which they start. -ENOTSUP for a legacy non-compact
 * string, -EINVAL for a bad kind or a header too short. The one decoder of
 * the header: names (below) and locals (pyobj_str.c) use it.
 */
int str_layout__chars(const struct str_layout *sl, const uint8_t *hdr, size_t hlen,
		      uint64_t *len, unsigned int *kind, size_t *hsize);
/* Reads a str object (PEP 393 or 2.7 bytes) as UTF-8 into out. */
int read_pystr(pid_t pid, const struct str_layout *sl, uint64_t addr, char *out, size_t outlen);

struct py_obj_offsets;
/* The string layout of a version's object offsets (PEP 393 since 3.3; 2.7
 * byte strings). */
void symcache__str_layout(struct str_layout *sl, const struct py_obj_offsets *obj,
			  unsigned int major);

#endif
