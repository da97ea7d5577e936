// SPDX-License-Identifier: BSD-2-Clause
/*
 * Thread names: threading._active of every interpreter, ident -> the
 * Thread's name (and, 3.8+, its kernel tid). And the thread states in the
 * interpreters' own order.
 */
#include <errno.h>
#include <stdint.h>

#include "offsets.h"
#include "pyobj.h"
#include "pyobj_int.h"

static int interp_thread_names(struct ctx *c, uint64_t interp, struct py_thread_name *out,
			       size_t max, size_t *count)
{
	const struct py_obj_offsets *o = c->o;
	const char *attr = c->r->major == 2 ? "_Thread__name" : "_name";
	uint64_t modules, mod, mdict, active, key, thread, name, native;
	const struct tinfo *t;
	struct dict_iter it;
	int err, ret = 0;

	if ((err = pyobj_rd64(c, interp + o->interp_modules, &modules)))
		return err;
	if (!modules)
		return -ENOENT;	/* interpreter starting or finishing */
	if ((err = pyobj_dict_get(c, modules, "threading", &mod)))
		return err;
	if ((err = pyobj_type_of(c, mod, &t)))
		return err;
	if (t->kind != K_MODULE)
		return -EINVAL;
	if ((err = pyobj_rd64(c, mod + o->module_dict, &mdict)))
		return err;
	if ((err = pyobj_dict_get(c, mdict, "_active", &active)))
		return err;
	if ((err = pyobj_type_of(c, active, &t)))
		return err;
	if (t->kind != K_DICT)
		return -EINVAL;
	if ((err = pyobj_dict_iter_init(&it, c, active)))
		return err;
	while (*count < max && (ret = pyobj_dict_next(&it, &key, &thread)) == 1) {
		struct py_thread_name *tn = &out[*count];

		/* A thread that vanished meanwhile is skipped, not fatal. */
		if (pyobj_type_of(c, key, &t) || pyobj_long_value(c, key, t, &tn->ident))
			continue;
		if (pyobj_attr_get(c, thread, attr, &name))
			continue;
		err = pyobj_str_utf8(c, name, tn->name, sizeof(tn->name));
		if (err && err != -ENOSPC)
			continue;
		/* 3.8+: which kernel thread it is, as idents are reused at once. */
		tn->native_id = 0;
		if (c->r->major == 3 && c->r->minor >= 8 &&
		    !pyobj_attr_get(c, thread, "_native_id", &native) && native &&
		    !pyobj_type_of(c, native, &t) && pyobj_long_value(c, native, t, &tn->native_id))
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
	pyobj_ctx_init(&c, r, max < PYOBJ_MAX_SCAN_READS / 128 ? PYOBJ_MAX_SCAN_READS : max * 128);
	head = r->off->flags & PY_F_INTERP_HEAD_SYM ? r->runtime :
						      r->runtime + r->off->runtime_interp_head;
	err = pyobj_rd64(&c, head, &interp);
	for (i = 0; !err && interp && i < PYOBJ_MAX_INTERPS && count < max; i++) {
		int e = interp_thread_names(&c, interp, out, max, &count);

		if (e && !first_err)
			first_err = e;
		err = pyobj_rd64(&c, interp + r->off->interp_next, &interp);
	}
	pyobj_ctx_fini(&c);
	if (count)
		return (int)count;
	if (err)
		return err;
	return first_err ? first_err : 0;
}

int pyobj__thread_states(const struct pyobj_reader *r, uint64_t *out, size_t max)
{
	uint64_t interp, head, ts;
	size_t count = 0;
	struct ctx c;
	int err, i;

	if (!r || !r->off || (!out && max))
		return -EINVAL;
	if (max > PYOBJ_MAX_SCAN_READS)
		max = PYOBJ_MAX_SCAN_READS;
	/* A read per thread state and two per interpreter. */
	pyobj_ctx_init(&c, r, max + 2 * PYOBJ_MAX_INTERPS + 1);
	head = r->off->flags & PY_F_INTERP_HEAD_SYM ? r->runtime :
						      r->runtime + r->off->runtime_interp_head;
	err = pyobj_rd64(&c, head, &interp);
	for (i = 0; !err && interp && i < PYOBJ_MAX_INTERPS && count < max; i++) {
		err = pyobj_rd64(&c, interp + r->off->interp_tstate_head, &ts);
		/* A list longer than max, or one that loops back in hostile
		 * memory, ends at max. */
		while (!err && ts && count < max) {
			out[count++] = ts;
			err = pyobj_rd64(&c, ts + r->off->tstate_next, &ts);
		}
		if (!err)
			err = pyobj_rd64(&c, interp + r->off->interp_next, &interp);
	}
	pyobj_ctx_fini(&c);
	return count ? (int)count : err;
}
