/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The profile writers on hand-made profiles with hostile names (markup,
 * quotes, ';', control characters, invalid UTF-8): every output is read
 * back with a small strict reader of its format (XML well-formedness, JSON,
 * gzip + protobuf) and compared with what went in.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#include <cmocka.h>

#include "json.h"
#include "out_common.h"
#include "output.h"
#include "protobuf.h"

#define RATE 100
#define START_MONO 1000000000000ULL
#define START_UNIX 1700000000000000000ULL

/* ---- profiles ---- */

struct fixture {
	struct agg *a;
	struct output_opts o;
};

enum {
	F_MODULE,
	F_MAIN,
	F_SEMI,
	F_MARKUP,
	F_NATIVE,
	F_UNKNOWN,
	F_BADUTF8,
	F_CTRL,
	F_WORK_L1,
	F_WORK_L2,
	F__N,
};

static const struct frame *frames[F__N];

static const char *const cmd1 = "python \"evil\" <script>.py; rm -rf & 'x' \xe2\x98\x83";
static const char *const cmd2 = "/usr/bin/python3 other.py";

static void add(struct agg *a, int pid, int tid, const char *tname, const char *cmd,
		const int *ids, unsigned int n, uint64_t count, uint64_t ts)
{
	const struct frame *fr[16];
	struct stack_trace st = {
		.pid = pid,
		.thread_id = 0x7f0000000000ULL + tid,
		.thread_name = tname,
		.os_thread_id = tid,
		.active = true,
		.frames = fr,
		.nframes = n,
		.cmdline = cmd,
	};

	/* ids are root first, like the collapsed text; frames innermost first. */
	for (unsigned int i = 0; i < n; i++)
		fr[i] = frames[ids[n - 1 - i]];
	assert_int_equal(agg__add(a, &st, count, ts), 0);
}

#define ADD(a, pid, tid, tname, cmd, count, ts, ...)                                     \
	do {                                                                             \
		static const int ids_[] = { __VA_ARGS__ };                               \
		add(a, pid, tid, tname, cmd, ids_, sizeof(ids_) / sizeof(ids_[0]), count, ts); \
	} while (0)

#define MS(x) (START_MONO + (uint64_t)(x) * 10000000ULL)

/* Three threads in two processes; each sample is one timeline entry. */
static struct agg *make_profile(bool timeline)
{
	struct agg *a = agg__new();

	assert_non_null(a);
	if (timeline)
		agg__keep_timeline(a);
	frames[F_MODULE] = agg__frame(a, "<module>", "/srv/app.py", "app.py", 10, FRAME_PYTHON);
	frames[F_MAIN] = agg__frame(a, "main", "/srv/app.py", "app.py", 5, FRAME_PYTHON);
	frames[F_SEMI] = agg__frame(a, "work;semi", "/srv/lib/\xc3\xbc.py", "lib/\xc3\xbc.py", 3,
				    FRAME_PYTHON);
	frames[F_MARKUP] = agg__frame(a, "a<b>&\"c'", "/srv/x.py", "x.py", 7, FRAME_PYTHON);
	frames[F_NATIVE] = agg__frame(a, "_PyEval_EvalFrameDefault", "libpython3.12.so",
				      "libpython3.12.so", 0, FRAME_NATIVE);
	frames[F_UNKNOWN] = agg__frame(a, "<unknown>", "", "", 0, FRAME_MARKER);
	frames[F_BADUTF8] = agg__frame(a, "bad\xff\xfe\xc0\xafname", "/srv/b.py", "b.py", 1,
				       FRAME_PYTHON);
	frames[F_CTRL] = agg__frame(a, "ctl\x01\x1b[31m\ttab\nnl", "/srv/c.py", "c.py", 2,
				    FRAME_PYTHON);
	frames[F_WORK_L1] = agg__frame(a, "work", "/srv/app.py", "app.py", 20, FRAME_PYTHON);
	frames[F_WORK_L2] = agg__frame(a, "work", "/srv/app.py", "app.py", 21, FRAME_PYTHON);
	for (int i = 0; i < F__N; i++)
		assert_non_null(frames[i]);

	/* pid 100 main thread, in time order with a gap (t 40..60). */
	ADD(a, 100, 100, "Main<Thread>&", cmd1, 1, MS(0), F_MODULE, F_MAIN, F_WORK_L1);
	ADD(a, 100, 100, "Main<Thread>&", cmd1, 1, MS(1), F_MODULE, F_MAIN, F_WORK_L1);
	ADD(a, 100, 100, "Main<Thread>&", cmd1, 1, MS(2), F_MODULE, F_MAIN, F_WORK_L2);
	ADD(a, 100, 100, "Main<Thread>&", cmd1, 1, MS(3), F_MODULE, F_MAIN, F_MARKUP, F_NATIVE);
	ADD(a, 100, 100, "Main<Thread>&", cmd1, 1, MS(4), F_MODULE, F_SEMI);
	ADD(a, 100, 100, "Main<Thread>&", cmd1, 1, MS(40), F_MODULE, F_SEMI);
	ADD(a, 100, 100, "Main<Thread>&", cmd1, 1, MS(41), F_MODULE, F_MAIN, F_WORK_L1);
	/* pid 100, a second thread; its samples arrive interleaved. */
	ADD(a, 100, 101, "w\xc3\xb6rker \"q\"", cmd1, 1, MS(1), F_BADUTF8, F_CTRL);
	ADD(a, 100, 101, "w\xc3\xb6rker \"q\"", cmd1, 1, MS(0), F_BADUTF8);
	ADD(a, 100, 101, "w\xc3\xb6rker \"q\"", cmd1, 1, MS(2), F_UNKNOWN);
	/* pid 200: one thread, one stack, a weight of 5 in one entry. */
	ADD(a, 200, 200, "MainThread", cmd2, 5, MS(3), F_MODULE, F_MAIN, F_WORK_L1);
	return a;
}

#define TOTAL 15

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	fx->a = make_profile(true);
	fx->o = (struct output_opts){
		.command = "pyspy-bpf record -o <out>.svg & \"more\"",
		.rate = RATE,
		.duration_s = 0.5,
		.start_unix_ns = START_UNIX,
		.start_mono_ns = START_MONO,
	};
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	agg__free(fx->a);
	free(fx);
	return 0;
}

static char *write_mem(int (*w)(FILE *, const struct agg *, const struct output_opts *),
		       const struct agg *a, const struct output_opts *o, size_t *len)
{
	char *buf = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&buf, &n);

	assert_non_null(f);
	assert_int_equal(w(f, a, o), 0);
	assert_int_equal(fclose(f), 0);
	if (len)
		*len = n;
	return buf;
}

/* ---- a strict UTF-8 check ---- */

static bool valid_utf8(const char *s, size_t n)
{
	while (n) {
		uint32_t cp;
		size_t k = utf8__next(s, n, &cp);

		if (cp == 0xfffd && k == 1)
			return false;
		s += k;
		n -= k;
	}
	return true;
}

/* ---- XML well-formedness ---- */

static bool name_start(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
}

static bool name_char(char c)
{
	return name_start(c) || (c >= '0' && c <= '9') || c == '-' || c == '.';
}

/* An entity or character reference at s ('&'); its length or 0. */
static size_t xml_ref(const char *s)
{
	static const char *const ents[] = { "&lt;", "&gt;", "&amp;", "&quot;", "&apos;" };
	const char *p;

	for (size_t i = 0; i < 5; i++)
		if (!strncmp(s, ents[i], strlen(ents[i])))
			return strlen(ents[i]);
	if (s[1] != '#')
		return 0;
	p = s + 2;
	if (*p == 'x')
		p++;
	if (!strchr("0123456789abcdefABCDEF", *p) || !*p)
		return 0;
	while (*p && strchr("0123456789abcdefABCDEF", *p))
		p++;
	return *p == ';' ? (size_t)(p + 1 - s) : 0;
}

/* Character data up to the next '<': no raw '&' or '>' from "]]>". */
static const char *xml_chars(const char *p, const char *stop)
{
	while (*p && !strchr(stop, *p)) {
		if ((unsigned char)*p < 0x20 && *p != '\t' && *p != '\n' && *p != '\r')
			return NULL;
		if (*p == '&') {
			size_t k = xml_ref(p);

			if (!k)
				return NULL;
			p += k;
			continue;
		}
		p++;
	}
	return p;
}

/*
 * Checks that doc is well-formed XML: one root, balanced tags, quoted
 * attributes without '<', valid references, valid UTF-8. Returns the
 * number of elements, or -1 with why.
 */
static int xml_check(const char *doc, char *why, size_t len)
{
	const char *stack[4096], *p = doc;
	size_t stacklen[4096], depth = 0;
	int elements = 0, roots = 0;

#define FAIL(...)                                       \
	do {                                            \
		snprintf(why, len, __VA_ARGS__);        \
		return -1;                              \
	} while (0)
	if (!valid_utf8(doc, strlen(doc)))
		FAIL("invalid UTF-8");
	while (*p) {
		if (*p != '<') {
			const char *q = xml_chars(p, "<");

			if (!q)
				FAIL("bad character data at %.40s", p);
			for (const char *c = p; c < q; c++)
				if (!depth && !strchr(" \t\r\n", *c))
					FAIL("text outside the root: %.20s", c);
			p = q;
			continue;
		}
		if (!strncmp(p, "<?", 2)) {
			p = strstr(p, "?>");
			if (!p)
				FAIL("unterminated <?");
			p += 2;
		} else if (!strncmp(p, "<!--", 4)) {
			p = strstr(p, "-->");
			if (!p)
				FAIL("unterminated comment");
			p += 3;
		} else if (!strncmp(p, "<![CDATA[", 9)) {
			if (!depth)
				FAIL("CDATA outside the root");
			p = strstr(p, "]]>");
			if (!p)
				FAIL("unterminated CDATA");
			p += 3;
		} else if (p[1] == '/') {
			const char *n = p + 2;
			size_t l = 0;

			while (name_char(n[l]))
				l++;
			if (!depth || l != stacklen[depth - 1] || strncmp(n, stack[depth - 1], l))
				FAIL("unbalanced </%.*s>", (int)l, n);
			depth--;
			p = n + l;
			while (*p == ' ' || *p == '\n')
				p++;
			if (*p++ != '>')
				FAIL("bad end tag");
		} else {
			const char *n = p + 1;
			size_t l = 0;

			if (!name_start(*n))
				FAIL("bad tag name at %.20s", p);
			while (name_char(n[l]))
				l++;
			p = n + l;
			for (;;) {
				char q;

				while (*p == ' ' || *p == '\n' || *p == '\t')
					p++;
				if (*p == '>' || !strncmp(p, "/>", 2))
					break;
				if (!name_start(*p))
					FAIL("bad attribute at %.20s", p);
				while (name_char(*p))
					p++;
				if (*p++ != '=')
					FAIL("attribute without '='");
				q = *p++;
				if (q != '"' && q != '\'')
					FAIL("unquoted attribute");
				p = xml_chars(p, q == '"' ? "\"<" : "'<");
				if (!p || *p != q)
					FAIL("bad attribute value");
				p++;
			}
			if (!depth && roots++)
				FAIL("two root elements");
			elements++;
			if (*p == '/') {
				p += 2;
			} else {
				if (depth == 4096)
					FAIL("too deep");
				stack[depth] = n;
				stacklen[depth++] = l;
				p++;
			}
		}
	}
	if (depth)
		FAIL("unclosed <%.*s>", (int)stacklen[depth - 1], stack[depth - 1]);
	if (!roots)
		FAIL("no root element");
#undef FAIL
	return elements;
}

static size_t count_str(const char *s, const char *needle)
{
	size_t n = 0;

	while ((s = strstr(s, needle))) {
		n++;
		s += strlen(needle);
	}
	return n;
}

/* ---- JSON ---- */

enum jtype { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ };

struct jv {
	enum jtype t;
	double num;
	char *str;
	size_t n;
	struct jv *items;
	char **keys;
};

struct jparser {
	const char *p;
	int depth;
};

static void jskip(struct jparser *j)
{
	while (*j->p == ' ' || *j->p == '\n' || *j->p == '\t' || *j->p == '\r')
		j->p++;
}

static int hex4(const char *s, uint32_t *v)
{
	*v = 0;
	for (int i = 0; i < 4; i++) {
		char c = s[i];

		*v <<= 4;
		if (c >= '0' && c <= '9')
			*v |= c - '0';
		else if (c >= 'a' && c <= 'f')
			*v |= c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			*v |= c - 'A' + 10;
		else
			return -1;
	}
	return 0;
}

static int jstring(struct jparser *j, char **out)
{
	size_t cap = 16, n = 0;
	char *s = malloc(cap);

	if (*j->p++ != '"')
		goto bad;
	while (*j->p != '"') {
		uint32_t cp;

		if (n + 8 > cap)
			s = realloc(s, cap *= 2);
		if ((unsigned char)*j->p < 0x20)
			goto bad;
		if (*j->p != '\\') {
			s[n++] = *j->p++;
			continue;
		}
		j->p++;
		switch (*j->p++) {
		case '"': s[n++] = '"'; break;
		case '\\': s[n++] = '\\'; break;
		case '/': s[n++] = '/'; break;
		case 'b': s[n++] = '\b'; break;
		case 'f': s[n++] = '\f'; break;
		case 'n': s[n++] = '\n'; break;
		case 'r': s[n++] = '\r'; break;
		case 't': s[n++] = '\t'; break;
		case 'u':
			if (hex4(j->p, &cp))
				goto bad;
			j->p += 4;
			if (cp >= 0xd800 && cp < 0xdc00) {
				uint32_t lo;

				if (j->p[0] != '\\' || j->p[1] != 'u' || hex4(j->p + 2, &lo) ||
				    lo < 0xdc00 || lo > 0xdfff)
					goto bad;
				j->p += 6;
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			} else if (cp >= 0xdc00 && cp <= 0xdfff) {
				goto bad;
			}
			n += utf8__put(s + n, cp);
			break;
		default:
			goto bad;
		}
	}
	j->p++;
	s[n] = 0;
	*out = s;
	return 0;
bad:
	free(s);
	return -1;
}

static int jvalue(struct jparser *j, struct jv *v);

static int jlist(struct jparser *j, struct jv *v, bool obj)
{
	size_t cap = 0;

	j->p++;
	jskip(j);
	if (*j->p == (obj ? '}' : ']')) {
		j->p++;
		return 0;
	}
	for (;;) {
		if (v->n == cap) {
			cap = cap ? cap * 2 : 8;
			v->items = realloc(v->items, cap * sizeof(*v->items));
			if (obj)
				v->keys = realloc(v->keys, cap * sizeof(*v->keys));
		}
		jskip(j);
		if (obj) {
			if (*j->p != '"' || jstring(j, &v->keys[v->n]))
				return -1;
			jskip(j);
			if (*j->p++ != ':')
				return -1;
		}
		if (jvalue(j, &v->items[v->n++]))
			return -1;
		jskip(j);
		if (*j->p == ',') {
			j->p++;
			continue;
		}
		if (*j->p++ != (obj ? '}' : ']'))
			return -1;
		return 0;
	}
}

static int jvalue(struct jparser *j, struct jv *v)
{
	char *end;

	memset(v, 0, sizeof(*v));
	jskip(j);
	if (++j->depth > 10000)
		return -1;
	switch (*j->p) {
	case '{':
		v->t = J_OBJ;
		return jlist(j, v, true);
	case '[':
		v->t = J_ARR;
		return jlist(j, v, false);
	case '"':
		v->t = J_STR;
		return jstring(j, &v->str);
	case 't':
	case 'f':
	case 'n':
		if (!strncmp(j->p, "true", 4) || !strncmp(j->p, "null", 4)) {
			v->t = *j->p == 'n' ? J_NULL : J_BOOL;
			v->num = *j->p == 't';
			j->p += 4;
			return 0;
		}
		if (!strncmp(j->p, "false", 5)) {
			v->t = J_BOOL;
			j->p += 5;
			return 0;
		}
		return -1;
	default:
		if (*j->p != '-' && (*j->p < '0' || *j->p > '9'))
			return -1;
		v->t = J_NUM;
		v->num = strtod(j->p, &end);
		if (end == j->p)
			return -1;
		j->p = end;
		return 0;
	}
}

static void jfree(struct jv *v)
{
	for (size_t i = 0; i < v->n; i++) {
		jfree(&v->items[i]);
		if (v->keys)
			free(v->keys[i]);
	}
	free(v->items);
	free(v->keys);
	free(v->str);
}

static struct jv *jparse(const char *s)
{
	struct jparser j = { .p = s };
	struct jv *v = calloc(1, sizeof(*v));

	assert_true(valid_utf8(s, strlen(s)));
	assert_int_equal(jvalue(&j, v), 0);
	jskip(&j);
	assert_int_equal(*j.p, 0);
	return v;
}

static const struct jv *jget(const struct jv *v, const char *key)
{
	if (v->t != J_OBJ)
		return NULL;
	for (size_t i = 0; i < v->n; i++)
		if (!strcmp(v->keys[i], key))
			return &v->items[i];
	return NULL;
}

static const struct jv *jreq(const struct jv *v, const char *key, enum jtype t)
{
	const struct jv *r = jget(v, key);

	if (!r || r->t != t)
		fail_msg("missing or mistyped key '%s'", key);
	return r;
}

/* ---- basics ---- */

static void test_formats(void **state)
{
	static const struct {
		const char *name, *ext;
		bool timeline;
	} want[] = {
		{ "raw", "txt", false },
		{ "flamegraph", "svg", false },
		{ "speedscope", "json", false },
		{ "chrometrace", "json", true },
		{ "pprof", "pb.gz", false },
	};
	enum output_format f;

	(void)state;
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		assert_int_equal(output__parse_format(want[i].name, &f), 0);
		assert_string_equal(output__name(f), want[i].name);
		assert_string_equal(output__ext(f), want[i].ext);
		assert_int_equal(output__needs_timeline(f), want[i].timeline);
	}
	assert_int_equal(output__parse_format("svg", &f), -EINVAL);
}

static void test_utf8(void **state)
{
	static const struct {
		const char *s;
		size_t len;
		uint32_t cp;
	} cases[] = {
		{ "A", 1, 'A' },
		{ "\xc3\xbc", 2, 0xfc },
		{ "\xe2\x98\x83", 3, 0x2603 },
		{ "\xf0\x9f\x98\x80", 4, 0x1f600 },
		{ "\xc0\xaf", 1, 0xfffd },	/* overlong '/' */
		{ "\xe0\x80\xaf", 1, 0xfffd },	/* overlong */
		{ "\xed\xa0\x80", 1, 0xfffd },	/* surrogate */
		{ "\xf4\x90\x80\x80", 1, 0xfffd },	/* > U+10FFFF */
		{ "\xff", 1, 0xfffd },
		{ "\x80", 1, 0xfffd },
		{ "\xe2\x98", 1, 0xfffd },	/* truncated */
	};
	char buf[4];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint32_t cp;

		assert_int_equal(utf8__next(cases[i].s, strlen(cases[i].s), &cp), cases[i].len);
		assert_int_equal(cp, cases[i].cp);
		if (cp != 0xfffd) {
			assert_int_equal(utf8__put(buf, cp), cases[i].len);
			assert_memory_equal(buf, cases[i].s, cases[i].len);
		}
	}
}

static void test_json_str(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "plain", "\"plain\"" },
		{ "q\"b\\s/", "\"q\\\"b\\\\s/\"" },
		{ "\n\r\t\x01\x1f\x7f", "\"\\n\\r\\t\\u0001\\u001f\\u007f\"" },
		{ "\xc3\xbc\xe2\x98\x83", "\"\xc3\xbc\xe2\x98\x83\"" },
		{ "bad\xff" "x", "\"bad\\ufffdx\"" },
		{ "\xe2\x80\xa8", "\"\\u2028\"" },
		{ "\xc2\x80\xc2\x9b\xc2\xa0", "\"\\u0080\\u009b\xc2\xa0\"" },	/* C1 */
		{ "\xe2\x80\xae\xe2\x81\xa6", "\"\\u202e\\u2066\"" },	/* bidi */
		{ "", "\"\"" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *buf = NULL;
		size_t n = 0;
		FILE *f = open_memstream(&buf, &n);

		json__str(f, cases[i].in);
		fclose(f);
		assert_string_equal(buf, cases[i].out);
		free(buf);
	}
}

static void test_protobuf(void **state)
{
	static const uint64_t vals[] = { 0, 1, 127, 128, 300, 1ULL << 32, UINT64_MAX };
	struct pb_buf b = { 0 }, sub = { 0 };
	struct pb_reader r;
	struct pb_field f;
	uint64_t got[8];
	size_t i;

	(void)state;
	for (i = 0; i < 7; i++)
		pb__uint(&b, i + 1, vals[i]);
	pb__packed(&b, 20, vals, 7);
	pb__bytes(&sub, 1, "hi", 2);
	pb__msg(&b, 21, &sub);
	pb__bytes(&b, 22, "", 0);
	assert_int_equal(b.err, 0);
	/* 300 is the example in the encoding documentation: ac 02. */
	assert_memory_equal(b.data + 9, "\x28\xac\x02", 3);

	r = (struct pb_reader){ b.data, b.data + b.len };
	for (i = 0; i < 7; i++) {
		assert_int_equal(pb__next(&r, &f), 1);
		assert_int_equal(f.num, i + 1);
		assert_int_equal(f.wire, PB_VARINT);
		assert_true(f.v == vals[i]);
	}
	assert_int_equal(pb__next(&r, &f), 1);
	assert_int_equal(f.num, 20);
	assert_int_equal(f.wire, PB_LEN);
	{
		struct pb_reader pr = { f.data, f.data + f.len };

		for (i = 0; pr.p < pr.end; i++)
			assert_int_equal(pb__read_varint(&pr, &got[i]), 0);
		assert_int_equal(i, 7);
		assert_memory_equal(got, vals, sizeof(vals));
	}
	assert_int_equal(pb__next(&r, &f), 1);
	assert_int_equal(f.num, 21);
	assert_int_equal(f.len, 4);
	assert_int_equal(pb__next(&r, &f), 1);
	assert_int_equal(f.num, 22);
	assert_int_equal(f.len, 0);
	assert_int_equal(pb__next(&r, &f), 0);

	/* Malformed: truncated varint, length past the end, field 0, 11-byte varint. */
	{
		static const struct {
			const char *d;
			size_t n;
		} bad[] = {
			{ "\x08\x80", 2 },
			{ "\x0a\x05" "ab", 4 },
			{ "\x00\x01", 2 },
			{ "\x08\xff\xff\xff\xff\xff\xff\xff\xff\xff\x7f", 11 },
			{ "\x0b", 1 },	/* wire type 3 */
		};

		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			r = (struct pb_reader){ (const uint8_t *)bad[i].d,
						(const uint8_t *)bad[i].d + bad[i].n };
			assert_int_equal(pb__next(&r, &f), -EBADMSG);
		}
	}
	pb__free(&b);
	pb__free(&sub);
}

/* ---- raw: the synthetic roots, as before the shared helper ---- */

static void test_raw_roots(void **state)
{
	struct fixture *fx = *state;
	struct output_opts o = fx->o;
	char *out;

	o.threads = true;
	o.process_roots = true;
	out = write_mem(write_raw, fx->a, &o, NULL);
	assert_non_null(strstr(out, "process 200:\"/usr/bin/python3 other.py\";"
				    "thread (200): MainThread;"
				    "<module> (app.py:10);main (app.py:5);work (app.py:20) 5\n"));
	/* ';' inside a frame cannot split it. */
	assert_non_null(strstr(out, ";work:semi (lib/\xc3\xbc.py:3) 2\n"));
	/* Control characters and stray bytes are escaped, UTF-8 is kept. */
	assert_non_null(strstr(out, "thread (101): w\xc3\xb6rker \"q\";"
				    "bad\\xff\\xfe\\xc0\\xafname (b.py:1);"
				    "ctl\\x01\\x1b[31m\\ttab\\nnl (c.py:2) 1\n"));
	free(out);
}

/* ---- -s: a child's stacks under its parent's process frame ---- */

static void add_nested(struct agg *a, int pid, const char *tname, const char *cmd,
		       const struct frame *leaf, const struct frame *const *anc, unsigned int nanc,
		       uint64_t count)
{
	const struct frame *fr[1] = { leaf };
	struct stack_trace st = {
		.pid = pid, .os_thread_id = pid, .thread_name = tname, .active = true,
		.frames = fr, .nframes = 1, .cmdline = cmd, .ancestors = anc, .nancestors = nanc,
	};

	assert_int_equal(agg__add(a, &st, count, 0), 0);
}

static void test_roots_nested(void **state)
{
	struct agg *a = agg__new();
	struct output_opts o = { .rate = RATE, .threads = true, .process_roots = true };
	const struct frame *anc[2], *work, *fr;
	struct jv *doc;
	const struct jv *frames_v, *profiles;
	size_t nproc = 0;
	char *out;

	(void)state;
	anc[0] = agg__frame(a, "process 10:\"sh -c x\"", "", "", 0, FRAME_MARKER);
	anc[1] = agg__frame(a, "process 11:\"python parent.py\"", "", "", 0, FRAME_MARKER);
	work = agg__frame(a, "work", "/srv/w.py", "w.py", 2, FRAME_PYTHON);
	add_nested(a, 11, "MainThread", "python parent.py", work, anc, 1, 2);
	/* The grandchild's thread has no name: thread (TID) alone. */
	add_nested(a, 12, "", "python child.py", work, anc, 2, 3);
	out = write_mem(write_raw, a, &o, NULL);
	assert_string_equal(out, "process 10:\"sh -c x\";process 11:\"python parent.py\";"
				 "process 12:\"python child.py\";thread (12);work (w.py:2) 3\n"
				 "process 10:\"sh -c x\";process 11:\"python parent.py\";"
				 "thread (11): MainThread;work (w.py:2) 2\n");
	free(out);
	/* The parent is one frame, as an ancestor and as its own root. */
	out = write_mem(write_flamegraph, a, &o, NULL);
	assert_int_equal(count_str(out, "<title>process 11:&quot;python parent.py&quot; (5 samples"),
			 1);
	assert_int_equal(count_str(out, "<title>process 11:"), 1);
	free(out);
	out = write_mem(write_speedscope, a, &o, NULL);
	doc = jparse(out);
	frames_v = jreq(jreq(doc, "shared", J_OBJ), "frames", J_ARR);
	for (size_t i = 0; i < frames_v->n; i++)
		nproc += !strncmp(jreq(&frames_v->items[i], "name", J_STR)->str, "process ", 8);
	assert_int_equal(nproc, 3);
	profiles = jreq(doc, "profiles", J_ARR);
	assert_int_equal(profiles->n, 2);
	assert_string_equal(jreq(&profiles->items[0], "name", J_STR)->str,
			    "Process 11 Thread 11 \"MainThread\"");
	assert_string_equal(jreq(&profiles->items[1], "name", J_STR)->str,
			    "Process 12 Thread 12 \"\"");
	jfree(doc);
	free(doc);
	free(out);
	agg__free(a);

	/* One process: py-spy's Thread TID "NAME". */
	a = agg__new();
	fr = agg__frame(a, "work", "/srv/w.py", "w.py", 2, FRAME_PYTHON);
	add_nested(a, 18037, "MainThread", "python w.py", fr, NULL, 0, 1);
	o.threads = o.process_roots = false;
	out = write_mem(write_speedscope, a, &o, NULL);
	assert_non_null(strstr(out, "\"name\":\"Thread 18037 \\\"MainThread\\\"\""));
	free(out);
	agg__free(a);
}

/* ---- flamegraph ---- */

static void test_flamegraph(void **state)
{
	struct fixture *fx = *state;
	char why[200], *out;
	int n;

	out = write_mem(write_flamegraph, fx->a, &fx->o, NULL);
	n = xml_check(out, why, sizeof(why));
	if (n < 0)
		fail_msg("flamegraph is not well-formed XML: %s", why);
	/* Tree: all, <module>, main, work:20, work:21, a<b>, native, semi,
	 * bad, ctl, unknown (bad under none: each a root). */
	assert_int_equal(count_str(out, "<g data-x="), 11);
	assert_non_null(strstr(out, "<g data-x=\"0\" data-w=\"15\"><title>all (15 samples, 100.00%)"));
	assert_non_null(strstr(out, "<title>a&lt;b&gt;&amp;&quot;c&apos; (x.py:7) (1 sample, 6.67%)"));
	assert_non_null(strstr(out, "<title>work;semi (lib/\xc3\xbc.py:3) (2 samples"));
	assert_non_null(strstr(out, "<title>bad\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbdname"));
	assert_non_null(strstr(out, "<title>ctl\xef\xbf\xbd\xef\xbf\xbd[31m&#9;tab&#10;nl"));
	/* The subtitle has the command line, duration, rate and count. */
	assert_non_null(strstr(out, "pyspy-bpf record -o &lt;out&gt;.svg &amp; &quot;more&quot;"));
	assert_non_null(strstr(out, "0.5 s at 100 Hz"));
	assert_non_null(strstr(out, "15 samples</text>"));
	/* Two processes: a generic title. */
	assert_non_null(strstr(out, "<text id=\"title\" x=\"600\" y=\"26\">Every Python process<"));
	/* Markers grey: the root and <unknown>. */
	assert_int_equal(count_str(out, "fill=\"rgb(190,190,190)\""), 2);
	free(out);

	/* With roots and merged lines: process and thread frames, work once. */
	{
		struct output_opts o = fx->o;

		o.threads = o.process_roots = o.nolineno = true;
		out = write_mem(write_flamegraph, fx->a, &o, NULL);
		n = xml_check(out, why, sizeof(why));
		if (n < 0)
			fail_msg("flamegraph is not well-formed XML: %s", why);
		assert_non_null(strstr(out, "<title>process 100:&quot;python &quot;evil&quot; "
					    "&lt;script&gt;.py; rm -rf &amp; &apos;x&apos; "
					    "\xe2\x98\x83&quot; (10 samples"));
		assert_non_null(strstr(out, "<title>thread (101): w\xc3\xb6rker &quot;q&quot;"
					    " (3 samples"));
		assert_int_equal(count_str(out, "<title>work (app.py) ("), 2);
		free(out);
	}
}

static void test_flamegraph_prune(void **state)
{
	struct agg *a = agg__new();
	struct output_opts o = { .rate = RATE };
	const struct frame *hot = agg__frame(a, "hot", "h.py", "h.py", 1, FRAME_PYTHON);
	struct stack_trace st = { .pid = 1, .os_thread_id = 1, .thread_name = "t", .cmdline = "c" };
	const struct frame *fr[3];
	char why[200], *out, name[32];
	size_t len;
	int n;
	clock_t t0 = clock();

	(void)state;
	fr[1] = hot;
	st.frames = fr;
	/* One wide stack and 30000 distinct one-sample stacks under it. */
	st.nframes = 1;
	fr[0] = hot;
	assert_int_equal(agg__add(a, &st, 3000000, 0), 0);
	st.nframes = 2;
	for (int i = 0; i < 30000; i++) {
		snprintf(name, sizeof(name), "cold_%d", i);
		fr[0] = agg__frame(a, name, "c.py", "c.py", i + 1, FRAME_PYTHON);
		assert_int_equal(agg__add(a, &st, 1, 0), 0);
	}
	out = write_mem(write_flamegraph, a, &o, &len);
	n = xml_check(out, why, sizeof(why));
	if (n < 0)
		fail_msg("flamegraph is not well-formed XML: %s", why);
	/* all, hot, and the cold frames (far below a pixel each) as one. */
	assert_int_equal(count_str(out, "<g data-x="), 3);
	assert_non_null(strstr(out, "<g data-x=\"0\" data-w=\"3030000\">"));
	assert_non_null(strstr(out, "<g data-x=\"0\" data-w=\"30000\"><title>"
				    "[30000 narrow frames] (30,000 samples, 0.99%)"));
	assert_true(len < 64 * 1024);
	/* Building the tree and pruning stays quick. */
	assert_true((clock() - t0) / (double)CLOCKS_PER_SEC < 5.0);
	free(out);
	agg__free(a);
}

/* ---- speedscope ---- */

static void test_speedscope(void **state)
{
	struct fixture *fx = *state;
	char *out = write_mem(write_speedscope, fx->a, &fx->o, NULL);
	struct jv *doc = jparse(out);
	const struct jv *frames_v, *profiles, *p;
	double weights = 0;
	bool seen_markup = false, seen_bad = false, seen_semi = false;

	assert_string_equal(jreq(doc, "$schema", J_STR)->str,
			    "https://www.speedscope.app/file-format-schema.json");
	assert_string_equal(jreq(doc, "exporter", J_STR)->str, "pyspy-bpf " PYSPY_VERSION);
	jreq(doc, "name", J_STR);
	frames_v = jreq(jreq(doc, "shared", J_OBJ), "frames", J_ARR);
	/* Every frame of the profile once (work at two lines is two). */
	assert_int_equal(frames_v->n, F__N);
	for (size_t i = 0; i < frames_v->n; i++) {
		const struct jv *fr = &frames_v->items[i];
		const char *name = jreq(fr, "name", J_STR)->str;

		if (!strcmp(name, "a<b>&\"c'")) {
			seen_markup = true;
			/* The full file name, as py-spy's frames have it. */
			assert_string_equal(jreq(fr, "file", J_STR)->str, "/srv/x.py");
			assert_int_equal(jreq(fr, "line", J_NUM)->num, 7);
		}
		if (!strcmp(name, "bad\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbdname"))
			seen_bad = true;
		if (!strcmp(name, "work;semi")) {
			seen_semi = true;
			assert_string_equal(jreq(fr, "file", J_STR)->str, "/srv/lib/\xc3\xbc.py");
		}
		if (!strcmp(name, "<unknown>"))
			assert_null(jget(fr, "file"));
	}
	assert_true(seen_markup && seen_bad && seen_semi);
	profiles = jreq(doc, "profiles", J_ARR);
	assert_int_equal(profiles->n, 3);
	for (size_t i = 0; i < profiles->n; i++) {
		const struct jv *samples, *w;
		double sum = 0;

		p = &profiles->items[i];
		assert_string_equal(jreq(p, "type", J_STR)->str, "sampled");
		assert_string_equal(jreq(p, "unit", J_STR)->str, "seconds");
		assert_int_equal(jreq(p, "startValue", J_NUM)->num, 0);
		samples = jreq(p, "samples", J_ARR);
		w = jreq(p, "weights", J_ARR);
		assert_int_equal(samples->n, w->n);
		for (size_t k = 0; k < w->n; k++) {
			sum += w->items[k].num;
			for (size_t m = 0; m < samples->items[k].n; m++)
				assert_true(samples->items[k].items[m].num < frames_v->n);
		}
		assert_true(fabs(sum - jreq(p, "endValue", J_NUM)->num) < 1e-9);
		weights += sum;
	}
	assert_true(fabs(weights - TOTAL / (double)RATE) < 1e-9);
	/* Two processes: py-spy's names with the process; sorted by pid, tid. */
	p = &profiles->items[1];
	assert_string_equal(jreq(p, "name", J_STR)->str,
			    "Process 100 Thread 101 \"w\xc3\xb6rker \"q\"\"");
	/* Thread 100: root first, <module> at the bottom of every sample. */
	p = &profiles->items[0];
	{
		const struct jv *s0 = &jreq(p, "samples", J_ARR)->items[0];

		assert_int_equal(s0->n, 3);
		assert_string_equal(jreq(&frames_v->items[(size_t)s0->items[0].num], "name",
					 J_STR)->str, "<module>");
		assert_string_equal(jreq(&frames_v->items[(size_t)s0->items[2].num], "name",
					 J_STR)->str, "work");
	}
	/* The busiest thread opens first: pid 100's main thread, 7 samples. */
	assert_int_equal(jreq(doc, "activeProfileIndex", J_NUM)->num, 0);
	jfree(doc);
	free(doc);
	free(out);
}

/* ---- chrometrace ---- */

struct open_frames {
	int pid, tid;
	char *names[64];
	int n;
	double last_ts;
	bool named;
};

static void check_trace(const char *out, int want_threads, bool expect_gap)
{
	struct jv *doc = jparse(out);
	/* py-spy's shape: a list of events, each with its category and args. */
	const struct jv *ev = doc;
	struct open_frames th[8] = { 0 };
	int nth = 0, begins = 0, procs = 0;
	bool gap_closed = false;

	for (size_t i = 0; i < ev->n; i++) {
		const struct jv *e = &ev->items[i];
		const char *ph = jreq(e, "ph", J_STR)->str;
		int pid = jreq(e, "pid", J_NUM)->num, tid = jreq(e, "tid", J_NUM)->num, k;
		struct open_frames *t = NULL;

		assert_string_equal(jreq(e, "cat", J_STR)->str, "py-spy");
		if (!strcmp(ph, "M")) {
			const char *what = jreq(e, "name", J_STR)->str;

			jreq(jreq(e, "args", J_OBJ), "name", J_STR);
			if (!strcmp(what, "process_name")) {
				procs++;
				continue;
			}
			assert_string_equal(what, "thread_name");
		}
		for (k = 0; k < nth; k++)
			if (th[k].pid == pid && th[k].tid == tid)
				t = &th[k];
		if (!t) {
			assert_true(nth < 8);
			t = &th[nth++];
			t->pid = pid;
			t->tid = tid;
		}
		if (!strcmp(ph, "M")) {
			t->named = true;
			continue;
		}
		double ts = jreq(e, "ts", J_NUM)->num;

		assert_true(ts >= t->last_ts);
		t->last_ts = ts;
		/* The function alone: its file and line are args. */
		assert_null(strstr(jreq(e, "name", J_STR)->str, " ("));
		jreq(jreq(e, "args", J_OBJ), "filename", J_STR);
		assert_non_null(jget(jreq(e, "args", J_OBJ), "line"));
		if (!strcmp(ph, "B")) {
			assert_true(t->n < 64);
			t->names[t->n++] = jreq(e, "name", J_STR)->str;
			begins++;
		} else {
			assert_string_equal(ph, "E");
			assert_true(t->n > 0);
			/* Proper nesting: an end closes the innermost open frame. */
			assert_string_equal(jreq(e, "name", J_STR)->str, t->names[t->n - 1]);
			t->n--;
			/* pid 100's main thread is unseen from 40 to 400 ms: closed at 50. */
			if (pid == 100 && tid == 100 && !t->n && ts == 50000)
				gap_closed = true;
		}
	}
	assert_int_equal(nth, want_threads);
	assert_int_equal(procs, 2);
	assert_true(begins > 0);
	for (int k = 0; k < nth; k++) {
		assert_true(th[k].named);
		assert_int_equal(th[k].n, 0);
	}
	assert_int_equal(gap_closed, expect_gap);
	jfree(doc);
	free(doc);
}

static void test_chrometrace(void **state)
{
	struct fixture *fx = *state;
	char *out = write_mem(write_chrometrace, fx->a, &fx->o, NULL);

	check_trace(out, 3, true);
	assert_true(out[0] == '[');
	/* Microseconds from the start; thread 101's samples sorted by time. */
	assert_non_null(strstr(out, "{\"args\":{\"filename\":\"/srv/b.py\",\"line\":1},"
				    "\"cat\":\"py-spy\",\"name\":\"bad\\ufffd\\ufffd\\ufffd\\ufffdname\","
				    "\"ph\":\"B\",\"pid\":100,\"tid\":101,\"ts\":0}"));
	/* work moves from line 20 to 21: one slice ends, the next begins. */
	assert_non_null(strstr(out, "{\"args\":{\"filename\":\"/srv/app.py\",\"line\":20},"
				    "\"cat\":\"py-spy\",\"name\":\"work\","
				    "\"ph\":\"E\",\"pid\":100,\"tid\":100,\"ts\":20000}"));
	assert_non_null(strstr(out, "{\"args\":{\"filename\":\"/srv/app.py\",\"line\":21},"
				    "\"cat\":\"py-spy\",\"name\":\"work\","
				    "\"ph\":\"B\",\"pid\":100,\"tid\":100,\"ts\":20000}"));
	assert_non_null(strstr(out, "{\"args\":{\"filename\":\"\",\"line\":null,"
				    "\"name\":\"101: w\xc3\xb6rker \\\"q\\\"\"},\"cat\":\"py-spy\","
				    "\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":100,\"tid\":101,"
				    "\"ts\":0}"));
	free(out);

	/* --nolineno: the slice of work lasts across its two lines. */
	{
		struct output_opts o = fx->o;

		o.nolineno = true;
		out = write_mem(write_chrometrace, fx->a, &o, NULL);
		check_trace(out, 3, true);
		assert_null(strstr(out, "\"pid\":100,\"tid\":100,\"ts\":20000}"));
		assert_non_null(strstr(out, "{\"args\":{\"filename\":\"/srv/app.py\",\"line\":null},"
					    "\"cat\":\"py-spy\",\"name\":\"work\","
					    "\"ph\":\"B\",\"pid\":100,\"tid\":100,\"ts\":0}"));
		free(out);
	}
}

static void test_chrometrace_no_timeline(void **state)
{
	struct fixture *fx = *state;
	struct agg *a = make_profile(false);
	char *out = write_mem(write_chrometrace, a, &fx->o, NULL);

	check_trace(out, 3, false);
	free(out);
	agg__free(a);
}

/* ---- pprof ---- */

struct pprof {
	char **strings;
	size_t nstrings;
	struct pp_sample {
		uint64_t locs[16], values[2];
		size_t nlocs, nvalues;
		int64_t pid, tid;
		uint64_t thread_name, process_name;
	} samples[32];
	size_t nsamples;
	struct pp_loc {
		uint64_t id, function, line, mapping;
	} locs[32];
	size_t nlocs;
	struct pp_func {
		uint64_t id, name, system_name, filename;
	} funcs[32];
	size_t nfuncs;
	uint64_t sample_types[4][2];
	size_t ntypes;
	uint64_t period_type[2], period, time_nanos, duration_nanos;
};

static uint8_t *gunzip(const char *in, size_t len, size_t *outlen)
{
	size_t cap = 1 << 16;
	uint8_t *out = malloc(cap);
	z_stream zs = { 0 };
	int zerr;

	assert_int_equal(inflateInit2(&zs, 16 + 15), Z_OK);
	zs.next_in = (Bytef *)in;
	zs.avail_in = len;
	do {
		if (zs.total_out == cap) {
			cap *= 2;
			out = realloc(out, cap);
		}
		zs.next_out = out + zs.total_out;
		zs.avail_out = cap - zs.total_out;
		zerr = inflate(&zs, Z_NO_FLUSH);
		assert_true(zerr == Z_OK || zerr == Z_STREAM_END);
	} while (zerr != Z_STREAM_END);
	/* The whole file is one gzip member. */
	assert_int_equal(zs.avail_in, 0);
	*outlen = zs.total_out;
	inflateEnd(&zs);
	return out;
}

static void pp_value_type(const struct pb_field *f, uint64_t out[2])
{
	struct pb_reader r = { f->data, f->data + f->len };
	struct pb_field g;

	while (pb__next(&r, &g) == 1)
		if (g.num == 1 || g.num == 2)
			out[g.num - 1] = g.v;
}

static void pp_packed(const struct pb_field *f, uint64_t *out, size_t *n)
{
	struct pb_reader r = { f->data, f->data + f->len };

	assert_int_equal(f->wire, PB_LEN);
	while (r.p < r.end)
		assert_int_equal(pb__read_varint(&r, &out[(*n)++]), 0);
}

static void pp_decode(const uint8_t *d, size_t len, struct pprof *p)
{
	struct pb_reader r = { d, d + len }, s, t;
	struct pb_field f, g, h;
	int err;

	memset(p, 0, sizeof(*p));
	/* The string table may come last: read it first. */
	while ((err = pb__next(&r, &f)) == 1) {
		if (f.num != 6)
			continue;
		assert_int_equal(f.wire, PB_LEN);
		assert_true(valid_utf8((const char *)f.data, f.len));
		p->strings = realloc(p->strings, (p->nstrings + 1) * sizeof(char *));
		p->strings[p->nstrings++] = strndup((const char *)f.data, f.len);
	}
	assert_int_equal(err, 0);
	r = (struct pb_reader){ d, d + len };
	while ((err = pb__next(&r, &f)) == 1) {
		switch (f.num) {
		case 1:
			pp_value_type(&f, p->sample_types[p->ntypes++]);
			break;
		case 2: {
			struct pp_sample *sm = &p->samples[p->nsamples++];

			s = (struct pb_reader){ f.data, f.data + f.len };
			while (pb__next(&s, &g) == 1) {
				uint64_t key = 0, str = 0, num = 0;

				if (g.num == 1)
					pp_packed(&g, sm->locs, &sm->nlocs);
				if (g.num == 2)
					pp_packed(&g, sm->values, &sm->nvalues);
				if (g.num != 3)
					continue;
				t = (struct pb_reader){ g.data, g.data + g.len };
				while (pb__next(&t, &h) == 1) {
					if (h.num == 1)
						key = h.v;
					else if (h.num == 2)
						str = h.v;
					else if (h.num == 3)
						num = h.v;
				}
				if (!strcmp(p->strings[key], "pid"))
					sm->pid = num;
				else if (!strcmp(p->strings[key], "thread_id"))
					sm->tid = num;
				else if (!strcmp(p->strings[key], "thread_name"))
					sm->thread_name = str;
				else if (!strcmp(p->strings[key], "process_name"))
					sm->process_name = str;
				else
					fail_msg("unexpected label %s", p->strings[key]);
			}
			break;
		}
		case 4: {
			struct pp_loc *l = &p->locs[p->nlocs++];
			int lines = 0;

			s = (struct pb_reader){ f.data, f.data + f.len };
			while (pb__next(&s, &g) == 1) {
				if (g.num == 1)
					l->id = g.v;
				if (g.num == 2)
					l->mapping = g.v;
				if (g.num != 4)
					continue;
				lines++;
				t = (struct pb_reader){ g.data, g.data + g.len };
				while (pb__next(&t, &h) == 1) {
					if (h.num == 1)
						l->function = h.v;
					if (h.num == 2)
						l->line = h.v;
				}
			}
			assert_int_equal(lines, 1);
			break;
		}
		case 5: {
			struct pp_func *fn = &p->funcs[p->nfuncs++];

			s = (struct pb_reader){ f.data, f.data + f.len };
			while (pb__next(&s, &g) == 1) {
				if (g.num == 1)
					fn->id = g.v;
				if (g.num == 2)
					fn->name = g.v;
				if (g.num == 3)
					fn->system_name = g.v;
				if (g.num == 4)
					fn->filename = g.v;
			}
			break;
		}
		case 9:
			p->time_nanos = f.v;
			break;
		case 10:
			p->duration_nanos = f.v;
			break;
		case 11:
			pp_value_type(&f, p->period_type);
			break;
		case 12:
			p->period = f.v;
			break;
		}
	}
	assert_int_equal(err, 0);
}

static const char *pp_str(const struct pprof *p, uint64_t i)
{
	assert_true(i < p->nstrings);
	return p->strings[i];
}

static const struct pp_func *pp_func_of(const struct pprof *p, uint64_t loc)
{
	for (size_t i = 0; i < p->nlocs; i++) {
		if (p->locs[i].id != loc)
			continue;
		for (size_t k = 0; k < p->nfuncs; k++)
			if (p->funcs[k].id == p->locs[i].function)
				return &p->funcs[k];
	}
	fail_msg("location %" PRIu64 " has no function", loc);
	return NULL;
}

/*
 * The profile was written from labels and decoded text: sampled stacks come
 * from samples whose labels parse back; the sample with pid 200 is exact.
 */
static void test_pprof(void **state)
{
	struct fixture *fx = *state;
	struct output_opts o = fx->o;
	size_t len, rawlen;
	char *out;
	uint8_t *raw;
	struct pprof *p = calloc(1, sizeof(*p));
	uint64_t sum = 0;
	bool found200 = false;

	/* Threads and processes are labels in pprof, whatever the flags say. */
	o.threads = o.process_roots = true;
	out = write_mem(write_pprof, fx->a, &o, &len);
	assert_memory_equal(out, "\x1f\x8b", 2);
	raw = gunzip(out, len, &rawlen);
	pp_decode(raw, rawlen, p);

	assert_true(p->nstrings > 0);
	assert_string_equal(p->strings[0], "");
	assert_int_equal(p->ntypes, 2);
	assert_string_equal(pp_str(p, p->sample_types[0][0]), "samples");
	assert_string_equal(pp_str(p, p->sample_types[0][1]), "count");
	assert_string_equal(pp_str(p, p->sample_types[1][0]), "cpu");
	assert_string_equal(pp_str(p, p->sample_types[1][1]), "nanoseconds");
	assert_string_equal(pp_str(p, p->period_type[0]), "cpu");
	assert_string_equal(pp_str(p, p->period_type[1]), "nanoseconds");
	assert_int_equal(p->period, 1000000000 / RATE);
	assert_true(p->time_nanos == START_UNIX);
	assert_int_equal(p->duration_nanos, 500000000);
	/* One location per (function, line): work at 20 and 21 share a function. */
	assert_int_equal(p->nlocs, F__N);
	assert_int_equal(p->nfuncs, F__N - 1);
	assert_int_equal(p->nsamples, agg__stacks(fx->a));
	for (size_t i = 0; i < p->nsamples; i++) {
		const struct pp_sample *s = &p->samples[i];
		const struct stack_trace *st = agg__stack(fx->a, i);

		assert_int_equal(s->nvalues, 2);
		assert_true(s->values[1] == s->values[0] * p->period);
		assert_true(s->values[0] == st->count);
		sum += s->values[0];
		assert_int_equal(s->pid, st->pid);
		assert_int_equal(s->tid, st->os_thread_id);
		/* Leaf first, no synthetic frames. */
		assert_int_equal(s->nlocs, st->nframes);
		for (size_t k = 0; k < s->nlocs; k++) {
			const struct pp_func *fn = pp_func_of(p, s->locs[k]);
			const char *name = pp_str(p, fn->name);

			if (st->frames[k] == frames[F_BADUTF8])
				assert_string_equal(name, "bad\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
							  "\xef\xbf\xbdname");
			else
				assert_string_equal(name, st->frames[k]->name);
			assert_string_equal(pp_str(p, fn->filename), st->frames[k]->short_filename);
			/* Only native frames carry a system name (see out_pprof.c). */
			assert_int_equal(fn->system_name != 0, st->frames[k]->kind == FRAME_NATIVE);
		}
		if (st->pid == 200) {
			found200 = true;
			assert_string_equal(pp_str(p, s->thread_name), "MainThread");
			assert_string_equal(pp_str(p, s->process_name), cmd2);
		} else {
			assert_string_equal(pp_str(p, s->process_name), cmd1);
		}
	}
	assert_true(found200);
	assert_int_equal(sum, TOTAL);
	for (size_t i = 0; i < p->nstrings; i++)
		free(p->strings[i]);
	free(p->strings);
	free(p);
	free(raw);
	free(out);
}

/* ---- every writer on an empty profile ---- */

static void test_empty(void **state)
{
	struct fixture *fx = *state;
	struct agg *a = agg__new();
	char why[200], *out;
	size_t len, rawlen;
	struct jv *doc;
	uint8_t *raw;
	struct pprof *p = calloc(1, sizeof(*p));

	out = write_mem(write_flamegraph, a, &fx->o, NULL);
	if (xml_check(out, why, sizeof(why)) < 0)
		fail_msg("empty flamegraph: %s", why);
	free(out);
	out = write_mem(write_speedscope, a, &fx->o, NULL);
	doc = jparse(out);
	assert_int_equal(jreq(doc, "profiles", J_ARR)->n, 0);
	jfree(doc);
	free(doc);
	free(out);
	out = write_mem(write_chrometrace, a, &fx->o, NULL);
	doc = jparse(out);
	jfree(doc);
	free(doc);
	free(out);
	out = write_mem(write_pprof, a, &fx->o, &len);
	raw = gunzip(out, len, &rawlen);
	pp_decode(raw, rawlen, p);
	assert_int_equal(p->nsamples, 0);
	for (size_t i = 0; i < p->nstrings; i++)
		free(p->strings[i]);
	free(p->strings);
	free(p);
	free(raw);
	free(out);
	agg__free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_formats),
		cmocka_unit_test(test_utf8),
		cmocka_unit_test(test_json_str),
		cmocka_unit_test(test_protobuf),
		cmocka_unit_test_setup_teardown(test_raw_roots, setup, teardown),
		cmocka_unit_test(test_roots_nested),
		cmocka_unit_test_setup_teardown(test_flamegraph, setup, teardown),
		cmocka_unit_test(test_flamegraph_prune),
		cmocka_unit_test_setup_teardown(test_speedscope, setup, teardown),
		cmocka_unit_test_setup_teardown(test_chrometrace, setup, teardown),
		cmocka_unit_test_setup_teardown(test_chrometrace_no_timeline, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pprof, setup, teardown),
		cmocka_unit_test_setup_teardown(test_empty, setup, teardown),
	};

	return cmocka_run_group_tests_name("writers", tests, NULL, NULL);
}
