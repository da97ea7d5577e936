// SPDX-License-Identifier: BSD-2-Clause
/* Readers of /proc: see procfs.h. */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "capture.h"
#include "procfs.h"

void proc_dir(pid_t pid, char *buf, size_t len)
{
	char path[96];
	struct dirent *de;
	char state;
	DIR *d;

	snprintf(buf, len, "/proc/%d", pid);
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	state = procfs__state(path);
	if (state != 'Z' && state != 'X')
		return;
	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	d = opendir(path);
	if (!d)
		return;
	while ((de = readdir(d))) {
		long tid = strtol(de->d_name, NULL, 10);

		if (tid <= 0 || tid == pid)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%ld/stat", pid, tid);
		state = procfs__state(path);
		if (state && state != 'Z' && state != 'X') {
			snprintf(buf, len, "/proc/%d/task/%ld", pid, tid);
			break;
		}
	}
	closedir(d);
}

static int cmdline_live(pid_t pid, char *buf, size_t len)
{
	char path[64];
	ssize_t n;
	int fd;

	if (!len)
		return -EINVAL;
	buf[0] = 0;
	proc_dir(pid, path, sizeof(path) - 8);
	strcat(path, "/cmdline");
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -errno;
	while (n > 0 && buf[n - 1] == 0)
		n--;
	buf[n] = 0;
	for (ssize_t i = 0; i < n; i++)
		if (buf[i] == 0 || buf[i] == '\n')
			buf[i] = ' ';
	return 0;
}

static pid_t ns_pid_live(pid_t pid)
{
	char path[64], line[256];
	pid_t last = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		char *p = line + 6, *end;

		if (strncmp(line, "NSpid:", 6))
			continue;
		/* One pid per nested namespace, the process's own last. */
		for (;;) {
			long v = strtol(p, &end, 10);

			if (end == p || v <= 0 || v > INT32_MAX)
				break;
			last = v;
			p = end;
		}
		break;
	}
	fclose(f);
	return last;
}

/*
 * Reads a /proc stat file (PATH) into buf and returns where its fields
 * after the name start (the ')' that closes it), or NULL. The name may hold
 * spaces and parentheses: the last ')' ends it.
 */
char *procfs__stat_fields(const char *path, char *buf, size_t len)
{
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n <= 0)
		return NULL;
	buf[n] = 0;
	return strrchr(buf, ')');
}

/* The state letter of a /proc stat file; 0 when unreadable. */
char procfs__state(const char *stat_path)
{
	char buf[512], *p = procfs__stat_fields(stat_path, buf, sizeof(buf));

	return p && p[1] == ' ' ? p[2] : 0;
}

static uint64_t start_time_live(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long v = 0;
	int field;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	p = procfs__stat_fields(path, buf, sizeof(buf));
	if (!p)
		return 0;
	for (field = 2; *p && field < 22; p++)
		if (*p == ' ')
			field++;
	if (field == 22)
		sscanf(p, "%llu", &v);
	return v;
}

/*
 * What the collector keeps of a process from /proc goes through these: a
 * capture logs it, a replay (which has no such process) answers it.
 */
int read_cmdline(pid_t pid, char *buf, size_t len)
{
	int64_t v;
	int err;

	if (!len)
		return -EINVAL;
	if (capture_mode == CAPTURE_REPLAY) {
		buf[0] = 0;
		if (capture__replay_fact(CF_CMDLINE, pid, 0, &v, buf, len))
			return -ENOENT;
		return v < -4095 || v > 0 ? -EINVAL : (int)v;
	}
	err = cmdline_live(pid, buf, len);
	if (capture_mode)
		capture__fact(CF_CMDLINE, pid, 0, err, err ? "" : buf);
	return err;
}

pid_t proc_ns_pid(pid_t pid)
{
	int64_t v;

	if (capture_mode != CAPTURE_REPLAY) {
		v = ns_pid_live(pid);
		if (capture_mode)
			capture__fact(CF_NS_PID, pid, 0, v, NULL);
		return v;
	}
	if (capture__replay_fact(CF_NS_PID, pid, 0, &v, NULL, 0) || v < 0 || v > INT32_MAX)
		return 0;
	return v;
}

uint64_t proc_start_time(pid_t pid)
{
	int64_t v;

	if (capture_mode != CAPTURE_REPLAY) {
		v = start_time_live(pid);
		if (capture_mode)
			capture__fact(CF_START_TIME, pid, 0, v, NULL);
		return v;
	}
	return capture__replay_fact(CF_START_TIME, pid, 0, &v, NULL, 0) ? 0 : (uint64_t)v;
}

/* PF_EXITING in /proc/PID/stat's flags: the task is in do_exit. */
#define TASK_PF_EXITING 0x4

/*
 * 1 when the task at PATH (a /proc stat file) is dead or exiting, 0 when it
 * runs, -1 when the file cannot be read (the task is gone too).
 */
int procfs__task_exiting(const char *path)
{
	char buf[512], *p;
	unsigned long flags = 0;

	p = procfs__stat_fields(path, buf, sizeof(buf));
	if (!p || p[1] != ' ')
		return -1;
	if (p[2] == 'Z' || p[2] == 'X')
		return 1;
	/* state ppid pgrp session tty_nr tpgid flags */
	if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %lu", &flags) != 1)
		return 0;
	return !!(flags & TASK_PF_EXITING);
}

pid_t procfs__ppid(pid_t pid)
{
	char path[64], buf[512], *p;
	int ppid = 0;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	p = procfs__stat_fields(path, buf, sizeof(buf));
	if (p && sscanf(p, ") %*c %d", &ppid) != 1)
		ppid = 0;
	return ppid;
}

size_t procfs__children(pid_t ppid, pid_t *out, size_t max)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	size_t n = 0;

	if (!d)
		return 0;
	while (n < max && (de = readdir(d))) {
		char *end;
		long pid = strtol(de->d_name, &end, 10);

		if (!*end && pid > 0 && pid != ppid && procfs__ppid(pid) == ppid)
			out[n++] = (pid_t)pid;
	}
	closedir(d);
	return n;
}

/* Field 20 of /proc/PID/stat: every thread of the process, running or not. */
unsigned int procfs__threads(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	p = procfs__stat_fields(path, buf, sizeof(buf));
	/* state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt
	 * cmajflt utime stime cutime cstime priority nice num_threads */
	if (!p || sscanf(p, ") %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d "
			 "%*d %u", &n) != 1)
		n = 0;
	return n;
}

bool proc_gone(pid_t pid)
{
	char path[96];
	struct dirent *de;
	bool gone = true;
	DIR *d;

	if (kill(pid, 0) && errno == ESRCH)
		return true;
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if (procfs__task_exiting(path) == 0)
		return false;
	/*
	 * The leader is dead or dying. The process lives on while any other
	 * thread does (a leader may exit alone); after SIGKILL every thread
	 * is in do_exit, its memory going, and nothing more can be read.
	 */
	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	d = opendir(path);
	if (!d)
		return true;
	while (gone && (de = readdir(d))) {
		char *end;
		long tid = strtol(de->d_name, &end, 10);

		if (*end || tid <= 0 || tid == pid)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%ld/stat", pid, tid);
		gone = procfs__task_exiting(path) != 0;
	}
	closedir(d);
	return gone;
}
