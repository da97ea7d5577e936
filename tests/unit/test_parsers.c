/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The parsers of untrusted bytes that had no unit test: /proc/PID/maps
 * lines, the ring-buffer stack record, the protobuf reader, ELF files
 * (synthetic ones in a memfd, and the interpreters on this machine when
 * present), PY_VERSION strings, the hash table everything is keyed by,
 * py-spy's file name shortening, and the string / bytes object readers
 * given a layout taken from a hostile _Py_DebugOffsets block.
 * No privileges needed. Fixtures dir: $PYSPY_FIXTURES, default tests/fixtures.
 */
#include <elf.h>
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "hashmap.h"
#include "offsets.h"
#include "paths.h"
#include "procmaps.h"
#include "protobuf.h"
#include "pyelf.h"
#include "sampler.h"
#include "stack.h"
#include "symcache.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* ------------------------------------------------------------ procmaps */

static void test_maps_lines(void **state)
{
	static const struct {
		const char *line;
		int err;
		uint64_t start, end, offset;
		const char *perms, *path;
	} cases[] = {
		{ "55a12f816000-55a12f818000 r--p 00000000 fe:00 247134"
		  "                     /usr/bin/python3.11\n", 0,
		  0x55a12f816000, 0x55a12f818000, 0, "r--p", "/usr/bin/python3.11" },
		{ "7f3c1a200000-7f3c1a5f0000 r-xp 00096000 08:01 1311234 "
		  "/usr/lib/libpython3.12.so.1.0", 0,
		  0x7f3c1a200000, 0x7f3c1a5f0000, 0x96000, "r-xp", "/usr/lib/libpython3.12.so.1.0" },
		/* anonymous: nothing after the inode, with or without a space */
		{ "7f0000000000-7f0000001000 rw-p 00000000 00:00 0 \n", 0,
		  0x7f0000000000, 0x7f0000001000, 0, "rw-p", "" },
		{ "7f0000000000-7f0000001000 rw-p 00000000 00:00 0", 0,
		  0x7f0000000000, 0x7f0000001000, 0, "rw-p", "" },
		{ "7ffd4f9e2000-7ffd4fa03000 rw-p 00000000 00:00 0   [stack]\n", 0,
		  0x7ffd4f9e2000, 0x7ffd4fa03000, 0, "rw-p", "[stack]" },
		/* spaces and a (deleted) suffix belong to the path */
		{ "1000-2000 r-xs 0 103:02 12 /home/u/a dir/python3 (deleted)\n", 0,
		  0x1000, 0x2000, 0, "r-xs", "/home/u/a dir/python3 (deleted)" },
		{ "ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0 [vsyscall]", 0,
		  0xffffffffff600000, 0xffffffffff601000, 0, "--xp", "[vsyscall]" },
		/* 16 hex digits is the most a 64-bit value has */
		{ "0-ffffffffffffffff r--p ffffffffffffffff 00:00 18446744073709551615 /x", 0,
		  0, UINT64_MAX, UINT64_MAX, "r--p", "/x" },
		{ .line = "0-1ffffffffffffffff r--p 0 00:00 0 /x", .err = -EINVAL },
		{ .line = "0-1000 r--p 0 00:00 18446744073709551616 /x", .err = -EINVAL },	/* inode overflow */
		{ .line = "2000-1000 r--p 0 00:00 0 /x", .err = -EINVAL },	/* start >= end */
		{ .line = "1000-1000 r--p 0 00:00 0 /x", .err = -EINVAL },
		{ .line = "1000-2000 rwxq 0 00:00 0 /x", .err = -EINVAL },	/* bad perms */
		{ .line = "1000-2000 r--p", .err = -EINVAL },
		{ .line = "1000-2000 r--p 0 00:00", .err = -EINVAL },
		{ .line = "1000-2000 r--p 0 0000 0 /x", .err = -EINVAL },
		{ .line = "-1000-2000 r--p 0 00:00 0 /x", .err = -EINVAL },
		{ .line = "0x1000-0x2000 r--p 0 00:00 0 /x", .err = -EINVAL },
		{ .line = "1000-2000 r--p 0 00:00 12x /x", .err = -EINVAL },
		{ .line = "", .err = -EINVAL },
		{ .line = "\n", .err = -EINVAL },
		{ .line = "garbage", .err = -EINVAL },
	};
	struct maps_entry e;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		size_t len = strlen(cases[i].line);
		char *copy = malloc(len + 1);	/* exactly sized: ASan sees overreads */
		int err;

		assert_non_null(copy);
		memcpy(copy, cases[i].line, len);
		err = maps__parse_line(copy, len, &e);
		print_message("  '%s': %d\n", cases[i].line, err);
		assert_int_equal(err, cases[i].err);
		if (!err) {
			assert_true(e.start == cases[i].start);
			assert_true(e.end == cases[i].end);
			assert_true(e.offset == cases[i].offset);
			assert_string_equal(e.perms, cases[i].perms);
			assert_int_equal(e.pathlen, strlen(cases[i].path));
			assert_memory_equal(e.path, cases[i].path, e.pathlen);
		}
		free(copy);
	}
	/* A NUL inside the path ends it; a line cut short still parses. */
	assert_int_equal(maps__parse_line("1000-2000 r--p 0 00:00 0 /ab\0cd\n", 32, &e), 0);
	assert_int_equal(e.pathlen, 3);
	assert_int_equal(maps__parse_line("1000-2000 r--p 0 00:00 0 /abcdef", 28, &e), 0);
	assert_int_equal(e.pathlen, 3);
	assert_int_equal(maps__parse_line(NULL, 0, &e), -EINVAL);
}

/* This process's own maps: every line parses, and one maps this binary. */
static void test_maps_self(void **state)
{
	char line[8192], exe[4096];
	struct maps_entry e;
	bool found = false;
	ssize_t n;
	FILE *f;

	(void)state;
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	assert_true(n > 0);
	exe[n] = 0;
	f = fopen("/proc/self/maps", "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		assert_int_equal(maps__parse_line(line, strlen(line), &e), 0);
		if (e.pathlen == (size_t)n && !memcmp(e.path, exe, e.pathlen))
			found = true;
	}
	fclose(f);
	assert_true(found);
}

/* -------------------------------------------------------- stack records */

static void test_decode_stack(void **state)
{
	size_t full = sizeof(struct py_stack_hdr) + 3 * sizeof(struct py_frame_rec);
	const struct py_stack_hdr *h;
	const struct py_frame_rec *f;
	struct py_stack_hdr *rec;
	uint8_t *buf = calloc(1, full);

	(void)state;
	assert_non_null(buf);
	rec = (struct py_stack_hdr *)buf;
	rec->kind = PY_REC_STACK;
	rec->nframes = 3;
	assert_int_equal(record__decode_stack(buf, full, &h, &f), 0);
	assert_ptr_equal(h, buf);
	assert_ptr_equal(f, buf + sizeof(*rec));
	/* one byte short of the frames it announces */
	assert_int_equal(record__decode_stack(buf, full - 1, &h, &f), -EINVAL);
	/* shorter than a header */
	assert_int_equal(record__decode_stack(buf, sizeof(*rec) - 1, &h, &f), -EINVAL);
	assert_int_equal(record__decode_stack(buf, 0, &h, &f), -EINVAL);
	/* more frames than any record holds, even if the size "matches" */
	rec->nframes = PY_MAX_FRAMES + 1;
	assert_int_equal(record__decode_stack(buf, full, &h, &f), -EINVAL);
	rec->nframes = UINT32_MAX;	/* nframes * 16 must not wrap */
	assert_int_equal(record__decode_stack(buf, full, &h, &f), -EINVAL);
	rec->nframes = 0;
	assert_int_equal(record__decode_stack(buf, sizeof(*rec), &h, &f), 0);
	rec->kind = PY_REC_EXIT;
	assert_int_equal(record__decode_stack(buf, full, &h, &f), -EINVAL);
	free(buf);
}

/* ------------------------------------------------------------- protobuf */

static int read1(const uint8_t *b, size_t n, uint64_t *v, size_t *used)
{
	uint8_t *copy = malloc(n ? n : 1);
	struct pb_reader r = { copy, copy + n };
	int err;

	assert_non_null(copy);
	memcpy(copy, b, n);
	err = pb__read_varint(&r, v);
	*used = (uintptr_t)r.p - (uintptr_t)copy;
	free(copy);
	return err;
}

static void test_pb_varint(void **state)
{
	static const struct {
		const char *bytes;
		size_t n;
		int err;
		uint64_t v;
	} cases[] = {
		{ "\x00", 1, 0, 0 },
		{ "\x7f", 1, 0, 127 },
		{ "\x80\x01", 2, 0, 128 },
		{ "\x96\x01", 2, 0, 150 },
		{ "\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 10, 0, UINT64_MAX },
		/* a tenth byte carrying more than the 64th bit */
		{ "\xff\xff\xff\xff\xff\xff\xff\xff\xff\x02", 10, -EBADMSG, 0 },
		/* eleven bytes */
		{ "\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x00", 11, -EBADMSG, 0 },
		{ "\x80", 1, -EBADMSG, 0 },
		{ "", 0, -EBADMSG, 0 },
		/* non-minimal but valid: 0 in two bytes */
		{ "\x80\x00", 2, 0, 0 },
	};
	uint64_t v;
	size_t used, i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		v = 0xdead;
		assert_int_equal(read1((const uint8_t *)cases[i].bytes, cases[i].n, &v, &used),
				 cases[i].err);
		if (!cases[i].err) {
			assert_true(v == cases[i].v);
			assert_int_equal(used, cases[i].n);
		}
	}
}

static int next_all(const uint8_t *b, size_t n, struct pb_field *last, int *count)
{
	struct pb_reader r = { b, b + n };
	int err;

	*count = 0;
	while ((err = pb__next(&r, last)) == 1)
		(*count)++;
	return err;
}

static void test_pb_fields(void **state)
{
	struct pb_buf b = { 0 };
	struct pb_field f;
	uint64_t packed[] = { 1, 300, UINT64_MAX };
	int count;

	(void)state;
	pb__uint(&b, 1, 150);
	pb__bytes(&b, 2, "abc", 3);
	pb__packed(&b, 3, packed, 3);
	pb__uint_nz(&b, 4, 0);	/* left out */
	pb__tag(&b, 5, PB_I64);
	for (int i = 0; i < 8; i++)
		pb__varint(&b, 0x11);	/* one byte each */
	pb__tag(&b, 6, PB_I32);
	for (int i = 0; i < 4; i++)
		pb__varint(&b, 0x22);
	assert_int_equal(b.err, 0);
	assert_int_equal(next_all(b.data, b.len, &f, &count), 0);
	assert_int_equal(count, 5);
	assert_int_equal(f.num, 6);
	assert_true(f.v == 0x22222222);

	/* field number 0, a length past the end, a wire type 3 / 4 / 6 / 7 */
	assert_int_equal(next_all((const uint8_t *)"\x00\x01", 2, &f, &count), -EBADMSG);
	assert_int_equal(next_all((const uint8_t *)"\x12\x05" "ab", 4, &f, &count), -EBADMSG);
	assert_int_equal(next_all((const uint8_t *)"\x12\xff\xff\xff\xff\xff\xff\xff\xff\x7f",
				  10, &f, &count), -EBADMSG);
	assert_int_equal(next_all((const uint8_t *)"\x0b", 1, &f, &count), -EBADMSG);
	assert_int_equal(next_all((const uint8_t *)"\x0c", 1, &f, &count), -EBADMSG);
	assert_int_equal(next_all((const uint8_t *)"\x0e", 1, &f, &count), -EBADMSG);
	assert_int_equal(next_all((const uint8_t *)"\x0f", 1, &f, &count), -EBADMSG);
	/* fixed-width fields cut short */
	assert_int_equal(next_all((const uint8_t *)"\x09\x01\x02", 3, &f, &count), -EBADMSG);
	assert_int_equal(next_all((const uint8_t *)"\x0d\x01", 2, &f, &count), -EBADMSG);
	/* a field number above 32 bits */
	assert_int_equal(next_all((const uint8_t *)"\x80\x80\x80\x80\x80\x01\x00", 7, &f, &count),
			 -EBADMSG);
	assert_int_equal(next_all(NULL, 0, &f, &count), 0);
	pb__free(&b);
}

/* ------------------------------------------------------------------ ELF */

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
	clock_gettime(CLOCK_MONOTONIC, &a);
	assert_int_equal(py_elf__read(fd, &e), 0);
	clock_gettime(CLOCK_MONOTONIC, &b);
	close(fd);
	free(ro);
	took = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
	print_message("  4 MiB .rodata scanned in %.3f s\n", took);
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

/* -------------------------------------------------------------- hashmap */

static void test_hashmap_model(void **state)
{
	enum { KEYS = 300 };
	static uintptr_t model[KEYS];
	struct hashmap *m = hashmap__new();
	unsigned int seed = 1;
	size_t size = 0, pos, n;
	uint64_t key;
	void *v;

	(void)state;
	assert_non_null(m);
	assert_int_equal(hashmap__put(m, 1, NULL), -EINVAL);
	memset(model, 0, sizeof(model));
	for (int step = 0; step < 200000; step++) {
		/* few keys, many deletes: long probe runs that wrap around */
		uint64_t k = (uint64_t)(rand_r(&seed) % KEYS);
		uintptr_t val = (uintptr_t)step + 1;

		switch (rand_r(&seed) % 3) {
		case 0:
			assert_int_equal(hashmap__put(m, k * 0x100000000ULL, (void *)val), 0);
			size += !model[k];
			model[k] = val;
			break;
		case 1:
			assert_ptr_equal(hashmap__del(m, k * 0x100000000ULL), (void *)model[k]);
			size -= !!model[k];
			model[k] = 0;
			break;
		default:
			assert_ptr_equal(hashmap__get(m, k * 0x100000000ULL), (void *)model[k]);
		}
		assert_int_equal(hashmap__size(m), size);
	}
	for (uint64_t k = 0; k < KEYS; k++)
		assert_ptr_equal(hashmap__get(m, k * 0x100000000ULL), (void *)model[k]);
	pos = 0;
	n = 0;
	while (hashmap__next(m, &pos, &key, &v)) {
		assert_true(key % 0x100000000ULL == 0 && key / 0x100000000ULL < KEYS);
		assert_ptr_equal(v, (void *)model[key / 0x100000000ULL]);
		n++;
	}
	assert_int_equal(n, size);
	hashmap__free(m);
	hashmap__free(NULL);
}

static void test_hash_bytes(void **state)
{
	(void)state;
	assert_true(hash_bytes("abc", 3, 0) == hash_bytes("abc", 3, 0));
	assert_true(hash_bytes("abc", 3, 0) != hash_bytes("abc", 3, 1));
	assert_true(hash_bytes("abc", 3, 0) != hash_bytes("abd", 3, 0));
	assert_true(hash_bytes(NULL, 0, 0) == hash_bytes("x", 0, 0));
	/* Every length around the 8-byte words, and bytes in every position:
	 * no two of these keys collide. */
	{
		static const char text[] = "abcdefghijklmnopqrstuvwxyz0123456789";
		uint64_t h[2 * 24];
		size_t n = 0;

		for (size_t len = 0; len < 24; len++) {
			char buf[32];

			h[n++] = hash_bytes(text, len, 0);
			memcpy(buf, text, len);
			if (len)
				buf[len - 1] ^= 1;
			h[n++] = hash_bytes(buf, len, 0);
		}
		/* "": the same key twice */
		for (size_t i = 2; i < n; i++)
			for (size_t j = 0; j < i; j++)
				assert_true(h[i] != h[j]);
		/* trailing zero bytes count */
		assert_true(hash_bytes("ab\0\0", 4, 0) != hash_bytes("ab", 2, 0));
		assert_true(hash_bytes("ab\0\0\0\0\0\0\0", 9, 0) !=
			    hash_bytes("ab\0\0\0\0\0\0", 8, 0));
	}
}

/* ---------------------------------------------------------------- paths */

static char tree[64];

static void touch(const char *rel)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tree, rel);
	f = fopen(path, "w");
	assert_non_null(f);
	fclose(f);
}

static void mkdirs(const char *rel)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", tree, rel);
	assert_int_equal(mkdir(path, 0755), 0);
}

static void expect_short(const char *filename, size_t outlen, const char *want)
{
	char *out = malloc(outlen ? outlen : 1);

	assert_non_null(out);
	memset(out, 'Z', outlen ? outlen : 1);
	shorten_filename(getpid(), filename, out, outlen);
	print_message("  '%.80s' (%zu) -> '%s'\n", filename, outlen, outlen ? out : "");
	if (outlen)
		assert_string_equal(out, want);
	else
		assert_int_equal(out[0], 'Z');
	free(out);
}

static void test_shorten(void **state)
{
	char path[8192], cwd[4096];
	size_t n;

	(void)state;
	snprintf(tree, sizeof(tree), "/tmp/pyspy-paths-XXXXXX");
	assert_non_null(mkdtemp(tree));
	mkdirs("pkg");
	mkdirs("pkg/sub");
	mkdirs("plain");
	touch("pkg/__init__.py");
	touch("pkg/sub/__init__.py");

	snprintf(path, sizeof(path), "%s/pkg/sub/mod.py", tree);
	expect_short(path, 4096, "pkg/sub/mod.py");
	expect_short(path, 5, "pkg/");	/* cut to the room there is */
	expect_short(path, 1, "");
	expect_short(path, 0, "");
	snprintf(path, sizeof(path), "%s/pkg/sub/__init__.py", tree);
	expect_short(path, 4096, "pkg/sub/__init__.py");
	snprintf(path, sizeof(path), "%s/plain/mod.py", tree);
	expect_short(path, 4096, "mod.py");
	/* ".." could leave the process's root: never looked up */
	snprintf(path, sizeof(path), "%s/plain/../pkg/sub/mod.py", tree);
	expect_short(path, 4096, "mod.py");
	snprintf(path, sizeof(path), "%s/pkg/sub/..x/mod..py", tree);
	expect_short(path, 4096, "mod..py");
	expect_short("<string>", 4096, "<string>");
	expect_short("<frozen importlib._bootstrap>", 4096, "<frozen importlib._bootstrap>");
	expect_short("", 4096, "");
	expect_short("mod.py", 4096, "mod.py");
	expect_short("/", 4096, "");
	expect_short("/mod.py", 4096, "mod.py");
	expect_short("//x//y.py", 4096, "y.py");

	/* relative to the process's working folder */
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(chdir(tree), 0);
	expect_short("pkg/sub/mod.py", 4096, "pkg/sub/mod.py");
	expect_short("./pkg/sub/mod.py", 4096, "pkg/sub/mod.py");
	assert_int_equal(chdir(cwd), 0);

	/* longer than the probe buffer: the base name, no overflow */
	n = (size_t)snprintf(path, sizeof(path), "%s/pkg/", tree);
	memset(path + n, 'a', 6000);
	strcpy(path + n + 6000, "/m.py");
	expect_short(path, 4096, "m.py");
	/* a path of slashes and nothing else */
	memset(path, '/', 5000);
	path[5000] = 0;
	expect_short(path, 4096, "");

	snprintf(path, sizeof(path), "rm -rf '%s'", tree);
	assert_int_equal(system(path), 0);
}

/* ------------------------------------------- strings under hostile layouts */

/*
 * The layout the collector builds from a version's object offsets
 * (user/pyproc.c str_layout_init(), static there).
 */
static void layout_of(struct str_layout *sl, const struct py_obj_offsets *obj)
{
	symcache__str_layout(sl, obj, 3);
}

/* A compact ASCII str object at obj, as sl describes it. */
static void fake_str(uint8_t *obj, const struct str_layout *sl, const char *s)
{
	uint64_t n = strlen(s);
	uint32_t state = 1u << sl->kind_shift | 1u << sl->compact_bit | 1u << sl->ascii_bit;

	memcpy(obj + sl->length, &n, 8);
	memcpy(obj + sl->state, &state, 4);
	memcpy(obj + sl->ascii_size, s, n);
}

/* Runs fn in a child: a crash (stack smashing, ASan) fails the test with
 * its signal instead of ending the whole binary. */
static bool in_child(void (*fn)(void *), void *arg, const char *what)
{
	int st;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (!pid) {
		/* cmocka's handlers would resume the test runner in the child */
		static const int sigs[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGSYS, SIGABRT };

		for (size_t i = 0; i < ARRAY_SIZE(sigs); i++)
			signal(sigs[i], SIG_DFL);
		fn(arg);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	if (WIFSIGNALED(st))
		print_error("%s: killed by signal %d\n", what, WTERMSIG(st));
	else if (WEXITSTATUS(st))
		print_error("%s: not refused (exit status %d)\n", what, WEXITSTATUS(st));
	return WIFEXITED(st) && !WEXITSTATUS(st);
}

static uint8_t arena[0x30000] __attribute__((aligned(16)));

/* Reading a str whose layout has an offset past read_pystr()'s header
 * buffer must be refused (-EINVAL), not read or written out of bounds. */
static void read_with(void *arg)
{
	const struct str_layout *sl = arg;
	char out[64];
	int err;

	memset(arena, 0, sizeof(arena));
	fake_str(arena, sl, "name");
	err = read_pystr(getpid(), sl, (uintptr_t)arena, out, sizeof(out));
	fprintf(stderr, "  read_pystr: %d '%s'\n", err, err ? "" : out);
	if (err != -EINVAL)
		_exit(1);
}

static const struct py_offsets_entry *entry_313(void)
{
	const struct py_offsets_entry *e = py_offsets__find(3, 13, 0);

	assert_non_null(e);
	return e;
}

static void test_pystr_header_sizes(void **state)
{
	const struct py_offsets_entry *e = entry_313();
	struct str_layout sl;
	bool ok = true;

	(void)state;
	/* The real layout reads. */
	layout_of(&sl, &e->obj);
	memset(arena, 0, sizeof(arena));
	fake_str(arena, &sl, "name");
	{
		char out[64];

		assert_int_equal(read_pystr(getpid(), &sl, (uintptr_t)arena, out, sizeof(out)), 0);
		assert_string_equal(out, "name");
	}
	/* sizeof(PyASCIIObject) of 16 KiB: the header read would write 16 KiB
	 * into a 128-byte stack buffer (BUG: user/symcache.c read_pystr checks
	 * compact_size against the buffer, not ascii_size). */
	layout_of(&sl, &e->obj);
	sl.ascii_size = 0x4000;
	sl.compact_size = 72;
	ok &= in_child(read_with, &sl, "ascii_size 0x4000");
	/* PyASCIIObject.length at byte 208 of a 128-byte buffer (BUG: read
	 * out of bounds, found by fuzz_debugoffsets). */
	layout_of(&sl, &e->obj);
	sl.length = 208;
	sl.ascii_size = 40;
	ok &= in_child(read_with, &sl, "length at 208");
	assert_true(ok);
}

/* The same through the parser: a _Py_DebugOffsets block that the target
 * rewrote (its _PyRuntime is its own writable memory) is accepted and its
 * str layout then overflows the reader. Expected: either the parser
 * refuses it, or the readers refuse the layout. */
struct dbg_case {
	const char *name;
	uint16_t size_pos, field_pos;
	uint64_t size, value;
	bool lookup;		/* symbolize a code object, not just a str */
};

/* 8 bytes of the arena (0 past its end), as the sampler would read them. */
static uint64_t arena_ld64(size_t at)
{
	uint64_t v = 0;

	if (at + 8 <= sizeof(arena))
		memcpy(&v, arena + at, 8);
	return v;
}

/* The ident of py_code_check() of the code object at the arena's start, as
 * the sampler takes it: co_version, else the name's hash. */
static uint64_t code_ident(const struct py_offsets *off, uint64_t name)
{
	uint32_t version = 0;

	if (off->code_version)
		memcpy(&version, arena + off->code_version, 4);
	if (version)
		return version;
	if (!off->str_hash)
		return 0;
	return arena_ld64(name - (uintptr_t)arena + off->str_hash);
}

/* ob_refcnt of the fake code objects: live (1) unless a test frees one. The
 * symbol cache takes a count of 0 or a pointer (an allocator's free-list
 * link) as a freed object. */
static uint64_t live_refcnt = 1;

/* A code object with a name, a file and a line table, as off / sl lay them
 * out; then symcache__lookup(). Only reads in bounds may happen: a line
 * table that cannot be read is left out (NULL), the names still come. */
static int lookup_code(const struct py_offsets *off, const struct str_layout *sl,
		       struct code_info *ci)
{
	uint64_t base = (uintptr_t)arena, name = base + 0x10000, file = base + 0x18000;
	uint64_t lt = base + 0x20000, n = 4;
	struct py_frame_rec rec = { .code = base, .lasti = 0 };
	struct symcache *c;
	uint32_t one = 1;
	int err;

	memset(arena, 0, sizeof(arena));
	fake_str(arena + 0x10000, sl, "name");
	fake_str(arena + 0x18000, sl, "file.py");
	if (sl->bytes_size + 8u <= 0x8000 && sl->bytes_sval + 4u <= 0x8000) {
		memcpy(arena + 0x20000 + sl->bytes_size, &n, 8);
		memcpy(arena + 0x20000 + sl->bytes_sval, "\x80\x00\xd8\x04", 4);
	}
	memcpy(arena, &live_refcnt, 8);
	memcpy(arena + off->code_name, &name, 8);
	memcpy(arena + off->code_filename, &file, 8);
	memcpy(arena + off->code_linetable, &lt, 8);
	memcpy(arena + off->code_firstlineno, &one, 4);
	rec.check = py_code_check(name, code_ident(off, name), file, 1, 0);
	c = symcache__new(getpid(), off, sl);
	if (!c)
		return -ENOMEM;
	err = symcache__lookup(c, &rec, ci);
	if (!err)
		ci->linetable = ci->linetable ? (const uint8_t *)1 : NULL;	/* freed below */
	symcache__free(c);
	return err;
}

static void symbolize_with(void *arg)
{
	const struct dbg_case *dc = arg;
	const struct py_offsets_entry *e = entry_313();
	const struct py_debug_layout *lay = py_offsets__debug_layout(3, 13);
	char path[1024], line[256], why[128];
	struct py_offsets off = e->off;
	struct py_obj_offsets obj = e->obj;
	struct str_layout sl;
	uint8_t block[4096];
	const char *dir = getenv("PYSPY_FIXTURES");
	char out[64];
	FILE *f;
	int err;

	snprintf(path, sizeof(path), "%s/debugoffsets/cpython-3.13.0-pyenv.bin",
		 dir && *dir ? dir : "tests/fixtures");
	f = fopen(path, "rb");
	if (!f || !fgets(line, sizeof(line), f) || fread(block, 1, sizeof(block), f) != 4096 ||
	    !lay)
		_exit(3);
	fclose(f);
	memcpy(block + dc->size_pos, &dc->size, 8);
	memcpy(block + dc->field_pos, &dc->value, 8);
	err = py_offsets__apply_debug(&off, &obj, block, sizeof(block), 3, 13, why, sizeof(why));
	fprintf(stderr, "  %s: apply_debug %d (%s)\n", dc->name, err, why);
	if (err)
		_exit(0);	/* refused at the parser: fine */
	layout_of(&sl, &obj);
	if (dc->lookup) {
		struct code_info ci;

		err = lookup_code(&off, &sl, &ci);
		fprintf(stderr, "  %s: symcache__lookup %d, line table %s\n", dc->name, err,
			!err && ci.linetable ? "read" : "none");
		_exit(err || ci.linetable ? 1 : 0);
	}
	memset(arena, 0, sizeof(arena));
	fake_str(arena, &sl, "name");
	err = read_pystr(getpid(), &sl, (uintptr_t)arena, out, sizeof(out));
	fprintf(stderr, "  %s: read_pystr %d\n", dc->name, err);
	_exit(err == -EINVAL ? 0 : 1);
}

/*
 * Code compiled and dropped in a loop: the next code object, and its name,
 * land at the addresses of the last ones, with the same file, first line
 * and argument count. Only the name's content (its cached hash) or, from
 * 3.12 on, co_version tells them apart: the cached symbol of the old one
 * must not be given to the new one.
 */
static void reused_name(unsigned minor)
{
	const struct py_offsets_entry *e = py_offsets__find(3, minor, 0);
	uint64_t base = (uintptr_t)arena, name = base + 0x10000, file = base + 0x18000;
	struct py_frame_rec rec = { .code = base };
	struct str_layout sl;
	struct code_info ci;
	struct symcache *c;
	uint64_t h1 = 0x5bd1e9955bd1e995ULL, h2 = 0x1234567890abcdefULL;
	uint32_t one = 1, v1 = 41, v2 = 42, check1, check2;
	bool versioned;

	print_message("  3.%u\n", minor);
	assert_non_null(e);
	versioned = e->off.code_version != 0;
	assert_int_equal(versioned, minor >= 12);
	assert_int_not_equal(e->off.str_hash, 0);
	layout_of(&sl, &e->obj);
	memset(arena, 0, sizeof(arena));
	fake_str(arena + 0x10000, &sl, "f_000001");
	memcpy(arena + 0x10000 + e->off.str_hash, &h1, 8);
	fake_str(arena + 0x18000, &sl, "<string>");
	memcpy(arena, &live_refcnt, 8);
	memcpy(arena + e->off.code_name, &name, 8);
	memcpy(arena + e->off.code_filename, &file, 8);
	memcpy(arena + e->off.code_firstlineno, &one, 4);
	if (versioned)
		memcpy(arena + e->off.code_version, &v1, 4);
	c = symcache__new(getpid(), &e->off, &sl);
	assert_non_null(c);

	check1 = rec.check = py_code_check(name, versioned ? v1 : h1, file, 1, 0);
	assert_int_equal(symcache__lookup(c, &rec, &ci), 0);
	assert_string_equal(ci.name, "f_000001");

	/* freed; the next function, and its name, at the same addresses */
	fake_str(arena + 0x10000, &sl, "f_000002");
	memcpy(arena + 0x10000 + e->off.str_hash, &h2, 8);
	if (versioned)
		memcpy(arena + e->off.code_version, &v2, 4);
	check2 = py_code_check(name, versioned ? v2 : h2, file, 1, 0);
	assert_int_not_equal(check1, check2);
	/* a sample of the new one: the new name, not the cached old one */
	rec.check = check2;
	assert_int_equal(symcache__lookup(c, &rec, &ci), 0);
	assert_string_equal(ci.name, "f_000002");
	assert_int_equal(symcache__lookup(c, &rec, &ci), 0);
	assert_string_equal(ci.name, "f_000002");
	/* a sample of the old one, symbolized after the reuse: stale */
	rec.check = check1;
	assert_int_equal(symcache__lookup(c, &rec, &ci), -ESTALE);

	if (versioned) {
		/* co_version 0 (its counter wrapped): the name's hash again */
		memset(arena + e->off.code_version, 0, 4);
		rec.check = py_code_check(name, h2, file, 1, 0);
		assert_int_equal(symcache__lookup(c, &rec, &ci), 0);
		assert_string_equal(ci.name, "f_000002");
	}
	symcache__free(c);
}

static void test_symcache_reused_name(void **state)
{
	(void)state;
	reused_name(10);
	reused_name(12);
	reused_name(13);
}

/* A code object already freed when the collector reads it: its fields are
 * intact (same check value) but its strings may be reused, so it is stale,
 * never symbolized. */
static void test_symcache_freed_code(void **state)
{
	const struct py_offsets_entry *e = entry_313();
	struct str_layout sl;
	struct code_info ci;
	const uint64_t freed[] = { 0, (uintptr_t)arena + 0x3000, 1ULL << 32 };

	(void)state;
	layout_of(&sl, &e->obj);
	assert_int_equal(lookup_code(&e->off, &sl, &ci), 0);
	for (size_t i = 0; i < sizeof(freed) / sizeof(freed[0]); i++) {
		live_refcnt = freed[i];
		assert_int_equal(lookup_code(&e->off, &sl, &ci), -ESTALE);
	}
	live_refcnt = 0xFFFFFFFF;	/* immortal (3.12+): alive */
	assert_int_equal(lookup_code(&e->off, &sl, &ci), 0);
	live_refcnt = 1;
}

static void test_hostile_debug_offsets(void **state)
{
	const struct py_debug_layout *lay = py_offsets__debug_layout(3, 13);
	struct dbg_case cases[] = {
		{ "asciiobject_size 0x4000", lay ? lay->unicode_size : 0,
		  lay ? lay->unicode_ascii_size : 0, 0x8000, 0x4000, false },
		{ "length at 0x200", lay ? lay->unicode_size : 0,
		  lay ? lay->unicode_length : 0, 0x8000, 0x200, false },
		/* PyVarObject.ob_size (from tuple_object.ob_size) at 0xfff0: the
		 * line table's bytes header is read from a 64-byte stack buffer */
		{ "ob_size at 0xfff0", lay ? lay->tuple_size : 0,
		  lay ? lay->tuple_ob_size : 0, 0x20000, 0xfff0, true },
	};
	bool ok = true;

	(void)state;
	if (!lay || !lay->unicode_size || !lay->unicode_ascii_size)
		skip();
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		ok &= in_child(symbolize_with, &cases[i], cases[i].name);
	assert_true(ok);
}

/* ------------------------------------------------------- symbolize cache */

/* NCODE fake 3.13 code objects at arena + i * 0x400, all named "name" in
 * "file.py", first line 10, with a location table that puts byte offsets
 * 0-1 on line 11 and 2-5 (and everything after) on line 12. */
#define NCODE 20

static uint32_t fake_codes(const struct py_offsets *off, const struct str_layout *sl,
			   const char *name)
{
	static const uint8_t table[] = { 0xd8, 0x00, 0x04, 0xd8, 0x00, 0x04, 0xd0, 0x00, 0x04 };
	uint64_t base = (uintptr_t)arena, nm = base + 0x10000, file = base + 0x18000;
	uint64_t lt = base + 0x20000, n = sizeof(table);
	uint32_t first = 10;

	memset(arena, 0, sizeof(arena));
	fake_str(arena + 0x10000, sl, name);
	fake_str(arena + 0x18000, sl, "file.py");
	memcpy(arena + 0x20000 + sl->bytes_size, &n, 8);
	memcpy(arena + 0x20000 + sl->bytes_sval, table, sizeof(table));
	for (int i = 0; i < NCODE; i++) {
		uint8_t *code = arena + i * 0x400;

		memcpy(code, &live_refcnt, 8);
		memcpy(code + off->code_name, &nm, 8);
		memcpy(code + off->code_filename, &file, 8);
		memcpy(code + off->code_linetable, &lt, 8);
		memcpy(code + off->code_firstlineno, &first, 4);
	}
	return py_code_check(nm, code_ident(off, nm), file, first, 0);
}

static int line_at(uint32_t lasti)
{
	return lasti < 2 ? 11 : 12;
}

/*
 * stack__symbolize() keeps, per code object and instruction, the line and
 * the frame it was interned as: the frames must be what agg__frame() gives
 * for the same strings and line, in whichever aggregation is passed, with
 * and without function_lines, through the caps on kept sites, and a code
 * object replaced at the same address must not be given the old one's name.
 */
static void test_symbolize_cache(void **state)
{
	const struct py_offsets_entry *e = entry_313();
	const struct frame *out[PY_MAX_FRAMES + 2], *keep[3];
	struct py_frame_rec frs[3];
	struct py_stack_hdr h = { .kind = PY_REC_STACK, .nframes = 3 };
	struct symbolize_stats st = { 0 };
	struct str_layout sl;
	struct py_process *p = calloc(1, sizeof(*p));
	struct agg *a = agg__new(), *b = agg__new();
	uint32_t check, check2;
	uint64_t base = (uintptr_t)arena;
	unsigned int n, i;

	(void)state;
	assert_non_null(p);
	assert_non_null(a);
	assert_non_null(b);
	assert_true(agg__gen(a) && agg__gen(b) && agg__gen(a) != agg__gen(b));
	layout_of(&sl, &e->obj);
	check = fake_codes(&e->off, &sl, "name");
	p->syms = symcache__new(getpid(), &e->off, &sl);
	assert_non_null(p->syms);
	for (i = 0; i < 3; i++)
		frs[i] = (struct py_frame_rec){ .code = base, .lasti = i * 2, .check = check };
	frs[2].lasti = 1000;

	for (int round = 0; round < 2; round++) {
		n = stack__symbolize(a, p, &h, frs, false, out, &st);
		assert_int_equal(n, 3);
		for (i = 0; i < 3; i++) {
			assert_ptr_equal(out[i], agg__frame(a, "name", "file.py", "file.py",
							    line_at(frs[i].lasti), FRAME_PYTHON));
			if (round)
				assert_ptr_equal(out[i], keep[i]);
			keep[i] = out[i];
		}
	}
	assert_int_equal(out[0]->line, 11);
	assert_int_equal(out[1]->line, 12);
	assert_int_equal(out[2]->line, 12);
	/* function_lines: the first line, and frames of their own */
	n = stack__symbolize(a, p, &h, frs, true, out, &st);
	assert_int_equal(n, 3);
	for (i = 0; i < 3; i++)
		assert_ptr_equal(out[i], agg__frame(a, "name", "file.py", "file.py", 10,
						    FRAME_PYTHON));
	/* another aggregation: its own frames; and back */
	for (int round = 0; round < 2; round++) {
		n = stack__symbolize(b, p, &h, frs, false, out, &st);
		for (i = 0; i < 3; i++) {
			assert_ptr_equal(out[i], agg__frame(b, "name", "file.py", "file.py",
							    line_at(frs[i].lasti), FRAME_PYTHON));
			assert_ptr_not_equal(out[i], keep[i]);
		}
		n = stack__symbolize(a, p, &h, frs, false, out, &st);
		for (i = 0; i < 3; i++)
			assert_ptr_equal(out[i], keep[i]);
	}
	assert_int_equal(st.unknown_frames, 0);

	/* Many instructions in many code objects: past both caps on sites. */
	for (uint32_t lasti = 0; lasti < 2 * SYMCACHE_MAX_SITES + 64; lasti += 2) {
		struct py_frame_rec r[NCODE];
		struct py_stack_hdr hh = { .kind = PY_REC_STACK, .nframes = NCODE };

		for (i = 0; i < NCODE; i++)
			r[i] = (struct py_frame_rec){ .code = base + i * 0x400, .lasti = lasti,
						      .check = check };
		n = stack__symbolize(a, p, &hh, r, false, out, &st);
		assert_int_equal(n, NCODE);
		for (i = 0; i < NCODE; i++)
			assert_int_equal(out[i]->line, line_at(lasti));
	}
	n = stack__symbolize(a, p, &h, frs, false, out, &st);
	for (i = 0; i < 3; i++)
		assert_ptr_equal(out[i], keep[i]);

	/* The code object at base replaced by another one (its name elsewhere,
	 * so another check): the new name, never the old frames; a record of the
	 * old code taken before the change is stale. */
	fake_codes(&e->off, &sl, "other");
	{
		uint64_t nm2 = base + 0x12000;

		fake_str(arena + 0x12000, &sl, "other");
		memcpy(arena + e->off.code_name, &nm2, 8);
		check2 = py_code_check(nm2, code_ident(&e->off, nm2), base + 0x18000, 10, 0);
	}
	for (i = 0; i < 3; i++)
		frs[i].check = check2;
	n = stack__symbolize(a, p, &h, frs, false, out, &st);
	assert_int_equal(n, 3);
	for (i = 0; i < 3; i++)
		assert_ptr_equal(out[i], agg__frame(a, "other", "file.py", "file.py",
						    line_at(frs[i].lasti), FRAME_PYTHON));
	for (i = 0; i < 3; i++)
		frs[i].check = check;
	n = stack__symbolize(a, p, &h, frs, false, out, &st);
	assert_int_equal(n, 3);
	for (i = 0; i < 3; i++)
		assert_string_equal(out[i]->name, "<unknown>");
	assert_int_equal(st.stale_frames, 3);
	assert_int_equal(st.unknown_frames, 3);

	symcache__free(p->syms);
	free(p);
	agg__free(a);
	agg__free(b);
}

/* agg__add() interns the thread name and command line of every sample: a
 * caller's buffer whose content changes must give the new string. */
static void test_agg_strings(void **state)
{
	struct agg *a = agg__new();
	const struct frame *fr[1];
	const struct stack_trace *st;
	char name[32] = "first", cmd[64] = "python app.py";
	struct stack_trace s = { .pid = 1, .thread_name = name, .cmdline = cmd, .frames = fr,
				 .nframes = 1 };
	size_t pos = 0;

	(void)state;
	assert_non_null(a);
	fr[0] = agg__frame(a, "f", "f.py", "f.py", 1, FRAME_PYTHON);
	assert_int_equal(agg__add(a, &s, 1, 0), 0);
	assert_int_equal(agg__add(a, &s, 1, 0), 0);
	strcpy(name, "second");
	assert_int_equal(agg__add(a, &s, 1, 0), 0);
	strcpy(cmd, "python other.py");
	assert_int_equal(agg__add(a, &s, 1, 0), 0);
	assert_int_equal(agg__stacks(a), 3);
	assert_true(agg__next(a, &pos, &st));
	assert_string_equal(st->thread_name, "first");
	assert_string_equal(st->cmdline, "python app.py");
	assert_int_equal(st->count, 2);
	assert_true(agg__next(a, &pos, &st));
	assert_string_equal(st->thread_name, "second");
	assert_string_equal(st->cmdline, "python app.py");
	assert_true(agg__next(a, &pos, &st));
	assert_string_equal(st->thread_name, "second");
	assert_string_equal(st->cmdline, "python other.py");
	assert_ptr_not_equal(st->thread_name, name);
	agg__free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_maps_lines),
		cmocka_unit_test(test_maps_self),
		cmocka_unit_test(test_decode_stack),
		cmocka_unit_test(test_pb_varint),
		cmocka_unit_test(test_pb_fields),
		cmocka_unit_test(test_elf_synthetic),
		cmocka_unit_test(test_elf_rodata_scan_linear),
		cmocka_unit_test(test_elf_garbage),
		cmocka_unit_test(test_elf_real),
		cmocka_unit_test(test_version_parse),
		cmocka_unit_test(test_hashmap_model),
		cmocka_unit_test(test_hash_bytes),
		cmocka_unit_test(test_shorten),
		cmocka_unit_test(test_pystr_header_sizes),
		cmocka_unit_test(test_hostile_debug_offsets),
		cmocka_unit_test(test_symbolize_cache),
		cmocka_unit_test(test_agg_strings),
		cmocka_unit_test(test_symcache_reused_name),
		cmocka_unit_test(test_symcache_freed_code),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
