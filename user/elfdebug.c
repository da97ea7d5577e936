// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <lzma.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <zlib.h>
#include "elfdebug.h"

#define DEBUG_DIR "/usr/lib/debug"

static bool is_host_root(const char *root)
{
	return !root || !*root || !strcmp(root, "/");
}

int open_in_root(const char *root, const char *path)
{
	int flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK;
	struct open_how how = {
		.flags = (uint64_t)flags,
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	char full[PATH_MAX];
	int dirfd, fd;

	if (is_host_root(root)) {
		fd = open(path, flags);
		return fd < 0 ? -errno : fd;
	}
	dirfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return -errno;
	fd = (int)syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
	if (fd < 0)
		fd = -errno;
	close(dirfd);
	if (fd != -ENOSYS && fd != -EPERM)
		return fd;
	/* kernels before 5.6, or a seccomp filter that refuses openat2: the
	 * path joined, where an absolute symlink may leave root */
	if ((size_t)snprintf(full, sizeof(full), "%s/%s", root, path) >= sizeof(full))
		return -ENAMETOOLONG;
	fd = open(full, flags);
	return fd < 0 ? -errno : fd;
}

/* The file's CRC32 (.gnu_debuglink's), read from fd in pieces; ~0 (which
 * no debuglink of a readable file can match in practice) when unreadable. */
static uint32_t file_crc(int fd, bool *ok)
{
	static uint8_t buf[1 << 16];
	uLong crc = crc32(0, Z_NULL, 0);
	off_t off = 0;
	ssize_t r;

	while ((r = pread(fd, buf, sizeof(buf), off)) > 0) {
		crc = crc32(crc, buf, (uInt)r);
		off += r;
	}
	*ok = r == 0;
	return (uint32_t)crc;
}

/* The ELF at path under root; with want_crc, its CRC32 in *crc too (the
 * image holds only what elffile reads of it). */
static int open_elf_in_root(const char *root, const char *path, struct elffile **out,
			    uint32_t *crc)
{
	int fd = open_in_root(root, path), err;
	bool ok = true;

	*out = NULL;
	if (fd < 0)
		return fd;
	err = elffile__open_fd(fd, out);
	if (!err && crc) {
		*crc = file_crc(fd, &ok);
		if (!ok) {
			elffile__free(*out);
			*out = NULL;
			err = -EIO;
		}
	}
	close(fd);
	return err;
}

static bool same_build_id(const struct elffile *a, const struct elffile *b, bool both_needed)
{
	uint8_t ida[ELFFILE_BUILD_ID_MAX], idb[ELFFILE_BUILD_ID_MAX];
	size_t na = elffile__build_id(a, ida), nb = elffile__build_id(b, idb);

	if (!na || !nb)
		return !both_needed;
	return na == nb && !memcmp(ida, idb, na);
}

static int by_build_id(const struct elffile *ef, const char *root, struct elffile **out)
{
	uint8_t id[ELFFILE_BUILD_ID_MAX];
	size_t n = elffile__build_id(ef, id);
	char path[sizeof(DEBUG_DIR) + 32 + 2 * ELFFILE_BUILD_ID_MAX];
	size_t len;
	int err;

	if (n < 2)
		return -ENOENT;
	len = (size_t)snprintf(path, sizeof(path), DEBUG_DIR "/.build-id/%02x/", id[0]);
	for (size_t i = 1; i < n; i++)
		len += (size_t)snprintf(path + len, sizeof(path) - len, "%02x", id[i]);
	snprintf(path + len, sizeof(path) - len, ".debug");
	err = open_elf_in_root(root, path, out, NULL);
	if (err)
		return err;
	if (!same_build_id(ef, *out, true)) {
		elffile__free(*out);
		*out = NULL;
		return -ENOENT;
	}
	return 0;
}

static int by_debuglink(const struct elffile *ef, const char *root, const char *path,
			struct elffile **out)
{
	static const char *const forms[] = { "%.*s/%s", "%.*s/.debug/%s", DEBUG_DIR "%.*s/%s" };
	const char *name, *slash;
	char cand[PATH_MAX];
	uint32_t crc, got;
	int dirlen;

	if (!path || path[0] != '/' || elffile__debuglink(ef, &name, &crc))
		return -ENOENT;
	if (strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, ".."))
		return -ENOENT;
	slash = strrchr(path, '/');
	if (slash - path > PATH_MAX)
		return -ENOENT;
	dirlen = (int)(slash - path);
	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		if ((size_t)snprintf(cand, sizeof(cand), forms[i], dirlen, path, name) >= sizeof(cand))
			continue;
		if (open_elf_in_root(root, cand, out, &got))
			continue;
		if (got == crc && same_build_id(ef, *out, false))
			return 0;
		elffile__free(*out);
		*out = NULL;
	}
	return -ENOENT;
}

int elfdebug__find(const struct elffile *ef, const char *root, const char *path,
		   struct elffile **out, enum elfdebug_how *how)
{
	*out = NULL;
	if (!by_build_id(ef, root, out)) {
		*how = ELFDEBUG_BUILD_ID;
		return 0;
	}
	if (!by_debuglink(ef, root, path, out)) {
		*how = ELFDEBUG_DEBUGLINK;
		return 0;
	}
	return -ENOENT;
}

/* Decompresses one xz stream of at most MINIDEBUG_MAX bytes. */
static int unxz(const uint8_t *in, size_t insize, uint8_t **out, size_t *outsize)
{
	lzma_stream strm = LZMA_STREAM_INIT;
	uint8_t *buf = NULL, *grown;
	size_t cap = 0;
	lzma_ret ret;
	int err;

	*out = NULL;
	if (lzma_stream_decoder(&strm, MINIDEBUG_MEMLIMIT, 0) != LZMA_OK)
		return -ENOMEM;
	strm.next_in = in;
	strm.avail_in = insize;
	for (;;) {
		if (!strm.avail_out) {
			size_t want = cap ? cap * 2 : 64u << 10;

			err = -EFBIG;
			if (cap >= MINIDEBUG_MAX)
				goto cleanup;
			if (want > MINIDEBUG_MAX)
				want = MINIDEBUG_MAX;
			err = -ENOMEM;
			grown = realloc(buf, want);
			if (!grown)
				goto cleanup;
			buf = grown;
			strm.next_out = buf + cap;
			strm.avail_out = want - cap;
			cap = want;
		}
		ret = lzma_code(&strm, LZMA_FINISH);
		if (ret == LZMA_STREAM_END)
			break;
		err = ret == LZMA_MEMLIMIT_ERROR ? -EFBIG : ret == LZMA_MEM_ERROR ? -ENOMEM : -EINVAL;
		if (ret != LZMA_OK)
			goto cleanup;
	}
	*out = buf;
	*outsize = (size_t)strm.total_out;
	buf = NULL;
	err = 0;
cleanup:
	lzma_end(&strm);
	free(buf);
	return err;
}

int elfdebug__minidebuginfo(const struct elffile *ef, struct elffile **out)
{
	struct elf_section s;
	const void *data;
	uint8_t *elf;
	size_t size, elfsize;
	int err;

	*out = NULL;
	if (elffile__find_section(ef, ".gnu_debugdata", &s) ||
	    !(data = elffile__section_data(ef, &s, &size)))
		return -ENOENT;
	err = unxz(data, size, &elf, &elfsize);
	if (err)
		return err;
	return elffile__from_mem(elf, elfsize, true, out);
}
