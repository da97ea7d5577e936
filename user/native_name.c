// SPDX-License-Identifier: BSD-2-Clause
/*
 * Names of native frames (native__name()), and which of them are the
 * interpreter's own: its eval loop, which the Python frames it ran replace,
 * and the call plumbing around it, which is hidden unless asked for.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "aggregate.h"
#include "elfsym.h"
#include "native_int.h"

/* The least size of an eval loop found by its size alone (CPython's are
 * 40 KiB and more since 3.6; no other function of theirs comes close). */
#define EVAL_LOOP_MIN (32u << 10)

struct cached_name {
	bool eval, machinery;
	uint64_t gen;			/* the aggregation frame was interned in */
	const struct frame *frame;
	char function[];
};

/* The eval loop: one activation runs one Python frame before 3.11, a chain
 * of them since. GCC's split-off parts (.cold) belong to it too. 2.7's is
 * PyEval_EvalFrameEx; in 3.x that is a wrapper around the real one. */
static bool is_eval(const char *name)
{
	static const char *const eval[] = { "_PyEval_EvalFrameDefault", "PyEval_EvalFrameEx" };

	for (size_t i = 0; i < sizeof(eval) / sizeof(eval[0]); i++) {
		size_t len = strlen(eval[i]);

		if (!strncmp(name, eval[i], len) && (!name[len] || name[len] == '.'))
			return true;
	}
	return false;
}

/*
 * The interpreter's call plumbing between a caller and what it calls:
 * vectorcall and tp_call trampolines, the eval loop's helpers, the entry
 * into the eval loop, and start-up (main to the first module).
 */
static bool is_machinery(const char *name)
{
	static const char *const prefix[] = {
		"_PyEval_", "PyEval_", "_PyObject_Call", "PyObject_Call", "_PyObject_Vectorcall",
		"PyObject_Vectorcall", "_PyObject_FastCall", "PyObject_FastCall",
		"_PyObject_MakeTpCall", "_PyFunction_", "PyFunction_", "_PyVectorcall_",
		"PyVectorcall_", "_PyCFunction_", "PyCFunction_", "cfunction_", "method_vectorcall",
		"_PyMethodDef_", "vectorcall_", "slot_tp_call", "call_function", "fast_function",
		"function_code_fastcall", "do_call_core", "_Py_call", "_PyEval", "_PyRun_",
		"PyRun_", "pymain_", "Py_RunMain", "Py_BytesMain", "Py_Main", "run_mod",
		"run_eval_code_obj", "builtin_exec", "exec_code_in_module", "_Py_UniversalNewline",
		"thread_run", "pythread_wrapper", "t_bootstrap", "gen_send_ex", "_PyGen_",
	};

	for (size_t i = 0; i < sizeof(prefix) / sizeof(prefix[0]); i++)
		if (!strncmp(name, prefix[i], strlen(prefix[i])))
			return true;
	return !strcmp(name, "main") || !strcmp(name, "_start");
}

/* Where the function holding addr starts by the file's CFI (its FDE's
 * first address), or addr itself outside every FDE: one name for every
 * address of a function no symbol names, not one per return address. */
static uint64_t function_start(const struct native_file *f, uint64_t addr)
{
	size_t lo = 0, hi = f->nfuncs;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (f->funcs[mid].begin <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo && addr < f->funcs[lo - 1].end ? f->funcs[lo - 1].begin : addr;
}

static struct cached_name *make_name(struct native_file *f, uint64_t addr,
				     struct native_stats *st)
{
	const char *sym = f->syms ? elfsym__lookup(f->syms, addr, NULL) : NULL;
	char buf[ELFSYM_NAME_MAX + PATH_MAX];
	struct cached_name *c;
	size_t len;

	if (sym) {
		snprintf(buf, sizeof(buf), "%s", sym);
	} else {
		snprintf(buf, sizeof(buf), "%s+0x%" PRIx64, f->base, function_start(f, addr));
		st->unnamed++;
	}
	len = strlen(buf);
	c = malloc(sizeof(*c) + len + 1);
	if (!c)
		return NULL;
	memcpy(c->function, buf, len + 1);
	c->gen = 0;
	c->frame = NULL;
	c->eval = sym && f->interp && is_eval(sym);
	/* An interpreter stripped to its exported symbols may keep its eval
	 * loop in a part of its own, which no symbol names (GCC's outlined
	 * body behind the exported entry): the file's largest function, by
	 * far, in every CPython. */
	if (!sym && f->interp && f->largest_end - f->largest_begin >= EVAL_LOOP_MIN &&
	    addr >= f->largest_begin && addr < f->largest_end)
		c->eval = true;
	c->machinery = sym && f->interp && !c->eval && is_machinery(sym);
	return c;
}

static void free_cached(void *ctx, void *value)
{
	(void)ctx;
	free(value);
}

static struct cached_name *cached(struct native *n, struct native_file *f, uint64_t addr)
{
	struct cached_name *c = hashmap__get(f->names, addr);

	if (c)
		return c;
	if (hashmap__size(f->names) >= NATIVE_NAMES_MAX) {
		hashmap__free_all(f->names, free_cached, NULL);
		f->names = hashmap__new();
		if (!f->names)
			return NULL;
	}
	c = make_name(f, addr, &n->stats);
	if (c && hashmap__put(f->names, addr, c)) {
		free(c);
		c = NULL;
	}
	return c;
}

bool native__name(struct native *n, uint32_t file, uint64_t addr, struct native_name *out)
{
	struct native_file *f = native__file(n, file);
	struct cached_name *c;

	if (!f || !f->names) {
		n->stats.unknown_file++;
		return false;
	}
	c = cached(n, f, addr);
	if (!c)
		return false;
	out->function = c->function;
	out->path = f->path;
	out->base = f->base;
	out->eval = c->eval;
	out->machinery = c->machinery;
	return true;
}

const struct frame *native__frame(struct native *n, struct agg *a, uint32_t file, uint64_t addr,
				  struct native_name *nn)
{
	struct native_file *f = native__file(n, file);
	struct cached_name *c = f && f->names ? cached(n, f, addr) : NULL;

	memset(nn, 0, sizeof(*nn));
	if (!c) {
		if (!f)
			n->stats.unknown_file++;
		return agg__frame(a, "<unknown native frame>", "", "", 0, FRAME_MARKER);
	}
	nn->function = c->function;
	nn->path = f->path;
	nn->base = f->base;
	nn->eval = c->eval;
	nn->machinery = c->machinery;
	if (c->gen != agg__gen(a) || !c->frame) {
		c->frame = agg__frame(a, c->function, f->path, f->base, 0, FRAME_NATIVE);
		c->gen = agg__gen(a);
	}
	return c->frame;
}
