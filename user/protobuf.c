// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "protobuf.h"

void pb__free(struct pb_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

void pb__reset(struct pb_buf *b)
{
	b->len = 0;
}

static bool reserve(struct pb_buf *b, size_t n)
{
	size_t cap;
	uint8_t *d;

	if (b->err)
		return false;
	if (b->cap - b->len >= n)
		return true;
	cap = b->cap ? b->cap : 256;
	while (cap - b->len < n) {
		if (cap > SIZE_MAX / 2) {
			b->err = -ENOMEM;
			return false;
		}
		cap *= 2;
	}
	d = realloc(b->data, cap);
	if (!d) {
		b->err = -ENOMEM;
		return false;
	}
	b->data = d;
	b->cap = cap;
	return true;
}

void pb__varint(struct pb_buf *b, uint64_t v)
{
	if (!reserve(b, 10))
		return;
	while (v >= 0x80) {
		b->data[b->len++] = (uint8_t)v | 0x80;
		v >>= 7;
	}
	b->data[b->len++] = v;
}

void pb__tag(struct pb_buf *b, uint32_t field, enum pb_wire wire)
{
	pb__varint(b, (uint64_t)field << 3 | wire);
}

void pb__uint(struct pb_buf *b, uint32_t field, uint64_t v)
{
	pb__tag(b, field, PB_VARINT);
	pb__varint(b, v);
}

void pb__uint_nz(struct pb_buf *b, uint32_t field, uint64_t v)
{
	if (v)
		pb__uint(b, field, v);
}

void pb__bytes(struct pb_buf *b, uint32_t field, const void *data, size_t len)
{
	pb__tag(b, field, PB_LEN);
	pb__varint(b, len);
	if (!len || !reserve(b, len))
		return;
	memcpy(b->data + b->len, data, len);
	b->len += len;
}

void pb__msg(struct pb_buf *b, uint32_t field, const struct pb_buf *sub)
{
	if (sub->err) {
		if (!b->err)
			b->err = sub->err;
		return;
	}
	pb__bytes(b, field, sub->data, sub->len);
}

static size_t varint_len(uint64_t v)
{
	size_t n = 1;

	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

void pb__packed(struct pb_buf *b, uint32_t field, const uint64_t *v, size_t n)
{
	size_t len = 0, i;

	if (!n)
		return;
	for (i = 0; i < n; i++)
		len += varint_len(v[i]);
	pb__tag(b, field, PB_LEN);
	pb__varint(b, len);
	for (i = 0; i < n; i++)
		pb__varint(b, v[i]);
}

int pb__read_varint(struct pb_reader *r, uint64_t *v)
{
	uint64_t x = 0;

	for (int shift = 0; shift < 70; shift += 7) {
		uint8_t c;

		if (r->p >= r->end)
			return -EBADMSG;
		c = *r->p++;
		/* The tenth byte may only carry the top bit. */
		if (shift == 63 && c > 1)
			return -EBADMSG;
		x |= (uint64_t)(c & 0x7f) << shift;
		if (!(c & 0x80)) {
			*v = x;
			return 0;
		}
	}
	return -EBADMSG;
}

int pb__next(struct pb_reader *r, struct pb_field *f)
{
	uint64_t key, len;
	int err;

	if (r->p >= r->end)
		return 0;
	err = pb__read_varint(r, &key);
	if (err)
		return err;
	if (key >> 3 == 0 || key >> 3 > UINT32_MAX)
		return -EBADMSG;
	f->num = key >> 3;
	f->wire = key & 7;
	f->data = NULL;
	f->len = 0;
	f->v = 0;
	switch (f->wire) {
	case PB_VARINT:
		err = pb__read_varint(r, &f->v);
		return err ? err : 1;
	case PB_I64:
	case PB_I32:
		len = f->wire == PB_I64 ? 8 : 4;
		if ((size_t)(r->end - r->p) < len)
			return -EBADMSG;
		for (unsigned int i = 0; i < len; i++)
			f->v |= (uint64_t)r->p[i] << (8 * i);
		r->p += len;
		return 1;
	case PB_LEN:
		err = pb__read_varint(r, &len);
		if (err)
			return err;
		if (len > (size_t)(r->end - r->p))
			return -EBADMSG;
		f->data = r->p;
		f->len = len;
		r->p += len;
		return 1;
	default:
		return -EBADMSG;
	}
}
