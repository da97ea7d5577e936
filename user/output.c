// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
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
		if (formats[i].name && !strcmp(s, formats[i].name)) {
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
	char *path;
	char *tmp;		/* NULL for stdout */
};

int outfile__open(const char *path, struct outfile **out)
{
	struct outfile *o = calloc(1, sizeof(*o));
	char *dir = NULL;
	struct stat st;
	int fd = -1, err;

	*out = NULL;
	if (!o)
		return -ENOMEM;
	if (!strcmp(path, "-")) {
		o->f = stdout;
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
			fd = open(path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
			if (fd < 0 || !(o->f = fdopen(fd, "w"))) {
				err = -errno;
				if (fd >= 0)
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
	o->f = fdopen(fd, "w");
	if (!o->f) {
		err = -errno;
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

int outfile__commit(struct outfile *o)
{
	mode_t mask;
	int err = 0;

	if (!o->tmp) {
		err = fflush(o->f) ? -errno : 0;
		if (o->f != stdout && fclose(o->f) && !err)
			err = -errno;
		free(o);
		return err;
	}
	mask = umask(0);
	umask(mask);
	if (fflush(o->f) || fchmod(fileno(o->f), 0666 & ~mask) || fsync(fileno(o->f)))
		err = -errno;
	if (fclose(o->f) && !err)
		err = -errno;
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
	if (o->tmp) {
		if (o->f)
			fclose(o->f);
		unlink(o->tmp);
	} else if (o->f && o->f != stdout) {
		fclose(o->f);
	}
	free(o->tmp);
	free(o->path);
	free(o);
}
