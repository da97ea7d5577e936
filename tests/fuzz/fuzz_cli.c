// SPDX-License-Identifier: BSD-2-Clause
/*
 * The command line: the input is split at NUL bytes into argv and handed to
 * pyspy-bpf's own main(), with the commands replaced by stubs that check
 * what parsing produced instead of profiling.
 * fuzz-sources: user/upload.c user/log.c user/aggregate.c user/hashmap.c
 *               user/json.c user/out_common.c user/out_raw.c
 *               user/out_flamegraph.c user/out_speedscope.c
 *               user/out_chrometrace.c user/out_pprof.c user/output.c
 *               user/protobuf.c user/textesc.c user/utf8.c user/capture.c
 *               user/help.c user/completions.c
 * fuzz-libs: -lz -lm -lcurl -lpthread -lbpf -lelf
 *
 * Checked: main returns one of the documented exit statuses; a command is
 * reached only with options inside their documented ranges (rate 1-10000,
 * at most 64 pids, positive durations and intervals, --keep only with
 * --interval, dump of a pid or of a core file but not both, upload names
 * and labels that pass the uploader's checks).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "dump.h"
#include "record.h"
#include "upload.h"

/* main.c's messages go to /dev/null: libFuzzer keeps the real stderr. */
static FILE *fuzz_null;
#undef stdout
#undef stderr
#define stdout fuzz_null
#define stderr fuzz_null
#define main pyspy_main
#include "../../user/main.c"
#undef main
#undef stdout
#undef stderr
#define stdout stdout
#define stderr stderr

int cmd_record(struct record_opts *o)
{
	if (o->rate < 1 || o->rate > MAX_RATE || o->npids < 0 || o->npids > MAX_PIDS ||
	    o->duration < 0 || o->interval < 0 || (o->keep && !o->interval) ||
	    o->ntags > MAX_TAGS || (o->command && o->npids) ||
	    (o->native && o->async_tasks) || (o->app_name && upload__check_name(o->app_name)))
		abort();
	for (int i = 0; i < o->npids; i++)
		if (o->pids[i] <= 0)
			abort();
	for (unsigned int i = 0; i < o->ntags; i++)
		if (upload__check_label(o->tags[i]))
			abort();
	if (o->top && (o->delay < 0.05 || o->delay > 3600))
		abort();
	return EXIT_OK;
}

int cmd_dump(const struct dump_opts *o)
{
	/* Either a live process or a core file, never both. */
	if (o->core ? o->pid || o->subprocesses || o->native || o->async_tasks : o->pid <= 0)
		abort();
	if (o->native && o->async_tasks)
		abort();
	return EXIT_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 1), *argv[66];
	int argc = 1, rc;
	size_t i, start = 0;

	if (!buf)
		abort();
	memcpy(buf, data, size);
	buf[size] = 0;
	argv[0] = "pyspy-bpf";
	for (i = 0; i <= size && argc < 65; i++) {
		if (buf[i])
			continue;
		argv[argc++] = buf + start;
		start = i + 1;
	}
	argv[argc] = NULL;
	optind = 0;	/* glibc: a full reset of getopt's state */
	rc = pyspy_main(argc, argv);
	if (rc < EXIT_OK || rc > EXIT_KERNEL)
		abort();
	free(buf);
	return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_null = fopen("/dev/null", "w");
	if (!fuzz_null)
		abort();
	return 0;
}
