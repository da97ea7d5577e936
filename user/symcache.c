// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "hashmap.h"
#include "linetable.h"
#include "paths.h"
#include "pystr.h"
#include "remote.h"
#include "offsets.h"
#include "symcache.h"

/* The largest code-object prefix any version's fields need. */
#define CODE_HDR 256

/* One instruction's site: open addressing by lasti, in its entry. */
struct site_slot {
	uint32_t lasti;
	bool used;
	struct symcache_site s;
};

struct code_entry {
	uint32_t check;
	struct code_info ci;
	struct symcache_site whole;	/* the function_lines site */
	struct site_slot *sites;	/* NULL until the first site */
	uint32_t nsites, cap;		/* cap: 0 or a power of two */
};

struct symcache {
	pid_t pid;
	struct py_offsets off;
	struct str_layout sl;
	enum linetable_format fmt;
	struct hashmap *entries;	/* code address -> struct code_entry */
	size_t nsites;			/* sites of all entries */
	struct symcache_site scratch;	/* a site that is not kept (out of memory) */
};

/* Reads that tell of code churn, in any target so far (symcache__churn()). */
static uint64_t churn;

uint64_t symcache__churn(void)
{
	return churn;
}

/*
 * Code that is likely freed soon after it ran: a module's body (freed once
 * the import is done, unless something keeps it) and code compiled from a
 * string (exec, eval, templates, generated classes), whose file name is in
 * angle brackets. Frozen modules are part of the interpreter and stay; the
 * functions of a module stay with their module.
 */
static bool short_lived(const struct code_info *ci)
{
	return !strcmp(ci->name, "<module>") ||
	       (ci->filename[0] == '<' && strncmp(ci->filename, "<frozen ", 8));
}

static void drop_sites(struct symcache *c, struct code_entry *e)
{
	c->nsites -= e->nsites;
	free(e->sites);
	e->sites = NULL;
	e->nsites = e->cap = 0;
}

static void entry_free(struct symcache *c, struct code_entry *e)
{
	if (!e)
		return;
	drop_sites(c, e);
	free((char *)e->ci.name);
	free((char *)e->ci.filename);
	free((char *)e->ci.short_filename);
	free((uint8_t *)e->ci.linetable);
	free(e);
}

static void entry_free_fn(void *c, void *e)
{
	entry_free(c, e);
}

static void clear(struct symcache *c)
{
	hashmap__free_all(c->entries, entry_free_fn, c);
	c->entries = hashmap__new();
}

struct symcache *symcache__new(pid_t pid, const struct py_offsets *off,
			       const struct str_layout *sl)
{
	struct symcache *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->pid = pid;
	c->off = *off;
	c->sl = *sl;
	if (off->version >= 0x030b)
		c->fmt = LT_LOCATIONS;
	else if (off->version == 0x030a)
		c->fmt = LT_LINETABLE_310;
	else if (off->version >= 0x0306)
		c->fmt = LT_LNOTAB;
	else
		c->fmt = LT_LNOTAB_UNSIGNED;
	c->entries = hashmap__new();
	if (!c->entries) {
		free(c);
		return NULL;
	}
	return c;
}

void symcache__free(struct symcache *c)
{
	if (!c)
		return;
	hashmap__free_all(c->entries, entry_free_fn, c);
	free(c);
}

static uint64_t ld64(const uint8_t *b, uint16_t off)
{
	uint64_t v;

	if (off > CODE_HDR - 8)
		return 0;
	memcpy(&v, b + off, sizeof(v));
	return v;
}

static uint32_t ld32(const uint8_t *b, uint16_t off)
{
	uint32_t v;

	if (off > CODE_HDR - 4)
		return 0;
	memcpy(&v, b + off, sizeof(v));
	return v;
}

/*
 * The object header in hdr (n bytes) is of a str, when the type is known.
 * 2.7 has no other check: any object's bytes would read as a byte string.
 */
static bool is_str(const struct str_layout *sl, const uint8_t *hdr, size_t n)
{
	uint64_t type;

	if (!sl->str_type)
		return true;
	if (sl->ob_type + 8u > n)
		return false;
	memcpy(&type, hdr + sl->ob_type, sizeof(type));
	return type == sl->str_type;
}

int str_layout__chars(const struct str_layout *sl, const uint8_t *hdr, size_t hlen,
		      uint64_t *len, unsigned int *kind, size_t *hsize)
{
	uint32_t state;

	if (sl->state + 4u > hlen || sl->length + 8u > hlen)
		return -EINVAL;
	memcpy(len, hdr + sl->length, sizeof(*len));
	memcpy(&state, hdr + sl->state, sizeof(state));
	*kind = (state >> sl->kind_shift) & 7;
	if (!(state & (1u << sl->compact_bit)))
		return -ENOTSUP;	/* legacy, non-compact strings (pre-3.12 C API) */
	if (*kind != 1 && *kind != 2 && *kind != 4)
		return -EINVAL;
	*hsize = (state & (1u << sl->ascii_bit)) ? sl->ascii_size : sl->compact_size;
	return 0;
}

int read_pystr(pid_t pid, const struct str_layout *sl, uint64_t addr, char *out, size_t outlen)
{
	uint8_t hdr[128], data[SYMCACHE_MAX_STR * 4];
	uint64_t len;
	unsigned int kind;
	size_t hsize, nbytes;
	int err;

	if (!outlen)
		return -ENOSPC;
	out[0] = 0;
	if (sl->bytes_str) {
		if (sl->bytes_sval > sizeof(hdr) || sl->bytes_size + 8u > sizeof(hdr))
			return -EINVAL;
		if ((err = remote_read(pid, addr, hdr, sl->bytes_sval)))
			return err;
		if (!is_str(sl, hdr, sl->bytes_sval))
			return -EINVAL;
		memcpy(&len, hdr + sl->bytes_size, sizeof(len));
		if (len > SYMCACHE_MAX_STR)
			len = SYMCACHE_MAX_STR;
		if ((err = remote_read(pid, addr + sl->bytes_sval, data, len)))
			return err;
		err = pystr__from_bytes(data, len, out, outlen);
		return err < 0 && err != -ENOSPC ? err : 0;
	}
	if (sl->ascii_size > sizeof(hdr))
		return -EINVAL;
	if ((err = remote_read(pid, addr, hdr, sl->ascii_size)))
		return err;
	if (!is_str(sl, hdr, sl->ascii_size))
		return -EINVAL;
	if ((err = str_layout__chars(sl, hdr, sl->ascii_size, &len, &kind, &hsize)))
		return err;
	if (len > SYMCACHE_MAX_STR)
		len = SYMCACHE_MAX_STR;
	nbytes = len * kind;
	if ((err = remote_read(pid, addr + hsize, data, nbytes)))
		return err;
	err = pystr__decode(kind, data, len, out, outlen);
	return err < 0 && err != -ENOSPC ? err : 0;
}

/*
 * A copy of the string at addr in *out. A string whose memory cannot be
 * read (unmapped, or a page whose fault the target would have to serve) is
 * "<unreadable>", and *unreadable is set; a string that is not one is an
 * error.
 */
static int dup_pystr(pid_t pid, const struct str_layout *sl, uint64_t addr, char **out,
		     bool *unreadable)
{
	char buf[SYMCACHE_MAX_STR * 4 + 1];
	int err = read_pystr(pid, sl, addr, buf, sizeof(buf));

	if (err == -EFAULT || err == -EIO) {
		*unreadable = true;
		snprintf(buf, sizeof(buf), "<unreadable>");
	} else if (err) {
		return err;
	}
	*out = strdup(buf);
	return *out ? 0 : -ENOMEM;
}

/* co_lnotab / co_linetable is a bytes object in every version. */
static uint8_t *read_bytes(pid_t pid, const struct str_layout *sl, uint64_t addr, uint32_t *len)
{
	uint8_t hdr[64];
	uint64_t n;
	uint8_t *buf;

	/* The layout can come from the target's _Py_DebugOffsets: bound both. */
	if (sl->bytes_sval > sizeof(hdr) || sl->bytes_size + sizeof(n) > sl->bytes_sval ||
	    remote_read(pid, addr, hdr, sl->bytes_sval))
		return NULL;
	memcpy(&n, hdr + sl->bytes_size, sizeof(n));
	if (n > SYMCACHE_MAX_LINETABLE)
		return NULL;
	buf = malloc(n ? n : 1);
	if (!buf)
		return NULL;
	if (n && remote_read(pid, addr + sl->bytes_sval, buf, n)) {
		free(buf);
		return NULL;
	}
	*len = n;
	return buf;
}

/* The ident of py_code_check(), taken as the sampler takes it. */
static uint64_t code_ident(const struct symcache *c, const uint8_t *hdr)
{
	uint64_t name = ld64(hdr, c->off.code_name), h = 0;

	if (c->off.code_version)
		h = ld32(hdr, c->off.code_version);
	if (!h && name && c->off.str_hash &&
	    remote_read(c->pid, name + c->off.str_hash, &h, sizeof(h)))
		h = 0;
	return h;
}

/*
 * Reads the first need bytes of the code object at addr into hdr and
 * computes its check value, as the sampler does. -ESTALE when the object is
 * already freed: its fields may still be intact, while the strings they
 * point to are reused. Freeing writes the allocator's free-list link over
 * ob_refcnt (a pointer, or 0 at the end of the list), never a live count:
 * those stay below 2^32 (immortal objects' too). A free-threaded build has
 * no such word: its first is ob_tid, the owning thread's id (a pointer).
 */
static int read_code(const struct symcache *c, uint64_t addr, uint8_t *hdr, size_t need,
		     uint32_t *check)
{
	const struct py_offsets *off = &c->off;
	int err;

	if ((err = remote_read(c->pid, addr, hdr, need)))
		return err;
	if (need >= 8 && !(off->flags & PY_F_FREE_THREADED) &&
	    (ld64(hdr, 0) == 0 || ld64(hdr, 0) >> 32))
		return -ESTALE;
	*check = py_code_check(ld64(hdr, off->code_name), code_ident(c, hdr),
			       ld64(hdr, off->code_filename), ld32(hdr, off->code_firstlineno),
			       ld32(hdr, off->code_argcount));
	return 0;
}

/* Reads the code object at rec->code into a new entry, replacing e (the
 * entry of a freed code object that had the same address), if any. */
static int read_entry(struct symcache *c, const struct py_frame_rec *rec, struct code_entry *e,
		      struct code_entry **out)
{
	const struct py_offsets *off = &c->off;
	uint8_t hdr[CODE_HDR] = { 0 }, again[CODE_HDR] = { 0 };
	bool name_unreadable = false;
	uint32_t check;
	size_t need;
	int err;

	/* Every field read below, and every field of the check. */
	need = off->code_linetable + 8u;
	if (off->code_qualname + 8u > need)
		need = off->code_qualname + 8;
	if (off->code_read > need)
		need = off->code_read;
	if (need > sizeof(hdr))
		return -EINVAL;
	if ((err = read_code(c, rec->code, hdr, need, &check)))
		return err;
	if (check != rec->check)
		return -ESTALE;

	if (e) {
		hashmap__del(c->entries, rec->code);
		entry_free(c, e);
	}
	if (hashmap__size(c->entries) >= SYMCACHE_MAX_ENTRIES)
		clear(c);
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->check = rec->check;
	e->ci.firstlineno = (int32_t)ld32(hdr, off->code_firstlineno);
	err = dup_pystr(c->pid, &c->sl, ld64(hdr, off->code_name), (char **)&e->ci.name,
			&name_unreadable);
	if (!err)
		err = dup_pystr(c->pid, &c->sl, ld64(hdr, off->code_filename),
				(char **)&e->ci.filename, &e->ci.unreadable);
	/* Neither readable: more likely no code object at all than one whose
	 * two strings both sit in memory that cannot be read. */
	if (!err && name_unreadable && e->ci.unreadable)
		err = -EFAULT;
	e->ci.unreadable |= name_unreadable;
	if (err) {
		entry_free(c, e);
		return err == -ENOMEM ? err : -EFAULT;
	}
	e->ci.linetable = read_bytes(c->pid, &c->sl, ld64(hdr, off->code_linetable),
				     &e->ci.linetable_len);
	/* The target runs on: the code object (or its name) may have been
	 * freed and reused while its strings were read. Still the same code
	 * object, with the same name, afterwards: what was read is its own. */
	if (read_code(c, rec->code, again, need, &check) || check != rec->check ||
	    ld64(again, off->code_linetable) != ld64(hdr, off->code_linetable)) {
		entry_free(c, e);
		return -ESTALE;
	}
	{
		char shortname[SYMCACHE_MAX_STR * 4 + 1];

		shorten_filename(c->pid, e->ci.filename, shortname, sizeof(shortname));
		e->ci.short_filename = strdup(shortname);
		if (!e->ci.short_filename) {
			entry_free(c, e);
			return -ENOMEM;
		}
	}
	e->whole.line = e->ci.firstlineno;
	if (hashmap__put(c->entries, rec->code, e)) {
		entry_free(c, e);
		return -ENOMEM;
	}
	*out = e;
	return 0;
}

static int lookup(struct symcache *c, const struct py_frame_rec *rec, struct code_entry **out)
{
	struct code_entry *e = hashmap__get(c->entries, rec->code);
	bool reused = e != NULL;	/* read_entry frees e */
	int err;

	if (e && e->check == rec->check) {
		*out = e;
		return 0;
	}
	/* Churn: a read that fails, a code object at the address of another
	 * one, now freed, and one that looks short-lived. */
	err = read_entry(c, rec, e, out);
	if (err || reused || short_lived(&(*out)->ci))
		churn++;
	return err;
}

int symcache__lookup(struct symcache *c, const struct py_frame_rec *rec, struct code_info *ci)
{
	struct code_entry *e;
	int err = lookup(c, rec, &e);

	if (!err)
		*ci = e->ci;
	return err;
}

static uint32_t site_home(uint32_t lasti, uint32_t mask)
{
	return ((lasti * 0x9e3779b1u) >> 16) & mask;
}

static int grow_sites(struct code_entry *e)
{
	uint32_t cap = e->cap ? e->cap * 2 : 4, mask = cap - 1, i, j;
	struct site_slot *t = calloc(cap, sizeof(*t));

	if (!t)
		return -ENOMEM;
	for (i = 0; i < e->cap; i++) {
		if (!e->sites[i].used)
			continue;
		for (j = site_home(e->sites[i].lasti, mask); t[j].used; j = (j + 1) & mask)
			;
		t[j] = e->sites[i];
	}
	free(e->sites);
	e->sites = t;
	e->cap = cap;
	return 0;
}

static struct symcache_site *site_of(struct symcache *c, struct code_entry *e, uint32_t lasti)
{
	struct site_slot *sl;
	uint32_t i;

	if (e->cap) {
		for (i = site_home(lasti, e->cap - 1); e->sites[i].used; i = (i + 1) & (e->cap - 1))
			if (e->sites[i].lasti == lasti)
				return &e->sites[i].s;
	}
	/* A new site: make room within the caps first. */
	if (e->nsites >= SYMCACHE_MAX_SITES)
		drop_sites(c, e);
	if (c->nsites >= SYMCACHE_MAX_SITES_TOTAL) {
		size_t pos = 0;
		void *v;

		while (hashmap__next(c->entries, &pos, NULL, &v))
			drop_sites(c, v);
	}
	if ((e->nsites + 1) * 4 > e->cap * 3 && grow_sites(e))
		return NULL;
	for (i = site_home(lasti, e->cap - 1); e->sites[i].used; i = (i + 1) & (e->cap - 1))
		;
	sl = &e->sites[i];
	sl->used = true;
	sl->lasti = lasti;
	sl->s.gen = 0;
	sl->s.val = NULL;
	sl->s.line = symcache__line(c, &e->ci, lasti);
	e->nsites++;
	c->nsites++;
	return &sl->s;
}

int symcache__site(struct symcache *c, const struct py_frame_rec *rec, bool function_lines,
		   struct code_info *ci, struct symcache_site **site)
{
	struct code_entry *e;
	uint32_t lasti;
	int err = lookup(c, rec, &e);

	if (err)
		return err;
	*ci = e->ci;
	/* --native marks activations' first frames in lasti's top bit. */
	lasti = rec->lasti & ~PY_LASTI_ENTRY;
	*site = function_lines ? &e->whole : site_of(c, e, lasti);
	if (!*site) {
		/* Out of memory: a site of this call only. */
		c->scratch.gen = 0;
		c->scratch.val = NULL;
		c->scratch.line = symcache__line(c, &e->ci, lasti);
		*site = &c->scratch;
	}
	return 0;
}

int symcache__line(const struct symcache *c, const struct code_info *ci, uint32_t lasti)
{
	int line;

	if (!ci->linetable)
		return ci->firstlineno > 0 ? ci->firstlineno : 0;
	if (linetable__line(c->fmt, ci->linetable, ci->linetable_len, ci->firstlineno,
			    lasti, &line) || line < 0)
		return ci->firstlineno > 0 ? ci->firstlineno : 0;
	return line;
}

/* String object layout per version (PEP 393 since 3.3; 2.7 byte strings). */
void symcache__str_layout(struct str_layout *sl, const struct py_obj_offsets *obj,
			    unsigned int major)
{
	memset(sl, 0, sizeof(*sl));
	sl->ob_type = obj->ob_type;
	sl->bytes_size = obj->ob_size;
	sl->bytes_sval = obj->bytes_sval;
	if (major == 2) {
		sl->bytes_str = true;
		return;
	}
	sl->length = obj->str_length;
	sl->state = obj->str_state;
	sl->ascii_size = obj->str_ascii_size;
	sl->compact_size = obj->str_compact_size;
	sl->kind_shift = obj->str_kind_shift;
	sl->compact_bit = obj->str_compact_shift;
	sl->ascii_bit = obj->str_ascii_shift;
}
