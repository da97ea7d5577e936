/* SPDX-License-Identifier: BSD-2-Clause */
#ifndef PYSPY_EXITCODE_H
#define PYSPY_EXITCODE_H

/* Exit statuses, one per kind of failure, so scripts can tell them apart. */
enum exit_status {
	EXIT_OK = 0,
	EXIT_FAILURE_ = 1,	/* runtime failure, or missing privileges */
	EXIT_USAGE = 2,
	EXIT_NO_PROCESS = 3,	/* the pid does not exist */
	EXIT_NOT_PYTHON = 4,	/* the pid runs no CPython pyspy-bpf can read */
	EXIT_OUTPUT = 5,	/* the output file cannot be created */
	EXIT_KERNEL = 6,	/* BPF / BTF / perf events unavailable */
};

#endif
