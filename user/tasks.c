// SPDX-License-Identifier: BSD-2-Clause
/* asyncio tasks in the stacks (--async): see tasks.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "clock.h"
#include "elffile.h"
#include "hashmap.h"
#include "log.h"
#include "procmaps.h"
#include "remote.h"
#include "tasks.h"
#include "uwalk.h"

#define TASKS_MAX_AGE_NS (1000 * 1000000ULL)
#define TASKS_MISS_NS (100 * 1000000ULL)
/* A read may cost at most 1/COST_SHARE of the time between reads. */
#define COST_SHARE 20
/* 3.14+: how often the _asyncio module's debug offsets are looked for
 * while they are not found (asyncio not imported yet). */
#define DEBUG_RETRY_NS (1000 * 1000000ULL)
/* Tasks on one sample's await path (awaiters of awaiters...). */
#define AWAIT_DEPTH 64
/* Tasks running one inside another on one thread (eager tasks). */
#define NESTED_MAX 16

/* A task's frames, symbolized for one aggregation. */
struct task_sym {
	uint64_t gen;			/* agg__gen() of marker; 0: not yet */
	const struct frame *marker;	/* task "NAME" */
	uint64_t frames_gen;		/* agg__gen() of f; 0: not yet */
	bool function_lines;
	unsigned int n;
	const struct frame *f[PYOBJ_TASK_FRAMES];
	uint64_t code;			/* its coroutine's code at the read; 0: unread, 1: unreadable */
};

struct tasks {
	struct py_task *t;
	struct task_sym *sym;
	int n, cap;
	struct hashmap *by_frame;	/* own coroutine frame -> index + 1 */
	struct hashmap *by_addr;	/* task -> index + 1 */
	uint64_t read_at, cost_ns;
	uint64_t dbg_at;
	bool have_dbg;
	struct py_asyncio_debug dbg;
};

/* The frame reader for suspended coroutines: one for the collector. */
static struct uwalk *frame_reader(void)
{
	static struct uwalk *u;

	if (!u)
		u = uwalk__new(NULL, NULL);
	return u;
}

void tasks__free(struct tasks *t)
{
	if (!t)
		return;
	hashmap__free(t->by_frame);
	hashmap__free(t->by_addr);
	free(t->t);
	free(t->sym);
	free(t);
}

static bool debug_sane(const struct py_asyncio_debug *d)
{
	return d->task_size >= 64 && d->task_size <= 4096 && d->task_name < d->task_size &&
	       d->task_awaited_by < d->task_size && d->task_coro < d->task_size &&
	       d->task_coro >= 16 && d->task_node < d->task_size &&
	       d->interp_size <= (1u << 24) && d->interp_tasks_head < d->interp_size &&
	       d->ts_size <= (1u << 20) && d->ts_running_task < d->ts_size &&
	       d->ts_tasks_head < d->ts_size;
}

/* The .AsyncioDebug section of one mapped file, read from the process. */
static int debug_in_file(pid_t pid, const struct maps_entry *e, struct py_asyncio_debug *out)
{
	struct elf_section sec;
	struct elf_load ld, low = { .vaddr = UINT64_MAX };
	struct elffile *ef;
	char path[96];
	uint64_t bias = 0;
	int err;

	snprintf(path, sizeof(path), "/proc/%d/map_files/%llx-%llx", pid,
		 (unsigned long long)e->start, (unsigned long long)e->end);
	if ((err = elffile__open(path, &ef)))
		return err;
	err = elffile__find_section(ef, ".AsyncioDebug", &sec);
	if (!err && sec.size < sizeof(*out))
		err = -EINVAL;
	for (unsigned int i = 0; !err && i < elffile__nloads(ef); i++)
		if (!elffile__load(ef, i, &ld) && ld.vaddr < low.vaddr)
			low = ld;
	if (!err && elffile__type(ef) != 2 /* ET_EXEC */)
		bias = e->start - (low.vaddr - low.offset);
	elffile__free(ef);
	if (!err)
		err = remote_read(pid, sec.addr + bias, out, sizeof(*out));
	if (!err && !debug_sane(out))
		err = -EPROTONOSUPPORT;
	return err;
}

/* 3.14+: the _asyncio module's debug offsets, in its own shared object or
 * in the file holding the interpreter when it is built in. */
static int find_debug(const struct py_process *p, struct py_asyncio_debug *out)
{
	char path[64], line[4096 + 128];
	struct maps_entry e;
	int err = -ENOENT;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", p->pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (err && fgets(line, sizeof(line), f)) {
		const char *base;

		if (maps__parse_line(line, strlen(line), &e) || e.offset || !e.pathlen)
			continue;
		base = memrchr(e.path, '/', e.pathlen);
		base = base ? base + 1 : e.path;
		if (strncmp(base, "_asyncio", 8) &&
		    (e.pathlen != strlen(p->module) || memcmp(e.path, p->module, e.pathlen)))
			continue;
		err = debug_in_file(p->pid, &e, out) ? -ENOENT : 0;
	}
	fclose(f);
	return err;
}

static int grow(struct tasks *t, int cap)
{
	struct py_task *nt = realloc(t->t, cap * sizeof(*nt));

	if (!nt)
		return -ENOMEM;
	t->t = nt;
	free(t->sym);
	t->sym = calloc(cap, sizeof(*t->sym));
	if (!t->sym)
		return -ENOMEM;
	t->cap = cap;
	return 0;
}

static int refresh(struct py_process *p, struct tasks *t, uint64_t now)
{
	uint64_t t0 = mono_ns();
	int n;

	if (p->minor >= 14 && !t->have_dbg && (!t->dbg_at || now - t->dbg_at >= DEBUG_RETRY_NS)) {
		t->dbg_at = now;
		t->have_dbg = !find_debug(p, &t->dbg);
	}
	for (;;) {
		if (!t->cap && grow(t, 64))
			return -ENOMEM;
		/* 3.14+ without the module's offsets: asyncio is not loaded. */
		if (p->minor >= 14 && !t->have_dbg) {
			n = 0;
			break;
		}
		n = pyobj__tasks(&p->reader, t->have_dbg ? &t->dbg : NULL, t->t, t->cap);
		if (n < t->cap || t->cap >= PYOBJ_MAX_TASKS)
			break;
		if (grow(t, t->cap * 2))
			return -ENOMEM;
	}
	t->n = n > 0 ? n : 0;
	memset(t->sym, 0, t->cap * sizeof(*t->sym));
	hashmap__free(t->by_frame);
	hashmap__free(t->by_addr);
	t->by_frame = hashmap__new();
	t->by_addr = hashmap__new();
	if (!t->by_frame || !t->by_addr)
		return -ENOMEM;
	for (int i = 0; i < t->n; i++) {
		if (t->t[i].nframes)
			hashmap__put(t->by_frame, t->t[i].frames[0], (void *)(uintptr_t)(i + 1));
		hashmap__put(t->by_addr, t->t[i].addr, (void *)(uintptr_t)(i + 1));
	}
	t->read_at = now;
	t->cost_ns = mono_ns() - t0;
	return n < 0 ? n : 0;
}

static bool due(const struct tasks *t, uint64_t now, bool missed)
{
	uint64_t wait = missed ? TASKS_MISS_NS : TASKS_MAX_AGE_NS;

	if (t->cost_ns * COST_SHARE > wait)
		wait = t->cost_ns * COST_SHARE;
	return !t->read_at || now - t->read_at >= wait;
}

static struct tasks *tasks_of(struct py_process *p)
{
	if (!p->tasks)
		p->tasks = calloc(1, sizeof(struct tasks));
	return p->tasks;
}

int tasks__by_frame(struct py_process *p, uint64_t frame)
{
	struct tasks *t = p->tasks;
	uintptr_t i = t && t->by_frame && frame ? (uintptr_t)hashmap__get(t->by_frame, frame) : 0;

	return (int)i - 1;
}

int tasks__by_addr(struct py_process *p, uint64_t addr)
{
	struct tasks *t = p->tasks;
	uintptr_t i = t && t->by_addr && addr ? (uintptr_t)hashmap__get(t->by_addr, addr) : 0;

	return (int)i - 1;
}

/* Task i's frame, task "NAME", for aggregation a; NULL: out of memory. */
static const struct frame *task_marker(struct py_process *p, struct agg *a, int i)
{
	struct task_sym *s = &p->tasks->sym[i];
	char text[160];

	if (s->gen == agg__gen(a) && s->marker)
		return s->marker;
	snprintf(text, sizeof(text), "task \"%s\"", p->tasks->t[i].name);
	s->marker = agg__frame(a, text, "", "", 0, FRAME_MARKER);
	s->gen = agg__gen(a);
	return s->marker;
}

/* Task i's frames (innermost first) and its marker, for aggregation a. */
static const struct task_sym *task_sym(struct py_process *p, struct agg *a, int i,
				       bool function_lines, struct symbolize_stats *st)
{
	struct tasks *t = p->tasks;
	struct task_sym *s = &t->sym[i];
	const struct py_task *task = &t->t[i];
	struct py_frame_rec recs[PYOBJ_TASK_FRAMES];
	struct py_stack_hdr h = { 0 };
	const struct frame *out[STACK_MAX];
	unsigned int n = 0;

	if (!task_marker(p, a, i))
		return NULL;
	if (s->frames_gen == agg__gen(a) && s->function_lines == function_lines)
		return s;
	if (!frame_reader())
		return NULL;
	/* Innermost first, as the records of a sample are. */
	for (unsigned int k = task->nframes; k-- > 0;)
		if (!uwalk__frame(frame_reader(), &p->bpf, p->pid, task->frames[k], &recs[n]))
			n++;
	h.nframes = n;
	s->n = stack__symbolize(a, p, &h, recs, function_lines, out, st);
	if (s->n > PYOBJ_TASK_FRAMES)
		s->n = PYOBJ_TASK_FRAMES;
	memcpy(s->f, out, s->n * sizeof(*out));
	s->frames_gen = agg__gen(a);
	s->function_lines = function_lines;
	return s;
}

/* Whether the sample's frame k is task i's coroutine, as it was read. */
static bool same_code(struct py_process *p, int i, const struct py_frame_rec *fr)
{
	struct task_sym *s = &p->tasks->sym[i];
	struct py_frame_rec rec;

	if (!s->code) {
		const struct py_task *task = &p->tasks->t[i];

		s->code = frame_reader() && task->nframes &&
			  !uwalk__frame(frame_reader(), &p->bpf, p->pid, task->frames[0], &rec) ?
			  rec.code : 1;
	}
	return s->code == fr->code;
}

/* The sample's frames that are tasks' coroutines, root first; how many. */
static unsigned int find_tasks(struct py_process *p, const struct py_stack_hdr *h,
			       const struct py_frame_rec *frs, const uint64_t *addrs,
			       unsigned int *at, int *which)
{
	unsigned int m = 0;

	for (unsigned int k = h->nframes; k-- > 0 && m < NESTED_MAX;) {
		int i = tasks__by_frame(p, addrs[k]);

		if (i >= 0 && same_code(p, i, &frs[k])) {
			at[m] = k;
			which[m++] = i;
		}
	}
	return m;
}

unsigned int tasks__stack(struct py_process *p, struct agg *a, bool function_lines,
			  const struct py_stack_hdr *h, const struct py_frame_rec *frs,
			  const uint64_t *addrs, const struct frame *const *in, unsigned int nin,
			  const struct frame **out, unsigned int max, struct symbolize_stats *st,
			  uint64_t now)
{
	struct tasks *t = tasks_of(p);
	unsigned int at[NESTED_MAX], m, n = 0;
	int which[NESTED_MAX], seen[AWAIT_DEPTH], cur;
	const struct frame *marker;
	const struct task_sym *s;

	if (!t || p->major != 3 || p->minor < 11)
		return 0;
	if (due(t, now, false))
		refresh(p, t, now);
	m = find_tasks(p, h, frs, addrs, at, which);
	if (!m && due(t, now, true)) {
		refresh(p, t, now);
		m = find_tasks(p, h, frs, addrs, at, which);
	}
	if (!m)
		return 0;
	/* The innermost task's frames, then each task's marker above its
	 * coroutine, and the frames between. */
	for (unsigned int j = m; j-- > 0;) {
		unsigned int from = j == m - 1 ? 0 : at[j + 1] + 1;

		for (unsigned int k = from; k <= at[j] && k < nin && n < max; k++)
			out[n++] = in[k];
		if (!(marker = task_marker(p, a, which[j])))
			return 0;
		if (n < max)
			out[n++] = marker;
	}
	/* Then the tasks awaiting the outermost, each suspended in its
	 * coroutines, up to one that nothing awaits. */
	cur = which[0];
	for (unsigned int d = 0; d < AWAIT_DEPTH; d++) {
		const struct py_task *task = &t->t[cur];
		int next = -1;

		seen[d] = cur;
		for (unsigned int k = 0; k < task->nawaited_by && next < 0; k++)
			next = tasks__by_addr(p, task->awaited_by[k]);
		for (unsigned int k = 0; next >= 0 && k <= d; k++)
			if (seen[k] == next)
				next = -1;
		if (next < 0)
			break;
		if (!(s = task_sym(p, a, next, function_lines, st)))
			return 0;
		for (unsigned int k = 0; k < s->n && n < max; k++)
			out[n++] = s->f[k];
		if (n < max)
			out[n++] = s->marker;
		cur = next;
	}
	return n;
}

int tasks__read(struct py_process *p, const struct py_task **out)
{
	struct tasks *t = tasks_of(p);
	int err;

	if (!t)
		return -ENOMEM;
	if (p->major != 3 || p->minor < 11)
		return -EPROTONOSUPPORT;
	t->dbg_at = 0;
	if ((err = refresh(p, t, mono_ns())))
		return err;
	*out = t->t;
	return t->n;
}

const struct frame *const *tasks__frames(struct py_process *p, struct agg *a, int i,
					 unsigned int *n, struct symbolize_stats *st)
{
	const struct task_sym *s;

	*n = 0;
	if (!p->tasks || i < 0 || i >= p->tasks->n || !(s = task_sym(p, a, i, false, st)))
		return NULL;
	*n = s->n;
	return s->f;
}
