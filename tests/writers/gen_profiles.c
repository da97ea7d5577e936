// SPDX-License-Identifier: BSD-2-Clause
/*
 * Writes one synthetic profile in every format, for the consumer checks
 * without root or a live interpreter. Its shape, stated so checks can assert
 * it: two processes, three threads; about 80% of samples in hot_loop
 * (lines 10-13) under main; a recursion 60 deep; thousands of distinct
 * one-sample stacks (cold_N) to exercise pruning; native frames, markers,
 * and names with markup, quotes, ';', control bytes and invalid UTF-8.
 *
 * usage: gen_profiles DIR [SAMPLES]
 * writes DIR/profile.{txt,svg,speedscope.json,chrometrace.json,pb.gz}
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "output.h"
#include "rng.h"

#define RATE 100
#define PERIOD_NS 10000000ULL
#define START_MONO 5000000000ULL

static uint64_t rng = 88172645463325252ULL;

static uint32_t next_rand(void)
{
	return xorshift64(&rng) >> 32;
}

struct thread {
	int pid, tid;
	uint64_t pthread;
	const char *name, *cmdline;
	uint64_t ts;
};

static int add(struct agg *a, struct thread *t, const struct frame **fr, unsigned int n)
{
	struct stack_trace st = {
		.pid = t->pid,
		.thread_id = t->pthread,
		.thread_name = t->name,
		.os_thread_id = t->tid,
		.active = true,
		.owns_gil = true,
		.frames = fr,
		.nframes = n,
		.cmdline = t->cmdline,
	};

	/* Jitter like real sampling; never backwards within a thread. */
	t->ts += PERIOD_NS - 500000 + next_rand() % 1000000;
	return agg__add(a, &st, 1, t->ts);
}

#define F(name, file, line, kind) agg__frame(a, name, "/srv/app/" file, file, line, kind)

static int fill(struct agg *a, unsigned long samples)
{
	struct thread threads[] = {
		{ 4242, 4242, 0x7f10000001, "MainThread",
		  "python3 app.py --name \"<x>\" & y; z", START_MONO },
		{ 4242, 4250, 0x7f10000002, "worker <1> & \"q\"",
		  "python3 app.py --name \"<x>\" & y; z", START_MONO },
		{ 4343, 4343, 0x7f20000001, "MainThread", "python3 other.py \xff", START_MONO },
	};
	const struct frame *module = F("<module>", "app.py", 40, FRAME_PYTHON);
	const struct frame *main_ = F("main", "app.py", 30, FRAME_PYTHON);
	const struct frame *hot[4], *fr[80];
	const struct frame *eval = agg__frame(a, "_PyEval_EvalFrameDefault", "libpython3.12.so",
					      "libpython3.12.so", 0, FRAME_NATIVE);
	const struct frame *markup = F("a<b>&\"c'd", "odd;dir/x.py", 3, FRAME_PYTHON);
	const struct frame *bad = F("bad\xff\xfe name \x01\x1b[0m", "b.py", 4, FRAME_PYTHON);
	const struct frame *unicode = F("f\xc3\xbcnf \xe2\x98\x83 \xf0\x9f\x90\x8d", "u.py", 5,
					FRAME_PYTHON);
	const struct frame *unknown = agg__frame(a, "<unknown>", "", "", 0, FRAME_MARKER);
	const struct frame *recurse = F("recurse", "rec.py", 7, FRAME_PYTHON);
	const struct frame *worker = F("worker_loop", "work.py", 12, FRAME_PYTHON);
	const struct frame *other = F("other_main", "other.py", 2, FRAME_PYTHON);
	char name[32];
	int err = 0;

	for (int i = 0; i < 4; i++)
		hot[i] = F("hot_loop", "app.py", 10 + i, FRAME_PYTHON);
	for (unsigned long s = 0; s < samples && !err; s++) {
		uint32_t r = next_rand() % 1000;
		unsigned int n = 0, depth;
		struct thread *t = &threads[s % 5 < 3 ? 0 : s % 5 == 3 ? 1 : 2];

		/* Frames innermost first. */
		if (t == &threads[2]) {
			fr[n++] = other;
			fr[n++] = module;
		} else if (t == &threads[1]) {
			fr[n++] = r < 900 ? hot[r % 4] : worker;
			fr[n++] = worker;
		} else if (r < 840) {
			fr[n++] = hot[r % 4];
			fr[n++] = main_;
			fr[n++] = module;
		} else if (r < 940) {
			snprintf(name, sizeof(name), "cold_%u", next_rand() % 100000);
			fr[n++] = F(name, "cold.py", 1 + next_rand() % 50, FRAME_PYTHON);
			fr[n++] = main_;
			fr[n++] = module;
		} else if (r < 960) {
			depth = 60;
			fr[n++] = hot[0];
			while (n < depth)
				fr[n++] = recurse;
			fr[n++] = main_;
			fr[n++] = module;
		} else if (r < 975) {
			fr[n++] = eval;
			fr[n++] = markup;
			fr[n++] = main_;
			fr[n++] = module;
		} else if (r < 985) {
			fr[n++] = bad;
			fr[n++] = unicode;
			fr[n++] = module;
		} else {
			fr[n++] = unknown;
		}
		for (unsigned int i = 0; i < n; i++)
			if (!fr[i])
				return -ENOMEM;
		err = add(a, t, fr, n);
	}
	return err;
}

static int write_one(const char *dir, const char *file, enum output_format fmt,
		     const struct agg *a, struct output_opts *o)
{
	char path[4096];
	FILE *f;
	int err;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	f = fopen(path, "w");
	if (!f)
		return -errno;
	o->format = fmt;
	err = output__write(f, a, o);
	if (fclose(f) && !err)
		err = -errno;
	if (err)
		fprintf(stderr, "gen_profiles: cannot write '%s': %s\n", path, strerror(-err));
	return err;
}

int main(int argc, char **argv)
{
	struct output_opts o = {
		.command = "pyspy-bpf record -o <synthetic> & \"quoted\"",
		.rate = RATE,
		.start_unix_ns = 1700000000000000000ULL,
		.start_mono_ns = START_MONO,
		.threads = true,
		.process_roots = true,
	};
	unsigned long samples = 30000;
	struct agg *a;
	int err;

	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: gen_profiles DIR [SAMPLES]\n");
		return 2;
	}
	if (argc == 3) {
		char *end;

		errno = 0;
		samples = strtoul(argv[2], &end, 10);
		if (errno || *end || !samples || samples > 100000000) {
			fprintf(stderr, "gen_profiles: bad sample count '%s'\n", argv[2]);
			return 2;
		}
	}
	a = agg__new();
	if (!a)
		return 1;
	agg__keep_timeline(a);
	err = fill(a, samples);
	/* Three threads share the samples: each ran a third of the time. */
	o.duration_s = samples / 3.0 / RATE;
	if (!err)
		err = write_one(argv[1], "profile.txt", FMT_RAW, a, &o);
	if (!err)
		err = write_one(argv[1], "profile.svg", FMT_FLAMEGRAPH, a, &o);
	if (!err)
		err = write_one(argv[1], "profile.speedscope.json", FMT_SPEEDSCOPE, a, &o);
	if (!err)
		err = write_one(argv[1], "profile.chrometrace.json", FMT_CHROMETRACE, a, &o);
	if (!err)
		err = write_one(argv[1], "profile.pb.gz", FMT_PPROF, a, &o);
	if (!err)
		printf("gen_profiles: %lu samples, %zu distinct stacks in %s\n", samples,
		       agg__stacks(a), argv[1]);
	agg__free(a);
	return err ? 1 : 0;
}
