// SPDX-License-Identifier: BSD-2-Clause
/*
 * A sample's way through userspace: the ring-buffer record decoder, then
 * symbolization of its frames against a hostile target's memory (a fake
 * target: code objects, strings and line tables in this process, read
 * through /proc/PID/mem like a real one), then aggregation.
 * fuzz-sources: user/sampler.c user/capture.c user/log.c user/stack.c user/symcache.c
 *               user/aggregate.c user/hashmap.c user/linetable.c user/pystr.c
 *               user/paths.c user/procfs.c user/remote.c user/offsets.c user/offsets_gen.c
 *               user/textesc.c user/kfeatures.c user/uwalk.c user/utf8.c
 * fuzz-libs: -lbpf -lelf -lz
 * fuzz-max-len: 16384
 *
 * Input: layout (1 byte: an entry of the offsets table, 2.7 to 3.15),
 * flags (1), frame count (1), then 6 bytes per frame (code offset in the
 * fake memory, 2; instruction offset, 4), then the fake memory itself. In
 * the memory, every aligned 8-byte word whose top 16 bits are 0xfeed is a
 * pointer into it (low 16 bits the offset), so inputs can link objects.
 * The whole input is also given to the decoder as a raw record.
 *
 * With FUZZ_RECORD_SEEDS=DIR in the environment the binary writes one seed
 * per layout into DIR and exits (tests/fuzz/gen_corpus.py runs it).
 */
#include <errno.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "aggregate.h"
#include "fake_target.h"
#include "pyproc.h"
#include "sampler.h"
#include "stack.h"

#define MEM 0x10000
#define TAG 0xfeedULL

/* The fake memory, then slack so that reads running off its end stay in
 * mapped memory some of the time and fault the rest. */
static uint8_t mem[MEM + 4096] __attribute__((aligned(4096)));

static void decode_raw(const uint8_t *data, size_t size)
{
	const struct py_stack_hdr *h;
	const struct py_frame_rec *f;
	uint8_t *copy = malloc(size ? size : 1);
	uint64_t sum = 0;

	if (!copy)
		abort();
	memcpy(copy, data, size);
	if (!record__decode_stack(copy, size, &h, &f)) {
		if (size < sizeof(*h) + (size_t)h->nframes * sizeof(*f) ||
		    h->nframes > PY_MAX_FRAMES || h->kind != PY_REC_STACK)
			abort();
		for (uint32_t i = 0; i < h->nframes; i++)
			sum += f[i].code + f[i].lasti + f[i].check;
	}
	free(copy);
	(void)sum;
}

static uint64_t ld(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static uint32_t check_of(const struct py_offsets *off, uint64_t code)
{
	uint64_t at = code - (uintptr_t)mem;
	uint32_t first, argc;

	if (code < (uintptr_t)mem || at + 256 > sizeof(mem))
		return 0;
	memcpy(&first, mem + at + off->code_firstlineno, 4);
	memcpy(&argc, mem + at + off->code_argcount, 4);
	return py_code_check(ld(mem + at + off->code_name), fake_code_ident(off, mem + at),
			     ld(mem + at + off->code_filename), first, argc);
}

/* ---- seeds: one well-formed code object per layout ---- */

#define S_CODE 0x100
#define S_NAME 0x400
#define S_FILE 0x600
#define S_LT 0x800
#define S_END 0x900

static void put_tag(uint8_t *img, size_t at, uint64_t target)
{
	put64(img, at, TAG << 48 | target);
}

static void write_seed(const char *dir, size_t idx)
{
	static const uint8_t lnotab[] = { 2, 1, 4, 1 }, lt310[] = { 2, 0, 4, 1 },
			     locs[] = { 0xe8, 0x02, 0xe8, 0x02 };
	const struct py_offsets_entry *e = &py_offsets_table[idx];
	uint8_t buf[3 + 3 * 6 + S_END] = { 0 }, *img = buf + 3 + 3 * 6;
	const uint8_t *lt = e->minor >= 11 || e->major > 3 ? locs : e->minor == 10 ? lt310 : lnotab;
	struct str_layout sl;
	char path[4096];
	FILE *f;

	buf[0] = (uint8_t)idx;
	buf[1] = 0x10 | PY_S_ACTIVE;
	buf[2] = 3;
	/* frames: the code object at two offsets, then an unreadable one */
	buf[3] = S_CODE & 0xff, buf[4] = S_CODE >> 8;
	buf[9] = S_CODE & 0xff, buf[10] = S_CODE >> 8, buf[11] = 4;
	buf[15] = 0xff, buf[16] = 0xff;
	fake_str_layout(&sl, &e->obj, e->major);
	fake_ascii_str(img + S_NAME, &sl, "work");
	fake_ascii_str(img + S_FILE, &sl, "/srv/app/work.py");
	fake_bytes(img + S_LT, &sl, lt, sizeof(lnotab));
	put_tag(img, S_CODE + e->off.code_name, S_NAME);
	put_tag(img, S_CODE + e->off.code_filename, S_FILE);
	put_tag(img, S_CODE + e->off.code_linetable, S_LT);
	put32(img, S_CODE + e->off.code_firstlineno, 10);
	put32(img, S_CODE + e->off.code_argcount, 1);
	snprintf(path, sizeof(path), "%s/seed-%u.%u.%u", dir, e->major, e->minor, e->min_micro);
	f = fopen(path, "wb");
	if (!f || fwrite(buf, 1, sizeof(buf), f) != sizeof(buf) || fclose(f))
		abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *dir = getenv("FUZZ_RECORD_SEEDS");

	if (!dir)
		return 0;
	for (size_t i = 0; i < py_offsets_table_len && i < 256; i++)
		write_seed(dir, i);
	exit(0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct frame *frames[STACK_MAX];
	const struct py_offsets_entry *ent;
	struct py_stack_rec *rec;
	struct py_process proc;
	struct symbolize_stats st = { 0 };
	struct stack_trace trace = { 0 };
	const struct py_stack_hdr *h;
	const struct py_frame_rec *frs;
	struct agg *a;
	unsigned int nfr, n, i;
	size_t at, memlen;
	uint8_t flags;

	decode_raw(data, size);
	if (size < 3)
		return 0;
	ent = &py_offsets_table[data[0] % py_offsets_table_len];
	flags = data[1];
	nfr = data[2];
	at = 3;
	if (size - at < nfr * 6u)
		return 0;

	rec = calloc(1, sizeof(struct py_stack_hdr) + nfr * sizeof(struct py_frame_rec));
	if (!rec)
		abort();
	memlen = size - at - nfr * 6u;
	if (memlen > MEM)
		memlen = MEM;
	memset(mem, 0, sizeof(mem));
	memcpy(mem, data + at + nfr * 6u, memlen);
	for (size_t w = 0; w + 8 <= MEM; w += 8) {
		uint64_t v = ld(mem + w);

		if (v >> 48 == TAG) {
			v = (uintptr_t)mem + (v & 0xffff);
			memcpy(mem + w, &v, 8);
		}
	}
	rec->hdr.kind = PY_REC_STACK;
	rec->hdr.pid = getpid();
	rec->hdr.tid = getpid();
	rec->hdr.status = flags & (PY_S_TRUNCATED | PY_S_READ_ERR | PY_S_GIL | PY_S_ACTIVE);
	rec->hdr.nframes = nfr;
	for (i = 0; i < nfr; i++) {
		const uint8_t *p = data + at + 6 * i;
		uint16_t off = p[0] | p[1] << 8;

		rec->frames[i].code = off == 0xffff ? 0 : (uintptr_t)mem + off;
		rec->frames[i].lasti = p[2] | p[3] << 8 | p[4] << 16 | (uint32_t)p[5] << 24;
		/* flag 0x10: the check the BPF side would compute; else stale */
		rec->frames[i].check = flags & 0x10 ? check_of(&ent->off, rec->frames[i].code)
						    : rec->frames[i].lasti;
	}
	if (record__decode_stack(rec, sizeof(rec->hdr) + nfr * sizeof(rec->frames[0]), &h, &frs))
		abort();

	memset(&proc, 0, sizeof(proc));
	proc.pid = getpid();
	proc.major = ent->major;
	proc.minor = ent->minor;
	proc.bpf.off = ent->off;
	fake_str_layout(&proc.strings, &ent->obj, ent->major);
	proc.syms = symcache__new(proc.pid, &proc.bpf.off, &proc.strings);
	a = agg__new();
	if (!proc.syms || !a)
		abort();
	n = stack__symbolize(a, &proc, h, frs, flags & 0x20, frames, &st);
	if (n > nfr + 2 || st.unknown_frames > nfr || st.stale_frames > st.unknown_frames)
		abort();
	for (i = 0; i < n; i++)
		if (!frames[i] || !frames[i]->name || !frames[i]->filename)
			abort();
	trace.pid = proc.pid;
	trace.thread_name = "fuzz";
	trace.cmdline = "fuzz";
	trace.frames = frames;
	trace.nframes = n;
	if (agg__add(a, &trace, 1, 0))
		abort();
	agg__free(a);
	symcache__free(proc.syms);
	free(rec);
	return 0;
}
