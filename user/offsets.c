/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Offset tables lookup and the _Py_DebugOffsets parser.
 *
 * The block parsed here comes from the target's memory: every value is
 * untrusted. Each offset is checked to lie inside the structure whose size
 * the block also gives, to be below PY_DEBUG_MAX_OFFSET (so it fits the
 * __u16 fields), and the per-frame / per-code read windows derived from
 * them must fit PY_FRAME_READ / PY_CODE_READ.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "offsets.h"

/* Structure sizes announced by the block must be below this. */
#define PY_DEBUG_MAX_SIZE (16u << 20)

const struct py_offsets_entry *py_offsets__find(unsigned major, unsigned minor,
						unsigned micro)
{
	const struct py_offsets_entry *best = NULL;
	size_t i;

	for (i = 0; i < py_offsets_table_len; i++) {
		const struct py_offsets_entry *e = &py_offsets_table[i];

		if (e->major != major || e->minor != minor || e->min_micro > micro)
			continue;
		if (!best || e->min_micro > best->min_micro)
			best = e;
	}
	return best;
}

const struct py_debug_layout *py_offsets__debug_layout(unsigned major,
							unsigned minor)
{
	size_t i;

	for (i = 0; i < py_debug_layouts_len; i++) {
		if (py_debug_layouts[i].major == major &&
		    py_debug_layouts[i].minor == minor)
			return &py_debug_layouts[i];
	}
	return NULL;
}

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static __u64 rd64(const unsigned char *b, size_t pos)
{
	__u64 v;

	memcpy(&v, b + pos, sizeof(v));	/* x86-64: little endian, as the target */
	return v;
}

static unsigned round8(unsigned n)
{
	return (n + 7) & ~7u;
}

/* Where a value taken from the block goes. */
enum dst_kind { D_OFF, D_OBJ };

/*
 * One field of the block: its position is layout->X (lay), it is an offset
 * inside a structure whose size is at layout->Y (size_lay; the field plus
 * its width must fit in it), and it overrides a __u16 of py_offsets or
 * py_obj_offsets (dst). width 0: the value is itself a size (<= the
 * structure size); a variable-length tail needs no room after its start.
 */
struct dbg_field {
	const char *name;
	unsigned short lay;
	unsigned short size_lay;
	unsigned char width;
	unsigned char kind;
	unsigned short dst;
	unsigned char is_size;	/* a structure size: at least a PyObject header */
};

#define L(f) offsetof(struct py_debug_layout, f)
#define FO(name, lay, size, width, f) \
	{ name, L(lay), L(size), width, D_OFF, offsetof(struct py_offsets, f), 0 }
#define FB(name, lay, size, width, f) \
	{ name, L(lay), L(size), width, D_OBJ, offsetof(struct py_obj_offsets, f), 0 }
#define FS(name, lay, size, f) \
	{ name, L(lay), L(size), 0, D_OBJ, offsetof(struct py_obj_offsets, f), 1 }

static const struct dbg_field dbg_fields[] = {
	FO("runtime_state.interpreters_head", runtime_interp_head, runtime_size, 8,
	   runtime_interp_head),
	FO("interpreter_state.next", interp_next, interp_size, 8, interp_next),
	FO("interpreter_state.threads_head", interp_threads_head, interp_size, 8,
	   interp_tstate_head),
	FO("interpreter_state.ceval_gil", interp_ceval_gil, interp_size, 8,
	   interp_gil),
	FO("thread_state.next", tstate_next, tstate_size, 8, tstate_next),
	FO("thread_state.interp", tstate_interp, tstate_size, 8, tstate_interp),
	FO("thread_state.current_frame", tstate_current_frame, tstate_size, 8,
	   tstate_frame),
	FO("thread_state.thread_id", tstate_thread_id, tstate_size, 8,
	   tstate_thread_id),
	FO("thread_state.native_thread_id", tstate_native_thread_id, tstate_size,
	   8, tstate_native_id),
	FO("thread_state.datastack_chunk", tstate_datastack_chunk, tstate_size, 8,
	   tstate_datastack),
	FO("interpreter_frame.previous", frame_previous, frame_size, 8,
	   frame_back),
	FO("interpreter_frame.executable", frame_executable, frame_size, 8,
	   frame_code),
	FO("interpreter_frame.instr_ptr", frame_instr_ptr, frame_size, 8,
	   frame_instr),
	FO("interpreter_frame.localsplus", frame_localsplus, frame_size, 0,
	   frame_localsplus),
	FO("interpreter_frame.owner", frame_owner, frame_size, 1, frame_owner),
	FO("code_object.filename", code_filename, code_size, 8, code_filename),
	FO("code_object.name", code_name, code_size, 8, code_name),
	FO("code_object.qualname", code_qualname, code_size, 8, code_qualname),
	FO("code_object.linetable", code_linetable, code_size, 8, code_linetable),
	FO("code_object.firstlineno", code_firstlineno, code_size, 4,
	   code_firstlineno),
	FO("code_object.argcount", code_argcount, code_size, 4, code_argcount),
	FO("code_object.localsplusnames", code_localsplusnames, code_size, 8,
	   code_varnames),
	FO("code_object.co_code_adaptive", code_adaptive, code_size, 0,
	   code_adaptive),
	FB("pyobject.ob_type", pyobject_ob_type, pyobject_size, 8, ob_type),
	FB("type_object.tp_name", type_name, type_size, 8, type_name),
	FB("type_object.tp_flags", type_flags, type_size, 8, type_flags),
	FB("tuple_object.ob_item", tuple_item, tuple_size, 0, tuple_item),
	FB("tuple_object.ob_size", tuple_ob_size, tuple_size, 8, ob_size),
	FB("list_object.ob_item", list_item, list_size, 8, list_item),
	FB("dict_object.ma_keys", dict_keys, dict_size, 8, dict_keys),
	FB("dict_object.ma_values", dict_values, dict_size, 8, dict_values),
	FB("float_object.ob_fval", float_fval, float_size, 8, float_fval),
	FB("long_object.lv_tag", long_lv_tag, long_size, 8, long_size),
	FB("long_object.ob_digit", long_digit, long_size, 0, long_digit),
	FB("bytes_object.ob_sval", bytes_sval, bytes_size, 0, bytes_sval),
	FB("unicode_object.state", unicode_state, unicode_size, 4, str_state),
	FB("unicode_object.length", unicode_length, unicode_size, 8, str_length),
	FS("unicode_object.asciiobject_size", unicode_ascii_size, unicode_size,
	   str_ascii_size),
	FS("unicode_object.compactunicodeobject_size", unicode_compact_size,
	   unicode_size, str_compact_size),
	/* imports.modules moved inside PyInterpreterState in a 3.14 patch release */
	FB("interpreter_state.imports_modules", interp_imports_modules,
	   interp_size, 8, interp_modules),
	FB("code_object.localspluskinds", code_localspluskinds, code_size, 8,
	   code_localspluskinds),
	FB("type_object.tp_basicsize", type_basicsize, type_size, 8,
	   type_basicsize),
	FB("type_object.tp_dictoffset", type_dictoffset, type_size, 8,
	   type_dictoffset),
	FB("heap_type_object.ht_cached_keys", heap_type_cached_keys,
	   heap_type_size, 8, heaptype_cached_keys),
};

#undef FO
#undef FB
#undef FS

static unsigned lay_pos(const struct py_debug_layout *lay, size_t at)
{
	__u16 v;

	memcpy(&v, (const char *)lay + at, sizeof(v));
	return v;
}

/*
 * Read the structure size at layout position size_at: 0 when the block has
 * none, else it must be in (0, PY_DEBUG_MAX_SIZE].
 */
static int read_size(const struct py_debug_layout *lay, const unsigned char *b,
		     size_t size_at, __u64 *size, char *err, size_t errlen,
		     const char *name)
{
	unsigned pos = lay_pos(lay, size_at);

	*size = 0;
	if (!pos)
		return 0;
	*size = rd64(b, pos);
	if (*size == 0 || *size > PY_DEBUG_MAX_SIZE) {
		set_err(err, errlen, "_Py_DebugOffsets: size of the structure of %s "
			"out of range (%llu)", name, (unsigned long long)*size);
		return -ERANGE;
	}
	return 0;
}

/* An offset: below PY_DEBUG_MAX_OFFSET and, with its width, inside size. */
static int check_off(__u64 v, unsigned width, __u64 size, const char *name,
		     char *err, size_t errlen)
{
	if (v >= PY_DEBUG_MAX_OFFSET || (size && v + width > size)) {
		set_err(err, errlen, "_Py_DebugOffsets: %s out of range (%llu)",
			name, (unsigned long long)v);
		return -ERANGE;
	}
	return 0;
}

static void put16(void *base, size_t at, __u64 v)
{
	__u16 x = (__u16)v;

	memcpy((char *)base + at, &x, sizeof(x));
}

/* Every field of dbg_fields the version's block has, checked. */
static int apply_fields(const struct py_debug_layout *lay, const unsigned char *b,
			struct py_offsets *o, struct py_obj_offsets *ob, char *err,
			size_t errlen)
{
	size_t i;
	int ret;

	for (i = 0; i < sizeof(dbg_fields) / sizeof(dbg_fields[0]); i++) {
		const struct dbg_field *f = &dbg_fields[i];
		unsigned pos = lay_pos(lay, f->lay);
		__u64 size, v;

		if (!pos)
			continue;	/* not in this version's block */
		ret = read_size(lay, b, f->size_lay, &size, err, errlen, f->name);
		if (ret)
			return ret;
		v = rd64(b, pos);
		ret = check_off(v, f->width, size, f->name, err, errlen);
		if (ret)
			return ret;
		if (f->is_size && v < 16) {
			set_err(err, errlen, "_Py_DebugOffsets: %s too small (%llu)",
				f->name, (unsigned long long)v);
			return -ERANGE;
		}
		put16(f->kind == D_OFF ? (void *)o : (void *)ob, f->dst, v);
	}
	return 0;
}

/* GIL holder and lock: offsets inside struct _gil_runtime_state. */
static int apply_gil(const struct py_debug_layout *lay, const unsigned char *b,
		     struct py_offsets *o, char *err, size_t errlen)
{
	__u64 isize, base, holder, locked;
	int ret;

	if (!lay->interp_gil_runtime_state || !lay->interp_gil_holder ||
	    !lay->interp_gil_locked)
		return 0;
	ret = read_size(lay, b, L(interp_size), &isize, err, errlen,
			"interpreter_state._gil");
	if (ret)
		return ret;
	base = rd64(b, lay->interp_gil_runtime_state);
	holder = rd64(b, lay->interp_gil_holder);
	locked = rd64(b, lay->interp_gil_locked);
	ret = check_off(base, 0, isize, "interpreter_state.gil_runtime_state",
			err, errlen);
	if (!ret)
		ret = check_off(holder, 8, isize,
				"interpreter_state.gil_runtime_state_holder",
				err, errlen);
	if (!ret)
		ret = check_off(locked, 4, isize,
				"interpreter_state.gil_runtime_state_locked",
				err, errlen);
	if (ret)
		return ret;
	if (holder < base || locked < base) {
		set_err(err, errlen, "_Py_DebugOffsets: GIL fields before "
			"gil_runtime_state");
		return -ERANGE;
	}
	o->gil_last_holder = (__u16)(holder - base);
	o->gil_locked = (__u16)(locked - base);
	return 0;
}

/*
 * The str hash is not in the block, but PyASCIIObject has had its
 * Py_hash_t hash right after its Py_ssize_t length since PEP 393 (3.3):
 * follow the length the block gives.
 */
static int apply_str_hash(const struct py_debug_layout *lay, const unsigned char *b,
			  struct py_offsets *o, char *err, size_t errlen)
{
	__u64 size, hash;
	int ret;

	if (!lay->unicode_length)
		return 0;
	ret = read_size(lay, b, L(unicode_size), &size, err, errlen,
			"unicode_object.length");
	if (ret)
		return ret;
	hash = rd64(b, lay->unicode_length) + 8;
	ret = check_off(hash, 8, size, "unicode_object.length (hash after it)",
			err, errlen);
	if (ret)
		return ret;
	o->str_hash = (__u16)hash;
	return 0;
}

/*
 * A free-threaded build: the table is of the same version's build with a
 * GIL. Every object starts with a larger header (ob_tid, the per-object
 * lock and the split reference count: 32 bytes where there were 16), and
 * the block gives its size and ob_type's place. The block's own fields
 * override what follows; the fields it lacks (ma_used, md_dict, the code
 * object's flags, a type's tp_basicsize before 3.14, ...) sit after the
 * header as in the build with a GIL, so they move with it. Objects with a
 * managed dict keep its pointer right before the object: no GC header
 * precedes it in this build (MANAGED_DICT_OFFSET is -1 word, not -3).
 * The GIL is gone: no holder to read (PY_F_GIL_INTERP is cleared).
 */
static int free_threaded(const struct py_debug_layout *lay, const unsigned char *b,
			 struct py_offsets *o, struct py_obj_offsets *ob, char *err,
			 size_t errlen)
{
	__u64 hsize = 0, type_at;
	unsigned delta;
	int ret;

	if (!lay->pyobject_size || !lay->pyobject_ob_type) {
		set_err(err, errlen, "_Py_DebugOffsets: no PyObject layout for a free-threaded "
			"build");
		return -EPROTONOSUPPORT;
	}
	ret = read_size(lay, b, L(pyobject_size), &hsize, err, errlen, "pyobject.ob_type");
	if (ret)
		return ret;
	type_at = rd64(b, lay->pyobject_ob_type);
	if (hsize <= ob->ob_type + 8u || hsize > 64 || hsize % 8 || type_at + 8 != hsize) {
		set_err(err, errlen, "_Py_DebugOffsets: a free-threaded object header of %llu "
			"bytes with ob_type at %llu", (unsigned long long)hsize,
			(unsigned long long)type_at);
		return -ERANGE;
	}
	delta = (unsigned)hsize - (ob->ob_type + 8);
#define MOVE(f) do { if (f) f += delta; } while (0)
	/* Every field of an object, after its header. */
	MOVE(o->code_argcount);
	MOVE(o->code_nlocals);
	MOVE(o->code_firstlineno);
	MOVE(o->code_varnames);
	MOVE(o->code_filename);
	MOVE(o->code_name);
	MOVE(o->code_qualname);
	MOVE(o->code_linetable);
	MOVE(o->code_adaptive);
	MOVE(o->code_version);
	MOVE(o->str_hash);
	MOVE(ob->ob_size);
	MOVE(ob->type_name);
	MOVE(ob->type_flags);
	MOVE(ob->str_length);
	MOVE(ob->str_state);
	MOVE(ob->str_ascii_size);
	MOVE(ob->str_compact_size);
	MOVE(ob->bytes_sval);
	MOVE(ob->tuple_item);
	MOVE(ob->list_item);
	MOVE(ob->long_size);
	MOVE(ob->long_digit);
	MOVE(ob->float_fval);
	MOVE(ob->dict_used);
	MOVE(ob->dict_keys);
	MOVE(ob->dict_values);
	MOVE(ob->module_dict);
	MOVE(ob->type_basicsize);
	MOVE(ob->type_dictoffset);
	MOVE(ob->heaptype_cached_keys);
	MOVE(ob->cell_ref);
	MOVE(ob->code_flags);
	MOVE(ob->code_kwonlyargcount);
	MOVE(ob->code_cellvars);
	MOVE(ob->code_localspluskinds);
#undef MOVE
	ob->ob_type = (__u16)type_at;
	o->ob_type = (__u8)type_at;
	if (ob->managed_dict)
		ob->managed_dict = -8;
	o->flags |= PY_F_FREE_THREADED;
	return 0;
}

/* Recompute the read windows from the (new) field offsets. */
static int read_windows(struct py_offsets *o, const struct py_obj_offsets *ob,
			char *err, size_t errlen)
{
	unsigned instr_w = (o->flags & PY_F_INSTR_PTR) ? 8 : 4;
	unsigned fr = 0, cr, ob_type = ob ? ob->ob_type : 8;

	fr = o->frame_back + 8u;
	if (o->frame_code + 8u > fr)
		fr = o->frame_code + 8u;
	if (o->frame_instr + instr_w > fr)
		fr = o->frame_instr + instr_w;
	if ((o->flags & PY_F_INTERP_FRAME) && o->frame_owner + 1u > fr)
		fr = o->frame_owner + 1u;
	fr = round8(fr);

	cr = ob_type + 8u;
	if (o->code_argcount + 4u > cr)
		cr = o->code_argcount + 4u;
	if (o->code_firstlineno + 4u > cr)
		cr = o->code_firstlineno + 4u;
	if (o->code_filename + 8u > cr)
		cr = o->code_filename + 8u;
	if (o->code_name + 8u > cr)
		cr = o->code_name + 8u;
	if (o->code_version && o->code_version + 4u > cr)
		cr = o->code_version + 4u;
	cr = round8(cr);

	if (fr > PY_FRAME_READ) {
		set_err(err, errlen, "frame fields beyond the %d-byte read window "
			"(need %u)", PY_FRAME_READ, fr);
		return -ERANGE;
	}
	if (cr > PY_CODE_READ) {
		set_err(err, errlen, "code fields beyond the %d-byte read window "
			"(need %u)", PY_CODE_READ, cr);
		return -ERANGE;
	}
	o->frame_read = (__u16)fr;
	o->code_read = (__u16)cr;
	return 0;
}

int py_offsets__apply_debug(struct py_offsets *off, struct py_obj_offsets *obj,
			    const void *buf, size_t len, unsigned major,
			    unsigned minor, char *err, size_t errlen)
{
	const struct py_debug_layout *lay;
	const unsigned char *b = buf;
	struct py_offsets o, table;
	struct py_obj_offsets ob;
	__u64 ver, ft;
	int ret;

	if (err && errlen)
		err[0] = '\0';
	if (!off || !buf) {
		set_err(err, errlen, "no offsets or buffer");
		return -EINVAL;
	}
	lay = py_offsets__debug_layout(major, minor);
	if (!lay) {
		set_err(err, errlen, "no known _Py_DebugOffsets layout for %u.%u",
			major, minor);
		return -EOPNOTSUPP;
	}
	if (len < lay->size) {
		set_err(err, errlen, "_Py_DebugOffsets truncated: %zu of %u bytes",
			len, (unsigned)lay->size);
		return -ENODATA;
	}
	if (memcmp(b, PY_DEBUG_COOKIE, 8)) {
		set_err(err, errlen, "_Py_DebugOffsets cookie mismatch");
		return -EBADMSG;
	}
	ver = rd64(b, lay->version);
	if (((ver >> 24) & 0xff) != major || ((ver >> 16) & 0xff) != minor) {
		set_err(err, errlen, "_Py_DebugOffsets version 0x%08llx is not "
			"%u.%u", (unsigned long long)ver, major, minor);
		return -EPROTO;
	}
	ft = lay->free_threaded ? rd64(b, lay->free_threaded) : 0;
	if (ft > 1) {
		set_err(err, errlen, "_Py_DebugOffsets: free_threaded is %llu",
			(unsigned long long)ft);
		return -ERANGE;
	}

	o = *off;
	if (obj)
		ob = *obj;
	else
		memset(&ob, 0, sizeof(ob));
	if (ft) {
		ret = free_threaded(lay, b, &o, &ob, err, errlen);
		if (ret)
			return ret;
	}
	table = o;
	ret = apply_fields(lay, b, &o, &ob, err, errlen);
	if (ret)
		return ret;
	ret = apply_gil(lay, b, &o, err, errlen);
	if (ret)
		return ret;
	if (ft) {
		/* No GIL: no holder to read (the block still places the
		 * structure of one that is never taken). */
		o.flags &= ~PY_F_GIL_INTERP;
		o.interp_gil = o.gil_last_holder = o.gil_locked = 0;
	}
	ret = apply_str_hash(lay, b, &o, err, errlen);
	if (ret)
		return ret;
	/* co_version is not in the block either: kept only while the block
	 * places the code object's fields where the table does (else the
	 * check falls back to the name's hash). */
	if (o.code_name != table.code_name || o.code_filename != table.code_filename ||
	    o.code_firstlineno != table.code_firstlineno ||
	    o.code_argcount != table.code_argcount || o.code_qualname != table.code_qualname)
		o.code_version = 0;
	ret = read_windows(&o, &ob, err, errlen);
	if (ret)
		return ret;
	*off = o;
	if (obj)
		*obj = ob;
	return 0;
}
