// SPDX-License-Identifier: BSD-2-Clause
/*
 * ELF core dumps: the headers and notes are read once (bounded, nothing
 * trusted), the memory on demand. A core written by the kernel or by gdb's
 * gcore holds one PT_LOAD per mapping; the bytes of file-backed mappings
 * the process never wrote are usually left out (p_filesz short of
 * p_memsz, down to 0), and are read from the file NT_FILE names, once its
 * bytes the core does hold (the kernel keeps every ELF file's first page)
 * agree with it.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>
#include "coredump.h"

#ifndef NT_FILE
#define NT_FILE 0x46494c45
#endif

/* struct elf_prstatus and elf_prpsinfo of x86-64: where the fields used are. */
#define PRSTATUS_CURSIG 12
#define PRSTATUS_PID 32
#define PRSTATUS_REGS 112
#define REG_ORIG_RAX 15
#define REG_FS_BASE 21
#define PRSTATUS_MIN (PRSTATUS_REGS + (REG_FS_BASE + 1) * 8)
#define PRPSINFO_PID 24
#define PRPSINFO_FNAME 40
#define PRPSINFO_PSARGS 56
#define PRPSINFO_MIN (PRPSINFO_PSARGS + 80)

/* Bytes below AT_EXECFN's string searched for the auxiliary vector (the
 * argument and environment strings lie between them), arguments taken. */
#define ARGV_SCAN (4u << 20)
#define ARGV_MAX 4096
/* Bytes of an auxiliary vector kept. */
#define AUXV_MAX 4096

/* Mapped files kept open for the bytes the core left out. */
#define FILE_SLOTS 16
/* Bytes of a file compared with the core's copy. */
#define CHECK_BYTES 4096

/* File systems whose files are no mapped program: reading some of them
 * waits (/proc/kmsg, tracefs's trace_pipe). */
#define PROC_MAGIC 0x9fa0
#define SYSFS_MAGIC 0x62656572
#define DEBUGFS_MAGIC 0x64626720
#define TRACEFS_MAGIC 0x74726163

struct segment {
	uint64_t vaddr, memsz, offset, filesz;
	bool writable;
};

struct file_slot {
	const char *path;	/* NULL: free */
	int fd;			/* or a negative errno: the file cannot be used */
	uint64_t size;
	uint64_t used;
};

struct core {
	core_read_fn rd;
	void *ctx;
	uint64_t size;
	int fd;			/* core__open()'s, else -1 */
	bool no_files;
	int pid;
	char comm[17];
	char cmdline[CORE_CMDLINE_MAX];
	uint64_t entry;		/* AT_ENTRY, 0 if unknown */
	uint64_t execfn;	/* AT_EXECFN: the program's name, atop the stack */
	uint8_t *auxv;		/* NT_AUXV, as the stack holds it too */
	size_t auxv_len;
	struct segment *segs;	/* by vaddr */
	size_t nsegs;
	struct core_thread *threads;
	size_t nthreads, cap;
	size_t threads_out;	/* past CORE_MAX_THREADS, or out of memory */
	struct core_mapping *maps;
	size_t nmaps;
	char *paths;		/* NT_FILE's names, which maps[].path point into */
	struct file_slot files[FILE_SLOTS];
	uint64_t clock;
};

static int fail(char *why, size_t whylen, int err, const char *what)
{
	snprintf(why, whylen, "%s", what);
	return err;
}

static uint64_t ld64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static uint32_t ld32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static int cmp_seg(const void *x, const void *y)
{
	const struct segment *a = x, *b = y;

	return (a->vaddr > b->vaddr) - (a->vaddr < b->vaddr);
}

static int cmp_map(const void *x, const void *y)
{
	const struct core_mapping *a = x, *b = y;

	return (a->start > b->start) - (a->start < b->start);
}

static void add_thread(struct core *c, const uint8_t *d)
{
	struct core_thread *t;

	if (c->nthreads == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 16;

		if (c->cap >= CORE_MAX_THREADS ||
		    !(t = realloc(c->threads, cap * sizeof(*t)))) {
			c->threads_out++;
			return;
		}
		c->threads = t;
		c->cap = cap;
	}
	t = &c->threads[c->nthreads++];
	t->tid = (int)ld32(d + PRSTATUS_PID);
	t->cursig = d[PRSTATUS_CURSIG] | d[PRSTATUS_CURSIG + 1] << 8;
	t->fs_base = ld64(d + PRSTATUS_REGS + REG_FS_BASE * 8);
	/* -1 outside a system call; its number inside one. */
	t->in_syscall = (int64_t)ld64(d + PRSTATUS_REGS + REG_ORIG_RAX * 8) >= 0;
}

static void copy_str(char *dst, size_t dstlen, const uint8_t *src, size_t len)
{
	size_t n = strnlen((const char *)src, len < dstlen ? len : dstlen - 1);

	memcpy(dst, src, n);
	dst[n] = 0;
	/* psargs ends in a space when the arguments filled it. */
	while (n && dst[n - 1] == ' ')
		dst[--n] = 0;
}

/* NT_FILE: count, page size, count (start, end, page offset), count names. */
static int parse_files(struct core *c, const uint8_t *d, uint64_t len, char *why, size_t whylen)
{
	uint64_t count, page, names, i;
	const char *p, *end;

	if (c->maps || len < 16)
		return c->maps ? 0 : fail(why, whylen, -EINVAL, "NT_FILE note too short");
	count = ld64(d);
	page = ld64(d + 8);
	if (count > CORE_MAX_SEGMENTS || count * 24 > len - 16)
		return fail(why, whylen, -EINVAL, "NT_FILE note: bad mapping count");
	if (!page || page > (1u << 30) || (page & (page - 1)))
		return fail(why, whylen, -EINVAL, "NT_FILE note: bad page size");
	names = 16 + count * 24;
	c->paths = malloc(len - names + 1);
	c->maps = calloc(count + 1, sizeof(*c->maps));
	if (!c->paths || !c->maps)
		return -ENOMEM;
	memcpy(c->paths, d + names, len - names);
	c->paths[len - names] = 0;
	p = c->paths;
	end = c->paths + (len - names);
	for (i = 0; i < count; i++) {
		const uint8_t *e = d + 16 + i * 24;
		struct core_mapping *m = &c->maps[i];
		size_t n;

		if (p >= end)
			return fail(why, whylen, -EINVAL, "NT_FILE note: names missing");
		n = strlen(p);
		m->start = ld64(e);
		m->end = ld64(e + 8);
		m->offset = ld64(e + 16) * page;
		if (m->start >= m->end || ld64(e + 16) > UINT64_MAX / page)
			return fail(why, whylen, -EINVAL, "NT_FILE note: bad mapping");
		m->path = p;
		p += n + 1;
	}
	c->nmaps = count;
	/* By address, for the lookups of reads (the kernel writes them so). */
	qsort(c->maps, c->nmaps, sizeof(*c->maps), cmp_map);
	return 0;
}

/* One note's contents: what is kept of it. */
static int take_note(struct core *c, uint32_t type, const uint8_t *d, uint64_t len,
		     char *why, size_t whylen)
{
	switch (type) {
	case NT_PRSTATUS:
		if (len < PRSTATUS_MIN)
			return fail(why, whylen, -EINVAL, "NT_PRSTATUS note too short");
		add_thread(c, d);
		return 0;
	case NT_PRPSINFO:
		if (len < PRPSINFO_MIN)
			return fail(why, whylen, -EINVAL, "NT_PRPSINFO note too short");
		c->pid = (int)ld32(d + PRPSINFO_PID);
		copy_str(c->comm, sizeof(c->comm), d + PRPSINFO_FNAME, 16);
		copy_str(c->cmdline, 81, d + PRPSINFO_PSARGS, 80);
		return 0;
	case NT_AUXV:
		for (uint64_t i = 0; i + 16 <= len; i += 16) {
			if (ld64(d + i) == AT_ENTRY)
				c->entry = ld64(d + i + 8);
			if (ld64(d + i) == AT_EXECFN)
				c->execfn = ld64(d + i + 8);
		}
		if (!c->auxv && len >= 16 && len <= AUXV_MAX && (c->auxv = malloc(len))) {
			memcpy(c->auxv, d, len);
			c->auxv_len = len;
		}
		return 0;
	case NT_FILE:
		return parse_files(c, d, len, why, whylen);
	}
	return 0;
}

/* The notes of one PT_NOTE segment, read one at a time. */
static int parse_notes(struct core *c, uint64_t off, uint64_t len, char *why, size_t whylen)
{
	uint64_t pos = 0;
	uint8_t *d = NULL;
	int err = 0;

	while (!err && len - pos >= 12) {
		uint32_t h[3];
		char name[8] = "";
		uint64_t nlen, dlen;

		if ((err = c->rd(c->ctx, off + pos, h, sizeof(h))))
			break;
		nlen = (h[0] + 3ULL) & ~3ULL;
		dlen = (h[1] + 3ULL) & ~3ULL;
		if (nlen + dlen > len - pos - 12) {
			err = fail(why, whylen, -EINVAL, "a note runs past its segment");
			break;
		}
		if (h[0] <= sizeof(name))
			err = c->rd(c->ctx, off + pos + 12, name, h[0]);
		/* The kernel's and gdb's notes are named "CORE" (NT_FILE too). */
		if (!err && h[0] == 5 && !memcmp(name, "CORE", 5) && h[1] <= CORE_MAX_NOTE &&
		    (h[2] == NT_PRSTATUS || h[2] == NT_PRPSINFO || h[2] == NT_AUXV ||
		     h[2] == NT_FILE)) {
			free(d);
			d = malloc(h[1] + 1);
			if (!d)
				err = -ENOMEM;
			if (!err)
				err = c->rd(c->ctx, off + pos + 12 + nlen, d, h[1]);
			if (!err)
				err = take_note(c, h[2], d, h[1], why, whylen);
		}
		pos += 12 + nlen + dlen;
	}
	free(d);
	return err;
}

/* The program headers: segments kept, notes parsed. */
static int parse_phdrs(struct core *c, uint64_t phoff, uint64_t phnum, char *why, size_t whylen)
{
	Elf64_Phdr ph;
	uint64_t i;
	int err;

	if (phnum > CORE_MAX_SEGMENTS)
		return fail(why, whylen, -EINVAL, "too many program headers");
	if (phoff > c->size || phnum * sizeof(ph) > c->size - phoff)
		return fail(why, whylen, -EINVAL, "truncated: the program headers are cut off");
	c->segs = calloc(phnum + 1, sizeof(*c->segs));
	if (!c->segs)
		return -ENOMEM;
	for (i = 0; i < phnum; i++) {
		if ((err = c->rd(c->ctx, phoff + i * sizeof(ph), &ph, sizeof(ph))))
			return err;
		if (ph.p_type != PT_LOAD && ph.p_type != PT_NOTE)
			continue;
		if (ph.p_offset > c->size || ph.p_filesz > c->size - ph.p_offset) {
			snprintf(why, whylen, "truncated: a segment needs bytes up to %llu, "
				 "the file has %llu", (unsigned long long)ph.p_offset +
				 ph.p_filesz, (unsigned long long)c->size);
			return -EINVAL;
		}
		if (ph.p_type == PT_NOTE) {
			if ((err = parse_notes(c, ph.p_offset, ph.p_filesz, why, whylen)))
				return err;
			continue;
		}
		if (ph.p_filesz > ph.p_memsz || ph.p_vaddr + ph.p_memsz < ph.p_vaddr)
			return fail(why, whylen, -EINVAL, "a PT_LOAD segment is malformed");
		if (!ph.p_memsz)
			continue;
		c->segs[c->nsegs++] = (struct segment){
			.vaddr = ph.p_vaddr, .memsz = ph.p_memsz, .offset = ph.p_offset,
			.filesz = ph.p_filesz, .writable = ph.p_flags & PF_W,
		};
	}
	qsort(c->segs, c->nsegs, sizeof(*c->segs), cmp_seg);
	return 0;
}

static int parse_ehdr(struct core *c, char *why, size_t whylen)
{
	Elf64_Ehdr eh;
	uint64_t phnum;
	int err;

	if (c->size < sizeof(eh) || c->rd(c->ctx, 0, &eh, sizeof(eh)) ||
	    memcmp(eh.e_ident, ELFMAG, SELFMAG))
		return fail(why, whylen, -EINVAL, "not an ELF file");
	if (eh.e_type != ET_CORE)
		return fail(why, whylen, -EINVAL, "an ELF file but not a core dump");
	if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_ident[EI_DATA] != ELFDATA2LSB ||
	    eh.e_machine != EM_X86_64)
		return fail(why, whylen, -EINVAL, "not an x86-64 core dump");
	if (eh.e_phentsize != sizeof(Elf64_Phdr))
		return fail(why, whylen, -EINVAL, "unexpected program header size");
	phnum = eh.e_phnum;
	if (phnum == PN_XNUM) {
		/* More than 65534 segments: the count is in section 0's sh_info. */
		Elf64_Shdr sh;

		if (eh.e_shoff > c->size || sizeof(sh) > c->size - eh.e_shoff)
			return fail(why, whylen, -EINVAL, "truncated: section header 0 is cut off");
		if ((err = c->rd(c->ctx, eh.e_shoff, &sh, sizeof(sh))))
			return err;
		phnum = sh.sh_info;
	}
	return parse_phdrs(c, eh.e_phoff, phnum, why, whylen);
}

/* The segment holding addr, or NULL. */
static const struct segment *segment_at(const struct core *c, uint64_t addr)
{
	size_t lo = 0, hi = c->nsegs;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (c->segs[mid].vaddr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo || addr - c->segs[lo - 1].vaddr >= c->segs[lo - 1].memsz)
		return NULL;
	return &c->segs[lo - 1];
}

/* argv joined by spaces into the command line, from bytes [lo, hi) of the
 * stack, argv's NULL at k; false when they do not look like argv. */
static bool join_argv(struct core *c, const uint8_t *buf, uint64_t lo, uint64_t hi, uint64_t k)
{
	uint64_t n, base, p;
	size_t len = 0;

	/* argc, then argc pointers, then the NULL at k. */
	for (n = 0; n < ARGV_MAX && k - lo >= 8 * (n + 1); n++)
		if (ld64(buf + (k - 8 * (n + 1) - lo)) == n)
			break;
	if (n == ARGV_MAX || k - lo < 8 * (n + 1))
		return false;
	base = k - 8 * n;
	for (uint64_t j = 0; j < n; j++) {
		size_t sl;

		p = ld64(buf + (base + 8 * j - lo));
		if (p < lo || p >= hi)
			return false;
		if (j)
			c->cmdline[len++] = ' ';
		sl = strnlen((const char *)buf + (p - lo), hi - p);
		if (sl > sizeof(c->cmdline) - 1 - len)
			sl = sizeof(c->cmdline) - 1 - len;
		memcpy(c->cmdline + len, buf + (p - lo), sl);
		len += sl;
		if (len + 1 >= sizeof(c->cmdline))
			break;
	}
	c->cmdline[len] = 0;
	return n > 0;
}

/*
 * The whole command line, where the process started: the kernel's copy
 * keeps 80 bytes, gdb's the program alone. At exec the stack holds argc,
 * argv, NULL, envp, NULL, then the auxiliary vector (which NT_AUXV repeats),
 * with the strings above, AT_EXECFN's last.
 */
static void argv_from_stack(struct core *c)
{
	const struct segment *s = c->auxv ? segment_at(c, c->execfn) : NULL;
	char saved[sizeof(c->cmdline)];
	uint64_t lo, hi, a, k;
	uint8_t *buf;

	if (!s || c->execfn - s->vaddr >= s->filesz)
		return;
	hi = c->execfn;
	lo = hi - s->vaddr > ARGV_SCAN ? (hi - ARGV_SCAN + 7) & ~7ULL : s->vaddr;
	if (hi - lo < c->auxv_len + 24 || !(buf = malloc(hi - lo)))
		return;
	if (c->rd(c->ctx, s->offset + (lo - s->vaddr), buf, hi - lo))
		goto out;
	for (a = lo + ((hi - lo - c->auxv_len) & ~7ULL); a >= lo + 16; a -= 8)
		if (!memcmp(buf + (a - lo), c->auxv, c->auxv_len))
			break;
	if (a < lo + 16 || ld64(buf + (a - 8 - lo)))
		goto out;
	for (k = a - 16; ld64(buf + (k - lo)); k -= 8)
		if (k - lo < 8)
			goto out;
	memcpy(saved, c->cmdline, sizeof(saved));
	if (!join_argv(c, buf, lo, hi, k))
		memcpy(c->cmdline, saved, sizeof(saved));
out:
	free(buf);
}

int core__parse(core_read_fn rd, void *ctx, uint64_t size, struct core **out, char *why,
		size_t whylen)
{
	struct core *c = calloc(1, sizeof(*c));
	int err;

	*out = NULL;
	why[0] = 0;
	if (!c)
		return -ENOMEM;
	c->rd = rd;
	c->ctx = ctx;
	c->size = size;
	c->fd = -1;
	err = parse_ehdr(c, why, whylen);
	if (err == -EIO && !why[0])
		err = fail(why, whylen, -EINVAL, "truncated: a header is cut off");
	if (!err && !c->nthreads)
		err = fail(why, whylen, -EINVAL, "no thread in it (no NT_PRSTATUS note)");
	if (!err && c->pid <= 0)
		c->pid = c->threads[0].tid;
	if (!err && c->pid <= 0)
		err = fail(why, whylen, -EINVAL, "no process id in it");
	if (!err && !c->maps)
		err = fail(why, whylen, -EINVAL, "no file mappings in it (no NT_FILE note)");
	if (err && !why[0])
		snprintf(why, whylen, "%s", strerror(-err));
	if (err) {
		core__free(c);
		return err;
	}
	argv_from_stack(c);
	if (!c->cmdline[0])
		snprintf(c->cmdline, sizeof(c->cmdline), "%s", c->comm);
	*out = c;
	return 0;
}

static int read_fd(void *ctx, uint64_t off, void *buf, size_t len)
{
	int fd = *(int *)ctx;
	ssize_t n = pread(fd, buf, len, (off_t)off);

	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EIO;
}

int core__open(const char *path, struct core **out, char *why, size_t whylen)
{
	struct stat st;
	int *fd = malloc(sizeof(*fd)), err;

	*out = NULL;
	if (!fd)
		return -ENOMEM;
	/* Not blocking: a FIFO given as the core must not wait for a writer. */
	*fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (*fd < 0 || fstat(*fd, &st)) {
		err = -errno;
		snprintf(why, whylen, "%s", strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		err = fail(why, whylen, -EINVAL, "not a regular file");
		goto fail;
	}
	err = core__parse(read_fd, fd, (uint64_t)st.st_size, out, why, whylen);
	if (err)
		goto fail;
	(*out)->fd = *fd;
	(*out)->ctx = &(*out)->fd;
	free(fd);
	return 0;
fail:
	if (*fd >= 0)
		close(*fd);
	free(fd);
	return err;
}

void core__free(struct core *c)
{
	if (!c)
		return;
	for (int i = 0; i < FILE_SLOTS; i++)
		if (c->files[i].path && c->files[i].fd >= 0)
			close(c->files[i].fd);
	if (c->fd >= 0)
		close(c->fd);
	free(c->segs);
	free(c->threads);
	free(c->maps);
	free(c->paths);
	free(c->auxv);
	free(c);
}

void core__no_files(struct core *c)
{
	c->no_files = true;
}

int core__pid(const struct core *c)
{
	return c->pid;
}

const char *core__cmdline(const struct core *c)
{
	return c->cmdline;
}

const char *core__comm(const struct core *c)
{
	return c->comm;
}

const struct core_mapping *core__exe(const struct core *c)
{
	for (size_t i = 0; c->entry && i < c->nmaps; i++)
		if (c->maps[i].start <= c->entry && c->entry < c->maps[i].end)
			return &c->maps[i];
	return NULL;
}

size_t core__nthreads(const struct core *c)
{
	return c->nthreads;
}

size_t core__threads_left_out(const struct core *c)
{
	return c->threads_out;
}

const struct core_thread *core__thread(const struct core *c, size_t i)
{
	return i < c->nthreads ? &c->threads[i] : NULL;
}

size_t core__nmappings(const struct core *c)
{
	return c->nmaps;
}

const struct core_mapping *core__mapping(const struct core *c, size_t i)
{
	return i < c->nmaps ? &c->maps[i] : NULL;
}

static const struct core_mapping *mapping_at(const struct core *c, uint64_t addr)
{
	size_t lo = 0, hi = c->nmaps;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (c->maps[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo && addr < c->maps[lo - 1].end ? &c->maps[lo - 1] : NULL;
}

int core__check_file(struct core *c, const struct core_mapping *m, int fd)
{
	uint8_t a[CHECK_BYTES], b[CHECK_BYTES];

	for (size_t i = 0; i < c->nmaps; i++) {
		const struct core_mapping *o = &c->maps[i];
		const struct segment *s = segment_at(c, o->start);
		uint64_t in, n;

		/* The ELF header page: read-only, never written by the loader
		 * (RELRO pages are read-only too, but were relocated). */
		if (o->offset || strcmp(o->path, m->path) || !s || s->writable)
			continue;
		in = o->start - s->vaddr;
		if (in >= s->filesz)
			continue;
		n = s->filesz - in < sizeof(a) ? s->filesz - in : sizeof(a);
		if (n > o->end - o->start)
			n = o->end - o->start;
		if (c->rd(c->ctx, s->offset + in, a, n))
			return -EIO;
		if (pread(fd, b, n, (off_t)o->offset) != (ssize_t)n || memcmp(a, b, n))
			return -ESTALE;
		return 0;
	}
	return -ENOENT;
}

/* A mapped file, opened once and checked against the core. */
static struct file_slot *file_of(struct core *c, const struct core_mapping *m)
{
	struct file_slot *f, *victim = &c->files[0];
	struct statfs sf;
	struct stat st;
	int fd;

	for (f = c->files; f < c->files + FILE_SLOTS; f++) {
		if (f->path && !strcmp(f->path, m->path)) {
			f->used = ++c->clock;
			return f;
		}
		if (!f->path || (victim->path && f->used < victim->used))
			victim = f;
	}
	if (victim->path && victim->fd >= 0)
		close(victim->fd);
	victim->path = m->path;
	victim->used = ++c->clock;
	victim->size = 0;
	fd = open(m->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		victim->fd = -errno;
		return victim;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || fstatfs(fd, &sf) ||
	    sf.f_type == PROC_MAGIC || sf.f_type == SYSFS_MAGIC ||
	    sf.f_type == DEBUGFS_MAGIC || sf.f_type == TRACEFS_MAGIC) {
		close(fd);
		victim->fd = -EINVAL;
		return victim;
	}
	if (core__check_file(c, m, fd) == -ESTALE) {
		close(fd);
		victim->fd = -ESTALE;
		return victim;
	}
	victim->fd = fd;
	victim->size = (uint64_t)st.st_size;
	return victim;
}

/* Up to len bytes at addr from the file mapped there; how many, or -EFAULT. */
static ssize_t read_file(struct core *c, uint64_t addr, void *buf, size_t len)
{
	const struct core_mapping *m = c->no_files ? NULL : mapping_at(c, addr);
	const struct file_slot *f;
	uint64_t off;

	if (!m || !(f = file_of(c, m)) || f->fd < 0)
		return -EFAULT;
	if (len > m->end - addr)
		len = m->end - addr;
	off = m->offset + (addr - m->start);
	/* Within the file's size only: past it the process had no bytes. */
	if (off < m->offset || off > f->size || len > f->size - off)
		return -EFAULT;
	return pread(f->fd, buf, len, (off_t)off) == (ssize_t)len ? (ssize_t)len : -EFAULT;
}

int core__read(struct core *c, uint64_t addr, void *buf, size_t len)
{
	uint8_t *out = buf;

	if (addr + len < addr)
		return -EFAULT;
	while (len) {
		const struct segment *s = segment_at(c, addr);
		uint64_t in = s ? addr - s->vaddr : 0;
		ssize_t n;

		if (s && in < s->filesz) {
			n = (ssize_t)(s->filesz - in < len ? s->filesz - in : len);
			if (c->rd(c->ctx, s->offset + in, out, (size_t)n))
				return -EFAULT;
		} else {
			size_t want = s && s->memsz - in < len ? s->memsz - in : len;

			n = read_file(c, addr, out, want);
			if (n <= 0)
				return -EFAULT;
		}
		out += n;
		addr += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}
