// SPDX-License-Identifier: BSD-2-Clause
/*
 * A capture file (PYSPY_BPF_REPLAY), inflated: the loader's checks, then
 * every way a replay asks it questions.
 * fuzz-sources: user/capture.c user/hashmap.c user/log.c user/textesc.c
 *               user/utf8.c
 * fuzz-libs: -lz
 * fuzz-max-len: 65536
 *
 * Input: the bytes after gzip, as capture__load_mem() takes them ("PYSPYCAP",
 * version, entries). Checked: a refusal says why; an accepted file's
 * records are inside it and non-empty, the stream ends, and reads, facts
 * and process findings asked with the header's pids and with keys taken
 * from the input stay inside their buffers (ASan) and give errnos in range.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "capture.h"
#include "pyelf.h"

static size_t in_size;

static int on_record(void *ctx, const void *data, size_t size)
{
	size_t *n = ctx;

	(void)data;
	if (!size || size > in_size)
		abort();
	(*n)++;
	return 0;
}

static void ask(pid_t pid, uint64_t addr, uint32_t len, uint32_t sub)
{
	char why[64], module[32], str[16];
	uint8_t buf[64];
	struct py_elf elf;
	uint64_t bias;
	int64_t v;
	int err;

	err = capture__replay_read(pid, addr, buf, len % sizeof(buf) + 1);
	if (err > 0 || err < -4095)
		abort();
	for (int k = 0; k < CF__MAX; k++)
		(void)capture__replay_fact(k, pid, sub, &v, str, sizeof(str));
	err = capture__replay_proc(pid, why, sizeof(why), module, sizeof(module), &elf, &bias);
	if (err > 0 || err < -4095 || strnlen(why, sizeof(why)) == sizeof(why) ||
	    strnlen(module, sizeof(module)) == sizeof(module) || elf.nversions > 8)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char why[256] = "";
	size_t records = 0, steps = 0;
	uint64_t a = 0;
	uint32_t b = 0;

	in_size = size;
	if (capture__load_mem(data, size, why, sizeof(why))) {
		if (!why[0])
			abort();
		return 0;
	}
	while (capture__next_step() != CS_END && steps++ < 1000000)
		capture__replay_step(on_record, &records);
	capture__replay_step(on_record, &records);
	(void)capture__mono();
	if (size >= 12) {
		memcpy(&a, data + size - 12, 8);
		memcpy(&b, data + size - 4, 4);
	}
	ask(1, a, b, b);
	ask((pid_t)b, a, b & 63, 0);
	ask((pid_t)(a >> 32), a, 8, b);
	capture__end(false);
	return 0;
}
