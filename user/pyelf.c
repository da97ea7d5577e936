// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <gelf.h>
#include <libelf.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include "pyelf.h"

/* Longest .rodata scanned for the version string. */
#define RODATA_MAX (64u << 20)

int py_version__parse(const char *s, unsigned int *major, unsigned int *minor,
		      unsigned int *micro)
{
	unsigned int v[3] = { 0 };
	int i;

	for (i = 0; i < 3; i++) {
		int digits = 0;

		while (*s >= '0' && *s <= '9' && digits < 3) {
			v[i] = v[i] * 10 + (*s++ - '0');
			digits++;
		}
		if (!digits)
			return -EINVAL;
		if (i < 2 && *s++ != '.')
			return -EINVAL;
	}
	if (v[0] < 2 || v[0] > 3)
		return -EINVAL;
	*major = v[0];
	*minor = v[1];
	*micro = v[2];
	return 0;
}

static void take_symbols(Elf *elf, Elf_Scn *scn, GElf_Shdr *sh, struct py_elf *out)
{
	static const struct {
		const char *name;
		size_t off;
	} wanted[] = {
		{ "_PyRuntime", offsetof(struct py_elf, runtime) },
		{ "interp_head", offsetof(struct py_elf, interp_head) },
		{ "_PyThreadState_Current", offsetof(struct py_elf, tstate_current) },
		{ "PyCode_Type", offsetof(struct py_elf, code_type) },
		{ "PyUnicode_Type", offsetof(struct py_elf, unicode_type) },
		{ "PyString_Type", offsetof(struct py_elf, string_type) },
		{ "Py_Version", offsetof(struct py_elf, py_version) },
	};
	Elf_Data *data = elf_getdata(scn, NULL);
	size_t n, i, j;

	if (!data || !sh->sh_entsize)
		return;
	n = sh->sh_size / sh->sh_entsize;
	for (i = 0; i < n; i++) {
		GElf_Sym sym;
		const char *name;

		if (!gelf_getsym(data, i, &sym) || !sym.st_value || sym.st_shndx == SHN_UNDEF)
			continue;
		name = elf_strptr(elf, sh->sh_link, sym.st_name);
		if (!name || (name[0] != '_' && name[0] != 'P' && name[0] != 'i'))
			continue;
		for (j = 0; j < sizeof(wanted) / sizeof(wanted[0]); j++) {
			uint64_t *slot = (uint64_t *)((char *)out + wanted[j].off);

			if (!*slot && !strcmp(name, wanted[j].name))
				*slot = sym.st_value;
		}
	}
}

/* The most bytes a version string can take before its NUL: "X.Y.Z" (up to
 * 3 digits each) and a short suffix such as "+" or "rc1". */
#define VERSION_TAIL 13

/* q is a version string: "X.Y.Z", at most a short suffix, then the NUL at
 * nul; the byte before q (not a digit, not a '.') starts no longer number. */
static bool version_at(const char *q, const char *nul, unsigned int *a, unsigned int *b,
		       unsigned int *c)
{
	if ((q[0] != '2' && q[0] != '3') || q[1] != '.' || (q[-1] >= '0' && q[-1] <= '9') ||
	    q[-1] == '.')
		return false;
	if (memchr(q, ' ', nul - q) || memchr(q, '/', nul - q))
		return false;
	return !py_version__parse(q, a, b, c);
}

/*
 * PY_VERSION is a NUL-terminated "X.Y.Z" (maybe with a suffix such as "+" or
 * "rc1") in .rodata, possibly merged into the tail of a longer string such
 * as a build path ".../Python-3.7.16". Collect the distinct candidates. Only
 * the last VERSION_TAIL bytes of each string can hold one, so the scan is
 * linear in the section size (the section comes from whatever file a
 * process mapped under a name with "python" in it).
 */
static void scan_version(Elf_Scn *scn, GElf_Shdr *sh, struct py_elf *out)
{
	Elf_Data *data;
	const char *start, *end, *s, *q, *nul;

	if (sh->sh_type == SHT_NOBITS || sh->sh_size > RODATA_MAX)
		return;
	data = elf_getdata(scn, NULL);
	if (!data || !data->d_buf)
		return;
	start = data->d_buf;
	end = start + data->d_size;
	for (s = start; s < end && out->nversions < 8; s = nul + 1) {
		nul = memchr(s, 0, end - s);
		if (!nul)
			break;
		q = nul - s > VERSION_TAIL ? nul - VERSION_TAIL : s;
		if (q == start)
			q++;	/* the byte before a version must be in the section */
		for (; q + 1 < nul && out->nversions < 8; q++) {
			unsigned int a, b, c, i;

			if (!version_at(q, nul, &a, &b, &c))
				continue;
			for (i = 0; i < out->nversions; i++)
				if (out->versions[i].major == a && out->versions[i].minor == b &&
				    out->versions[i].micro == c)
					break;
			if (i < out->nversions)
				continue;
			out->versions[i].major = a;
			out->versions[i].minor = b;
			out->versions[i].micro = c;
			out->nversions++;
		}
	}
}

int py_elf__read(int fd, struct py_elf *out)
{
	Elf *elf = NULL;
	Elf_Scn *scn = NULL;
	GElf_Ehdr eh;
	size_t shstrndx, nph, i;
	bool have_load = false;
	int err = 0;

	memset(out, 0, sizeof(*out));
	if (elf_version(EV_CURRENT) == EV_NONE)
		return -EINVAL;
	/* Read, not mapped: a file cut short under a mapping would be a
	 * SIGBUS at the first touch of a page past its new end. */
	elf = elf_begin(fd, ELF_C_READ, NULL);
	if (!elf || elf_kind(elf) != ELF_K_ELF || !gelf_getehdr(elf, &eh) ||
	    gelf_getclass(elf) != ELFCLASS64) {
		err = -ENOEXEC;
		goto cleanup;
	}
	out->dyn = eh.e_type == ET_DYN;
	if (elf_getphdrnum(elf, &nph)) {
		err = -ENOEXEC;
		goto cleanup;
	}
	for (i = 0; i < nph; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(elf, i, &ph) || ph.p_type != PT_LOAD)
			continue;
		if (!have_load || ph.p_vaddr < out->load_vaddr) {
			out->load_vaddr = ph.p_vaddr;
			out->load_offset = ph.p_offset;
			have_load = true;
		}
	}
	if (!have_load || elf_getshdrstrndx(elf, &shstrndx)) {
		err = -ENOEXEC;
		goto cleanup;
	}
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;

		if (gelf_getshdr(scn, &sh) &&
		    (sh.sh_type == SHT_SYMTAB || sh.sh_type == SHT_DYNSYM))
			take_symbols(elf, scn, &sh, out);
	}
	/*
	 * Not an interpreter: the version strings are not looked for. Every
	 * executable of a host is read once when it is profiled host-wide, and
	 * the scan of .rodata was most of the time spent on each.
	 */
	if (!out->runtime && !out->interp_head && !out->tstate_current) {
		err = -ENOENT;
		goto cleanup;
	}
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		const char *name;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type == SHT_SYMTAB ||
		    sh.sh_type == SHT_DYNSYM)
			continue;
		name = elf_strptr(elf, shstrndx, sh.sh_name);
		if (name && !strcmp(name, ".rodata"))
			scan_version(scn, &sh, out);
	}
cleanup:
	elf_end(elf);
	return err;
}
