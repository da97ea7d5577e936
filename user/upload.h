/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Ships pprof profiles to a Pyroscope-compatible backend (Grafana Pyroscope,
 * Alloy's pyroscope.receive_http) from a background thread:
 *
 *   POST <url>/ingest?name=<app>{k=v,...}&from=<s>&until=<s>&format=pprof
 *        &sampleRate=<hz>&spyName=pyspy-bpf
 *   Content-Type: application/octet-stream
 *   body: the gzip-compressed profile.proto, as written by write_pprof()
 *
 * With format=pprof the server takes the whole body as the profile (gzip or
 * not) and ignores Content-Type; only a request without format is read as a
 * multipart form. The profiles wait in a bounded queue while the backend is
 * down and are sent oldest first, so intervals arrive in order.
 */
#ifndef PYSPY_UPLOAD_H
#define PYSPY_UPLOAD_H

#include <stddef.h>
#include <stdint.h>

struct uploader;

struct upload_opts {
	const char *url;		/* base URL, http:// or https://; POST <url>/ingest?... */
	unsigned int timeout_s;		/* per request, connect included (0: 10) */
	unsigned int max_queue;		/* profiles held while the backend is down (0: 64);
					 * when full the oldest is dropped */
	unsigned int max_retries;	/* failed attempts before a profile is dropped
					 * (0: no limit; the queue bound still holds) */
	unsigned int backoff_min_ms;	/* first wait after a failure (0: 1000), doubling */
	unsigned int backoff_max_ms;	/* ... up to this (0: 60000); each wait is jittered */
};

struct upload_stats {
	uint64_t sent;			/* answered 2xx */
	uint64_t dropped_full;		/* oldest dropped to make room */
	uint64_t dropped_retries;	/* failed max_retries times */
	uint64_t dropped_rejected;	/* refused with a 4xx that retrying cannot fix */
	uint64_t failures;		/* failed attempts: transport errors and non-2xx */
	uint64_t queued;		/* waiting now, the one being sent included */
};

/* Returns 0, -EINVAL for a URL that is not http(s), -ENOMEM, or a failure to
 * start the thread. */
int uploader__new(struct uploader **out, const struct upload_opts *o);

/*
 * Queues one profile (the bytes are copied) and returns without waiting for
 * the network: the worker thread sends it. name is the application name,
 * labels "k=v" pairs (see upload__app_query), from_s / until_s the interval
 * in unix seconds, sample_rate in Hz. Returns 0 (also when the oldest queued
 * profile had to be dropped), -EINVAL for a bad name or label, -ENOMEM.
 */
int uploader__push(struct uploader *u, const void *pprof_gz, size_t len, const char *name,
		   const char *const *labels, size_t nlabels, uint64_t from_s, uint64_t until_s,
		   unsigned int sample_rate);

void uploader__stats(struct uploader *u, struct upload_stats *st);

/*
 * Tries to send what is still queued for up to flush_s seconds (a request
 * under way is cut off at that deadline too), then stops the thread and
 * frees everything; what could not be sent is counted in a warning.
 * Accepts NULL.
 */
void uploader__free(struct uploader *u, unsigned int flush_s);

/*
 * The URL-encoded value of the name query parameter: name{k=v,...}.
 * Pyroscope's rules: the application name is 1 or more of [A-Za-z0-9_.-/];
 * a label is "key=value", key [A-Za-z_][A-Za-z0-9_.]* not starting with
 * "__" (reserved) and given once; value non-empty, without ',' or '}' (they
 * end a value and Pyroscope has no escape for them), control characters,
 * or leading / trailing blanks (the server trims them). Anything else,
 * UTF-8 included, is allowed and percent-encoded. Returns 0, -EINVAL for a
 * bad name or label, -ENOSPC when out is too small.
 */
int upload__app_query(const char *name, const char *const *labels, size_t nlabels, char *out,
		      size_t outlen);
/* The checks upload__app_query applies, for the command line: 0 or -EINVAL. */
int upload__check_name(const char *name);
int upload__check_label(const char *kv);

#endif
