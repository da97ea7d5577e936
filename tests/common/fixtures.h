/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The unit tests' fixture files: where they are (PYSPY_FIXTURES, else
 * tests/fixtures from the repository's root) and the hex digits they
 * write bytes in.
 */
#ifndef TESTS_COMMON_FIXTURES_H
#define TESTS_COMMON_FIXTURES_H

#include <stdlib.h>

static inline const char *fixtures_dir(void)
{
	const char *d = getenv("PYSPY_FIXTURES");

	return d && *d ? d : "tests/fixtures";
}

/* A lower-case hex digit's value, -1 for anything else. */
static inline int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

#endif
