// SPDX-License-Identifier: BSD-2-Clause
/*
 * asyncio's tasks (3.11+): every Task of the process, what each awaits, which
 * tasks await it, and the frames of the coroutines it is suspended in.
 *
 * Where the tasks are:
 *   3.11-3.13  the asyncio.tasks module's globals, which are the C module's
 *              own containers: _current_tasks ({loop: running task}),
 *              _scheduled_tasks (_all_tasks on 3.11; a WeakSet) and
 *              _eager_tasks (3.12+, a set).
 *   3.14+      lists threaded through the tasks (task_node): one per thread
 *              state and one per interpreter (tasks of threads gone), and
 *              each thread state's running task; all the offsets from
 *              _Py_AsyncioModuleDebugOffsets (the _asyncio module's
 *              .AsyncioDebug section), which the caller finds.
 * What awaits what: a task's fut_waiter is the future it waits on; when that
 * is another task, or a gather's _GatheringFuture holding the task in its
 * _children, the waiting task awaits it; a task suspended in a TaskGroup's
 * __aexit__ awaits the group's _tasks. 3.14+ also keeps the reverse link,
 * task_awaited_by (one future, or a set of them).
 * The task object layout before 3.14 is the _asyncio module's private
 * TaskObj: taken per version from live interpreters (tests/e2e/test_async.py
 * checks it against each), moved by the object header's growth in
 * free-threaded builds.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "hashmap.h"
#include "offsets.h"
#include "pyobj.h"
#include "pyobj_int.h"

/* Set slots and list items visited per container. */
#define SET_SLOTS_MAX (1u << 16)
#define GATHER_CHILDREN_MAX 4096
/* Stack slots tried, from the top, for a suspended coroutine's awaitable
 * (3.15 keeps one more value above it than 3.14). */
#define AWAIT_SLOTS 2

/* gi_frame_state (int8_t) is this many bytes before gi_iframe, in every
 * version read. */
#define GEN_STATE_BACK 5

/*
 * What gi_frame_state says of a coroutine: whether its frame is still
 * there (not finished), and whether it is suspended in an await (the
 * awaitable on top of its stack). Up to 3.14: not started -2 (3.13+: -3),
 * at a plain yield -2 (3.13+), in an await -1 (3.11-3.12: any yield),
 * running 0, finished above; 3.15 counts up from 0: not started 0, at a
 * plain yield 1, in an await 2 (3, locked), running 4, finished above.
 */
static void gen_state(unsigned int minor, int8_t state, bool *alive, bool *awaits)
{
	if (minor >= 15) {
		*alive = state >= 0 && state <= 4;
		*awaits = state == 2 || state == 3;
	} else {
		*alive = state <= 0;
		*awaits = state == -1;
	}
}

/* The layout, in a build with a GIL (a 16-byte object header). */
struct task_layout {
	unsigned int fut_waiter, coro, name;
	unsigned int gen_iframe;	/* the coroutine's _PyInterpreterFrame */
};

static int task_layout(const struct pyobj_reader *r, struct task_layout *l)
{
	if (r->major != 3 || r->minor < 11)
		return -EPROTONOSUPPORT;
	if (r->minor == 11)
		*l = (struct task_layout){ 128, 136, 144, 80 };
	else if (r->minor == 12)
		*l = (struct task_layout){ 128, 136, 144, 72 };
	else if (r->minor == 13)
		*l = (struct task_layout){ 112, 120, 128, 72 };
	else	/* 3.14+: coro and name from the debug offsets */
		*l = (struct task_layout){ 120, 128, 136, 72 };
	return 0;
}

struct walk {
	struct ctx *c;
	const struct py_asyncio_debug *dbg;
	struct task_layout l;
	unsigned int delta;		/* object header bytes beyond 16 */
	struct py_task *out;
	size_t n, max;
	struct hashmap *index;		/* task address -> index + 1 */
};

static bool type_is(struct ctx *c, uint64_t addr, const char *name)
{
	const struct tinfo *t;
	const char *dot;

	if (!addr || pyobj_type_of(c, addr, &t))
		return false;
	dot = strrchr(t->name, '.');
	return !strcmp(dot ? dot + 1 : t->name, name);
}

static void task_name(struct walk *w, uint64_t name, char *out, size_t len)
{
	const struct tinfo *t;
	uint64_t v;

	snprintf(out, len, "?");
	if (!name || pyobj_type_of(w->c, name, &t))
		return;
	if (t->kind == K_STR) {
		int err = pyobj_str_utf8(w->c, name, out, len);

		if (err && err != -ENOSPC)
			snprintf(out, len, "?");
	} else if (t->kind == K_LONG && !pyobj_long_value(w->c, name, t, &v)) {
		/* 3.13+ names a task by its number until asked for the name. */
		snprintf(out, len, "Task-%llu", (unsigned long long)v);
	}
}

/*
 * The frames of the coroutine chain a suspended task waits in: its own
 * coroutine's, then each coroutine that one awaits, down to the future.
 */
static void await_chain(struct walk *w, struct py_task *t)
{
	const struct py_offsets *off = w->c->r->off;
	uint64_t gen = t->coro, seen[PYOBJ_TASK_FRAMES];

	for (unsigned int depth = 0; depth < PYOBJ_TASK_FRAMES && gen; depth++) {
		uint64_t frame = gen + w->l.gen_iframe, slot, top = 0, v;
		bool newer = w->c->r->minor >= 14;
		bool alive, awaits;
		int8_t state;

		for (unsigned int k = 0; k < depth; k++)
			if (seen[k] == gen)
				return;
		seen[depth] = gen;
		/* A coroutine that finished has no frame left; one not
		 * started, running or at a plain yield awaits nothing. */
		if (pyobj_rd(w->c, frame - GEN_STATE_BACK, &state, 1))
			return;
		gen_state(w->c->r->minor, state, &alive, &awaits);
		if (!alive)
			return;
		t->frames[t->nframes++] = frame;
		if (!awaits)
			return;
		/* The top of its value stack: what it awaits when suspended. */
		if (newer) {
			uint64_t base = frame + off->frame_localsplus;

			if (pyobj_rd64(w->c, frame + 64, &top) || top <= base ||
			    top > base + 8ull * 65536 || (top & 7))
				return;
		} else {
			int32_t st;

			if (pyobj_rd(w->c, frame + 64, &st, sizeof(st)) || st < 1 || st > 65536)
				return;
			top = frame + off->frame_localsplus + 8ull * (uint32_t)st;
		}
		gen = 0;
		for (unsigned int k = 1; k <= AWAIT_SLOTS && !gen; k++) {
			if (pyobj_rd64(w->c, top - 8ull * k, &slot))
				return;
			v = slot & ~7ull;	/* 3.14+: tagged stack references */
			if (type_is(w->c, v, "coroutine") || type_is(w->c, v, "generator"))
				gen = v;
			else if (type_is(w->c, v, "FutureIter") || type_is(w->c, v, "Task") ||
				 type_is(w->c, v, "Future"))
				return;
		}
	}
}

static struct py_task *add_task(struct walk *w, uint64_t addr)
{
	struct py_task *t;
	uint64_t coro, name;

	if (!addr)
		return NULL;
	if (hashmap__get(w->index, addr))
		return &w->out[(uintptr_t)hashmap__get(w->index, addr) - 1];
	if (w->n == w->max)
		return NULL;
	if (pyobj_rd64(w->c, addr + w->l.coro, &coro) || !coro ||
	    !type_is(w->c, coro, "coroutine"))
		return NULL;
	t = &w->out[w->n];
	memset(t, 0, sizeof(*t));
	t->addr = addr;
	t->coro = coro;
	if (pyobj_rd64(w->c, addr + w->l.fut_waiter, &t->waiter))
		t->waiter = 0;
	if (pyobj_rd64(w->c, addr + w->l.name, &name))
		name = 0;
	task_name(w, name, t->name, sizeof(t->name));
	if (hashmap__put(w->index, addr, (void *)(uintptr_t)(w->n + 1)))
		return NULL;
	w->n++;
	return t;
}

static struct py_task *known(struct walk *w, uint64_t addr)
{
	uintptr_t i = addr ? (uintptr_t)hashmap__get(w->index, addr) : 0;

	return i ? &w->out[i - 1] : NULL;
}

/* Calls fn with each key of a set (PySetObject: fill, used, mask, table
 * after the header), SET_SLOTS_MAX slots at most. */
static void set_each(struct walk *w, uint64_t set,
		     void (*fn)(struct walk *w, uint64_t key, void *arg), void *arg)
{
	uint64_t mask, table, ent[2 * 32];

	if (!type_is(w->c, set, "set") || pyobj_rd64(w->c, set + 32 + w->delta, &mask) ||
	    pyobj_rd64(w->c, set + 40 + w->delta, &table) || mask >= SET_SLOTS_MAX)
		return;
	for (uint64_t i = 0; i <= mask; i += 32) {
		unsigned int n = mask + 1 - i < 32 ? mask + 1 - i : 32;

		if (pyobj_rd(w->c, table + i * 16, ent, n * 16))
			return;
		for (unsigned int k = 0; k < n; k++)
			if (ent[2 * k])
				fn(w, ent[2 * k], arg);
	}
}

static void add_key(struct walk *w, uint64_t key, void *arg)
{
	(void)arg;
	add_task(w, key);
}

/* A weakref's referent (PyWeakReference.wr_object); add_task() checks
 * what it is. */
static void add_referent(struct walk *w, uint64_t ref, void *arg)
{
	uint64_t obj;

	(void)arg;
	if (!pyobj_rd64(w->c, ref + 16 + w->delta, &obj))
		add_task(w, obj);
}

/* 3.11-3.13: the tasks module's containers, in one interpreter. */
static int module_tasks(struct walk *w, uint64_t interp)
{
	const struct py_obj_offsets *o = w->c->o;
	uint64_t modules, mod, mdict, v, key, task;
	struct dict_iter it;
	int err;

	if ((err = pyobj_rd64(w->c, interp + o->interp_modules, &modules)))
		return err;
	if (!modules)
		return -ENOENT;
	if ((err = pyobj_dict_get(w->c, modules, "asyncio.tasks", &mod)))
		return err;
	if ((err = pyobj_rd64(w->c, mod + o->module_dict, &mdict)))
		return err;
	/* The running ones first: {loop: task}. */
	if (!pyobj_dict_get(w->c, mdict, "_current_tasks", &v) &&
	    !pyobj_dict_iter_init(&it, w->c, v)) {
		while (pyobj_dict_next(&it, &key, &task) == 1) {
			struct py_task *t = add_task(w, task);

			if (t)
				t->thread = 1;
		}
	}
	if (!pyobj_dict_get(w->c, mdict, w->c->r->minor == 11 ? "_all_tasks" : "_scheduled_tasks",
			    &v) && !pyobj_attr_get(w->c, v, "data", &v))
		set_each(w, v, add_referent, NULL);
	if (!pyobj_dict_get(w->c, mdict, "_eager_tasks", &v))
		set_each(w, v, add_key, NULL);
	return 0;
}

/* 3.14+: a list threaded through the tasks' task_node (a circular
 * llist_node list whose head is at head). */
static void list_tasks(struct walk *w, uint64_t head)
{
	uint64_t node;

	if (pyobj_rd64(w->c, head, &node))
		return;
	for (size_t i = 0; node && node != head && i < PYOBJ_MAX_TASKS; i++) {
		add_task(w, node - w->dbg->task_node);
		if (pyobj_rd64(w->c, node, &node))
			return;
	}
}

static int debug_tasks(struct walk *w, uint64_t interp)
{
	uint64_t ts[256], running;
	int n;

	list_tasks(w, interp + w->dbg->interp_tasks_head);
	n = pyobj__thread_states(w->c->r, ts, sizeof(ts) / sizeof(ts[0]));
	for (int i = 0; i < n; i++) {
		if (!pyobj_rd64(w->c, ts[i] + w->dbg->ts_running_task, &running)) {
			struct py_task *t = add_task(w, running);

			if (t)
				t->thread = ts[i];
		}
		list_tasks(w, ts[i] + w->dbg->ts_tasks_head);
	}
	return 0;
}

static void awaited_by(struct py_task *t, const struct py_task *by)
{
	for (unsigned int i = 0; i < t->nawaited_by; i++)
		if (t->awaited_by[i] == by->addr)
			return;
	if (t->nawaited_by < PYOBJ_TASK_AWAITERS && t != by)
		t->awaited_by[t->nawaited_by++] = by->addr;
}

/* key, a task, is awaited by the task at arg. */
static void awaited_by_arg(struct walk *w, uint64_t key, void *arg)
{
	struct py_task *t = known(w, key);

	if (t)
		awaited_by(t, arg);
}

/* arg, a task, is awaited by key, a task. */
static void awaiting_arg(struct walk *w, uint64_t key, void *arg)
{
	struct py_task *by = known(w, key);

	if (by)
		awaited_by(arg, by);
}

/* The TaskGroup a task waits in (its __aexit__, or 3.13's _aexit, is the
 * innermost coroutine of its chain: self is its first local); 0 if none. */
static uint64_t task_group(struct walk *w, const struct py_task *t)
{
	const struct py_offsets *off = w->c->r->off;
	uint64_t frame, code, name, self;

	if (!t->nframes)
		return 0;
	frame = t->frames[t->nframes - 1];
	if (pyobj_rd64(w->c, frame + off->frame_code, &code) ||
	    pyobj_rd64(w->c, (code & ~off->code_tag_mask) + off->code_name, &name) ||
	    !(pyobj_str_is(w->c, name, "__aexit__") || pyobj_str_is(w->c, name, "_aexit")) ||
	    pyobj_rd64(w->c, frame + off->frame_localsplus, &self))
		return 0;
	self &= ~7ull;	/* 3.14+: a tagged stack reference */
	return type_is(w->c, self, "TaskGroup") ? self : 0;
}

/* Who awaits whom: fut_waiter (a task, or a gather of tasks), the tasks of
 * a TaskGroup its owner waits in, and 3.14's own links. */
static void link_tasks(struct walk *w)
{
	const struct py_obj_offsets *o = w->c->o;

	for (size_t i = 0; i < w->n; i++) {
		struct py_task *t = &w->out[i], *u;
		uint64_t children, items, by, group, set;
		int64_t len;

		if ((u = known(w, t->waiter))) {
			awaited_by(u, t);
		} else if (t->waiter && type_is(w->c, t->waiter, "_GatheringFuture") &&
			   !pyobj_attr_get(w->c, t->waiter, "_children", &children) &&
			   type_is(w->c, children, "list") &&
			   !pyobj_rd(w->c, children + o->ob_size, &len, sizeof(len)) &&
			   !pyobj_rd64(w->c, children + o->list_item, &items)) {
			for (int64_t k = 0; k < len && k < GATHER_CHILDREN_MAX; k++) {
				uint64_t child;

				if (pyobj_rd64(w->c, items + 8 * k, &child))
					break;
				if ((u = known(w, child)))
					awaited_by(u, t);
			}
		} else if ((group = task_group(w, t)) &&
			   !pyobj_attr_get(w->c, group, "_tasks", &set)) {
			set_each(w, set, awaited_by_arg, t);
		}
		if (!w->dbg || pyobj_rd64(w->c, t->addr + w->dbg->task_awaited_by, &by) || !by)
			continue;
		if ((u = known(w, by)))
			awaited_by(t, u);
		else
			set_each(w, by, awaiting_arg, t);
	}
}

int pyobj__tasks(const struct pyobj_reader *r, const struct py_asyncio_debug *dbg,
		 struct py_task *out, size_t max)
{
	struct walk w = { .dbg = dbg, .out = out, .max = max };
	uint64_t interp, head;
	struct ctx c;
	int err, i, first_err = 0;

	if (!r || !r->obj || !r->off || !r->sl || (!out && max))
		return -EINVAL;
	if ((err = task_layout(r, &w.l)))
		return err;
	if (r->minor >= 14 && !dbg)
		return -EPROTONOSUPPORT;
	w.delta = r->obj->ob_type > 8 ? r->obj->ob_type - 8 : 0;
	w.l.gen_iframe += w.delta;
	if (dbg) {	/* the build's own offsets: the header is in them */
		w.l.coro = dbg->task_coro;
		w.l.name = dbg->task_name;
		w.l.fut_waiter = dbg->task_coro - 8;
	} else {
		w.l.coro += w.delta;
		w.l.name += w.delta;
		w.l.fut_waiter += w.delta;
	}
	if (max > PYOBJ_MAX_TASKS)
		max = w.max = PYOBJ_MAX_TASKS;
	w.index = hashmap__new();
	if (!w.index)
		return -ENOMEM;
	pyobj_ctx_init(&c, r, PYOBJ_MAX_SCAN_READS * 4);
	w.c = &c;
	head = r->off->flags & PY_F_INTERP_HEAD_SYM ? r->runtime :
						      r->runtime + r->off->runtime_interp_head;
	err = pyobj_rd64(&c, head, &interp);
	for (i = 0; !err && interp && i < PYOBJ_MAX_INTERPS && w.n < max; i++) {
		int e = dbg ? debug_tasks(&w, interp) : module_tasks(&w, interp);

		if (e && !first_err)
			first_err = e;
		/* 3.14's thread list covers every interpreter's threads. */
		if (dbg)
			break;
		err = pyobj_rd64(&c, interp + r->off->interp_next, &interp);
	}
	for (size_t k = 0; k < w.n; k++)
		if (!out[k].thread)
			await_chain(&w, &out[k]);
		else
			out[k].frames[out[k].nframes++] = out[k].coro + w.l.gen_iframe;
	link_tasks(&w);
	pyobj_ctx_fini(&c);
	hashmap__free(w.index);
	if (w.n)
		return (int)w.n;
	if (err)
		return err;
	return first_err == -ENOENT || !first_err ? 0 : first_err;
}
