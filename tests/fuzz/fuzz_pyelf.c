// SPDX-License-Identifier: BSD-2-Clause
/*
 * py_elf__read() on malformed ELF files, the way the collector opens them:
 * an fd (here a memfd holding the input) that libelf maps.
 * fuzz-sources: user/pyelf.c
 * fuzz-libs: -lelf
 *
 * Checked: the result is 0, -ENOENT or -ENOEXEC / -EINVAL; at most 8
 * version strings, each a plausible X.Y.Z; a found interpreter has a
 * symbol. py_version__parse() gets the input as a string too.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "pyelf.h"

static int memfd = -1;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct py_elf elf;
	unsigned int a, b, c, i;
	char *s;
	int err;

	if (memfd < 0) {
		memfd = memfd_create("fuzz_pyelf", MFD_CLOEXEC);
		if (memfd < 0)
			abort();
	}
	if (ftruncate(memfd, 0) || pwrite(memfd, data, size, 0) != (ssize_t)size ||
	    lseek(memfd, 0, SEEK_SET))
		abort();
	err = py_elf__read(memfd, &elf);
	if (err && err != -ENOENT && err != -ENOEXEC && err != -EINVAL)
		abort();
	if (!err && !elf.runtime && !elf.interp_head && !elf.tstate_current)
		abort();
	if (elf.nversions > 8)
		abort();
	for (i = 0; i < elf.nversions; i++)
		if (elf.versions[i].major < 2 || elf.versions[i].major > 3 ||
		    elf.versions[i].minor > 999 || elf.versions[i].micro > 999)
			abort();

	s = malloc(size + 1);
	if (!s)
		abort();
	memcpy(s, data, size);
	s[size] = 0;
	if (!py_version__parse(s, &a, &b, &c) && (a < 2 || a > 3 || b > 999 || c > 999))
		abort();
	free(s);
	return 0;
}
