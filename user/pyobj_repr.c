// SPDX-License-Identifier: BSD-2-Clause
/*
 * repr() of any object for dump --locals: the bounded output buffer every
 * repr writes to, the placeholders for what cannot be shown, and the
 * dispatch on the object's kind with the containers (list, tuple, dict),
 * which recurse and so guard against cycles and depth.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "pyobj.h"
#include "pyobj_int.h"

void pyobj_sb_init(struct sbuf *s, char *out, size_t lim)
{
	s->p = out;
	s->len = 0;
	s->lim = lim;
	s->full = false;
	s->ended = false;
}

void pyobj_sb_put(struct sbuf *s, const char *str, size_t n)
{
	size_t room;

	if (s->full)
		return;
	room = s->lim - s->len;
	if (n > room) {
		memcpy(s->p + s->len, str, room);
		s->len = s->lim;
		s->full = true;
		return;
	}
	memcpy(s->p + s->len, str, n);
	s->len += n;
}

void pyobj_sb_puts(struct sbuf *s, const char *str)
{
	pyobj_sb_put(s, str, strlen(str));
}

void pyobj_sb_printf(struct sbuf *s, const char *fmt, ...)
{
	char buf[160];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n > 0)
		pyobj_sb_put(s, buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
}

/* Bytes still free before the budget runs out. */
size_t pyobj_sb_room(const struct sbuf *s)
{
	return s->full ? 0 : s->lim - s->len;
}

/* Terminate; an overflowed repr ends in "..." within the limit. */
void pyobj_sb_finish(struct sbuf *s)
{
	size_t cut, i;

	if (s->full && !s->ended) {
		cut = s->lim >= 3 ? s->lim - 3 : 0;
		while (cut > 0 && ((unsigned char)s->p[cut] & 0xc0) == 0x80)
			cut--;
		for (i = 0; i < 3 && cut < s->lim; i++)
			s->p[cut++] = '.';
		s->len = cut;
	}
	s->p[s->len] = 0;
}

void pyobj_put_unreadable(struct sbuf *s, uint64_t addr)
{
	pyobj_sb_printf(s, "<unreadable at 0x%" PRIx64 ">", addr);
}

void pyobj_put_other(struct sbuf *s, const struct tinfo *t, uint64_t addr)
{
	pyobj_sb_printf(s, "<%s at 0x%" PRIx64 ">", t->name, addr);
}

static bool enter(struct ctx *c, struct sbuf *s, uint64_t addr, const char *loop)
{
	unsigned int i;

	for (i = 0; i < c->depth; i++) {
		if (c->stack[i] == addr) {
			pyobj_sb_puts(s, loop);
			return false;
		}
	}
	if (c->depth >= PYOBJ_MAX_DEPTH) {
		pyobj_sb_puts(s, loop);
		return false;
	}
	c->stack[c->depth++] = addr;
	return true;
}

/* list and tuple: items from the pointer array at items. */
static void repr_seq(struct ctx *c, struct sbuf *s, uint64_t addr, uint64_t n,
		     uint64_t items, bool tuple)
{
	uint64_t buf[CHUNK], i, first = 0, got = 0;

	if (!enter(c, s, addr, tuple ? "(...)" : "[...]"))
		return;
	pyobj_sb_puts(s, tuple ? "(" : "[");
	/* Each item prints something: the budget ends long lists. */
	for (i = 0; i < n && !s->full; i++) {
		if (i >= first + got) {
			/* Never across a page: the readable part of an array shows. */
			uint64_t at = items + i * 8, k = (4096 - (at & 4095)) / 8;

			if (k > CHUNK)
				k = CHUNK;
			if (k > n - i)
				k = n - i;
			if (!k || pyobj_rd(c, at, buf, k * 8)) {
				if (i)
					pyobj_sb_puts(s, ", ");
				pyobj_put_unreadable(s, at);
				break;
			}
			first = i;
			got = k;
		}
		if (i)
			pyobj_sb_puts(s, ", ");
		pyobj_repr_obj(c, s, buf[i - first]);
	}
	if (tuple && n == 1)
		pyobj_sb_puts(s, ",");
	pyobj_sb_puts(s, tuple ? ")" : "]");
	c->depth--;
}

static void repr_dict(struct ctx *c, struct sbuf *s, uint64_t addr, const struct tinfo *t)
{
	struct dict_iter it;
	uint64_t key, value;
	bool first = true;
	int ret;

	ret = pyobj_dict_iter_init(&it, c, addr);
	if (ret) {
		if (ret == -EINVAL)
			pyobj_put_other(s, t, addr);
		else
			pyobj_put_unreadable(s, addr);
		return;
	}
	if (!enter(c, s, addr, "{...}"))
		return;
	pyobj_sb_puts(s, "{");
	while (!s->full && (ret = pyobj_dict_next(&it, &key, &value)) == 1) {
		if (!first)
			pyobj_sb_puts(s, ", ");
		first = false;
		pyobj_repr_obj(c, s, key);
		pyobj_sb_puts(s, ": ");
		pyobj_repr_obj(c, s, value);
	}
	if (ret < 0) {
		if (!first)
			pyobj_sb_puts(s, ", ");
		pyobj_sb_puts(s, "<unreadable>");
	}
	pyobj_sb_puts(s, "}");
	c->depth--;
}

void pyobj_repr_obj(struct ctx *c, struct sbuf *s, uint64_t addr)
{
	const struct py_obj_offsets *o = c->o;
	const struct tinfo *t;
	uint64_t hdr[2];
	int64_t ival;

	if (s->full)
		return;
	if (!addr) {
		pyobj_sb_puts(s, "<NULL>");
		return;
	}
	if (pyobj_type_of(c, addr, &t)) {
		pyobj_put_unreadable(s, addr);
		return;
	}
	switch (t->kind) {
	case K_NONE:
		pyobj_sb_puts(s, "None");
		break;
	case K_BOOL:
		if (c->r->major == 2) {
			if (pyobj_rd(c, addr + o->int_ival, &ival, sizeof(ival)))
				pyobj_put_unreadable(s, addr);
			else
				pyobj_sb_puts(s, ival ? "True" : "False");
			break;
		}
		pyobj_repr_long(c, s, addr, t);
		break;
	case K_LONG:
		pyobj_repr_long(c, s, addr, t);
		break;
	case K_INT27:
		if (pyobj_rd(c, addr + o->int_ival, &ival, sizeof(ival)))
			pyobj_put_unreadable(s, addr);
		else
			pyobj_sb_printf(s, "%" PRId64, ival);
		break;
	case K_FLOAT:
		pyobj_repr_float(c, s, addr);
		break;
	case K_STR:
	case K_UNICODE27:
	case K_BYTES:
		pyobj_repr_string(c, s, addr, t);
		break;
	case K_LIST:
		/* ob_size, then the separately allocated item array. */
		if (pyobj_rd64(c, addr + o->ob_size, &hdr[0]) ||
		    pyobj_rd64(c, addr + o->list_item, &hdr[1]))
			pyobj_put_unreadable(s, addr);
		else if (hdr[0] > LEN_MAX || (hdr[0] && !hdr[1]))
			pyobj_put_other(s, t, addr);
		else
			repr_seq(c, s, addr, hdr[0], hdr[1], false);
		break;
	case K_TUPLE:
		if (pyobj_rd64(c, addr + o->ob_size, &hdr[0]))
			pyobj_put_unreadable(s, addr);
		else if (hdr[0] > LEN_MAX)
			pyobj_put_other(s, t, addr);
		else
			repr_seq(c, s, addr, hdr[0], addr + o->tuple_item, true);
		break;
	case K_DICT:
		repr_dict(c, s, addr, t);
		break;
	default:
		pyobj_put_other(s, t, addr);
		break;
	}
}

static size_t repr_limit(size_t budget, size_t outlen)
{
	size_t lim = budget < PYOBJ_MAX_BUDGET ? budget : PYOBJ_MAX_BUDGET;

	return lim < outlen - 1 ? lim : outlen - 1;
}

int pyobj__repr(const struct pyobj_reader *r, uint64_t addr, size_t budget,
		char *out, size_t outlen)
{
	const struct tinfo *t;
	struct sbuf s;
	struct ctx c;
	int err;

	if (!r || !r->obj || !r->off || !r->sl || !out || !outlen)
		return -EINVAL;
	pyobj_sb_init(&s, out, repr_limit(budget, outlen));
	pyobj_ctx_init(&c, r, PYOBJ_MAX_READS);
	if ((err = pyobj_ctx_buffers(&c, s.lim))) {
		out[0] = 0;
		return err;
	}
	/* The object itself must be readable; inner failures are placeholders. */
	err = addr ? pyobj_type_of(&c, addr, &t) : -EFAULT;
	if (err)
		pyobj_put_unreadable(&s, addr);
	else
		pyobj_repr_obj(&c, &s, addr);
	pyobj_sb_finish(&s);
	pyobj_ctx_fini(&c);
	return err;
}
