// SPDX-License-Identifier: BSD-2-Clause
/*
 * top's table (top.h). Each row counts its samples three ways: in the
 * refresh period under way, in the last one completed (what %Own and %Total
 * show, over the sampling instants of that period, as py-spy's do: a
 * function that stopped running drops to 0 at the next refresh) and since
 * the start or the last R (OwnTime and TotalTime).
 */
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

#define TOP_MAX_ENTRIES 65536

/* Lines around the table, as py-spy counts them: the rows get the rest. */
#define TOP_LINES_AROUND 8
#define TOP_LINES_AROUND_HELP 18
/* The columns before the function: "%6.2f% %6.2f% %7ss %8ss   ". */
#define TOP_ROW_PREFIX 38

/* Keys 1-4; each period column (0, 1) is 2 below its overall one. */
enum sort_col { SORT_OWN, SORT_TOTAL, SORT_OWNTIME, SORT_TOTALTIME };

struct counts {
	uint64_t own, total;
};

struct entry {
	const struct frame *f;
	struct counts cur;	/* the refresh period under way */
	struct counts last;	/* the last one completed: %Own, %Total */
	struct counts all;	/* since the start or R: OwnTime, TotalTime */
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
	bool help;		/* '?': the keys under the table */
	bool dirty;		/* a key changed the view: draw now */
	enum sort_col sort;
	struct table line, func;
	uint64_t samples, sample_no;
	uint64_t gil, active;		/* in the period under way */
	uint64_t period_start;
	double last_instants;		/* the last period's: its length x rate */
	uint64_t last_gil, last_active;
	bool tty;
	struct termios saved;
	bool saved_ok;
};

static void table_clear(struct table *tb)
{
	hashmap__free_all(tb->m, NULL, NULL);
	tb->m = hashmap__new();
}

struct top *top__new(unsigned int rate, double delay_s, bool full_filenames, uint64_t now_ns)
{
	struct top *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->rate = rate ? rate : 100;
	t->delay_ns = (uint64_t)(delay_s * 1e9);
	t->full_filenames = full_filenames;
	/* py-spy's top: by function, the largest OwnTime first. */
	t->by_line = false;
	t->sort = SORT_OWNTIME;
	t->period_start = now_ns;
	t->next_draw = now_ns + t->delay_ns;
	t->dirty = true;	/* the header at once, the figures when due */
	table_clear(&t->line);
	table_clear(&t->func);
	if (!t->line.m || !t->func.m) {
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
		if (i == 0) {
			e->cur.own++;
			e->all.own++;
		}
		/* Recursion: a function counts once per sample in its total. */
		if (e->seen != t->sample_no) {
			e->seen = t->sample_no;
			e->cur.total++;
			e->all.total++;
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
}

void top__count(struct top *t, bool by_line, const struct frame **frames, unsigned int n)
{
	t->sample_no++;
	count(t, by_line ? &t->line : &t->func, frames, n);
}

static void table_roll(struct table *tb)
{
	size_t pos = 0;
	void *v;

	while (hashmap__next(tb->m, &pos, NULL, &v)) {
		struct entry *e = v;

		e->last = e->cur;
		e->cur = (struct counts){ 0 };
	}
}

/*
 * The refresh period ends: its counts become the shown ones. A perf tick
 * samples a thread on a CPU rate times a second (--idle: each thread off
 * one too), so rate x the period's length is py-spy's count of sampling
 * instants, and a function that ran all the period on one thread is 100%.
 */
static void period_close(struct top *t, uint64_t now_ns)
{
	table_roll(&t->line);
	table_roll(&t->func);
	t->last_instants = (double)t->rate * (double)(now_ns - t->period_start) / 1e9;
	t->last_gil = t->gil;
	t->last_active = t->active;
	t->gil = t->active = 0;
	t->period_start = now_ns;
}

static void reset(struct top *t, uint64_t now_ns)
{
	table_clear(&t->line);
	table_clear(&t->func);
	t->samples = t->gil = t->active = t->last_gil = t->last_active = 0;
	t->last_instants = 0;
	t->period_start = now_ns;
}

/* A row of the table: the entries that print the same, added up (one
 * function in several processes: py-spy keys its rows by their text). */
struct row {
	const struct frame *f;
	struct counts last, all;
};

/* What the comparisons need, set before each qsort (it takes no context). */
static struct {
	enum sort_col sort;
	bool by_line, full_filenames;
} g_view;

static const char *file_of(const struct frame *f)
{
	const char *s = g_view.full_filenames ? f->filename : f->short_filename;

	return s ? s : "";
}

static bool shows_line(const struct frame *f)
{
	return g_view.by_line && f->kind != FRAME_NATIVE && f->kind != FRAME_MARKER;
}

/* Equal when the rows print the same (draw_row()). */
static int cmp_label(const void *x, const void *y)
{
	const struct frame *a = ((const struct row *)x)->f, *b = ((const struct row *)y)->f;
	bool ma = a->kind == FRAME_MARKER, mb = b->kind == FRAME_MARKER;
	int d;

	if (a == b)
		return 0;
	if (ma != mb)
		return ma - mb;
	d = strcmp(a->name, b->name);
	if (d || ma)
		return d;
	d = strcmp(file_of(a), file_of(b));
	if (d)
		return d;
	if (shows_line(a) != shows_line(b))
		return shows_line(a) - shows_line(b);
	if (shows_line(a) && a->line != b->line)
		return a->line < b->line ? -1 : 1;
	return 0;
}

static uint64_t key_of(const struct row *r, enum sort_col s)
{
	switch (s) {
	case SORT_OWN:
		return r->last.own;
	case SORT_TOTAL:
		return r->last.total;
	case SORT_OWNTIME:
		return r->all.own;
	default:
		return r->all.total;
	}
}

/* The column chosen, then its other half (period or overall), then the name. */
static int cmp_row(const void *x, const void *y)
{
	const struct row *a = x, *b = y;
	enum sort_col other = g_view.sort ^ 2;

	if (key_of(a, g_view.sort) != key_of(b, g_view.sort))
		return key_of(a, g_view.sort) < key_of(b, g_view.sort) ? 1 : -1;
	if (key_of(a, other) != key_of(b, other))
		return key_of(a, other) < key_of(b, other) ? 1 : -1;
	return cmp_label(a, b);
}

/* The table's rows, merged and sorted; NULL when out of memory. */
static struct row *table_rows(const struct top *t, size_t *n)
{
	const struct table *tb = t->by_line ? &t->line : &t->func;
	struct row *rows = calloc(hashmap__size(tb->m) + 1, sizeof(*rows));
	size_t pos = 0, m = 0, i;
	void *v;

	if (!rows)
		return NULL;
	g_view.sort = t->sort;
	g_view.by_line = t->by_line;
	g_view.full_filenames = t->full_filenames;
	for (i = 0; hashmap__next(tb->m, &pos, NULL, &v); i++) {
		const struct entry *e = v;

		rows[i] = (struct row){ .f = e->f, .last = e->last, .all = e->all };
	}
	if (i > 1)
		qsort(rows, i, sizeof(*rows), cmp_label);
	for (size_t j = 0; j < i; j++) {
		if (m && !cmp_label(&rows[m - 1], &rows[j])) {
			rows[m - 1].last.own += rows[j].last.own;
			rows[m - 1].last.total += rows[j].last.total;
			rows[m - 1].all.own += rows[j].all.own;
			rows[m - 1].all.total += rows[j].all.total;
		} else {
			rows[m++] = rows[j];
		}
	}
	if (m > 1)
		qsort(rows, m, sizeof(*rows), cmp_row);
	*n = m;
	return rows;
}

/* Seconds with fewer decimals as they grow, as py-spy writes them. */
static void fmt_time(char *buf, size_t len, double s)
{
	int prec = s > 1000 ? 0 : s >= 100 ? 1 : s >= 1 ? 2 : 3;

	snprintf(buf, len, "%.*f", prec, s);
}

struct screen {
	int height, width;
	const char *eol;	/* clears the rest of the line on a terminal */
	const char *rev, *bold, *plain;	/* attributes, on a terminal only */
};

static void draw_head(const struct top *t, const struct screen *sc, const struct top_head *h)
{
	double pct = t->last_instants > 0 ? 100.0 / t->last_instants : 0;
	char line[8192], shown[4 * sizeof(line)];
	const char *s = t->sort == SORT_OWN ? sc->bold : "";

	/* h->what is escaped already: escaping it again only cuts it. */
	snprintf(line, sizeof(line), "Collecting samples from %s", h->what);
	textesc__cols(line, sc->width, shown, sizeof(shown));
	printf("%s%s", shown, sc->eol);
	printf("Total Samples %" PRIu64 "%s", t->samples, sc->eol);
	printf("GIL: %.2f%%, Active: %.2f%%, Threads: %u", t->last_gil * pct,
	       t->last_active * pct, h->threads);
	if (h->show_procs)
		printf(", Processes %u", h->procs);
	printf("%s%s", sc->eol, sc->eol);
	/* py-spy's header: reversed, the sort column bold too. */
	printf("%s%s%7s%s%s", sc->rev, s, "%Own ", *s ? sc->plain : "", *s ? sc->rev : "");
	s = t->sort == SORT_TOTAL ? sc->bold : "";
	printf("%s%8s%s%s", s, "%Total", *s ? sc->plain : "", *s ? sc->rev : "");
	s = t->sort == SORT_OWNTIME ? sc->bold : "";
	printf("%s%9s%s%s", s, "OwnTime", *s ? sc->plain : "", *s ? sc->rev : "");
	s = t->sort == SORT_TOTALTIME ? sc->bold : "";
	printf("%s%11s%s%s", s, "TotalTime", *s ? sc->plain : "", *s ? sc->rev : "");
	/* The reversed bar spans the line; on a pipe, no trailing blanks. */
	printf("%-*s%s%s", *sc->rev && sc->width > 35 ? sc->width - 35 : 0,
	       t->by_line ? "  Function (filename:line)" : "  Function (filename)", sc->plain,
	       sc->eol);
}

static void draw_row(const struct top *t, const struct screen *sc, const struct row *e)
{
	double pct = t->last_instants > 0 ? 100.0 / t->last_instants : 0;
	const struct frame *f = e->f;
	char fn[4096], shown[4 * sizeof(fn)], own[32], total[32];

	if (f->kind == FRAME_MARKER)
		snprintf(fn, sizeof(fn), "%s", f->name);
	else if (shows_line(f))
		snprintf(fn, sizeof(fn), "%s (%s:%d)", f->name, file_of(f), f->line);
	else
		snprintf(fn, sizeof(fn), "%s (%s)", f->name, file_of(f));
	/* Names come from the targets: escaped, then cut to the column
	 * between whole characters and escapes (textesc.h). */
	textesc__cols(fn, sc->width > TOP_ROW_PREFIX ? sc->width - TOP_ROW_PREFIX : 0, shown,
		      sizeof(shown));
	fmt_time(own, sizeof(own), (double)e->all.own / t->rate);
	fmt_time(total, sizeof(total), (double)e->all.total / t->rate);
	printf("%6.2f%% %6.2f%% %7ss %8ss   %s%s", e->last.own * pct, e->last.total * pct, own,
	       total, shown, sc->eol);
}

/* py-spy's key list, with the one it lacks (q). */
static const char *const help_keys[][2] = {
	{ "1", "Sort by %Own (% of time currently spent in the function)" },
	{ "2", "Sort by %Total (% of time currently in the function and its children)" },
	{ "3", "Sort by OwnTime (Overall time spent in the function)" },
	{ "4", "Sort by TotalTime (Overall time spent in the function and its children)" },
	{ "L,l", "Toggle between aggregating by line number or by function" },
	{ "R,r", "Reset statistics" },
	{ "X,x", "Exit this help screen" },
	{ "Q,q", "Quit" },
};

/* The key centred in 12 columns (the extra space on the right), then the action. */
static void help_line(const struct screen *sc, const char *key, const char *action)
{
	int pad = 12 - (int)strlen(key);

	printf("%*s%s%*s%.*s%s", pad / 2, "", key, pad - pad / 2, "",
	       sc->width > 12 ? sc->width - 12 : 0, action, sc->eol);
}

static void draw_help(const struct screen *sc)
{
	printf("%s%-*s%s%s", sc->rev, sc->width, " Keyboard Shortcuts ", sc->plain, sc->eol);
	fputs(sc->eol, stdout);
	help_line(sc, "key", "action");
	for (size_t i = 0; i < sizeof(help_keys) / sizeof(help_keys[0]); i++)
		help_line(sc, help_keys[i][0], help_keys[i][1]);
}

void top__draw(struct top *t, uint64_t now_ns, const struct top_head *h)
{
	struct winsize ws = { .ws_row = 24, .ws_col = 80 };
	struct screen sc = { .eol = "\n", .rev = "", .bold = "", .plain = "" };
	struct row *rows;
	size_t n = 0, i;
	int max_rows;

	if (now_ns >= t->next_draw) {
		period_close(t, now_ns);
		t->next_draw = now_ns + t->delay_ns;
	}
	t->dirty = false;
	if (t->tty) {
		ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws);
		sc = (struct screen){ .eol = "\033[K\n", .rev = "\033[7m", .bold = "\033[1m",
				      .plain = "\033[m" };
	}
	sc.height = ws.ws_row > 8 ? ws.ws_row : 24;
	sc.width = ws.ws_col > 40 ? ws.ws_col : 80;
	max_rows = sc.height - (t->help ? TOP_LINES_AROUND_HELP : TOP_LINES_AROUND);
	rows = table_rows(t, &n);
	if (!rows)
		return;

	if (t->tty)
		fputs("\033[H", stdout);
	draw_head(t, &sc, h);
	for (i = 0; i < n && (int)i < max_rows; i++)
		draw_row(t, &sc, &rows[i]);
	/* On a terminal the keys stay at the bottom, as py-spy keeps them. */
	for (; t->tty && (int)i < max_rows; i++)
		fputs(sc.eol, stdout);
	fputs(sc.eol, stdout);
	if (t->help)
		draw_help(&sc);
	else
		printf("Press %s%sControl-C%s to quit, or %s%s?%s for help.%s", sc.bold, sc.rev,
		       sc.plain, sc.bold, sc.rev, sc.plain, t->tty ? "\033[K" : "\n");
	if (t->tty)
		fputs("\033[J", stdout);
	else
		fputs("\n", stdout);
	fflush(stdout);
	free(rows);
}

uint64_t top__due(const struct top *t)
{
	return t->dirty ? 0 : t->next_draw;
}

bool top__draw_due(const struct top *t, uint64_t now_ns)
{
	return t->dirty || now_ns >= t->next_draw;
}

bool top__keys(struct top *t, uint64_t now_ns)
{
	char keys[16];
	ssize_t k = t->tty ? read(STDIN_FILENO, keys, sizeof(keys)) : 0;

	for (ssize_t i = 0; i < k; i++) {
		if (keys[i] == 'q' || keys[i] == 'Q')
			return true;
		/* Any key closes the help, and does nothing else. */
		if (t->help) {
			t->help = false;
			t->dirty = true;
			continue;
		}
		switch (keys[i]) {
		case '?':
			t->help = true;
			break;
		case '1':
		case '2':
		case '3':
		case '4':
			t->sort = keys[i] - '1';
			break;
		case 'l':
		case 'L':
			t->by_line = !t->by_line;
			break;
		case 'r':
		case 'R':
			reset(t, now_ns);
			break;
		default:
			continue;
		}
		t->dirty = true;
	}
	return false;
}
