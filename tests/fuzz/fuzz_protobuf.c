// SPDX-License-Identifier: BSD-2-Clause
/*
 * The protobuf wire format: the reader on hostile bytes, and the encoder
 * driven by the input, read back by the reader.
 * fuzz-sources: user/protobuf.c
 *
 * Input byte 0 picks the half. Reader: every field of the message and,
 * recursively, of every length-delimited field that parses as one; checked
 * that fields stay inside the input and the walk ends. Encoder: the rest is
 * a list of operations (tag byte, then operands); what the reader gets back
 * must be what was written, field by field.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "protobuf.h"

#define MAX_OPS 256

static void read_msg(const uint8_t *p, size_t n, const uint8_t *lo, const uint8_t *hi,
		     int depth)
{
	struct pb_reader r = { p, p + n };
	struct pb_field f;
	int ret, fields = 0;

	while ((ret = pb__next(&r, &f)) == 1) {
		if (++fields > (int)n)	/* every field takes at least one byte */
			abort();
		if (f.num == 0 || r.p > r.end || r.p < p)
			abort();
		if (f.wire == PB_LEN) {
			if (f.data < lo || f.data + f.len > hi || f.data + f.len > r.p)
				abort();
			if (depth < 8)
				read_msg(f.data, f.len, lo, hi, depth + 1);
		} else if (f.wire != PB_VARINT && f.wire != PB_I64 && f.wire != PB_I32) {
			abort();
		}
	}
	if (ret != 0 && ret != -EBADMSG)
		abort();
}

struct op {
	uint8_t kind;		/* 0 uint, 1 bytes, 2 packed, 3 msg */
	uint32_t field;
	uint64_t v;
	const uint8_t *data;
	size_t len;
};

static uint64_t take64(const uint8_t **p, const uint8_t *end)
{
	uint64_t v = 0;

	for (int i = 0; i < 8 && *p < end; i++)
		v |= (uint64_t)*(*p)++ << (8 * i);
	return v;
}

static void encode(const uint8_t *p, const uint8_t *end)
{
	struct op ops[MAX_OPS];
	struct pb_buf b = { 0 }, sub = { 0 };
	struct pb_reader r;
	struct pb_field f;
	size_t nops = 0, i, k;
	uint64_t packed[16];

	while (p < end && nops < MAX_OPS) {
		struct op *o = &ops[nops];
		uint8_t t = *p++;

		o->kind = t & 3;
		/* field numbers 1 .. 2^29 - 1 */
		o->field = (uint32_t)(take64(&p, end) % ((1u << 29) - 1)) + 1;
		o->v = take64(&p, end);
		o->len = (t >> 2) % 32;
		if ((size_t)(end - p) < o->len)
			o->len = (size_t)(end - p);
		o->data = p;
		p += o->len;
		switch (o->kind) {
		case 0:
			pb__uint(&b, o->field, o->v);
			break;
		case 1:
			pb__bytes(&b, o->field, o->data, o->len);
			break;
		case 2:
			for (k = 0; k < o->len && k < 16; k++)
				packed[k] = (uint64_t)o->data[k] << (o->v % 57);
			pb__packed(&b, o->field, packed, k);
			break;
		default:
			pb__reset(&sub);
			pb__uint(&sub, 1, o->v);
			pb__bytes(&sub, 2, o->data, o->len);
			pb__msg(&b, o->field, &sub);
		}
		nops++;
	}
	if (b.err || sub.err)
		abort();
	r.p = b.data;
	r.end = b.data ? b.data + b.len : NULL;
	for (i = 0; i < nops; i++) {
		const struct op *o = &ops[i];

		if (o->kind == 2 && !o->len)
			continue;	/* an empty packed field is left out */
		if (pb__next(&r, &f) != 1 || f.num != o->field)
			abort();
		switch (o->kind) {
		case 0:
			if (f.wire != PB_VARINT || f.v != o->v)
				abort();
			break;
		case 1:
			if (f.wire != PB_LEN || f.len != o->len || memcmp(f.data, o->data, o->len))
				abort();
			break;
		case 2: {
			struct pb_reader pr = { f.data, f.data + f.len };
			uint64_t v;

			if (f.wire != PB_LEN)
				abort();
			for (k = 0; k < o->len && k < 16; k++)
				if (pb__read_varint(&pr, &v) || v != (uint64_t)o->data[k] << (o->v % 57))
					abort();
			if (pr.p != pr.end)
				abort();
			break;
		}
		default: {
			struct pb_reader sr = { f.data, f.data + f.len };
			struct pb_field g;

			if (f.wire != PB_LEN || pb__next(&sr, &g) != 1 || g.num != 1 ||
			    g.v != o->v || pb__next(&sr, &g) != 1 || g.num != 2 ||
			    g.len != o->len || memcmp(g.data, o->data, o->len) ||
			    pb__next(&sr, &g) != 0)
				abort();
		}
		}
	}
	if (pb__next(&r, &f) != 0)
		abort();
	pb__free(&b);
	pb__free(&sub);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy;

	if (size < 1)
		return 0;
	copy = malloc(size - 1 ? size - 1 : 1);
	if (!copy)
		abort();
	memcpy(copy, data + 1, size - 1);
	if (data[0] & 1)
		read_msg(copy, size - 1, copy, copy + size - 1, 0);
	else
		encode(copy, copy + size - 1);
	free(copy);
	return 0;
}
