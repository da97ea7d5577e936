/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The uploader: the name{labels} query value against Pyroscope's rules, and
 * the queue against a small HTTP server on loopback run by the test itself:
 * down (a bound port nobody listens on: connections are refused), up,
 * answering 503 or 400, or a black hole (listening, never answering).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "upload.h"

/* ---- upload__app_query ---- */

static void expect_query(const char *name, const char *const *labels, size_t n, const char *want)
{
	char out[512];

	assert_int_equal(upload__app_query(name, labels, n, out, sizeof(out)), 0);
	assert_string_equal(out, want);
}

static void expect_invalid(const char *name, const char *const *labels, size_t n)
{
	char out[512];

	assert_int_equal(upload__app_query(name, labels, n, out, sizeof(out)), -EINVAL);
}

static void test_query_valid(void **state)
{
	const char *two[] = { "env=prod", "region=us-west-1" };
	const char *odd[] = { "k=a b=c{d&e%f+g?h#i/j" };
	const char *utf8[] = { "user=J\xc3\xbcrgen \xe2\x98\x83" };
	const char *keys[] = { "_x=1", "a.b_c9=2", "service_name=web" };

	expect_query("myapp", NULL, 0, "myapp%7B%7D");
	expect_query("my.app-1/x_Y", two, 2,
		     "my.app-1%2Fx_Y%7Benv%3Dprod%2Cregion%3Dus-west-1%7D");
	/* '=' and '{' are fine in a value: only ',' and '}' end one. */
	expect_query("a", odd, 1, "a%7Bk%3Da%20b%3Dc%7Bd%26e%25f%2Bg%3Fh%23i%2Fj%7D");
	expect_query("a", utf8, 1, "a%7Buser%3DJ%C3%BCrgen%20%E2%98%83%7D");
	expect_query("a", keys, 3, "a%7B_x%3D1%2Ca.b_c9%3D2%2Cservice_name%3Dweb%7D");
}

static void test_query_invalid(void **state)
{
	static const char *const bad_labels[] = {
		"novalue", "=v", "9k=v", "k-x=v", "k y=v", "__name__=x", "__private=x",
		"k=", "k=a,b", "k=a}b", "k=a\nb", "k=a\tb", "k= lead", "k=trail ",
		"k=\x7f", "k=\xff", "k=\xc0\x80", "k=\xed\xa0\x80", "k=\xe2\x98",
		"k=\xf4\x90\x80\x80", "\xc3\xbc=v",
	};
	const char *dup[] = { "k=1", "k=2" };
	const char *prefix[] = { "k=1", "kk=2" };
	const char *null_label[] = { NULL };
	char out[512];

	expect_invalid("", NULL, 0);
	expect_invalid(NULL, NULL, 0);
	expect_invalid("my app", NULL, 0);
	expect_invalid("app{x=y}", NULL, 0);
	expect_invalid("app,", NULL, 0);
	expect_invalid("\xc3\xbc", NULL, 0);
	for (size_t i = 0; i < sizeof(bad_labels) / sizeof(bad_labels[0]); i++) {
		const char *one[] = { bad_labels[i] };

		assert_int_equal(upload__check_label(bad_labels[i]), -EINVAL);
		expect_invalid("app", one, 1);
	}
	expect_invalid("app", dup, 2);
	expect_invalid("app", null_label, 1);
	/* A key that is a prefix of another is not a duplicate. */
	assert_int_equal(upload__app_query("app", prefix, 2, out, sizeof(out)), 0);
	assert_int_equal(upload__check_name("a.b-c/d_e9"), 0);
	assert_int_equal(upload__check_label("k=v=w"), 0);
}

static void test_query_space(void **state)
{
	const char *one[] = { "k=v" };
	const char *want = "app%7Bk%3Dv%7D";
	char out[64];

	assert_int_equal(upload__app_query("app", one, 1, out, strlen(want) + 1), 0);
	assert_string_equal(out, want);
	assert_int_equal(upload__app_query("app", one, 1, out, strlen(want)), -ENOSPC);
	assert_int_equal(upload__app_query("app", one, 1, out, 5), -ENOSPC);
	assert_int_equal(upload__app_query("app", one, 1, out, 0), -ENOSPC);
}

static int unhex(char c)
{
	return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
}

/* Every printable ASCII character allowed in a value decodes back as itself. */
static void test_query_roundtrip(void **state)
{
	char value[128], label[160], out[512], dec[256];
	const char *one[] = { label };
	size_t n = 0, d = 0;

	for (int c = ' ' + 1; c < 0x7f; c++)
		if (c != ',' && c != '}')
			value[n++] = c;
	value[n] = 0;
	snprintf(label, sizeof(label), "key=%s", value);
	assert_int_equal(upload__app_query("app", one, 1, out, sizeof(out)), 0);
	for (const char *p = out; *p; p++) {
		if (*p == '%') {
			dec[d++] = unhex(p[1]) << 4 | unhex(p[2]);
			p += 2;
		} else {
			assert_true(isalnum((unsigned char)*p) || strchr("-._~", *p));
			dec[d++] = *p;
		}
	}
	dec[d] = 0;
	snprintf(label, sizeof(label), "app{key=%s}", value);
	assert_string_equal(dec, label);
}

/* ---- a small HTTP server ---- */

#define MAX_REQS 64

struct req {
	char target[1024];
	char ctype[128];
	char agent[128];
	char *body;
	size_t len;
};

struct server {
	int fd;
	int port;
	bool listening;
	pthread_t thread;
	bool started;
	pthread_mutex_t mu;
	int status;		/* what requests are answered */
	struct req reqs[MAX_REQS];
	size_t nreq;
	atomic_bool stop;
};

/* Binds a loopback port; connections to it are refused until srv_up(). */
static void srv_init(struct server *s)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sa);
	int one = 1;

	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->mu, NULL);
	s->status = 200;
	s->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(s->fd >= 0);
	setsockopt(s->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(s->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(s->fd, (struct sockaddr *)&sa, &sl), 0);
	s->port = ntohs(sa.sin_port);
}

static void header_value(const char *hdrs, const char *name, char *out, size_t len)
{
	size_t nl = strlen(name);

	out[0] = 0;
	for (const char *p = hdrs; (p = strstr(p, "\r\n")); ) {
		p += 2;
		if (!strncasecmp(p, name, nl) && p[nl] == ':') {
			const char *v = p + nl + 1, *e;

			while (*v == ' ')
				v++;
			e = strstr(v, "\r\n");
			snprintf(out, len, "%.*s", (int)(e ? e - v : (long)strlen(v)), v);
			return;
		}
	}
}

static void serve_one(struct server *s, int c)
{
	char buf[8192], resp[128];
	size_t n = 0, hlen, clen;
	char *end, cl[32];
	struct req r = { 0 };
	int status;
	ssize_t k;

	while (!(end = memmem(buf, n, "\r\n\r\n", 4))) {
		k = read(c, buf + n, sizeof(buf) - 1 - n);
		if (k <= 0)
			return;
		n += k;
	}
	buf[n] = 0;
	hlen = end + 4 - buf;
	*end = 0;
	sscanf(buf, "%*s %1023s", r.target);
	header_value(buf, "Content-Type", r.ctype, sizeof(r.ctype));
	header_value(buf, "User-Agent", r.agent, sizeof(r.agent));
	header_value(buf, "Content-Length", cl, sizeof(cl));
	clen = strtoul(cl, NULL, 10);
	r.body = malloc(clen + 1);
	r.len = n - hlen < clen ? n - hlen : clen;
	memcpy(r.body, buf + hlen, r.len);
	while (r.len < clen && (k = read(c, r.body + r.len, clen - r.len)) > 0)
		r.len += k;
	pthread_mutex_lock(&s->mu);
	status = s->status;
	if (s->nreq < MAX_REQS)
		s->reqs[s->nreq++] = r;
	else
		free(r.body);
	pthread_mutex_unlock(&s->mu);
	snprintf(resp, sizeof(resp),
		 "HTTP/1.1 %d X\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok", status);
	if (write(c, resp, strlen(resp)) < 0)
		return;
}

static void *srv_main(void *arg)
{
	struct server *s = arg;

	while (!atomic_load(&s->stop)) {
		struct pollfd p = { .fd = s->fd, .events = POLLIN };
		int c;

		if (poll(&p, 1, 50) <= 0)
			continue;
		c = accept4(s->fd, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0)
			continue;
		serve_one(s, c);
		close(c);
	}
	return NULL;
}

/* Listens; serve: answer requests too (else a black hole). */
static void srv_up(struct server *s, bool serve)
{
	assert_int_equal(listen(s->fd, 16), 0);
	s->listening = true;
	if (serve) {
		assert_int_equal(pthread_create(&s->thread, NULL, srv_main, s), 0);
		s->started = true;
	}
}

static void srv_status(struct server *s, int status)
{
	pthread_mutex_lock(&s->mu);
	s->status = status;
	pthread_mutex_unlock(&s->mu);
}

static size_t srv_count(struct server *s)
{
	size_t n;

	pthread_mutex_lock(&s->mu);
	n = s->nreq;
	pthread_mutex_unlock(&s->mu);
	return n;
}

static void srv_free(struct server *s)
{
	atomic_store(&s->stop, true);
	if (s->started)
		pthread_join(s->thread, NULL);
	close(s->fd);
	for (size_t i = 0; i < s->nreq; i++)
		free(s->reqs[i].body);
	pthread_mutex_destroy(&s->mu);
}

static double mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void new_uploader(struct uploader **u, struct server *s, struct upload_opts o)
{
	char url[64];

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", s->port);
	o.url = url;
	if (!o.backoff_min_ms)
		o.backoff_min_ms = 20;
	if (!o.backoff_max_ms)
		o.backoff_max_ms = 100;
	assert_int_equal(uploader__new(u, &o), 0);
}

enum stat_field { S_SENT, S_FULL, S_RETRIES, S_REJECTED, S_FAILURES, S_QUEUED };

static uint64_t stat_of(struct uploader *u, enum stat_field f)
{
	struct upload_stats st;

	uploader__stats(u, &st);
	switch (f) {
	case S_SENT:
		return st.sent;
	case S_FULL:
		return st.dropped_full;
	case S_RETRIES:
		return st.dropped_retries;
	case S_REJECTED:
		return st.dropped_rejected;
	case S_FAILURES:
		return st.failures;
	default:
		return st.queued;
	}
}

/* Waits up to 10 s for a counter to reach at least want. */
static void wait_stat(struct uploader *u, enum stat_field f, uint64_t want)
{
	double end = mono() + 10;

	while (stat_of(u, f) < want && mono() < end)
		usleep(5000);
	assert_true(stat_of(u, f) >= want);
}

static void push_n(struct uploader *u, int from, int to)
{
	const char *labels[] = { "env=test" };

	for (int i = from; i < to; i++) {
		char body[32];

		snprintf(body, sizeof(body), "profile-%d", i);
		assert_int_equal(uploader__push(u, body, strlen(body), "app", labels, 1,
						1000 + i, 1001 + i, 100), 0);
	}
}

static void expect_body(struct server *s, size_t i, int id)
{
	char want[32];

	snprintf(want, sizeof(want), "profile-%d", id);
	assert_true(i < s->nreq);
	assert_int_equal(s->reqs[i].len, strlen(want));
	assert_memory_equal(s->reqs[i].body, want, strlen(want));
}

/* ---- the uploader ---- */

static void test_bad_url(void **state)
{
	static const char *const bad[] = {
		"ftp://h", "http://", "https:///x", "127.0.0.1:4040", "http://h/?a=b",
		"http://h/#x", "http://h h", "", "file:///etc/passwd",
	};
	struct uploader *u = (void *)1;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct upload_opts o = { .url = bad[i] };

		assert_int_equal(uploader__new(&u, &o), -EINVAL);
		assert_null(u);
	}
	uploader__free(NULL, 5);
}

static void test_request(void **state)
{
	static const unsigned char body[] = { 0x1f, 0x8b, 0, 1, 2, 0xff, 0, '\r', '\n' };
	const char *labels[] = { "env=test", "host=a b" };
	struct uploader *u;
	struct server s;

	srv_init(&s);
	srv_up(&s, true);
	new_uploader(&u, &s, (struct upload_opts){ 0 });
	assert_int_equal(uploader__push(u, body, sizeof(body), "my.app", labels, 2,
					1700000000, 1700000060, 97), 0);
	assert_int_equal(uploader__push(u, body, sizeof(body), "bad app", labels, 2, 1, 2, 97),
			 -EINVAL);
	wait_stat(u, S_SENT, 1);
	assert_int_equal(stat_of(u, S_QUEUED), 0);
	assert_int_equal(stat_of(u, S_FAILURES), 0);
	uploader__free(u, 5);
	assert_int_equal(s.nreq, 1);
	assert_string_equal(s.reqs[0].target,
			    "/ingest?name=my.app%7Benv%3Dtest%2Chost%3Da%20b%7D&from=1700000000"
			    "&until=1700000060&format=pprof&sampleRate=97&spyName=pyspy-bpf");
	assert_string_equal(s.reqs[0].ctype, "application/octet-stream");
	assert_int_equal(strncmp(s.reqs[0].agent, "pyspy-bpf/", 10), 0);
	assert_int_equal(s.reqs[0].len, sizeof(body));
	assert_memory_equal(s.reqs[0].body, body, sizeof(body));
	srv_free(&s);
}

/* Down: the oldest go, the newest max_queue wait; up: those arrive in order. */
static void test_drop_oldest(void **state)
{
	struct uploader *u;
	struct server s;

	srv_init(&s);
	new_uploader(&u, &s, (struct upload_opts){ .max_queue = 4 });
	push_n(u, 0, 10);
	wait_stat(u, S_FULL, 6);
	wait_stat(u, S_FAILURES, 1);
	/* Three more failed attempts (counted, not slept for): nothing else
	 * goes, the oldest waiting one is retried, not dropped. */
	wait_stat(u, S_FAILURES, stat_of(u, S_FAILURES) + 3);
	assert_int_equal(stat_of(u, S_FULL), 6);
	assert_int_equal(stat_of(u, S_QUEUED), 4);
	assert_int_equal(stat_of(u, S_SENT), 0);
	srv_up(&s, true);
	wait_stat(u, S_SENT, 4);
	assert_int_equal(stat_of(u, S_QUEUED), 0);
	assert_int_equal(stat_of(u, S_FULL), 6);
	uploader__free(u, 5);
	assert_int_equal(s.nreq, 4);
	for (int i = 0; i < 4; i++) {
		char from[32];

		expect_body(&s, i, 6 + i);
		snprintf(from, sizeof(from), "&from=%d&", 1006 + i);
		assert_non_null(strstr(s.reqs[i].target, from));
	}
	srv_free(&s);
}

static void test_retry_after_503(void **state)
{
	struct uploader *u;
	struct server s;

	srv_init(&s);
	srv_status(&s, 503);
	srv_up(&s, true);
	new_uploader(&u, &s, (struct upload_opts){ 0 });
	push_n(u, 0, 3);
	wait_stat(u, S_FAILURES, 3);
	assert_int_equal(stat_of(u, S_SENT), 0);
	assert_int_equal(stat_of(u, S_QUEUED), 3);
	srv_status(&s, 200);
	wait_stat(u, S_SENT, 3);
	assert_int_equal(stat_of(u, S_SENT), 3);
	uploader__free(u, 5);
	/* Only the oldest was tried while the answer was 503. */
	for (size_t i = 0; i + 3 < s.nreq; i++)
		expect_body(&s, i, 0);
	expect_body(&s, s.nreq - 3, 0);
	expect_body(&s, s.nreq - 2, 1);
	expect_body(&s, s.nreq - 1, 2);
	srv_free(&s);
}

static void test_max_retries(void **state)
{
	struct uploader *u;
	struct server s;

	srv_init(&s);
	srv_status(&s, 500);
	srv_up(&s, true);
	new_uploader(&u, &s, (struct upload_opts){ .max_retries = 2 });
	push_n(u, 0, 2);
	wait_stat(u, S_RETRIES, 2);
	assert_int_equal(stat_of(u, S_FAILURES), 4);
	assert_int_equal(stat_of(u, S_QUEUED), 0);
	uploader__free(u, 5);
	assert_int_equal(s.nreq, 4);
	expect_body(&s, 0, 0);
	expect_body(&s, 1, 0);
	expect_body(&s, 2, 1);
	expect_body(&s, 3, 1);
	srv_free(&s);
}

/* A 400 will be a 400 again: dropped at once; 429 is retried. */
static void test_rejected(void **state)
{
	struct uploader *u;
	struct server s;

	srv_init(&s);
	srv_status(&s, 400);
	srv_up(&s, true);
	new_uploader(&u, &s, (struct upload_opts){ 0 });
	push_n(u, 0, 2);
	wait_stat(u, S_REJECTED, 2);
	assert_int_equal(s.nreq, 2);
	srv_status(&s, 429);
	push_n(u, 2, 3);
	wait_stat(u, S_FAILURES, 4);
	srv_status(&s, 200);
	wait_stat(u, S_SENT, 1);
	assert_int_equal(stat_of(u, S_REJECTED), 2);
	uploader__free(u, 5);
	srv_free(&s);
}

/* What is queued at the end is sent before uploader__free returns. */
static void test_flush_on_free(void **state)
{
	struct uploader *u;
	struct server s;

	srv_init(&s);
	srv_up(&s, true);
	new_uploader(&u, &s, (struct upload_opts){ 0 });
	push_n(u, 0, 20);
	uploader__free(u, 10);
	assert_int_equal(srv_count(&s), 20);
	for (int i = 0; i < 20; i++)
		expect_body(&s, i, i);
	srv_free(&s);
}

/* A request to a server that never answers is cut off at the flush deadline,
 * not at the (much longer) request timeout. */
static void test_free_deadline_black_hole(void **state)
{
	struct uploader *u;
	struct server s;
	double t;

	srv_init(&s);
	srv_up(&s, false);
	new_uploader(&u, &s, (struct upload_opts){ .timeout_s = 60 });
	push_n(u, 0, 3);
	usleep(200000);
	assert_int_equal(stat_of(u, S_QUEUED), 3);
	t = mono();
	uploader__free(u, 1);
	t = mono() - t;
	assert_true(t >= 0.9);
	assert_true(t < 3.0);
	srv_free(&s);
}

/* Backing off while the backend is down: free does not wait out the backoff. */
static void test_free_deadline_backoff(void **state)
{
	struct uploader *u;
	struct server s;
	double t;

	srv_init(&s);
	new_uploader(&u, &s, (struct upload_opts){ .backoff_min_ms = 30000,
						   .backoff_max_ms = 60000 });
	push_n(u, 0, 2);
	wait_stat(u, S_FAILURES, 1);
	t = mono();
	uploader__free(u, 1);
	t = mono() - t;
	assert_true(t >= 0.9);
	assert_true(t < 2.0);
	/* And with no time to flush, at once. */
	new_uploader(&u, &s, (struct upload_opts){ 0 });
	push_n(u, 0, 2);
	t = mono();
	uploader__free(u, 0);
	assert_true(mono() - t < 0.5);
	srv_free(&s);
}

/* push never waits for the network, even while a request hangs. */
static void test_push_does_not_block(void **state)
{
	char big[1 << 16];
	struct uploader *u;
	struct server s;
	double t, worst = 0;

	memset(big, 'x', sizeof(big));
	srv_init(&s);
	srv_up(&s, false);
	new_uploader(&u, &s, (struct upload_opts){ .timeout_s = 60, .max_queue = 8 });
	for (int i = 0; i < 200; i++) {
		t = mono();
		assert_int_equal(uploader__push(u, big, sizeof(big), "app", NULL, 0, 1, 2, 100), 0);
		t = mono() - t;
		if (t > worst)
			worst = t;
	}
	assert_true(worst < 0.05);
	/* Eight waiting, and one hanging in the black hole if the worker took
	 * it before the pushes ended. */
	usleep(100000);
	assert_in_range(stat_of(u, S_QUEUED), 8, 9);
	assert_int_equal(stat_of(u, S_QUEUED) + stat_of(u, S_FULL), 200);
	assert_int_equal(stat_of(u, S_FAILURES), 0);
	uploader__free(u, 0);
	srv_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_query_valid),
		cmocka_unit_test(test_query_invalid),
		cmocka_unit_test(test_query_space),
		cmocka_unit_test(test_query_roundtrip),
		cmocka_unit_test(test_bad_url),
		cmocka_unit_test(test_request),
		cmocka_unit_test(test_drop_oldest),
		cmocka_unit_test(test_retry_after_503),
		cmocka_unit_test(test_max_retries),
		cmocka_unit_test(test_rejected),
		cmocka_unit_test(test_flush_on_free),
		cmocka_unit_test(test_free_deadline_black_hole),
		cmocka_unit_test(test_free_deadline_backoff),
		cmocka_unit_test(test_push_does_not_block),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
