// SPDX-License-Identifier: BSD-2-Clause
/* record -- COMMAND: the command started, released once attached, reaped,
 * killed when the recording ends first, and its exit status passed on. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "exitcode.h"
#include "log.h"
#include "record_int.h"

/*
 * --capture: the command's stdin, stdout and stderr on /dev/null. Returns
 * a copy of the old stderr, closed on exec, for the message of an exec
 * that fails; -1 on an error (errno).
 */
static int capture_stdio(void)
{
	int null, err;

	err = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
	null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (err < 0 || null < 0)
		return -1;
	for (int fd = 0; fd <= 2; fd++)
		if (dup2(null, fd) < 0)
			return -1;
	close(null);
	return err;
}

/*
 * record -- COMMAND: the child waits on a pipe until the sampler is
 * attached, so its very first Python frames are seen.
 */
int launch__start(struct collector *c, char **argv, bool capture)
{
	int fds[2];
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC))
		return -errno;
	pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return -errno;
	}
	if (!pid) {
		int errfd = STDERR_FILENO;
		char b;

		close(fds[1]);
		signal(SIGPIPE, SIG_DFL);	/* ignored here, not by the command */
		if (capture && (errfd = capture_stdio()) < 0) {
			fprintf(stderr, "pyspy-bpf: --capture: %s\n", strerror(errno));
			_exit(127);
		}
		if (read(fds[0], &b, 1) != 1)
			_exit(127);
		execvp(argv[0], argv);
		dprintf(errfd, "pyspy-bpf: cannot run '%s': %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(fds[0]);
	c->go_fd = fds[1];
	c->child = pid;
	return 0;
}

void launch__reap(struct collector *c)
{
	int st;

	if (c->child && !c->child_done && waitpid(c->child, &st, WNOHANG) == c->child) {
		c->child_status = st;
		c->child_done = true;
	}
}

/*
 * The recording is over (the duration, a signal, top quit) while the
 * command still runs: it is killed, as py-spy does, so that nothing is left
 * running unwatched, and reaped.
 */
void launch__end(struct collector *c)
{
	int st = 0;

	launch__reap(c);
	if (!c->child || c->child_done)
		return;
	if (kill(c->child, SIGKILL) && errno != ESRCH)
		return;
	while (waitpid(c->child, &st, 0) < 0 && errno == EINTR)
		;
	c->child_done = true;
	c->child_killed = true;
	c->child_status = st;
	fprintf(stderr, "pyspy-bpf: the command (pid %d) was still running: killed it\n",
		c->child);
}

/* Attached: let the command run. */
void launch__go(struct collector *c)
{
	if (c->go_fd < 0)
		return;
	if (write(c->go_fd, "g", 1) != 1)
		pr_warn("cannot start the command: %s", strerror(errno));
	close(c->go_fd);
	c->go_fd = -1;
}

int launch__status(struct collector *c)
{
	if (!c->child || c->child_killed)
		return EXIT_OK;
	/* Like the command itself: its exit status, or 128 + its signal. */
	launch__reap(c);
	if (c->child_done && WIFEXITED(c->child_status))
		return WEXITSTATUS(c->child_status);
	if (c->child_done && WIFSIGNALED(c->child_status))
		return 128 + WTERMSIG(c->child_status);
	return EXIT_OK;
}
