/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ELF files (py_elf__read()): synthetic ones in a memfd, garbage, and the
 * interpreters on this machine when present; PY_VERSION strings
 * (py_version__parse()).
 */
#include <elf.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "pyelf.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

struct elf_spec {
	const char *const *syms;
	const uint64_t *values;
	size_t nsyms;
	const char *rodata;
	size_t rodata_len;
	uint16_t type;		/* ET_DYN / ET_EXEC */
	uint32_t symtab;	/* SHT_DYNSYM / SHT_SYMTAB */
	bool no_load;
};

/* A memfd holding a minimal x86-64 ELF: one PT_LOAD, a symbol table, its
 * strings, .rodata and the section names. */
static int make_elf(const struct elf_spec *s)
{
	static const char shstr[] = "\0.symtab\0.strtab\0.rodata\0.shstrtab";
	char strtab[1024] = "";
	Elf64_Sym syms[16] = { { 0 } };
	Elf64_Ehdr eh = { 0 };
	Elf64_Phdr ph = { 0 };
	Elf64_Shdr sh[5] = { { 0 } };
	size_t strlen_ = 1, off, i;
	int fd = memfd_create("elf", MFD_CLOEXEC);

	assert_true(fd >= 0);
	assert_true(s->nsyms < ARRAY_SIZE(syms));
	for (i = 0; i < s->nsyms; i++) {
		syms[i + 1].st_name = strlen_;
		syms[i + 1].st_info = ELF64_ST_INFO(STB_GLOBAL, STT_OBJECT);
		syms[i + 1].st_shndx = 3;
		syms[i + 1].st_value = s->values[i];
		syms[i + 1].st_size = 8;
		memcpy(strtab + strlen_, s->syms[i], strlen(s->syms[i]) + 1);
		strlen_ += strlen(s->syms[i]) + 1;
	}
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_ident[EI_VERSION] = EV_CURRENT;
	eh.e_type = s->type;
	eh.e_machine = EM_X86_64;
	eh.e_version = EV_CURRENT;
	eh.e_phoff = s->no_load ? 0 : sizeof(eh);
	eh.e_ehsize = sizeof(eh);
	eh.e_phentsize = sizeof(ph);
	eh.e_phnum = s->no_load ? 0 : 1;
	eh.e_shentsize = sizeof(Elf64_Shdr);
	eh.e_shnum = 5;
	eh.e_shstrndx = 4;
	off = sizeof(eh) + (s->no_load ? 0 : sizeof(ph));
	sh[1] = (Elf64_Shdr){ .sh_name = 1, .sh_type = s->symtab, .sh_offset = off,
			      .sh_size = (s->nsyms + 1) * sizeof(Elf64_Sym), .sh_link = 2,
			      .sh_info = 1, .sh_entsize = sizeof(Elf64_Sym), .sh_addralign = 8 };
	off += sh[1].sh_size;
	sh[2] = (Elf64_Shdr){ .sh_name = 9, .sh_type = SHT_STRTAB, .sh_offset = off,
			      .sh_size = strlen_, .sh_addralign = 1 };
	off += strlen_;
	sh[3] = (Elf64_Shdr){ .sh_name = 17, .sh_type = SHT_PROGBITS, .sh_offset = off,
			      .sh_size = s->rodata_len, .sh_addralign = 1 };
	off += s->rodata_len;
	sh[4] = (Elf64_Shdr){ .sh_name = 25, .sh_type = SHT_STRTAB, .sh_offset = off,
			      .sh_size = sizeof(shstr), .sh_addralign = 1 };
	off += sizeof(shstr);
	off = (off + 7) & ~(size_t)7;
	eh.e_shoff = off;
	ph = (Elf64_Phdr){ .p_type = PT_LOAD, .p_flags = PF_R, .p_offset = 0,
			   .p_vaddr = s->type == ET_EXEC ? 0x400000 : 0,
			   .p_filesz = off, .p_memsz = off, .p_align = 0x1000 };
	assert_int_equal(write(fd, &eh, sizeof(eh)), sizeof(eh));
	if (!s->no_load)
		assert_int_equal(write(fd, &ph, sizeof(ph)), sizeof(ph));
	assert_int_equal(write(fd, syms, sh[1].sh_size), sh[1].sh_size);
	assert_int_equal(write(fd, strtab, strlen_), strlen_);
	assert_int_equal(write(fd, s->rodata, s->rodata_len), s->rodata_len);
	assert_int_equal(write(fd, shstr, sizeof(shstr)), sizeof(shstr));
	assert_int_equal(pwrite(fd, sh, sizeof(sh), off), sizeof(sh));
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	return fd;
}

static void test_elf_synthetic(void **state)
{
	static const char *const py3[] = { "_PyRuntime", "PyCode_Type", "Py_Version" };
	static const uint64_t v3[] = { 0x4000, 0x5000, 0x6000 };
	static const char *const py2[] = { "interp_head", "_PyThreadState_Current" };
	static const uint64_t v2[] = { 0x4100, 0x4200 };
	static const char rodata3[] = "\0abc\0/build/Python-3.7.16\0" "3.12.1+\0" "3.12.1\0" "13.9.9\0" "3.7.1 x\0";
	static const char rodata2[] = "\0" "2.7.18\0";
	struct elf_spec s = { py3, v3, 3, rodata3, sizeof(rodata3), ET_DYN, SHT_DYNSYM, false };
	struct py_elf e;
	int fd;

	(void)state;
	fd = make_elf(&s);
	assert_int_equal(py_elf__read(fd, &e), 0);
	close(fd);
	assert_true(e.runtime == 0x4000 && e.code_type == 0x5000 && e.py_version == 0x6000);
	assert_true(e.dyn);
	/* 3.7.16 (merged into a path), 3.12.1 once; not "13.9.9" (a longer
	 * number) nor "3.7.1 x" (more than a suffix) */
	assert_int_equal(e.nversions, 2);
	assert_int_equal(e.versions[0].minor, 7);
	assert_int_equal(e.versions[1].minor, 12);
	assert_int_equal(e.versions[1].micro, 1);

	s = (struct elf_spec){ py2, v2, 2, rodata2, sizeof(rodata2), ET_EXEC, SHT_SYMTAB, false };
	fd = make_elf(&s);
	assert_int_equal(py_elf__read(fd, &e), 0);
	close(fd);
	assert_true(e.interp_head == 0x4100 && e.tstate_current == 0x4200 && !e.runtime);
	assert_false(e.dyn);
	assert_int_equal(e.load_vaddr, 0x400000);
	assert_int_equal(e.nversions, 1);

	/* no interpreter symbols: -ENOENT; no PT_LOAD: -ENOEXEC */
	s = (struct elf_spec){ py3 + 1, v3 + 1, 2, rodata2, sizeof(rodata2), ET_DYN, SHT_DYNSYM,
			       false };
	fd = make_elf(&s);
	assert_int_equal(py_elf__read(fd, &e), -ENOENT);
	close(fd);
	s = (struct elf_spec){ py3, v3, 3, rodata2, sizeof(rodata2), ET_DYN, SHT_DYNSYM, true };
	fd = make_elf(&s);
	assert_int_equal(py_elf__read(fd, &e), -ENOEXEC);
	close(fd);
}

/* .rodata comes from any file a process maps under a name with "python" in
 * it: 4 MiB of "x3." (a version start every 3 bytes, no NUL) once took
 * minutes to scan (quadratic), 64 MiB days. */
static void test_elf_rodata_scan_linear(void **state)
{
	static const char *const py3[] = { "_PyRuntime" };
	static const uint64_t v3[] = { 0x4000 };
	size_t n = 4u << 20;
	char *ro = malloc(n);
	struct elf_spec s = { py3, v3, 1, ro, n, ET_DYN, SHT_DYNSYM, false };
	struct timespec a, b;
	struct py_elf e;
	double took;
	int fd;

	(void)state;
	assert_non_null(ro);
	ro[0] = 0;
	for (size_t i = 1; i + 3 < n; i += 3)
		memcpy(ro + i, "x3.", 3);
	/* a real version at the very end of the section */
	memcpy(ro + n - 8, "\0" "3.9.1\0", 7);
	ro[n - 1] = 0;
	fd = make_elf(&s);
	/* CPU time, which a busy machine does not stretch: the scan is linear. */
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &a);
	assert_int_equal(py_elf__read(fd, &e), 0);
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &b);
	close(fd);
	free(ro);
	took = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
	print_message("  4 MiB .rodata scanned in %.3f s of CPU\n", took);
	assert_true(took < 2.0);
	assert_int_equal(e.nversions, 1);
	assert_int_equal(e.versions[0].minor, 9);
}

static void test_elf_garbage(void **state)
{
	uint8_t buf[4096];
	struct py_elf e;
	int fd = memfd_create("garbage", MFD_CLOEXEC);
	unsigned int seed = 7;

	(void)state;
	assert_true(fd >= 0);
	/* empty, text, an ELF magic on garbage: never 0 */
	assert_int_equal(py_elf__read(fd, &e), -ENOEXEC);
	assert_int_equal(write(fd, "hello", 5), 5);
	assert_int_equal(py_elf__read(fd, &e), -ENOEXEC);
	for (int round = 0; round < 200; round++) {
		for (size_t i = 0; i < sizeof(buf); i++)
			buf[i] = (uint8_t)(rand_r(&seed) >> 8);
		memcpy(buf, ELFMAG "\x02\x01\x01", 7);
		assert_int_equal(ftruncate(fd, 0), 0);
		assert_int_equal(pwrite(fd, buf, 64 + round * 16, 0), 64 + round * 16);
		assert_true(py_elf__read(fd, &e) < 0);
	}
	close(fd);
}

/* The interpreters on this machine, when they are here. */
static void test_elf_real(void **state)
{
	static const struct {
		const char *path;
		unsigned int minor;
	} files[] = {
		{ "/usr/bin/python3.11", 11 },
		{ "/opt/python/3.12.1/lib/libpython3.12.so.1.0", 12 },
		{ "/opt/python/2.7.18/lib/libpython2.7.so.1.0", 7 },
	};
	int tested = 0;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		struct py_elf e;
		bool seen = false;
		FILE *f = fopen(files[i].path, "rb");

		if (!f)
			continue;
		assert_int_equal(py_elf__read(fileno(f), &e), 0);
		fclose(f);
		assert_true(e.code_type != 0);
		assert_true(files[i].minor == 7 ? e.interp_head != 0 : e.runtime != 0);
		for (unsigned int k = 0; k < e.nversions; k++)
			seen |= e.versions[k].minor == files[i].minor;
		assert_true(seen);
		tested++;
	}
	if (!tested)
		skip();
}

static void test_version_parse(void **state)
{
	static const struct {
		const char *s;
		int err;
		unsigned int a, b, c;
	} cases[] = {
		{ "3.12.1", 0, 3, 12, 1 },   { "2.7.18", 0, 2, 7, 18 },
		{ "3.13.0rc1", 0, 3, 13, 0 }, { "3.9.2+", 0, 3, 9, 2 },
		{ .s = "3.12", .err = -EINVAL },    { .s = "3.12.", .err = -EINVAL },
		{ .s = "4.0.0", .err = -EINVAL },   { .s = "1.5.2", .err = -EINVAL },
		{ .s = "3..1", .err = -EINVAL },    { .s = "", .err = -EINVAL },
		{ .s = "3.1234.1", .err = -EINVAL }, { "03.12.1", 0, 3, 12, 1 },
		{ "3.999.999", 0, 3, 999, 999 },
	};
	unsigned int a, b, c;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		int err = py_version__parse(cases[i].s, &a, &b, &c);

		print_message("  '%s': %d\n", cases[i].s, err);
		if (cases[i].err) {
			assert_int_equal(err, cases[i].err);
			continue;
		}
		assert_int_equal(err, 0);
		assert_int_equal(a, cases[i].a);
		assert_int_equal(b, cases[i].b);
		assert_int_equal(c, cases[i].c);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_elf_synthetic),
		cmocka_unit_test(test_elf_rodata_scan_linear),
		cmocka_unit_test(test_elf_garbage),
		cmocka_unit_test(test_elf_real),
		cmocka_unit_test(test_version_parse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
