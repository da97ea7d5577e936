/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * user/elffile.c, the bounds-checked ELF reader, on synthetic images
 * (tests/common/elfgen.h) and hostile ones: truncated headers, tables past
 * the end, huge counts, section names without a NUL, broken notes and
 * debug links, then random corruption of a valid image (run under
 * `make SANITIZE=1 unit` for ASan/UBSan). Real files: test_elfsym.c.
 */
#include <elf.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "elffile.h"
#include "elfgen.h"
#include "rng.h"

static const uint8_t build_id[20] = { 0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5, 6,
				      7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };

/* A note: header, name "GNU" padded to 4, desc. */
static size_t note(uint8_t *out, uint32_t type, const void *desc, uint32_t descsz)
{
	Elf64_Nhdr nh = { .n_namesz = 4, .n_descsz = descsz, .n_type = type };

	memcpy(out, &nh, sizeof(nh));
	memcpy(out + sizeof(nh), "GNU", 4);
	memcpy(out + sizeof(nh) + 4, desc, descsz);
	return sizeof(nh) + 4 + gen_align(descsz, 4);
}

/* .text, a build-id note after another note, .gnu_debuglink, .bss. */
static uint8_t *sample(size_t *size)
{
	static const uint8_t text[64] = { 0x90 };
	static const char link[] = "libfoo.so.debug\0\x78\x56\x34\x12";
	static uint8_t notes[128];
	static const uint32_t abi[4] = { 0, 3, 2, 0 };
	size_t nl = note(notes, NT_GNU_ABI_TAG, abi, sizeof(abi));
	struct gen_sec secs[] = {
		{ ".text", SHT_PROGBITS, SHF_ALLOC | SHF_EXECINSTR, 0x1000, text, sizeof(text),
		  .align = 16 },
		{ ".note.gnu.build-id", SHT_NOTE, SHF_ALLOC, 0x200, notes, 0, .align = 4 },
		{ ".gnu_debuglink", SHT_PROGBITS, 0, 0, link, sizeof(link) - 1, .align = 4 },
		{ ".bss", SHT_NOBITS, SHF_ALLOC | SHF_WRITE, 0x3000, NULL, 0x100, .align = 8 },
	};

	nl += note(notes + nl, NT_GNU_BUILD_ID, build_id, sizeof(build_id));
	secs[1].size = nl;
	return elfgen(secs, 4, ET_DYN, size);
}

static void test_sections(void **state)
{
	struct elf_section s;
	struct elf_load l;
	struct elffile *ef;
	const uint8_t *d;
	size_t size, n;
	uint8_t *img = sample(&size), id[ELFFILE_BUILD_ID_MAX];
	const char *name;
	uint32_t crc;
	uint64_t va;

	(void)state;
	assert_int_equal(elffile__from_mem(img, size, true, &ef), 0);
	assert_int_equal(elffile__type(ef), ET_DYN);
	assert_int_equal(elffile__nsections(ef), 6);
	assert_int_equal(elffile__find_section(ef, ".text", &s), 0);
	assert_int_equal(s.index, 1);
	assert_string_equal(s.name, ".text");
	assert_int_equal(s.addr, 0x1000);
	d = elffile__section_data(ef, &s, &n);
	assert_non_null(d);
	assert_int_equal(n, 64);
	assert_int_equal(d[0], 0x90);
	/* a name's prefix or extension is not the name */
	assert_int_equal(elffile__find_section(ef, ".tex", &s), -ENOENT);
	assert_int_equal(elffile__find_section(ef, ".text.x", &s), -ENOENT);
	assert_int_equal(elffile__find_section(ef, ".bss", &s), 0);
	assert_null(elffile__section_data(ef, &s, &n));
	assert_int_equal(n, 0);
	assert_int_equal(elffile__section(ef, 6, &s), -ENOENT);

	assert_int_equal(elffile__build_id(ef, id), sizeof(build_id));
	assert_memory_equal(id, build_id, sizeof(build_id));
	assert_int_equal(elffile__debuglink(ef, &name, &crc), 0);
	assert_string_equal(name, "libfoo.so.debug");
	assert_int_equal(crc, 0x12345678);

	assert_int_equal(elffile__nloads(ef), 1);
	assert_int_equal(elffile__load(ef, 0, &l), 0);
	assert_int_equal(l.filesz, size);
	assert_int_equal(elffile__load(ef, 1, &l), -ENOENT);
	assert_int_equal(elffile__offset_to_vaddr(ef, 0x123, &va), 0);
	assert_int_equal(va, 0x123);
	assert_int_equal(elffile__offset_to_vaddr(ef, size, &va), -ENOENT);
	elffile__free(ef);
}

static void test_open_fd(void **state)
{
	struct elffile *ef;
	size_t size;
	uint8_t *img = sample(&size);
	int fd = memfd_create("elf", MFD_CLOEXEC);

	(void)state;
	assert_true(fd >= 0);
	/* empty, then the image */
	assert_int_equal(elffile__open_fd(fd, &ef), -ENOEXEC);
	assert_null(ef);
	assert_int_equal(write(fd, img, size), (ssize_t)size);
	assert_int_equal(elffile__open_fd(fd, &ef), 0);
	close(fd);
	assert_int_equal(elffile__nsections(ef), 6);
	elffile__free(ef);
	free(img);
	assert_true(elffile__open("/nonexistent/elf", &ef) < 0);
	/* a directory is no file */
	assert_int_equal(elffile__open("/", &ef), -ENOEXEC);
}

/* Header fields patched one at a time: each must be refused cleanly. */
static void test_bad_headers(void **state)
{
	static const struct {
		size_t off, len;
		uint64_t val;
	} bad[] = {
		{ EI_CLASS, 1, ELFCLASS32 }, { EI_DATA, 1, ELFDATA2MSB }, { 0, 1, 0x7e },
		{ 0x12, 2, EM_AARCH64 },
		{ GEN_E_SHOFF, 8, 1u << 30 },	  /* section table past the end */
		{ GEN_E_SHOFF, 8, UINT64_MAX - 8 }, /* and wrapping around */
		{ GEN_E_SHNUM, 2, 0xfffe },	  /* more sections than the file holds */
		{ GEN_E_SHENTSIZE, 2, 16 },	  /* entries smaller than a header */
		{ GEN_E_PHOFF, 8, UINT64_MAX },
		{ GEN_E_PHNUM, 2, 0xfffe },
	};
	struct elffile *ef;
	size_t size;
	uint8_t *img = sample(&size), *copy = malloc(size);

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memcpy(copy, img, size);
		memcpy(copy + bad[i].off, &bad[i].val, bad[i].len);
		assert_int_equal(elffile__from_mem(copy, size, false, &ef), -ENOEXEC);
		assert_null(ef);
	}
	/* truncated: every size below the header, then the section table
	 * (the image's end) cut off */
	for (size_t n = 0; n < size; n += n < 80 ? 1 : 7) {
		assert_int_equal(elffile__from_mem(img, n, false, &ef), -ENOEXEC);
		assert_null(ef);
	}
	/* extended numbering: e_shnum 0, section 0's sh_size huge */
	memcpy(copy, img, size);
	memset(copy + GEN_E_SHNUM, 0, 2);
	{
		uint64_t shoff, huge = UINT64_MAX / 2;

		memcpy(&shoff, copy + GEN_E_SHOFF, 8);
		memcpy(copy + shoff + offsetof(Elf64_Shdr, sh_size), &huge, 8);
	}
	assert_int_equal(elffile__from_mem(copy, size, false, &ef), -ENOEXEC);
	free(copy);
	free(img);
}

/* A name table whose last name runs into its end without a NUL. */
static void test_shstrtab_unterminated(void **state)
{
	struct elf_section s;
	struct elffile *ef;
	size_t size;
	uint8_t *img = sample(&size);
	uint64_t shoff;
	Elf64_Shdr sh;

	(void)state;
	memcpy(&shoff, img + GEN_E_SHOFF, 8);
	memcpy(&sh, img + shoff + 5 * sizeof(sh), sizeof(sh));
	/* ".shstrtab" is last: drop its NUL */
	sh.sh_size--;
	memcpy(img + shoff + 5 * sizeof(sh), &sh, sizeof(sh));
	assert_int_equal(elffile__from_mem(img, size, true, &ef), 0);
	assert_int_equal(elffile__find_section(ef, ".shstrtab", &s), -ENOENT);
	assert_int_equal(elffile__section(ef, 5, &s), 0);
	assert_string_equal(s.name, "");
	assert_int_equal(elffile__find_section(ef, ".text", &s), 0);
	elffile__free(ef);

	/* the name table's index out of range, or not a string table */
	img = sample(&size);
	memset(img + GEN_E_SHSTRNDX, 0x7f, 1);
	assert_int_equal(elffile__from_mem(img, size, true, &ef), 0);
	assert_int_equal(elffile__find_section(ef, ".text", &s), -ENOENT);
	assert_int_equal(elffile__section(ef, 1, &s), 0);
	assert_string_equal(s.name, "");
	elffile__free(ef);
}

/* Sections pointing past the end, notes and links cut short. */
static void test_bad_sections(void **state)
{
	struct elf_section s;
	struct elffile *ef;
	size_t size, n;
	uint8_t *img = sample(&size), id[ELFFILE_BUILD_ID_MAX];
	uint64_t shoff;
	const char *name;
	uint32_t crc;
	Elf64_Shdr sh;

	(void)state;
	memcpy(&shoff, img + GEN_E_SHOFF, 8);
	/* .text past the end; the note's size one byte short of the build-id */
	memcpy(&sh, img + shoff + 1 * sizeof(sh), sizeof(sh));
	sh.sh_size = size;
	memcpy(img + shoff + 1 * sizeof(sh), &sh, sizeof(sh));
	memcpy(&sh, img + shoff + 2 * sizeof(sh), sizeof(sh));
	sh.sh_size -= 1;
	memcpy(img + shoff + 2 * sizeof(sh), &sh, sizeof(sh));
	/* the debuglink without room for its CRC */
	memcpy(&sh, img + shoff + 3 * sizeof(sh), sizeof(sh));
	sh.sh_size = 18;
	memcpy(img + shoff + 3 * sizeof(sh), &sh, sizeof(sh));
	assert_int_equal(elffile__from_mem(img, size, true, &ef), 0);
	assert_int_equal(elffile__find_section(ef, ".text", &s), 0);
	assert_null(elffile__section_data(ef, &s, &n));
	assert_int_equal(elffile__build_id(ef, id), 0);
	assert_int_equal(elffile__debuglink(ef, &name, &crc), -ENOENT);
	elffile__free(ef);

	/* a note whose namesz and descsz claim 4 GiB */
	img = sample(&size);
	memcpy(&sh, img + shoff + 2 * sizeof(sh), sizeof(sh));
	memset(img + sh.sh_offset, 0xff, 8);
	assert_int_equal(elffile__from_mem(img, size, true, &ef), 0);
	assert_int_equal(elffile__build_id(ef, id), 0);
	elffile__free(ef);

	/* a debug link name without a NUL up to the section's end */
	img = sample(&size);
	memcpy(&sh, img + shoff + 3 * sizeof(sh), sizeof(sh));
	memset(img + sh.sh_offset, 'a', sh.sh_size);
	assert_int_equal(elffile__from_mem(img, size, true, &ef), 0);
	assert_int_equal(elffile__debuglink(ef, &name, &crc), -ENOENT);
	elffile__free(ef);
}

/* Notes in PT_NOTE segments when there are no section headers. */
static void test_segment_notes(void **state)
{
	uint8_t buf[512] = { 0 }, id[ELFFILE_BUILD_ID_MAX];
	Elf64_Ehdr eh = { 0 };
	Elf64_Phdr ph[2] = { { 0 } };
	struct elffile *ef;
	size_t nl;

	(void)state;
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_type = ET_EXEC;
	eh.e_machine = EM_X86_64;
	eh.e_phoff = sizeof(eh);
	eh.e_phentsize = sizeof(ph[0]);
	eh.e_phnum = 2;
	nl = note(buf + 256, NT_GNU_BUILD_ID, build_id, 8);
	ph[0] = (Elf64_Phdr){ .p_type = PT_NOTE, .p_offset = 256, .p_filesz = nl, .p_align = 4 };
	ph[1] = (Elf64_Phdr){ .p_type = PT_LOAD, .p_offset = 0, .p_vaddr = 0x400000,
			      .p_filesz = sizeof(buf), .p_memsz = 0x2000 };
	memcpy(buf, &eh, sizeof(eh));
	memcpy(buf + sizeof(eh), ph, sizeof(ph));
	assert_int_equal(elffile__from_mem(buf, sizeof(buf), false, &ef), 0);
	assert_int_equal(elffile__nsections(ef), 0);
	assert_int_equal(elffile__build_id(ef, id), 8);
	assert_memory_equal(id, build_id, 8);
	{
		uint64_t va;

		assert_int_equal(elffile__offset_to_vaddr(ef, 0x10, &va), 0);
		assert_int_equal(va, 0x400010);
	}
	elffile__free(ef);
}

struct note_walk {
	const uint8_t *img;
	size_t size;
	int n;
};

static int check_note(const struct elf_note *n, void *arg)
{
	struct note_walk *w = arg;
	const uint8_t *name = (const uint8_t *)n->name, *desc = n->desc;

	/* every note handed out lies inside the image */
	assert_true(name >= w->img && name + n->namesz <= w->img + w->size);
	assert_true(desc >= w->img && desc + n->descsz <= w->img + w->size);
	w->n++;
	return 0;
}

/* Random bytes flipped in a valid image: whatever opens answers within it. */
static void test_corruption(void **state)
{
	uint64_t r = 42;
	size_t size;
	uint8_t *img = sample(&size), *copy = malloc(size);

	(void)state;
	for (int round = 0; round < 20000; round++) {
		struct elffile *ef;
		struct elf_section s;
		const void *d;
		uint8_t id[ELFFILE_BUILD_ID_MAX];
		const char *name;
		uint32_t crc;
		size_t n;
		struct note_walk w = { copy, size, 0 };

		memcpy(copy, img, size);
		for (int k = 0, flips = 1 + (int)(xorshift64(&r) % 8); k < flips; k++)
			copy[xorshift64(&r) % size] = (uint8_t)xorshift64(&r);
		if (elffile__from_mem(copy, size, false, &ef))
			continue;
		for (unsigned int i = 0; i < elffile__nsections(ef); i++) {
			assert_int_equal(elffile__section(ef, i, &s), 0);
			assert_true(strlen(s.name) < ELFFILE_NAME_MAX);
			d = elffile__section_data(ef, &s, &n);
			if (d)
				assert_true((const uint8_t *)d >= copy &&
					    (const uint8_t *)d + n <= copy + size);
		}
		elffile__notes(ef, check_note, &w);
		assert_true(elffile__build_id(ef, id) <= ELFFILE_BUILD_ID_MAX);
		if (!elffile__debuglink(ef, &name, &crc))
			assert_true(name >= (const char *)copy &&
				    name + strlen(name) < (const char *)copy + size);
		elffile__free(ef);
	}
	free(copy);
	free(img);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sections),
		cmocka_unit_test(test_open_fd),
		cmocka_unit_test(test_bad_headers),
		cmocka_unit_test(test_shstrtab_unterminated),
		cmocka_unit_test(test_bad_sections),
		cmocka_unit_test(test_segment_notes),
		cmocka_unit_test(test_corruption),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
