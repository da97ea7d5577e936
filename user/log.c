// SPDX-License-Identifier: BSD-2-Clause
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include "log.h"
#include "textesc.h"

int log_verbose;

/* Messages name processes, command lines and files of the targets: they are
 * escaped whole, since none of ours holds a control character. */
static void vmsg(const char *kind, const char *fmt, va_list ap)
{
	char buf[1024], *heap = NULL;
	va_list again;
	int n;

	va_copy(again, ap);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	if (n < 0)
		buf[0] = 0;
	else if ((size_t)n >= sizeof(buf) && vasprintf(&heap, fmt, again) < 0)
		heap = NULL;
	va_end(again);
	fprintf(stderr, "pyspy-bpf: %s", kind);
	textesc__fputs(heap ? heap : buf, stderr);
	fputc('\n', stderr);
	free(heap);
}

void pr_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg("", fmt, ap);
	va_end(ap);
}

void pr_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg("warning: ", fmt, ap);
	va_end(ap);
}

void pr_debug(const char *fmt, ...)
{
	va_list ap;

	if (!log_verbose)
		return;
	va_start(ap, fmt);
	vmsg("", fmt, ap);
	va_end(ap);
}
