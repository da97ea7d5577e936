// SPDX-License-Identifier: BSD-2-Clause
/*
 * The core dump parser (user/coredump.c) on hostile cores: the input is the
 * core file. Parsed, then every thread and mapping looked at, reads of the
 * memory at each mapping's start and end, at each thread's thread pointer
 * and at addresses the input names, and each mapping's file checked against
 * a file holding the input itself (the mapped files are never opened).
 * fuzz-sources: user/coredump.c
 * fuzz-max-len: 16384
 *
 * Checked: a parse succeeds or fails with a reason; a parsed core has
 * threads, a pid > 0, mappings with start < end and a terminated path; a
 * read returns 0 or -EFAULT and never writes past its buffer.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "coredump.h"

struct mem {
	const uint8_t *data;
	size_t size;
};

static int read_mem(void *ctx, uint64_t off, void *buf, size_t len)
{
	const struct mem *m = ctx;

	if (off > m->size || len > m->size - off)
		return -EIO;
	memcpy(buf, m->data + off, len);
	return 0;
}

static void try_read(struct core *c, uint64_t addr, size_t len)
{
	uint8_t buf[80];
	int err;

	memset(buf, 0xa5, sizeof(buf));
	err = core__read(c, addr, buf, len);
	if (err && err != -EFAULT)
		abort();
	for (size_t i = len; i < sizeof(buf); i++)
		if (buf[i] != 0xa5)
			abort();
}

static void look(struct core *c, const uint8_t *data, size_t size, int fd)
{
	size_t i;

	if (core__pid(c) <= 0 || !core__nthreads(c) || strlen(core__cmdline(c)) >= CORE_CMDLINE_MAX ||
	    strlen(core__comm(c)) > 16)
		abort();
	for (i = 0; i < core__nthreads(c); i++)
		try_read(c, core__thread(c, i)->fs_base, 16);
	for (i = 0; i < core__nmappings(c); i++) {
		const struct core_mapping *m = core__mapping(c, i);

		if (m->start >= m->end || strlen(m->path) > size)
			abort();
		try_read(c, m->start, 64);
		try_read(c, m->end - 8, 8);
		try_read(c, m->end - 4, 64);
		if (i < 8) {
			int err = core__check_file(c, m, fd);

			if (err && err != -ENOENT && err != -ESTALE && err != -EIO)
				abort();
		}
	}
	/* Addresses the input names: its last 8-byte words. */
	for (i = 0; i + 8 <= size && i < 64; i += 8) {
		uint64_t a;

		memcpy(&a, data + size - 8 - i, sizeof(a));
		try_read(c, a, 1 + i);
	}
	core__exe(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mem m = { data, size };
	struct core *c = NULL;
	char why[256];
	int err, fd;

	err = core__parse(read_mem, &m, size, &c, why, sizeof(why));
	if (err) {
		if (c || !why[0])
			abort();
		return 0;
	}
	core__no_files(c);
	fd = memfd_create("core", MFD_CLOEXEC);
	if (fd < 0 || write(fd, data, size) != (ssize_t)size)
		abort();
	look(c, data, size, fd);
	close(fd);
	core__free(c);
	return 0;
}
