/* SPDX-License-Identifier: BSD-2-Clause */
/* Messages to stderr: lowercase, subject quoted, no full stop. */
#ifndef PYSPY_LOG_H
#define PYSPY_LOG_H

extern int log_verbose;

void pr_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void pr_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void pr_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
