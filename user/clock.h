/* SPDX-License-Identifier: BSD-2-Clause */
/* The collector's one clock: CLOCK_MONOTONIC, the clock of the BPF side's
 * bpf_ktime_get_ns() too, so that the two compare. A replay (capture.h)
 * has its own: the time of the drain it replays. */
#ifndef PYSPY_CLOCK_H
#define PYSPY_CLOCK_H

#include <stdint.h>
#include <time.h>
#include "capture.h"

static inline uint64_t mono_ns(void)
{
	struct timespec ts;

	if (capture_mode == CAPTURE_REPLAY)
		return capture__mono();
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

#endif
