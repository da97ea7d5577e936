// SPDX-License-Identifier: BSD-2-Clause
/*
 * Strings: where a str, 2.7 unicode or bytes object keeps its characters,
 * and from there its repr, its text as UTF-8 (names) and a cheap equality
 * test against an ASCII name (dict keys).
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "pyobj.h"
#include "pyobj_int.h"
#include "pystr.h"
#include "symcache.h"

/*
 * Where a string's characters are: count, bytes per char (1, 2, 4; 0 for a
 * byte string) and address. 0, negative errno, or -EINVAL (not a string we
 * can read: wrong type, bad kind, a legacy string without its data).
 */
static int str_data(struct ctx *c, uint64_t addr, const struct tinfo *t, uint64_t *n,
		    unsigned int *kind, uint64_t *data)
{
	const struct py_obj_offsets *o = c->o;
	const struct str_layout *sl = c->r->sl;
	uint8_t hdr[128];
	size_t hsize;
	int err;

	switch (t->kind) {
	case K_BYTES:
		if ((err = pyobj_rd64(c, addr + o->ob_size, n)))
			return err;
		*kind = 0;
		*data = addr + o->bytes_sval;
		break;
	case K_UNICODE27:
		if ((err = pyobj_rd64(c, addr + o->str_length, n)))
			return err;
		if ((err = pyobj_rd64(c, addr + o->str_data27, data)))
			return err;
		*kind = o->str_unicode_size27;
		if (*kind != 2 && *kind != 4)
			return -EINVAL;
		break;
	case K_STR:
		if (sl->ascii_size > sizeof(hdr))
			return -EINVAL;
		if ((err = pyobj_rd(c, addr, hdr, sl->ascii_size)))
			return err;
		err = str_layout__chars(sl, hdr, sl->ascii_size, n, kind, &hsize);
		if (err == -ENOTSUP) {
			/* Not compact: an instance of a str subclass (or of the old
			 * C API), its characters elsewhere, at data.any, the
			 * pointer after the PyCompactUnicodeObject. */
			if (*kind != 1 && *kind != 2 && *kind != 4)
				return -EINVAL;
			if ((err = pyobj_rd64(c, addr + sl->compact_size, data)))
				return err;
			if (!*data)
				return -EINVAL;
			break;
		}
		if (err)
			return -EINVAL;
		*data = addr + hsize;
		break;
	default:
		return -EINVAL;
	}
	if (*n > LEN_MAX)
		return -EINVAL;
	return 0;
}

/* Bytes of the repr's unit at p: an escape (\n, \xNN, \uNNNN, \UNNNNNNNN)
 * or one character's UTF-8 sequence, never split. */
static size_t repr_unit(const char *p, size_t left)
{
	size_t n = 1;

	if (p[0] == '\\' && left > 1)
		n = p[1] == 'x' ? 4 : p[1] == 'u' ? 6 : p[1] == 'U' ? 10 : 2;
	else if (((unsigned char)p[0] & 0xe0) == 0xc0)
		n = 2;
	else if (((unsigned char)p[0] & 0xf0) == 0xe0)
		n = 3;
	else if (((unsigned char)p[0] & 0xf8) == 0xf0)
		n = 4;
	return n < left ? n : left;
}

/*
 * A string's repr too long for the room left, as the whole repr: its start,
 * its closing quote, then "..." ('abcdef'...), cut between characters or
 * escapes; the buffer is then full, its ellipsis written.
 */
static void put_cut_repr(struct sbuf *s, const char *text, size_t len)
{
	size_t room = pyobj_sb_room(s), head, body;
	const char *q;

	q = memchr(text, text[len - 1], len - 1);	/* the opening quote */
	head = q ? (size_t)(q - text) + 1 : 1;
	if (room < head + 4 || len < head + 1) {
		s->full = true;
		return;
	}
	for (body = 0; head + body < len - 1;) {
		size_t u = repr_unit(text + head + body, len - 1 - head - body);

		if (head + body + u + 4 > room)
			break;
		body += u;
	}
	pyobj_sb_put(s, text, head + body);
	pyobj_sb_put(s, text + len - 1, 1);
	pyobj_sb_puts(s, "...");
	s->full = s->ended = true;
}

void pyobj_repr_string(struct ctx *c, struct sbuf *s, uint64_t addr, const struct tinfo *t)
{
	uint64_t n, data;
	unsigned int kind;
	size_t take, unit;
	const char *text;
	int err, len;

	err = str_data(c, addr, t, &n, &kind, &data);
	if (err == -EINVAL) {
		pyobj_put_other(s, t, addr);
		return;
	}
	if (err) {
		pyobj_put_unreadable(s, addr);
		return;
	}
	/* Characters past the budget only matter for knowing it was cut. */
	take = pyobj_sb_room(s) + 3;
	if (take > n)
		take = (size_t)n;
	unit = kind ? kind : 1;
	if (take * unit > c->data_len)
		take = c->data_len / unit;
	if (take && pyobj_rd(c, data, c->data, take * unit)) {
		pyobj_put_unreadable(s, addr);
		return;
	}
	if (kind)
		len = pystr__repr_str(kind, c->data, take, c->text, c->text_len);
	else
		len = pystr__repr_bytes(c->data, take, c->text, c->text_len);
	if (len < 0) {
		pyobj_put_other(s, t, addr);
		return;
	}
	/* 2.7 str: Python 2's repr, which is bytes' without the b. */
	text = c->text;
	if (t->kind == K_BYTES && c->r->major == 2) {
		text++;
		len--;
	}
	/* Cut inside a container, the text runs on to its "...": a closing
	 * quote there would pass for the string's end. */
	if ((take < n || (size_t)len > pyobj_sb_room(s)) && !c->depth)
		put_cut_repr(s, text, (size_t)len);
	else
		pyobj_sb_put(s, text, (size_t)len);
	if (take < n)
		s->full = true;
}

/* Decodes a string into out (UTF-8); -ENOSPC when cut. */
int pyobj_str_utf8(struct ctx *c, uint64_t addr, char *out, size_t outlen)
{
	uint8_t buf[NAME_MAX_BYTES * 4];
	const struct tinfo *t;
	uint64_t n, data;
	unsigned int kind;
	size_t take, unit;
	int err;

	if (!outlen)
		return -ENOSPC;
	out[0] = 0;
	if ((err = pyobj_type_of(c, addr, &t)))
		return err;
	if ((err = str_data(c, addr, t, &n, &kind, &data)))
		return err;
	unit = kind ? kind : 1;
	take = n < outlen ? (size_t)n : outlen;
	if (take * unit > sizeof(buf))
		take = sizeof(buf) / unit;
	if ((err = pyobj_rd(c, data, buf, take * unit)))
		return err;
	err = kind ? pystr__decode(kind, buf, take, out, outlen) :
		     pystr__from_bytes(buf, take, out, outlen);
	if (err < 0)
		return err;
	return take < n ? -ENOSPC : 0;
}

/*
 * Whether the object at addr is a str equal to the ASCII name. One read
 * covers the header and the characters.
 */
bool pyobj_str_is(struct ctx *c, uint64_t addr, const char *name)
{
	const struct py_obj_offsets *o = c->o;
	const struct str_layout *sl = c->r->sl;
	size_t nlen = strlen(name), hsize, need;
	uint8_t buf[192 + 64];
	const struct tinfo *t;
	uint32_t state;

	if (!addr || (addr & 7) || nlen > 64)
		return false;
	if (c->r->major == 2) {
		hsize = o->bytes_sval;
		need = hsize + nlen;
	} else {
		hsize = sl->ascii_size;
		need = max_sz(hsize, sl->state + 4u) + nlen;
	}
	if (need > sizeof(buf) || pyobj_rd(c, addr, buf, need))
		return false;
	if (pyobj_type_info(c, ld64(buf, o->ob_type), &t))
		return false;
	if (c->r->major == 2) {
		if (t->kind != K_BYTES || ld64(buf, o->ob_size) != nlen)
			return false;
	} else {
		if (t->kind != K_STR || ld64(buf, sl->length) != nlen)
			return false;
		state = ld32(buf, sl->state);
		if (!((state >> sl->ascii_bit) & 1) || !((state >> sl->compact_bit) & 1))
			return false;
	}
	return !memcmp(buf + hsize, name, nlen);
}

int pyobj__str(const struct pyobj_reader *r, uint64_t addr, char *out, size_t outlen)
{
	struct ctx c;
	int err;

	if (!r || !r->obj || !r->sl || !out || !outlen)
		return -EINVAL;
	out[0] = 0;
	pyobj_ctx_init(&c, r, 16);
	err = pyobj_str_utf8(&c, addr, out, outlen);
	pyobj_ctx_fini(&c);
	return err;
}
