/* SPDX-License-Identifier: BSD-2-Clause */
/* What the collector needs from the ELF file holding a CPython interpreter. */
#ifndef PYSPY_PYELF_H
#define PYSPY_PYELF_H

#include <stdbool.h>
#include <stdint.h>

struct py_elf {
	/* Symbol values (link-time addresses); 0 when absent. */
	uint64_t runtime;	/* _PyRuntime (3.7+) */
	uint64_t interp_head;	/* interp_head (2.7-3.6, .symtab only) */
	uint64_t tstate_current; /* _PyThreadState_Current (2.7-3.6) */
	uint64_t code_type;	/* PyCode_Type */
	uint64_t unicode_type;	/* PyUnicode_Type: str of 3.x */
	uint64_t string_type;	/* PyString_Type: str of 2.7 */
	uint64_t py_version;	/* Py_Version (3.11+) */
	/* Lowest PT_LOAD: runtime address = value + (map start - this). */
	uint64_t load_vaddr;
	uint64_t load_offset;
	bool dyn;		/* ET_DYN (PIE or shared library) */
	/* "X.Y.Z" strings found in the read-only data: PY_VERSION among them
	 * (the linker may have merged it into the tail of a longer string). */
	unsigned int nversions;
	struct {
		unsigned int major, minor, micro;
	} versions[8];
};

/* Reads symbols and the version string from an open ELF file. Returns 0,
 * -ENOENT when the file holds no CPython interpreter, or another negative
 * errno when the file is not a readable ELF. */
int py_elf__read(int fd, struct py_elf *out);

/* Parses "X.Y.Z" at the start of s (as in PY_VERSION); 0 or -EINVAL. */
int py_version__parse(const char *s, unsigned int *major, unsigned int *minor,
		      unsigned int *micro);

#endif
