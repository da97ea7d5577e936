// SPDX-License-Identifier: BSD-2-Clause
#include <math.h>
#include <string.h>
#include "json.h"
#include "out_common.h"
#include "textesc.h"

void json__str(FILE *f, const char *s)
{
	size_t n = strlen(s), k;
	uint32_t cp;

	putc('"', f);
	while (n) {
		k = utf8__next(s, n, &cp);
		switch (cp) {
		case '"':
			fputs("\\\"", f);
			break;
		case '\\':
			fputs("\\\\", f);
			break;
		case '\n':
			fputs("\\n", f);
			break;
		case '\r':
			fputs("\\r", f);
			break;
		case '\t':
			fputs("\\t", f);
			break;
		default:
			/* U+2028, U+2029: valid JSON, but not valid JavaScript source
			 * before ES2019. C1 and bidi controls: valid JSON, but a
			 * terminal showing the file obeys them (textesc.h). */
			if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || textesc__reorders(cp)) {
				fprintf(f, "\\u%04x", cp);
			} else if (cp == 0xfffd && k == 1) {
				fputs("\\ufffd", f);
			} else {
				fwrite(s, 1, k, f);
			}
		}
		s += k;
		n -= k;
	}
	putc('"', f);
}

void json__num(FILE *f, double v)
{
	if (!isfinite(v))
		v = 0;
	fprintf(f, "%.15g", v);
}
