/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * `pyspy-bpf completions SHELL`: a completion script for bash, zsh or fish,
 * made from the command table itself (each command's long options, their
 * short letters and the first line of their help), so that it cannot drift
 * from the options the program takes.
 */
#ifndef PYSPY_COMPLETIONS_H
#define PYSPY_COMPLETIONS_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct compl_cmd {
	const char *name;
	const char *summary;		/* one line: what the command does */
	const struct option *longopts;	/* terminated by an entry without a name */
	const char *help;		/* "  -x, --name ARG   text" lines */
	bool command;			/* takes -- COMMAND [ARG...] */
};

/* The shells a script can be made for, NULL-terminated. */
extern const char *const completions_shells[];

/*
 * Writes the script for shell to out: the commands (the first is the one
 * run when none is named), their options with descriptions from help or
 * common_help, and values where they are known (pids, formats, files).
 * Returns 0, or -EINVAL for a shell it does not know.
 */
int completions__write(FILE *out, const char *shell, const struct compl_cmd *cmds, size_t n,
		       const char *common_help);

#endif
