// SPDX-License-Identifier: BSD-2-Clause
/*
 * The capture file and its replay (see capture.h for the boundary).
 *
 * The file is a gzip stream: "PYSPYCAP", a version (u32), then entries in
 * the order they happened, each a tag (u8), a length (u32) and a payload.
 * Integers are little endian. A replay loads the whole file, checks every
 * entry against the limits below and indexes it before anything runs: the
 * file is untrusted input, and a bad one is refused whole with its reason.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include "capture.h"
#include "clock.h"
#include "hashmap.h"
#include "log.h"
#include "pyelf.h"

#define MAGIC "PYSPYCAP"
#define VERSION 1u
/* Inflated file, one entry, one string: a second of a busy target is a
 * few MiB at most. */
#define FILE_MAX (256u << 20)
#define ENTRY_MAX ((1u << 20) + 64)
#define STR_MAX 8192u
#define READ_MAX (1u << 20)

enum tag { T_HDR = 1, T_REC, T_STEP, T_READ, T_FACT, T_PROC, T_END };

/* Key lengths: a keyed entry's payload starts with its key. */
#define READ_KEY 16	/* pid u32, addr u64, len u32 */
#define FACT_KEY 9	/* kind u8, pid u32, sub u32 */
#define PROC_KEY 4	/* pid u32 */
#define ELF_U64S 9
#define ELF_VERSIONS 8
#define PROC_FIXED (PROC_KEY + 4 + 8 + ELF_U64S * 8 + 2 + ELF_VERSIONS * 12)
#define PROC_NVERSIONS_AT (PROC_KEY + 4 + 8 + ELF_U64S * 8 + 1)

int capture_mode;

/* Write side. */
static gzFile wfile;
static int werr;

/* Replay side. */
struct ent {
	uint32_t off, len;	/* payload in rp.buf */
	uint8_t tag;
	int32_t next;		/* the next entry with the same key; -1 */
};

struct queue {
	int32_t first, last, cur;
};

static struct {
	uint8_t *buf;
	size_t size;
	struct ent *ents;
	size_t nents, cap;
	uint32_t *stream;	/* REC and STEP entries, in order */
	size_t nstream, stream_cap, pos;
	size_t last_drain;	/* stream index; SIZE_MAX: none */
	struct hashmap *queues;	/* key hash -> struct queue */
	uint64_t *rec;		/* a record, aligned as the ring buffer's are */
	size_t rec_cap;
	uint64_t now;
	char command[STR_MAX + 1];
	struct capture_hdr hdr;
} rp;

static void put_le(uint8_t *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = v >> (8 * i);
}

static uint64_t get_le(const uint8_t *p, int n)
{
	uint64_t v = 0;

	for (int i = n - 1; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

int capture__mode_from_env(const char **path)
{
	const char *c = getenv("PYSPY_BPF_CAPTURE"), *r = getenv("PYSPY_BPF_REPLAY");

	*path = NULL;
	if (c && *c && r && *r)
		return -EINVAL;
	if (c && *c) {
		*path = c;
		return CAPTURE_WRITE;
	}
	if (r && *r) {
		*path = r;
		return CAPTURE_REPLAY;
	}
	return CAPTURE_OFF;
}

/* One entry from pieces; the first write error is kept for capture__end. */
static void put_entry(enum tag tag, const void *a, size_t alen, const void *b, size_t blen)
{
	uint8_t h[5];

	if (!wfile || werr)
		return;
	if (alen + blen > ENTRY_MAX)
		return;		/* never happens: reads are bounded below */
	h[0] = tag;
	put_le(h + 1, alen + blen, 4);
	if (gzwrite(wfile, h, sizeof(h)) != (int)sizeof(h) ||
	    (alen && gzwrite(wfile, a, alen) != (int)alen) ||
	    (blen && gzwrite(wfile, b, blen) != (int)blen))
		werr = -EIO;
}

static int write_start(const char *path, const struct capture_hdr *h)
{
	uint8_t b[14 + CAPTURE_MAX_PIDS * 4], v[4];
	size_t n = 14, clen = h->command ? strnlen(h->command, STR_MAX) : 0;
	int i;

	wfile = gzopen(path, "wb6");
	if (!wfile)
		return errno ? -errno : -ENOMEM;
	put_le(v, VERSION, 4);
	if (gzwrite(wfile, MAGIC, 8) != 8 || gzwrite(wfile, v, 4) != 4)
		werr = -EIO;
	put_le(b, mono_ns(), 8);
	put_le(b + 8, h->rate, 4);
	b[12] = h->subprocesses | h->idle << 1;
	b[13] = h->npids;
	for (i = 0; i < h->npids && i < CAPTURE_MAX_PIDS; i++, n += 4)
		put_le(b + n, (uint32_t)h->pids[i], 4);
	put_entry(T_HDR, b, n, h->command, clen);
	return werr;
}

void capture__record(const void *data, size_t size)
{
	put_entry(T_REC, data, size, NULL, 0);
}

void capture__step(enum capture_step kind, uint64_t now, int ret)
{
	uint8_t b[13];

	b[0] = kind;
	put_le(b + 1, now, 8);
	put_le(b + 9, (uint32_t)ret, 4);
	put_entry(T_STEP, b, sizeof(b), NULL, 0);
}

void capture__read(pid_t pid, uint64_t addr, size_t len, const void *buf, int err)
{
	uint8_t b[READ_KEY + 4];

	if (len > READ_MAX)
		return;		/* replayed as unreadable */
	put_le(b, (uint32_t)pid, 4);
	put_le(b + 4, addr, 8);
	put_le(b + 12, len, 4);
	put_le(b + 16, (uint32_t)err, 4);
	put_entry(T_READ, b, sizeof(b), buf, err ? 0 : len);
}

void capture__fact(enum capture_fact kind, pid_t pid, uint32_t sub, int64_t val,
		   const char *str)
{
	uint8_t b[FACT_KEY + 8];

	b[0] = kind;
	put_le(b + 1, (uint32_t)pid, 4);
	put_le(b + 5, sub, 4);
	put_le(b + 9, (uint64_t)val, 8);
	put_entry(T_FACT, b, sizeof(b), str, str ? strnlen(str, STR_MAX) : 0);
}

static size_t put_str(uint8_t *p, const char *s)
{
	size_t n = s ? strnlen(s, STR_MAX) : 0;

	put_le(p, n, 2);
	memcpy(p + 2, s ? s : "", n);
	return n + 2;
}

void capture__proc(pid_t pid, int err, const char *why, const char *module,
		   const struct py_elf *elf, uint64_t bias)
{
	static uint8_t b[PROC_FIXED + 2 * (STR_MAX + 2)];
	const uint64_t u[ELF_U64S] = {
		elf->runtime, elf->interp_head, elf->tstate_current, elf->code_type,
		elf->unicode_type, elf->string_type, elf->py_version, elf->load_vaddr,
		elf->load_offset,
	};
	size_t n = 0;

	memset(b, 0, PROC_FIXED);
	put_le(b, (uint32_t)pid, 4);
	put_le(b + 4, (uint32_t)err, 4);
	put_le(b + 8, bias, 8);
	n = 16;
	for (int i = 0; i < ELF_U64S; i++, n += 8)
		put_le(b + n, u[i], 8);
	b[n++] = elf->dyn;
	b[n++] = elf->nversions < ELF_VERSIONS ? elf->nversions : ELF_VERSIONS;
	for (int i = 0; i < ELF_VERSIONS; i++, n += 12) {
		put_le(b + n, elf->versions[i].major, 4);
		put_le(b + n + 4, elf->versions[i].minor, 4);
		put_le(b + n + 8, elf->versions[i].micro, 4);
	}
	n += put_str(b + n, why);
	n += put_str(b + n, module);
	put_entry(T_PROC, b, n, NULL, 0);
}

/* ---- replay: loading and checking ---- */

static int fail(char *why, size_t whylen, const char *what, size_t at)
{
	snprintf(why, whylen, "%s (entry at byte %zu)", what, at);
	return -EINVAL;
}

static int add_ent(uint8_t tag, uint32_t off, uint32_t len)
{
	if (rp.nents == rp.cap) {
		size_t cap = rp.cap ? rp.cap * 2 : 1024;
		struct ent *n = realloc(rp.ents, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		rp.ents = n;
		rp.cap = cap;
	}
	rp.ents[rp.nents] = (struct ent){ .off = off, .len = len, .tag = tag, .next = -1 };
	return rp.nents++;
}

static uint64_t key_hash(uint8_t tag, const uint8_t *key, size_t klen)
{
	return hash_bytes(key, klen, tag);
}

/* Appends entry i to its key's queue; an entry whose key's hash is another
 * key's stays unreachable (answered as never captured). */
static int enqueue(int32_t i, size_t klen)
{
	const struct ent *e = &rp.ents[i];
	uint64_t h = key_hash(e->tag, rp.buf + e->off, klen);
	struct queue *q = hashmap__get(rp.queues, h);

	if (q) {
		const struct ent *f = &rp.ents[q->first];

		if (f->tag != e->tag || memcmp(rp.buf + f->off, rp.buf + e->off, klen))
			return 0;
		rp.ents[q->last].next = i;
		q->last = i;
		return 0;
	}
	q = malloc(sizeof(*q));
	if (!q)
		return -ENOMEM;
	*q = (struct queue){ .first = i, .last = i, .cur = i };
	if (hashmap__put(rp.queues, h, q)) {
		free(q);
		return -ENOMEM;
	}
	return 0;
}

static int stream_add(int32_t i)
{
	if (rp.nstream == rp.stream_cap) {
		size_t cap = rp.stream_cap ? rp.stream_cap * 2 : 1024;
		uint32_t *n = realloc(rp.stream, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		rp.stream = n;
		rp.stream_cap = cap;
	}
	rp.stream[rp.nstream++] = i;
	return 0;
}

static int parse_hdr(const uint8_t *p, uint32_t len, char *why, size_t whylen, size_t at)
{
	size_t n;

	if (len < 14 || p[13] > CAPTURE_MAX_PIDS || len < 14 + 4u * p[13])
		return fail(why, whylen, "bad header", at);
	rp.now = get_le(p, 8);
	rp.hdr.rate = get_le(p + 8, 4);
	rp.hdr.subprocesses = p[12] & 1;
	rp.hdr.idle = p[12] & 2;
	rp.hdr.npids = p[13];
	for (int i = 0; i < p[13]; i++) {
		rp.hdr.pids[i] = (pid_t)get_le(p + 14 + 4 * i, 4);
		if (rp.hdr.pids[i] <= 0)
			return fail(why, whylen, "bad pid in the header", at);
	}
	if (rp.hdr.rate < 1 || rp.hdr.rate > 10000)
		return fail(why, whylen, "bad rate in the header", at);
	n = len - 14 - 4u * p[13];
	if (n > STR_MAX)
		return fail(why, whylen, "command line too long", at);
	memcpy(rp.command, p + 14 + 4u * p[13], n);
	rp.command[n] = 0;
	rp.hdr.command = rp.command;
	return 0;
}

/* The payload's own rules; 0 and the key length of a keyed entry in
 * *klen (0: a stream entry). */
static int check_entry(uint8_t tag, const uint8_t *p, uint32_t len, size_t *klen)
{
	int32_t err;

	*klen = 0;
	switch (tag) {
	case T_REC:
		return len ? 0 : -EINVAL;
	case T_STEP:
		return len == 13 && (p[0] == CS_DRAIN || p[0] == CS_ITER) ? 0 : -EINVAL;
	case T_READ:
		if (len < READ_KEY + 4 || get_le(p + 12, 4) > READ_MAX)
			return -EINVAL;
		err = (int32_t)get_le(p + 16, 4);
		if (err > 0 || err < -4095 ||
		    len != READ_KEY + 4 + (err ? 0 : get_le(p + 12, 4)))
			return -EINVAL;
		*klen = READ_KEY;
		return 0;
	case T_FACT:
		if (len < FACT_KEY + 8 || len > FACT_KEY + 8 + STR_MAX || p[0] >= CF__MAX)
			return -EINVAL;
		*klen = FACT_KEY;
		return 0;
	case T_PROC:
		if (len < PROC_FIXED + 4 || p[PROC_NVERSIONS_AT] > ELF_VERSIONS)
			return -EINVAL;
		*klen = PROC_KEY;
		return 0;
	}
	return -EINVAL;
}

static int index_entries(char *why, size_t whylen)
{
	size_t at = 12, klen;
	bool ended = false;
	int err;

	while (at < rp.size) {
		uint8_t tag;
		uint32_t len;
		int32_t i;

		if (ended)
			return fail(why, whylen, "data after the end mark", at);
		if (rp.size - at < 5)
			return fail(why, whylen, "truncated entry", at);
		tag = rp.buf[at];
		len = get_le(rp.buf + at + 1, 4);
		if (len > ENTRY_MAX || len > rp.size - at - 5)
			return fail(why, whylen, "entry longer than the file or the limit", at);
		if ((at == 12) != (tag == T_HDR))
			return fail(why, whylen, "the header is not the first entry", at);
		if (tag == T_HDR) {
			if ((err = parse_hdr(rp.buf + at + 5, len, why, whylen, at)))
				return err;
		} else if (tag == T_END) {
			ended = true;
		} else if (check_entry(tag, rp.buf + at + 5, len, &klen)) {
			return fail(why, whylen, "malformed entry", at);
		} else if ((i = add_ent(tag, at + 5, len)) < 0 ||
			   (klen ? enqueue(i, klen) : stream_add(i))) {
			snprintf(why, whylen, "out of memory");
			return -ENOMEM;
		} else if (tag == T_STEP && rp.buf[at + 5] == CS_DRAIN) {
			rp.last_drain = rp.nstream - 1;
		}
		at += 5 + len;
	}
	if (!ended)
		return fail(why, whylen, "no end mark (the capturing run did not finish)", at);
	return 0;
}

int capture__load_mem(const void *data, size_t size, char *why, size_t whylen)
{
	int err;

	capture__end(false);
	rp.last_drain = SIZE_MAX;
	if (size < 12 || memcmp(data, MAGIC, 8)) {
		snprintf(why, whylen, "not a capture file");
		return -EINVAL;
	}
	if (get_le((const uint8_t *)data + 8, 4) != VERSION) {
		snprintf(why, whylen, "capture format version %u, this build reads %u",
			 (unsigned int)get_le((const uint8_t *)data + 8, 4), VERSION);
		return -EINVAL;
	}
	rp.buf = malloc(size);
	rp.queues = hashmap__new();
	if (!rp.buf || !rp.queues) {
		snprintf(why, whylen, "out of memory");
		return -ENOMEM;
	}
	memcpy(rp.buf, data, size);
	rp.size = size;
	err = index_entries(why, whylen);
	if (err)
		capture__end(false);
	return err;
}

/* The whole file, inflated, bounded by FILE_MAX. */
static int slurp(const char *path, uint8_t **out, size_t *size, char *why, size_t whylen)
{
	gzFile f = gzopen(path, "rb");
	size_t cap = 1 << 20, n = 0;
	uint8_t *buf = NULL, *nb;
	int r;

	if (!f)
		return errno ? -errno : -ENOMEM;
	for (;;) {
		if (n == cap || !buf) {
			cap = buf ? cap * 2 : cap;
			if (cap > FILE_MAX + (1u << 20) || !(nb = realloc(buf, cap))) {
				snprintf(why, whylen, buf ? "larger than %u MiB inflated"
					 : "out of memory", FILE_MAX >> 20);
				goto bad;
			}
			buf = nb;
		}
		r = gzread(f, buf + n, cap - n > (1u << 30) ? 1u << 30 : cap - n);
		if (r < 0) {
			snprintf(why, whylen, "not a gzip stream, or a damaged one");
			goto bad;
		}
		if (!r)
			break;
		n += r;
		if (n > FILE_MAX) {
			snprintf(why, whylen, "larger than %u MiB inflated", FILE_MAX >> 20);
			goto bad;
		}
	}
	gzclose(f);
	*out = buf;
	*size = n;
	return 0;
bad:
	gzclose(f);
	free(buf);
	return -EINVAL;
}

int capture__start(int mode, const char *path, struct capture_hdr *h)
{
	char why[256] = "";
	uint8_t *buf = NULL;
	size_t size = 0;
	int err;

	if (mode == CAPTURE_WRITE) {
		err = write_start(path, h);
		if (err)
			pr_err("cannot write the capture '%s': %s", path, strerror(-err));
		capture_mode = err ? CAPTURE_OFF : CAPTURE_WRITE;
		return err;
	}
	err = slurp(path, &buf, &size, why, sizeof(why));
	if (!err)
		err = capture__load_mem(buf, size, why, sizeof(why));
	free(buf);
	if (err) {
		pr_err("bad capture '%s': %s", path, why[0] ? why : strerror(-err));
		return err;
	}
	*h = rp.hdr;
	capture_mode = CAPTURE_REPLAY;
	return 0;
}

int capture__end(bool ok)
{
	int err = 0;

	if (wfile) {
		if (ok)
			put_entry(T_END, NULL, 0, NULL, 0);
		err = werr;
		if (gzclose(wfile) != Z_OK && !err)
			err = -EIO;
		wfile = NULL;
		werr = 0;
	}
	hashmap__free_all(rp.queues, NULL, NULL);
	free(rp.buf);
	free(rp.ents);
	free(rp.stream);
	free(rp.rec);
	memset(&rp, 0, sizeof(rp));
	capture_mode = CAPTURE_OFF;
	return err;
}

/* ---- replay: answering ---- */

/* The next entry logged under this key, then the last again; NULL: none. */
static const struct ent *next_answer(uint8_t tag, const uint8_t *key, size_t klen)
{
	struct queue *q = rp.queues ? hashmap__get(rp.queues, key_hash(tag, key, klen)) : NULL;
	const struct ent *e;

	if (!q)
		return NULL;
	e = &rp.ents[q->cur];
	if (e->tag != tag || memcmp(rp.buf + e->off, key, klen))
		return NULL;
	if (e->next >= 0)
		q->cur = e->next;
	return e;
}

int capture__replay_step(capture_record_fn fn, void *ctx)
{
	while (rp.pos < rp.nstream) {
		const struct ent *e = &rp.ents[rp.stream[rp.pos++]];
		const uint8_t *p = rp.buf + e->off;

		if (e->tag == T_REC) {
			if (e->len > rp.rec_cap) {
				void *n = realloc(rp.rec, e->len);

				if (!n)
					continue;	/* as a record lost */
				rp.rec = n;
				rp.rec_cap = e->len;
			}
			memcpy(rp.rec, p, e->len);
			fn(ctx, rp.rec, e->len);
			continue;
		}
		if (get_le(p + 1, 8) > rp.now)
			rp.now = get_le(p + 1, 8);
		return (int32_t)get_le(p + 9, 4);
	}
	return 0;
}

enum capture_step capture__next_step(void)
{
	for (size_t i = rp.pos; i < rp.nstream; i++) {
		const struct ent *e = &rp.ents[rp.stream[i]];

		if (e->tag != T_STEP)
			continue;
		if (i == rp.last_drain)
			return CS_END;
		return rp.buf[e->off];
	}
	return CS_END;
}

int capture__replay_read(pid_t pid, uint64_t addr, void *buf, size_t len)
{
	uint8_t key[READ_KEY];
	const struct ent *e;
	int32_t err;

	if (len > READ_MAX)
		return -EFAULT;
	put_le(key, (uint32_t)pid, 4);
	put_le(key + 4, addr, 8);
	put_le(key + 12, len, 4);
	e = next_answer(T_READ, key, sizeof(key));
	if (!e)
		return -EFAULT;
	err = (int32_t)get_le(rp.buf + e->off + READ_KEY, 4);
	if (!err)
		memcpy(buf, rp.buf + e->off + READ_KEY + 4, len);
	return err;
}

int capture__replay_fact(enum capture_fact kind, pid_t pid, uint32_t sub, int64_t *val,
			 char *str, size_t len)
{
	uint8_t key[FACT_KEY];
	const struct ent *e;
	size_t n;

	key[0] = kind;
	put_le(key + 1, (uint32_t)pid, 4);
	put_le(key + 5, sub, 4);
	e = next_answer(T_FACT, key, sizeof(key));
	if (!e)
		return -ENOENT;
	*val = (int64_t)get_le(rp.buf + e->off + FACT_KEY, 8);
	if (str && len) {
		n = e->len - FACT_KEY - 8;
		if (n >= len)
			n = len - 1;
		memcpy(str, rp.buf + e->off + FACT_KEY + 8, n);
		str[n] = 0;
	}
	return 0;
}

/* A string of a PROC entry at *at, bounded by its end; -EINVAL past it. */
static int get_str(const struct ent *e, size_t *at, char *out, size_t outlen)
{
	const uint8_t *p = rp.buf + e->off;
	size_t n;

	if (*at + 2 > e->len)
		return -EINVAL;
	n = get_le(p + *at, 2);
	if (n > e->len - *at - 2)
		return -EINVAL;
	if (outlen) {
		size_t c = n < outlen ? n : outlen - 1;

		memcpy(out, p + *at + 2, c);
		out[c] = 0;
	}
	*at += 2 + n;
	return 0;
}

int capture__replay_proc(pid_t pid, char *why, size_t whylen, char *module, size_t modlen,
			 struct py_elf *elf, uint64_t *bias)
{
	uint64_t *u[ELF_U64S] = {
		&elf->runtime, &elf->interp_head, &elf->tstate_current, &elf->code_type,
		&elf->unicode_type, &elf->string_type, &elf->py_version, &elf->load_vaddr,
		&elf->load_offset,
	};
	uint8_t key[PROC_KEY];
	const struct ent *e;
	const uint8_t *p;
	size_t at = 16;
	int32_t err;

	memset(elf, 0, sizeof(*elf));
	*bias = 0;
	if (whylen)
		why[0] = 0;
	if (modlen)
		module[0] = 0;
	put_le(key, (uint32_t)pid, 4);
	e = next_answer(T_PROC, key, sizeof(key));
	if (!e)
		return -ESRCH;	/* never seen: as a process that is gone */
	p = rp.buf + e->off;
	err = (int32_t)get_le(p + 4, 4);
	*bias = get_le(p + 8, 8);
	for (int i = 0; i < ELF_U64S; i++, at += 8)
		*u[i] = get_le(p + at, 8);
	elf->dyn = p[at++];
	elf->nversions = p[at++];
	for (int i = 0; i < ELF_VERSIONS; i++, at += 12) {
		elf->versions[i].major = get_le(p + at, 4);
		elf->versions[i].minor = get_le(p + at + 4, 4);
		elf->versions[i].micro = get_le(p + at + 8, 4);
	}
	if (get_str(e, &at, why, whylen) || get_str(e, &at, module, modlen))
		return -EPROTONOSUPPORT;
	if (err > 0 || err < -4095)
		return -EPROTONOSUPPORT;
	return err;
}

uint64_t capture__mono(void)
{
	return rp.now;
}

int64_t capture__value(enum capture_fact kind, pid_t pid, uint32_t sub, int64_t v)
{
	int64_t got;

	if (capture_mode == CAPTURE_WRITE) {
		capture__fact(kind, pid, sub, v, NULL);
	} else if (capture_mode == CAPTURE_REPLAY &&
		   !capture__replay_fact(kind, pid, sub, &got, NULL, 0)) {
		v = got;
		if (kind == CF_CLOCK && sub == CC_START_MONO && (uint64_t)v > rp.now)
			rp.now = v;
	}
	return v;
}
