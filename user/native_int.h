/* SPDX-License-Identifier: BSD-2-Clause */
/* What native.c, native_tables.c and native_name.c share (native.h). */
#ifndef PYSPY_NATIVE_INT_H
#define PYSPY_NATIVE_INT_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include "cfi.h"
#include "elffile.h"
#include "hashmap.h"
#include "native.h"

/* Program headers kept per file; the most elffile.c reads. */
#define NATIVE_LOADS 32

/* Files registered at most (host-wide, every executable file mapped). */
#define NATIVE_FILES_MAX 65536

/* Names remembered per file before its cache starts again. */
#define NATIVE_NAMES_MAX 65536

struct elfsym;

struct native_file {
	uint32_t id;
	char path[PATH_MAX];		/* as the first process to map it names it */
	const char *base;		/* its last component */
	bool interp;			/* an interpreter's file: its plumbing is hidden */
	/* Its PT_LOAD headers: the file itself is read once, then let go. */
	struct elf_load loads[NATIVE_LOADS];
	unsigned int nloads;
	struct elfsym *syms;		/* NULL: none could be read */
	struct hashmap *names;		/* link-time address -> struct cached_name */
	uint32_t first_row, nrows;	/* its rows in native_rows */
	uint64_t largest_begin, largest_end; /* its largest function (.eh_frame) */
	struct cfi_range *funcs;	/* where its functions are, by its CFI */
	size_t nfuncs;
};

struct native_proc {
	uint64_t read_at;		/* CLOCK_MONOTONIC ns of the last maps read */
	uint64_t backoff;		/* ns from read_at before another, at least */
	struct py_native_proc np;	/* as in the native_procs map */
};

struct native {
	struct native_maps maps;
	struct hashmap *by_key;		/* file identity -> struct native_file */
	struct native_file **files;	/* by id - 1 */
	size_t nfiles;
	struct hashmap *procs;		/* pid -> struct native_proc */
	uint32_t rows_used;		/* native_rows[0, rows_used) are taken */
	struct native_stats stats;
};

/* native_tables.c: the file's CFI into native_rows and native_pages. */
void native__file_tables(struct native *n, struct native_file *f, const struct elffile *ef);
/* native.c */
struct native_file *native__file(const struct native *n, uint32_t id);

#endif
