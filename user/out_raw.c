// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "out_common.h"
#include "textesc.h"

/* Longest collapsed line; deeper text is cut at a frame boundary. */
#define LINE_MAX_BYTES (1u << 20)

struct line {
	char *text;
	uint64_t count;
};

/*
 * Command lines, thread names and function names come from the target: the
 * text is escaped (textesc.h), which leaves no line break nor control
 * character in it, and ';', which separates frames, becomes ':'.
 */
static void clean(const char *s, char *buf, size_t len)
{
	textesc__str(s, buf, len);
	for (char *c = buf; *c; c++)
		if (*c == ';')
			*c = ':';
}

static int cmp_line(const void *x, const void *y)
{
	return strcmp(((const struct line *)x)->text, ((const struct line *)y)->text);
}

static char *stack_text(const struct stack_trace *st, const struct output_opts *o)
{
	size_t cap = 256, n = 0;
	char *buf = malloc(cap), tmp[8192], esc[4 * sizeof(tmp)];
	int i;

	if (!buf)
		return NULL;
	buf[0] = 0;
#define APPEND(s)                                                          \
	do {                                                               \
		size_t l_ = strlen(s);                                     \
		if (n + l_ + 2 > LINE_MAX_BYTES)                           \
			goto done;                                         \
		if (n + l_ + 2 > cap) {                                    \
			char *nb_;                                         \
			while (n + l_ + 2 > cap)                           \
				cap *= 2;                                  \
			if (!(nb_ = realloc(buf, cap))) {                  \
				free(buf);                                 \
				return NULL;                               \
			}                                                  \
			buf = nb_;                                         \
		}                                                          \
		if (n)                                                     \
			buf[n++] = ';';                                    \
		memcpy(buf + n, s, l_ + 1);                                \
		n += l_;                                                   \
	} while (0)
	for (i = 0; o->process_roots && i < (int)st->nancestors; i++) {
		clean(st->ancestors[i]->name, esc, sizeof(esc));
		APPEND(esc);
	}
	if (o->process_roots) {
		process_root__text(st, tmp, sizeof(tmp));
		clean(tmp, esc, sizeof(esc));
		APPEND(esc);
	}
	if (o->threads) {
		thread_root__text(st, tmp, sizeof(tmp));
		clean(tmp, esc, sizeof(esc));
		APPEND(esc);
	}
	for (i = (int)st->nframes - 1; i >= 0; i--) {
		frame__text(st->frames[i], o, tmp, sizeof(tmp));
		clean(tmp, esc, sizeof(esc));
		APPEND(esc);
	}
#undef APPEND
done:
	return buf;
}

int write_raw(FILE *f, const struct agg *a, const struct output_opts *o)
{
	const struct stack_trace *st;
	struct line *lines;
	size_t pos = 0, n = 0, i;
	int err = 0;

	lines = calloc(agg__stacks(a) + 1, sizeof(*lines));
	if (!lines)
		return -ENOMEM;
	while (agg__next(a, &pos, &st)) {
		lines[n].text = stack_text(st, o);
		if (!lines[n].text) {
			err = -ENOMEM;
			goto cleanup;
		}
		lines[n++].count = st->count;
	}
	if (n > 1)
		qsort(lines, n, sizeof(*lines), cmp_line);
	for (i = 0; i < n; i++) {
		uint64_t count = lines[i].count;

		while (i + 1 < n && !strcmp(lines[i].text, lines[i + 1].text))
			count += lines[++i].count;
		if (lines[i].text[0])
			fprintf(f, "%s %" PRIu64 "\n", lines[i].text, count);
	}
	if (ferror(f))
		err = -EIO;
cleanup:
	for (i = 0; i < n; i++)
		free(lines[i].text);
	free(lines);
	return err;
}
