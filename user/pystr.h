/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Python string and bytes contents, as read from a (possibly hostile)
 * target, into NUL-terminated UTF-8 for display. Pure functions: no
 * allocation, nothing read outside data[0 .. nchars * kind), nothing written
 * outside out[0 .. outlen).
 *
 * Common contract:
 *  - out is always NUL-terminated when outlen > 0, also on error;
 *  - on success the number of bytes written (excluding the NUL) is returned,
 *    at most INT_MAX;
 *  - -ENOSPC: the result did not fit; out holds the truncated result (cut
 *    between characters / escapes, never inside one) and is still valid
 *    UTF-8; outlen == 0 always gives -ENOSPC (no room for the NUL);
 *  - -EINVAL: bad kind, or NULL data / out with a non-zero size, or a size
 *    that overflows.
 * Data is read with memcpy: it need not be aligned. Code units are in host
 * byte order (the target's, on the same machine).
 */
#ifndef PYSPY_PYSTR_H
#define PYSPY_PYSTR_H

#include <stddef.h>

/*
 * A PEP 393 string: kind 1 (latin-1, which includes ASCII), 2 (UCS2) or 4
 * (UCS4); data holds nchars * kind bytes. Code points that UTF-8 cannot
 * carry (surrogates U+D800..U+DFFF, values > U+10FFFF) become U+FFFD, one
 * per code unit (2.7 narrow-build surrogate pairs are not joined). U+0000 is
 * copied as is: the return value, not strlen(), is the length.
 */
int pystr__decode(unsigned kind, const void *data, size_t nchars, char *out,
		  size_t outlen);

/*
 * A byte string (2.7 str, bytes): valid UTF-8 is copied, each byte that is
 * not part of a valid UTF-8 sequence becomes the four characters \xNN, which
 * is what Python's data.decode("utf-8", "backslashreplace") gives.
 */
int pystr__from_bytes(const void *data, size_t len, char *out, size_t outlen);

/*
 * repr() as Python 3 prints it: 'abc', "it's", 'tab\t', '\x00', '\u200b',
 * b'\xff'. Non-ASCII code points are kept when str.isprintable() says so
 * (Unicode database of the Python version named in pystr.c), else escaped as
 * \xNN, \uNNNN or \UNNNNNNNN; a kind 4 value > U+10FFFF (which no real str
 * holds) is escaped as \UNNNNNNNN too.
 *
 * When the repr does not fit, out gets as many whole characters / escapes as
 * fit followed by the closing quote and "...", e.g. 'abc'... and -ENOSPC is
 * returned; with less than 6 bytes (7 for bytes) of room it gets as much of
 * "..." as fits.
 */
int pystr__repr_str(unsigned kind, const void *data, size_t nchars, char *out,
		    size_t outlen);
int pystr__repr_bytes(const void *data, size_t len, char *out, size_t outlen);

#endif
