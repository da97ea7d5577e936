/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The collector's one UTF-8 codec. Strict, as Unicode's Table 3-7 has it:
 * no overlong forms, no surrogates, nothing above U+10FFFF. Text from a
 * target (names, file names, locals) and from the command line goes
 * through it before any output or upload.
 */
#ifndef PYSPY_UTF8_H
#define PYSPY_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The length (1-4) of the well-formed sequence at s[0..n) and its code
 * point in *cp; 0 when s[0] starts none, or n is 0. */
size_t utf8__decode(const char *s, size_t n, uint32_t *cp);
/* The same, but a byte that starts no sequence is 1 with *cp = U+FFFD:
 * for readers that replace what they cannot decode. n must be > 0. */
size_t utf8__next(const char *s, size_t n, uint32_t *cp);
/* Writes cp (<= U+10FFFF, not a surrogate) as UTF-8 to buf, which has
 * room for 4 bytes; returns the length. */
size_t utf8__put(char *buf, uint32_t cp);
/* Whether all of s[0..n) is well-formed UTF-8. */
bool utf8__valid(const char *s, size_t n);

#endif
