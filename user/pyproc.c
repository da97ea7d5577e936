// SPDX-License-Identifier: BSD-2-Clause
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "capture.h"
#include "clock.h"
#include "pyelf.h"
#include "hashmap.h"
#include "log.h"
#include "offsets.h"
#include "paths.h"
#include "procmaps.h"
#include "pyproc.h"
#include "remote.h"
#include "tasks.h"

/* Distinct interpreter files remembered (positive and negative). */
#define ELF_CACHE_MAX 4096
/* Lines of /proc/PID/maps looked at. */
#define MAPS_MAX_LINES 65536
/* Thread names remembered per process. */
#define THREAD_NAMES_MAX 4096
/* How long a thread found gone stays so, without asking /proc again. */
#define GONE_TID_NS 1000000000ULL
/* Python thread names read per process, at most: on the sample path, and
 * when every thread is listed at once (dump). */
#define PY_NAMES_MAX 1024
#define PY_NAMES_ALL_MAX (1u << 20)

struct elf_cache_entry {
	int err;
	struct py_elf elf;
};

static struct hashmap *elf_cache;

static int elf_lookup(int fd, struct py_elf *out)
{
	struct elf_cache_entry *e;
	struct stat st;
	uint64_t key[2];
	uint64_t h;
	int err;

	if (fstat(fd, &st))
		return -errno;
	key[0] = st.st_dev;
	key[1] = st.st_ino;
	h = hash_bytes(key, sizeof(key), (uint64_t)st.st_mtime);
	if (!elf_cache && !(elf_cache = hashmap__new()))
		return -ENOMEM;
	e = hashmap__get(elf_cache, h);
	if (e) {
		*out = e->elf;
		return e->err;
	}
	err = py_elf__read(fd, out);
	if (hashmap__size(elf_cache) >= ELF_CACHE_MAX) {
		hashmap__free_all(elf_cache, NULL, NULL);
		if (!(elf_cache = hashmap__new()))
			return err;
	}
	e = malloc(sizeof(*e));
	if (e) {
		e->err = err;
		e->elf = *out;
		if (hashmap__put(elf_cache, h, e))
			free(e);
	}
	return err;
}

struct candidate {
	uint64_t start, end, offset;
	bool exec;		/* some mapping of it is executable */
	char path[4096];
};

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

static int version_from_name(const char *name, unsigned int *major, unsigned int *minor)
{
	const char *p = strstr(name, "python");
	unsigned int a = 0, b = 0;

	if (!p || sscanf(p, "python%u.%u", &a, &b) != 2 || a < 2 || a > 3)
		return -ENOENT;
	*major = a;
	*minor = b;
	return 0;
}

/*
 * File-backed mappings worth an ELF look, best first: libpython, then the
 * executable, then anything else with "python" in its name.
 */
static int find_candidates(pid_t pid, struct candidate *c, int max)
{
	char dir[64], path[80], exe[4096], line[4608];
	int n = 0, lines = 0, rank, pass;
	ssize_t el;
	FILE *f;

	proc_dir(pid, dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/exe", dir);
	el = readlink(path, exe, sizeof(exe) - 1);
	exe[el > 0 ? el : 0] = 0;

	snprintf(path, sizeof(path), "%s/maps", dir);
	f = fopen(path, "re");
	if (!f)
		return errno == ENOENT ? -ESRCH : -errno;
	struct candidate *all = calloc(64, sizeof(*all));
	int nall = 0;
	if (!all) {
		fclose(f);
		return -ENOMEM;
	}
	while (fgets(line, sizeof(line), f) && lines++ < MAPS_MAX_LINES) {
		struct maps_entry e;
		uint64_t start, end, off;
		size_t len = strlen(line);
		int i;
		const char *file;

		if (len && line[len - 1] != '\n' && !feof(f)) {
			/* Longer than any path the kernel prints: skip all of it,
			 * never read its tail as a line of its own. */
			int ch;

			while ((ch = getc(f)) != EOF && ch != '\n')
				;
			continue;
		}
		if (maps__parse_line(line, len, &e) || !e.pathlen || e.path[0] != '/' ||
		    e.pathlen >= sizeof(all[0].path))
			continue;
		start = e.start;
		end = e.end;
		off = e.offset;
		((char *)e.path)[e.pathlen] = 0;
		file = e.path;
		for (i = 0; i < nall; i++)
			if (!strcmp(all[i].path, file))
				break;
		if (i < nall) {
			all[i].exec |= e.perms[2] == 'x';
			if (off < all[i].offset) {
				all[i].start = start;
				all[i].end = end;
				all[i].offset = off;
			}
			continue;
		}
		if (nall == 64 || (!strstr(base_name(file), "python") &&
				   !strstr(base_name(file), "pypy") && strcmp(file, exe)))
			continue;
		all[nall].start = start;
		all[nall].end = end;
		all[nall].offset = off;
		all[nall].exec = e.perms[2] == 'x';
		snprintf(all[nall].path, sizeof(all[nall].path), "%s", file);
		nall++;
	}
	fclose(f);
	for (pass = 0; pass < 3; pass++) {
		for (int i = 0; i < nall && n < max; i++) {
			const char *b = base_name(all[i].path);

			rank = strstr(b, "libpython") ? 0 : !strcmp(all[i].path, exe) ? 1 : 2;
			/* A loaded interpreter's text is executable: a file only
			 * mapped to be read (a profiler reading a libpython, the
			 * loader half-way through its mappings) runs nothing. */
			if (rank == pass && all[i].exec)
				c[n++] = all[i];
		}
	}
	free(all);
	return n;
}

static int open_mapped(pid_t pid, const struct candidate *c)
{
	char path[4200], dir[64];
	int fd;

	/* map_files reaches the very file mapped, in any mount namespace. */
	snprintf(path, sizeof(path), "/proc/%d/map_files/%" PRIx64 "-%" PRIx64, pid, c->start,
		 c->end);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0)
		return fd;
	proc_dir(pid, dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/root%s", dir, c->path);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

static void reader_init(struct py_process *p)
{
	p->reader.pid = p->pid;
	p->reader.major = p->major;
	p->reader.minor = p->minor;
	p->reader.off = &p->bpf.off;
	p->reader.obj = &p->obj;
	p->reader.sl = &p->strings;
	p->reader.runtime = p->bpf.runtime;
}

int py_process__setup(struct py_process *p, const struct py_elf *elf, uint64_t bias, char *why,
		      size_t whylen)
{
	const struct py_offsets_entry *ent;
	struct py_offsets off;
	struct py_obj_offsets obj;
	uint64_t runtime = elf->runtime ? elf->runtime + bias : 0;
	int err;

	if (elf->py_version) {
		uint64_t v;

		if (!remote_read_u64(p->pid, elf->py_version + bias, &v) && (v >> 24) == 3) {
			p->major = v >> 24;
			p->minor = (v >> 16) & 0xff;
			p->micro = (v >> 8) & 0xff;
		}
	}
	if (!p->major) {
		unsigned int major = 0, minor = 0, i;
		bool named = !version_from_name(base_name(p->module), &major, &minor);

		/* The file name, when it has one, says which string is PY_VERSION. */
		for (i = 0; i < elf->nversions; i++) {
			if (named && (elf->versions[i].major != major ||
				      elf->versions[i].minor != minor))
				continue;
			p->major = elf->versions[i].major;
			p->minor = elf->versions[i].minor;
			p->micro = elf->versions[i].micro;
			break;
		}
		if (!p->major && named) {
			p->major = major;
			p->minor = minor;
		}
	}
	if (!p->major) {
		snprintf(why, whylen, "cannot tell the Python version of '%s'", p->module);
		return -EPROTONOSUPPORT;
	}
	ent = py_offsets__find(p->major, p->minor, p->micro);
	if (!ent) {
		snprintf(why, whylen, "CPython %u.%u.%u is not supported", p->major, p->minor,
			 p->micro);
		return -EPROTONOSUPPORT;
	}
	off = ent->off;
	obj = ent->obj;
	if (p->major == 3 && p->minor >= 13) {
		uint8_t dbg[4096];
		char e[128] = "";

		if (!runtime || remote_read(p->pid, runtime, dbg, sizeof(dbg))) {
			snprintf(why, whylen, "cannot read _Py_DebugOffsets");
			return -EPROTONOSUPPORT;
		}
		err = py_offsets__apply_debug(&off, &obj, dbg, sizeof(dbg), p->major, p->minor, e,
					      sizeof(e));
		if (err) {
			snprintf(why, whylen, "_Py_DebugOffsets: %s", e);
			return -EPROTONOSUPPORT;
		}
	}

	memset(&p->bpf, 0, sizeof(p->bpf));
	p->bpf.off = off;
	p->bpf.code_type = elf->code_type ? elf->code_type + bias : 0;
	if (off.flags & PY_F_INTERP_HEAD_SYM) {
		if (!elf->interp_head) {
			snprintf(why, whylen, "no 'interp_head' symbol (stripped interpreter)");
			return -EPROTONOSUPPORT;
		}
		p->bpf.runtime = elf->interp_head + bias;
		p->bpf.gil_holder = elf->tstate_current ? elf->tstate_current + bias : 0;
	} else {
		if (!runtime) {
			snprintf(why, whylen, "no '_PyRuntime' symbol");
			return -EPROTONOSUPPORT;
		}
		p->bpf.runtime = runtime;
		if (off.runtime_gil_holder && !(off.flags & PY_F_GIL_INTERP))
			p->bpf.gil_holder = runtime + off.runtime_gil_holder;
	}
	symcache__str_layout(&p->strings, &obj, p->major);
	if (p->major == 2 ? elf->string_type : elf->unicode_type)
		p->strings.str_type = (p->major == 2 ? elf->string_type : elf->unicode_type) + bias;
	p->obj = obj;
	reader_init(p);
	p->syms = symcache__new(p->pid, &off, &p->strings);
	return p->syms ? 0 : -ENOMEM;
}

struct py_process *py_process__new(pid_t pid)
{
	struct py_process *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->pid = pid;
	p->thread_names = hashmap__new();
	p->py_names = hashmap__new();
	if (!p->thread_names || !p->py_names) {
		hashmap__free(p->thread_names);
		hashmap__free(p->py_names);
		free(p);
		return NULL;
	}
	return p;
}

/* What /proc/PID/exe points to, with the mount namespace's device and inode. */
static void exe_id(pid_t pid, uint64_t id[2])
{
	char path[80];
	struct stat st;

	proc_dir(pid, path, sizeof(path) - 4);
	strcat(path, "/exe");
	id[0] = id[1] = 0;
	if (!stat(path, &st)) {
		id[0] = st.st_dev;
		id[1] = st.st_ino;
	}
}

/* The process as /proc, its ELF file and its memory show it; *elf and
 * *bias: what setup() was given, for a capture. */
static int open_live(pid_t pid, struct py_process **out, char *why, size_t whylen,
		     struct py_elf *found, uint64_t *found_bias)
{
	struct candidate *cands = NULL;
	struct py_process *p = NULL;
	int n, i, err = -ENOENT;
	uint64_t exe_before[2], exe_after[2];

	*out = NULL;
	why[0] = 0;
	exe_id(pid, exe_before);
	cands = calloc(8, sizeof(*cands));
	p = py_process__new(pid);
	if (!cands || !p) {
		err = -ENOMEM;
		goto cleanup;
	}
	p->start_time = proc_start_time(pid);
	p->ns_pid = proc_ns_pid(pid);
	n = find_candidates(pid, cands, 8);
	if (n < 0) {
		err = n;
		goto cleanup;
	}
	for (i = 0; i < n; i++) {
		struct py_elf elf;
		int fd;

		if (strstr(base_name(cands[i].path), "pypy")) {
			snprintf(why, whylen, "PyPy ('%s') is not supported: pyspy-bpf reads CPython",
				 cands[i].path);
			err = -EPROTONOSUPPORT;
			break;
		}
		fd = open_mapped(pid, &cands[i]);

		if (fd < 0)
			continue;
		err = elf_lookup(fd, &elf);
		close(fd);
		if (err == -ENOENT)
			continue;
		if (err) {
			pr_debug("pid %d: cannot read '%s': %s", pid, cands[i].path, strerror(-err));
			continue;
		}
		snprintf(p->module, sizeof(p->module), "%s", cands[i].path);
		/* The mapping at the lowest file offset sits at the first PT_LOAD. */
		uint64_t bias = cands[i].start - cands[i].offset -
				(elf.load_vaddr - elf.load_offset);
		if (!elf.dyn)
			bias = 0;
		*found = elf;
		*found_bias = bias;
		err = py_process__setup(p, &elf, bias, why, whylen);
		break;
	}
	if (err == -EPROTONOSUPPORT) {
		/* Refused while the process was exec'ing: what was read mixes
		 * two programs. Not (yet) Python, rather: the exec brings a retry. */
		exe_id(pid, exe_after);
		if (memcmp(exe_before, exe_after, sizeof(exe_before))) {
			why[0] = 0;
			err = -ENOENT;
		} else if (py_process__gone(pid)) {
			/* Or exiting: its memory went away under the reads. */
			why[0] = 0;
			err = -ESRCH;
		}
	}
	if (err)
		goto cleanup;
	/* Its memory must be readable: the names of everything sampled are.
	 * Without root, opening /proc/PID/mem of another user's process takes
	 * CAP_DAC_READ_SEARCH on top of CAP_SYS_PTRACE. */
	{
		uint64_t v;
		int rerr = remote_read(pid, p->bpf.runtime, &v, sizeof(v));

		if (rerr == -EACCES || rerr == -EPERM) {
			snprintf(why, whylen, "cannot read its memory (/proc/%d/mem): %s%s", pid,
				 strerror(-rerr), geteuid() ? " (without root, this takes "
				 "CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH)" : "");
			err = -EPROTONOSUPPORT;
			goto cleanup;
		}
	}
	read_cmdline(pid, p->cmdline, sizeof(p->cmdline));
	if (kill(pid, 0) && errno == ESRCH) {
		err = -ESRCH;
		goto cleanup;
	}
	*out = p;
	p = NULL;
cleanup:
	free(cands);
	py_process__free(p);
	return err;
}

/*
 * A replay's process: what the capture logged of its /proc, ELF file and
 * load bias, and the rest as a live open does it (setup() reads the version
 * and _Py_DebugOffsets through remote_read(), which the capture answers);
 * the same questions in the same order, so that each gets the answer it got.
 */
static int open_replay(pid_t pid, struct py_process **out, char *why, size_t whylen)
{
	struct py_process *p = py_process__new(pid);
	struct py_elf elf;
	uint64_t bias, v;
	int err;

	*out = NULL;
	why[0] = 0;
	if (!p)
		return -ENOMEM;
	p->start_time = proc_start_time(pid);
	p->ns_pid = proc_ns_pid(pid);
	err = capture__replay_proc(pid, why, whylen, p->module, sizeof(p->module), &elf, &bias);
	if (!err)
		err = py_process__setup(p, &elf, bias, why, whylen);
	if (!err) {
		remote_read(pid, p->bpf.runtime, &v, sizeof(v));
		read_cmdline(pid, p->cmdline, sizeof(p->cmdline));
		*out = p;
		return 0;
	}
	py_process__free(p);
	return err;
}

int py_process__open(pid_t pid, struct py_process **out, char *why, size_t whylen)
{
	struct py_elf elf = { 0 };
	uint64_t bias = 0;
	int err;

	if (capture_mode == CAPTURE_REPLAY)
		return open_replay(pid, out, why, whylen);
	err = open_live(pid, out, why, whylen, &elf, &bias);
	/* The module's folder is this machine's; setup() reads its name. */
	if (capture_mode)
		capture__proc(pid, err, why, err ? NULL : base_name((*out)->module), &elf, bias);
	return err;
}

int py_process__fork(const struct py_process *parent, pid_t pid, struct py_process **out)
{
	struct py_process *p = py_process__new(pid);

	*out = NULL;
	if (!p)
		return -ENOMEM;
	p->start_time = proc_start_time(pid);
	p->ns_pid = proc_ns_pid(pid);
	memcpy(p->module, parent->module, sizeof(p->module));
	p->major = parent->major;
	p->minor = parent->minor;
	p->micro = parent->micro;
	p->bpf = parent->bpf;
	p->obj = parent->obj;
	p->strings = parent->strings;
	reader_init(p);
	if (read_cmdline(pid, p->cmdline, sizeof(p->cmdline)))
		memcpy(p->cmdline, parent->cmdline, sizeof(p->cmdline));
	p->syms = symcache__new(pid, &p->bpf.off, &p->strings);
	if (!p->syms) {
		py_process__free(p);
		return -ENOMEM;
	}
	*out = p;
	return 0;
}

void py_process__free(struct py_process *p)
{
	if (!p)
		return;
	hashmap__free_all(p->thread_names, NULL, NULL);
	hashmap__free_all(p->py_names, NULL, NULL);
	symcache__free(p->syms);
	tasks__free(p->tasks);
	remote_forget(p->pid);
	free(p);
}

/* threading's name of a thread, and the kernel thread it was first seen on
 * since it was read: pthread idents are reused by new threads at once
 * (glibc reuses thread stacks), kernel tids are not. */
struct py_name {
	int tid;		/* Thread._native_id, else the first seen; 0: none yet */
	char name[];
};

static const char *py_name_of(struct py_process *p, uint64_t ident, int tid)
{
	struct py_name *e = p->py_names ? hashmap__get(p->py_names, ident) : NULL;

	if (!e)
		return NULL;
	if (!e->tid)
		e->tid = tid;
	/* Another thread now has the ident: the name is a dead thread's. */
	return e->tid == tid ? e->name : NULL;
}

/* threading's names, read anew: bounded by max threads. */
static void refresh_py_names(struct py_process *p, size_t max)
{
	struct py_thread_name *names = calloc(max, sizeof(*names));
	struct hashmap *m;
	int n, i;

	if (!names)
		return;
	n = pyobj__thread_names(&p->reader, names, max);
	m = hashmap__new();
	for (i = 0; m && i < n; i++) {
		size_t len = strnlen(names[i].name, sizeof(names[i].name));
		struct py_name *e = malloc(sizeof(*e) + len + 1);

		if (!e)
			continue;
		e->tid = names[i].native_id <= INT32_MAX ? (int)names[i].native_id : 0;
		memcpy(e->name, names[i].name, len);
		e->name[len] = 0;
		if (hashmap__put(m, names[i].ident, e))
			free(e);
	}
	if (m) {
		hashmap__free_all(p->py_names, NULL, NULL);
		p->py_names = m;
	}
	free(names);
}

/*
 * Reading threading's names walks the target's objects: up to tens of
 * milliseconds in a large process. It happens on the sample path, so it is
 * rationed: collector-wide, at most NAMES_BUDGET_NS of CPU in every second (a token
 * bucket), and per process with a back-off while the thread asked for is not
 * among the names (a thread threading does not know, or a process that
 * never imported it). Meanwhile the kernel's thread name stands in.
 */
#define NAMES_BUDGET_NS (20 * 1000000LL)	/* per second of wall time */
#define NAMES_BURST_NS (100 * 1000000LL)
#define NAMES_WAIT_MIN_NS 1000000000ULL
#define NAMES_WAIT_MAX_NS (60 * 1000000000ULL)

static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static int64_t names_tokens = NAMES_BURST_NS;
static uint64_t names_refilled;

static bool names_budget_take(uint64_t now)
{
	if (names_refilled) {
		names_tokens += (int64_t)((now - names_refilled) / 1e9 * NAMES_BUDGET_NS);
		if (names_tokens > NAMES_BURST_NS)
			names_tokens = NAMES_BURST_NS;
	}
	names_refilled = now;
	return names_tokens > 0;
}

/* Paid after the fact: the next refreshes wait until the debt is gone. */
static void names_budget_spend(uint64_t ns)
{
	names_tokens -= (int64_t)ns;
}

void py_process__read_thread_names(struct py_process *p, size_t max)
{
	if (max > PY_NAMES_ALL_MAX)
		max = PY_NAMES_ALL_MAX;
	refresh_py_names(p, max ? max : 1);
	p->py_names_at = mono_ns();
	p->py_names_wait = NAMES_WAIT_MAX_NS;
}

const char *py_process__py_thread_name(struct py_process *p, int tid, uint64_t ident)
{
	return py_name_of(p, ident, tid);
}

/*
 * The kernel names of a process that runs for weeks and starts threads all
 * along: when the table is full, the threads that exited are forgotten, and
 * if none did, all of them (callers copy a name before asking for another).
 */
static bool thread_exited(void *ctx, uint64_t tid, void *name)
{
	const struct py_process *p = ctx;

	(void)name;
	return syscall(SYS_tgkill, p->pid, (pid_t)tid, 0) && errno == ESRCH;
}

static void forget_exited_threads(struct py_process *p)
{
	struct hashmap *fresh;

	hashmap__del_if(p->thread_names, thread_exited, NULL, p);
	if (hashmap__size(p->thread_names) < THREAD_NAMES_MAX || !(fresh = hashmap__new()))
		return;
	hashmap__free_all(p->thread_names, NULL, NULL);
	p->thread_names = fresh;
}

/* The kernel's name of a thread (comm, as the sample carried it or /proc
 * gave it; possibly not terminated), kept per tid: the same string while it
 * does not change. */
static const char *comm_name(struct py_process *p, int tid, const char *comm)
{
	size_t n = strnlen(comm, PY_COMM_LEN);
	char *old = hashmap__get(p->thread_names, (uint64_t)tid), *name;

	if (old && strlen(old) == n && !memcmp(old, comm, n))
		return old;
	if (!old && hashmap__size(p->thread_names) >= THREAD_NAMES_MAX)
		forget_exited_threads(p);
	name = strndup(comm, n);
	if (!name || hashmap__put(p->thread_names, (uint64_t)tid, name)) {
		free(name);
		return old ? old : "";
	}
	free(old);
	return name;
}

/*
 * A thread's kernel name from /proc (logged by a capture, answered by a
 * replay): its length, or 0 or -1 when there is none. Samples are read up
 * to 50 ms late: a short-lived thread is often gone by then, and every one
 * of its samples would try /proc again. A thread found gone is taken as
 * gone for a second (its tid is not reused that soon).
 */
static ssize_t proc_comm(struct py_process *p, int tid, uint64_t now, char *buf, size_t len)
{
	struct gone_tid *gone = &p->gone[(unsigned int)tid % GONE_TIDS];
	char path[96];
	int64_t v;
	ssize_t n;
	int fd;

	if (capture_mode == CAPTURE_REPLAY)
		return capture__replay_fact(CF_COMM, p->pid, tid, &v, buf, len) ? -1 : v > 0;
	if (gone->tid == tid && gone->at && now - gone->at < GONE_TID_NS)
		return -1;
	snprintf(path, sizeof(path), "/proc/%d/task/%d/comm", p->pid, tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && (errno == ENOENT || errno == ESRCH)) {
		gone->tid = tid;
		gone->at = now;
	}
	n = fd >= 0 ? read(fd, buf, len - 1) : -1;
	if (fd >= 0)
		close(fd);
	if (n > 0) {
		buf[n] = 0;
		buf[strcspn(buf, "\n")] = 0;
	}
	if (capture_mode)
		capture__fact(CF_COMM, p->pid, tid, n, n > 0 ? buf : "");
	return n;
}

const char *py_process__thread_name(struct py_process *p, int tid, uint64_t ident,
				    const char *comm)
{
	char buf[64];
	uint64_t now, took;
	const char *py;
	char *name;
	bool refresh;

	py = py_name_of(p, ident, tid);
	if (py)
		return py;
	now = mono_ns();
	refresh = (!p->py_names_at || now - p->py_names_at >= p->py_names_wait) &&
		  names_budget_take(now);
	/* Decided by clocks a replay does not have: it takes the decision. */
	if (capture_mode)
		refresh = capture__value(CF_NAMES, p->pid, 0, refresh);
	if (refresh) {
		uint64_t cpu = thread_cpu_ns();

		p->py_names_at = now;
		refresh_py_names(p, PY_NAMES_MAX);
		/* The CPU it took, not the wall time: on a loaded host the
		 * wall time is mostly waiting for a CPU, and would put the
		 * next refresh seconds away. */
		took = thread_cpu_ns() - cpu;
		names_budget_spend(took);
		py = py_name_of(p, ident, tid);
		/* Not there: ask again later, later each time; and never spend
		 * more than 1% of this process's time on it. */
		p->py_names_wait = py ? NAMES_WAIT_MIN_NS :
			p->py_names_wait ? p->py_names_wait * 2 : NAMES_WAIT_MIN_NS;
		if (p->py_names_wait > NAMES_WAIT_MAX_NS)
			p->py_names_wait = NAMES_WAIT_MAX_NS;
		if (p->py_names_wait < took * 100)
			p->py_names_wait = took * 100;
		if (py)
			return py;
	}
	if (comm && comm[0])
		return comm_name(p, tid, comm);
	name = hashmap__get(p->thread_names, (uint64_t)tid);
	if (name)
		return name;
	if (proc_comm(p, tid, now, buf, sizeof(buf)) <= 0)
		return "";
	return comm_name(p, tid, buf);
}

bool py_process__gone(pid_t pid)
{
	if (capture_mode == CAPTURE_REPLAY)
		return capture__value(CF_GONE, pid, 0, false);
	if (capture_mode)
		return capture__value(CF_GONE, pid, 0, proc_gone(pid));
	return proc_gone(pid);
}
