/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Capture and replay of what `record` receives from outside: with
 * PYSPY_BPF_CAPTURE=FILE a run also writes it down; with
 * PYSPY_BPF_REPLAY=FILE a run reads it back instead of loading BPF and
 * reading targets, so that the same collector code makes the same output.
 *
 * The boundary, each crossing logged in the order it happened:
 *   - every ring-buffer record the sampler hands over, and where each drain
 *     and --idle pass ended (with its CLOCK_MONOTONIC time and result);
 *   - every remote_read(): pid, address, length -> bytes or errno;
 *   - per-process facts: what py_process__open() found in /proc and the
 *     ELF (module, symbols, load bias, or the refusal), start time,
 *     namespace pid, command line, gone-ness, kernel thread names read
 *     from /proc, whether a thread-name refresh was let through;
 *   - the clocks the output shows (start, wall-clock start, end) and the
 *     run's pids, rate and command line string.
 *
 * Replay answers each keyed question (a read, a fact) with the next answer
 * logged under that key, then the last one again; a question never asked
 * while capturing gets EFAULT (reads) or "absent" (facts). Its clock
 * (mono_ns) is the time of the last drain replayed.
 *
 * Every hook costs one branch on capture_mode when both variables are unset.
 */
#ifndef PYSPY_CAPTURE_H
#define PYSPY_CAPTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct py_elf;

enum capture_mode { CAPTURE_OFF, CAPTURE_WRITE, CAPTURE_REPLAY };
extern int capture_mode;

/* Facts: a kind, a pid, a sub-key (tid, clock), a value and a string. */
enum capture_fact {
	CF_START_TIME,		/* /proc/PID/stat starttime */
	CF_NS_PID,		/* NSpid */
	CF_CMDLINE,		/* read_cmdline(): value its result, string the line */
	CF_GONE,		/* py_process__gone() */
	CF_NAMES,		/* a threading-names refresh was let through */
	CF_COMM,		/* /proc/PID/task/TID/comm: value its length or -1 */
	CF_CLOCK,		/* sub: enum capture_clock */
	CF_RING,		/* the ring buffer's size */
	CF__MAX,
};

enum capture_clock { CC_START_MONO, CC_START_UNIX, CC_END_MONO };

/* Steps of the record stream. */
enum capture_step { CS_END, CS_DRAIN, CS_ITER };

/* What a replay takes from the capture, and a capture writes first. */
#define CAPTURE_MAX_PIDS 64
struct capture_hdr {
	unsigned int rate;
	bool subprocesses;
	bool idle;
	int npids;
	pid_t pids[CAPTURE_MAX_PIDS];
	const char *command;	/* the capturing run's command line string */
};

/*
 * From the environment: CAPTURE_OFF, or the mode, with the file's name in
 * *path. -EINVAL when both variables are set.
 */
int capture__mode_from_env(const char **path);
/*
 * Write: creates the file and writes h. Replay: loads and checks the whole
 * file and fills h (its strings live until capture__end). 0 or a negative
 * errno, with a message naming the file.
 */
int capture__start(int mode, const char *path, struct capture_hdr *h);
/* Write: the end mark (ok) and the file closed. Replay: freed. 0 or
 * negative errno. */
int capture__end(bool ok);

/* Write hooks. */
void capture__record(const void *data, size_t size);
void capture__step(enum capture_step kind, uint64_t now, int ret);
void capture__read(pid_t pid, uint64_t addr, size_t len, const void *buf, int err);
void capture__fact(enum capture_fact kind, pid_t pid, uint32_t sub, int64_t val,
		   const char *str);
void capture__proc(pid_t pid, int err, const char *why, const char *module,
		   const struct py_elf *elf, uint64_t bias);

/* Replay hooks. */
typedef int (*capture_record_fn)(void *ctx, const void *data, size_t size);
/* Hands the records up to the next step mark to fn; returns its result. */
int capture__replay_step(capture_record_fn fn, void *ctx);
/* The kind of the next step, CS_END before the last drain (the one the
 * record's end does itself). */
enum capture_step capture__next_step(void);
int capture__replay_read(pid_t pid, uint64_t addr, void *buf, size_t len);
/* 0 and the answer (str may be NULL), or -ENOENT when none was logged. */
int capture__replay_fact(enum capture_fact kind, pid_t pid, uint32_t sub, int64_t *val,
			 char *str, size_t len);
/* py_process__open()'s finding: 0 and the module, ELF facts and bias, or
 * its error and reason. */
int capture__replay_proc(pid_t pid, char *why, size_t whylen, char *module, size_t modlen,
			 struct py_elf *elf, uint64_t *bias);
/* The replay's CLOCK_MONOTONIC. */
uint64_t capture__mono(void);

/* Both directions: write logs v, replay gives the logged value (v if none). */
int64_t capture__value(enum capture_fact kind, pid_t pid, uint32_t sub, int64_t v);

/* Parses a capture held in memory (the fuzz target's way in); 0 or
 * -EINVAL, with the reason in why. capture__end frees it. */
int capture__load_mem(const void *data, size_t size, char *why, size_t whylen);

#endif
