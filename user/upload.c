// SPDX-License-Identifier: BSD-2-Clause
#include <dlfcn.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <curl/curl.h>
#include "clock.h"
#include "log.h"
#include "upload.h"
#include "utf8.h"

#define DEFAULT_TIMEOUT_S 10
#define DEFAULT_MAX_QUEUE 64
#define DEFAULT_BACKOFF_MIN_MS 1000
#define DEFAULT_BACKOFF_MAX_MS 60000
/* A backend that takes longer than this to accept a connection is down. */
#define CONNECT_TIMEOUT_MAX_MS 5000

struct item {
	struct item *next;
	char *url;		/* the whole request URL, query included */
	void *body;
	size_t len;
	unsigned int tries;
};

struct uploader {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;		/* on CLOCK_MONOTONIC */
	/* Under mu: */
	struct item *head, *tail;	/* waiting, oldest first */
	size_t n;			/* ... how many */
	bool inflight;			/* the worker is sending one, out of the list */
	struct upload_stats st;
	bool stopping;
	uint64_t deadline_ns;		/* when stopping: give up then */
	uint64_t next_try_ns;		/* backoff: no request before */
	unsigned int backoff_ms;	/* current backoff, 0 while the backend answers */
	/* Read by curl's progress callback, outside mu: 0 or the deadline. */
	_Atomic uint64_t abort_ns;
	/* Worker only: */
	bool down;			/* a failure was reported, not yet its end */
	unsigned int seed;
	CURL *curl;
	struct curl_slist *headers;
	char errbuf[CURL_ERROR_SIZE];
	/* Constant: */
	char *base;			/* the URL, without trailing '/' */
	char *shown;			/* ... without user:password, for messages */
	unsigned int timeout_ms, max_queue, max_retries, backoff_min_ms, backoff_max_ms;
};

/*
 * libcurl is loaded when an uploader is made, not linked: with the thirty
 * libraries it pulls in (TLS, Kerberos, LDAP, ...), every run paid for
 * loading and relocating them at start and for their destructors at exit,
 * uploading or not.
 */
#define LIBCURL "libcurl.so.4"

static struct {
	CURLcode (*global_init)(long flags);
	CURL *(*easy_init)(void);
	CURLcode (*easy_setopt)(CURL *curl, CURLoption option, ...);
	CURLcode (*easy_perform)(CURL *curl);
	CURLcode (*easy_getinfo)(CURL *curl, CURLINFO info, ...);
	const char *(*easy_strerror)(CURLcode code);
	void (*easy_cleanup)(CURL *curl);
	struct curl_slist *(*slist_append)(struct curl_slist *list, const char *s);
	void (*slist_free_all)(struct curl_slist *list);
} lc;

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static int curl_init_err;

static int load_curl(void)
{
	/* Never closed: libcurl's global state outlives every uploader. */
	void *h = dlopen(LIBCURL, RTLD_NOW | RTLD_LOCAL);
	struct {
		void **fn;
		const char *name;
	} syms[] = {
		{ (void **)&lc.global_init, "curl_global_init" },
		{ (void **)&lc.easy_init, "curl_easy_init" },
		{ (void **)&lc.easy_setopt, "curl_easy_setopt" },
		{ (void **)&lc.easy_perform, "curl_easy_perform" },
		{ (void **)&lc.easy_getinfo, "curl_easy_getinfo" },
		{ (void **)&lc.easy_strerror, "curl_easy_strerror" },
		{ (void **)&lc.easy_cleanup, "curl_easy_cleanup" },
		{ (void **)&lc.slist_append, "curl_slist_append" },
		{ (void **)&lc.slist_free_all, "curl_slist_free_all" },
	};
	size_t i;

	if (!h) {
		pr_err("uploading needs " LIBCURL " (Debian: libcurl4): %s", dlerror());
		return -ELIBACC;
	}
	for (i = 0; i < sizeof(syms) / sizeof(syms[0]); i++) {
		*syms[i].fn = dlsym(h, syms[i].name);
		if (!*syms[i].fn) {
			pr_err(LIBCURL " has no %s", syms[i].name);
			return -ELIBACC;
		}
	}
	return 0;
}

static void curl_init(void)
{
	curl_init_err = load_curl();
	if (!curl_init_err && lc.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		curl_init_err = -ENOMEM;
}

/* ---- the name query value ---- */

static bool is_alpha(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static bool is_key_char(unsigned char c)
{
	return is_alpha(c) || is_digit(c) || c == '_' || c == '.';
}

static bool is_blank(unsigned char c)
{
	return c == ' ' || c == '\t';
}

int upload__check_name(const char *name)
{
	const unsigned char *p = (const unsigned char *)name;

	if (!name || !*name)
		return -EINVAL;
	for (; *p; p++)
		if (!is_key_char(*p) && !is_digit(*p) && *p != '-' && *p != '/')
			return -EINVAL;
	return 0;
}

int upload__check_label(const char *kv)
{
	const char *eq = kv ? strchr(kv, '=') : NULL;
	const unsigned char *v;
	size_t vlen;

	if (!eq || eq == kv)
		return -EINVAL;
	if (!is_alpha(kv[0]) && kv[0] != '_')
		return -EINVAL;
	/* "__" names are Pyroscope's own (__name__); it drops the others. */
	if (kv[0] == '_' && kv[1] == '_')
		return -EINVAL;
	for (const char *p = kv; p < eq; p++)
		if (!is_key_char(*p))
			return -EINVAL;
	v = (const unsigned char *)eq + 1;
	vlen = strlen((const char *)v);
	if (!vlen || is_blank(v[0]) || is_blank(v[vlen - 1]))
		return -EINVAL;
	for (size_t i = 0; i < vlen; i++)
		if (v[i] < 0x20 || v[i] == 0x7f || v[i] == ',' || v[i] == '}')
			return -EINVAL;
	return utf8__valid((const char *)v, vlen) ? 0 : -EINVAL;
}

struct sbuf {
	char *p;
	size_t len, cap;
	bool overflow;
};

/* Percent-encodes all but RFC 3986's unreserved characters. */
static void put_enc(struct sbuf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";

	for (size_t i = 0; i < n; i++) {
		unsigned char c = s[i];
		bool plain = is_alpha(c) || is_digit(c) || c == '-' || c == '.' || c == '_' ||
			     c == '~';

		if (b->len + (plain ? 1 : 3) >= b->cap) {
			b->overflow = true;
			return;
		}
		if (plain) {
			b->p[b->len++] = c;
		} else {
			b->p[b->len++] = '%';
			b->p[b->len++] = hex[c >> 4];
			b->p[b->len++] = hex[c & 15];
		}
	}
	b->p[b->len] = 0;
}

int upload__app_query(const char *name, const char *const *labels, size_t nlabels, char *out,
		      size_t outlen)
{
	struct sbuf b = { .p = out, .cap = outlen };

	if (upload__check_name(name))
		return -EINVAL;
	for (size_t i = 0; i < nlabels; i++) {
		size_t klen;

		if (upload__check_label(labels[i]))
			return -EINVAL;
		klen = strchr(labels[i], '=') - labels[i];
		for (size_t j = 0; j < i; j++)
			if (!strncmp(labels[i], labels[j], klen + 1))
				return -EINVAL;
	}
	if (!outlen)
		return -ENOSPC;
	out[0] = 0;
	put_enc(&b, name, strlen(name));
	put_enc(&b, "{", 1);
	for (size_t i = 0; i < nlabels; i++) {
		if (i)
			put_enc(&b, ",", 1);
		put_enc(&b, labels[i], strlen(labels[i]));
	}
	put_enc(&b, "}", 1);
	return b.overflow ? -ENOSPC : 0;
}

/* ---- the queue (callers hold mu) ---- */

static void item_free(struct item *it)
{
	if (!it)
		return;
	free(it->url);
	free(it->body);
	free(it);
}

static struct item *pop_head(struct uploader *u)
{
	struct item *it = u->head;

	if (it) {
		u->head = it->next;
		if (!u->head)
			u->tail = NULL;
		it->next = NULL;
		u->n--;
	}
	return it;
}

static void push_tail(struct uploader *u, struct item *it)
{
	it->next = NULL;
	if (u->tail)
		u->tail->next = it;
	else
		u->head = it;
	u->tail = it;
	u->n++;
}

static void push_head(struct uploader *u, struct item *it)
{
	it->next = u->head;
	u->head = it;
	if (!u->tail)
		u->tail = it;
	u->n++;
}

/* ---- the worker ---- */

static size_t discard(char *ptr, size_t size, size_t nmemb, void *arg)
{
	return size * nmemb;
}

/* Cuts a request off at uploader__free's deadline. */
static int progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
		    curl_off_t ulnow)
{
	struct uploader *u = arg;
	uint64_t at = atomic_load(&u->abort_ns);

	return at && mono_ns() >= at;
}

/* Returns the HTTP status, or 0 with errbuf set when no answer came. */
static long send_one(struct uploader *u, const struct item *it, unsigned int timeout_ms)
{
	CURLcode rc;
	long code = 0;

	u->errbuf[0] = 0;
	lc.easy_setopt(u->curl, CURLOPT_URL, it->url);
	lc.easy_setopt(u->curl, CURLOPT_POSTFIELDS, it->body);
	lc.easy_setopt(u->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)it->len);
	lc.easy_setopt(u->curl, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
	lc.easy_setopt(u->curl, CURLOPT_CONNECTTIMEOUT_MS,
			 (long)(timeout_ms < CONNECT_TIMEOUT_MAX_MS ? timeout_ms
								   : CONNECT_TIMEOUT_MAX_MS));
	rc = lc.easy_perform(u->curl);
	if (rc != CURLE_OK) {
		if (!u->errbuf[0])
			snprintf(u->errbuf, sizeof(u->errbuf), "%s", lc.easy_strerror(rc));
		return 0;
	}
	lc.easy_getinfo(u->curl, CURLINFO_RESPONSE_CODE, &code);
	if (code < 200 || code > 299)
		snprintf(u->errbuf, sizeof(u->errbuf), "HTTP status %ld", code);
	return code;
}

/* Exponential, jittered by +-25% so a fleet that lost its backend together
 * does not come back in step. */
static void back_off(struct uploader *u, uint64_t now)
{
	unsigned int b = u->backoff_ms, d;

	b = b ? (b > u->backoff_max_ms / 2 ? u->backoff_max_ms : b * 2) : u->backoff_min_ms;
	u->backoff_ms = b;
	d = b - b / 4 + (unsigned int)rand_r(&u->seed) % (b / 2 + 1);
	u->next_try_ns = now + d * 1000000ULL;
}

enum note { N_NONE, N_BACK, N_REFUSED, N_DOWN, N_STILL_DOWN };

/*
 * Called with mu held, after a request: counts it and requeues or drops it.
 * Returns what to tell the user once mu is released (stderr may block).
 */
static enum note settle(struct uploader *u, struct item *it, long code)
{
	/* These will be refused again however often they are sent. */
	bool permanent = code >= 400 && code <= 499 && code != 408 && code != 429;
	enum note note;

	if (code >= 200 && code <= 299) {
		u->st.sent++;
		u->backoff_ms = 0;
		u->next_try_ns = 0;
		note = u->down ? N_BACK : N_NONE;
		u->down = false;
		item_free(it);
		return note;
	}
	u->st.failures++;
	it->tries++;
	if (permanent) {
		u->st.dropped_rejected++;
		item_free(it);
		return N_REFUSED;
	}
	note = u->down ? N_STILL_DOWN : N_DOWN;
	u->down = true;
	back_off(u, mono_ns());
	if (u->max_retries && it->tries >= u->max_retries) {
		u->st.dropped_retries++;
		item_free(it);
	} else if (u->n >= u->max_queue) {
		/* It is the oldest: newer profiles came while it was out. */
		u->st.dropped_full++;
		item_free(it);
	} else {
		push_head(u, it);
	}
	return note;
}

static void tell(const struct uploader *u, enum note note)
{
	switch (note) {
	case N_BACK:
		fprintf(stderr, "pyspy-bpf: uploading to '%s' again\n", u->shown);
		break;
	case N_REFUSED:
		pr_warn("'%s' refused a profile: %s; dropped it", u->shown, u->errbuf);
		break;
	case N_DOWN:
		pr_warn("cannot upload to '%s': %s; keeping up to %u profiles and retrying",
			u->shown, u->errbuf, u->max_queue);
		break;
	case N_STILL_DOWN:
		pr_debug("cannot upload to '%s': %s", u->shown, u->errbuf);
		break;
	default:
		break;
	}
}

static void wait_until(struct uploader *u, uint64_t when_ns)
{
	struct timespec ts = {
		.tv_sec = when_ns / 1000000000ULL,
		.tv_nsec = when_ns % 1000000000ULL,
	};

	pthread_cond_timedwait(&u->cv, &u->mu, &ts);
}

static void *worker(void *arg)
{
	struct uploader *u = arg;
	struct item *it;
	enum note note;
	size_t left;

	pthread_mutex_lock(&u->mu);
	for (;;) {
		uint64_t now = mono_ns(), wake;
		unsigned int timeout_ms = u->timeout_ms;
		long code;

		if (u->stopping && (!u->head || now >= u->deadline_ns))
			break;
		if (!u->head) {
			pthread_cond_wait(&u->cv, &u->mu);
			continue;
		}
		if (now < u->next_try_ns) {
			wake = u->next_try_ns;
			if (u->stopping && u->deadline_ns < wake)
				wake = u->deadline_ns;
			wait_until(u, wake);
			continue;
		}
		if (u->stopping && (u->deadline_ns - now) / 1000000 < timeout_ms)
			timeout_ms = (u->deadline_ns - now) / 1000000 + 1;
		it = pop_head(u);
		u->inflight = true;
		pthread_mutex_unlock(&u->mu);
		code = send_one(u, it, timeout_ms);
		pthread_mutex_lock(&u->mu);
		u->inflight = false;
		note = settle(u, it, code);
		if (note != N_NONE) {
			pthread_mutex_unlock(&u->mu);
			tell(u, note);
			pthread_mutex_lock(&u->mu);
		}
	}
	left = u->n;
	while ((it = pop_head(u)))
		item_free(it);
	pthread_mutex_unlock(&u->mu);
	if (left)
		pr_warn("%zu profiles not uploaded to '%s'", left, u->shown);
	return NULL;
}

/* ---- the API ---- */

/* "scheme://user:password@host..." -> "scheme://host...". */
static char *strip_userinfo(const char *url)
{
	const char *host = strstr(url, "://"), *at;
	char *s;

	host = host ? host + 3 : url;
	at = strchr(host, '@');
	if (!at || at > host + strcspn(host, "/"))
		return strdup(url);
	if (asprintf(&s, "%.*s%s", (int)(host - url), url, at + 1) < 0)
		return NULL;
	return s;
}

static int check_url(const char *url)
{
	size_t skip;

	if (!strncasecmp(url, "http://", 7))
		skip = 7;
	else if (!strncasecmp(url, "https://", 8))
		skip = 8;
	else
		return -EINVAL;
	if (!url[skip] || url[skip] == '/')
		return -EINVAL;
	/* We append the path and the query. */
	for (const unsigned char *p = (const unsigned char *)url; *p; p++)
		if (*p <= ' ' || *p == 0x7f || *p == '?' || *p == '#')
			return -EINVAL;
	return 0;
}

static int setup_curl(struct uploader *u)
{
	struct curl_slist *h;

	u->curl = lc.easy_init();
	if (!u->curl)
		return -ENOMEM;
	/* Raw body: with format=pprof Pyroscope reads the body as the profile.
	 * No "Expect: 100-continue": it only delays the body by a round trip. */
	u->headers = lc.slist_append(NULL, "Content-Type: application/octet-stream");
	h = u->headers ? lc.slist_append(u->headers, "Expect:") : NULL;
	if (!h)
		return -ENOMEM;
	lc.easy_setopt(u->curl, CURLOPT_HTTPHEADER, u->headers);
	lc.easy_setopt(u->curl, CURLOPT_NOSIGNAL, 1L);
	lc.easy_setopt(u->curl, CURLOPT_POST, 1L);
	lc.easy_setopt(u->curl, CURLOPT_USERAGENT, "pyspy-bpf/" PYSPY_VERSION);
	lc.easy_setopt(u->curl, CURLOPT_WRITEFUNCTION, discard);
	lc.easy_setopt(u->curl, CURLOPT_ERRORBUFFER, u->errbuf);
	lc.easy_setopt(u->curl, CURLOPT_NOPROGRESS, 0L);
	lc.easy_setopt(u->curl, CURLOPT_XFERINFOFUNCTION, progress);
	lc.easy_setopt(u->curl, CURLOPT_XFERINFODATA, u);
#if LIBCURL_VERSION_NUM >= 0x075500
	lc.easy_setopt(u->curl, CURLOPT_PROTOCOLS_STR, "http,https");
#else
	lc.easy_setopt(u->curl, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	return 0;
}

static void destroy(struct uploader *u)
{
	lc.easy_cleanup(u->curl);
	lc.slist_free_all(u->headers);
	free(u->base);
	free(u->shown);
	free(u);
}

int uploader__new(struct uploader **out, const struct upload_opts *o)
{
	struct uploader *u;
	pthread_condattr_t ca;
	sigset_t all, old;
	size_t len;
	int err;

	*out = NULL;
	if (!o->url || check_url(o->url))
		return -EINVAL;
	pthread_once(&curl_once, curl_init);
	if (curl_init_err)
		return curl_init_err;
	u = calloc(1, sizeof(*u));
	if (!u)
		return -ENOMEM;
	u->timeout_ms = (o->timeout_s ? o->timeout_s : DEFAULT_TIMEOUT_S) * 1000;
	u->max_queue = o->max_queue ? o->max_queue : DEFAULT_MAX_QUEUE;
	u->max_retries = o->max_retries;
	u->backoff_min_ms = o->backoff_min_ms ? o->backoff_min_ms : DEFAULT_BACKOFF_MIN_MS;
	u->backoff_max_ms = o->backoff_max_ms ? o->backoff_max_ms : DEFAULT_BACKOFF_MAX_MS;
	if (u->backoff_max_ms < u->backoff_min_ms)
		u->backoff_max_ms = u->backoff_min_ms;
	u->seed = (unsigned int)(mono_ns() ^ ((uint64_t)getpid() << 16));
	u->base = strdup(o->url);
	u->shown = strip_userinfo(o->url);
	if (!u->base || !u->shown) {
		destroy(u);
		return -ENOMEM;
	}
	len = strlen(u->base);
	while (len && u->base[len - 1] == '/')
		u->base[--len] = 0;
	err = setup_curl(u);
	if (err) {
		destroy(u);
		return err;
	}
	pthread_mutex_init(&u->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&u->cv, &ca);
	pthread_condattr_destroy(&ca);
	/* Signals stay with the main thread, whose loop acts on them. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	err = -pthread_create(&u->thread, NULL, worker, u);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err) {
		pthread_cond_destroy(&u->cv);
		pthread_mutex_destroy(&u->mu);
		destroy(u);
		return err;
	}
	*out = u;
	return 0;
}

int uploader__push(struct uploader *u, const void *pprof_gz, size_t len, const char *name,
		   const char *const *labels, size_t nlabels, uint64_t from_s, uint64_t until_s,
		   unsigned int sample_rate)
{
	struct item *it = NULL, *old;
	size_t qlen = strlen(name ? name : "") + 3;
	char *app = NULL;
	int err;

	for (size_t i = 0; i < nlabels; i++)
		qlen += strlen(labels[i] ? labels[i] : "") + 1;
	/* Percent-encoding at most triples the text. */
	qlen = qlen * 3 + 1;
	app = malloc(qlen);
	it = calloc(1, sizeof(*it));
	if (!app || !it) {
		err = -ENOMEM;
		goto cleanup;
	}
	err = upload__app_query(name, labels, nlabels, app, qlen);
	if (err)
		goto cleanup;
	if (asprintf(&it->url,
		     "%s/ingest?name=%s&from=%" PRIu64 "&until=%" PRIu64
		     "&format=pprof&sampleRate=%u&spyName=pyspy-bpf",
		     u->base, app, from_s, until_s, sample_rate) < 0) {
		it->url = NULL;
		err = -ENOMEM;
		goto cleanup;
	}
	it->body = malloc(len ? len : 1);
	if (!it->body) {
		err = -ENOMEM;
		goto cleanup;
	}
	memcpy(it->body, pprof_gz, len);
	it->len = len;

	pthread_mutex_lock(&u->mu);
	if (u->n >= u->max_queue) {
		old = pop_head(u);
		item_free(old);
		u->st.dropped_full++;
	}
	push_tail(u, it);
	it = NULL;
	pthread_cond_signal(&u->cv);
	pthread_mutex_unlock(&u->mu);
	err = 0;
cleanup:
	item_free(it);
	free(app);
	return err;
}

void uploader__stats(struct uploader *u, struct upload_stats *st)
{
	pthread_mutex_lock(&u->mu);
	*st = u->st;
	st->queued = u->n + u->inflight;
	pthread_mutex_unlock(&u->mu);
}

void uploader__free(struct uploader *u, unsigned int flush_s)
{
	if (!u)
		return;
	pthread_mutex_lock(&u->mu);
	u->stopping = true;
	u->deadline_ns = mono_ns() + flush_s * 1000000000ULL;
	atomic_store(&u->abort_ns, u->deadline_ns);
	pthread_cond_signal(&u->cv);
	pthread_mutex_unlock(&u->mu);
	pthread_join(u->thread, NULL);
	pthread_cond_destroy(&u->cv);
	pthread_mutex_destroy(&u->mu);
	destroy(u);
}
