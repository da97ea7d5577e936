// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include "output.h"

static const struct {
	const char *name, *ext;
	int (*write)(FILE *f, const struct agg *a, const struct output_opts *o);
	bool timeline;
	bool threads;		/* shows threads even without --threads */
} formats[] = {
	[FMT_RAW] = { "raw", "txt", write_raw },
	[FMT_FLAMEGRAPH] = { "flamegraph", "svg", write_flamegraph },
	[FMT_SPEEDSCOPE] = { "speedscope", "json", write_speedscope, false, true },
	[FMT_CHROMETRACE] = { "chrometrace", "json", write_chrometrace, true, true },
	[FMT_PPROF] = { "pprof", "pb.gz", write_pprof, false, true },
};

const char *output__ext(enum output_format f)
{
	return formats[f].ext;
}

const char *output__name(enum output_format f)
{
	return formats[f].name;
}

int output__parse_format(const char *s, enum output_format *f)
{
	for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
		if (formats[i].name && !strcasecmp(s, formats[i].name)) {
			*f = i;
			return 0;
		}
	}
	return -EINVAL;
}

int output__write(FILE *f, const struct agg *a, const struct output_opts *o)
{
	return formats[o->format].write(f, a, o);
}

bool output__needs_timeline(enum output_format f)
{
	return formats[f].timeline;
}

bool output__needs_threads(const struct output_opts *o)
{
	return o->threads || formats[o->format].threads;
}

struct outfile {
	FILE *f;
	int fd;
	bool own_fd;		/* false for stdout */
	int werr;		/* errno of the first write that failed, 0 if none */
	char *path;
	char *tmp;		/* NULL when written in place */
};

/*
 * The stream writes through these, so that the reason a write failed
 * (ENOSPC, EPIPE, EIO) is kept: stdio only remembers that one did.
 */
static ssize_t stream_write(void *cookie, const char *buf, size_t size)
{
	struct outfile *o = cookie;
	size_t done = 0;

	while (done < size) {
		ssize_t n = write(o->fd, buf + done, size - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (!o->werr)
				o->werr = n < 0 ? errno : ENOSPC;
			errno = o->werr;
			return done ? (ssize_t)done : -1;
		}
		done += n;
	}
	return done;
}

static int stream_close(void *cookie)
{
	struct outfile *o = cookie;
	int fd = o->fd;

	o->fd = -1;
	if (!o->own_fd || fd < 0)
		return 0;
	if (close(fd) && errno != EINTR) {
		if (!o->werr)
			o->werr = errno;
		return -1;
	}
	return 0;
}

static int stream_open(struct outfile *o, int fd, bool own)
{
	static const cookie_io_functions_t io = { .write = stream_write, .close = stream_close };

	o->fd = fd;
	o->own_fd = own;
	o->f = fopencookie(o, "w", io);
	if (!o->f)
		return -errno;
	setvbuf(o->f, NULL, _IOFBF, 64 << 10);
	return 0;
}

/* The reason of a failed write or close, else err. */
static int write_error(const struct outfile *o, int err)
{
	return o->werr ? -o->werr : err;
}

int outfile__open(const char *path, struct outfile **out)
{
	struct outfile *o = calloc(1, sizeof(*o));
	char *dir = NULL;
	struct stat st;
	int fd = -1, err;

	*out = NULL;
	if (!o)
		return -ENOMEM;
	o->fd = -1;
	if (!strcmp(path, "-")) {
		fflush(stdout);
		err = stream_open(o, STDOUT_FILENO, false);
		if (err)
			goto fail;
		*out = o;
		return 0;
	}
	/*
	 * An existing device or pipe (/dev/null, a FIFO) is written in place:
	 * renaming over it would replace it. A symlink is refused rather than
	 * followed, and so is another user's file.
	 */
	if (!lstat(path, &st)) {
		if (S_ISLNK(st.st_mode)) {
			err = -ELOOP;
			goto fail;
		}
		if (S_ISDIR(st.st_mode)) {
			err = -EISDIR;
			goto fail;
		}
		if (!S_ISREG(st.st_mode)) {
			/* A FIFO is opened without waiting for a reader: none is
			 * ENXIO now, before sampling, not a hang. */
			fd = open(path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY |
				  (S_ISFIFO(st.st_mode) ? O_NONBLOCK : 0));
			if (fd < 0) {
				err = -errno;
				goto fail;
			}
			if (S_ISFIFO(st.st_mode) &&
			    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)) {
				err = -errno;
				close(fd);
				goto fail;
			}
			err = stream_open(o, fd, true);
			if (err) {
				close(fd);
				goto fail;
			}
			*out = o;
			return 0;
		}
		if (S_ISREG(st.st_mode) && st.st_uid != geteuid()) {
			err = -EPERM;
			goto fail;
		}
	}
	o->path = strdup(path);
	dir = strdup(path);
	if (!o->path || !dir) {
		err = -ENOMEM;
		goto fail;
	}
	if (asprintf(&o->tmp, "%s/.%s.XXXXXX", dirname(dir), basename(o->path)) < 0) {
		o->tmp = NULL;
		err = -ENOMEM;
		goto fail;
	}
	/* mkstemp creates with O_EXCL: never follows a planted symlink. */
	fd = mkostemp(o->tmp, O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		free(o->tmp);
		o->tmp = NULL;
		goto fail;
	}
	err = stream_open(o, fd, true);
	if (err) {
		close(fd);
		goto fail;
	}
	free(dir);
	*out = o;
	return 0;
fail:
	free(dir);
	outfile__abort(o);
	return err;
}

FILE *outfile__stream(struct outfile *o)
{
	return o->f;
}

int outfile__write(struct outfile *o, const struct agg *a, const struct output_opts *opts)
{
	int err = output__write(o->f, a, opts);

	/* The writers see only that a write failed: say why. */
	return err == -EIO ? write_error(o, err) : err;
}

int outfile__commit(struct outfile *o)
{
	mode_t mask;
	int err = 0;

	if (!o->tmp) {
		err = fflush(o->f) ? write_error(o, -errno) : 0;
		if (fclose(o->f) && !err)
			err = write_error(o, -errno);
		o->f = NULL;
		free(o->path);
		free(o);
		return err;
	}
	mask = umask(0);
	umask(mask);
	if (fflush(o->f))
		err = write_error(o, -errno);
	else if (fchmod(o->fd, 0666 & ~mask) || fsync(o->fd))
		err = -errno;
	if (fclose(o->f) && !err)
		err = write_error(o, -errno);
	o->f = NULL;
	if (!err && rename(o->tmp, o->path))
		err = -errno;
	if (err)
		unlink(o->tmp);
	free(o->tmp);
	free(o->path);
	free(o);
	return err;
}

void outfile__abort(struct outfile *o)
{
	if (!o)
		return;
	if (o->f)
		fclose(o->f);
	if (o->tmp)
		unlink(o->tmp);
	free(o->tmp);
	free(o->path);
	free(o);
}
