/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * An ELF core dump (x86-64) as a stopped process: its threads (NT_PRSTATUS),
 * its file mappings (NT_FILE), its command line (NT_PRPSINFO) and its
 * memory (PT_LOAD segments, and the mapped files for what the core left
 * out). The core is hostile input: every count and length in it is bounded.
 */
#ifndef PYSPY_COREDUMP_H
#define PYSPY_COREDUMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Threads read from one core, at most. */
#define CORE_MAX_THREADS 65536
/* PT_LOAD segments and NT_FILE mappings, at most each. */
#define CORE_MAX_SEGMENTS (1u << 20)
/* Bytes of one note's contents kept (NT_FILE of a large process is the
 * longest: about 100 bytes per mapping). */
#define CORE_MAX_NOTE (64u << 20)
/* Bytes of the command line kept. */
#define CORE_CMDLINE_MAX 4096

struct core_thread {
	int tid;		/* pr_pid of NT_PRSTATUS */
	uint64_t fs_base;	/* the thread pointer: pthread_self() */
	bool in_syscall;	/* stopped inside a system call (orig_rax set) */
	int cursig;		/* the signal that stopped it, 0 if none */
};

struct core_mapping {
	uint64_t start, end;
	uint64_t offset;	/* in the file, in bytes */
	const char *path;	/* as the process saw it */
};

struct core;

/* How the parser reads the core's bytes: exactly len at off; 0 or negative
 * errno (-EIO past the end). */
typedef int (*core_read_fn)(void *ctx, uint64_t off, void *buf, size_t len);

/*
 * Parses a core held by rd (size bytes). Returns 0 and a new core in *out,
 * or -EINVAL (not a core this can read) / -ENOMEM / a read's error, with
 * the reason in why. The core keeps rd and ctx for reads of its memory.
 */
int core__parse(core_read_fn rd, void *ctx, uint64_t size, struct core **out, char *why,
		size_t whylen);
/* core__parse() of a file; -ENOENT and the like when it cannot be opened. */
int core__open(const char *path, struct core **out, char *why, size_t whylen);
void core__free(struct core *c);
/* Reads never open the mapped files (the fuzz target's cores name any). */
void core__no_files(struct core *c);

int core__pid(const struct core *c);
/* The command line, arguments joined by spaces: from the process's stack
 * (argv) when it is there, else as the kernel or gdb saved it (the first
 * 80 bytes; gdb's holds the program alone), else the program's name. */
const char *core__cmdline(const struct core *c);
/* The program's name (pr_fname, at most 15 characters). */
const char *core__comm(const struct core *c);
/* The mapping holding the program's entry point (AT_ENTRY), or NULL. */
const struct core_mapping *core__exe(const struct core *c);
size_t core__nthreads(const struct core *c);
/* Threads of the core not kept: past CORE_MAX_THREADS (or no memory). */
size_t core__threads_left_out(const struct core *c);
const struct core_thread *core__thread(const struct core *c, size_t i);
size_t core__nmappings(const struct core *c);
const struct core_mapping *core__mapping(const struct core *c, size_t i);

/*
 * Reads exactly len bytes of the process's memory at addr: from the core's
 * segments, else (a file-backed range the core left out) from the file
 * mapped there, when it is the file the process had. 0, -EFAULT when some
 * byte is in neither, or another negative errno.
 */
int core__read(struct core *c, uint64_t addr, void *buf, size_t len);
/*
 * Is the file mapped by m (opened as fd) the one the process had? Compares
 * the bytes the core holds of its mapping at file offset 0 with the file's
 * (the kernel keeps the first page of every ELF file it maps: the ELF and
 * program headers, and the build id after them). 0, -ENOENT when the core
 * holds none of them, -ESTALE when they differ.
 */
int core__check_file(struct core *c, const struct core_mapping *m, int fd);

#endif
