// SPDX-License-Identifier: BSD-2-Clause
/*
 * --native: files, their unwind rows and symbols, and each process's
 * executable mappings (native.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "clock.h"
#include "elffile.h"
#include "elfsym.h"
#include "hashmap.h"
#include "log.h"
#include "native.h"
#include "native_int.h"
#include "procmaps.h"
#include "remote.h"

/* The mappings are read again when a sample lands in none of them (a
 * library loaded since, or unloaded: see native__maps_changed()), at once
 * after a read that found them changed, then less and less often while
 * reads find nothing new (code in no file, such as a JIT's). */
#define REFRESH_MIN_NS (50 * 1000000ULL)
#define REFRESH_MAX_NS (2000 * 1000000ULL)
/* The vDSO is a page or two; a mapping larger than this is not one. */
#define VDSO_MAX (64u << 10)

static uint64_t file_key(const struct stat *st)
{
	uint64_t k[5] = { st->st_dev, st->st_ino, (uint64_t)st->st_size,
			  (uint64_t)st->st_mtim.tv_sec, (uint64_t)st->st_mtim.tv_nsec };

	return hash_bytes(k, sizeof(k), 0x6e617469766546ULL);
}

static void free_name(void *ctx, void *value)
{
	(void)ctx;
	free(value);
}

static void file_free(struct native_file *f)
{
	if (!f)
		return;
	if (f->names)
		hashmap__free_all(f->names, free_name, NULL);
	elfsym__free(f->syms);
	free(f->funcs);
	free(f);
}

int native__new(const struct native_maps *maps, struct native **out)
{
	struct native *n = calloc(1, sizeof(*n));

	*out = NULL;
	if (!n)
		return -ENOMEM;
	n->maps = *maps;
	n->by_key = hashmap__new();
	n->procs = hashmap__new();
	if (!n->by_key || !n->procs) {
		native__free(n);
		return -ENOMEM;
	}
	*out = n;
	return 0;
}

static void free_proc(void *ctx, void *value)
{
	(void)ctx;
	free(value);
}

void native__free(struct native *n)
{
	if (!n)
		return;
	for (size_t i = 0; i < n->nfiles; i++)
		file_free(n->files[i]);
	free(n->files);
	hashmap__free(n->by_key);
	if (n->procs)
		hashmap__free_all(n->procs, free_proc, NULL);
	free(n);
}

/*
 * The file's symbols, for names: its own tables, MiniDebugInfo, and debug
 * files installed under the process's root. A file without any is still
 * unwound; its frames are named library+offset.
 */
static void file_symbols(struct native_file *f, const struct elffile *ef, pid_t pid)
{
	char root[64];
	struct elfsym_opts o = { .root = root, .path = f->path[0] == '/' ? f->path : NULL };

	snprintf(root, sizeof(root), "/proc/%d/root", pid);
	if (elfsym__new(ef, &o, &f->syms))
		f->syms = NULL;
	f->names = hashmap__new();
}

/* What is kept of the file's program headers. */
static void file_loads(struct native_file *f, const struct elffile *ef)
{
	unsigned int i, n = elffile__nloads(ef);

	for (i = 0; i < n && f->nloads < NATIVE_LOADS; i++)
		if (!elffile__load(ef, i, &f->loads[f->nloads]))
			f->nloads++;
}

/*
 * The link-time address of a mapping at file offset off: the PT_LOAD it
 * maps, which may start within the mapping's first page.
 */
static int mapping_vaddr(const struct native_file *f, uint64_t off, uint64_t *vaddr)
{
	for (unsigned int i = 0; i < f->nloads; i++) {
		const struct elf_load *l = &f->loads[i];
		uint64_t page = l->offset & ~(uint64_t)4095;

		if (off >= page && off - page < l->filesz + (l->offset - page)) {
			*vaddr = l->vaddr - (l->offset - off);
			return 0;
		}
	}
	return -ENOENT;
}

/* The file of key, registered from ef (taken over) when new. */
static struct native_file *file_register(struct native *n, pid_t pid, uint64_t key,
					 struct elffile *ef, const char *path)
{
	struct native_file *f, **files;

	f = hashmap__get(n->by_key, key);
	if (f) {
		elffile__free(ef);
		return f;
	}
	if (n->nfiles >= NATIVE_FILES_MAX) {
		n->stats.files_table_full++;
		elffile__free(ef);
		return NULL;
	}
	f = calloc(1, sizeof(*f));
	files = f ? realloc(n->files, (n->nfiles + 1) * sizeof(*files)) : NULL;
	if (!f || !files) {
		free(f);
		elffile__free(ef);
		return NULL;
	}
	n->files = files;
	snprintf(f->path, sizeof(f->path), "%s", path);
	f->base = strrchr(f->path, '/') ? strrchr(f->path, '/') + 1 : f->path;
	f->interp = strstr(f->base, "python") != NULL;
	if (hashmap__put(n->by_key, key, f)) {
		file_free(f);
		elffile__free(ef);
		return NULL;
	}
	/* Ids start at 1: a frame of file 0 is a raw address. */
	n->files[n->nfiles++] = f;
	f->id = n->nfiles;
	n->stats.files++;
	file_loads(f, ef);
	native__file_tables(n, f, ef);
	file_symbols(f, ef, pid);
	elffile__free(ef);
	pr_debug("native: %s: %u unwind rows, %zu symbols", f->path, f->nrows,
		 f->syms ? elfsym__count(f->syms) : 0);
	return f;
}

static int cmp_map(const void *a, const void *b)
{
	const struct py_native_map *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/* The file mapped at e, opened through map_files: the very file, in any
 * mount namespace. */
static struct native_file *mapped_file(struct native *n, pid_t pid, const struct maps_entry *e)
{
	struct elffile *ef = NULL;
	struct stat st;
	uint64_t key;
	char mf[96];
	int fd;

	snprintf(mf, sizeof(mf), "/proc/%d/map_files/%" PRIx64 "-%" PRIx64, pid, e->start,
		 e->end);
	fd = open(mf, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		close(fd);
		return NULL;
	}
	key = file_key(&st);
	/* elffile reads what it needs, it does not map the file: a target
	 * truncating it meanwhile cannot SIGBUS the profiler. */
	if (!hashmap__get(n->by_key, key) && elffile__open_fd(fd, &ef)) {
		close(fd);
		return NULL;
	}
	close(fd);
	return file_register(n, pid, key, ef, e->path);
}

/* The vDSO, where time is read without a system call: its image, read from
 * the process (the same for every process of this boot). */
static struct native_file *vdso_file(struct native *n, pid_t pid, const struct maps_entry *e)
{
	size_t len = e->end - e->start;
	struct elffile *ef;
	uint64_t key;
	void *img;

	if (len > VDSO_MAX || !(img = malloc(len)))
		return NULL;
	if (remote_read(pid, e->start, img, len)) {
		free(img);
		return NULL;
	}
	key = hash_bytes(img, len, 0x7664736fULL);
	if (hashmap__get(n->by_key, key)) {
		free(img);
		return hashmap__get(n->by_key, key);
	}
	if (elffile__from_mem(img, len, true, &ef))
		return NULL;
	return file_register(n, pid, key, ef, "[vdso]");
}

/* One executable mapping of pid into np; false when it is left out. */
static bool add_mapping(struct native *n, pid_t pid, const struct maps_entry *e,
			struct py_native_proc *np)
{
	struct py_native_map *m;
	struct native_file *f;
	uint64_t vaddr;

	f = e->path[0] == '/' ? mapped_file(n, pid, e) : vdso_file(n, pid, e);
	if (!f || mapping_vaddr(f, e->offset, &vaddr))
		return false;
	if (np->nmaps >= PY_NATIVE_MAPS) {
		n->stats.maps_dropped++;
		return false;
	}
	m = &np->maps[np->nmaps++];
	m->start = e->start;
	m->end = e->end;
	m->bias = e->start - vaddr;
	m->file = f->id;
	m->pad = 0;
	return true;
}

/* pid's executable file mappings, sorted by address. */
static int read_maps(struct native *n, pid_t pid, struct py_native_proc *np)
{
	char path[64], line[4096 + 256];
	struct maps_entry e;
	FILE *fp;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	fp = fopen(path, "re");
	if (!fp)
		return -errno;
	np->nmaps = 0;
	while (fgets(line, sizeof(line), fp)) {
		size_t len = strlen(line);

		if (len && line[len - 1] != '\n' && !feof(fp)) {
			int ch;

			while ((ch = getc(fp)) != EOF && ch != '\n')
				;
			continue;
		}
		if (maps__parse_line(line, len, &e) || e.perms[2] != 'x' || !e.pathlen)
			continue;
		((char *)e.path)[e.pathlen] = 0;
		if (e.path[0] != '/' && strcmp(e.path, "[vdso]"))
			continue;
		add_mapping(n, pid, &e, np);
	}
	fclose(fp);
	qsort(np->maps, np->nmaps, sizeof(np->maps[0]), cmp_map);
	return 0;
}

int native__add_proc(struct native *n, pid_t pid)
{
	struct native_proc *pr = hashmap__get(n->procs, pid);
	int err;

	if (!pr) {
		pr = calloc(1, sizeof(*pr));
		if (!pr)
			return -ENOMEM;
		err = hashmap__put(n->procs, pid, pr);
		if (err) {
			free(pr);
			return err;
		}
	}
	pr->read_at = mono_ns();
	err = read_maps(n, pid, &pr->np);
	if (err)
		return err;
	if (bpf_map_update_elem(n->maps.procs_fd, &pid, &pr->np, BPF_ANY))
		return -errno;
	return 0;
}

void native__del_proc(struct native *n, pid_t pid)
{
	free(hashmap__del(n->procs, pid));
	bpf_map_delete_elem(n->maps.procs_fd, &pid);
}

void native__maps_changed(struct native *n, pid_t pid, uint64_t now_ns)
{
	struct native_proc *pr = hashmap__get(n->procs, pid);
	struct py_native_map *before;
	uint32_t nbefore;
	bool same;

	if (!pr || now_ns - pr->read_at < (pr->backoff ? pr->backoff : REFRESH_MIN_NS))
		return;
	nbefore = pr->np.nmaps < PY_NATIVE_MAPS ? pr->np.nmaps : PY_NATIVE_MAPS;
	before = malloc(nbefore * sizeof(*before) + 1);
	if (before)
		memcpy(before, pr->np.maps, nbefore * sizeof(*before));
	pr->read_at = now_ns;
	native__add_proc(n, pid);
	same = before && pr->np.nmaps == nbefore &&
	       !memcmp(before, pr->np.maps, nbefore * sizeof(*before));
	free(before);
	if (!same)
		pr->backoff = REFRESH_MIN_NS;
	else if (!pr->backoff || pr->backoff * 2 < REFRESH_MAX_NS)
		pr->backoff = (pr->backoff ? pr->backoff : REFRESH_MIN_NS) * 2;
	else
		pr->backoff = REFRESH_MAX_NS;
}

struct native_file *native__file(const struct native *n, uint32_t id)
{
	return id && id <= n->nfiles ? n->files[id - 1] : NULL;
}

const struct native_stats *native__stats(const struct native *n)
{
	return &n->stats;
}

struct native_stats *native__stats_mut(struct native *n)
{
	return &n->stats;
}
