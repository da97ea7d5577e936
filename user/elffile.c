// SPDX-License-Identifier: BSD-2-Clause
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include "elffile.h"

/* PT_LOAD headers kept; real files have two to five. */
#define MAX_LOADS 32

struct elffile {
	const uint8_t *img;
	size_t size;
	void *map;		/* munmap'd by elffile__free */
	void *owned;		/* free'd by elffile__free */
	uint16_t type;
	uint64_t shoff, shentsize, phoff, phentsize;
	unsigned int shnum, phnum;
	const char *shstr;	/* the section names, NULL when unusable */
	size_t shstrsz;
	unsigned int nloads;
	struct elf_load loads[MAX_LOADS];
};

/* Whether [off, off + len) lies inside a buffer of size bytes. */
static bool in_bounds(uint64_t off, uint64_t len, uint64_t size)
{
	return off <= size && len <= size - off;
}

/* A table of n entries of entsize bytes at off, inside the image. */
static bool table_fits(const struct elffile *ef, uint64_t off, uint64_t n, uint64_t entsize)
{
	return off <= ef->size && (!n || (ef->size - off) / entsize >= n);
}

static void read_shdr(const struct elffile *ef, unsigned int i, Elf64_Shdr *sh)
{
	memcpy(sh, ef->img + ef->shoff + (uint64_t)i * ef->shentsize, sizeof(*sh));
}

static void read_phdr(const struct elffile *ef, unsigned int i, Elf64_Phdr *ph)
{
	memcpy(ph, ef->img + ef->phoff + (uint64_t)i * ef->phentsize, sizeof(*ph));
}

/* e_shnum, e_phnum and e_shstrndx may overflow into section 0's header. */
static int read_tables(struct elffile *ef, const Elf64_Ehdr *eh)
{
	Elf64_Shdr sh0 = { 0 };
	uint64_t shnum = eh->e_shnum, phnum = eh->e_phnum, strndx = eh->e_shstrndx;

	if (eh->e_shoff) {
		if (eh->e_shentsize < sizeof(Elf64_Shdr) || !in_bounds(eh->e_shoff, sizeof(sh0), ef->size))
			return -ENOEXEC;
		memcpy(&sh0, ef->img + eh->e_shoff, sizeof(sh0));
		if (!shnum)
			shnum = sh0.sh_size;
		if (strndx == SHN_XINDEX)
			strndx = sh0.sh_link;
		if (phnum == PN_XNUM)
			phnum = sh0.sh_info;
		ef->shoff = eh->e_shoff;
		ef->shentsize = eh->e_shentsize;
		if (shnum > UINT32_MAX || !table_fits(ef, ef->shoff, shnum, ef->shentsize))
			return -ENOEXEC;
		ef->shnum = (unsigned int)shnum;
	}
	if (phnum && eh->e_phoff) {
		if (eh->e_phentsize < sizeof(Elf64_Phdr) || phnum > UINT32_MAX ||
		    !table_fits(ef, eh->e_phoff, phnum, eh->e_phentsize))
			return -ENOEXEC;
		ef->phoff = eh->e_phoff;
		ef->phentsize = eh->e_phentsize;
		ef->phnum = (unsigned int)phnum;
	}
	if (strndx && strndx < ef->shnum) {
		Elf64_Shdr sh;

		read_shdr(ef, (unsigned int)strndx, &sh);
		if (sh.sh_type == SHT_STRTAB && in_bounds(sh.sh_offset, sh.sh_size, ef->size)) {
			ef->shstr = (const char *)ef->img + sh.sh_offset;
			ef->shstrsz = sh.sh_size;
		}
	}
	return 0;
}

static void read_loads(struct elffile *ef)
{
	for (unsigned int i = 0; i < ef->phnum && ef->nloads < MAX_LOADS; i++) {
		Elf64_Phdr ph;

		read_phdr(ef, i, &ph);
		if (ph.p_type != PT_LOAD)
			continue;
		ef->loads[ef->nloads++] = (struct elf_load){
			.vaddr = ph.p_vaddr, .offset = ph.p_offset, .filesz = ph.p_filesz,
			.memsz = ph.p_memsz, .flags = ph.p_flags,
		};
	}
}

static int parse(struct elffile *ef)
{
	Elf64_Ehdr eh;
	int err;

	if (ef->size < sizeof(eh))
		return -ENOEXEC;
	memcpy(&eh, ef->img, sizeof(eh));
	if (memcmp(eh.e_ident, ELFMAG, SELFMAG) || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh.e_ident[EI_DATA] != ELFDATA2LSB || eh.e_machine != EM_X86_64)
		return -ENOEXEC;
	ef->type = eh.e_type;
	err = read_tables(ef, &eh);
	if (err)
		return err;
	read_loads(ef);
	return 0;
}

int elffile__from_mem(const void *buf, size_t size, bool owned, struct elffile **out)
{
	struct elffile *ef = calloc(1, sizeof(*ef));
	int err;

	*out = NULL;
	if (!ef) {
		if (owned)
			free((void *)buf);
		return -ENOMEM;
	}
	ef->img = buf;
	ef->size = size;
	ef->owned = owned ? (void *)buf : NULL;
	err = parse(ef);
	if (err) {
		elffile__free(ef);
		return err;
	}
	*out = ef;
	return 0;
}

/* Files larger than this are refused (their image is reserved, not read). */
#define ELFFILE_SIZE_MAX (4ULL << 30)

/* Bytes read of one file at most: its symbol and string tables, CFI and
 * notes (a large C++ library's names are hundreds of MiB; a hostile file's
 * sections may claim all of a sparse 4 GiB). */
#define ELFFILE_READ_MAX (512ULL << 20)

/* Reads [off, off + len) of the file into the image at the same offset,
 * when it lies inside and the budget allows; a short read leaves zeros (a
 * file that shrank). */
static void fill(int fd, uint8_t *img, uint64_t size, uint64_t off, uint64_t len,
		 uint64_t *budget)
{
	if (!in_bounds(off, len, size) || len > *budget)
		return;
	*budget -= len;
	while (len) {
		ssize_t r = pread(fd, img + off, len, (off_t)off);

		if (r <= 0)
			return;
		off += r;
		len -= r;
	}
}

/* The sections the readers of this file use; the others stay zeros. */
static bool wanted(const Elf64_Shdr *sh, const char *names, uint64_t names_size)
{
	static const char *const want[] = {
		".eh_frame", ".eh_frame_hdr", ".debug_frame", ".gnu_debugdata", ".gnu_debuglink",
	};
	const char *name;

	if (sh->sh_type == SHT_SYMTAB || sh->sh_type == SHT_DYNSYM || sh->sh_type == SHT_STRTAB ||
	    sh->sh_type == SHT_NOTE)
		return true;
	if (!names || sh->sh_name >= names_size)
		return false;
	name = names + sh->sh_name;
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		if (strnlen(name, names_size - sh->sh_name) == strlen(want[i]) &&
		    !strcmp(name, want[i]))
			return true;
	return false;
}

/*
 * The file's headers, tables, symbols, notes and CFI read into img (size
 * bytes, zeros elsewhere). Read, not mapped: a file its owner truncates
 * while it is read must not turn into a SIGBUS of the reader; and the code
 * and data of a large library are never read at all.
 */
static void read_metadata(int fd, uint8_t *img, uint64_t size)
{
	uint64_t budget = ELFFILE_READ_MAX;
	Elf64_Ehdr eh;
	const Elf64_Shdr *sh;
	const char *names = NULL;
	uint64_t names_size = 0;

	fill(fd, img, size, 0, sizeof(eh), &budget);
	memcpy(&eh, img, sizeof(eh));
	if (eh.e_phentsize == sizeof(Elf64_Phdr))
		fill(fd, img, size, eh.e_phoff, (uint64_t)eh.e_phnum * sizeof(Elf64_Phdr), &budget);
	for (unsigned int i = 0; i < eh.e_phnum && eh.e_phentsize == sizeof(Elf64_Phdr) &&
	     in_bounds(eh.e_phoff, (uint64_t)(i + 1) * sizeof(Elf64_Phdr), size); i++) {
		Elf64_Phdr ph;

		memcpy(&ph, img + eh.e_phoff + i * sizeof(ph), sizeof(ph));
		if (ph.p_type == PT_NOTE)
			fill(fd, img, size, ph.p_offset, ph.p_filesz, &budget);
	}
	if (eh.e_shentsize != sizeof(Elf64_Shdr) ||
	    !in_bounds(eh.e_shoff, (uint64_t)eh.e_shnum * sizeof(Elf64_Shdr), size))
		return;
	fill(fd, img, size, eh.e_shoff, (uint64_t)eh.e_shnum * sizeof(Elf64_Shdr), &budget);
	sh = (const Elf64_Shdr *)(img + eh.e_shoff);
	if (eh.e_shstrndx < eh.e_shnum) {
		Elf64_Shdr ns;

		memcpy(&ns, &sh[eh.e_shstrndx], sizeof(ns));
		fill(fd, img, size, ns.sh_offset, ns.sh_size, &budget);
		if (in_bounds(ns.sh_offset, ns.sh_size, size)) {
			names = (const char *)img + ns.sh_offset;
			names_size = ns.sh_size;
		}
	}
	for (unsigned int i = 0; i < eh.e_shnum; i++) {
		Elf64_Shdr one;

		memcpy(&one, &sh[i], sizeof(one));
		if (one.sh_type != SHT_NOBITS && wanted(&one, names, names_size))
			fill(fd, img, size, one.sh_offset, one.sh_size, &budget);
	}
}

int elffile__open_fd(int fd, struct elffile **out)
{
	struct elffile *ef = NULL;
	struct stat st;
	void *map;
	int err;

	*out = NULL;
	if (fstat(fd, &st))
		return -errno;
	if (!S_ISREG(st.st_mode) || st.st_size < (off_t)sizeof(Elf64_Ehdr))
		return -ENOEXEC;
	if ((uint64_t)st.st_size > ELFFILE_SIZE_MAX)
		return -EFBIG;
	/* Reserved, not committed: only the pages read into are memory. */
	map = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (map == MAP_FAILED)
		return -errno;
	read_metadata(fd, map, (uint64_t)st.st_size);
	err = elffile__from_mem(map, (size_t)st.st_size, false, &ef);
	if (err) {
		munmap(map, (size_t)st.st_size);
		return err;
	}
	ef->map = map;
	*out = ef;
	return 0;
}

int elffile__open(const char *path, struct elffile **out)
{
	/* O_NONBLOCK: a FIFO put where a file was expected must not block */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	int err;

	*out = NULL;
	if (fd < 0)
		return -errno;
	err = elffile__open_fd(fd, out);
	close(fd);
	return err;
}

void elffile__free(struct elffile *ef)
{
	if (!ef)
		return;
	if (ef->map)
		munmap(ef->map, ef->size);
	free(ef->owned);
	free(ef);
}

const void *elffile__image(const struct elffile *ef, size_t *size)
{
	*size = ef->size;
	return ef->img;
}

uint16_t elffile__type(const struct elffile *ef)
{
	return ef->type;
}

unsigned int elffile__nsections(const struct elffile *ef)
{
	return ef->shnum;
}

static const char *section_name(const struct elffile *ef, uint32_t off)
{
	size_t n;

	if (!ef->shstr || off >= ef->shstrsz)
		return "";
	n = ef->shstrsz - off;
	if (n > ELFFILE_NAME_MAX)
		n = ELFFILE_NAME_MAX;
	return memchr(ef->shstr + off, 0, n) ? ef->shstr + off : "";
}

int elffile__section(const struct elffile *ef, unsigned int index, struct elf_section *out)
{
	Elf64_Shdr sh;

	if (index >= ef->shnum)
		return -ENOENT;
	read_shdr(ef, index, &sh);
	*out = (struct elf_section){
		.index = index, .name = section_name(ef, sh.sh_name), .type = sh.sh_type,
		.flags = sh.sh_flags, .addr = sh.sh_addr, .offset = sh.sh_offset,
		.size = sh.sh_size, .entsize = sh.sh_entsize, .addralign = sh.sh_addralign,
		.link = sh.sh_link, .info = sh.sh_info,
	};
	return 0;
}

int elffile__find_section(const struct elffile *ef, const char *name, struct elf_section *out)
{
	size_t n = strlen(name) + 1;

	if (!ef->shstr)
		return -ENOENT;
	for (unsigned int i = 1; i < ef->shnum; i++) {
		Elf64_Shdr sh;

		read_shdr(ef, i, &sh);
		/* compares n bytes, the NUL included, inside the name table */
		if (in_bounds(sh.sh_name, n, ef->shstrsz) && !memcmp(ef->shstr + sh.sh_name, name, n))
			return elffile__section(ef, i, out);
	}
	return -ENOENT;
}

const void *elffile__section_data(const struct elffile *ef, const struct elf_section *s,
				  size_t *size)
{
	*size = 0;
	if (s->type == SHT_NOBITS || !s->size || !in_bounds(s->offset, s->size, ef->size))
		return NULL;
	*size = s->size;
	return ef->img + s->offset;
}

unsigned int elffile__nloads(const struct elffile *ef)
{
	return ef->nloads;
}

int elffile__load(const struct elffile *ef, unsigned int index, struct elf_load *out)
{
	if (index >= ef->nloads)
		return -ENOENT;
	*out = ef->loads[index];
	return 0;
}

int elffile__offset_to_vaddr(const struct elffile *ef, uint64_t offset, uint64_t *vaddr)
{
	for (unsigned int i = 0; i < ef->nloads; i++) {
		const struct elf_load *l = &ef->loads[i];

		if (offset >= l->offset && offset - l->offset < l->filesz) {
			*vaddr = l->vaddr + (offset - l->offset);
			return 0;
		}
	}
	return -ENOENT;
}

static uint64_t align_up(uint64_t v, uint64_t align)
{
	return (v + align - 1) & ~(align - 1);
}

/* The notes of one section or segment; align is 4 or 8. */
static int walk_notes(const uint8_t *p, uint64_t size, uint64_t align, elf_note_fn fn, void *arg)
{
	uint64_t pos = 0;

	while (size - pos >= sizeof(Elf64_Nhdr)) {
		Elf64_Nhdr nh;
		struct elf_note note;
		uint64_t name, desc;
		int ret;

		memcpy(&nh, p + pos, sizeof(nh));
		name = pos + sizeof(nh);
		if (nh.n_namesz > size - name)
			return 0;
		desc = align_up(name + nh.n_namesz, align);
		if (desc > size || nh.n_descsz > size - desc)
			return 0;
		note = (struct elf_note){
			.name = (const char *)p + name, .namesz = nh.n_namesz, .type = nh.n_type,
			.desc = p + desc, .descsz = nh.n_descsz,
		};
		ret = fn(&note, arg);
		if (ret)
			return ret;
		pos = align_up(desc + nh.n_descsz, align);
		if (pos > size)
			return 0;
	}
	return 0;
}

int elffile__notes(const struct elffile *ef, elf_note_fn fn, void *arg)
{
	int ret;

	for (unsigned int i = 1; i < ef->shnum; i++) {
		struct elf_section s;
		const void *data;
		size_t size;

		elffile__section(ef, i, &s);
		if (s.type != SHT_NOTE || !(data = elffile__section_data(ef, &s, &size)))
			continue;
		ret = walk_notes(data, size, s.addralign == 8 ? 8 : 4, fn, arg);
		if (ret)
			return ret;
	}
	if (ef->shnum)
		return 0;
	for (unsigned int i = 0; i < ef->phnum; i++) {
		Elf64_Phdr ph;

		read_phdr(ef, i, &ph);
		if (ph.p_type != PT_NOTE || !in_bounds(ph.p_offset, ph.p_filesz, ef->size))
			continue;
		ret = walk_notes(ef->img + ph.p_offset, ph.p_filesz, ph.p_align == 8 ? 8 : 4, fn,
				 arg);
		if (ret)
			return ret;
	}
	return 0;
}

struct build_id {
	uint8_t *id;
	size_t len;
};

static int take_build_id(const struct elf_note *n, void *arg)
{
	struct build_id *b = arg;

	if (n->type != NT_GNU_BUILD_ID || n->namesz != 4 || memcmp(n->name, "GNU", 4) ||
	    !n->descsz || n->descsz > ELFFILE_BUILD_ID_MAX)
		return 0;
	memcpy(b->id, n->desc, n->descsz);
	b->len = n->descsz;
	return 1;
}

size_t elffile__build_id(const struct elffile *ef, uint8_t id[ELFFILE_BUILD_ID_MAX])
{
	struct build_id b = { id, 0 };

	elffile__notes(ef, take_build_id, &b);
	return b.len;
}

int elffile__debuglink(const struct elffile *ef, const char **name, uint32_t *crc)
{
	struct elf_section s;
	const char *data;
	size_t size, len;
	uint64_t crcoff;
	uint8_t le[4];

	if (elffile__find_section(ef, ".gnu_debuglink", &s) ||
	    !(data = elffile__section_data(ef, &s, &size)))
		return -ENOENT;
	len = strnlen(data, size < ELFFILE_NAME_MAX ? size : ELFFILE_NAME_MAX);
	if (!len || len == size || len == ELFFILE_NAME_MAX)
		return -ENOENT;
	/* the name, its NUL and padding to 4 bytes, then the CRC */
	crcoff = align_up(len + 1, 4);
	if (!in_bounds(crcoff, 4, size))
		return -ENOENT;
	memcpy(le, data + crcoff, 4);
	*crc = (uint32_t)le[0] | (uint32_t)le[1] << 8 | (uint32_t)le[2] << 16 |
	       (uint32_t)le[3] << 24;
	*name = data;
	return 0;
}
