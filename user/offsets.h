/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * CPython structure offsets per version: the generated tables
 * (user/offsets_gen.c, from scripts/gen-offsets) and the parser of the
 * _Py_DebugOffsets block that 3.13+ interpreters carry at the start of
 * _PyRuntime.
 */
#ifndef PYSPY_OFFSETS_H
#define PYSPY_OFFSETS_H

#include <stddef.h>
#include "pyspy.h"

/*
 * Object layouts the collector needs to read names, strings and (later)
 * locals. Byte offsets unless said otherwise; 0 when absent in a version.
 */
struct py_obj_offsets {
	__u16 ob_type;		/* PyObject.ob_type */
	__u16 ob_size;		/* PyVarObject.ob_size */
	__u16 type_name;	/* PyTypeObject.tp_name (const char *) */
	__u16 type_flags;	/* PyTypeObject.tp_flags (unsigned long) */
	__u16 str_length;	/* PyASCIIObject.length (2.7: PyUnicodeObject.length) */
	__u16 str_state;	/* PyASCIIObject.state, a 32-bit bitfield word (3.x) */
	__u16 str_ascii_size;	/* sizeof(PyASCIIObject): compact ASCII data follows */
	__u16 str_compact_size;	/* sizeof(PyCompactUnicodeObject): compact data follows */
	__u16 str_data27;	/* 2.7: PyUnicodeObject.str (Py_UNICODE *) */
	__u8 str_kind_shift;	/* state: first bit of kind (1, 2 or 4 bytes per char) */
	__u8 str_kind_bits;	/* state: width of kind */
	__u8 str_compact_shift;	/* state: the compact bit */
	__u8 str_ascii_shift;	/* state: the ascii bit */
	__u8 str_unicode_size27; /* 2.7: sizeof(Py_UNICODE) */
	__u8 pad0;
	__u16 bytes_sval;	/* PyBytesObject.ob_sval (2.7: PyStringObject.ob_sval) */
	__u16 tuple_item;	/* PyTupleObject.ob_item */
	__u16 list_item;	/* PyListObject.ob_item (PyObject **) */
	__u16 long_size;	/* PyLongObject ob_size (<= 3.11) / long_value.lv_tag (3.12+) */
	__u16 long_digit;	/* PyLongObject ob_digit */
	__u8 long_shift;	/* PyLong_SHIFT: value bits per digit */
	__u8 long_digit_size;	/* sizeof(digit) */
	__u8 long_tag_bits;	/* 3.12+: _PyLong_NON_SIZE_BITS (digit count = lv_tag >> this) */
	__u8 pad1;
	__u16 int_ival;		/* 2.7: PyIntObject.ob_ival */
	__u16 float_fval;	/* PyFloatObject.ob_fval */
	__u16 dict_used;	/* PyDictObject.ma_used */
	__u16 dict_keys;	/* PyDictObject.ma_keys (3.x) */
	__u16 dict_values;	/* PyDictObject.ma_values (3.x) */

	/* Objects read by user/pyobj_*.c (dump --locals, thread names). */
	__u16 interp_modules;	/* PyInterpreterState.modules / imports.modules (3.12+) */
	__u16 module_dict;	/* PyModuleObject.md_dict */
	__u16 type_basicsize;	/* PyTypeObject.tp_basicsize */
	__u16 type_dictoffset;	/* PyTypeObject.tp_dictoffset */
	__u16 heaptype_cached_keys; /* PyHeapTypeObject.ht_cached_keys (3.x) */
	__u16 cell_ref;		/* PyCellObject.ob_ref */
	__u16 code_flags;	/* PyCodeObject.co_flags (int) */
	__u16 code_kwonlyargcount; /* co_kwonlyargcount (int, 3.x) */
	__u16 code_cellvars;	/* co_cellvars (<= 3.10) */
	__u16 code_localspluskinds; /* co_localspluskinds (bytes, 3.11+) */
	__u8 co_varargs;	/* CO_VARARGS */
	__u8 co_varkeywords;	/* CO_VARKEYWORDS */
	__u8 fast_local;	/* CO_FAST_LOCAL (3.11+) */
	__u8 fast_cell;		/* CO_FAST_CELL (3.11+) */
	__u8 fast_free;		/* CO_FAST_FREE (3.11+) */
	__u8 fast_hidden;	/* CO_FAST_HIDDEN (3.12+) */
	__u8 tpflag_heaptype;	/* bit number of Py_TPFLAGS_HEAPTYPE */
	__u8 tpflag_managed_dict; /* bit of Py_TPFLAGS_MANAGED_DICT (3.11+), 0: none */
	__u8 tpflag_inline_values; /* bit of Py_TPFLAGS_INLINE_VALUES (3.13+), 0: none */
	__u8 dict_era;		/* enum py_dict_era */
	__s16 managed_dict;	/* MANAGED_DICT_OFFSET: dict (3.12: dict or values) pointer, from the object */
	__s16 managed_values;	/* 3.11: the values pointer (_PyObject_ValuesPointer), from the object */
	__u16 dict_mask27;	/* 2.7: PyDictObject.ma_mask */
	__u16 dict_table27;	/* 2.7: PyDictObject.ma_table */
	__u16 dk_size;		/* PyDictKeysObject.dk_size (3.6-3.10) / dk_log2_size (u8, 3.11+) */
	__u16 dk_log2_index_bytes; /* PyDictKeysObject.dk_log2_index_bytes (u8, 3.11+) */
	__u16 dk_kind;		/* PyDictKeysObject.dk_kind (u8, 3.11+) */
	__u16 dk_nentries;	/* PyDictKeysObject.dk_nentries */
	__u16 dk_indices;	/* PyDictKeysObject.dk_indices */
	__u8 dict_entry_size;	/* sizeof(PyDictKeyEntry) (2.7: PyDictEntry): hash, key, value */
	__u8 dict_uentry_size;	/* sizeof(PyDictUnicodeEntry) (3.11+): key, value */
	__u8 dv_values;		/* offsetof(PyDictValues, values) (3.11+) */
	__u8 dv_capacity;	/* PyDictValues.capacity (3.13+) */
	__u8 dv_size;		/* PyDictValues.size (3.13+) */
	__u8 dv_valid;		/* PyDictValues.valid (3.13+) */
};

/*
 * How dicts and instance dicts are laid out, by era (struct
 * py_obj_offsets.dict_era); the offsets above say where the fields are.
 */
enum py_dict_era {
	PY_DICT_OPEN27 = 1,	/* 2.7: open addressing table of (hash, key, value) */
	PY_DICT_COMPACT = 2,	/* 3.6-3.10: indices + entries; split values in entry order */
	PY_DICT_LOG2_311 = 3,	/* 3.11: dk_log2_size, unicode entries; values pointer at obj-32 */
	PY_DICT_LOG2_312 = 4,	/* 3.12: as 3.11, dict-or-values tagged pointer at obj-24 */
	PY_DICT_INLINE = 5,	/* 3.13+: PyDictValues header, inline values at tp_basicsize */
};

struct py_offsets_entry {
	unsigned major, minor, min_micro;
	struct py_offsets off;
	struct py_obj_offsets obj;
};

/*
 * Where the fields we use sit inside _Py_DebugOffsets of one minor version
 * (byte offsets inside the block; 0: the version has no such field).
 * Generated from each version's pycore_runtime.h / pycore_debug_offsets.h.
 */
struct py_debug_layout {
	unsigned major, minor;
	__u32 size;		/* sizeof(_Py_DebugOffsets) */
	__u16 version, free_threaded;
	__u16 runtime_size, runtime_interp_head;
	__u16 interp_size, interp_next, interp_threads_head, interp_ceval_gil;
	__u16 interp_gil_runtime_state, interp_gil_locked, interp_gil_holder;
	__u16 tstate_size, tstate_next, tstate_interp, tstate_current_frame;
	__u16 tstate_thread_id, tstate_native_thread_id, tstate_datastack_chunk;
	__u16 frame_size, frame_previous, frame_executable, frame_instr_ptr;
	__u16 frame_localsplus, frame_owner;
	__u16 code_size, code_filename, code_name, code_qualname;
	__u16 code_linetable, code_firstlineno, code_argcount;
	__u16 code_localsplusnames, code_adaptive;
	__u16 pyobject_size, pyobject_ob_type;
	__u16 type_size, type_name, type_flags;
	__u16 tuple_size, tuple_item, tuple_ob_size;
	__u16 list_size, list_item;
	__u16 dict_size, dict_keys, dict_values;
	__u16 float_size, float_fval;
	__u16 long_size, long_lv_tag, long_digit;
	__u16 bytes_size, bytes_sval;
	__u16 unicode_size, unicode_state, unicode_length, unicode_ascii_size;
	__u16 unicode_compact_size;
	__u16 interp_imports_modules, code_localspluskinds;
	__u16 type_basicsize, type_dictoffset;
	__u16 heap_type_size, heap_type_cached_keys;
};

/* Generated (user/offsets_gen.c). Sorted by major, minor, min_micro. */
extern const struct py_offsets_entry py_offsets_table[];
extern const size_t py_offsets_table_len;
extern const struct py_debug_layout py_debug_layouts[];
extern const size_t py_debug_layouts_len;

/* _Py_DebugOffsets starts with this 8-byte cookie (no NUL). */
#define PY_DEBUG_COOKIE "xdebugpy"
/* Offsets taken from _Py_DebugOffsets must be below this. */
#define PY_DEBUG_MAX_OFFSET 0x10000

/*
 * Best table for a version (the entry with the same major.minor and the
 * highest min_micro <= micro), or NULL.
 */
const struct py_offsets_entry *py_offsets__find(unsigned major, unsigned minor,
						unsigned micro);

/* The _Py_DebugOffsets layout of major.minor, or NULL (before 3.13, unknown). */
const struct py_debug_layout *py_offsets__debug_layout(unsigned major,
							unsigned minor);

/*
 * 3.13+: parse the _Py_DebugOffsets block read from the start of _PyRuntime
 * (buf/len are untrusted bytes from the target), check its cookie and that
 * its version matches major.minor, reject free-threaded builds
 * (-EPROTONOSUPPORT), and override every field of *off (and *obj, if not
 * NULL) that the block covers; frame_read and code_read are recomputed,
 * str_hash (not in the block) follows the str length it gives, and
 * code_version (not in it either) is cleared when the block moves the code
 * object's fields away from where *off has them.
 * Nothing is written on failure. Returns 0 or a negative errno and a short
 * reason in err:
 *   -EINVAL          bad arguments
 *   -EOPNOTSUPP      no known _Py_DebugOffsets layout for major.minor
 *   -ENODATA         buffer shorter than that layout
 *   -EBADMSG         cookie mismatch
 *   -EPROTO          version field does not match major.minor
 *   -EPROTONOSUPPORT free-threaded build
 *   -ERANGE          an offset or size out of bounds, or the frame/code
 *                    read windows would exceed PY_FRAME_READ/PY_CODE_READ
 */
int py_offsets__apply_debug(struct py_offsets *off, struct py_obj_offsets *obj,
			    const void *buf, size_t len, unsigned major,
			    unsigned minor, char *err, size_t errlen);

#endif /* PYSPY_OFFSETS_H */
