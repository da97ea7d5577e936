# SPDX-License-Identifier: BSD-2-Clause
# Recurses DEPTH levels (argv[1]) in recurse(), then spins at the bottom.
# Expected stack, root first: <module> (line 27), then DEPTH frames of
# recurse (line 17), the leaf inside its loop (lines 21-22): DEPTH + 1
# frames. Deeper than the profiler's frame limit, the stack is cut there and
# marked <truncated>.
import os
import sys
import time

DEPTH = int(sys.argv[1])
SECONDS = float(sys.argv[2]) if len(sys.argv) > 2 else 30.0


def recurse(level):
    if level > 1:
        return recurse(level - 1)
    sys.stdout.write("ready %d\n" % os.getpid())
    sys.stdout.flush()
    end = time.time() + SECONDS
    while time.time() < end:
        pass


if __name__ == "__main__":
    sys.setrecursionlimit(DEPTH + 100)
    recurse(DEPTH)
