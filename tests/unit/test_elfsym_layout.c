/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * user/elfsym.c on synthetic symbol tables (tests/unit/elfgen.h): nested
 * and overlapping functions, symbols without a size, aliases; hostile
 * tables (names out of bounds or without a NUL, names too long, tables
 * past the end, wrong entry sizes and links); MiniDebugInfo made here
 * with liblzma, corrupt, not an ELF file, or an xz bomb that must stop at
 * MINIDEBUG_MAX. Real files: test_elfsym.c.
 */
#include <elf.h>
#include <errno.h>
#include <lzma.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "elfdebug.h"
#include "elffile.h"
#include "elfgen.h"
#include "elfsym.h"
#include "rng.h"

#define TEXT 0x1000
#define TEXT_END 0x3000

/* An ET_DYN image: .text (NOBITS) [TEXT, TEXT_END), the symbols as
 * .symtab, and extra sections after them. */
static uint8_t *image(const struct gen_sym *syms, size_t n, const struct gen_sec *extra,
		      size_t nextra, size_t *size)
{
	struct gen_sec secs[8] = {
		{ ".text", SHT_NOBITS, SHF_ALLOC | SHF_EXECINSTR, TEXT, NULL, TEXT_END - TEXT,
		  .align = 16 },
		{ ".symtab", SHT_SYMTAB, 0, 0, NULL, 0, 3, 1, sizeof(Elf64_Sym), 8 },
		{ ".strtab", SHT_STRTAB, 0, 0, NULL, 0, .align = 1 },
	};
	Elf64_Sym *tab;
	char *str;
	uint8_t *img;

	gen_symtab(syms, n, &tab, &secs[1].size, &str, &secs[2].size);
	secs[1].data = tab;
	secs[2].data = str;
	for (size_t i = 0; i < nextra; i++)
		secs[3 + i] = extra[i];
	img = elfgen(secs, 3 + nextra, ET_DYN, size);
	free(tab);
	free(str);
	return img;
}

static struct elfsym *table(const uint8_t *img, size_t size, unsigned int flags)
{
	struct elfsym_opts opts = { .flags = flags | ELFSYM_NO_DEBUG_FILE };
	struct elffile *ef;
	struct elfsym *t;

	assert_int_equal(elffile__from_mem(img, size, false, &ef), 0);
	assert_int_equal(elfsym__new(ef, &opts, &t), 0);
	elffile__free(ef);
	return t;
}

/* vaddr resolves to name at offset off; name NULL: to nothing. */
static void expect(struct elfsym *t, uint64_t vaddr, const char *name, uint64_t off)
{
	uint64_t got = ~0ull;
	const char *s = elfsym__lookup(t, vaddr, &got);

	if (!name) {
		if (s)
			fail_msg("0x%lx: '%s', expected nothing", (unsigned long)vaddr, s);
		return;
	}
	if (!s || strcmp(s, name) || got != off)
		fail_msg("0x%lx: '%s' +0x%lx, expected '%s' +0x%lx", (unsigned long)vaddr,
			 s ? s : "(none)", (unsigned long)got, name, (unsigned long)off);
}

#define F(n, v, sz, b) { n, v, sz, b, STT_FUNC, 1 }

static void test_layout(void **state)
{
	static const struct gen_sym syms[] = {
		F("outer", 0x1000, 0x100, STB_GLOBAL), F("inner", 0x1040, 0x20, STB_LOCAL),
		F("sizeless", 0x1200, 0, STB_GLOBAL), F("after", 0x1280, 0x10, STB_GLOBAL),
		/* aliases: the global without underscores wins */
		F("__libc_thing", 0x1300, 0x10, STB_GLOBAL), F("thing", 0x1300, 0x10, STB_WEAK),
		F("_thing", 0x1300, 0x10, STB_GLOBAL), F("thing2", 0x1300, 0x10, STB_GLOBAL),
		F("local_thing", 0x1300, 0x10, STB_LOCAL),
		{ "an_object", 0x1400, 0x10, STB_GLOBAL, STT_OBJECT, 1 },
		{ "an_ifunc", 0x1500, 0x8, STB_GLOBAL, STT_GNU_IFUNC, 1 },
		{ "undefined", 0x1580, 0x8, STB_GLOBAL, STT_FUNC, SHN_UNDEF },
		F("at_zero", 0, 0x10, STB_GLOBAL),
		/* overlapping without nesting: the later one takes over */
		F("first", 0x1600, 0x40, STB_GLOBAL), F("second", 0x1620, 0x40, STB_GLOBAL),
		/* a sizeless one inside a sized one ends with it */
		F("host", 0x1700, 0x80, STB_GLOBAL), F("guest", 0x1710, 0, STB_LOCAL),
		/* nested twice, resuming each */
		F("a", 0x1800, 0x100, STB_GLOBAL), F("b", 0x1810, 0x80, STB_GLOBAL),
		F("c", 0x1820, 0x10, STB_GLOBAL),
		/* the last, sizeless: up to the end of .text */
		F("last", 0x2f00, 0, STB_GLOBAL),
	};
	size_t size;
	uint8_t *img = image(syms, sizeof(syms) / sizeof(syms[0]), NULL, 0, &size);
	struct elfsym *t = table(img, size, 0);

	(void)state;
	assert_int_equal(elfsym__sources(t), ELFSYM_SRC_SYMTAB);
	/* 14 addresses: 21 symbols less 4 aliases, the object, the
	 * undefined one and the one at 0 */
	assert_int_equal(elfsym__count(t), 14);
	expect(t, 0xfff, NULL, 0);
	expect(t, 0x1000, "outer", 0);
	expect(t, 0x1041, "inner", 1);
	expect(t, 0x1060, "outer", 0x60);
	expect(t, 0x10ff, "outer", 0xff);
	expect(t, 0x1100, NULL, 0);
	expect(t, 0x127f, "sizeless", 0x7f);
	expect(t, 0x128f, "after", 0xf);
	expect(t, 0x1290, NULL, 0);
	expect(t, 0x1305, "thing2", 5);
	expect(t, 0x1400, NULL, 0);
	expect(t, 0x1507, "an_ifunc", 7);
	expect(t, 0x1580, NULL, 0);
	expect(t, 0x1610, "first", 0x10);
	expect(t, 0x1630, "second", 0x10);
	expect(t, 0x165f, "second", 0x3f);
	expect(t, 0x1660, NULL, 0);
	expect(t, 0x177f, "guest", 0x6f);
	expect(t, 0x1780, NULL, 0);
	expect(t, 0x1815, "b", 5);
	expect(t, 0x1825, "c", 5);
	expect(t, 0x1830, "b", 0x20);
	expect(t, 0x1890, "a", 0x90);
	expect(t, 0x2fff, "last", 0xff);
	expect(t, TEXT_END, NULL, 0);
	elfsym__free(t);
	free(img);
}

/* Names checked against their string table; tables against the file. */
static void test_hostile_tables(void **state)
{
	char *longname = malloc(3000);
	struct gen_sym syms[] = {
		F("fine", 0x1000, 0x10, STB_GLOBAL), F(longname, 0x1100, 0x10, STB_GLOBAL),
		F("unterminated", 0x1200, 0x10, STB_GLOBAL),
	};
	Elf64_Shdr sh;
	uint64_t shoff;
	size_t size;
	uint8_t *img;
	struct elfsym *t;
	const char *s;

	(void)state;
	memset(longname, 'x', 2999);
	longname[2999] = 0;
	img = image(syms, 3, NULL, 0, &size);
	memcpy(&shoff, img + GEN_E_SHOFF, 8);
	/* the string table one byte short: the last name loses its NUL */
	memcpy(&sh, img + shoff + 3 * sizeof(sh), sizeof(sh));
	sh.sh_size--;
	memcpy(img + shoff + 3 * sizeof(sh), &sh, sizeof(sh));
	t = table(img, size, 0);
	expect(t, 0x1005, "fine", 5);
	expect(t, 0x1200, NULL, 0);
	s = elfsym__lookup(t, 0x1100, NULL);
	assert_non_null(s);
	assert_int_equal(strlen(s), ELFSYM_NAME_MAX - 1);
	assert_string_equal(s + ELFSYM_NAME_MAX - 4, "...");
	elfsym__free(t);

	/* st_name past the string table */
	{
		Elf64_Shdr symsh;
		uint32_t bad = 0x7fffffff;

		memcpy(&symsh, img + shoff + 2 * sizeof(sh), sizeof(sh));
		memcpy(img + symsh.sh_offset + sizeof(Elf64_Sym), &bad, 4);
		t = table(img, size, 0);
		expect(t, 0x1005, NULL, 0);
		elfsym__free(t);
		/* the symbol table past the end of the file; entries of 16 bytes;
		 * linked to itself, not to a string table */
		symsh.sh_size = 1ull << 40;
		memcpy(img + shoff + 2 * sizeof(sh), &symsh, sizeof(sh));
		t = table(img, size, 0);
		assert_int_equal(elfsym__count(t), 0);
		assert_int_equal(elfsym__sources(t), 0);
		elfsym__free(t);
		symsh.sh_size = 4 * sizeof(Elf64_Sym);
		symsh.sh_entsize = 16;
		memcpy(img + shoff + 2 * sizeof(sh), &symsh, sizeof(sh));
		t = table(img, size, 0);
		assert_int_equal(elfsym__count(t), 0);
		elfsym__free(t);
		symsh.sh_entsize = sizeof(Elf64_Sym);
		symsh.sh_link = 2;
		memcpy(img + shoff + 2 * sizeof(sh), &symsh, sizeof(sh));
		t = table(img, size, 0);
		assert_int_equal(elfsym__count(t), 0);
		elfsym__free(t);
	}
	/* an ELF file of another type is refused */
	{
		struct elffile *ef;
		uint16_t rel = ET_REL;

		memcpy(img + 16, &rel, 2);
		assert_int_equal(elffile__from_mem(img, size, false, &ef), 0);
		assert_int_equal(elfsym__new(ef, NULL, &t), -ENOEXEC);
		assert_null(t);
		elffile__free(ef);
	}
	free(img);
	free(longname);
}

/* xz of n bytes (data, or zeros when NULL), malloc'ed. */
static uint8_t *xz(const void *data, size_t n, size_t *outsize)
{
	static const uint8_t zeros[1 << 16];
	lzma_stream s = LZMA_STREAM_INIT;
	size_t cap = 1 << 20;
	uint8_t *out = malloc(cap);

	assert_int_equal(lzma_easy_encoder(&s, 0, LZMA_CHECK_CRC64), LZMA_OK);
	s.next_out = out;
	s.avail_out = cap;
	while (n) {
		size_t k = data ? n : n < sizeof(zeros) ? n : sizeof(zeros);

		s.next_in = data ? data : zeros;
		s.avail_in = k;
		while (s.avail_in)
			assert_int_equal(lzma_code(&s, LZMA_RUN), LZMA_OK);
		n -= k;
		if (data)
			data = (const uint8_t *)data + k;
	}
	while (lzma_code(&s, LZMA_FINISH) == LZMA_OK)
		assert_true(s.avail_out > 0);
	*outsize = s.total_out;
	lzma_end(&s);
	return out;
}

/* A stripped image whose .gnu_debugdata holds `inner`, compressed. */
static uint8_t *with_debugdata(const void *xzdata, size_t xzsize, size_t *size)
{
	static const struct gen_sym dyn[] = { F("exported", 0x2000, 0x10, STB_GLOBAL) };
	struct gen_sec dd = { ".gnu_debugdata", SHT_PROGBITS, 0, 0, xzdata, xzsize, .align = 1 };
	uint8_t *img = image(dyn, 1, &dd, 1, size);
	uint64_t shoff;
	uint32_t dynsym = SHT_DYNSYM;

	/* the outer table becomes .dynsym: the file has no .symtab */
	memcpy(&shoff, img + GEN_E_SHOFF, 8);
	memcpy(img + shoff + 2 * sizeof(Elf64_Shdr) + offsetof(Elf64_Shdr, sh_type), &dynsym, 4);
	return img;
}

static void test_minidebuginfo(void **state)
{
	static const struct gen_sym local[] = { F("hidden_static", 0x1100, 0x20, STB_LOCAL),
						F("_Z6helperi", 0x1200, 0x20, STB_LOCAL) };
	size_t isize, zsize, size;
	uint8_t *inner = image(local, 2, NULL, 0, &isize), *z = xz(inner, isize, &zsize);
	uint8_t *img = with_debugdata(z, zsize, &size);
	struct elfsym *t = table(img, size, 0);
	struct elffile *ef;

	(void)state;
	assert_int_equal(elfsym__sources(t), ELFSYM_SRC_DYNSYM | ELFSYM_SRC_MINIDEBUGINFO);
	expect(t, 0x1101, "hidden_static", 1);
	expect(t, 0x2001, "exported", 1);
	expect(t, 0x1200, "helper(int)", 0);
	elfsym__free(t);
	t = table(img, size, ELFSYM_NO_DEMANGLE);
	expect(t, 0x1200, "_Z6helperi", 0);
	elfsym__free(t);
	free(img);

	/* cut short: a corrupt stream; not an ELF file inside */
	img = with_debugdata(z, zsize / 2, &size);
	assert_int_equal(elffile__from_mem(img, size, true, &ef), 0);
	assert_int_equal(elfdebug__minidebuginfo(ef, &(struct elffile *){ NULL }), -EINVAL);
	elffile__free(ef);
	free(z);
	z = xz("hello", 5, &zsize);
	img = with_debugdata(z, zsize, &size);
	assert_int_equal(elffile__from_mem(img, size, true, &ef), 0);
	assert_int_equal(elfdebug__minidebuginfo(ef, &(struct elffile *){ NULL }), -ENOEXEC);
	elffile__free(ef);
	free(z);
	free(inner);
}

/* 70 MiB of zeros in ~11 KiB: decompression stops at MINIDEBUG_MAX. */
static void test_xz_bomb(void **state)
{
	size_t zsize, size;
	uint8_t *z = xz(NULL, 70u << 20, &zsize), *img = with_debugdata(z, zsize, &size);
	struct elffile *ef, *mini = NULL;
	struct elfsym *t;

	(void)state;
	print_message("  70 MiB of zeros compressed to %zu bytes\n", zsize);
	assert_int_equal(elffile__from_mem(img, size, true, &ef), 0);
	assert_int_equal(elfdebug__minidebuginfo(ef, &mini), -EFBIG);
	assert_null(mini);
	/* the table goes on without it */
	assert_int_equal(elfsym__new(ef, NULL, &t), 0);
	assert_int_equal(elfsym__sources(t), ELFSYM_SRC_DYNSYM);
	expect(t, 0x2000, "exported", 0);
	elfsym__free(t);
	elffile__free(ef);
	free(z);
}

/* Random bytes of an image with MiniDebugInfo changed: every name found
 * is bounded, every lookup answers. */
static void test_corruption(void **state)
{
	static const struct gen_sym local[] = { F("hidden_static", 0x1100, 0x20, STB_LOCAL),
						F("_ZN3abc3defEv", 0x1200, 0, STB_GLOBAL) };
	size_t isize, zsize, size;
	uint8_t *inner = image(local, 2, NULL, 0, &isize), *z = xz(inner, isize, &zsize);
	uint8_t *img = with_debugdata(z, zsize, &size), *copy = malloc(size);
	uint64_t r = 7;

	(void)state;
	for (int round = 0; round < 3000; round++) {
		struct elffile *ef;
		struct elfsym *t;

		memcpy(copy, img, size);
		for (int k = 0, flips = 1 + (int)(xorshift64(&r) % 4); k < flips; k++)
			copy[xorshift64(&r) % size] = (uint8_t)xorshift64(&r);
		if (elffile__from_mem(copy, size, false, &ef))
			continue;
		if (!elfsym__new(ef, NULL, &t)) {
			for (uint64_t a = 0xff0; a < 0x2100; a += 0x10) {
				const char *s = elfsym__lookup(t, a, NULL);

				assert_true(!s || strlen(s) < 4096);
			}
			elfsym__free(t);
		}
		elffile__free(ef);
	}
	free(copy);
	free(img);
	free(z);
	free(inner);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layout),
		cmocka_unit_test(test_hostile_tables),
		cmocka_unit_test(test_minidebuginfo),
		cmocka_unit_test(test_xz_bomb),
		cmocka_unit_test(test_corruption),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
