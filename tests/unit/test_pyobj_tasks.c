/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * user/pyobj_tasks.c: asyncio's tasks read from a process, on fakes laid
 * out with each 3.11+ version's offsets in this process's memory (see
 * pyobj_fake.h). A known tree is read back whole (3.11-3.13 through the
 * asyncio.tasks module's containers, 3.14+ through the debug offsets' task
 * lists); then random mutations of it, and lists that loop, must give
 * bounded results in bounded time. The live interpreters are
 * tests/e2e/test_async.py's.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "pyobj_fake.h"
#include "rng.h"

/* TaskObj and coroutine layouts the reader assumes, per minor version
 * (user/pyobj_tasks.c): fut_waiter, coro, name, the coroutine's frame. */
static void task_offsets(unsigned int minor, unsigned int *waiter, unsigned int *coro,
			 unsigned int *name, unsigned int *iframe)
{
	*iframe = minor == 11 ? 80 : 72;
	*waiter = minor <= 12 ? 128 : minor == 13 ? 112 : 120;
	*coro = *waiter + 8;
	*name = *waiter + 16;
}

/* The task list node's place in a 3.14+ task (as its debug offsets say). */
#define TASK_NODE 152

struct tree {
	struct fake f;
	struct py_asyncio_debug dbg;
	bool lists;			/* 3.14+ */
	uint64_t task[5];		/* Task-1 gathers 2 and 3; 2 awaits 4, 3 awaits 5 */
	uint64_t lo, hi;		/* the bytes the mutations touch */
};

static uint64_t fake_task(struct tree *t, uint64_t type, uint64_t coro_type, const char *name,
			  uint64_t waiter)
{
	struct fake *f = &t->f;
	unsigned int ow, oc, on, oi;
	uint64_t task = fk_obj(f, type, 256), coro = fk_obj(f, coro_type, 512);

	task_offsets(f->r.minor, &ow, &oc, &on, &oi);
	put64(task + oc, coro);
	put64(task + on, fk_str(f, name));
	put64(task + ow, waiter);
	/* Suspended in an await (gi_frame_state just before the frame): the
	 * top of its stack is what it awaits (a FutureIter). */
	*(int8_t *)P(coro + oi - 5) = f->r.minor >= 15 ? 2 : -1;
	put32(coro + oi + 64, 1);
	put64(coro + oi + f->r.off->frame_localsplus, fk_obj(f, fk_type(f, "FutureIter", false), 32));
	if (t->lists)
		put64(coro + oi + 64, coro + oi + f->r.off->frame_localsplus + 8);
	return task;
}

/* A set (PySetObject) of at most 8 keys, in a table of 8 slots. */
static uint64_t fake_set(struct fake *f, const uint64_t *keys, size_t n)
{
	uint64_t s = fk_obj(f, fk_type(f, "set", false), 200), table = fk_alloc(f, 8 * 16);

	put64(s + 32, 7);
	put64(s + 40, table);
	assert_true(n <= 8);
	for (size_t i = 0; i < n; i++)
		put64(table + 16 * i, keys[i]);
	return s;
}

/* An object with an instance dict at 64 holding name = value. */
static uint64_t fake_with_attr(struct fake *f, const char *type, const char *name,
			       uint64_t value)
{
	uint64_t t = fk_type(f, type, true), o = fk_obj(f, t, 128), k = fk_str(f, name);

	put64(t + f->obj.type_dictoffset, 64);
	put64(o + 64, fk_dict(f, &k, &value, 1));
	return o;
}

static void build_tree(struct tree *t, const struct py_offsets_entry *e)
{
	struct fake *f = &t->f;
	const struct py_obj_offsets *o = &f->obj;
	uint64_t interp, rt, ttype, ctype, gather, children, k[3], v[3], refs[5], wref;

	fk_init(f, e);
	t->lists = e->minor >= 14;
	t->lo = A(f->arena) + f->used;
	interp = fk_alloc(f, 16384);
	rt = fk_alloc(f, 4096);
	ttype = fk_type(f, "_asyncio.Task", false);
	ctype = fk_type(f, "coroutine", false);
	t->task[3] = fake_task(t, ttype, ctype, "spinner-1", 0);
	t->task[4] = fake_task(t, ttype, ctype, "spinner-2", 0);
	t->task[1] = fake_task(t, ttype, ctype, "worker-1", t->task[3]);
	t->task[2] = fake_task(t, ttype, ctype, "worker-2", t->task[4]);
	children = fk_list(f, (uint64_t[]){ t->task[1], t->task[2] }, 2);
	gather = fake_with_attr(f, "_GatheringFuture", "_children", children);
	t->task[0] = fake_task(t, ttype, ctype, "Task-1", gather);
	if (t->lists) {
		/* Every task on the interpreter's list, in order. */
		uint64_t head = interp + 8192, prev = head;

		memset(&t->dbg, 0, sizeof(t->dbg));
		t->dbg.task_size = 256;
		t->dbg.task_name = 136;
		t->dbg.task_coro = 128;
		t->dbg.task_awaited_by = 96;
		t->dbg.task_node = TASK_NODE;
		t->dbg.interp_size = 16384;
		t->dbg.interp_tasks_head = 8192;
		t->dbg.ts_size = 4096;
		t->dbg.ts_running_task = 8;
		t->dbg.ts_tasks_head = 16;
		for (int i = 0; i < 5; i++) {
			put64(prev, t->task[i] + TASK_NODE);
			prev = t->task[i] + TASK_NODE;
		}
		put64(prev, head);
		/* 3.14's own link: spinner-2 awaited by worker-2, in a set. */
		put64(t->task[4] + 96, fake_set(f, &t->task[2], 1));
	} else {
		/* asyncio.tasks: _current_tasks {loop: spinner-1}, the WeakSet
		 * of the others (_all_tasks on 3.11), _eager_tasks empty. */
		for (int i = 0; i < 5; i++) {
			refs[i] = fk_obj(f, fk_type(f, "weakref.ReferenceType", false), 64);
			put64(refs[i] + 16, t->task[i]);
		}
		wref = fake_with_attr(f, "WeakSet", "data", fake_set(f, refs, 5));
		k[0] = fk_str(f, "_current_tasks");
		v[0] = fk_dict(f, &f->none, &t->task[3], 1);
		k[1] = fk_str(f, e->minor == 11 ? "_all_tasks" : "_scheduled_tasks");
		v[1] = wref;
		k[2] = fk_str(f, "_eager_tasks");
		v[2] = fake_set(f, NULL, 0);
		k[0] = fk_dict(f, k, v, 3);
		v[0] = fk_obj(f, fk_type(f, "module", false), 64);
		put64(v[0] + o->module_dict, k[0]);
		k[1] = fk_str(f, "asyncio.tasks");
		put64(interp + o->interp_modules, fk_dict(f, &k[1], v, 1));
	}
	if (e->off.flags & PY_F_INTERP_HEAD_SYM)
		put64(rt, interp);
	else
		put64(rt + e->off.runtime_interp_head, interp);
	f->r.runtime = rt;
	t->hi = A(f->arena) + f->used;
}

static int find(const struct py_task *got, int n, uint64_t addr)
{
	for (int i = 0; i < n; i++)
		if (got[i].addr == addr)
			return i;
	return -1;
}

static void expect_awaited_by(const struct py_task *got, int n, uint64_t task, uint64_t by)
{
	int i = find(got, n, task);

	assert_true(i >= 0);
	if (!by) {
		assert_int_equal(got[i].nawaited_by, 0);
		return;
	}
	assert_int_equal(got[i].nawaited_by, 1);
	assert_true(got[i].awaited_by[0] == by);
}

static void test_tree(void **state)
{
	static const char *const names[] = { "Task-1", "worker-1", "worker-2", "spinner-1",
					     "spinner-2" };
	unsigned int versions = 0;

	(void)state;
	for (size_t k = 0; k < py_offsets_table_len; k++) {
		const struct py_offsets_entry *e = &py_offsets_table[k];
		struct py_task got[8];
		struct tree t;
		int n;

		if (e->major != 3 || e->minor < 11)
			continue;
		build_tree(&t, e);
		n = pyobj__tasks(&t.f.r, t.lists ? &t.dbg : NULL, got, 8);
		print_message("  %u.%u: %d tasks\n", e->major, e->minor, n);
		assert_int_equal(n, 5);
		for (int i = 0; i < 5; i++) {
			int j = find(got, n, t.task[i]);

			assert_true(j >= 0);
			assert_string_equal(got[j].name, names[i]);
			assert_int_equal(got[j].nframes, 1);
		}
		expect_awaited_by(got, n, t.task[0], 0);
		expect_awaited_by(got, n, t.task[1], t.task[0]);
		expect_awaited_by(got, n, t.task[2], t.task[0]);
		expect_awaited_by(got, n, t.task[3], t.task[1]);
		expect_awaited_by(got, n, t.task[4], t.task[2]);
		if (!t.lists)
			assert_true(got[find(got, n, t.task[3])].thread != 0);
		/* Fewer asked for: that many; 3.14+ needs its offsets. */
		assert_int_equal(pyobj__tasks(&t.f.r, t.lists ? &t.dbg : NULL, got, 2), 2);
		if (t.lists)
			assert_int_equal(pyobj__tasks(&t.f.r, NULL, got, 8), -EPROTONOSUPPORT);
		/* A list that loops on itself ends. */
		if (t.lists) {
			put64(t.task[2] + TASK_NODE, t.task[1] + TASK_NODE);
			assert_int_equal(pyobj__tasks(&t.f.r, &t.dbg, got, 8), 3);
		}
		t.f.r.runtime = 0x10;
		assert_true(pyobj__tasks(&t.f.r, t.lists ? &t.dbg : NULL, got, 8) <= 0);
		fk_fini(&t.f);
		versions++;
	}
	assert_true(versions >= 3);
	/* Before 3.11: not supported. */
	for (size_t k = 0; k < py_offsets_table_len; k++) {
		const struct py_offsets_entry *e = &py_offsets_table[k];
		struct py_task got[1];
		struct fake f;

		if (e->major == 3 && e->minor == 10) {
			fk_init(&f, e);
			assert_int_equal(pyobj__tasks(&f.r, NULL, got, 1), -EPROTONOSUPPORT);
			fk_fini(&f);
		}
	}
}

static uint64_t rng = 0x2545F4914F6CDD1DULL;

static double cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Random words and bytes of the tree changed: every result bounded. */
static void test_mutations(void **state)
{
	unsigned int iters = getenv("PYOBJ_FUZZ") ? (unsigned int)atoi(getenv("PYOBJ_FUZZ")) : 400;
	double slowest = 0;

	(void)state;
	for (size_t k = 0; k < py_offsets_table_len; k++) {
		const struct py_offsets_entry *e = &py_offsets_table[k];
		static uint64_t at[8], saved[8];
		struct py_task got[16];
		unsigned int found = 0;
		struct tree t;

		if (e->major != 3 || e->minor < 11)
			continue;
		build_tree(&t, e);
		for (unsigned int it = 0; it < iters; it++) {
			unsigned int m = 1 + xorshift64(&rng) % 6;
			double t0;
			int n;

			for (unsigned int j = 0; j < m; j++) {
				at[j] = t.lo + (xorshift64(&rng) % ((t.hi - t.lo) / 8)) * 8;
				saved[j] = get64(at[j]);
				if (xorshift64(&rng) % 3)	/* a pointer into the tree */
					put64(at[j], t.lo + (xorshift64(&rng) % (t.hi - t.lo)));
				else
					*(uint8_t *)P(at[j] + xorshift64(&rng) % 8) =
						(uint8_t)xorshift64(&rng);
			}
			t0 = cpu_now();
			n = pyobj__tasks(&t.f.r, t.lists ? &t.dbg : NULL, got, 16);
			if (cpu_now() - t0 > slowest)
				slowest = cpu_now() - t0;
			assert_true(n <= 16);
			for (int i = 0; i < n; i++) {
				assert_true(strlen(got[i].name) < sizeof(got[i].name));
				assert_true(got[i].nframes <= PYOBJ_TASK_FRAMES);
				assert_true(got[i].nawaited_by <= PYOBJ_TASK_AWAITERS);
			}
			found += n > 0;
			while (m-- > 0)
				put64(at[m], saved[m]);
		}
		print_message("  %u.%u: %u mutations, %u read some tasks\n", e->major, e->minor,
			      iters, found);
		fk_fini(&t.f);
	}
	/* The reads are capped: CPU time, which a busy machine does not
	 * stretch. */
	print_message("  slowest: %.1f ms of CPU\n", slowest * 1e3);
	assert_true(slowest < 0.5);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tree),
		cmocka_unit_test(test_mutations),
	};

	return cmocka_run_group_tests_name("pyobj_tasks", tests, NULL, NULL);
}
