/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Text from a profiled process (function, file and thread names, reprs,
 * command lines): a strict UTF-8 reader, and the escaping that makes the
 * text safe to show on a terminal: every character a terminal would obey
 * rather than show becomes a visible escape, the way Python's repr() writes
 * it.
 *
 *  - \n, \r and \t stay two characters: \n \r \t;
 *  - the other C0 controls (U+0000..U+001F), DEL (U+007F) and the C1
 *    controls (U+0080..U+009F, which a UTF-8 terminal obeys too) become
 *    \xNN, e.g. ESC is \x1b and CSI is \x9b;
 *  - a byte that starts no valid UTF-8 sequence becomes \xNN (overlong forms,
 *    surrogates and values above U+10FFFF included), as
 *    decode("utf-8", "backslashreplace") writes it;
 *  - the bidirectional controls (U+061C, U+200E, U+200F, U+202A..U+202E,
 *    U+2066..U+2069) and the line and paragraph separators (U+2028, U+2029)
 *    become \uNNNN, so that text cannot reorder or break the line it is in;
 *  - everything else is copied: printable UTF-8 (é, CJK, emoji), and the
 *    backslash itself, which is not doubled. Ordinary names print as they
 *    are, and a repr's own escapes are not escaped twice; the price is that
 *    a name that spells "\x1b" looks like one that holds ESC. The JSON
 *    output keeps the exact text.
 *
 * The result is valid UTF-8 with no control character in it, and never
 * longer than 4 times the input.
 */
#ifndef PYSPY_TEXTESC_H
#define PYSPY_TEXTESC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "utf8.h"	/* the escapers' readers and writers use it too */

/*
 * s escaped into out. Returns the length written (without the NUL), or
 * -ENOSPC when it did not fit: out then holds as many whole characters and
 * escapes as fit, never part of one. out is NUL-terminated when outlen > 0;
 * outlen == 0 gives -ENOSPC.
 */
int textesc__str(const char *s, char *out, size_t outlen);

/*
 * The same, cut to at most cols characters of the result, each counted as
 * one column (a wide character counts one too): for a table cell. Cut
 * between whole characters and escapes, like a result that does not fit.
 */
int textesc__cols(const char *s, size_t cols, char *out, size_t outlen);

/* s escaped onto f, whatever its length. */
void textesc__fputs(const char *s, FILE *f);

/* Whether cp is one of the bidi controls or line separators above. */
bool textesc__reorders(uint32_t cp);


#endif
