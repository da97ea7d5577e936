// SPDX-License-Identifier: BSD-2-Clause
/*
 * Reads of a target's memory go through /proc/PID/mem, not
 * process_vm_readv(). Both fault pages in, but process_vm_readv() lets the
 * fault wait for the target: a page of a userfaultfd region the target never
 * services blocks the reader forever, deaf to every signal but SIGKILL. A
 * read of /proc/PID/mem faults pages in without letting the fault be
 * retried, and userfaultfd answers such a fault with an error at once: the
 * read fails (EIO) and the name is <unreadable>. Swapped-out pages are
 * still read in.
 *
 * One descriptor per process, kept open: opening costs a permission check
 * and a path walk on every read otherwise. A descriptor refers to the
 * address space it was opened on; after an exec, reads of the old one end
 * at once (0 bytes), and the file is opened again.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
#include <string.h>
#include "capture.h"
#include "paths.h"
#include "remote.h"

#define MEM_FDS 64

static struct mem_fd {
	pid_t pid;		/* 0: the slot is free */
	int fd;
	uint64_t used;
} fds[MEM_FDS];
static uint64_t clock_;

/* remote_set_source(): the process whose memory is not /proc's. */
static struct {
	pid_t pid;
	remote_source_fn fn;
	void *ctx;
} source;

void remote_set_source(pid_t pid, remote_source_fn fn, void *ctx)
{
	source.pid = fn ? pid : 0;
	source.fn = fn;
	source.ctx = ctx;
}

static int mem_open(pid_t pid)
{
	char path[64];
	int fd;

	/* A descriptor opened through any thread reads the process's memory,
	 * also after that thread exits. */
	proc_dir(pid, path, sizeof(path) - 4);
	strcat(path, "/mem");
	fd = open(path, O_RDONLY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/* The slot of pid, opened if it was not; the least recently used slot is
 * taken over when every one is in use. */
static struct mem_fd *slot_of(pid_t pid, int *err)
{
	struct mem_fd *s, *victim = &fds[0];
	int fd;

	for (s = fds; s < fds + MEM_FDS; s++) {
		if (s->pid && s->pid == pid) {
			s->used = ++clock_;
			return s;
		}
		if (!s->pid || (victim->pid && s->used < victim->used))
			victim = s;
	}
	fd = mem_open(pid);
	if (fd < 0) {
		*err = fd;
		return NULL;
	}
	if (victim->pid)
		close(victim->fd);
	victim->pid = pid;
	victim->fd = fd;
	victim->used = ++clock_;
	return victim;
}

void remote_forget(pid_t pid)
{
	struct mem_fd *s;

	for (s = fds; s < fds + MEM_FDS; s++) {
		if (s->pid && s->pid == pid) {
			close(s->fd);
			s->pid = 0;
		}
	}
}

static int read_mem(pid_t pid, uint64_t addr, void *buf, size_t len)
{
	struct mem_fd *s;
	ssize_t n;
	int err = 0, tries;

	for (tries = 0; tries < 2; tries++) {
		s = slot_of(pid, &err);
		if (!s)
			return err;
		n = pread(s->fd, buf, len, (off_t)addr);
		if (n < 0)
			return errno == EIO ? -EFAULT : -errno;
		if ((size_t)n == len)
			return 0;
		if (n > 0)
			return -EFAULT;	/* the range ends in unmapped memory */
		/* 0 bytes: the address space it was opened on is gone. */
		remote_forget(pid);
	}
	return -ESRCH;
}

/* The one way into a target's memory: a capture logs every read here, and
 * a replay answers them. */
int remote_read(pid_t pid, uint64_t addr, void *buf, size_t len)
{
	int err;

	if (!addr || pid <= 0 || addr + len < addr || addr + len > (1ULL << 63))
		return -EFAULT;
	if (!len)
		return 0;
	if (source.fn && pid == source.pid)
		return source.fn(source.ctx, addr, buf, len);
	if (capture_mode == CAPTURE_REPLAY)
		return capture__replay_read(pid, addr, buf, len);
	err = read_mem(pid, addr, buf, len);
	if (capture_mode)
		capture__read(pid, addr, len, buf, err);
	return err;
}
