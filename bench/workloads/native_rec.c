/* SPDX-License-Identifier: BSD-2-Clause */
/* C frames for the native bench: rec(n) is n + 1 frames deep when it spins.
 * Built -O2, without frame pointers: the unwinder must use the CFI. */
volatile unsigned long native_sink;

__attribute__((noinline)) unsigned long rec(int n)
{
	unsigned long r;

	if (n <= 0)
		for (;;)
			native_sink++;
	r = rec(n - 1);
	native_sink += r;	/* no tail call: every level keeps its frame */
	return r;
}
