/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A minimal protocol buffers wire-format encoder, for pprof's profile.proto,
 * and the matching reader (tests and fuzzing read back what we write).
 *
 * The encoder appends to a growable buffer and remembers the first error, so
 * a message is built with plain calls and checked once at the end.
 */
#ifndef PYSPY_PROTOBUF_H
#define PYSPY_PROTOBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum pb_wire {
	PB_VARINT = 0,
	PB_I64 = 1,
	PB_LEN = 2,
	PB_I32 = 5,
};

struct pb_buf {
	uint8_t *data;
	size_t len, cap;
	int err;		/* 0 or the first -errno */
};

void pb__free(struct pb_buf *b);
/* Empties b, keeping its memory (and its error). */
void pb__reset(struct pb_buf *b);
void pb__varint(struct pb_buf *b, uint64_t v);
void pb__tag(struct pb_buf *b, uint32_t field, enum pb_wire wire);
/* Varint field; int64 values are written as their two's complement. */
void pb__uint(struct pb_buf *b, uint32_t field, uint64_t v);
/* Varint field, left out when 0 (proto3 default). */
void pb__uint_nz(struct pb_buf *b, uint32_t field, uint64_t v);
void pb__bytes(struct pb_buf *b, uint32_t field, const void *data, size_t len);
/* A nested message: sub's bytes as a length-delimited field. */
void pb__msg(struct pb_buf *b, uint32_t field, const struct pb_buf *sub);
/* A packed repeated varint field, left out when n is 0. */
void pb__packed(struct pb_buf *b, uint32_t field, const uint64_t *v, size_t n);

struct pb_reader {
	const uint8_t *p, *end;
};

struct pb_field {
	uint32_t num;
	enum pb_wire wire;
	uint64_t v;		/* PB_VARINT, PB_I64, PB_I32 */
	const uint8_t *data;	/* PB_LEN */
	size_t len;
};

/*
 * The next field of a message: 1 and *f set, 0 at the end, -EBADMSG on
 * malformed input (never reads past end).
 */
int pb__next(struct pb_reader *r, struct pb_field *f);
/* Reads a varint; -EBADMSG if truncated or longer than 10 bytes. */
int pb__read_varint(struct pb_reader *r, uint64_t *v);

#endif
