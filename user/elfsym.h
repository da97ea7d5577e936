/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The function symbols of one ELF file, to name native addresses: from its
 * .symtab and .dynsym, from its separate debug file when it has no .symtab
 * (build-id or .gnu_debuglink, beneath the root its process sees), else
 * from its MiniDebugInfo (.gnu_debugdata). STT_FUNC and STT_GNU_IFUNC
 * symbols, merged and sorted by address; where several share an address
 * one name stands for all (global before weak before local, then fewer
 * leading underscores, then the shorter). A symbol without a size reaches
 * to the next one (at most to its section's end); one nested inside
 * another's range takes that part of it. C++ and Rust legacy names are
 * demangled when first looked up.
 *
 * Every file is hostile: names are checked to end inside their string
 * table and cut at ELFSYM_NAME_MAX bytes; a table keeps at most
 * ELFSYM_MAX_SYMBOLS symbols and ELFSYM_NAMES_MAX bytes of names (the
 * symbols read before either limit).
 */
#ifndef PYSPY_ELFSYM_H
#define PYSPY_ELFSYM_H

#include <stddef.h>
#include <stdint.h>
#include "elffile.h"

#define ELFSYM_NAME_MAX 1024	/* bytes of a raw name, its NUL included */
#define ELFSYM_MAX_SYMBOLS (1u << 22)
#define ELFSYM_NAMES_MAX (256u << 20)

struct elfsym;

enum {				/* elfsym_opts.flags */
	ELFSYM_NO_DEBUG_FILE = 1 << 0,
	ELFSYM_NO_MINIDEBUGINFO = 1 << 1,
	ELFSYM_NO_DEMANGLE = 1 << 2,
};

enum {				/* elfsym__sources() */
	ELFSYM_SRC_DYNSYM = 1 << 0,
	ELFSYM_SRC_SYMTAB = 1 << 1,
	ELFSYM_SRC_DEBUG_BUILD_ID = 1 << 2,	/* the debug file's .symtab */
	ELFSYM_SRC_DEBUGLINK = 1 << 3,
	ELFSYM_SRC_MINIDEBUGINFO = 1 << 4,
};

struct elfsym_opts {
	/* The root directory of the file's process, e.g. "/proc/PID/root";
	 * NULL, "" or "/" for ours. Debug files are looked up beneath it. */
	const char *root;
	/* The file's absolute path inside root, as /proc/PID/maps names it:
	 * where .gnu_debuglink files are looked for. NULL: nowhere. */
	const char *path;
	unsigned int flags;	/* ELFSYM_NO_* */
};

/*
 * The table of ef (ET_EXEC or ET_DYN; ef can be freed afterwards): 0,
 * -ENOEXEC for another type, -ENOMEM. A file without symbols gives an
 * empty table. opts may be NULL.
 */
int elfsym__new(const struct elffile *ef, const struct elfsym_opts *opts, struct elfsym **out);
/* The same for opts->path opened beneath opts->root. */
int elfsym__open(const struct elfsym_opts *opts, struct elfsym **out);
void elfsym__free(struct elfsym *t);

/*
 * The name of the function holding vaddr (a link-time address; see
 * elffile__offset_to_vaddr()), NULL when none does. *offset (when offset
 * is not NULL) is vaddr's distance from the function's start. The name
 * lives as long as the table. Not thread-safe: a first lookup demangles.
 */
const char *elfsym__lookup(struct elfsym *t, uint64_t vaddr, uint64_t *offset);

/* How many distinct function addresses the table holds. */
size_t elfsym__count(const struct elfsym *t);
/* Where they came from: ELFSYM_SRC_* bits. */
unsigned int elfsym__sources(const struct elfsym *t);

#endif
