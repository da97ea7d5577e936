// SPDX-License-Identifier: BSD-2-Clause
/*
 * The ELF reader (user/elffile.c) on hostile images in memory: header,
 * section and program tables, section names and data, notes, the GNU
 * build-id, .gnu_debuglink, file offsets to virtual addresses.
 * fuzz-sources: user/elffile.c
 *
 * Checked: a refused image is -ENOEXEC; from an accepted one, every name,
 * data block, note, build-id and debug link lies inside the input, names
 * end within ELFFILE_NAME_MAX; a section found by name is so named; the
 * offset of a PT_LOAD maps into it.
 */
#include <elf.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "elffile.h"

static const uint8_t *lo, *hi;

static void inside(const void *p, size_t n)
{
	if ((const uint8_t *)p < lo || (const uint8_t *)p > hi || n > (size_t)(hi - (const uint8_t *)p))
		abort();
}

static int check_note(const struct elf_note *n, void *arg)
{
	inside(n->name, n->namesz);
	inside(n->desc, n->descsz);
	return ++*(unsigned int *)arg > 100000;
}

static void sections(const struct elffile *ef)
{
	static const char *const names[] = { ".text", ".symtab", ".dynsym", ".eh_frame",
					     ".gnu_debugdata", ".shstrtab", "" };
	struct elf_section s;
	const void *d;
	size_t n;

	for (unsigned int i = 0; i < elffile__nsections(ef); i++) {
		if (elffile__section(ef, i, &s) || s.index != i)
			abort();
		if (strnlen(s.name, ELFFILE_NAME_MAX) == ELFFILE_NAME_MAX)
			abort();
		if (*s.name)
			inside(s.name, strlen(s.name) + 1);
		d = elffile__section_data(ef, &s, &n);
		if (d)
			inside(d, n);
		else if (n)
			abort();
	}
	for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++)
		if (!elffile__find_section(ef, names[k], &s) && strcmp(s.name, names[k]))
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *buf = malloc(size ? size : 1), id[ELFFILE_BUILD_ID_MAX];
	struct elffile *ef;
	struct elf_load l;
	unsigned int notes = 0;
	const char *name;
	uint32_t crc;
	uint64_t va;
	int err;

	if (!buf)
		abort();
	/* an allocation of exactly the input's size: ASan sees any overread */
	memcpy(buf, data, size);
	lo = buf;
	hi = buf + size;
	err = elffile__from_mem(buf, size, false, &ef);
	if (err) {
		if (err != -ENOEXEC || ef)
			abort();
		free(buf);
		return 0;
	}
	sections(ef);
	elffile__notes(ef, check_note, &notes);
	if (elffile__build_id(ef, id) > ELFFILE_BUILD_ID_MAX)
		abort();
	if (!elffile__debuglink(ef, &name, &crc))
		inside(name, strlen(name) + 1);
	for (unsigned int i = 0; i < elffile__nloads(ef); i++) {
		if (elffile__load(ef, i, &l))
			abort();
		/* the first PT_LOAD holding an offset answers for it */
		if (l.filesz && !elffile__offset_to_vaddr(ef, l.offset, &va) && i == 0 &&
		    va != l.vaddr)
			abort();
	}
	elffile__free(ef);
	free(buf);
	return 0;
}
