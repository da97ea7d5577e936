/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The help, in pieces: `pyspy-bpf --help` puts them all together (README.md
 * quotes that text, so its layout stays as it is) and `pyspy-bpf CMD --help`
 * prints the command's own with the common options and the footer.
 */
#ifndef PYSPY_HELP_H
#define PYSPY_HELP_H

extern const char record_help[];
extern const char top_help[];
extern const char dump_help[];
extern const char completions_help[];
extern const char common_help[];
extern const char footer_help[];

#endif
