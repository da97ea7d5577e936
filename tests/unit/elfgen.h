/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Synthetic ELF64 x86-64 images for the ELF reader's tests: a header, one
 * PT_LOAD over the whole file, the sections given (index 1 on, in order),
 * the section name table last but one, then the section headers. Tests
 * break the result afterwards (header fields at their offsets, bytes).
 */
#ifndef TESTS_COMMON_ELFGEN_H
#define TESTS_COMMON_ELFGEN_H

#include <elf.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct gen_sec {
	const char *name;
	uint32_t type;
	uint64_t flags, addr;
	const void *data;
	size_t size;		/* of data, or of the SHT_NOBITS section */
	uint32_t link, info;	/* link: a section index (1 = the first given) */
	uint64_t entsize, align;
};

struct gen_sym {
	const char *name;
	uint64_t value, size;
	unsigned char bind, type;
	uint16_t shndx;
};

/* Offsets of the header fields tests break. */
#define GEN_E_PHOFF 0x20
#define GEN_E_SHOFF 0x28
#define GEN_E_PHNUM 0x38
#define GEN_E_SHENTSIZE 0x3a
#define GEN_E_SHNUM 0x3c
#define GEN_E_SHSTRNDX 0x3e

static inline size_t gen_align(size_t v, size_t a)
{
	return (v + a - 1) & ~(a - 1);
}

/* The image (malloc'ed) and its size; the section name table has index n + 1. */
static inline uint8_t *elfgen(const struct gen_sec *secs, size_t n, uint16_t type, size_t *size)
{
	size_t shstrsz = 1 + sizeof(".shstrtab"), off, shoff, i;
	Elf64_Ehdr eh = { 0 };
	Elf64_Phdr ph = { 0 };
	Elf64_Shdr *sh = calloc(n + 2, sizeof(*sh));
	uint8_t *img;
	char *shstr;

	for (i = 0; i < n; i++)
		shstrsz += strlen(secs[i].name) + 1;
	shstr = calloc(1, shstrsz);
	off = sizeof(eh) + sizeof(ph);
	shstrsz = 1;
	for (i = 0; i < n; i++) {
		off = gen_align(off, secs[i].align ? secs[i].align : 1);
		sh[i + 1] = (Elf64_Shdr){
			.sh_name = (uint32_t)shstrsz, .sh_type = secs[i].type,
			.sh_flags = secs[i].flags, .sh_addr = secs[i].addr, .sh_offset = off,
			.sh_size = secs[i].size, .sh_link = secs[i].link, .sh_info = secs[i].info,
			.sh_addralign = secs[i].align, .sh_entsize = secs[i].entsize,
		};
		strcpy(shstr + shstrsz, secs[i].name);
		shstrsz += strlen(secs[i].name) + 1;
		if (secs[i].type != SHT_NOBITS)
			off += secs[i].size;
	}
	strcpy(shstr + shstrsz, ".shstrtab");
	sh[n + 1] = (Elf64_Shdr){ .sh_name = (uint32_t)shstrsz, .sh_type = SHT_STRTAB,
				  .sh_offset = off, .sh_addralign = 1 };
	shstrsz += sizeof(".shstrtab");
	sh[n + 1].sh_size = shstrsz;
	off += shstrsz;
	shoff = gen_align(off, 8);
	*size = shoff + (n + 2) * sizeof(*sh);
	img = calloc(1, *size);

	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_ident[EI_VERSION] = EV_CURRENT;
	eh.e_type = type;
	eh.e_machine = EM_X86_64;
	eh.e_version = EV_CURRENT;
	eh.e_phoff = sizeof(eh);
	eh.e_shoff = shoff;
	eh.e_ehsize = sizeof(eh);
	eh.e_phentsize = sizeof(ph);
	eh.e_phnum = 1;
	eh.e_shentsize = sizeof(Elf64_Shdr);
	eh.e_shnum = (uint16_t)(n + 2);
	eh.e_shstrndx = (uint16_t)(n + 1);
	ph = (Elf64_Phdr){ .p_type = PT_LOAD, .p_flags = PF_R | PF_X, .p_offset = 0,
			   .p_vaddr = 0, .p_filesz = *size, .p_memsz = *size, .p_align = 0x1000 };
	memcpy(img, &eh, sizeof(eh));
	memcpy(img + sizeof(eh), &ph, sizeof(ph));
	for (i = 0; i < n; i++)
		if (secs[i].type != SHT_NOBITS && secs[i].size)
			memcpy(img + sh[i + 1].sh_offset, secs[i].data, secs[i].size);
	memcpy(img + sh[n + 1].sh_offset, shstr, shstrsz);
	memcpy(img + shoff, sh, (n + 2) * sizeof(*sh));
	free(shstr);
	free(sh);
	return img;
}

/* A symbol table (with its null symbol) and its string table, malloc'ed. */
static inline void gen_symtab(const struct gen_sym *syms, size_t n, Elf64_Sym **tab,
			      size_t *tabsize, char **str, size_t *strsize)
{
	size_t len = 1, i;

	for (i = 0; i < n; i++)
		len += strlen(syms[i].name) + 1;
	*tab = calloc(n + 1, sizeof(**tab));
	*str = calloc(1, len);
	len = 1;
	for (i = 0; i < n; i++) {
		(*tab)[i + 1] = (Elf64_Sym){
			.st_name = (uint32_t)len, .st_info = ELF64_ST_INFO(syms[i].bind, syms[i].type),
			.st_shndx = syms[i].shndx, .st_value = syms[i].value, .st_size = syms[i].size,
		};
		strcpy(*str + len, syms[i].name);
		len += strlen(syms[i].name) + 1;
	}
	*tabsize = (n + 1) * sizeof(**tab);
	*strsize = len;
}

#endif
