/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * --native: what the BPF unwinder needs, and what names its frames.
 *
 * Every executable file a profiled process maps is registered once (by
 * device, inode, size and mtime): its CFI made into unwind rows (cfi.c) in
 * the native_rows map, found through native_pages, and its symbols read
 * (elfsym.c) for the names. Each process gets its executable mappings in
 * native_procs, which tie its addresses to those files. A frame comes back
 * as (file, link-time address): named by the file's own symbols, whatever
 * the process has mapped since.
 */
#ifndef PYSPY_NATIVE_H
#define PYSPY_NATIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "pyspy.h"

struct native;

/* Rows in the native_rows map by default: 32 MiB of tables. */
#define NATIVE_ROWS_DEFAULT (4u << 20)

/* The BPF maps the tables go to (sampler__native_maps()). */
struct native_maps {
	int procs_fd;
	int pages_fd;
	void *rows;		/* native_rows, mapped: nrows struct py_native_row */
	size_t nrows;
};

/* Why frames could not be unwound or named: counted for the summary. */
struct native_stats {
	uint64_t end[PY_NE__MAX];	/* samples by how the unwind ended */
	uint64_t unnamed;		/* frames no symbol covers (library+0x...) */
	uint64_t unknown_file;		/* frames of a file no longer known */
	uint64_t files;			/* files registered */
	uint64_t files_no_cfi;		/* of which: no usable .eh_frame / .debug_frame */
	uint64_t files_table_full;	/* of which: no room left in native_rows */
	uint64_t maps_dropped;		/* mappings past PY_NATIVE_MAPS in a process */
	uint64_t rows;			/* rows in use */
	uint64_t unmatched;		/* samples whose eval-loop frames and Python
					 * activations did not pair up */
};

int native__new(const struct native_maps *maps, struct native **out);
void native__free(struct native *n);

/* Reads pid's executable mappings, registers the files not seen yet and
 * sets the process's native_procs entry. */
int native__add_proc(struct native *n, pid_t pid);
void native__del_proc(struct native *n, pid_t pid);
/* A sample of pid ended on an address in no mapping (a library loaded
 * since): reads its mappings again, at most once a second. */
void native__maps_changed(struct native *n, pid_t pid, uint64_t now_ns);

/* A frame's name: function (or "library+0x1a2b"), the file's path as the
 * process mapped it, and its last component. */
struct native_name {
	const char *function;
	const char *path;
	const char *base;
	bool eval;		/* the interpreter's eval loop (one Python activation) */
	bool machinery;		/* the interpreter's call plumbing, hidden by default */
};

/* Names addr of file (py_native_frame); false when the file is unknown. */
bool native__name(struct native *n, uint32_t file, uint64_t addr, struct native_name *out);
/* The frame of addr of file, interned in a (remembered per aggregation);
 * *nn says what it is. A frame of no known file is a marker. */
struct agg;
struct frame;
const struct frame *native__frame(struct native *n, struct agg *a, uint32_t file, uint64_t addr,
				  struct native_name *nn);

const struct native_stats *native__stats(const struct native *n);
struct native_stats *native__stats_mut(struct native *n);

#endif
