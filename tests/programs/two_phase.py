# SPDX-License-Identifier: BSD-2-Clause
# Two phases on the main thread: it spins in a() until the file named by
# argv[1] exists, then in b() for argv[2] seconds (default 60).
# Expected: every sample's leaf is a (two_phase.py) before the file appears
# and b (two_phase.py) after, but for the moment a() takes to see it.
import os
import sys
import time


def a(flag):
    n = 0
    while not os.path.exists(flag):
        for _ in range(20000):
            n = (n * 7 + 1) % 1000003
    return n


def b(seconds):
    end = time.time() + seconds
    n = 0
    while time.time() < end:
        n = (n * 7 + 1) % 1000003
    return n


if __name__ == "__main__":
    sys.stdout.write("ready %d\n" % os.getpid())
    sys.stdout.flush()
    a(sys.argv[1])
    b(float(sys.argv[2]) if len(sys.argv) > 2 else 60.0)
