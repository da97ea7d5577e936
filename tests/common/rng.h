/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The tests' pseudo-random numbers: Marsaglia's xorshift64 (13, 7, 17).
 * Reproducible from the seed alone, the same on every machine; each caller
 * keeps its own state, which must not be 0.
 */
#ifndef TESTS_COMMON_RNG_H
#define TESTS_COMMON_RNG_H

#include <stdint.h>

static inline uint64_t xorshift64(uint64_t *state)
{
	uint64_t x = *state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *state = x;
}

#endif
