// SPDX-License-Identifier: BSD-2-Clause
/*
 * Every profile writer on a profile built from the input: names, files,
 * thread names and command lines are arbitrary bytes, as the profiled
 * processes choose them. The output is read back and checked:
 *   raw          one "<stack> <count>" line per stack, counts adding up
 *   flamegraph   valid UTF-8 without characters XML forbids, one <svg>
 *   speedscope,
 *   chrometrace  valid UTF-8 JSON (strict parser)
 *   pprof        gzip, then profile.proto: strings valid UTF-8, string
 *                and id references in range
 * fuzz-sources: user/aggregate.c user/hashmap.c user/json.c user/out_common.c
 *               user/out_raw.c user/out_flamegraph.c user/out_speedscope.c
 *               user/out_chrometrace.c user/out_pprof.c user/output.c
 *               user/protobuf.c user/textesc.c user/utf8.c
 * fuzz-libs: -lz -lm
 *
 * Input: format (1 byte), options (1), then commands: 'F' a frame (name,
 * file, short file as length-prefixed strings, line, kind), anything else
 * a sample (pid, tid, thread name, command line, frames, count, time).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include "aggregate.h"
#include "output.h"
#include "protobuf.h"
#include "utf8_oracle.h"

#define MAX_FRAMES 64
#define MAX_STACK 40

struct in {
	const uint8_t *p, *end;
};

static uint8_t u8(struct in *in)
{
	return in->p < in->end ? *in->p++ : 0;
}

static char *str(struct in *in, char *buf, size_t cap)
{
	size_t n = u8(in), k = 0;

	while (n-- && in->p < in->end && k + 1 < cap) {
		uint8_t c = *in->p++;

		if (c)
			buf[k++] = (char)c;
	}
	buf[k] = 0;
	return buf;
}

/* ---- checks ---- */

/* XML 1.0 refuses the C0 controls but tab, newline and return, and
 * U+FFFE / U+FFFF (EF BF BE, EF BF BF). */
static void check_utf8(const char *s, size_t n, bool xml)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, k;

	while (i < n) {
		k = utf8_oracle_seq(u + i, n - i);
		if (!k)
			abort();
		if (xml && k == 1 && u[i] < 0x20 && u[i] != '\t' && u[i] != '\n' && u[i] != '\r')
			abort();
		if (xml && k == 3 && u[i] == 0xef && u[i + 1] == 0xbf &&
		    (u[i + 2] == 0xbe || u[i + 2] == 0xbf))
			abort();
		i += k;
	}
}

struct json {
	const char *p, *end;
};

static void jws(struct json *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\n' || *j->p == '\r' || *j->p == '\t'))
		j->p++;
}

static bool jlit(struct json *j, const char *lit)
{
	size_t n = strlen(lit);

	if ((size_t)(j->end - j->p) < n || memcmp(j->p, lit, n))
		return false;
	j->p += n;
	return true;
}

static bool jstring(struct json *j)
{
	if (!jlit(j, "\""))
		return false;
	while (j->p < j->end && *j->p != '"') {
		unsigned char c = (unsigned char)*j->p;

		if (c < 0x20)
			return false;
		if (c == '\\') {
			j->p++;
			if (j->p >= j->end)
				return false;
			if (*j->p == 'u') {
				for (int i = 1; i <= 4; i++)
					if (j->p + i >= j->end || !strchr("0123456789abcdefABCDEF", j->p[i]) ||
					    !j->p[i])
						return false;
				j->p += 5;
				continue;
			}
			if (!strchr("\"\\/bfnrt", *j->p) || !*j->p)
				return false;
		}
		j->p++;
	}
	return jlit(j, "\"");
}

static bool jnumber(struct json *j)
{
	const char *s = j->p;

	if (j->p < j->end && *j->p == '-')
		j->p++;
	if (j->p >= j->end || *j->p < '0' || *j->p > '9')
		return false;
	while (j->p < j->end && strchr("0123456789.eE+-", *j->p) && *j->p)
		j->p++;
	return j->p > s;
}

static bool jvalue(struct json *j, int depth)
{
	bool obj;

	if (depth > 64)
		return false;
	jws(j);
	if (j->p >= j->end)
		return false;
	switch (*j->p) {
	case '"':
		return jstring(j);
	case '{':
	case '[':
		obj = *j->p++ == '{';
		jws(j);
		if (jlit(j, obj ? "}" : "]"))
			return true;
		for (;;) {
			if (obj) {
				jws(j);
				if (!jstring(j))
					return false;
				jws(j);
				if (!jlit(j, ":"))
					return false;
			}
			if (!jvalue(j, depth + 1))
				return false;
			jws(j);
			if (jlit(j, ","))
				continue;
			return jlit(j, obj ? "}" : "]");
		}
	case 't':
		return jlit(j, "true");
	case 'f':
		return jlit(j, "false");
	case 'n':
		return jlit(j, "null");
	default:
		return jnumber(j);
	}
}

static void check_json(const char *s, size_t n)
{
	struct json j = { s, s + n };

	check_utf8(s, n, false);
	if (!jvalue(&j, 0))
		abort();
	jws(&j);
	if (j.p != j.end)
		abort();
}

static void check_raw(const char *s, size_t n, uint64_t total)
{
	const char *p = s, *end = s + n, *nl, *sp;
	uint64_t sum = 0;

	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			abort();	/* every line ends with a newline */
		sp = nl;
		while (sp > p && sp[-1] >= '0' && sp[-1] <= '9')
			sp--;
		if (sp == nl || sp == p || sp[-1] != ' ' || sp - 1 == p)
			abort();
		sum += strtoull(sp, NULL, 10);
		p = nl + 1;
	}
	if (sum > total)
		abort();
}

static void check_svg(const char *s, size_t n)
{
	check_utf8(s, n, true);
	if (n < 6 || !memmem(s, n, "<svg", 4))
		abort();
	while (n && (s[n - 1] == '\n' || s[n - 1] == ' '))
		n--;
	if (n < 6 || memcmp(s + n - 6, "</svg>", 6))
		abort();
}

static uint8_t *gunzip(const char *in, size_t len, size_t *outlen)
{
	z_stream zs;
	size_t cap = 1 << 16;
	uint8_t *out = malloc(cap);
	int zerr;

	memset(&zs, 0, sizeof(zs));
	if (!out || inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK)
		abort();
	zs.next_in = (Bytef *)in;
	zs.avail_in = (uInt)len;
	do {
		if (zs.total_out == cap) {
			cap *= 2;
			out = realloc(out, cap);
			if (!out)
				abort();
		}
		zs.next_out = out + zs.total_out;
		zs.avail_out = (uInt)(cap - zs.total_out);
		zerr = inflate(&zs, Z_NO_FLUSH);
	} while (zerr == Z_OK);
	if (zerr != Z_STREAM_END || zs.avail_in)
		abort();
	*outlen = zs.total_out;
	inflateEnd(&zs);
	return out;
}

static void check_pprof(const char *s, size_t n)
{
	size_t len, nstr = 0, nloc = 0, nfunc = 0;
	uint8_t *pb = gunzip(s, n, &len);
	struct pb_reader r = { pb, pb + len };
	struct pb_field f;
	uint64_t max_str = 0, max_loc_ref = 0, max_func_ref = 0;
	bool first_empty = false;
	int ret;

	while ((ret = pb__next(&r, &f)) == 1) {
		struct pb_reader m = { f.data, f.data ? f.data + f.len : NULL };
		struct pb_field g;

		switch (f.num) {
		case 6:	/* string_table */
			if (f.wire != 2)
				abort();
			check_utf8((const char *)f.data, f.len, false);
			if (!nstr++)
				first_empty = f.len == 0;
			break;
		case 4:	/* location: id, mapping_id, line { function_id, line } */
			nloc++;
			while (pb__next(&m, &g) == 1) {
				if (g.num == 1 && g.v != nloc)
					abort();	/* ids are 1, 2, ... in order */
				if (g.num == 4) {
					struct pb_reader l = { g.data, g.data + g.len };
					struct pb_field h;

					if (g.wire != 2)
						abort();
					while (pb__next(&l, &h) == 1)
						if (h.num == 1 && h.v > max_func_ref)
							max_func_ref = h.v;
				}
			}
			break;
		case 5:	/* function: id, name, system_name, filename */
			nfunc++;
			while (pb__next(&m, &g) == 1) {
				if (g.num == 1 && g.v != nfunc)
					abort();
				if (g.num >= 2 && g.num <= 4 && g.v > max_str)
					max_str = g.v;
			}
			break;
		case 2:	/* sample: packed location ids, values, labels */
			while ((ret = pb__next(&m, &g)) == 1) {
				if (g.num == 1) {
					struct pb_reader l = { g.data, g.data + g.len };
					uint64_t v;

					if (g.wire != 2)
						abort();
					while (l.p < l.end) {
						if (pb__read_varint(&l, &v) || !v)
							abort();
						if (v > max_loc_ref)
							max_loc_ref = v;
					}
				}
				if (g.num == 3) {
					struct pb_reader l = { g.data, g.data + g.len };
					struct pb_field h;

					if (g.wire != 2)
						abort();
					while (pb__next(&l, &h) == 1)
						if ((h.num == 1 || h.num == 2) && h.v > max_str)
							max_str = h.v;
				}
			}
			if (ret)
				abort();
			break;
		}
	}
	if (ret || !first_empty || max_str >= nstr || max_loc_ref > nloc || max_func_ref > nfunc)
		abort();
	free(pb);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct frame *frames[MAX_FRAMES];
	const struct frame *stack[MAX_STACK];
	struct output_opts o = { 0 };
	struct in in = { data, data + size };
	char name[300], file[300], shortf[300], tname[300], cmd[300];
	size_t nframes = 0, outlen = 0;
	uint64_t total = 0;
	struct agg *a;
	char *out = NULL;
	FILE *f;
	uint8_t opt;
	int err;

	if (size < 2)
		return 0;
	o.format = (enum output_format)(u8(&in) % 5);
	opt = u8(&in);
	o.threads = opt & 1;
	o.process_roots = opt & 2;
	o.nolineno = opt & 4;
	o.full_filenames = opt & 8;
	o.rate = opt & 16 ? 100 : 997;
	o.command = opt & 32 ? "pyspy-bpf record \xff\"<x>&" : NULL;
	o.start_mono_ns = 1000000000ULL;
	o.start_unix_ns = 1700000000000000000ULL;
	o.duration_s = 2.5;
	a = agg__new();
	if (!a)
		abort();
	if (output__needs_timeline(o.format) || (opt & 64))
		agg__keep_timeline(a);
	frames[nframes++] = agg__frame(a, "<module>", "m.py", "m.py", 1, FRAME_PYTHON);
	while (in.p < in.end) {
		if (*in.p == 'F') {
			int line;
			enum frame_kind kind;

			in.p++;
			str(&in, name, sizeof(name));
			str(&in, file, sizeof(file));
			str(&in, shortf, sizeof(shortf));
			line = (int8_t)u8(&in) * 1000 + u8(&in);
			kind = (enum frame_kind)(u8(&in) % 3);
			if (nframes < MAX_FRAMES)
				frames[nframes++] = agg__frame(a, name, file, shortf, line, kind);
			if (!frames[nframes - 1])
				abort();
		} else {
			struct stack_trace st = { 0 };
			unsigned int depth;
			uint64_t count;

			in.p++;
			st.pid = u8(&in) + 1;
			st.os_thread_id = st.pid * 100 + u8(&in) % 4;
			st.thread_id = 0x7f0000000000ULL + (uint64_t)st.os_thread_id;
			st.thread_name = str(&in, tname, sizeof(tname));
			st.cmdline = str(&in, cmd, sizeof(cmd));
			st.active = u8(&in) & 1;
			depth = u8(&in) % MAX_STACK;
			for (unsigned int i = 0; i < depth; i++)
				stack[i] = frames[u8(&in) % nframes];
			st.frames = stack;
			st.nframes = depth;
			count = u8(&in) % 4 + 1;
			if (agg__add(a, &st, count, o.start_mono_ns + u8(&in) * 5000000ULL))
				abort();
			total += count;
		}
	}
	f = open_memstream(&out, &outlen);
	if (!f)
		abort();
	err = output__write(f, a, &o);
	if (fclose(f) || err)
		abort();
	switch (o.format) {
	case FMT_RAW:
		check_raw(out, outlen, total);
		break;
	case FMT_FLAMEGRAPH:
		check_svg(out, outlen);
		break;
	case FMT_SPEEDSCOPE:
	case FMT_CHROMETRACE:
		check_json(out, outlen);
		break;
	case FMT_PPROF:
		check_pprof(out, outlen);
		break;
	}
	free(out);
	agg__free(a);
	return 0;
}
