// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>
#include "hashmap.h"
#include "stack.h"
#include "textesc.h"
#include "top.h"

/* Distinct functions counted, at most; the rest are folded into "<other>". */
#define TOP_MAX_ENTRIES 65536

enum sort_col { SORT_OWN, SORT_TOTAL, SORT_OWNTIME, SORT_TOTALTIME };

struct entry {
	const struct frame *f;
	uint64_t own, total;
	uint64_t seen;		/* sample number that last counted total */
};

struct table {
	struct hashmap *m;	/* frame pointer -> entry */
};

struct top {
	unsigned int rate;
	uint64_t delay_ns;
	uint64_t next_draw;
	bool full_filenames;
	bool by_line;
	enum sort_col sort;
	struct table line, func;
	uint64_t samples, gil, active, sample_no;
	struct hashmap *threads;	/* tid -> (void *)1 */
	bool tty;
	struct termios saved;
	bool saved_ok;
};

static void table_clear(struct table *tb)
{
	hashmap__free_all(tb->m, NULL, NULL);
	tb->m = hashmap__new();
}

struct top *top__new(unsigned int rate, double delay_s, bool full_filenames)
{
	struct top *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->rate = rate ? rate : 100;
	t->delay_ns = (uint64_t)(delay_s * 1e9);
	t->full_filenames = full_filenames;
	t->by_line = true;
	t->sort = SORT_OWN;
	table_clear(&t->line);
	table_clear(&t->func);
	t->threads = hashmap__new();
	if (!t->line.m || !t->func.m || !t->threads) {
		top__free(t);
		return NULL;
	}
	t->tty = isatty(STDOUT_FILENO) && isatty(STDIN_FILENO);
	if (t->tty && !tcgetattr(STDIN_FILENO, &t->saved)) {
		struct termios raw = t->saved;

		raw.c_lflag &= ~(ICANON | ECHO);
		raw.c_cc[VMIN] = 0;
		raw.c_cc[VTIME] = 0;
		t->saved_ok = !tcsetattr(STDIN_FILENO, TCSANOW, &raw);
		/* Alternate screen, cursor hidden: the shell's screen comes back. */
		fputs("\033[?1049h\033[?25l", stdout);
		fflush(stdout);
	}
	return t;
}

void top__free(struct top *t)
{
	if (!t)
		return;
	if (t->tty) {
		fputs("\033[?25h\033[?1049l", stdout);
		fflush(stdout);
	}
	if (t->saved_ok)
		tcsetattr(STDIN_FILENO, TCSANOW, &t->saved);
	table_clear(&t->line);
	table_clear(&t->func);
	hashmap__free(t->line.m);
	hashmap__free(t->func.m);
	hashmap__free(t->threads);
	free(t);
}

static struct entry *entry_of(struct table *tb, const struct frame *f)
{
	struct entry *e = hashmap__get(tb->m, (uint64_t)(uintptr_t)f);

	if (e || hashmap__size(tb->m) >= TOP_MAX_ENTRIES)
		return e;
	e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->f = f;
	if (hashmap__put(tb->m, (uint64_t)(uintptr_t)f, e)) {
		free(e);
		return NULL;
	}
	return e;
}

static void count(struct top *t, struct table *tb, const struct frame **frames, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		struct entry *e = entry_of(tb, frames[i]);

		if (!e)
			continue;
		if (i == 0)
			e->own++;
		/* Recursion: a function counts once per sample in its total. */
		if (e->seen != t->sample_no) {
			e->seen = t->sample_no;
			e->total++;
		}
	}
}

void top__sample(struct top *t, const struct py_stack_hdr *h)
{
	t->samples++;
	if (h->status & PY_S_GIL)
		t->gil++;
	if (h->status & PY_S_ACTIVE)
		t->active++;
	if (!hashmap__get(t->threads, h->tid) && hashmap__size(t->threads) < 65536)
		hashmap__put(t->threads, h->tid, (void *)1);
}

void top__count(struct top *t, bool by_line, const struct frame **frames, unsigned int n)
{
	t->sample_no++;
	count(t, by_line ? &t->line : &t->func, frames, n);
}

static enum sort_col g_sort;

static int cmp_entry(const void *x, const void *y)
{
	const struct entry *a = *(const struct entry *const *)x;
	const struct entry *b = *(const struct entry *const *)y;
	uint64_t ka = (g_sort == SORT_OWN || g_sort == SORT_OWNTIME) ? a->own : a->total;
	uint64_t kb = (g_sort == SORT_OWN || g_sort == SORT_OWNTIME) ? b->own : b->total;

	if (ka != kb)
		return ka < kb ? 1 : -1;
	return strcmp(a->f->name, b->f->name);
}

static void draw(struct top *t, unsigned int nprocs)
{
	struct table *tb = t->by_line ? &t->line : &t->func;
	struct winsize ws = { .ws_row = 24, .ws_col = 80 };
	struct entry **rows;
	size_t n = 0, pos = 0, i;
	double pct = t->samples ? 100.0 / t->samples : 0;
	char fn[4096], shown[4 * sizeof(fn)];
	/* Clear to the end of the line: only on a terminal. */
	const char *eol = t->tty ? "\033[K\n" : "\n";
	void *v;
	int height, width;

	if (t->tty)
		ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws);
	height = ws.ws_row > 8 ? ws.ws_row : 24;
	width = ws.ws_col > 40 ? ws.ws_col : 80;
	rows = calloc(hashmap__size(tb->m) + 1, sizeof(*rows));
	if (!rows)
		return;
	while (hashmap__next(tb->m, &pos, NULL, &v))
		rows[n++] = v;
	g_sort = t->sort;
	if (n > 1)
		qsort(rows, n, sizeof(*rows), cmp_entry);

	if (t->tty)
		fputs("\033[H", stdout);
	printf("%-*.*s%s", width, width, "pyspy-bpf top: q quit, 1-4 sort, L lines/functions, R reset",
	       eol);
	printf("Samples: %" PRIu64 "  GIL: %.1f%%  Active: %.1f%%  Threads: %zu  Processes: %u%s",
	       t->samples, t->gil * pct, t->active * pct, hashmap__size(t->threads), nprocs, eol);
	fputs(eol, stdout);
	printf("%s%6s %s%7s %s%8s %s%9s  %s%s", t->sort == SORT_OWN ? "*" : " ", "%Own",
	       t->sort == SORT_TOTAL ? "*" : " ", "%Total", t->sort == SORT_OWNTIME ? "*" : " ",
	       "OwnTime", t->sort == SORT_TOTALTIME ? "*" : " ", "TotalTime",
	       t->by_line ? "Function (filename:line)" : "Function (filename)", eol);
	for (i = 0; i < n && (int)i < height - 5; i++) {
		const struct frame *f = rows[i]->f;
		const char *file = t->full_filenames ? f->filename : f->short_filename;

		if (f->kind == FRAME_MARKER)
			snprintf(fn, sizeof(fn), "%s", f->name);
		else if (t->by_line && f->kind != FRAME_NATIVE)
			snprintf(fn, sizeof(fn), "%s (%s:%d)", f->name, file, f->line);
		else
			snprintf(fn, sizeof(fn), "%s (%s)", f->name, file);
		/* Names come from the targets: escaped, then cut to the column
		 * between whole characters and escapes (textesc.h). */
		textesc__cols(fn, width > 46 ? width - 46 : 0, shown, sizeof(shown));
		printf(" %5.1f%%  %6.1f%%  %7.2fs  %8.2fs  %s%s", rows[i]->own * pct,
		       rows[i]->total * pct, (double)rows[i]->own / t->rate,
		       (double)rows[i]->total / t->rate, shown, eol);
	}
	if (t->tty)
		fputs("\033[J", stdout);
	else
		fputs("\n", stdout);
	fflush(stdout);
	free(rows);
}

uint64_t top__due(const struct top *t)
{
	return t->next_draw;
}

bool top__tick(struct top *t, uint64_t now_ns, unsigned int nprocs)
{
	char keys[16];
	ssize_t k = t->tty ? read(STDIN_FILENO, keys, sizeof(keys)) : 0;
	bool redraw = false;

	for (ssize_t i = 0; i < k; i++) {
		switch (keys[i]) {
		case 'q':
		case 'Q':
			return true;
		case '1':
		case '2':
		case '3':
		case '4':
			t->sort = keys[i] - '1';
			redraw = true;
			break;
		case 'l':
		case 'L':
			t->by_line = !t->by_line;
			redraw = true;
			break;
		case 'r':
		case 'R':
			table_clear(&t->line);
			table_clear(&t->func);
			t->samples = t->gil = t->active = 0;
			redraw = true;
			break;
		}
	}
	if (redraw || now_ns >= t->next_draw) {
		draw(t, nprocs);
		t->next_draw = now_ns + t->delay_ns;
	}
	return false;
}
