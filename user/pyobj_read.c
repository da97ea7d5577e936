// SPDX-License-Identifier: BSD-2-Clause
/*
 * The ground every other pyobj_*.c stands on: the per-call context, the
 * bounded remote reads and the type of an object (cached per call). Also
 * the reader's setup from an opened process and the type-name helper.
 *
 * All reads go through pyobj_rd(), which counts them against the call's
 * budget, so every loop of the reader is bounded twice: by its own cap and
 * by the reads.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "offsets.h"
#include "pyobj.h"
#include "pyobj_int.h"
#include "pyproc.h"
#include "remote.h"

void pyobj_ctx_init(struct ctx *c, const struct pyobj_reader *r, unsigned int reads)
{
	memset(c, 0, sizeof(*c));
	c->r = r;
	c->o = r->obj;
	c->reads = reads;
}

/* Room for the strings of reprs of at most lim bytes. */
int pyobj_ctx_buffers(struct ctx *c, size_t lim)
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

void pyobj_ctx_fini(struct ctx *c)
{
	free(c->data);
	free(c->text);
}

int pyobj_rd(struct ctx *c, uint64_t addr, void *buf, size_t len)
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

int pyobj_rd64(struct ctx *c, uint64_t addr, uint64_t *v)
{
	return pyobj_rd(c, addr, v, sizeof(*v));
}

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
		err = pyobj_rd(c, addr + got, out + got, want);
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

/*
 * A subclass of a builtin (IntEnum, a str or dict subclass, OrderedDict,
 * defaultdict, a namedtuple) is shown as its base is, as py-spy does: by
 * the Py_TPFLAGS_*_SUBCLASS bit its type carries (the same bits in 2.7
 * and every 3.x, where 2.7's str is the "bytes" bit and its unicode the
 * str one). bool, the one other int subclass among the builtins, was told
 * apart by name.
 */
static enum kind subclass_kind(uint64_t flags, unsigned int major)
{
	static const struct {
		unsigned int bit;
		enum kind k3, k2;
	} bits[] = {
		{ 23, K_OTHER, K_INT27 },	/* Py_TPFLAGS_INT_SUBCLASS (2.7) */
		{ 24, K_LONG, K_LONG },		/* Py_TPFLAGS_LONG_SUBCLASS */
		{ 25, K_LIST, K_LIST },
		{ 26, K_TUPLE, K_TUPLE },
		{ 27, K_BYTES, K_BYTES },	/* 2.7: Py_TPFLAGS_STRING_SUBCLASS */
		{ 28, K_STR, K_UNICODE27 },
		{ 29, K_DICT, K_DICT },
	};

	for (size_t i = 0; i < sizeof(bits) / sizeof(bits[0]); i++)
		if ((flags >> bits[i].bit) & 1)
			return major == 2 ? bits[i].k2 : bits[i].k3;
	return K_OTHER;
}

/* The type object at type: from the call's cache, else read and cached. */
int pyobj_type_info(struct ctx *c, uint64_t type, const struct tinfo **out)
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
	if ((err = pyobj_rd(c, type, hdr, need)))
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
	if (t->kind == K_OTHER)
		t->kind = subclass_kind(t->flags, c->r->major);
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
int pyobj_type_of(struct ctx *c, uint64_t addr, const struct tinfo **out)
{
	uint64_t type;
	int err;

	if (addr & 7)
		return -EFAULT;
	if ((err = pyobj_rd64(c, addr + c->o->ob_type, &type)))
		return err;
	return pyobj_type_info(c, type, out);
}

int pyobj__type_name(const struct pyobj_reader *r, uint64_t addr, char *out,
		     size_t outlen)
{
	const struct tinfo *t;
	struct ctx c;
	int err;

	if (!r || !r->obj || !out || !outlen)
		return -EINVAL;
	out[0] = 0;
	pyobj_ctx_init(&c, r, 16);
	err = pyobj_type_of(&c, addr, &t);
	if (!err)
		snprintf(out, outlen, "%s", t->name);
	pyobj_ctx_fini(&c);
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
