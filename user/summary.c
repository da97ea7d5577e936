// SPDX-License-Identifier: BSD-2-Clause
/* What a recording says on stderr: the live line on a terminal, and the
 * summary of the profile written. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include "record_int.h"

/* One line, redrawn in place, while recording on a terminal. */
void summary__live(struct collector *c, uint64_t elapsed_ns, bool done)
{
	uint64_t k[PY_C__MAX] = { 0 }, lost;

	if (done) {
		fputs("\r\033[K", stderr);
		return;
	}
	sampler__counters(c->sampler, k);
	lost = k[PY_C_RB_FULL] + c->drops[D_UNKNOWN_PROC] + c->drops[D_MALFORMED];
	fprintf(stderr, "\r\033[Kpyspy-bpf: %.0fs  %" PRIu64 " samples  %u processes  %" PRIu64 " lost",
		elapsed_ns / 1e9, c->written, (unsigned int)hashmap__size(c->procs), lost);
}

static const char *open_hint(enum output_format f)
{
	switch (f) {
	case FMT_FLAMEGRAPH:
		return "open it in a web browser";
	case FMT_SPEEDSCOPE:
		return "open it in speedscope";
	case FMT_CHROMETRACE:
		return "open it in Perfetto or chrome://tracing";
	case FMT_PPROF:
		return "open it with 'go tool pprof -http=: FILE'";
	default:
		return "feed it to flamegraph.pl or inferno";
	}
}

/* --native: how the C stacks ended, and what could not be named. */
static void native_summary(const struct native *nt)
{
	static const char *const ends[PY_NE__MAX] = {
		[PY_NE_TRUNCATED] = "too deep",
		[PY_NE_NO_MAPPING] = "address in no file (JIT, vdso, new library)",
		[PY_NE_NO_CFI] = "no unwind info",
		[PY_NE_UNSUPPORTED] = "unwind rule not supported",
		[PY_NE_READ] = "stack unreadable",
		[PY_NE_BAD_FRAME] = "bad frame",
		[PY_NE_NO_REGS] = "no registers",
	};
	const struct native_stats *st = native__stats(nt);
	char buf[512];
	size_t n = 0;

	for (int i = 1; i < PY_NE__MAX; i++)
		if (st->end[i] && n < sizeof(buf))
			n += snprintf(buf + n, sizeof(buf) - n, "%s%" PRIu64 " %s", n ? ", " : "",
				      st->end[i], ends[i]);
	fprintf(stderr, "pyspy-bpf: native stacks: %" PRIu64 " whole, cut short: %s; "
		"frames without a symbol: %" PRIu64 "; files: %" PRIu64 " (%" PRIu64
		" without unwind info)\n", st->end[PY_NE_ROOT], n ? buf : "none", st->unnamed,
		st->files, st->files_no_cfi + st->files_table_full);
}

/* Stacks the walk found damaged in the target's memory, each shown with
 * its marker: a cycle or a frame that is its own caller ends the stack, a
 * frame whose code is no code object stands in place. */
static void damaged_summary(const uint64_t *k)
{
	if (!k[PY_C_CYCLE] && !k[PY_C_CORRUPT] && !k[PY_C_NOT_CODE])
		return;
	fprintf(stderr, "pyspy-bpf: damaged stacks, marked: %" PRIu64 " <cycle>, %" PRIu64
		" <corrupt frame>, %" PRIu64 " <not code> (frames)\n", k[PY_C_CYCLE],
		k[PY_C_CORRUPT], k[PY_C_NOT_CODE]);
}

void summary__print(struct collector *c, const char *path, const uint64_t *k)
{
	static const struct {
		int idx;
		bool bpf;
		const char *what;
	} reasons[] = {
		{ PY_C_RB_FULL, true, "ring buffer full" },
		{ PY_C_NO_TSTATE, true, "thread without Python state" },
		{ PY_C_NO_INTERP, true, "interpreter not initialised" },
		{ D_UNKNOWN_PROC, false, "process not known yet" },
		{ D_GIL_FILTERED, false, "not holding the GIL (--gil)" },
		{ D_MALFORMED, false, "malformed record" },
		{ D_EMPTY, false, "no Python frame" },
	};
	char buf[1024], lost[96] = "", unreadable[64] = "";
	size_t n = 0;

	/* Exits lost are caught by the sweep; a lost exec or fork can cost a
	 * process until the next scan: say so. */
	if (c->sym.unreadable_names)
		snprintf(unreadable, sizeof(unreadable), ", unreadable names: %" PRIu64,
			 c->sym.unreadable_names);
	if (k[PY_C_EVENTS_LOST])
		snprintf(lost, sizeof(lost), "; process events lost: %" PRIu64 " (ring buffer full)",
			 k[PY_C_EVENTS_LOST]);
	for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++) {
		uint64_t v = reasons[i].bpf ? k[reasons[i].idx] : c->drops[reasons[i].idx];

		if (v)
			n += snprintf(buf + n, sizeof(buf) - n, "%s%" PRIu64 " %s", n ? ", " : "",
				      v, reasons[i].what);
	}
	if (!n)
		snprintf(buf, sizeof(buf), "none");
	fprintf(stderr,
		"pyspy-bpf: wrote %s profile to '%s': %" PRIu64 " samples, %" PRIu64
		" processes, %zu distinct stacks; not in output: %s; truncated stacks: %" PRIu64
		", unknown frames: %" PRIu64 "%s%s\n",
		output__name(c->o->out.format), path, c->written, c->procs_seen,
		agg__stacks(c->agg), buf, k[PY_C_TRUNCATED], c->sym.unknown_frames, unreadable,
		lost);
	damaged_summary(k);
	if (c->native)
		native_summary(c->native);
	/* The same stacks, at a higher cost per sample: say why. */
	if (*sampler__fallbacks(c->sampler))
		fprintf(stderr, "pyspy-bpf: on this kernel, at a higher cost: %s\n",
			sampler__fallbacks(c->sampler));
	if (strcmp(path, "-"))
		fprintf(stderr, "pyspy-bpf: %s\n", open_hint(c->o->out.format));
}
