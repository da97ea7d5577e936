// SPDX-License-Identifier: BSD-2-Clause
#include <elf.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "demangle.h"
#include "elfdebug.h"
#include "elfsym.h"

#define CUT_MARK "..."

enum { SYM_DEMANGLE = 1, SYM_OWNED = 2 };	/* struct sym flags */

struct sym {
	uint64_t addr;
	const char *name;	/* in names, or malloc'ed when SYM_OWNED */
	uint32_t flags;
};

/* [start, end) belongs to syms[sym]; ranges are sorted and disjoint. */
struct range {
	uint64_t start, end;
	uint32_t sym;
};

struct elfsym {
	struct sym *syms;
	size_t nsyms;
	struct range *ranges;
	size_t nranges;
	char *names;
	unsigned int sources;
};

/* A symbol as read, its name still in the file's string table. */
struct cand {
	uint64_t addr;
	uint64_t end;		/* addr + st_size; without a size, its section's end or 0 */
	const char *name;
	uint16_t len;		/* without the NUL, at most ELFSYM_NAME_MAX - 1 */
	uint8_t rank;		/* lower is preferred among names of one address */
	bool sized, cut;
};

struct builder {
	struct cand *c;
	size_t n, cap;
	size_t name_bytes;	/* of the candidates' names, bounded by ELFSYM_NAMES_MAX */
	unsigned int flags;
	/* the debug file, the MiniDebugInfo: their names are copied at the end */
	struct elffile *more[2];
};

static uint8_t rank_of(unsigned char bind, const char *name)
{
	uint8_t underscores = 0;

	while (name[underscores] == '_' && underscores < 3)
		underscores++;
	return (uint8_t)((bind == STB_GLOBAL ? 0 : bind == STB_WEAK ? 1 : 2) << 2 | underscores);
}

/* The end of the section holding a symbol without a size, 0 if unknown. */
static uint64_t section_end(const struct elffile *ef, uint16_t shndx, uint64_t addr)
{
	struct elf_section s;

	if (shndx >= SHN_LORESERVE || elffile__section(ef, shndx, &s) ||
	    !(s.flags & SHF_ALLOC) || addr < s.addr || addr - s.addr >= s.size)
		return 0;
	return s.addr + s.size;
}

static int push(struct builder *b, const struct cand *c)
{
	/* many symbols can share one long name in the file, not in the table */
	if (b->name_bytes + c->len + sizeof(CUT_MARK) > ELFSYM_NAMES_MAX)
		return -E2BIG;
	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 1024;
		struct cand *grown;

		if (cap > ELFSYM_MAX_SYMBOLS)
			cap = ELFSYM_MAX_SYMBOLS;
		if (b->n == cap)
			return -E2BIG;
		grown = realloc(b->c, cap * sizeof(*grown));
		if (!grown)
			return -ENOMEM;
		b->c = grown;
		b->cap = cap;
	}
	b->c[b->n++] = *c;
	b->name_bytes += c->len + sizeof(CUT_MARK);
	return 0;
}

/* A name inside the string table [str, str + size): false when off is out
 * of bounds, the name empty or unterminated before the table's end. */
static bool take_name(const char *str, size_t size, uint32_t off, struct cand *c)
{
	size_t room, len;

	if (off >= size)
		return false;
	room = size - off;
	len = strnlen(str + off, room < ELFSYM_NAME_MAX ? room : ELFSYM_NAME_MAX);
	if (!len || len == room)
		return false;
	c->name = str + off;
	/* a name cut keeps room for CUT_MARK within ELFSYM_NAME_MAX */
	c->cut = len == ELFSYM_NAME_MAX;
	c->len = (uint16_t)(c->cut ? ELFSYM_NAME_MAX - sizeof(CUT_MARK) : len);
	return true;
}

/* The function symbols of one SHT_SYMTAB / SHT_DYNSYM section: 1 when it
 * was read (-E2BIG: in part, up to the table's limits), 0 when it holds no
 * usable table (SHT_NOBITS in a debug file, bad links or sizes). */
static int add_table(struct builder *b, const struct elffile *ef, const struct elf_section *tab)
{
	struct elf_section strs;
	const char *syms, *str;
	size_t size, strsize;
	int err;

	syms = elffile__section_data(ef, tab, &size);
	if (!syms || tab->entsize != sizeof(Elf64_Sym) || elffile__section(ef, tab->link, &strs) ||
	    strs.type != SHT_STRTAB || !(str = elffile__section_data(ef, &strs, &strsize)))
		return 0;
	for (size_t i = 1; i < size / sizeof(Elf64_Sym); i++) {
		unsigned char type;
		struct cand c = { 0 };
		Elf64_Sym s;

		memcpy(&s, syms + i * sizeof(s), sizeof(s));
		type = ELF64_ST_TYPE(s.st_info);
		if ((type != STT_FUNC && type != STT_GNU_IFUNC) || !s.st_value ||
		    s.st_shndx == SHN_UNDEF || !take_name(str, strsize, s.st_name, &c))
			continue;
		c.addr = s.st_value;
		c.sized = s.st_size != 0;
		c.end = c.sized ? (s.st_size > UINT64_MAX - c.addr ? UINT64_MAX : c.addr + s.st_size)
				: section_end(ef, s.st_shndx, c.addr);
		c.rank = rank_of(ELF64_ST_BIND(s.st_info), c.name);
		err = push(b, &c);
		if (err)
			return err;
	}
	return 1;
}

/* Every symbol table of ef; the ELFSYM_SRC_* bits found, or an error. */
static int add_file(struct builder *b, const struct elffile *ef, unsigned int symtab_src)
{
	unsigned int found = 0;
	int err;

	for (unsigned int i = 1; i < elffile__nsections(ef); i++) {
		struct elf_section s;

		elffile__section(ef, i, &s);
		if (s.type != SHT_SYMTAB && s.type != SHT_DYNSYM)
			continue;
		err = add_table(b, ef, &s);
		if (err < 0 && err != -E2BIG)
			return err;
		if (err)
			found |= s.type == SHT_SYMTAB ? symtab_src : ELFSYM_SRC_DYNSYM;
		if (err == -E2BIG)
			break;	/* a table that large is kept as far as it went */
	}
	return (int)found;
}

static int cmp_cand(const void *pa, const void *pb)
{
	const struct cand *a = pa, *b = pb;
	int d;

	if (a->addr != b->addr)
		return a->addr < b->addr ? -1 : 1;
	if (a->rank != b->rank)
		return a->rank - b->rank;
	if (a->len != b->len)
		return a->len - b->len;
	d = memcmp(a->name, b->name, a->len);
	return d ? d : a->cut - b->cut;
}

/*
 * Sorted candidates to one per address, in place: the preferred name, the
 * farthest end of the sized ones. An end still unknown becomes the next
 * address (or the section's end, if nearer). Returns the count kept.
 */
static size_t dedup(struct cand *c, size_t n)
{
	size_t m = 0;

	for (size_t i = 0; i < n; i++) {
		if (m && c[m - 1].addr == c[i].addr) {
			struct cand *k = &c[m - 1];

			if (c[i].sized && (!k->sized || c[i].end > k->end))
				k->end = c[i].end;
			if (!k->sized && !c[i].sized && c[i].end > k->end)
				k->end = c[i].end;
			k->sized |= c[i].sized;
			continue;
		}
		c[m++] = c[i];
	}
	for (size_t i = 0; i < m; i++) {
		uint64_t next = i + 1 < m ? c[i + 1].addr : 0;

		if (c[i].sized)
			continue;
		if (next && (!c[i].end || next < c[i].end))
			c[i].end = next;
		if (!c[i].end)
			c[i].end = c[i].addr + 1;
	}
	return m;
}

static int emit(struct elfsym *t, size_t *cap, size_t sym, uint64_t start, uint64_t end)
{
	if (start >= end)
		return 0;
	if (t->nranges == *cap) {
		size_t ncap = *cap * 2;
		struct range *grown = realloc(t->ranges, ncap * sizeof(*grown));

		if (!grown)
			return -ENOMEM;
		t->ranges = grown;
		*cap = ncap;
	}
	t->ranges[t->nranges++] = (struct range){ start, end, (uint32_t)sym };
	return 0;
}

/*
 * The ranges of c[0..n) (sorted, one per address): each symbol owns its
 * span but for the symbols nested in it, and resumes after each. A stack
 * holds the symbols still open; pos is where the next range starts.
 */
static int flatten(struct elfsym *t, struct cand *c, size_t n)
{
	size_t cap = n + 16, sp = 0;
	uint32_t *stack = malloc((n + 1) * sizeof(*stack));
	uint64_t pos = 0;
	int err = -ENOMEM;

	t->ranges = malloc(cap * sizeof(*t->ranges));
	if (!stack || !t->ranges)
		goto cleanup;
	for (size_t i = 0; i <= n; i++) {
		uint64_t at = i < n ? c[i].addr : UINT64_MAX;

		/* close what ends before this symbol (all at the end) */
		while (sp && (i == n || c[stack[sp - 1]].end <= at)) {
			struct cand *top = &c[stack[--sp]];

			err = emit(t, &cap, stack[sp], pos, top->end);
			if (err)
				goto cleanup;
			if (top->end > pos)
				pos = top->end;
		}
		if (i == n)
			break;
		if (sp) {
			err = emit(t, &cap, stack[sp - 1], pos, at);
			if (err)
				goto cleanup;
			/* a sizeless symbol inside another ends with it */
			if (!c[i].sized && c[i].end > c[stack[sp - 1]].end)
				c[i].end = c[stack[sp - 1]].end;
		}
		stack[sp++] = (uint32_t)i;
		pos = at;
	}
	err = 0;
cleanup:
	free(stack);
	return err;
}

/* Copies the kept names out of the files and fills the table. */
static int finish(struct elfsym *t, struct builder *b)
{
	size_t n, total = 0;
	char *w;
	int err;

	if (b->n)
		qsort(b->c, b->n, sizeof(*b->c), cmp_cand);
	n = dedup(b->c, b->n);
	for (size_t i = 0; i < n; i++)
		total += b->c[i].len + (b->c[i].cut ? sizeof(CUT_MARK) : 1);
	t->names = malloc(total ? total : 1);
	t->syms = calloc(n ? n : 1, sizeof(*t->syms));
	if (!t->names || !t->syms)
		return -ENOMEM;
	w = t->names;
	for (size_t i = 0; i < n; i++) {
		const struct cand *c = &b->c[i];

		memcpy(w, c->name, c->len);
		memcpy(w + c->len, c->cut ? CUT_MARK : "", c->cut ? sizeof(CUT_MARK) : 1);
		t->syms[i].addr = c->addr;
		t->syms[i].name = w;
		if (!c->cut && !(b->flags & ELFSYM_NO_DEMANGLE) && demangle__wanted(w))
			t->syms[i].flags = SYM_DEMANGLE;
		w += c->len + (c->cut ? sizeof(CUT_MARK) : 1);
	}
	t->nsyms = n;
	err = flatten(t, b->c, n);
	return err;
}

static int add_separate(struct builder *b, const struct elffile *ef, const struct elfsym_opts *o,
			unsigned int *sources)
{
	struct elffile *dbg = NULL;
	enum elfdebug_how how;
	int found = 0;

	if (!(o->flags & ELFSYM_NO_DEBUG_FILE) &&
	    !elfdebug__find(ef, o->root, o->path, &dbg, &how)) {
		b->more[0] = dbg;
		found = add_file(b, dbg, how == ELFDEBUG_BUILD_ID ? ELFSYM_SRC_DEBUG_BUILD_ID
								  : ELFSYM_SRC_DEBUGLINK);
		if (found < 0)
			return found;
		*sources |= (unsigned int)found;
		if (found & ~ELFSYM_SRC_DYNSYM)
			return 0;
	}
	/* the debug file holds all MiniDebugInfo does: only without one */
	if (!(o->flags & ELFSYM_NO_MINIDEBUGINFO) && !elfdebug__minidebuginfo(ef, &dbg)) {
		b->more[1] = dbg;
		found = add_file(b, dbg, ELFSYM_SRC_MINIDEBUGINFO);
		if (found < 0)
			return found;
		*sources |= (unsigned int)found;
	}
	return 0;
}

int elfsym__new(const struct elffile *ef, const struct elfsym_opts *opts, struct elfsym **out)
{
	static const struct elfsym_opts none = { 0 };
	const struct elfsym_opts *o = opts ? opts : &none;
	struct builder b = { .flags = o->flags };
	struct elfsym *t = NULL;
	unsigned int sources = 0;
	int err, found;

	*out = NULL;
	if (elffile__type(ef) != ET_EXEC && elffile__type(ef) != ET_DYN)
		return -ENOEXEC;
	err = -ENOMEM;
	t = calloc(1, sizeof(*t));
	if (!t)
		goto cleanup;
	found = add_file(&b, ef, ELFSYM_SRC_SYMTAB);
	err = found;
	if (found < 0)
		goto cleanup;
	sources = (unsigned int)found;
	if (!(sources & ELFSYM_SRC_SYMTAB)) {
		err = add_separate(&b, ef, o, &sources);
		if (err)
			goto cleanup;
	}
	err = finish(t, &b);
	if (err)
		goto cleanup;
	t->sources = sources;
	*out = t;
	t = NULL;
cleanup:
	free(b.c);
	elffile__free(b.more[0]);
	elffile__free(b.more[1]);
	elfsym__free(t);
	return err;
}

int elfsym__open(const struct elfsym_opts *opts, struct elfsym **out)
{
	struct elffile *ef = NULL;
	int fd, err;

	*out = NULL;
	if (!opts || !opts->path)
		return -EINVAL;
	fd = open_in_root(opts->root, opts->path);
	if (fd < 0)
		return fd;
	err = elffile__open_fd(fd, &ef);
	close(fd);
	if (err)
		return err;
	err = elfsym__new(ef, opts, out);
	elffile__free(ef);
	return err;
}

void elfsym__free(struct elfsym *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->nsyms; i++)
		if (t->syms[i].flags & SYM_OWNED)
			free((char *)t->syms[i].name);
	free(t->syms);
	free(t->ranges);
	free(t->names);
	free(t);
}

const char *elfsym__lookup(struct elfsym *t, uint64_t vaddr, uint64_t *offset)
{
	size_t lo = 0, hi = t->nranges;
	struct sym *s;

	/* the last range starting at or before vaddr */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (t->ranges[mid].start <= vaddr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo || vaddr >= t->ranges[lo - 1].end)
		return NULL;
	s = &t->syms[t->ranges[lo - 1].sym];
	if (s->flags & SYM_DEMANGLE) {
		char *d = demangle(s->name);

		s->flags &= ~SYM_DEMANGLE;
		if (d) {
			s->name = d;
			s->flags |= SYM_OWNED;
		}
	}
	if (offset)
		*offset = vaddr - s->addr;
	return s->name;
}

size_t elfsym__count(const struct elfsym *t)
{
	return t->nsyms;
}

unsigned int elfsym__sources(const struct elfsym *t)
{
	return t->sources;
}
