/* SPDX-License-Identifier: BSD-2-Clause */
/* Just enough JSON writing for the profile formats: strings and numbers. */
#ifndef PYSPY_JSON_H
#define PYSPY_JSON_H

#include <stdio.h>

/*
 * Writes s as a quoted JSON string. Bytes that are not valid UTF-8 become
 * U+FFFD, so the file parses whatever the profiled process named things.
 */
void json__str(FILE *f, const char *s);
/* Writes a finite number with up to 15 significant digits; 0 for NaN / inf. */
void json__num(FILE *f, double v);

#endif
