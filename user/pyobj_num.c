// SPDX-License-Identifier: BSD-2-Clause
/*
 * Numbers: ints (3.x int, 2.7 int and long) read digit by digit and printed
 * in decimal as CPython does, and floats printed as Python's repr().
 */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pyobj.h"
#include "pyobj_int.h"

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
	pyobj_sb_puts(s, p);
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

	if ((err = pyobj_rd64(c, addr + o->long_size, &tag)))
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
	if ((err = pyobj_rd(c, addr + o->long_digit, raw, nd * o->long_digit_size)))
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
int pyobj_long_value(struct ctx *c, uint64_t addr, const struct tinfo *t, uint64_t *v)
{
	uint32_t d[PYOBJ_MAX_LONG_DIGITS];
	bool neg;
	int nd, i;

	if (t->kind == K_INT27)
		return pyobj_rd64(c, addr + c->o->int_ival, v);
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

void pyobj_repr_long(struct ctx *c, struct sbuf *s, uint64_t addr, const struct tinfo *t)
{
	uint32_t d[PYOBJ_MAX_LONG_DIGITS];
	bool neg;
	int nd;

	nd = read_long(c, addr, d, &neg);
	if (nd == -EFAULT || nd == -E2BIG || nd == -ESRCH)
		pyobj_put_unreadable(s, addr);
	else if (nd < 0)
		pyobj_put_other(s, t, addr);
	else if (t->kind == K_BOOL)
		pyobj_sb_puts(s, nd ? "True" : "False");
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

void pyobj_repr_float(struct ctx *c, struct sbuf *s, uint64_t addr)
{
	char buf[64];
	double v;

	if (pyobj_rd(c, addr + c->o->float_fval, &v, sizeof(v))) {
		pyobj_put_unreadable(s, addr);
		return;
	}
	format_float(v, buf, sizeof(buf));
	pyobj_sb_puts(s, buf);
}
