/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * binutils' nm as the oracle of a symbol table: the function symbols
 * (FUNC and GNU_IFUNC) nm lists for a file, and a comparison of a table's
 * lookups with them, at each address and one byte into each function.
 */
#ifndef TESTS_COMMON_NM_ORACLE_H
#define TESTS_COMMON_NM_ORACLE_H

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "elfsym.h"

struct nm_sym {
	uint64_t addr, size;
	char *name;
};

struct nm_list {
	struct nm_sym *s;
	size_t n, cap;
};

static inline char *nm_trim(char *s)
{
	char *e;

	while (*s == ' ')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\n'))
		*--e = 0;
	return s;
}

/*
 * Appends what `nm OPTS -f sysv --defined-only PATH` lists as FUNC or
 * IFUNC ("<OS specific>: 10") with a nonzero value; returns how many.
 * Format: name|value|class|type|size|line|section.
 */
static inline size_t nm_read(struct nm_list *l, const char *opts, const char *path)
{
	char cmd[4400], line[8192];
	size_t before = l->n;
	FILE *p;

	if (strchr(path, '\''))
		return 0;
	snprintf(cmd, sizeof(cmd), "nm %s -f sysv --defined-only '%s' 2>/dev/null", opts, path);
	p = popen(cmd, "r");
	if (!p)
		return 0;
	while (fgets(line, sizeof(line), p)) {
		char *f[7], *save = NULL, *tok = strtok_r(line, "|", &save);
		int k = 0;

		while (tok && k < 7) {
			f[k++] = nm_trim(tok);
			tok = strtok_r(NULL, "|", &save);
		}
		if (k < 5 || (strcmp(f[3], "FUNC") && !strstr(f[3], ": 10")))
			continue;
		if (l->n == l->cap) {
			l->cap = l->cap ? l->cap * 2 : 1024;
			l->s = realloc(l->s, l->cap * sizeof(*l->s));
		}
		l->s[l->n] = (struct nm_sym){ strtoull(f[1], NULL, 16),
					      *f[4] ? strtoull(f[4], NULL, 16) : 0, strdup(f[0]) };
		if (l->s[l->n].addr)
			l->n++;
		else
			free(l->s[l->n].name);
	}
	pclose(p);
	return l->n - before;
}

static inline void nm_free(struct nm_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->s[i].name);
	free(l->s);
	*l = (struct nm_list){ 0 };
}

static inline int nm_cmp(const void *pa, const void *pb)
{
	const struct nm_sym *a = pa, *b = pb;

	return a->addr < b->addr ? -1 : a->addr > b->addr;
}

struct nm_result {
	size_t addrs, inside, mismatches;
};

static inline bool nm_in_group(const struct nm_sym *g, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(g[i].name, name))
			return true;
	return false;
}

/*
 * Every address nm lists must resolve to one of the names nm gives it, at
 * offset 0; and, for a function of 2 bytes or more whose second byte
 * starts no other symbol, one byte in, at offset 1. Mismatches are printed
 * (the first few) and counted.
 */
static inline struct nm_result nm_compare(struct elfsym *t, struct nm_list *l, const char *label)
{
	struct nm_result r = { 0 };
	size_t i, j;

	qsort(l->s, l->n, sizeof(*l->s), nm_cmp);
	for (i = 0; i < l->n; i = j) {
		uint64_t a = l->s[i].addr, size = 0, off = ~0ull;
		const char *name;

		for (j = i; j < l->n && l->s[j].addr == a; j++)
			if (l->s[j].size > size)
				size = l->s[j].size;
		r.addrs++;
		name = elfsym__lookup(t, a, &off);
		if (!name || off || !nm_in_group(l->s + i, j - i, name)) {
			if (r.mismatches++ < 10)
				fprintf(stderr, "  %s: 0x%" PRIx64 ": '%s' +%" PRIu64 ", nm: '%s'\n",
					label, a, name ? name : "(none)", off, l->s[i].name);
		}
		if (size < 2 || (j < l->n && l->s[j].addr == a + 1))
			continue;
		r.inside++;
		name = elfsym__lookup(t, a + 1, &off);
		if (!name || off != 1 || !nm_in_group(l->s + i, j - i, name)) {
			if (r.mismatches++ < 10)
				fprintf(stderr, "  %s: 0x%" PRIx64 "+1: '%s' +%" PRIu64 ", nm: '%s'\n",
					label, a, name ? name : "(none)", off, l->s[i].name);
		}
	}
	return r;
}

#endif
