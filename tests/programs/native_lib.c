// SPDX-License-Identifier: BSD-2-Clause
/*
 * A library the tests build at run time for native_dlopen.py, once per
 * name: cc -shared -fPIC -DSPIN=new_library_spin native_lib.c. SPIN spins
 * for n rounds in its own code, calling nothing.
 */
#include <stdint.h>

#ifndef SPIN
#error "define SPIN to the function's name"
#endif

__attribute__((noinline)) uint64_t SPIN(uint64_t n)
{
	volatile uint64_t x = 0;

	for (uint64_t i = 0; i < n; i++)
		x = x * 3 + i;
	return x;
}
