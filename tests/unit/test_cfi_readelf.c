/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cfi__parse() on real CFI, compared row by row with what binutils' readelf
 * (--debug-dump=frames-interp) makes of the same section.
 *
 * 1. Fixtures (tests/fixtures/cfi/, written by tests/fixtures/gen_cfi.py):
 *    the sections of sample.c built four ways, with readelf's output of the
 *    time; plus rows checked by hand at the sample's functions.
 * 2. Live files, readelf run now: the libc this test runs on, the python3
 *    found on PATH, and the libpython of every pyenv version ($PYENV_ROOT,
 *    default ~/.pyenv). A missing file or readelf is skipped, or fails when
 *    CI=true.
 *
 * readelf prints rows for every register; only the CFA, rbp and ra columns
 * are kept, and rows are compared at every pc where either side starts a
 * row. What readelf cannot tell apart is allowed both ways: "exp" (the
 * table's PLT rule inside a .plt* section, unsupported elsewhere) and an
 * rbp shown "u" (not saved, or explicitly undefined). An FDE readelf shows
 * no row for (nothing but DW_CFA_nop) has its CIE's rule.
 */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <glob.h>
#include <inttypes.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "cfi.h"
#include "fixtures.h"

#define MAX_PLT 8
#define MAX_COLS 64
/* want.cfa: an expression; want.rbp: readelf's "u". */
#define WANT_EXP 100
#define WANT_RBP_U 100

static bool in_ci(void)
{
	const char *v = getenv("CI");

	return v && (!strcmp(v, "true") || !strcmp(v, "1") || !strcmp(v, "yes"));
}

/* One readelf row in the table's terms. */
struct want {
	uint64_t pc;
	uint8_t cfa, rbp;
	int32_t cfa_off;
	int16_t rbp_off;
};

struct range {
	uint64_t lo, hi;
	int lit;		/* the PLT expression's K; -1: 9 or 11 */
};

struct rfde {
	uint64_t cie, begin, end;
	size_t first, n;	/* rows in the pool */
	size_t order;
};

struct rcie {
	uint64_t off;
	struct want init;
};

/* readelf's view of one section. */
struct oracle {
	struct want *pool;
	size_t npool;
	struct rfde *fdes;
	size_t nfdes;
	struct rcie *cies;
	size_t ncies;
	struct want *rows;	/* the expected table */
	size_t nrows;
	size_t overlaps;
};

/* A section's bytes in a buffer of exactly its size (ASan sees overreads). */
struct sec {
	uint8_t *data;
	size_t len;
	uint64_t vaddr;
	bool found;
};

struct file {
	const char *label;
	bool demo;		/* show that a wrong table is caught */
	struct sec eh, dbg;
	struct range plt[MAX_PLT];
	size_t nplt;
};

static void *grow(void *p, size_t n, size_t size)
{
	/* Room for n + 1, growing by powers of two. */
	if (n && (n & (n - 1)))
		return p;
	p = realloc(p, (n ? 2 * n : 1) * size);
	assert_non_null(p);
	return p;
}

/* ==== readelf's text ==== */

static bool offset_tok(const char *t, const char *prefix, long *off)
{
	size_t n = strlen(prefix);
	char *end;

	if (strncmp(t, prefix, n) || (t[n] != '+' && t[n] != '-'))
		return false;
	errno = 0;
	*off = strtol(t + n, &end, 10);
	return !errno && !*end;
}

static void want_of(char **cols, char **toks, size_t n, struct want *w)
{
	const char *cfa = NULL, *ra = NULL, *rbp = NULL;
	long off;
	size_t i;

	memset(w, 0, sizeof(*w));
	for (i = 0; i < n; i++) {
		if (!strcmp(cols[i], "CFA"))
			cfa = toks[i];
		else if (!strcmp(cols[i], "ra"))
			ra = toks[i];
		else if (!strcmp(cols[i], "rbp"))
			rbp = toks[i];
	}
	assert_non_null(cfa);
	if (!ra || !strcmp(ra, "u")) {
		w->cfa = CFI_CFA_UNDEFINED;
		return;
	}
	if (strcmp(ra, "c-8")) {
		w->cfa = CFI_CFA_UNSUPPORTED;
		return;
	}
	if (!strcmp(cfa, "exp")) {
		w->cfa = WANT_EXP;
	} else if ((offset_tok(cfa, "rsp", &off) || offset_tok(cfa, "rbp", &off)) &&
		   off >= INT32_MIN && off <= INT32_MAX) {
		w->cfa = cfa[1] == 's' ? CFI_CFA_RSP : CFI_CFA_RBP;
		w->cfa_off = (int32_t)off;
	} else {
		w->cfa = CFI_CFA_UNSUPPORTED;
		return;
	}
	if (!rbp || !strcmp(rbp, "u")) {
		w->rbp = WANT_RBP_U;
	} else if (!strcmp(rbp, "s")) {
		w->rbp = CFI_RBP_SAME;
	} else if (offset_tok(rbp, "c", &off) && off >= INT16_MIN && off <= INT16_MAX) {
		w->rbp = CFI_RBP_AT_CFA;
		w->rbp_off = (int16_t)off;
	} else {
		w->rbp = CFI_RBP_UNSUPPORTED;
	}
}

/* Whitespace-separated tokens; a register rule is printed "r9 (r9)": the
 * name in parentheses is dropped. */
static size_t split(char *line, char **toks, size_t max)
{
	size_t n = 0;
	char *save = NULL, *t;

	for (t = strtok_r(line, " \t\n", &save); t && n < max; t = strtok_r(NULL, " \t\n", &save))
		if (t[0] != '(' || !n)
			toks[n++] = t;
	return n;
}

struct reader {
	struct oracle *o;
	bool on;		/* in the section asked for */
	int entry;		/* 0 none, 1 CIE, 2 FDE */
	char colbuf[1024];
	char *cols[MAX_COLS];
	size_t ncols;
};

static void read_line(struct reader *r, char *line, const char *section)
{
	struct oracle *o = r->o;
	uint64_t off, len, id, cie, lo, hi;
	char *toks[MAX_COLS + 1];
	struct want w;
	size_t n;

	if (!strncmp(line, "Contents of the ", 16)) {
		n = strlen(section);
		r->on = !strncmp(line + 16, section, n) && line[16 + n] == ' ';
		r->entry = 0;
		return;
	}
	if (!r->on)
		return;
	if (sscanf(line, "%" SCNx64 " %" SCNx64 " %" SCNx64 " FDE cie=%" SCNx64 " pc=%" SCNx64
		   "..%" SCNx64, &off, &len, &id, &cie, &lo, &hi) == 6) {
		o->fdes = grow(o->fdes, o->nfdes, sizeof(*o->fdes));
		o->fdes[o->nfdes++] = (struct rfde){ .cie = cie, .begin = lo, .end = hi,
						     .first = o->npool, .order = o->nfdes };
		r->entry = 2;
	} else if (sscanf(line, "%" SCNx64 " %" SCNx64 " %" SCNx64 " CIE", &off, &len, &id) == 3 &&
		   strstr(line, " CIE")) {
		o->cies = grow(o->cies, o->ncies, sizeof(*o->cies));
		o->cies[o->ncies++] = (struct rcie){ .off = off, .init.cfa = CFI_CFA_UNSUPPORTED };
		r->entry = 1;
	} else if (!strncmp(line, "   LOC ", 7)) {
		snprintf(r->colbuf, sizeof(r->colbuf), "%s", line + 7);
		r->ncols = split(r->colbuf, r->cols, MAX_COLS);
	} else if (r->entry && strlen(line) > 17 && line[16] == ' ' &&
		   sscanf(line, "%" SCNx64, &lo) == 1) {
		n = split(line + 17, toks, MAX_COLS + 1);
		if (n != r->ncols)
			fail_msg("readelf row of %zu columns under a header of %zu", n, r->ncols);
		want_of(r->cols, toks, n, &w);
		w.pc = lo;
		if (r->entry == 1) {
			o->cies[o->ncies - 1].init = w;
			return;
		}
		o->pool = grow(o->pool, o->npool, sizeof(*o->pool));
		o->pool[o->npool++] = w;
		o->fdes[o->nfdes - 1].n++;
	}
}

static int rfde_cmp(const void *a, const void *b)
{
	const struct rfde *x = a, *y = b;

	if (x->begin != y->begin)
		return x->begin < y->begin ? -1 : 1;
	return x->order < y->order ? -1 : 1;
}

static void add_row(struct oracle *o, const struct want *w)
{
	o->rows = grow(o->rows, o->nrows, sizeof(*o->rows));
	o->rows[o->nrows++] = *w;
}

/* The FDEs in pc order, gaps between them "no CFI", as the table is built. */
static void expected_table(struct oracle *o)
{
	struct want none = { 0 }, w;
	uint64_t end = 0;
	size_t i, k;

	qsort(o->fdes, o->nfdes, sizeof(*o->fdes), rfde_cmp);
	for (i = 0; i < o->nfdes; i++) {
		const struct rfde *f = &o->fdes[i];

		if (f->begin >= f->end)
			continue;
		if (o->nrows && f->begin < end) {
			o->overlaps++;
			continue;
		}
		if (o->nrows && f->begin > end) {
			none.pc = end;
			add_row(o, &none);
		}
		if (!f->n) {
			for (k = 0; k < o->ncies && o->cies[k].off != f->cie; k++)
				;
			assert_true(k < o->ncies);
			w = o->cies[k].init;
			w.pc = f->begin;
			add_row(o, &w);
		}
		for (k = 0; k < f->n; k++)
			if (o->pool[f->first + k].pc < f->end)
				add_row(o, &o->pool[f->first + k]);
		end = f->end;
	}
	if (o->nrows) {
		none.pc = end;
		add_row(o, &none);
	}
}

static void oracle_read(FILE *in, const char *section, struct oracle *o)
{
	struct reader r = { .o = o };
	char *line = NULL;
	size_t cap = 0;

	memset(o, 0, sizeof(*o));
	while (getline(&line, &cap, in) > 0)
		read_line(&r, line, section);
	free(line);
	expected_table(o);
}

static void oracle_free(struct oracle *o)
{
	free(o->pool);
	free(o->fdes);
	free(o->cies);
	free(o->rows);
}

/* ==== the comparison ==== */

static const struct range *plt_at(const struct file *f, uint64_t pc)
{
	size_t i;

	for (i = 0; i < f->nplt; i++)
		if (pc >= f->plt[i].lo && pc < f->plt[i].hi)
			return &f->plt[i];
	return NULL;
}

static bool rbp_matches(const struct cfi_row *a, const struct want *w)
{
	if (w->rbp == WANT_RBP_U)
		return a->rbp_kind == CFI_RBP_SAME || a->rbp_kind == CFI_RBP_UNDEFINED;
	return a->rbp_kind == w->rbp && (w->rbp != CFI_RBP_AT_CFA || a->rbp_off == w->rbp_off);
}

static bool matches(const struct file *f, const struct cfi_row *a, const struct want *w,
		    uint64_t pc)
{
	const struct range *plt;

	if (!w || w->cfa == CFI_CFA_NONE)
		return !a || a->cfa_kind == CFI_CFA_NONE;
	if (!a)
		return false;
	if (w->cfa == WANT_EXP) {
		plt = plt_at(f, pc);
		if (!plt)
			return a->cfa_kind == CFI_CFA_UNSUPPORTED;
		if (a->cfa_kind != CFI_CFA_PLT)
			return false;
		if (plt->lit >= 0 ? a->cfa_off != plt->lit : a->cfa_off != 9 && a->cfa_off != 11)
			return false;
		return rbp_matches(a, w);
	}
	if (a->cfa_kind != w->cfa)
		return false;
	if (w->cfa != CFI_CFA_RSP && w->cfa != CFI_CFA_RBP)
		return true;
	return a->cfa_off == w->cfa_off && rbp_matches(a, w);
}

/* Compares at every row start of either side; returns the mismatches. */
static size_t compare(const struct file *f, const char *what, const struct cfi_table *t,
		      const struct oracle *o, size_t *points)
{
	const struct cfi_row *a = NULL;
	const struct want *w = NULL;
	size_t i = 0, j = 0, bad = 0;
	uint64_t pc;

	*points = 0;
	while (i < t->nrows || j < o->nrows) {
		if (j == o->nrows || (i < t->nrows && t->rows[i].pc <= o->rows[j].pc))
			pc = t->rows[i].pc;
		else
			pc = o->rows[j].pc;
		while (i < t->nrows && t->rows[i].pc <= pc)
			a = &t->rows[i++];
		while (j < o->nrows && o->rows[j].pc <= pc)
			w = &o->rows[j++];
		(*points)++;
		if (matches(f, a, w, pc))
			continue;
		if (++bad <= 10)
			print_message("  %s %s: at 0x%" PRIx64 ": table cfa %u%+d rbp %u%+d, readelf cfa %u%+d rbp %u%+d\n",
				      f->label, what, pc, a ? a->cfa_kind : 255, a ? a->cfa_off : 0,
				      a ? a->rbp_kind : 255, a ? a->rbp_off : 0, w ? w->cfa : 255,
				      w ? w->cfa_off : 0, w ? w->rbp : 255, w ? w->rbp_off : 0);
	}
	return bad;
}

static void check_invariants(const struct cfi_table *t)
{
	size_t i;

	for (i = 1; i < t->nrows; i++) {
		assert_true(t->rows[i - 1].pc < t->rows[i].pc);
		assert_memory_not_equal(&t->rows[i - 1].cfa_off, &t->rows[i].cfa_off, 8);
	}
	if (t->nrows)
		assert_int_equal(t->rows[t->nrows - 1].cfa_kind, CFI_CFA_NONE);
}

/* Parses one section and compares it with readelf's text; the table is
 * left in *t. Returns the mismatches. */
static size_t check_section(const struct file *f, const char *name, enum cfi_section kind,
			    const struct sec *s, const char *text, struct cfi_table *t)
{
	struct cfi_stats st;
	struct oracle o;
	size_t points, bad, i, skipped = 0, cut = 0;
	FILE *in;
	int err;

	err = cfi__parse(s->data, s->len, s->vaddr, kind, 0, t, &st);
	assert_int_equal(err, 0);
	check_invariants(t);
	/* The functions: one per FDE taken, in order, apart, each covered by
	 * the rows (a row like the one before it is merged into it, so a
	 * function need not start a row). */
	assert_int_equal(t->nfuncs, st.fdes);
	for (i = 0; i < t->nfuncs; i++) {
		assert_true(t->funcs[i].begin < t->funcs[i].end);
		assert_true(!i || t->funcs[i - 1].end <= t->funcs[i].begin);
		assert_non_null(cfi__lookup(t, t->funcs[i].begin));
	}
	in = fmemopen((void *)text, strlen(text), "r");
	assert_non_null(in);
	oracle_read(in, name, &o);
	fclose(in);
	bad = compare(f, name, t, &o, &points);
	for (i = 0; i < CFI_SKIP__COUNT; i++)
		skipped += st.skipped[i];
	for (i = 0; i < CFI_CUT__COUNT; i++)
		cut += st.cut[i];
	print_message("  %s %s: readelf %zu FDEs, %zu rows shown; table %u FDEs, %zu rows "
		      "(%u unsupported); compared at %zu pcs, %zu differ; FDEs skipped %zu "
		      "(empty %u, overlap %u), cut %zu\n",
		      f->label, name, o.nfdes, o.npool, st.fdes, t->nrows, st.rows_unsupported,
		      points, bad, skipped, st.skipped[CFI_SKIP_EMPTY],
		      st.skipped[CFI_SKIP_OVERLAP], cut);
	/* Real files: every FDE readable, every program followed to its end. */
	assert_int_equal(st.bad_entry, 0);
	assert_int_equal(st.truncated, 0);
	assert_int_equal(skipped, st.skipped[CFI_SKIP_EMPTY] + st.skipped[CFI_SKIP_OVERLAP]);
	assert_int_equal(st.skipped[CFI_SKIP_OVERLAP], o.overlaps);
	assert_int_equal(cut, 0);
	for (i = 0; i < CFI_CIE__COUNT; i++)
		assert_int_equal(st.cies_bad[i], 0);
	assert_true(o.nrows > 0);
	oracle_free(&o);
	return bad;
}

/* The comparison can fail: one rule changed in a copy of the table. */
static void check_detects(const struct file *f, const char *name, const struct cfi_table *t,
			  const char *text)
{
	struct cfi_table copy = { .nrows = t->nrows };
	struct oracle o;
	size_t i, points;
	FILE *in;

	copy.rows = malloc(t->nrows * sizeof(*t->rows));
	assert_non_null(copy.rows);
	memcpy(copy.rows, t->rows, t->nrows * sizeof(*t->rows));
	for (i = 0; i < copy.nrows && copy.rows[i].cfa_kind != CFI_CFA_RSP; i++)
		;
	assert_true(i < copy.nrows);
	copy.rows[i].cfa_off += 8;
	in = fmemopen((void *)text, strlen(text), "r");
	assert_non_null(in);
	oracle_read(in, name, &o);
	fclose(in);
	print_message("  (a table with one offset changed, expected to differ:)\n");
	assert_true(compare(f, name, &copy, &o, &points) >= 1);
	oracle_free(&o);
	free(copy.rows);
}

/* ==== inputs ==== */

static char *slurp(FILE *in, size_t *len)
{
	size_t cap = 1 << 16, n = 0, got;
	char *buf = malloc(cap + 1);

	assert_non_null(buf);
	while ((got = fread(buf + n, 1, cap - n, in)) > 0) {
		n += got;
		if (n == cap) {
			cap *= 2;
			buf = realloc(buf, cap + 1);
			assert_non_null(buf);
		}
	}
	buf[n] = 0;
	if (len)
		*len = n;
	return buf;
}

static void *read_file(const char *path, size_t *len)
{
	FILE *in = fopen(path, "rb");
	char *buf;

	if (!in)
		fail_msg("cannot open '%s': %s", path, strerror(errno));
	buf = slurp(in, len);
	fclose(in);
	return buf;
}

static bool have_readelf(void)
{
	return !system("readelf --version >/dev/null 2>&1");
}

/* readelf --debug-dump=frames-interp of path, in the C locale. */
static char *readelf_frames(const char *path)
{
	int fds[2], status;
	char *text;
	FILE *in;
	pid_t pid;

	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (!pid) {
		dup2(fds[1], 1);
		close(fds[0]);
		close(fds[1]);
		setenv("LC_ALL", "C", 1);
		/* -wN: not following .gnu_debuglink (a missing file is an error) */
		execlp("readelf", "readelf", "-wN", "--debug-dump=frames-interp", "--", path,
		       (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	in = fdopen(fds[0], "r");
	assert_non_null(in);
	text = slurp(in, NULL);
	fclose(in);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		fail_msg("readelf on '%s' failed (status %d)", path, status);
	return text;
}

static void sec_copy(struct sec *s, const void *data, size_t len, uint64_t vaddr)
{
	s->data = malloc(len ? len : 1);
	assert_non_null(s->data);
	memcpy(s->data, data, len);
	s->len = len;
	s->vaddr = vaddr;
	s->found = true;
}

/* The CFI sections and .plt* ranges of an ELF file (libelf). */
static void load_elf(const char *path, struct file *f)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	Elf_Scn *scn = NULL;
	size_t shstrndx;
	GElf_Shdr sh;
	Elf_Data *d;
	const char *name;
	Elf *e;

	if (fd < 0)
		fail_msg("cannot open '%s': %s", path, strerror(errno));
	assert_int_not_equal(elf_version(EV_CURRENT), EV_NONE);
	e = elf_begin(fd, ELF_C_READ, NULL);
	assert_non_null(e);
	assert_int_equal(elf_getshdrstrndx(e, &shstrndx), 0);
	while ((scn = elf_nextscn(e, scn))) {
		assert_non_null(gelf_getshdr(scn, &sh));
		name = elf_strptr(e, shstrndx, sh.sh_name);
		if (!name || sh.sh_type == SHT_NOBITS)
			continue;
		if (!strncmp(name, ".plt", 4) && f->nplt < MAX_PLT)
			f->plt[f->nplt++] = (struct range){ sh.sh_addr, sh.sh_addr + sh.sh_size, -1 };
		if (strcmp(name, ".eh_frame") && strcmp(name, ".debug_frame"))
			continue;
		if (sh.sh_flags & SHF_COMPRESSED)
			assert_int_equal(elf_compress(scn, 0, 0), 1);
		d = elf_getdata(scn, NULL);
		assert_non_null(d);
		sec_copy(name[1] == 'e' ? &f->eh : &f->dbg, d->d_buf, d->d_size, sh.sh_addr);
	}
	elf_end(e);
	close(fd);
}

static void file_free(struct file *f)
{
	free(f->eh.data);
	free(f->dbg.data);
}

/* Both sections against readelf's text; the merge of the two checked too.
 * Returns the mismatches. */
static size_t check_file(struct file *f, const char *text, struct cfi_table *merged)
{
	struct cfi_table eh = { 0 }, dbg = { 0 };
	size_t bad = 0, i;
	uint64_t pc;

	assert_true(f->eh.found || f->dbg.found);
	if (f->eh.found)
		bad += check_section(f, ".eh_frame", CFI_EH_FRAME, &f->eh, text, &eh);
	if (f->dbg.found)
		bad += check_section(f, ".debug_frame", CFI_DEBUG_FRAME, &f->dbg, text, &dbg);
	assert_int_equal(cfi__merge(&eh, &dbg, 0, merged), 0);
	check_invariants(merged);
	/* The merge: .eh_frame's rule where it has one, else .debug_frame's. */
	for (i = 0; i < eh.nrows + dbg.nrows; i++) {
		const struct cfi_row *e, *d, *m, *want;

		pc = i < eh.nrows ? eh.rows[i].pc : dbg.rows[i - eh.nrows].pc;
		e = cfi__lookup(&eh, pc);
		d = cfi__lookup(&dbg, pc);
		m = cfi__lookup(merged, pc);
		want = e && e->cfa_kind != CFI_CFA_NONE ? e : d;
		assert_non_null(m);
		if (want)
			assert_memory_equal(&m->cfa_off, &want->cfa_off, 8);
		else
			assert_int_equal(m->cfa_kind, CFI_CFA_NONE);
	}
	if (f->demo && f->eh.found)
		check_detects(f, ".eh_frame", &eh, text);
	cfi__table_free(&eh);
	cfi__table_free(&dbg);
	return bad;
}

/* ==== fixtures ==== */

#define MAX_SYMS 16

struct sym {
	char name[64];
	uint64_t addr;
};

struct fixture {
	struct file f;
	char label[64];
	struct sym syms[MAX_SYMS];
	size_t nsyms;
};

static uint64_t sym(const struct fixture *fx, const char *name)
{
	size_t i;

	for (i = 0; i < fx->nsyms; i++)
		if (!strcmp(fx->syms[i].name, name))
			return fx->syms[i].addr;
	fail_msg("%s: no symbol %s in the fixture", fx->label, name);
	return 0;
}

static void load_fixture(const char *meta_path, struct fixture *fx)
{
	char line[512], a[64], b[64], path[PATH_MAX];
	uint64_t x, y;
	int lit;
	FILE *in = fopen(meta_path, "r");
	void *data;
	size_t len;

	assert_non_null(in);
	while (fgets(line, sizeof(line), in)) {
		if (sscanf(line, "section %63s %" SCNx64 " %63s", a, &x, b) == 3) {
			snprintf(path, sizeof(path), "%s/cfi/%s", fixtures_dir(), b);
			data = read_file(path, &len);
			sec_copy(!strcmp(a, ".eh_frame") ? &fx->f.eh : &fx->f.dbg, data, len, x);
			free(data);
		} else if (sscanf(line, "plt %" SCNx64 " %" SCNx64 " %d", &x, &y, &lit) == 3) {
			assert_true(fx->f.nplt < MAX_PLT);
			fx->f.plt[fx->f.nplt++] = (struct range){ x, y, lit };
		} else if (sscanf(line, "sym %31s %" SCNx64, a, &x) == 2) {
			assert_true(fx->nsyms < MAX_SYMS);
			snprintf(fx->syms[fx->nsyms].name, sizeof(fx->syms[0].name), "%s", a);
			fx->syms[fx->nsyms++].addr = x;
		}
	}
	fclose(in);
}

static const struct cfi_row *row_at(const struct cfi_table *t, uint64_t pc)
{
	const struct cfi_row *r = cfi__lookup(t, pc);

	assert_non_null(r);
	return r;
}

static bool has_row(const struct cfi_table *t, uint64_t lo, uint64_t hi, uint8_t cfa, int32_t off,
		    uint8_t rbp, int16_t rbp_off)
{
	size_t i;

	for (i = 0; i < t->nrows; i++)
		if (t->rows[i].pc >= lo && t->rows[i].pc < hi && t->rows[i].cfa_kind == cfa &&
		    t->rows[i].cfa_off == off && t->rows[i].rbp_kind == rbp &&
		    t->rows[i].rbp_off == rbp_off)
			return true;
	return false;
}

/* Rows of a kind from lo up to the next "no CFI" row. */
static size_t count_rows(const struct cfi_table *t, uint64_t lo, uint8_t cfa, int32_t off)
{
	size_t i, n = 0;

	for (i = 0; i < t->nrows && t->rows[i].pc < lo; i++)
		;
	for (; i < t->nrows && t->rows[i].cfa_kind != CFI_CFA_NONE; i++)
		n += t->rows[i].cfa_kind == cfa && t->rows[i].cfa_off == off;
	return n;
}

/* What each function of sample.c must give, whichever section it is in. */
static void check_sample(const struct fixture *fx, const struct cfi_table *t)
{
	const struct cfi_row *r;
	size_t i;

	assert_int_equal(row_at(t, sym(fx, "_start"))->cfa_kind, CFI_CFA_UNDEFINED);
	r = row_at(t, sym(fx, "leaf"));
	assert_true(r->cfa_kind == CFI_CFA_RSP && r->cfa_off == 8 && r->rbp_kind == CFI_RBP_SAME);
	assert_true(has_row(t, sym(fx, "with_alloca"), sym(fx, "consume"), CFI_CFA_RBP, 16,
			    CFI_RBP_AT_CFA, -16));
	r = row_at(t, sym(fx, "realigned"));
	assert_true(r->cfa_kind == CFI_CFA_RSP && r->cfa_off == 8);
	assert_true(has_row(t, sym(fx, "realigned"), sym(fx, "early_exit"), CFI_CFA_UNSUPPORTED,
			    0, 0, 0));
	/* remember_state / restore_state: rsp + 16 again after each early return */
	assert_true(count_rows(t, sym(fx, "early_exit"), CFI_CFA_RSP, 16) >= 3);
	for (i = 0; i < fx->f.nplt; i++) {
		const struct range *p = &fx->f.plt[i];

		if (p->lit <= 0)
			continue;
		r = row_at(t, p->lo);
		assert_true(r->cfa_kind == CFI_CFA_RSP && r->cfa_off == 16);
		r = row_at(t, p->lo + 6);
		assert_true(r->cfa_kind == CFI_CFA_RSP && r->cfa_off == 24);
		r = row_at(t, p->lo + 16);
		assert_int_equal(r->cfa_kind, CFI_CFA_PLT);
		assert_int_equal(r->cfa_off, p->lit);
		assert_true(row_at(t, p->hi - 1) == r);
	}
}

static void test_fixtures(void **state)
{
	char pattern[PATH_MAX], *text, *base;
	struct cfi_table merged, eh;
	struct cfi_stats st;
	struct fixture fx;
	glob_t g;
	size_t i;

	(void)state;
	snprintf(pattern, sizeof(pattern), "%s/cfi/*.meta", fixtures_dir());
	assert_int_equal(glob(pattern, 0, NULL, &g), 0);
	assert_true(g.gl_pathc >= 4);
	for (i = 0; i < g.gl_pathc; i++) {
		memset(&fx, 0, sizeof(fx));
		base = strrchr(g.gl_pathv[i], '/') + 1;
		snprintf(fx.label, sizeof(fx.label), "%.*s", (int)(strlen(base) - 5), base);
		fx.f.label = fx.label;
		fx.f.demo = true;
		load_fixture(g.gl_pathv[i], &fx);
		snprintf(pattern, sizeof(pattern), "%.*s.frames", (int)(strlen(g.gl_pathv[i]) - 5),
			 g.gl_pathv[i]);
		text = read_file(pattern, NULL);
		assert_int_equal(check_file(&fx.f, text, &merged), 0);
		check_sample(&fx, &merged);
		/* -fno-asynchronous-unwind-tables: the program's rules are in
		 * .debug_frame alone, the merge finds them. */
		if (fx.f.dbg.found) {
			assert_int_equal(cfi__parse(fx.f.eh.data, fx.f.eh.len, fx.f.eh.vaddr,
						    CFI_EH_FRAME, 0, &eh, &st), 0);
			assert_true(!cfi__lookup(&eh, sym(&fx, "leaf")) ||
				    cfi__lookup(&eh, sym(&fx, "leaf"))->cfa_kind == CFI_CFA_NONE);
			cfi__table_free(&eh);
		}
		cfi__table_free(&merged);
		free(text);
		file_free(&fx.f);
	}
	globfree(&g);
}

/* ==== live files ==== */

static bool missing(const char *what)
{
	print_message("  %s: %s\n", in_ci() ? "FAIL" : "SKIP", what);
	if (in_ci())
		fail_msg("%s (CI=true)", what);
	return true;
}

static void check_live(const char *label, const char *path)
{
	struct file f = { .label = label };
	struct cfi_table merged;
	char *text;

	load_elf(path, &f);
	if (!f.eh.found && !f.dbg.found)
		fail_msg("%s ('%s'): no .eh_frame or .debug_frame", label, path);
	text = readelf_frames(path);
	assert_int_equal(check_file(&f, text, &merged), 0);
	cfi__table_free(&merged);
	free(text);
	file_free(&f);
}

static void test_libc(void **state)
{
	char line[PATH_MAX + 128], *p, *base;
	bool done = false;
	FILE *maps;

	(void)state;
	if (!have_readelf() && missing("no readelf (binutils)"))
		skip();
	maps = fopen("/proc/self/maps", "r");
	assert_non_null(maps);
	while (!done && fgets(line, sizeof(line), maps)) {
		p = strchr(line, '/');
		if (!p)
			continue;
		p[strcspn(p, "\n")] = 0;
		base = strrchr(p, '/') + 1;
		if (!strncmp(base, "libc.so", 7) || !strncmp(base, "libc-", 5)) {
			check_live("libc", p);
			done = true;
		}
	}
	fclose(maps);
	if (!done && missing("no libc in /proc/self/maps"))
		skip();
}

static bool is_elf(const char *path)
{
	char magic[4] = { 0 };
	FILE *in = fopen(path, "rb");
	bool ok;

	if (!in)
		return false;
	ok = fread(magic, 1, 4, in) == 4 && !memcmp(magic, "\177ELF", 4);
	fclose(in);
	return ok;
}

/* The first python3 on PATH that is an executable file (not a pyenv shim). */
static void test_python(void **state)
{
	char *path = getenv("PATH") ? strdup(getenv("PATH")) : NULL, *dir, *save = NULL;
	char cand[PATH_MAX], real[PATH_MAX];
	bool done = false;

	(void)state;
	if (!have_readelf() && missing("no readelf (binutils)"))
		skip();
	for (dir = path ? strtok_r(path, ":", &save) : NULL; dir && !done;
	     dir = strtok_r(NULL, ":", &save)) {
		snprintf(cand, sizeof(cand), "%s/python3", dir);
		if (realpath(cand, real) && is_elf(real)) {
			check_live("python3", real);
			done = true;
		}
	}
	free(path);
	if (!done && missing("no python3 executable on PATH"))
		skip();
}

static void test_libpython(void **state)
{
	const char *root = getenv("PYENV_ROOT"), *home = getenv("HOME");
	char pattern[PATH_MAX], label[64];
	glob_t g;
	size_t i;

	(void)state;
	if (!have_readelf() && missing("no readelf (binutils)"))
		skip();
	if (root && *root)
		snprintf(pattern, sizeof(pattern), "%s/versions/*/lib/libpython*.so.1.0", root);
	else
		snprintf(pattern, sizeof(pattern), "%s/.pyenv/versions/*/lib/libpython*.so.1.0",
			 home ? home : "");
	if (glob(pattern, 0, NULL, &g)) {
		missing("no libpython under pyenv ($PYENV_ROOT, default ~/.pyenv)");
		skip();
	}
	for (i = 0; i < g.gl_pathc; i++) {
		snprintf(label, sizeof(label), "%s", strrchr(g.gl_pathv[i], '/') + 1);
		check_live(label, g.gl_pathv[i]);
	}
	globfree(&g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixtures),
		cmocka_unit_test(test_libc),
		cmocka_unit_test(test_python),
		cmocka_unit_test(test_libpython),
	};

	return cmocka_run_group_tests_name("cfi-readelf", tests, NULL, NULL);
}
