// SPDX-License-Identifier: BSD-2-Clause
/*
 * dump's output, py-spy's shapes: the text a person reads and the JSON list
 * of StackTrace objects. Every string from the target is escaped in the text
 * (textesc.h): it must neither drive the terminal nor start a line of its
 * own.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include "dump_int.h"
#include "json.h"
#include "procfs.h"
#include "textesc.h"

/* py-spy's separator is as wide as the terminal, or as its terminal
 * library's default when the output is none. */
#define SEPARATOR_DEFAULT_COLS 80
#define SEPARATOR_MAX_COLS 1024

static const char *status_text(const struct stack_trace *st)
{
	if (!st->active)
		return "idle";
	return st->owns_gil ? "active+gil" : "active";
}

static const char *shown_filename(const struct frame *f, const struct dump_opts *o)
{
	return o->full_filenames ? f->filename : f->short_filename;
}

/* The arguments, then the other locals, under each frame. */
static void print_locals(const struct frame *f, bool args)
{
	bool header = false;

	for (unsigned int i = 0; f->locals && i < f->nlocals; i++) {
		const struct local_variable *v = &f->locals[i];

		if (v->arg != args)
			continue;
		if (!header)
			printf("        %s:\n", args ? "Arguments" : "Locals");
		header = true;
		fputs("            ", stdout);
		textesc__fputs(v->name, stdout);
		fputs(": ", stdout);
		textesc__fputs(v->repr, stdout);
		putchar('\n');
	}
}

static void print_thread(const struct stack_trace *st, const struct dump_opts *o)
{
	printf("Thread %d (%s)", st->os_thread_id, status_text(st));
	/* A thread threading does not know is unnamed, as in py-spy. */
	if (st->thread_name) {
		fputs(": \"", stdout);
		textesc__fputs(st->thread_name, stdout);
		putchar('"');
	}
	putchar('\n');
	for (unsigned int j = 0; j < st->nframes; j++) {
		const struct frame *f = st->frames[j];

		fputs("    ", stdout);
		textesc__fputs(f->name, stdout);
		if (f->kind != FRAME_MARKER) {
			fputs(" (", stdout);
			textesc__fputs(shown_filename(f, o), stdout);
			/* Line 0 is no line: py-spy leaves it out. */
			if (f->kind == FRAME_NATIVE || !f->line)
				putchar(')');
			else
				printf(":%d)", f->line);
		}
		putchar('\n');
		print_locals(f, true);
		print_locals(f, false);
	}
}

static void print_header(const struct py_process *p, const struct dump_proc *fam, int self,
			 const struct dump_opts *o)
{
	char exe[4096], link[64];
	int parent = fam[self].parent;
	ssize_t len;

	proc_dir(p->pid, link, sizeof(link) - 4);
	strcat(link, "/exe");
	len = fam[self].exe ? -1 : readlink(link, exe, sizeof(exe) - 1);
	exe[len > 0 ? len : 0] = 0;
	if (fam[self].exe)
		snprintf(exe, sizeof(exe), "%s", fam[self].exe);
	if (o->core) {
		printf("Process %d (core '", p->pid);
		textesc__fputs(o->core, stdout);
		printf("'): ");
	} else if (p->ns_pid && p->ns_pid != p->pid)
		printf("Process %d (%d in its namespace): ", p->pid, p->ns_pid);
	else
		printf("Process %d: ", p->pid);
	textesc__fputs(p->cmdline, stdout);
	printf("\nPython v%u.%u.%u (", p->major, p->minor, p->micro);
	textesc__fputs(exe, stdout);
	printf(")\n");
	if (parent >= 0) {
		printf("Parent Process %d: ", fam[parent].pid);
		textesc__fputs(fam[parent].cmdline ? fam[parent].cmdline : "", stdout);
		putchar('\n');
	}
	putchar('\n');
}

void dump_out__text(const struct py_process *p, const struct dump_proc *fam, int self,
		    const struct dump_trace *t, size_t n, const struct dump_opts *o)
{
	print_header(p, fam, self, o);
	/* The interpreter lists its threads newest first; py-spy prints them
	 * the other way round, the main thread first. */
	for (size_t i = n; i-- > 0;)
		print_thread(&t[i].st, o);
}

/* Tasks nested deeper than this are listed flat, at this depth. */
#define TASK_TREE_DEPTH 32

static void print_task(const struct dump_task *t, size_t n, size_t i, unsigned int depth,
		       bool *shown, const struct dump_opts *o)
{
	const struct dump_task *d = &t[i];
	unsigned int ind = 4 * (depth < TASK_TREE_DEPTH ? depth : TASK_TREE_DEPTH);

	shown[i] = true;
	printf("%*sTask \"", ind, "");
	textesc__fputs(d->t->name, stdout);
	printf("\" (0x%" PRIx64 ")", d->t->addr);
	if (d->tid)
		printf(": running in thread %d", d->tid);
	else if (d->running)
		printf(": running");
	putchar('\n');
	for (unsigned int j = 0; j < d->tr.st.nframes; j++) {
		const struct frame *f = d->tr.st.frames[j];

		printf("%*s", ind + 4, "");
		textesc__fputs(f->name, stdout);
		if (f->kind != FRAME_MARKER) {
			fputs(" (", stdout);
			textesc__fputs(shown_filename(f, o), stdout);
			if (f->line)
				printf(":%d)", f->line);
			else
				putchar(')');
		}
		putchar('\n');
	}
	for (size_t k = 0; k < n; k++)
		if (!shown[k] && t[k].parent == (int)i)
			print_task(t, n, k, depth + 1, shown, o);
}

void dump_out__tasks_text(const struct py_process *p, const struct dump_proc *fam, int self,
			  const struct dump_task *t, size_t n, int err, const struct dump_opts *o)
{
	bool *shown = calloc(n + 1, sizeof(*shown));

	print_header(p, fam, self, o);
	if (err == -EPROTONOSUPPORT)
		printf("No asyncio tasks: they are read on Python 3.11 and later\n");
	else if (err || !shown)
		printf("No asyncio tasks: they could not be read (%s)\n",
		       strerror(err ? -err : ENOMEM));
	else if (!n)
		printf("No asyncio tasks\n");
	/* The tasks nothing awaits first, each with those it awaits; then
	 * any left (awaiting each other in a circle, in damaged memory). */
	for (size_t i = 0; shown && i < n; i++)
		if (t[i].parent < 0 && !shown[i])
			print_task(t, n, i, 0, shown, o);
	for (size_t i = 0; shown && i < n; i++)
		if (!shown[i])
			print_task(t, n, i, 0, shown, o);
	free(shown);
}

void dump_out__separator(void)
{
	struct winsize ws = { 0 };
	unsigned int cols = SEPARATOR_DEFAULT_COLS;

	if (isatty(STDOUT_FILENO) && !ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) && ws.ws_col)
		cols = ws.ws_col < SEPARATOR_MAX_COLS ? ws.ws_col : SEPARATOR_MAX_COLS;
	putchar('\n');
	while (cols--)
		putchar('-');
	putchar('\n');
}

static void print_json_locals(const struct frame *f)
{
	if (!f->locals) {
		printf("null");
		return;
	}
	printf("[");
	for (unsigned int k = 0; k < f->nlocals; k++) {
		const struct local_variable *v = &f->locals[k];

		printf("%s{\"name\": ", k ? ", " : "");
		json__str(stdout, v->name);
		printf(", \"addr\": %" PRIu64 ", \"arg\": %s, \"repr\": ", v->addr,
		       v->arg ? "true" : "false");
		json__str(stdout, v->repr);
		printf("}");
	}
	printf("]");
}

static void print_json_frames(const struct dump_trace *t, const struct dump_opts *o)
{
	const struct stack_trace *st = &t->st;

	printf("[");
	for (unsigned int j = 0; j < st->nframes; j++) {
		const struct frame *f = st->frames[j];
		uint8_t fl = t->flags ? t->flags[j] : 0;

		printf("%s{\"name\": ", j ? ", " : "");
		json__str(stdout, f->name);
		printf(", \"filename\": ");
		json__str(stdout, f->filename);
		/* py-spy's module: the shared library of a native frame. */
		printf(", \"module\": ");
		if (f->kind == FRAME_NATIVE)
			json__str(stdout, f->filename);
		else
			printf("null");
		printf(", \"short_filename\": ");
		json__str(stdout, shown_filename(f, o));
		printf(", \"line\": %d, \"locals\": ", f->line);
		print_json_locals(f);
		printf(", \"is_entry\": %s, \"is_shim_entry\": %s}",
		       fl & DF_ENTRY ? "true" : "false", fl & DF_SHIM_ENTRY ? "true" : "false");
	}
	printf("]");
}

/* "damage": how the stack was damaged, one string per way, [] when whole. */
static void print_json_damage(const struct stack_trace *st)
{
	static const struct {
		uint16_t bit;
		const char *what;
	} ends[] = {
		{ PY_S_READ_ERR, "unreadable frame" },
		{ PY_S_CYCLE, "cycle" },
		{ PY_S_CORRUPT, "corrupt frame" },
		{ PY_S_TRUNCATED, "truncated" },
	};
	bool any = false;

	printf(", \"damage\": [");
	if (st->not_code) {
		printf("\"not code\"");
		any = true;
	}
	for (size_t k = 0; k < sizeof(ends) / sizeof(ends[0]); k++) {
		if (!(st->ends & ends[k].bit))
			continue;
		printf("%s\"%s\"", any ? ", " : "", ends[k].what);
		any = true;
	}
	printf("]");
}

/* py-spy's ProcessInfo: the process, its command line and its parent's,
 * up to the process asked for (whose parent is null). */
static void print_process_info(const struct dump_proc *fam, int i)
{
	int depth = 0;

	for (; i >= 0; i = fam[i].parent < i ? fam[i].parent : -1, depth++) {
		printf("{\"pid\": %d, \"command_line\": ", fam[i].pid);
		json__str(stdout, fam[i].cmdline ? fam[i].cmdline : "");
		printf(", \"parent\": ");
	}
	printf("null");
	while (depth--)
		putchar('}');
}

void dump_out__json(const struct dump_proc *fam, int self, const struct dump_trace *t,
		    size_t n, const struct dump_opts *o, bool *first)
{
	for (size_t i = 0; i < n; i++) {
		const struct stack_trace *st = &t[i].st;

		printf("%s\n  {\"pid\": %d, \"thread_id\": %" PRIu64 ", \"thread_name\": ",
		       *first ? "" : ",", st->pid, st->thread_id);
		if (st->thread_name)
			json__str(stdout, st->thread_name);
		else
			printf("null");
		printf(", \"os_thread_id\": %d, \"active\": %s, \"owns_gil\": %s, \"frames\": ",
		       st->os_thread_id, st->active ? "true" : "false",
		       st->owns_gil ? "true" : "false");
		print_json_frames(&t[i], o);
		printf(", \"process_info\": ");
		print_process_info(fam, self);
		print_json_damage(st);
		printf("}");
		*first = false;
	}
}

void dump_out__tasks_json(const struct dump_proc *fam, int self, const struct dump_task *t,
			  size_t n, const struct dump_opts *o, bool *first)
{
	for (size_t i = 0; i < n; i++) {
		const struct py_task *pt = t[i].t;

		printf("%s\n  {\"pid\": %d, \"task_id\": %" PRIu64 ", \"task_name\": ",
		       *first ? "" : ",", fam[self].pid, pt->addr);
		json__str(stdout, pt->name);
		printf(", \"running\": %s, \"os_thread_id\": ",
		       t[i].running ? "true" : "false");
		if (t[i].tid)
			printf("%d", t[i].tid);
		else
			printf("null");
		printf(", \"awaited_by\": [");
		for (unsigned int k = 0; k < pt->nawaited_by; k++)
			printf("%s%" PRIu64, k ? ", " : "", pt->awaited_by[k]);
		printf("], \"frames\": ");
		print_json_frames(&t[i].tr, o);
		printf(", \"process_info\": ");
		print_process_info(fam, self);
		printf("}");
		*first = false;
	}
}
