// SPDX-License-Identifier: BSD-2-Clause
/*
 * How the collector waits: the signals that end a run (or, in continuous
 * mode, end an interval early), and the sleep between drains, on an epoll
 * set of the ring buffer and a pidfd per -p target or command.
 */
#include <errno.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "record_int.h"

volatile sig_atomic_t stop_requested, flush_requested;
static bool continuous;

static void on_signal(int sig)
{
	/* Continuous mode: SIGHUP writes the current interval early. */
	if (sig == SIGHUP && continuous)
		flush_requested = 1;
	else
		stop_requested = sig;
}

/*
 * From here on a signal ends the run through the collector's own paths,
 * which remove a temporary file or finish the output, and a SIGHUP in
 * continuous mode never kills. A writer that goes away (a pipe, a FIFO) is
 * an error to report, not a death.
 */
void waiter__signals(bool cont)
{
	struct sigaction sa = { .sa_handler = on_signal };
	sigset_t sigs;

	continuous = cont;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGHUP);
	sigprocmask(SIG_UNBLOCK, &sigs, NULL);
}

/* The epoll set the collector sleeps on; c->ep stays -1 when it cannot be
 * made, and the collector sleeps on its clock alone. */
int waiter__open(struct collector *c)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLET, .data.fd = -1 };
	int err;

	c->ep = epoll_create1(EPOLL_CLOEXEC);
	if (c->ep < 0)
		return -errno;
	if (epoll_ctl(c->ep, EPOLL_CTL_ADD, sampler__ring_fd(c->sampler), &ev)) {
		err = -errno;
		close(c->ep);
		c->ep = -1;
		return err;
	}
	return 0;
}

/* Wakes the sleep when pid exits. Returns false when it cannot: the exit is
 * then seen by the exit tracepoint, or by the next sweep. */
bool waiter__watch_exit(struct collector *c, pid_t pid)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLONESHOT };
	int fd;

	if (c->ep < 0 || c->npidfds >= (int)(sizeof(c->pidfds) / sizeof(c->pidfds[0])))
		return false;
	fd = syscall(SYS_pidfd_open, pid, 0);
	if (fd < 0)
		return errno == ESRCH;	/* gone already: the sweep sees it */
	ev.data.fd = fd;
	if (epoll_ctl(c->ep, EPOLL_CTL_ADD, fd, &ev)) {
		close(fd);
		return false;
	}
	c->pidfds[c->npidfds++] = fd;
	return true;
}

void waiter__close(struct collector *c)
{
	for (int i = 0; i < c->npidfds; i++)
		close(c->pidfds[i]);
	c->npidfds = 0;
	if (c->ep >= 0)
		close(c->ep);
	c->ep = -1;
}

/* Sleeps up to ns; true when the ring buffer or an exit woke it first. */
bool waiter__sleep(struct collector *c, uint64_t ns)
{
	struct timespec ts = { .tv_sec = ns / 1000000000ULL, .tv_nsec = ns % 1000000000ULL };
	struct epoll_event ev[4];
	int n;

	if (c->ep < 0) {
		nanosleep(&ts, NULL);
		return false;
	}
	n = epoll_pwait2(c->ep, ev, 4, &ts, NULL);
	if (n < 0 && errno == ENOSYS)	/* before Linux 5.11: whole milliseconds */
		n = epoll_wait(c->ep, ev, 4, (int)((ns + 999999) / 1000000));
	/* A pidfd: a target exited. The next drain's sweep looks at once. */
	for (int i = 0; i < n; i++)
		if (ev[i].data.fd >= 0)
			c->next_sweep = 0;
	return n > 0;
}
