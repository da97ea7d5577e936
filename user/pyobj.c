// SPDX-License-Identifier: BSD-2-Clause
/*
 * Python objects read from a live process: reprs for dump --locals, frame
 * locals and thread names. See pyobj.h for the formats and the caps.
 *
 * All reads go through rd(), which counts them against the call's budget,
 * so every loop below is bounded twice: by its own cap and by the reads.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "offsets.h"
#include "pyobj.h"
#include "pyproc.h"
#include "pystr.h"
#include "remote.h"

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
};

static void ctx_init(struct ctx *c, const struct pyobj_reader *r, unsigned int reads)
{
	memset(c, 0, sizeof(*c));
	c->r = r;
	c->o = r->obj;
	c->reads = reads;
}

/* Room for the strings of reprs of at most lim bytes. */
static int ctx_buffers(struct ctx *c, size_t lim)
{
	/* A string is read up to lim + 3 characters; an escape is <= 10 bytes. */
	c->data_len = (lim + 3) * 4;
	c->text_len = (lim + 3) * 10 + 16;
	c->data = malloc(c->data_len);
	c->text = malloc(c->text_len);
	if (!c->data || !c->text) {
		free(c->data);
		free(c->text);
		return -ENOMEM;
	}
	return 0;
}

static void ctx_fini(struct ctx *c)
{
	free(c->data);
	free(c->text);
}

static int rd(struct ctx *c, uint64_t addr, void *buf, size_t len)
{
	if (!len)
		return 0;
	if (!c->reads)
		return -E2BIG;
	/* Below the first page, wrapping or beyond user space: not an object. */
	if (addr < 4096 || len > READ_MAX || addr + len < addr ||
	    addr + len > (1ull << 57))
		return -EFAULT;
	c->reads--;
	return remote_read(c->r->pid, addr, buf, len);
}

static int rd64(struct ctx *c, uint64_t addr, uint64_t *v)
{
	return rd(c, addr, v, sizeof(*v));
}

static uint64_t ld64(const uint8_t *b, size_t at)
{
	uint64_t v;

	memcpy(&v, b + at, sizeof(v));
	return v;
}

static uint32_t ld32(const uint8_t *b, size_t at)
{
	uint32_t v;

	memcpy(&v, b + at, sizeof(v));
	return v;
}

static size_t max_sz(size_t a, size_t b)
{
	return a > b ? a : b;
}

/* ---- output ---- */

static void sb_init(struct sbuf *s, char *out, size_t lim)
{
	s->p = out;
	s->len = 0;
	s->lim = lim;
	s->full = false;
}

static void sb_put(struct sbuf *s, const char *str, size_t n)
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

static void sb_puts(struct sbuf *s, const char *str)
{
	sb_put(s, str, strlen(str));
}

static void sb_printf(struct sbuf *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void sb_printf(struct sbuf *s, const char *fmt, ...)
{
	char buf[160];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n > 0)
		sb_put(s, buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
}

/* Bytes still free before the budget runs out. */
static size_t sb_room(const struct sbuf *s)
{
	return s->full ? 0 : s->lim - s->len;
}

/* Terminate; an overflowed repr ends in "..." within the limit. */
static void sb_finish(struct sbuf *s)
{
	size_t cut, i;

	if (s->full) {
		cut = s->lim >= 3 ? s->lim - 3 : 0;
		while (cut > 0 && ((unsigned char)s->p[cut] & 0xc0) == 0x80)
			cut--;
		for (i = 0; i < 3 && cut < s->lim; i++)
			s->p[cut++] = '.';
		s->len = cut;
	}
	s->p[s->len] = 0;
}

static void put_unreadable(struct sbuf *s, uint64_t addr)
{
	sb_printf(s, "<unreadable at 0x%" PRIx64 ">", addr);
}

static void put_other(struct sbuf *s, const struct tinfo *t, uint64_t addr)
{
	sb_printf(s, "<%s at 0x%" PRIx64 ">", t->name, addr);
}

/* ---- types ---- */

static const struct {
	const char *name;
	enum kind k3, k2;	/* on 3.x, on 2.7 */
} builtin_types[] = {
	{ "NoneType", K_NONE, K_NONE },
	{ "bool", K_BOOL, K_BOOL },
	{ "int", K_LONG, K_INT27 },
	{ "long", K_OTHER, K_LONG },
	{ "float", K_FLOAT, K_FLOAT },
	{ "str", K_STR, K_BYTES },
	{ "unicode", K_OTHER, K_UNICODE27 },
	{ "bytes", K_BYTES, K_OTHER },
	{ "list", K_LIST, K_LIST },
	{ "tuple", K_TUPLE, K_TUPLE },
	{ "dict", K_DICT, K_DICT },
	{ "cell", K_CELL, K_CELL },
	{ "code", K_CODE, K_CODE },
	{ "module", K_MODULE, K_MODULE },
};

/* A NUL-terminated string of at most max - 1 bytes, read page by page. */
static int rd_cstr(struct ctx *c, uint64_t addr, char *out, size_t max)
{
	size_t got = 0;

	out[0] = 0;
	while (got + 1 < max) {
		size_t want = 4096 - ((addr + got) & 4095), i;
		int err;

		if (want > max - 1 - got)
			want = max - 1 - got;
		err = rd(c, addr + got, out + got, want);
		if (err)
			return err;
		for (i = got; i < got + want; i++) {
			if (!out[i])
				return 0;
		}
		got += want;
	}
	out[got] = 0;
	return 0;
}

static int type_info(struct ctx *c, uint64_t type, const struct tinfo **out)
{
	const struct py_obj_offsets *o = c->o;
	struct tinfo nt, *t;
	uint8_t hdr[512];
	size_t need, i;
	int err;

	if (!type || (type & 7))
		return -EFAULT;
	for (i = 0; i < c->ntypes; i++) {
		if (c->types[i].addr == type) {
			*out = &c->types[i];
			return 0;
		}
	}
	need = max_sz(o->type_name, o->type_flags);
	need = max_sz(need, o->type_basicsize);
	need = max_sz(need, o->type_dictoffset) + 8;
	if (need > sizeof(hdr))
		return -EINVAL;
	if ((err = rd(c, type, hdr, need)))
		return err;
	memset(&nt, 0, sizeof(nt));
	t = &nt;
	err = rd_cstr(c, ld64(hdr, o->type_name), t->name, sizeof(t->name));
	if (err || !t->name[0])
		return err ? err : -EINVAL;
	for (i = 0; t->name[i]; i++) {
		if (t->name[i] < 0x20 || t->name[i] > 0x7e)
			t->name[i] = '?';
	}
	t->addr = type;
	t->flags = ld64(hdr, o->type_flags);
	t->basicsize = (int64_t)ld64(hdr, o->type_basicsize);
	t->dictoffset = (int64_t)ld64(hdr, o->type_dictoffset);
	t->heap = (t->flags >> o->tpflag_heaptype) & 1;
	t->kind = K_OTHER;
	/* Classes may reuse builtin names: only static types are builtins. */
	for (i = 0; !t->heap && i < sizeof(builtin_types) / sizeof(builtin_types[0]); i++) {
		if (!strcmp(t->name, builtin_types[i].name)) {
			t->kind = c->r->major == 2 ? builtin_types[i].k2 : builtin_types[i].k3;
			break;
		}
	}
	if (c->ntypes < TYPE_CACHE) {
		t = &c->types[c->ntypes++];
	} else {
		t = &c->types[c->evict];
		c->evict = (c->evict + 1) % TYPE_CACHE;
	}
	*t = nt;
	*out = t;
	return 0;
}

/* The type of the object at addr. */
static int type_of(struct ctx *c, uint64_t addr, const struct tinfo **out)
{
	uint64_t type;
	int err;

	if (addr & 7)
		return -EFAULT;
	if ((err = rd64(c, addr + c->o->ob_type, &type)))
		return err;
	return type_info(c, type, out);
}

static bool tp_has(const struct tinfo *t, unsigned int bit)
{
	return bit && ((t->flags >> bit) & 1);
}

/* ---- numbers ---- */

/*
 * Digits (base 2^shift, least significant first) to decimal, the way
 * CPython does it: repeated multiply-add into base 10^9 limbs.
 */
static void long_to_dec(const uint32_t *d, size_t nd, unsigned int shift, bool neg,
			struct sbuf *s)
{
	uint32_t limbs[PYOBJ_MAX_LONG_DIGITS * 2 + 2];
	char buf[PYOBJ_MAX_LONG_DIGITS * 10 + 16], *p;
	size_t n = 0, i, j;

	for (i = nd; i-- > 0;) {
		uint64_t carry = d[i];

		for (j = 0; j < n; j++) {
			uint64_t z = ((uint64_t)limbs[j] << shift) | carry;

			carry = z / 1000000000u;
			limbs[j] = (uint32_t)(z - carry * 1000000000u);
		}
		while (carry && n < sizeof(limbs) / sizeof(limbs[0])) {
			limbs[n++] = (uint32_t)(carry % 1000000000u);
			carry /= 1000000000u;
		}
	}
	p = buf + sizeof(buf);
	*--p = 0;
	if (!n)
		*--p = '0';
	for (i = 0; i < n; i++) {
		uint32_t v = limbs[i];
		int k;

		for (k = 0; k < 9 && (v || i + 1 < n); k++) {
			*--p = (char)('0' + v % 10);
			v /= 10;
		}
	}
	if (neg && n)
		*--p = '-';
	sb_puts(s, p);
}

/*
 * A PyLongObject's sign and digits. Returns the digit count, or a negative
 * errno (-ERANGE: more than PYOBJ_MAX_LONG_DIGITS, -EINVAL: inconsistent).
 */
static int read_long(struct ctx *c, uint64_t addr, uint32_t *digits, bool *neg)
{
	const struct py_obj_offsets *o = c->o;
	uint8_t raw[PYOBJ_MAX_LONG_DIGITS * 4];
	uint64_t tag, nd;
	size_t i;
	int err;

	if ((err = rd64(c, addr + o->long_size, &tag)))
		return err;
	if (o->long_tag_bits) {
		/* 3.12+: lv_tag = digits << bits | sign (0 +, 1 zero, 2 -) */
		unsigned int sign = tag & 3;

		if (sign == 3)
			return -EINVAL;
		nd = tag >> o->long_tag_bits;
		*neg = sign == 2;
		if ((sign == 1) != (nd == 0))
			return -EINVAL;
	} else {
		int64_t sz = (int64_t)tag;

		*neg = sz < 0;
		nd = sz < 0 ? -(uint64_t)sz : (uint64_t)sz;
	}
	if (nd > PYOBJ_MAX_LONG_DIGITS)
		return -ERANGE;
	if (o->long_digit_size != 2 && o->long_digit_size != 4)
		return -EINVAL;
	if ((err = rd(c, addr + o->long_digit, raw, nd * o->long_digit_size)))
		return err;
	for (i = 0; i < nd; i++) {
		uint32_t v;

		if (o->long_digit_size == 4) {
			v = ld32(raw, i * 4);
		} else {
			uint16_t h;

			memcpy(&h, raw + i * 2, 2);
			v = h;
		}
		if (o->long_shift >= 32 || v >> o->long_shift)
			return -EINVAL;
		digits[i] = v;
	}
	/* Normalized: no leading zero digit. */
	if (nd && !digits[nd - 1])
		return -EINVAL;
	return (int)nd;
}

/* An int object's value when it fits 64 bits (thread idents). */
static int long_value(struct ctx *c, uint64_t addr, const struct tinfo *t, uint64_t *v)
{
	uint32_t d[PYOBJ_MAX_LONG_DIGITS];
	bool neg;
	int nd, i;

	if (t->kind == K_INT27)
		return rd64(c, addr + c->o->int_ival, v);
	if (t->kind != K_LONG)
		return -EINVAL;
	nd = read_long(c, addr, d, &neg);
	if (nd < 0)
		return nd;
	*v = 0;
	for (i = nd; i-- > 0;) {
		if (*v >> (64 - c->o->long_shift))
			return -ERANGE;
		*v = *v << c->o->long_shift | d[i];
	}
	if (neg)
		*v = -*v;
	return 0;
}

static void repr_long(struct ctx *c, struct sbuf *s, uint64_t addr, const struct tinfo *t)
{
	uint32_t d[PYOBJ_MAX_LONG_DIGITS];
	bool neg;
	int nd;

	nd = read_long(c, addr, d, &neg);
	if (nd == -EFAULT || nd == -E2BIG || nd == -ESRCH)
		put_unreadable(s, addr);
	else if (nd < 0)
		put_other(s, t, addr);
	else if (t->kind == K_BOOL)
		sb_puts(s, nd ? "True" : "False");
	else
		long_to_dec(d, (size_t)nd, c->o->long_shift, neg, s);
}

/*
 * buf ("d.ddde+XX") is the nearest decimal with its digit count but does not
 * read back as v: next to a power of two the doubles around v are unevenly
 * spaced, and the decimal one unit away on the wider side may. If so, put
 * it in buf (what Python's repr() gives) and return true.
 */
static bool shortest_neighbour(char *buf, double v)
{
	char cand[48];
	int step, i;

	for (step = -1; step <= 1; step += 2) {
		char *e;

		snprintf(cand, sizeof(cand), "%s", buf);
		e = strchr(cand, 'e');
		if (!e)
			return false;
		/* Add step to the last digit, carrying; no carry out of the first. */
		for (i = (int)(e - cand) - 1; i >= 0; i--) {
			if (cand[i] == '.' )
				continue;
			if (cand[i] < '0' || cand[i] > '9')
				break;
			if (step > 0 && cand[i] == '9') {
				cand[i] = '0';
				continue;
			}
			if (step < 0 && cand[i] == '0') {
				cand[i] = '9';
				continue;
			}
			cand[i] = (char)(cand[i] + step);
			break;
		}
		if (i < 0 || cand[i] < '0' || cand[i] > '9' ||
		    (cand[i] == '0' && (i == 0 || cand[i - 1] == '-')))
			continue;	/* would change the digit count */
		if (strtod(cand, NULL) == v) {
			memcpy(buf, cand, strlen(cand) + 1);
			return true;
		}
	}
	return false;
}

/*
 * repr(float): the shortest digits that read back as v, laid out as Python
 * does (fixed notation when the decimal exponent is in [-4, 16), else
 * d.ddde+XX), always with a '.' or an exponent.
 */
static void format_float(double v, char *out, size_t outlen)
{
	char buf[48], digits[24], *p;
	int prec, exp10, ndig = 0, decpt, i;
	size_t n = 0;
	bool neg;

	if (isnan(v)) {
		snprintf(out, outlen, "nan");
		return;
	}
	if (isinf(v)) {
		snprintf(out, outlen, v < 0 ? "-inf" : "inf");
		return;
	}
	for (prec = 1; prec <= 17; prec++) {
		snprintf(buf, sizeof(buf), "%.*e", prec - 1, v);
		if (strtod(buf, NULL) == v || shortest_neighbour(buf, v))
			break;
	}
	p = buf;
	neg = *p == '-';
	if (neg)
		p++;
	for (; *p && *p != 'e'; p++) {
		if (*p >= '0' && *p <= '9' && ndig < (int)sizeof(digits) - 1)
			digits[ndig++] = *p;
	}
	exp10 = *p == 'e' ? atoi(p + 1) : 0;
	while (ndig > 1 && digits[ndig - 1] == '0')
		ndig--;
	digits[ndig] = 0;
	decpt = exp10 + 1;	/* v = 0.DIGITS * 10^decpt */

#define OUT(ch) do { if (n + 1 < outlen) out[n++] = (ch); } while (0)
	if (neg)
		OUT('-');
	if (decpt > -4 && decpt <= 16) {
		if (decpt <= 0) {
			OUT('0');
			OUT('.');
			for (i = 0; i < -decpt; i++)
				OUT('0');
			for (i = 0; i < ndig; i++)
				OUT(digits[i]);
		} else {
			for (i = 0; i < decpt; i++)
				OUT(i < ndig ? digits[i] : '0');
			OUT('.');
			if (decpt >= ndig)
				OUT('0');
			for (i = decpt; i < ndig; i++)
				OUT(digits[i]);
		}
	} else {
		char e[16];

		OUT(digits[0]);
		if (ndig > 1) {
			OUT('.');
			for (i = 1; i < ndig; i++)
				OUT(digits[i]);
		}
		snprintf(e, sizeof(e), "e%c%02d", exp10 < 0 ? '-' : '+', abs(exp10));
		for (i = 0; e[i]; i++)
			OUT(e[i]);
	}
#undef OUT
	out[n] = 0;
}

static void repr_float(struct ctx *c, struct sbuf *s, uint64_t addr)
{
	char buf[64];
	double v;

	if (rd(c, addr + c->o->float_fval, &v, sizeof(v))) {
		put_unreadable(s, addr);
		return;
	}
	format_float(v, buf, sizeof(buf));
	sb_puts(s, buf);
}

/* ---- strings ---- */

/*
 * Where a string's characters are: count, bytes per char (1, 2, 4; 0 for a
 * byte string) and address. 0, negative errno, or -EINVAL (not a string we
 * can read: wrong type, legacy non-compact str, bad kind).
 */
static int str_data(struct ctx *c, uint64_t addr, const struct tinfo *t, uint64_t *n,
		    unsigned int *kind, uint64_t *data)
{
	const struct py_obj_offsets *o = c->o;
	const struct str_layout *sl = c->r->sl;
	uint8_t hdr[128];
	uint32_t state;
	int err;

	switch (t->kind) {
	case K_BYTES:
		if ((err = rd64(c, addr + o->ob_size, n)))
			return err;
		*kind = 0;
		*data = addr + o->bytes_sval;
		break;
	case K_UNICODE27:
		if ((err = rd64(c, addr + o->str_length, n)))
			return err;
		if ((err = rd64(c, addr + o->str_data27, data)))
			return err;
		*kind = o->str_unicode_size27;
		if (*kind != 2 && *kind != 4)
			return -EINVAL;
		break;
	case K_STR:
		if (sl->ascii_size > sizeof(hdr) || sl->state + 4u > sl->ascii_size ||
		    sl->length + 8u > sl->ascii_size)
			return -EINVAL;
		if ((err = rd(c, addr, hdr, sl->ascii_size)))
			return err;
		*n = ld64(hdr, sl->length);
		state = ld32(hdr, sl->state);
		*kind = (state >> sl->kind_shift) & ((1u << o->str_kind_bits) - 1);
		if (!((state >> sl->compact_bit) & 1))
			return -EINVAL;	/* legacy string (pre-3.12 C API) */
		if (*kind != 1 && *kind != 2 && *kind != 4)
			return -EINVAL;
		*data = addr + (((state >> sl->ascii_bit) & 1) ? sl->ascii_size : sl->compact_size);
		break;
	default:
		return -EINVAL;
	}
	if (*n > LEN_MAX)
		return -EINVAL;
	return 0;
}

static void repr_string(struct ctx *c, struct sbuf *s, uint64_t addr, const struct tinfo *t)
{
	uint64_t n, data;
	unsigned int kind;
	size_t take, unit;
	int err, len;

	err = str_data(c, addr, t, &n, &kind, &data);
	if (err == -EINVAL) {
		put_other(s, t, addr);
		return;
	}
	if (err) {
		put_unreadable(s, addr);
		return;
	}
	/* Characters past the budget only matter for knowing it was cut. */
	take = sb_room(s) + 3;
	if (take > n)
		take = (size_t)n;
	unit = kind ? kind : 1;
	if (take * unit > c->data_len)
		take = c->data_len / unit;
	if (take && rd(c, data, c->data, take * unit)) {
		put_unreadable(s, addr);
		return;
	}
	if (kind)
		len = pystr__repr_str(kind, c->data, take, c->text, c->text_len);
	else
		len = pystr__repr_bytes(c->data, take, c->text, c->text_len);
	if (len < 0) {
		put_other(s, t, addr);
		return;
	}
	/* 2.7 str: Python 2's repr, which is bytes' without the b. */
	if (t->kind == K_BYTES && c->r->major == 2)
		sb_put(s, c->text + 1, (size_t)len - 1);
	else
		sb_put(s, c->text, (size_t)len);
	if (take < n)
		s->full = true;
}

/* Decodes a string into out (UTF-8); -ENOSPC when cut. */
static int str_utf8(struct ctx *c, uint64_t addr, char *out, size_t outlen)
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
	if ((err = type_of(c, addr, &t)))
		return err;
	if ((err = str_data(c, addr, t, &n, &kind, &data)))
		return err;
	unit = kind ? kind : 1;
	take = n < outlen ? (size_t)n : outlen;
	if (take * unit > sizeof(buf))
		take = sizeof(buf) / unit;
	if ((err = rd(c, data, buf, take * unit)))
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
static bool str_is(struct ctx *c, uint64_t addr, const char *name)
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
	if (need > sizeof(buf) || rd(c, addr, buf, need))
		return false;
	if (type_info(c, ld64(buf, o->ob_type), &t))
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

/* ---- dicts ---- */

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

static int iter_keys(struct dict_iter *it, uint64_t keys)
{
	struct ctx *c = it->c;
	const struct py_obj_offsets *o = c->o;
	uint8_t hdr[64];
	uint64_t size, nentries, ixbytes;
	int err;

	if (o->dk_indices > sizeof(hdr) || !keys)
		return -EINVAL;
	if ((err = rd(c, keys, hdr, o->dk_indices)))
		return err;
	nentries = ld64(hdr, o->dk_nentries);
	if (o->dict_era == PY_DICT_COMPACT) {
		size = ld64(hdr, o->dk_size);
		/* Empty dicts share Py_EMPTY_KEYS, of size 1. */
		if (!size || size > PYOBJ_MAX_DICT_SLOTS || (size & (size - 1)))
			return -EINVAL;
		ixbytes = size * (size <= 0xff ? 1 : size <= 0xffff ? 2 : 4);
		it->esize = o->dict_entry_size;
	} else {
		unsigned int log2 = hdr[o->dk_size], log2ix = hdr[o->dk_log2_index_bytes];
		unsigned int kind = hdr[o->dk_kind];

		/* Index entries are 1, 2, 4 or 8 bytes: log2ix - log2 in 0..3. */
		if (log2 > 31 || log2ix < log2 || log2ix > log2 + 3 || kind > 2)
			return -EINVAL;
		size = 1ull << log2;
		if (size > PYOBJ_MAX_DICT_SLOTS)
			return -EINVAL;
		ixbytes = 1ull << log2ix;
		it->esize = kind ? o->dict_uentry_size : o->dict_entry_size;
	}
	if (nentries > size || it->esize < 16 || it->esize > 24)
		return -EINVAL;
	it->entries = keys + o->dk_indices + ixbytes;
	it->n = nentries;
	return 0;
}

/* Split values (3.11+): where values[0] is, and the insertion order. */
static int iter_values(struct dict_iter *it, uint64_t values)
{
	struct ctx *c = it->c;
	const struct py_obj_offsets *o = c->o;
	uint8_t buf[256];
	int err;

	if (!values || (values & 7))
		return -EINVAL;
	if (o->dict_era == PY_DICT_COMPACT) {
		it->values = values;	/* values[i] goes with entry i */
		return 0;
	}
	if (o->dict_era == PY_DICT_INLINE) {
		uint8_t hdr[8];
		unsigned int cap, size;

		if (!o->dv_values || o->dv_values > sizeof(hdr) ||
		    o->dv_size >= o->dv_values || o->dv_capacity >= o->dv_values)
			return -EINVAL;
		if ((err = rd(c, values, hdr, o->dv_values)))
			return err;
		cap = hdr[o->dv_capacity];
		size = hdr[o->dv_size];
		if (size > cap)
			return -EINVAL;
		it->values = values + o->dv_values;
		if (size && (err = rd(c, it->values + cap * 8ull, it->order, size)))
			return err;
		it->norder = size;
	} else {
		/* 3.11, 3.12: [-1] prefix size, [-2] item count, [-3 - i] order. */
		unsigned int prefix, used, i;

		if ((err = rd(c, values - 1, buf, 1)))
			return err;
		prefix = buf[0];
		if (prefix < 2)
			return -EINVAL;
		if ((err = rd(c, values - prefix, buf, prefix)))
			return err;
		used = buf[prefix - 2];
		if (used + 2 > prefix)
			return -EINVAL;
		for (i = 0; i < used; i++)
			it->order[i] = buf[prefix - 3 - i];
		it->norder = used;
		it->values = values;
	}
	it->ordered = true;
	return 0;
}

static int dict_iter_init(struct dict_iter *it, struct ctx *c, uint64_t dict)
{
	const struct py_obj_offsets *o = c->o;
	uint8_t hdr[64];
	size_t need;
	int err;

	memset(it, 0, sizeof(*it));
	it->c = c;
	if (o->dict_era == PY_DICT_OPEN27) {
		uint64_t mask;

		need = max_sz(o->dict_mask27, o->dict_table27) + 8;
		if (need > sizeof(hdr))
			return -EINVAL;
		if ((err = rd(c, dict, hdr, need)))
			return err;
		mask = ld64(hdr, o->dict_mask27);
		if (mask < 7 || mask >= PYOBJ_MAX_DICT_SLOTS || (mask & (mask + 1)))
			return -EINVAL;
		it->entries = ld64(hdr, o->dict_table27);
		it->esize = o->dict_entry_size;
		it->n = mask + 1;
		return 0;
	}
	need = max_sz(o->dict_keys, o->dict_values) + 8;
	if (need > sizeof(hdr))
		return -EINVAL;
	if ((err = rd(c, dict, hdr, need)))
		return err;
	if ((err = iter_keys(it, ld64(hdr, o->dict_keys))))
		return err;
	if (ld64(hdr, o->dict_values))
		return iter_values(it, ld64(hdr, o->dict_values));
	return 0;
}

/* Instance attributes kept as values only (3.11+): keys are the type's. */
static int values_iter_init(struct dict_iter *it, struct ctx *c, uint64_t keys,
			    uint64_t values)
{
	int err;

	memset(it, 0, sizeof(*it));
	it->c = c;
	if ((err = iter_keys(it, keys)))
		return err;
	return iter_values(it, values);
}

/* The entry at index i: key and, for combined tables, value. */
static int entry_at(struct dict_iter *it, uint64_t i, uint64_t *key, uint64_t *value)
{
	uint64_t first;
	int err;

	if (i >= it->n)
		return -EINVAL;
	if (!it->chunk_n || i < it->chunk_first || i >= it->chunk_first + it->chunk_n) {
		first = it->ordered ? i : i - i % CHUNK;
		it->chunk_n = it->ordered ? 1 : (it->n - first < CHUNK ? it->n - first : CHUNK);
		err = rd(it->c, it->entries + first * it->esize, it->chunk,
			 it->chunk_n * it->esize);
		if (err) {
			it->chunk_n = 0;
			return err;
		}
		it->chunk_first = first;
	}
	first = (i - it->chunk_first) * it->esize;
	*key = ld64(it->chunk, first + it->esize - 16);
	*value = ld64(it->chunk, first + it->esize - 8);
	return 0;
}

/* Next live item: 1 and key/value, 0 at the end, or a negative errno. */
static int dict_next(struct dict_iter *it, uint64_t *key, uint64_t *value)
{
	uint64_t idx;
	int err;

	for (;;) {
		if (it->ordered) {
			if (it->i >= it->norder)
				return 0;
			idx = it->order[it->i++];
		} else {
			if (it->i >= it->n)
				return 0;
			idx = it->i++;
		}
		if ((err = entry_at(it, idx, key, value)))
			return err;
		if (it->values && (err = rd64(it->c, it->values + idx * 8, value)))
			return err;
		/* Empty, deleted (2.7: dummy key with no value) or not set here. */
		if (*key && *value)
			return 1;
	}
}

static int dict_lookup(struct dict_iter *it, const char *name, uint64_t *value)
{
	uint64_t key;
	int ret;

	while ((ret = dict_next(it, &key, value)) == 1) {
		if (str_is(it->c, key, name))
			return 0;
	}
	return ret ? ret : -ENOENT;
}

static int dict_get(struct ctx *c, uint64_t dict, const char *name, uint64_t *value)
{
	struct dict_iter it;
	const struct tinfo *t;
	int err;

	if ((err = type_of(c, dict, &t)))
		return err;
	if (t->kind != K_DICT)
		return -EINVAL;
	if ((err = dict_iter_init(&it, c, dict)))
		return err;
	return dict_lookup(&it, name, value);
}

/* An instance attribute, from wherever this version keeps the instance dict. */
static int attr_get(struct ctx *c, uint64_t obj, const char *name, uint64_t *value)
{
	const struct py_obj_offsets *o = c->o;
	const struct tinfo *t;
	uint64_t dict = 0, values = 0, keys;
	struct dict_iter it;
	int err;

	if ((err = type_of(c, obj, &t)))
		return err;
	if (tp_has(t, o->tpflag_managed_dict)) {
		if (o->dict_era == PY_DICT_LOG2_311) {
			if ((err = rd64(c, obj + o->managed_values, &values)))
				return err;
			if (!values && (err = rd64(c, obj + o->managed_dict, &dict)))
				return err;
		} else if (o->dict_era == PY_DICT_LOG2_312) {
			uint64_t dorv;

			/* Tagged: odd is the values pointer - 1, even a dict. */
			if ((err = rd64(c, obj + o->managed_dict, &dorv)))
				return err;
			if (dorv & 1)
				values = dorv + 1;
			else
				dict = dorv;
		} else {
			if ((err = rd64(c, obj + o->managed_dict, &dict)))
				return err;
			if (!dict && tp_has(t, o->tpflag_inline_values)) {
				uint8_t valid;

				if (t->basicsize < 16 || t->basicsize > 4096 || (t->basicsize & 7))
					return -EINVAL;
				values = obj + (uint64_t)t->basicsize;
				if ((err = rd(c, values + o->dv_valid, &valid, 1)))
					return err;
				if (!valid)
					return -ENOENT;
			}
		}
	} else if (t->dictoffset > 0 && t->dictoffset < 65536) {
		if ((err = rd64(c, obj + (uint64_t)t->dictoffset, &dict)))
			return err;
	}
	if (values) {
		if (!t->heap || !o->heaptype_cached_keys)
			return -EINVAL;
		if ((err = rd64(c, t->addr + o->heaptype_cached_keys, &keys)))
			return err;
		if ((err = values_iter_init(&it, c, keys, values)))
			return err;
		return dict_lookup(&it, name, value);
	}
	if (!dict)
		return -ENOENT;
	return dict_get(c, dict, name, value);
}

/* ---- repr ---- */

static void repr_obj(struct ctx *c, struct sbuf *s, uint64_t addr);

static bool enter(struct ctx *c, struct sbuf *s, uint64_t addr, const char *loop)
{
	unsigned int i;

	for (i = 0; i < c->depth; i++) {
		if (c->stack[i] == addr) {
			sb_puts(s, loop);
			return false;
		}
	}
	if (c->depth >= PYOBJ_MAX_DEPTH) {
		sb_puts(s, loop);
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
	sb_puts(s, tuple ? "(" : "[");
	/* Each item prints something: the budget ends long lists. */
	for (i = 0; i < n && !s->full; i++) {
		if (i >= first + got) {
			/* Never across a page: the readable part of an array shows. */
			uint64_t at = items + i * 8, k = (4096 - (at & 4095)) / 8;

			if (k > CHUNK)
				k = CHUNK;
			if (k > n - i)
				k = n - i;
			if (!k || rd(c, at, buf, k * 8)) {
				if (i)
					sb_puts(s, ", ");
				put_unreadable(s, at);
				break;
			}
			first = i;
			got = k;
		}
		if (i)
			sb_puts(s, ", ");
		repr_obj(c, s, buf[i - first]);
	}
	if (tuple && n == 1)
		sb_puts(s, ",");
	sb_puts(s, tuple ? ")" : "]");
	c->depth--;
}

static void repr_dict(struct ctx *c, struct sbuf *s, uint64_t addr, const struct tinfo *t)
{
	struct dict_iter it;
	uint64_t key, value;
	bool first = true;
	int ret;

	ret = dict_iter_init(&it, c, addr);
	if (ret) {
		if (ret == -EINVAL)
			put_other(s, t, addr);
		else
			put_unreadable(s, addr);
		return;
	}
	if (!enter(c, s, addr, "{...}"))
		return;
	sb_puts(s, "{");
	while (!s->full && (ret = dict_next(&it, &key, &value)) == 1) {
		if (!first)
			sb_puts(s, ", ");
		first = false;
		repr_obj(c, s, key);
		sb_puts(s, ": ");
		repr_obj(c, s, value);
	}
	if (ret < 0) {
		if (!first)
			sb_puts(s, ", ");
		sb_puts(s, "<unreadable>");
	}
	sb_puts(s, "}");
	c->depth--;
}

static void repr_obj(struct ctx *c, struct sbuf *s, uint64_t addr)
{
	const struct py_obj_offsets *o = c->o;
	const struct tinfo *t;
	uint64_t hdr[2];
	int64_t ival;

	if (s->full)
		return;
	if (!addr) {
		sb_puts(s, "<NULL>");
		return;
	}
	if (type_of(c, addr, &t)) {
		put_unreadable(s, addr);
		return;
	}
	switch (t->kind) {
	case K_NONE:
		sb_puts(s, "None");
		break;
	case K_BOOL:
		if (c->r->major == 2) {
			if (rd(c, addr + o->int_ival, &ival, sizeof(ival)))
				put_unreadable(s, addr);
			else
				sb_puts(s, ival ? "True" : "False");
			break;
		}
		repr_long(c, s, addr, t);
		break;
	case K_LONG:
		repr_long(c, s, addr, t);
		break;
	case K_INT27:
		if (rd(c, addr + o->int_ival, &ival, sizeof(ival)))
			put_unreadable(s, addr);
		else
			sb_printf(s, "%" PRId64, ival);
		break;
	case K_FLOAT:
		repr_float(c, s, addr);
		break;
	case K_STR:
	case K_UNICODE27:
	case K_BYTES:
		repr_string(c, s, addr, t);
		break;
	case K_LIST:
		/* ob_size, then the separately allocated item array. */
		if (rd64(c, addr + o->ob_size, &hdr[0]) || rd64(c, addr + o->list_item, &hdr[1]))
			put_unreadable(s, addr);
		else if (hdr[0] > LEN_MAX || (hdr[0] && !hdr[1]))
			put_other(s, t, addr);
		else
			repr_seq(c, s, addr, hdr[0], hdr[1], false);
		break;
	case K_TUPLE:
		if (rd64(c, addr + o->ob_size, &hdr[0]))
			put_unreadable(s, addr);
		else if (hdr[0] > LEN_MAX)
			put_other(s, t, addr);
		else
			repr_seq(c, s, addr, hdr[0], addr + o->tuple_item, true);
		break;
	case K_DICT:
		repr_dict(c, s, addr, t);
		break;
	default:
		put_other(s, t, addr);
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
	sb_init(&s, out, repr_limit(budget, outlen));
	ctx_init(&c, r, PYOBJ_MAX_READS);
	if ((err = ctx_buffers(&c, s.lim))) {
		out[0] = 0;
		return err;
	}
	/* The object itself must be readable; inner failures are placeholders. */
	err = addr ? type_of(&c, addr, &t) : -EFAULT;
	if (err)
		put_unreadable(&s, addr);
	else
		repr_obj(&c, &s, addr);
	sb_finish(&s);
	ctx_fini(&c);
	return err;
}

/* ---- frames ---- */

struct tuple_names {
	uint64_t n;
	uint64_t items[PYOBJ_MAX_LOCALS];
};

static int read_tuple(struct ctx *c, uint64_t addr, struct tuple_names *tn)
{
	const struct tinfo *t;
	uint64_t n;
	int err;

	tn->n = 0;
	if (!addr)
		return 0;
	if ((err = type_of(c, addr, &t)))
		return err;
	if (t->kind != K_TUPLE)
		return -EINVAL;
	if ((err = rd64(c, addr + c->o->ob_size, &n)))
		return err;
	if (n > LEN_MAX)
		return -EINVAL;
	if (n > PYOBJ_MAX_LOCALS)
		n = PYOBJ_MAX_LOCALS;
	if ((err = rd(c, addr + c->o->tuple_item, tn->items, n * 8)))
		return err;
	tn->n = n;
	return 0;
}

struct locals_out {
	struct local_variable *v;
	unsigned int n, cap;
	size_t budget;
};

static int add_local(struct ctx *c, struct locals_out *lo, uint64_t name_addr,
		     uint64_t value, bool arg)
{
	char name[NAME_MAX_BYTES];
	struct local_variable *v;
	struct sbuf s;
	char *repr;
	int err;

	if (lo->n >= lo->cap)
		return -E2BIG;
	err = str_utf8(c, name_addr, name, sizeof(name));
	if (err && err != -ENOSPC)
		snprintf(name, sizeof(name), "<unreadable>");
	repr = malloc(lo->budget + 1);
	v = &lo->v[lo->n];
	v->name = strdup(name);
	if (!repr || !v->name) {
		free(repr);
		free((char *)v->name);
		v->name = NULL;
		return -ENOMEM;
	}
	/* Each value gets its own share of reads, within the frame's. */
	{
		unsigned int total = c->reads;

		c->reads = total < PYOBJ_MAX_READS ? total : PYOBJ_MAX_READS;
		total -= c->reads;
		sb_init(&s, repr, lo->budget);
		repr_obj(c, &s, value);
		sb_finish(&s);
		c->reads += total;
	}
	v->addr = value;
	v->arg = arg;
	v->repr = repr;
	lo->n++;
	return 0;
}

/* A cell's contents, or the value itself when it is no cell (yet). */
static uint64_t cell_contents(struct ctx *c, uint64_t value)
{
	const struct tinfo *t;
	uint64_t ref;

	if (!value || type_of(c, value, &t) || t->kind != K_CELL)
		return value;
	if (rd64(c, value + c->o->cell_ref, &ref))
		return 0;
	return ref;
}

static bool same_name(struct ctx *c, uint64_t a, uint64_t b)
{
	char x[NAME_MAX_BYTES], y[NAME_MAX_BYTES];

	if (a == b)
		return true;
	return !str_utf8(c, a, x, sizeof(x)) && !str_utf8(c, b, y, sizeof(y)) &&
	       !strcmp(x, y);
}

int pyobj__frame_locals(const struct pyobj_reader *r, uint64_t frame_addr,
			uint64_t code_addr, size_t budget,
			struct local_variable **out, unsigned int *n)
{
	const struct py_offsets *off;
	const struct py_obj_offsets *o;
	struct tuple_names *names = NULL, *cells = NULL;
	uint64_t *slots = NULL, nslots, i;
	struct locals_out lo = { 0 };
	uint8_t code[512], kinds[PYOBJ_MAX_LOCALS];
	unsigned int cell_arg[PYOBJ_MAX_LOCALS];	/* cell i is argument cell_arg[i] */
	const struct tinfo *t;
	int32_t argcount, kwonly = 0, flags, nlocals;
	uint64_t nargs;
	size_t need;
	struct ctx c;
	int err;

	if (!out || !n)
		return -EINVAL;
	*out = NULL;
	*n = 0;
	if (!r || !r->obj || !r->off || !r->sl || !frame_addr || !code_addr)
		return -EINVAL;
	off = r->off;
	o = r->obj;
	if (budget > PYOBJ_MAX_BUDGET)
		budget = PYOBJ_MAX_BUDGET;
	ctx_init(&c, r, PYOBJ_MAX_FRAME_READS);
	if ((err = ctx_buffers(&c, budget)))
		return err;
	if ((err = type_of(&c, code_addr, &t)))
		goto out;
	if (t->kind != K_CODE) {
		err = -EINVAL;
		goto out;
	}
	need = max_sz(off->code_argcount, off->code_nlocals);
	need = max_sz(need, off->code_varnames);
	need = max_sz(need, o->code_flags);
	need = max_sz(need, o->code_kwonlyargcount);
	need = max_sz(need, o->code_cellvars);
	need = max_sz(need, o->code_localspluskinds) + 8;
	if (need > sizeof(code)) {
		err = -EINVAL;
		goto out;
	}
	if ((err = rd(&c, code_addr, code, need)))
		goto out;
	argcount = (int32_t)ld32(code, off->code_argcount);
	flags = (int32_t)ld32(code, o->code_flags);
	if (o->code_kwonlyargcount)
		kwonly = (int32_t)ld32(code, o->code_kwonlyargcount);
	if (argcount < 0 || kwonly < 0 || argcount > 65535 || kwonly > 65535) {
		err = -EINVAL;
		goto out;
	}
	nargs = (uint64_t)argcount + (uint64_t)kwonly + !!(flags & o->co_varargs) +
		!!(flags & o->co_varkeywords);

	names = malloc(sizeof(*names));
	cells = malloc(sizeof(*cells));
	slots = malloc(sizeof(*slots) * 2 * PYOBJ_MAX_LOCALS);
	if (!names || !cells || !slots) {
		err = -ENOMEM;
		goto out;
	}
	if ((err = read_tuple(&c, ld64(code, off->code_varnames), names)))
		goto out;
	cells->n = 0;
	if (off->flags & PY_F_INTERP_FRAME) {
		uint64_t kaddr = ld64(code, o->code_localspluskinds), klen;
		const struct tinfo *kt;

		/* co_localspluskinds: one kind byte per name. */
		if ((err = type_of(&c, kaddr, &kt)))
			goto out;
		if (kt->kind != K_BYTES || (err = rd64(&c, kaddr + o->ob_size, &klen))) {
			err = err ? err : -EINVAL;
			goto out;
		}
		if (klen < names->n)
			names->n = klen;
		if ((err = rd(&c, kaddr + o->bytes_sval, kinds, names->n)))
			goto out;
		nslots = names->n;
	} else {
		nlocals = (int32_t)ld32(code, off->code_nlocals);
		if (nlocals < 0) {
			err = -EINVAL;
			goto out;
		}
		if ((uint64_t)nlocals < names->n)
			names->n = (uint64_t)nlocals;
		if ((err = read_tuple(&c, ld64(code, o->code_cellvars), cells)))
			goto out;
		/* Cells follow all co_nlocals locals in f_localsplus. */
		if ((uint64_t)nlocals > PYOBJ_MAX_LOCALS)
			cells->n = 0;
		nslots = (cells->n ? (uint64_t)nlocals : names->n) + cells->n;
	}
	if (nslots && (err = rd(&c, frame_addr + off->frame_localsplus, slots, nslots * 8)))
		goto out;

	lo.cap = (unsigned int)(names->n + cells->n);
	lo.budget = budget;
	lo.v = calloc(lo.cap ? lo.cap : 1, sizeof(*lo.v));
	if (!lo.v) {
		err = -ENOMEM;
		goto out;
	}
	/*
	 * <= 3.10: an argument captured by a closure lives in its cell (3.x
	 * clears its slot, 2.7 leaves the initial value there, stale once
	 * assigned): list it once, from the cell, as an argument.
	 */
	for (i = 0; i < cells->n; i++) {
		uint64_t j;

		cell_arg[i] = PYOBJ_MAX_LOCALS;
		for (j = 0; j < nargs && j < names->n; j++) {
			/* PyCode_New interns names: the same object in both tuples. */
			if (cells->items[i] == names->items[j] ||
			    (cells->n * nargs <= 64 &&
			     same_name(&c, cells->items[i], names->items[j]))) {
				cell_arg[i] = (unsigned int)j;
				break;
			}
		}
	}
	for (i = 0; i < names->n; i++) {
		uint64_t value = slots[i], j;
		bool in_cell = false;

		for (j = 0; j < cells->n && !in_cell; j++)
			in_cell = cell_arg[j] == i;
		if (in_cell)
			continue;

		if (off->flags & PY_F_INTERP_FRAME) {
			uint8_t k = kinds[i];

			if ((k & o->fast_free) || (o->fast_hidden && (k & o->fast_hidden)) ||
			    !(k & (o->fast_local | o->fast_cell)))
				continue;
			if (off->code_tag_mask) {
				/* _PyStackRef: both tag bits set is a tagged int, never a name's */
				if ((value & off->code_tag_mask) == off->code_tag_mask)
					continue;
				value &= ~off->code_tag_mask;
			}
			if (k & o->fast_cell)
				value = cell_contents(&c, value);
		}
		if (!value)
			continue;
		if ((err = add_local(&c, &lo, names->items[i], value, i < nargs)))
			goto out;
	}
	for (i = 0; i < cells->n; i++) {
		uint64_t value = cell_contents(&c, slots[nslots - cells->n + i]);

		if (!value)
			continue;
		if ((err = add_local(&c, &lo, cells->items[i], value,
				     cell_arg[i] < PYOBJ_MAX_LOCALS)))
			goto out;
	}
	err = 0;
out:
	if (err) {
		pyobj__free_locals(lo.v, lo.n);
	} else {
		*out = lo.v;
		*n = lo.n;
	}
	free(names);
	free(cells);
	free(slots);
	ctx_fini(&c);
	return err;
}

void pyobj__free_locals(struct local_variable *v, unsigned int n)
{
	unsigned int i;

	if (!v)
		return;
	for (i = 0; i < n; i++) {
		free((char *)v[i].name);
		free((char *)v[i].repr);
	}
	free(v);
}

/* ---- threads ---- */

static int interp_thread_names(struct ctx *c, uint64_t interp, struct py_thread_name *out,
			       size_t max, size_t *count)
{
	const struct py_obj_offsets *o = c->o;
	const char *attr = c->r->major == 2 ? "_Thread__name" : "_name";
	uint64_t modules, mod, mdict, active, key, thread, name, native;
	const struct tinfo *t;
	struct dict_iter it;
	int err, ret = 0;

	if ((err = rd64(c, interp + o->interp_modules, &modules)))
		return err;
	if (!modules)
		return -ENOENT;	/* interpreter starting or finishing */
	if ((err = dict_get(c, modules, "threading", &mod)))
		return err;
	if ((err = type_of(c, mod, &t)))
		return err;
	if (t->kind != K_MODULE)
		return -EINVAL;
	if ((err = rd64(c, mod + o->module_dict, &mdict)))
		return err;
	if ((err = dict_get(c, mdict, "_active", &active)))
		return err;
	if ((err = type_of(c, active, &t)))
		return err;
	if (t->kind != K_DICT)
		return -EINVAL;
	if ((err = dict_iter_init(&it, c, active)))
		return err;
	while (*count < max && (ret = dict_next(&it, &key, &thread)) == 1) {
		struct py_thread_name *tn = &out[*count];

		/* A thread that vanished meanwhile is skipped, not fatal. */
		if (type_of(c, key, &t) || long_value(c, key, t, &tn->ident))
			continue;
		if (attr_get(c, thread, attr, &name))
			continue;
		err = str_utf8(c, name, tn->name, sizeof(tn->name));
		if (err && err != -ENOSPC)
			continue;
		/* 3.8+: which kernel thread it is, as idents are reused at once. */
		tn->native_id = 0;
		if (c->r->major == 3 && c->r->minor >= 8 &&
		    !attr_get(c, thread, "_native_id", &native) && native &&
		    !type_of(c, native, &t) && long_value(c, native, t, &tn->native_id))
			tn->native_id = 0;
		(*count)++;
	}
	return ret < 0 ? ret : 0;
}

int pyobj__thread_names(const struct pyobj_reader *r, struct py_thread_name *out,
			size_t max)
{
	uint64_t interp, head;
	size_t count = 0;
	struct ctx c;
	int err, first_err = 0, i;

	if (!r || !r->obj || !r->off || !r->sl || (!out && max))
		return -EINVAL;
	/* About a dozen reads a thread; large enough for the threads asked. */
	ctx_init(&c, r, max < PYOBJ_MAX_SCAN_READS / 128 ? PYOBJ_MAX_SCAN_READS : max * 128);
	head = r->off->flags & PY_F_INTERP_HEAD_SYM ? r->runtime :
						      r->runtime + r->off->runtime_interp_head;
	err = rd64(&c, head, &interp);
	for (i = 0; !err && interp && i < PYOBJ_MAX_INTERPS && count < max; i++) {
		int e = interp_thread_names(&c, interp, out, max, &count);

		if (e && !first_err)
			first_err = e;
		err = rd64(&c, interp + r->off->interp_next, &interp);
	}
	ctx_fini(&c);
	if (count)
		return (int)count;
	if (err)
		return err;
	return first_err ? first_err : 0;
}

/* ---- small helpers ---- */

int pyobj__type_name(const struct pyobj_reader *r, uint64_t addr, char *out,
		     size_t outlen)
{
	const struct tinfo *t;
	struct ctx c;
	int err;

	if (!r || !r->obj || !out || !outlen)
		return -EINVAL;
	out[0] = 0;
	ctx_init(&c, r, 16);
	err = type_of(&c, addr, &t);
	if (!err)
		snprintf(out, outlen, "%s", t->name);
	ctx_fini(&c);
	return err;
}

int pyobj__str(const struct pyobj_reader *r, uint64_t addr, char *out, size_t outlen)
{
	struct ctx c;
	int err;

	if (!r || !r->obj || !r->sl || !out || !outlen)
		return -EINVAL;
	out[0] = 0;
	ctx_init(&c, r, 16);
	err = str_utf8(&c, addr, out, outlen);
	ctx_fini(&c);
	return err;
}

int pyobj__reader_init(struct pyobj_reader *r, struct py_obj_offsets *obj,
		       const struct py_process *p)
{
	const struct py_offsets_entry *ent;
	int err;

	if (!r || !obj || !p)
		return -EINVAL;
	ent = py_offsets__find(p->major, p->minor, p->micro);
	if (!ent)
		return -EPROTONOSUPPORT;
	*obj = ent->obj;
	if (p->major == 3 && p->minor >= 13) {
		struct py_offsets off = ent->off;
		uint8_t dbg[4096];

		if ((err = remote_read(p->pid, p->bpf.runtime, dbg, sizeof(dbg))))
			return err;
		err = py_offsets__apply_debug(&off, obj, dbg, sizeof(dbg), p->major, p->minor,
					      NULL, 0);
		if (err)
			return err;
	}
	memset(r, 0, sizeof(*r));
	r->pid = p->pid;
	r->major = p->major;
	r->minor = p->minor;
	r->off = &p->bpf.off;
	r->obj = obj;
	r->sl = &p->strings;
	r->runtime = p->bpf.runtime;
	return 0;
}
