/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Readable names of C++ (Itanium ABI) and Rust legacy symbols, through
 * libstdc++'s __cxa_demangle: loaded with dlopen at first use, so the
 * collector neither links libstdc++ nor needs it; without it names stay
 * as they are. Symbol names come from hostile files: inputs longer than
 * DEMANGLE_IN_MAX are not demangled, outputs are cut at DEMANGLE_OUT_MAX.
 */
#ifndef PYSPY_DEMANGLE_H
#define PYSPY_DEMANGLE_H

#include <stdbool.h>

#define DEMANGLE_IN_MAX 1024
#define DEMANGLE_OUT_MAX 4096

/* Whether name looks mangled (starts with "_Z"). */
bool demangle__wanted(const char *name);
/* The demangled name (malloc'ed, at most DEMANGLE_OUT_MAX bytes with its
 * NUL), or NULL when name is not a mangled name the demangler accepts or
 * there is no demangler. Rust legacy names lose their "::h<hash>" and have
 * their "$LT$"-style escapes and ".." decoded. Thread-safe. */
char *demangle(const char *name);

#endif
