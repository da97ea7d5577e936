// SPDX-License-Identifier: BSD-2-Clause
/*
 * Symbol tables (user/elfsym.c) built from hostile ELF images in memory,
 * .symtab, .dynsym and MiniDebugInfo (.gnu_debugdata decompressed with
 * liblzma, at most MINIDEBUG_MAX bytes); no debug files (no filesystem).
 * fuzz-sources: user/elffile.c user/elfsym.c user/elfdebug.c user/demangle.c
 * fuzz-libs: -llzma -lz -ldl
 *
 * An input starting with 'M' is instead the MiniDebugInfo's contents:
 * compressed here into the .gnu_debugdata of a minimal file, so that the
 * fuzzer reaches what a valid xz stream holds.
 *
 * Checked: elfsym__new() on an accepted image gives 0 or -ENOEXEC (another
 * e_type); lookups at each section's start, middle and end and at
 * addresses taken from the input answer a NUL-terminated name shorter
 * than DEMANGLE_OUT_MAX, or NULL; an offset never exceeds the address.
 * The input's first bytes also go through demangle() as a string.
 */
#include <elf.h>
#include <errno.h>
#include <lzma.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "demangle.h"
#include "elffile.h"
#include "elfsym.h"

static void lookup(struct elfsym *t, uint64_t a)
{
	uint64_t off = ~0ull;
	const char *s = elfsym__lookup(t, a, &off);

	if (s && (strlen(s) >= DEMANGLE_OUT_MAX || off > a))
		abort();
}

/* A file of a header, .gnu_debugdata (the xz stream) and .shstrtab. */
static uint8_t *wrap(const uint8_t *in, size_t n, size_t *size)
{
	static const char shstr[] = "\0.gnu_debugdata\0.shstrtab";
	size_t cap = lzma_stream_buffer_bound(n), xzlen = 0, off;
	Elf64_Ehdr eh = { .e_type = ET_DYN, .e_machine = EM_X86_64, .e_version = EV_CURRENT,
			  .e_ehsize = sizeof(eh), .e_shentsize = sizeof(Elf64_Shdr), .e_shnum = 3,
			  .e_shstrndx = 2 };
	Elf64_Shdr sh[3] = { { 0 } };
	uint8_t *out = malloc(sizeof(eh) + cap + sizeof(shstr) + 8 + sizeof(sh));
	lzma_options_lzma lz;
	/* the smallest dictionary: quick to set up on both sides */
	lzma_filter filters[] = { { LZMA_FILTER_LZMA2, &lz }, { LZMA_VLI_UNKNOWN, NULL } };

	if (!out || lzma_lzma_preset(&lz, 0))
		abort();
	lz.dict_size = LZMA_DICT_SIZE_MIN;
	if (lzma_stream_buffer_encode(filters, LZMA_CHECK_NONE, NULL, in, n, out + sizeof(eh),
				      &xzlen, cap) != LZMA_OK)
		abort();
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	off = sizeof(eh) + xzlen;
	sh[1] = (Elf64_Shdr){ .sh_name = 1, .sh_type = SHT_PROGBITS, .sh_offset = sizeof(eh),
			      .sh_size = xzlen, .sh_addralign = 1 };
	sh[2] = (Elf64_Shdr){ .sh_name = 16, .sh_type = SHT_STRTAB, .sh_offset = off,
			      .sh_size = sizeof(shstr), .sh_addralign = 1 };
	memcpy(out + off, shstr, sizeof(shstr));
	off = (off + sizeof(shstr) + 7) & ~(size_t)7;
	eh.e_shoff = off;
	memcpy(out, &eh, sizeof(eh));
	memcpy(out + off, sh, sizeof(sh));
	*size = off + sizeof(sh);
	return out;
}

static void tables(const uint8_t *img, size_t size, const uint8_t *data, size_t dsize)
{
	struct elfsym_opts opts = { .flags = ELFSYM_NO_DEBUG_FILE };
	struct elffile *ef;
	struct elfsym *t;
	int err;

	if (elffile__from_mem(img, size, false, &ef))
		return;
	err = elfsym__new(ef, &opts, &t);
	if (err) {
		if (err != -ENOEXEC && err != -ENOMEM)
			abort();
		elffile__free(ef);
		return;
	}
	for (unsigned int i = 0; i < elffile__nsections(ef) && i < 64; i++) {
		struct elf_section s;

		elffile__section(ef, i, &s);
		lookup(t, s.addr);
		lookup(t, s.addr + s.size / 2);
		lookup(t, s.addr + s.size - 1);
	}
	for (size_t k = 0; k + 8 <= dsize && k < 64 * 8; k += 8) {
		uint64_t a;

		memcpy(&a, data + k, 8);
		lookup(t, a & 0xffffff);
		lookup(t, a);
	}
	elfsym__free(t);
	elffile__free(ef);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char name[DEMANGLE_IN_MAX + 8];
	size_t n = size < sizeof(name) - 1 ? size : sizeof(name) - 1, isize;
	uint8_t *buf;
	char *d;

	if (size && data[0] == 'M') {
		buf = wrap(data + 1, size - 1, &isize);
		tables(buf, isize, data + 1, size - 1);
	} else {
		/* exactly the input's size: ASan sees any overread */
		buf = malloc(size ? size : 1);
		if (!buf)
			abort();
		memcpy(buf, data, size);
		tables(buf, size, data, size);
	}
	free(buf);

	memcpy(name, data, n);
	name[n] = 0;
	d = demangle(name);
	if (d && strlen(d) >= DEMANGLE_OUT_MAX)
		abort();
	free(d);
	return 0;
}
