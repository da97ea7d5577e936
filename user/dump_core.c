// SPDX-License-Identifier: BSD-2-Clause
/*
 * dump --core: a core dump read as dump reads a live process. The
 * interpreter is found among the files the core's NT_FILE names, as among
 * /proc/PID/maps for a live one (libpython, then the program, then any
 * other "python" file); the offsets are resolved by pyproc.c; the stacks
 * are walked by uwalk.c, with remote_read() answered from the core. Nothing
 * comes from /proc: the process may be long gone, or its pid another's.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "coredump.h"
#include "dump_core.h"
#include "log.h"
#include "pyelf.h"
#include "pyproc.h"
#include "remote.h"

/* Interpreter files tried, at most. */
#define CANDIDATES_MAX 8

struct core_proc {
	struct core *core;
	struct py_process *p;
};

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

static int read_core(void *ctx, uint64_t addr, void *buf, size_t len)
{
	return core__read(ctx, addr, buf, len);
}

/*
 * The mapped files worth an ELF look, best first, each by its mapping of
 * the lowest file offset (the one at its first PT_LOAD).
 */
static size_t candidates(const struct core *c, const struct core_mapping **out)
{
	const struct core_mapping *exe = core__exe(c), *all[CANDIDATES_MAX * 4];
	size_t n = 0, nall = 0;

	for (size_t i = 0; i < core__nmappings(c); i++) {
		const struct core_mapping *m = core__mapping(c, i);
		const char *b = base_name(m->path);
		size_t j;

		if (m->path[0] != '/')
			continue;
		for (j = 0; j < nall && strcmp(all[j]->path, m->path); j++)
			;
		if (j < nall) {
			if (m->offset < all[j]->offset)
				all[j] = m;
			continue;
		}
		if (nall < sizeof(all) / sizeof(all[0]) &&
		    (strstr(b, "python") || strstr(b, "pypy") ||
		     (exe && !strcmp(m->path, exe->path))))
			all[nall++] = m;
	}
	for (int pass = 0; pass < 3; pass++) {
		for (size_t i = 0; i < nall && n < CANDIDATES_MAX; i++) {
			const char *b = base_name(all[i]->path);
			int rank = strstr(b, "libpython") ? 0 :
				   exe && !strcmp(all[i]->path, exe->path) ? 1 : 2;

			if (rank == pass)
				out[n++] = all[i];
		}
	}
	return n;
}

/* The interpreter file of a candidate, when it is the one the process ran. */
static int open_interpreter(struct core *c, const struct core_mapping *m, char *why,
			    size_t whylen)
{
	struct stat st;
	int fd, err;

	fd = open(m->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		err = -errno;
		snprintf(why, whylen, "cannot open '%s', a file the process had mapped: %s",
			 m->path, strerror(-err));
		return err;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		snprintf(why, whylen, "'%s', a file the process had mapped, is not a regular file",
			 m->path);
		close(fd);
		return -EINVAL;
	}
	err = core__check_file(c, m, fd);
	if (err && err != -ENOENT) {
		snprintf(why, whylen, "'%s' is not the file the process had mapped "
			 "(changed since the core was written?)", m->path);
		close(fd);
		return -ESTALE;
	}
	return fd;
}

/*
 * The process with the interpreter in fd (named module), its lowest mapping
 * at start from file offset offset: -ENOENT when the file holds none.
 */
static int open_image(struct core_proc *cp, int fd, const struct core_mapping *m, char *why,
		      size_t whylen)
{
	struct py_process *p = py_process__new(core__pid(cp->core));
	struct py_elf elf;
	uint64_t bias;
	int err;

	why[0] = 0;
	err = p ? py_elf__read(fd, &elf) : -ENOMEM;
	/* A file that is no readable ELF holds no interpreter either. */
	if (err && err != -ENOMEM)
		err = -ENOENT;
	if (!err) {
		snprintf(p->module, sizeof(p->module), "%s", m->path);
		snprintf(p->cmdline, sizeof(p->cmdline), "%s", core__cmdline(cp->core));
		/* As for a live process: the lowest mapping is at the first PT_LOAD. */
		bias = elf.dyn ? m->start - m->offset - (elf.load_vaddr - elf.load_offset) : 0;
		err = py_process__setup(p, &elf, bias, why, whylen);
	}
	if (err) {
		py_process__free(p);
		return err;
	}
	cp->p = p;
	return 0;
}

/* The first candidate that holds a CPython interpreter; -EPROTONOSUPPORT
 * with the reason when none does. */
static int open_process(struct core_proc *cp, char *why, size_t whylen)
{
	const struct core_mapping *cands[CANDIDATES_MAX];
	size_t n = candidates(cp->core, cands);
	int pid = core__pid(cp->core), err = -ENOENT;
	char first[512] = "";

	remote_set_source(pid, read_core, cp->core);
	for (size_t i = 0; i < n; i++) {
		int fd;

		if (strstr(base_name(cands[i]->path), "pypy")) {
			snprintf(why, whylen, "PyPy ('%s') is not supported: pyspy-bpf reads CPython",
				 cands[i]->path);
			return -EPROTONOSUPPORT;
		}
		fd = open_interpreter(cp->core, cands[i], why, whylen);
		if (fd < 0) {
			/* Said if no other file is the interpreter. */
			if (!first[0])
				snprintf(first, sizeof(first), "%s", why);
			continue;
		}
		err = open_image(cp, fd, cands[i], why, whylen);
		close(fd);
		if (err != -ENOENT)
			break;
	}
	if (err == -ENOENT)
		snprintf(why, whylen, "%s", first[0] ? first :
			 "its process ran no CPython interpreter (no python file was mapped)");
	return err == -ENOMEM || !err ? err : -EPROTONOSUPPORT;
}

int core_proc__open(const char *path, struct core_proc **out, char *why, size_t whylen)
{
	struct core_proc *cp = calloc(1, sizeof(*cp));
	int err;

	*out = NULL;
	if (!cp)
		return -ENOMEM;
	err = core__open(path, &cp->core, why, whylen);
	if (!err)
		err = open_process(cp, why, whylen);
	if (err) {
		core_proc__free(cp);
		return err;
	}
	*out = cp;
	return 0;
}

void core_proc__free(struct core_proc *cp)
{
	if (!cp)
		return;
	py_process__free(cp->p);
	if (cp->core)
		remote_set_source(0, NULL, NULL);
	core__free(cp->core);
	free(cp);
}

struct py_process *core_proc__process(struct core_proc *cp)
{
	return cp->p;
}

const char *core_proc__exe(const struct core_proc *cp)
{
	const struct core_mapping *m = core__exe(cp->core);

	return m ? m->path : "";
}

int core_proc__walk(struct core_proc *cp, bool frame_addrs, uwalk_emit_fn emit, void *ctx)
{
	uint64_t counts[PY_C__MAX] = { 0 };
	struct uwalk *u = uwalk__new(emit, ctx);
	size_t i, n = core__nthreads(cp->core);
	const char *comm = core__comm(cp->core);

	if (!u)
		return -ENOMEM;
	/* Never empty: an empty name is looked up in /proc, which is not
	 * this process's. */
	if (!comm[0])
		comm = base_name(cp->p->module);
	if (core__threads_left_out(cp->core))
		pr_warn("core: %zu threads are missing: more than %u", core__threads_left_out(cp->core),
			CORE_MAX_THREADS);
	uwalk__entries(u, true);
	uwalk__begin(u);
	for (i = 0; i < n; i++) {
		const struct core_thread *t = core__thread(cp->core, i);
		/*
		 * A core does not say whether a thread was running. One outside
		 * any system call was running its own code (or waiting for a
		 * CPU); one inside is taken as idle, as a thread blocked in one
		 * would be.
		 */
		struct py_task_fact f = {
			.pid = (uint32_t)core__pid(cp->core), .tid = (uint32_t)t->tid,
			.pthread_id = t->fs_base, .running = !t->in_syscall,
		};

		/* Only the process's name is in a core: threads had it too
		 * unless they were renamed. */
		/* Cut as the kernel's are; f.comm's last byte stays 0. */
		memcpy(f.comm, comm, strnlen(comm, sizeof(f.comm) - 1));
		uwalk__thread(u, &cp->p->bpf, &f, frame_addrs, counts);
	}
	uwalk__free(u);
	if (counts[PY_C_INDEX_SHORT])
		pr_warn("core: more than %u thread states: threads past them may be missing",
			PY_MAX_INDEX);
	return 0;
}
