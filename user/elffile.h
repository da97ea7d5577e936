/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * A bounds-checked reader of ELF64 x86-64 little-endian files: the
 * libraries and executables a target maps, their separate debug files, and
 * ELF images in memory (the decompressed MiniDebugInfo). Every file may be
 * hostile: each offset, size and count is checked against the image before
 * use; a pointer handed out always lies inside the image, with the size
 * that goes with it. Nothing here allocates in proportion to the input.
 *
 * Data pointers into the image carry no alignment: read structures through
 * memcpy. A file is read, never mapped (a file its owner truncates under a
 * mapping would fault the reader with SIGBUS), and only in part: its
 * headers, tables, symbol and string tables, notes, CFI (.eh_frame,
 * .eh_frame_hdr, .debug_frame) and .gnu_debugdata / .gnu_debuglink. The
 * bytes of other sections read as zeros; the image is reserved address
 * space, so they cost no memory.
 */
#ifndef PYSPY_ELFFILE_H
#define PYSPY_ELFFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct elffile;

/* The longest section name and GNU build-id handed out. */
#define ELFFILE_NAME_MAX 256
#define ELFFILE_BUILD_ID_MAX 64

struct elf_section {
	unsigned int index;
	const char *name;	/* "" when its name is out of bounds or unterminated */
	uint32_t type;		/* SHT_* */
	uint64_t flags;		/* SHF_* */
	uint64_t addr, offset, size, entsize, addralign;
	uint32_t link, info;
};

struct elf_load {		/* one PT_LOAD program header */
	uint64_t vaddr, offset, filesz, memsz;
	uint32_t flags;		/* PF_R / PF_W / PF_X */
};

struct elf_note {
	const char *name;	/* namesz bytes, not necessarily NUL-terminated */
	uint32_t namesz, type;
	const void *desc;
	uint32_t descsz;
};

/*
 * Maps an open regular file read-only (the fd stays the caller's) / opens
 * and maps path / wraps size bytes at buf (the caller keeps buf alive;
 * when owned, elffile__free() frees it with free()). Returns 0, -ENOEXEC
 * for anything but a well-formed ELF64 x86-64 little-endian header with
 * program and section tables inside the image, or another negative errno.
 * On failure an owned buf is freed too.
 */
int elffile__open_fd(int fd, struct elffile **out);
int elffile__open(const char *path, struct elffile **out);
int elffile__from_mem(const void *buf, size_t size, bool owned, struct elffile **out);
void elffile__free(struct elffile *ef);

/* The whole image. */
const void *elffile__image(const struct elffile *ef, size_t *size);
/* e_type: ET_EXEC, ET_DYN, ... */
uint16_t elffile__type(const struct elffile *ef);

/* Sections, by index (0 .. count-1) or by name (the first so named). Both
 * return 0 or -ENOENT. */
unsigned int elffile__nsections(const struct elffile *ef);
int elffile__section(const struct elffile *ef, unsigned int index, struct elf_section *out);
int elffile__find_section(const struct elffile *ef, const char *name, struct elf_section *out);
/* A section's bytes: NULL for SHT_NOBITS, an empty section or one that does
 * not lie inside the image. */
const void *elffile__section_data(const struct elffile *ef, const struct elf_section *s,
				  size_t *size);

/* The PT_LOAD program headers, in table order (0 .. count-1; 0 or -ENOENT). */
unsigned int elffile__nloads(const struct elffile *ef);
int elffile__load(const struct elffile *ef, unsigned int index, struct elf_load *out);
/* The link-time virtual address of a file offset (as a mapping's offset
 * plus the distance into it gives): 0, or -ENOENT when no PT_LOAD holds
 * the offset within its file size. */
int elffile__offset_to_vaddr(const struct elffile *ef, uint64_t offset, uint64_t *vaddr);

/*
 * Calls fn for every note of the SHT_NOTE sections, or of the PT_NOTE
 * segments when the file has no section headers, until fn returns
 * nonzero (which is then returned); a malformed note ends its section.
 */
typedef int (*elf_note_fn)(const struct elf_note *note, void *arg);
int elffile__notes(const struct elffile *ef, elf_note_fn fn, void *arg);
/* The NT_GNU_BUILD_ID bytes (at most ELFFILE_BUILD_ID_MAX): their count,
 * or 0 when there is none. */
size_t elffile__build_id(const struct elffile *ef, uint8_t id[ELFFILE_BUILD_ID_MAX]);
/* .gnu_debuglink: the debug file's name (a NUL-terminated string inside
 * the image) and the CRC32 of its contents; 0 or -ENOENT. */
int elffile__debuglink(const struct elffile *ef, const char **name, uint32_t *crc);

#endif
