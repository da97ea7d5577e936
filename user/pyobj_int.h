/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * What the pieces of the object reader share (user/pyobj_*.c); not for use
 * outside them: user/pyobj.h is the interface.
 *
 *   pyobj_read.c     per-call context, bounded reads, types, reader setup
 *   pyobj_repr.c     output buffer, placeholders, repr() and containers
 *   pyobj_num.c      ints and floats
 *   pyobj_str.c      str, unicode and bytes
 *   pyobj_dict.c     dict layouts, instance attributes
 *   pyobj_locals.c   a frame's arguments and locals (dump --locals)
 *   pyobj_threads.c  thread names (threading._active)
 *   pyobj_tasks.c    asyncio tasks (--async)
 *
 * Every call of the interface gets a fresh struct ctx; everything it reads
 * is counted against ctx.reads (pyobj_rd) and is hostile (see pyobj.h).
 */
#ifndef PYSPY_PYOBJ_INT_H
#define PYSPY_PYOBJ_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "pyobj.h"

/* Types remembered per call (address -> kind, flags, name). */
#define TYPE_CACHE 32
/* Longest type name kept (longer ones are cut). */
#define TYPE_NAME_MAX 64
/* Largest single read. */
#define READ_MAX (1u << 20)
/* Item pointers / dict entries fetched per read. */
#define CHUNK 32
/* Largest str, bytes, list or tuple length believed. */
#define LEN_MAX (1ull << 40)
/* Bytes of a name (local, attribute key) compared or copied. */
#define NAME_MAX_BYTES 256

enum kind {
	K_OTHER,
	K_NONE,
	K_BOOL,
	K_LONG,		/* 3.x int, 2.7 long */
	K_INT27,	/* 2.7 int */
	K_FLOAT,
	K_STR,		/* 3.x str */
	K_UNICODE27,
	K_BYTES,	/* 3.x bytes, 2.7 str */
	K_LIST,
	K_TUPLE,
	K_DICT,
	K_CELL,
	K_CODE,
	K_MODULE,
};

struct tinfo {
	uint64_t addr;
	enum kind kind;
	bool heap;
	uint64_t flags;
	int64_t basicsize, dictoffset;
	char name[TYPE_NAME_MAX];
};

struct ctx {
	const struct pyobj_reader *r;
	const struct py_obj_offsets *o;
	unsigned int reads;		/* remote reads left */
	struct tinfo types[TYPE_CACHE];
	unsigned int ntypes, evict;
	uint64_t stack[PYOBJ_MAX_DEPTH]; /* containers being rendered */
	unsigned int depth;
	uint8_t *data;			/* string contents read */
	size_t data_len;
	char *text;			/* a string's repr */
	size_t text_len;
};

struct sbuf {
	char *p;
	size_t len, lim;
	bool full;			/* something did not fit */
	bool ended;			/* ... and the text says so already */
};

/* A dict's items, in insertion order where the layout keeps one. */
struct dict_iter {
	struct ctx *c;
	uint64_t entries;	/* entry 0 (2.7: slot 0) */
	unsigned int esize;	/* bytes per entry: key at esize - 16, value at esize - 8 */
	uint64_t n;		/* entries (2.7: slots) */
	uint64_t values;	/* split table: values[0]; 0 when combined */
	uint8_t order[256];	/* split table (3.11+): entry of the i-th item */
	unsigned int norder;	/* 0: entry order */
	bool ordered;
	uint64_t i;
	uint8_t chunk[CHUNK * 24];
	uint64_t chunk_first, chunk_n;
};

/* Unaligned loads from a buffer read out of the target. */
static inline uint64_t ld64(const uint8_t *b, size_t at)
{
	uint64_t v;

	memcpy(&v, b + at, sizeof(v));
	return v;
}

static inline uint32_t ld32(const uint8_t *b, size_t at)
{
	uint32_t v;

	memcpy(&v, b + at, sizeof(v));
	return v;
}

static inline size_t max_sz(size_t a, size_t b)
{
	return a > b ? a : b;
}

/* Whether the type has tp_flags bit; bit 0 means "not in this version". */
static inline bool tp_has(const struct tinfo *t, unsigned int bit)
{
	return bit && ((t->flags >> bit) & 1);
}

/* pyobj_read.c */
void pyobj_ctx_init(struct ctx *c, const struct pyobj_reader *r, unsigned int reads);
int pyobj_ctx_buffers(struct ctx *c, size_t lim);
void pyobj_ctx_fini(struct ctx *c);
int pyobj_rd(struct ctx *c, uint64_t addr, void *buf, size_t len);
int pyobj_rd64(struct ctx *c, uint64_t addr, uint64_t *v);
int pyobj_type_info(struct ctx *c, uint64_t type, const struct tinfo **out);
int pyobj_type_of(struct ctx *c, uint64_t addr, const struct tinfo **out);

/* pyobj_repr.c */
void pyobj_sb_init(struct sbuf *s, char *out, size_t lim);
void pyobj_sb_put(struct sbuf *s, const char *str, size_t n);
void pyobj_sb_puts(struct sbuf *s, const char *str);
void pyobj_sb_printf(struct sbuf *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
size_t pyobj_sb_room(const struct sbuf *s);
void pyobj_sb_finish(struct sbuf *s);
void pyobj_put_unreadable(struct sbuf *s, uint64_t addr);
void pyobj_put_other(struct sbuf *s, const struct tinfo *t, uint64_t addr);
void pyobj_repr_obj(struct ctx *c, struct sbuf *s, uint64_t addr);

/* pyobj_num.c */
int pyobj_long_value(struct ctx *c, uint64_t addr, const struct tinfo *t, uint64_t *v);
void pyobj_repr_long(struct ctx *c, struct sbuf *s, uint64_t addr, const struct tinfo *t);
void pyobj_repr_float(struct ctx *c, struct sbuf *s, uint64_t addr);

/* pyobj_str.c */
void pyobj_repr_string(struct ctx *c, struct sbuf *s, uint64_t addr,
		       const struct tinfo *t);
int pyobj_str_utf8(struct ctx *c, uint64_t addr, char *out, size_t outlen);
bool pyobj_str_is(struct ctx *c, uint64_t addr, const char *name);

/* pyobj_dict.c */
int pyobj_dict_iter_init(struct dict_iter *it, struct ctx *c, uint64_t dict);
int pyobj_dict_next(struct dict_iter *it, uint64_t *key, uint64_t *value);
int pyobj_dict_get(struct ctx *c, uint64_t dict, const char *name, uint64_t *value);
int pyobj_attr_get(struct ctx *c, uint64_t obj, const char *name, uint64_t *value);

#endif
