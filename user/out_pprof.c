// SPDX-License-Identifier: BSD-2-Clause
/*
 * pprof: profile.proto (github.com/google/pprof, proto/profile.proto),
 * gzip-compressed, as go tool pprof, Pyroscope and Parca read it. Threads
 * and processes are sample labels here, not frames.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include "hashmap.h"
#include "out_common.h"
#include "protobuf.h"

/* profile.proto field numbers. */
enum {
	PROFILE_SAMPLE_TYPE = 1,
	PROFILE_SAMPLE = 2,
	PROFILE_MAPPING = 3,
	PROFILE_LOCATION = 4,
	PROFILE_FUNCTION = 5,
	PROFILE_STRING_TABLE = 6,
	PROFILE_TIME_NANOS = 9,
	PROFILE_DURATION_NANOS = 10,
	PROFILE_PERIOD_TYPE = 11,
	PROFILE_PERIOD = 12,
	PROFILE_COMMENT = 13,
	VALUE_TYPE_TYPE = 1,
	VALUE_TYPE_UNIT = 2,
	SAMPLE_LOCATION_ID = 1,
	SAMPLE_VALUE = 2,
	SAMPLE_LABEL = 3,
	LABEL_KEY = 1,
	LABEL_STR = 2,
	LABEL_NUM = 3,
	MAPPING_ID = 1,
	MAPPING_FILENAME = 5,
	MAPPING_HAS_FUNCTIONS = 7,
	MAPPING_HAS_FILENAMES = 8,
	MAPPING_HAS_LINE_NUMBERS = 9,
	LOCATION_ID = 1,
	LOCATION_MAPPING_ID = 2,
	LOCATION_LINE = 4,
	LINE_FUNCTION_ID = 1,
	LINE_LINE = 2,
	FUNCTION_ID = 1,
	FUNCTION_NAME = 2,
	FUNCTION_SYSTEM_NAME = 3,
	FUNCTION_FILENAME = 4,
	FUNCTION_START_LINE = 5,
};

/* Strings by content; index 0 is "" as the format requires. */
struct strtab {
	struct hashmap *first;	/* hash -> index + 1 of the first with that hash */
	const char **s;
	uint32_t *next;		/* same-hash chain, index + 1 */
	size_t n, cap;
	char **owned;		/* strings made here, freed at the end */
	size_t nowned;
};

static int strtab__id(struct strtab *t, const char *s, uint64_t *id)
{
	uint64_t h = hash_bytes(s, strlen(s), 7);
	uint32_t i = (uintptr_t)hashmap__get(t->first, h);

	for (; i; i = t->next[i - 1]) {
		if (!strcmp(t->s[i - 1], s)) {
			*id = i - 1;
			return 0;
		}
	}
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 256;
		const char **ns = realloc(t->s, cap * sizeof(*ns));
		uint32_t *nn;

		if (!ns)
			return -ENOMEM;
		t->s = ns;
		nn = realloc(t->next, cap * sizeof(*nn));
		if (!nn)
			return -ENOMEM;
		t->next = nn;
		t->cap = cap;
	}
	t->s[t->n] = s;
	t->next[t->n] = (uintptr_t)hashmap__get(t->first, h);
	if (hashmap__put(t->first, h, (void *)(uintptr_t)(t->n + 1)))
		return -ENOMEM;
	*id = t->n++;
	return 0;
}

/* A string table entry for s made valid UTF-8 (pprof's readers may insist). */
static int strtab__clean_id(struct strtab *t, const char *s, uint64_t *id)
{
	size_t n = strlen(s), k, at = 0;
	bool valid = true;
	uint32_t cp;
	char *c, **o;

	for (size_t i = 0; i < n; i += k) {
		k = utf8__next(s + i, n - i, &cp);
		if (cp == 0xfffd && k == 1)
			valid = false;
	}
	if (valid)
		return strtab__id(t, s, id);
	o = realloc(t->owned, (t->nowned + 1) * sizeof(*o));
	if (!o)
		return -ENOMEM;
	t->owned = o;
	c = malloc(3 * n + 1);
	if (!c)
		return -ENOMEM;
	t->owned[t->nowned++] = c;
	for (size_t i = 0; i < n; i += k) {
		k = utf8__next(s + i, n - i, &cp);
		at += utf8__put(c + at, cp);
	}
	c[at] = 0;
	return strtab__id(t, c, id);
}

static void strtab__free(struct strtab *t)
{
	for (size_t i = 0; i < t->nowned; i++)
		free(t->owned[i]);
	free(t->owned);
	free(t->s);
	free(t->next);
	hashmap__free(t->first);
}

/* The functions and locations of the view's frames: ids start at 1. */
struct symbols {
	uint64_t *loc_of;	/* view frame id -> location id */
	size_t nloc, nfunc;
};

static int symbols(const struct view *v, struct strtab *st, struct pb_buf *out,
		   struct symbols *sy)
{
	size_t n = view__nframes(v), i;
	struct hashmap *funcs = hashmap__new(), *locs = hashmap__new();
	/* Per function id - 1: a frame that has it, to compare keys. */
	const struct frame **fn_frame = calloc(n + 1, sizeof(*fn_frame));
	uint32_t *fn_next = calloc(n + 1, sizeof(*fn_next));
	struct pb_buf msg = { 0 }, line = { 0 };
	int err = -ENOMEM;

	sy->loc_of = calloc(n + 1, sizeof(*sy->loc_of));
	if (!funcs || !locs || !fn_frame || !fn_next || !sy->loc_of)
		goto cleanup;
	for (i = 0; i < n; i++) {
		const struct frame *fr = view__frame(v, i);
		/* Frames are interned: equal strings are equal pointers. */
		const void *key[2] = { fr->name, fr->filename };
		uint64_t h = hash_bytes(key, sizeof(key), 3), name, file, lkey;
		uint32_t f = (uintptr_t)hashmap__get(funcs, h);
		void *loc;

		while (f && (fn_frame[f - 1]->name != fr->name ||
			     fn_frame[f - 1]->filename != fr->filename))
			f = fn_next[f - 1];
		if (!f) {
			f = ++sy->nfunc;
			fn_frame[f - 1] = fr;
			fn_next[f - 1] = (uintptr_t)hashmap__get(funcs, h);
			if (hashmap__put(funcs, h, (void *)(uintptr_t)f))
				goto cleanup;
			err = strtab__clean_id(st, fr->name, &name);
			if (!err)
				err = strtab__clean_id(st, fr->filename, &file);
			if (err)
				goto cleanup;
			err = -ENOMEM;
			pb__reset(&msg);
			pb__uint(&msg, FUNCTION_ID, f);
			pb__uint_nz(&msg, FUNCTION_NAME, name);
			/*
			 * pprof demangles a function whose system_name equals its
			 * name, and "<module>" reads as a C++ template to it and
			 * comes out empty: only native symbols get one.
			 */
			if (fr->kind == FRAME_NATIVE)
				pb__uint_nz(&msg, FUNCTION_SYSTEM_NAME, name);
			pb__uint_nz(&msg, FUNCTION_FILENAME, file);
			/* FUNCTION_START_LINE: unknown here (0), so left out. */
			pb__msg(out, PROFILE_FUNCTION, &msg);
		}
		/* One location per (function, line): both fit 32 bits. */
		lkey = (uint64_t)f << 32 | (uint32_t)(fr->line > 0 ? fr->line : 0);
		loc = hashmap__get(locs, lkey);
		if (!loc) {
			loc = (void *)(uintptr_t)++sy->nloc;
			if (hashmap__put(locs, lkey, loc))
				goto cleanup;
			pb__reset(&line);
			pb__uint(&line, LINE_FUNCTION_ID, f);
			pb__uint_nz(&line, LINE_LINE, fr->line > 0 ? fr->line : 0);
			pb__reset(&msg);
			pb__uint(&msg, LOCATION_ID, sy->nloc);
			pb__uint(&msg, LOCATION_MAPPING_ID, 1);
			pb__msg(&msg, LOCATION_LINE, &line);
			pb__msg(out, PROFILE_LOCATION, &msg);
		}
		sy->loc_of[i] = (uintptr_t)loc;
	}
	err = msg.err ? msg.err : line.err;
cleanup:
	pb__free(&msg);
	pb__free(&line);
	free(fn_frame);
	free(fn_next);
	hashmap__free(funcs);
	hashmap__free(locs);
	return err;
}

static void value_type(struct pb_buf *out, uint32_t field, uint64_t type, uint64_t unit,
		       struct pb_buf *tmp)
{
	pb__reset(tmp);
	pb__uint(tmp, VALUE_TYPE_TYPE, type);
	pb__uint(tmp, VALUE_TYPE_UNIT, unit);
	pb__msg(out, field, tmp);
}

static void label(struct pb_buf *out, uint64_t key, uint64_t str, int64_t num, bool is_num,
		  struct pb_buf *tmp)
{
	pb__reset(tmp);
	pb__uint(tmp, LABEL_KEY, key);
	if (is_num)
		pb__uint(tmp, LABEL_NUM, (uint64_t)num);
	else
		pb__uint(tmp, LABEL_STR, str);
	pb__msg(out, SAMPLE_LABEL, tmp);
}

/* Strings every profile has, in this order after "". */
enum {
	S_SAMPLES = 1,
	S_COUNT,
	S_CPU,
	S_NANOSECONDS,
	S_PID,
	S_THREAD_ID,
	S_THREAD_NAME,
	S_PROCESS_NAME,
	S_MAPPING,
	S_NS_PID,
	S__FIXED,
};

static const char *const fixed_strings[S__FIXED] = {
	"", "samples", "count", "cpu", "nanoseconds", "pid", "thread_id", "thread_name",
	"process_name", "python", "pid_in_namespace",
};

static int samples(const struct agg *a, const struct view *v, const struct symbols *sy,
		   uint64_t period, struct strtab *st, struct pb_buf *out)
{
	size_t nstacks = agg__stacks(a), idx;
	struct pb_buf msg = { 0 }, tmp = { 0 };
	uint64_t *locs = NULL;
	unsigned int cap = 0;
	int err = 0;

	for (idx = 0; idx < nstacks && !err; idx++) {
		const struct stack_trace *s = agg__stack(a, idx);
		const uint32_t *ids;
		uint64_t values[2] = { s->count, s->count * period }, tname, pname;
		unsigned int n, i;

		ids = view__stack(v, idx, &n);
		if (n + 1 > cap) {
			uint64_t *nl = realloc(locs, (n + 1) * sizeof(*nl));

			if (!nl) {
				err = -ENOMEM;
				break;
			}
			locs = nl;
			cap = n + 1;
		}
		/* pprof lists the leaf first. */
		for (i = 0; i < n; i++)
			locs[i] = sy->loc_of[ids[n - 1 - i]];
		err = strtab__clean_id(st, s->thread_name, &tname);
		if (!err)
			err = strtab__clean_id(st, s->cmdline, &pname);
		if (err)
			break;
		pb__reset(&msg);
		pb__packed(&msg, SAMPLE_LOCATION_ID, locs, n);
		pb__packed(&msg, SAMPLE_VALUE, values, 2);
		label(&msg, S_PID, 0, s->pid, true, &tmp);
		label(&msg, S_THREAD_ID, 0, s->os_thread_id, true, &tmp);
		label(&msg, S_THREAD_NAME, tname, 0, false, &tmp);
		label(&msg, S_PROCESS_NAME, pname, 0, false, &tmp);
		/* A process in a container: its pid as the container sees it. */
		if (s->ns_pid && s->ns_pid != s->pid)
			label(&msg, S_NS_PID, 0, s->ns_pid, true, &tmp);
		pb__msg(out, PROFILE_SAMPLE, &msg);
	}
	if (!err)
		err = msg.err ? msg.err : tmp.err;
	free(locs);
	pb__free(&msg);
	pb__free(&tmp);
	return err;
}

static int gzip_to(FILE *f, const uint8_t *data, size_t len)
{
	z_stream zs;
	uint8_t out[1 << 16];
	int zerr, flush;

	memset(&zs, 0, sizeof(zs));
	/* 16 + 15: a gzip wrapper (mtime 0) around a 32 KiB-window deflate. */
	if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 16 + 15, 8,
			 Z_DEFAULT_STRATEGY) != Z_OK)
		return -ENOMEM;
	zs.next_in = (Bytef *)data;
	do {
		/* avail_in is 32 bits: feed larger buffers in pieces. */
		if (!zs.avail_in && len) {
			zs.avail_in = len > (1u << 30) ? (1u << 30) : len;
			len -= zs.avail_in;
		}
		flush = len ? Z_NO_FLUSH : Z_FINISH;
		zs.next_out = out;
		zs.avail_out = sizeof(out);
		zerr = deflate(&zs, flush);
		if (zerr == Z_STREAM_ERROR)
			break;
		if (fwrite(out, 1, sizeof(out) - zs.avail_out, f) != sizeof(out) - zs.avail_out) {
			zerr = Z_ERRNO;
			break;
		}
	} while (zerr != Z_STREAM_END);
	deflateEnd(&zs);
	return zerr == Z_STREAM_END ? 0 : -EIO;
}

int write_pprof(FILE *f, const struct agg *a, const struct output_opts *o)
{
	/* Threads and processes are labels: no synthetic root frames. */
	struct output_opts po = *o;
	struct strtab st = { 0 };
	struct symbols sy = { 0 };
	struct pb_buf out = { 0 }, tmp = { 0 };
	struct view *v = NULL;
	uint64_t period = o->rate ? 1000000000ULL / o->rate : 10000000ULL, id;
	size_t i;
	int err;

	po.threads = false;
	po.process_roots = false;
	st.first = hashmap__new();
	if (!st.first) {
		err = -ENOMEM;
		goto cleanup;
	}
	for (i = 0, err = 0; i < S__FIXED && !err; i++)
		err = strtab__id(&st, fixed_strings[i], &id);
	if (!err)
		err = view__new(a, &po, &v);
	if (err)
		goto cleanup;

	value_type(&out, PROFILE_SAMPLE_TYPE, S_SAMPLES, S_COUNT, &tmp);
	value_type(&out, PROFILE_SAMPLE_TYPE, S_CPU, S_NANOSECONDS, &tmp);
	pb__reset(&tmp);
	pb__uint(&tmp, MAPPING_ID, 1);
	pb__uint(&tmp, MAPPING_FILENAME, S_MAPPING);
	/* Already symbolized: tools must not try to look addresses up. */
	pb__uint(&tmp, MAPPING_HAS_FUNCTIONS, 1);
	pb__uint(&tmp, MAPPING_HAS_FILENAMES, 1);
	pb__uint(&tmp, MAPPING_HAS_LINE_NUMBERS, 1);
	pb__msg(&out, PROFILE_MAPPING, &tmp);
	err = symbols(v, &st, &out, &sy);
	if (!err)
		err = samples(a, v, &sy, period, &st, &out);
	if (!err && o->command && o->command[0])
		err = strtab__clean_id(&st, o->command, &id);
	if (err)
		goto cleanup;
	if (o->command && o->command[0])
		pb__uint(&out, PROFILE_COMMENT, id);
	pb__uint_nz(&out, PROFILE_TIME_NANOS, o->start_unix_ns);
	pb__uint_nz(&out, PROFILE_DURATION_NANOS, (uint64_t)(o->duration_s * 1e9));
	value_type(&out, PROFILE_PERIOD_TYPE, S_CPU, S_NANOSECONDS, &tmp);
	pb__uint(&out, PROFILE_PERIOD, period);
	for (i = 0; i < st.n; i++)
		pb__bytes(&out, PROFILE_STRING_TABLE, st.s[i], strlen(st.s[i]));
	err = out.err ? out.err : tmp.err;
	if (!err)
		err = gzip_to(f, out.data, out.len);
	if (!err && ferror(f))
		err = -EIO;
cleanup:
	free(sy.loc_of);
	pb__free(&out);
	pb__free(&tmp);
	strtab__free(&st);
	view__free(v);
	return err;
}
