// SPDX-License-Identifier: BSD-2-Clause
/*
 * Continuous mode (--interval): every interval's profile is written into
 * the folder under its start time, the oldest pruned (--keep), and/or sent
 * to the --upload server, one upload per process unless --app-name.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "clock.h"
#include "exitcode.h"
#include "log.h"
#include "record_int.h"
#include "sink.h"
#include "upload.h"

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* --keep: only the newest N of our interval files stay in the folder. */
static void prune(const char *dir, const char *ext, unsigned int keep)
{
	char **names = NULL, path[PATH_MAX];
	size_t n = 0, cap = 0, i;
	struct dirent *de;
	DIR *d;

	if (!(d = opendir(dir)))
		return;
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name), el = strlen(ext);

		/* Names sort by time: pyspy-bpf-<UTC time>.<ext>. */
		if (strncmp(de->d_name, "pyspy-bpf-", 10) || len < el + 11 ||
		    strcmp(de->d_name + len - el, ext) || de->d_name[len - el - 1] != '.')
			continue;
		if (n == cap) {
			char **nn = realloc(names, (cap = cap ? cap * 2 : 64) * sizeof(*nn));

			if (!nn)
				break;
			names = nn;
		}
		if (!(names[n] = strdup(de->d_name)))
			break;
		n++;
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof(*names), cmp_names);
	for (i = 0; i + keep < n; i++) {
		snprintf(path, sizeof(path), "%s%s%s", dir, dir[strlen(dir) - 1] == '/' ? "" : "/",
			 names[i]);
		if (unlink(path))
			pr_warn("cannot remove '%s': %s", path, strerror(errno));
	}
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/*
 * An upload's application name from a process's command line, as people
 * name their services: the script or module run by python ("web" for
 * "python3 -u /srv/web.py", "celery" for "python -m celery worker"), else
 * the executable's name; reduced to the characters Pyroscope accepts.
 */
static void app_name_of(const char *cmdline, char *out, size_t len)
{
	char word[256];
	const char *p = cmdline ? cmdline : "", *base, *w;
	size_t n, i = 0;
	bool python = false, first = true, module = false;

	out[0] = 0;
	for (;;) {
		while (*p == ' ')
			p++;
		if (!*p)
			break;
		n = strcspn(p, " ");
		snprintf(word, sizeof(word), "%.*s", (int)n, p);
		p += n;
		base = strrchr(word, '/');
		base = base ? base + 1 : word;
		if (first) {
			first = false;
			python = !strncmp(base, "python", 6) || !strncmp(base, "pypy", 4);
			if (python)
				continue;
		} else if (python && !module) {
			if (!strcmp(word, "-m")) {
				module = true;
				continue;
			}
			if (!strcmp(word, "-c")) {
				base = "python-c";
			} else if (word[0] == '-') {
				continue;
			}
		}
		w = base;
		for (i = 0; w[i] && i + 1 < len; i++)
			out[i] = isalnum((unsigned char)w[i]) || strchr("_.-", w[i]) ? w[i] : '_';
		out[i] = 0;
		if (i > 3 && !strcmp(out + i - 3, ".py"))
			out[i - 3] = 0;
		break;
	}
	if (!out[0])
		snprintf(out, len, "python");
}

static bool has_label(const struct record_opts *o, const char *key)
{
	size_t kl = strlen(key);

	for (unsigned int i = 0; i < o->ntags; i++)
		if (!strncmp(o->tags[i], key, kl) && o->tags[i][kl] == '=')
			return true;
	return false;
}

/* Sends one aggregate as pprof; labels: the tags, then host and pid unless
 * a tag names them. */
static int upload_agg(struct collector *c, const struct agg *a, const char *name, int pid,
		      uint64_t from_s, uint64_t until_s)
{
	struct record_opts *o = c->o;
	struct output_opts oo = o->out;
	const char *labels[MAX_TAGS + 2];
	char host[300], pidl[32], hn[256];
	size_t nl = 0, len = 0;
	char *buf = NULL;
	FILE *f;
	int err;

	for (unsigned int i = 0; i < o->ntags; i++)
		labels[nl++] = o->tags[i];
	if (!has_label(o, "host") && !gethostname(hn, sizeof(hn))) {
		hn[sizeof(hn) - 1] = 0;
		snprintf(host, sizeof(host), "host=%s", hn);
		if (!upload__check_label(host))
			labels[nl++] = host;
	}
	if (pid && !has_label(o, "pid")) {
		snprintf(pidl, sizeof(pidl), "pid=%d", pid);
		labels[nl++] = pidl;
	}
	oo.format = FMT_PPROF;
	f = open_memstream(&buf, &len);
	if (!f)
		return -errno;
	err = write_pprof(f, a, &oo);
	if (fclose(f) && !err)
		err = -EIO;
	if (!err)
		err = uploader__push(c->uploader, buf, len, name, labels, nl, from_s, until_s,
				     o->rate);
	free(buf);
	return err;
}

/* Each interval: one upload under --app-name, or one per process. */
static void upload_interval(struct collector *c, uint64_t from_s, uint64_t until_s)
{
	const struct stack_trace *st;
	struct hashmap *by_pid;
	size_t pos = 0;
	void *v;
	int err = 0;

	if (c->o->app_name) {
		err = upload_agg(c, c->agg, c->o->app_name, 0, from_s, until_s);
		if (err)
			pr_warn("cannot queue the profile for upload: %s", strerror(-err));
		return;
	}
	by_pid = hashmap__new();
	if (!by_pid) {
		pr_warn("cannot queue the profiles for upload: out of memory");
		return;
	}
	/* The stacks' frames stay the interval aggregate's: it outlives these. */
	while (!err && agg__next(c->agg, &pos, &st)) {
		struct agg *a = hashmap__get(by_pid, (uint32_t)st->pid);

		if (!a && (!(a = agg__new()) || hashmap__put(by_pid, (uint32_t)st->pid, a))) {
			agg__free(a);
			err = -ENOMEM;
			break;
		}
		err = agg__add(a, st, st->count, 0);
	}
	pos = 0;
	while (hashmap__next(by_pid, &pos, NULL, &v)) {
		struct agg *a = v;
		const struct stack_trace *first;
		size_t p0 = 0;
		char name[128];

		if (!err && agg__next(a, &p0, &first)) {
			app_name_of(first->cmdline, name, sizeof(name));
			err = upload_agg(c, a, name, first->pid, from_s, until_s);
		}
		agg__free(a);
	}
	hashmap__free(by_pid);
	if (err)
		pr_warn("cannot queue the profiles for upload: %s", strerror(-err));
}

/*
 * Continuous mode: the interval's profile, written atomically into the
 * folder under its start time and/or queued for upload, then a fresh
 * aggregate for the next one.
 */
static int flush(struct collector *c, uint64_t start_unix_ns, uint64_t start_mono_ns,
		 uint64_t now_mono_ns)
{
	struct record_opts *o = c->o;
	char stamp[32], path[PATH_MAX];
	time_t t = start_unix_ns / 1000000000ULL;
	struct outfile *out = NULL;
	struct agg *fresh;
	struct tm tm;
	int err = 0;

	o->out.start_unix_ns = start_unix_ns;
	o->out.start_mono_ns = start_mono_ns;
	o->out.duration_s = (now_mono_ns - start_mono_ns) / 1e9;
	if (c->uploader)
		upload_interval(c, start_unix_ns / 1000000000ULL,
				(start_unix_ns + (now_mono_ns - start_mono_ns)) / 1000000000ULL);
	if (o->interval_dir) {
		gmtime_r(&t, &tm);
		strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%S", &tm);
		/* Milliseconds too: a SIGHUP can end two intervals within a second. */
		if (snprintf(path, sizeof(path), "%s%spyspy-bpf-%s.%03uZ.%s", o->interval_dir,
			     o->interval_dir[strlen(o->interval_dir) - 1] == '/' ? "" : "/", stamp,
			     (unsigned int)(start_unix_ns / 1000000 % 1000),
			     output__ext(o->out.format)) >= (int)sizeof(path))
			err = -ENAMETOOLONG;
		if (!err)
			err = outfile__open(path, &out);
		if (!err)
			err = outfile__write(out, c->agg, &o->out);
		if (!err) {
			/* Make room first: never more than --keep files in sight. */
			if (o->keep)
				prune(o->interval_dir, output__ext(o->out.format), o->keep - 1);
			err = outfile__commit(out);
			out = NULL;
		}
		outfile__abort(out);
		if (err) {
			pr_err("cannot write '%s': %s", path, strerror(-err));
		} else {
			fprintf(stderr, "pyspy-bpf: wrote %s profile to '%s': %" PRIu64
				" samples, %zu processes\n", output__name(o->out.format), path,
				agg__total(c->agg), hashmap__size(c->procs));
		}
	}
	fresh = agg__new();
	if (!fresh)
		return -ENOMEM;
	if (output__needs_timeline(o->out.format))
		agg__keep_timeline(fresh);
	agg__free(c->agg);
	c->agg = fresh;
	return err;
}

/* --upload: the uploader's thread, started before sampling so that a URL
 * it refuses ends the run first; 0 or the exit status. */
static int start_upload(struct collector *c)
{
	struct upload_opts uo = { .url = c->o->upload_url };
	int err;

	if (!c->o->upload_url)
		return 0;
	err = uploader__new(&c->uploader, &uo);
	if (err) {
		pr_err("cannot upload to '%s': %s", c->o->upload_url, strerror(-err));
		return err == -EINVAL ? EXIT_USAGE : EXIT_FAILURE_;
	}
	return 0;
}

/* The run is over: what is still queued gets a last chance, bounded in
 * time, and what was sent and dropped is said. */
static void upload_done(struct collector *c)
{
	struct upload_stats us;

	if (!c->uploader)
		return;
	uploader__stats(c->uploader, &us);
	uploader__free(c->uploader, us.queued ? 10 : 0);
	c->uploader = NULL;
	fprintf(stderr, "pyspy-bpf: uploaded %" PRIu64 " profiles to '%s'", us.sent,
		c->o->upload_url);
	if (us.dropped_full + us.dropped_retries + us.dropped_rejected)
		fprintf(stderr, "; dropped %" PRIu64 " (queue full %" PRIu64 ", retries %"
			PRIu64 ", rejected %" PRIu64 ")",
			us.dropped_full + us.dropped_retries + us.dropped_rejected,
			us.dropped_full, us.dropped_retries, us.dropped_rejected);
	fprintf(stderr, "\n");
}

/* The first interval starts with sampling. */
static int start(struct collector *c, uint64_t now)
{
	sink__say_sampling(c);
	c->interval_mono = now;
	c->interval_unix = c->o->out.start_unix_ns;
	c->next_flush = now + (uint64_t)(c->o->interval * 1e9);
	return 0;
}

/* The interval's end, or SIGHUP's (which ends it early). */
static uint64_t due(const struct collector *c)
{
	return flush_requested ? 0 : c->next_flush;
}

static bool tick(struct collector *c, uint64_t now)
{
	if (now < c->next_flush && !flush_requested)
		return false;
	flush(c, c->interval_unix, c->interval_mono, now);
	flush_requested = 0;
	c->interval_unix += now - c->interval_mono;
	c->interval_mono = now;
	c->next_flush = now + (uint64_t)(c->o->interval * 1e9);
	return false;
}

/* SIGTERM or the duration: the last, partial interval too. */
static int finish(struct collector *c, const uint64_t *counters)
{
	(void)counters;
	return flush(c, c->interval_unix, c->interval_mono, mono_ns()) ? EXIT_OUTPUT : EXIT_OK;
}

const struct sink_ops sink_continuous = {
	.open = start_upload,
	.start = start,
	.add = sink__aggregate,
	.due = due,
	.tick = tick,
	.finish = finish,
	.free = upload_done,
};
