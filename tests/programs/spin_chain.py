# SPDX-License-Identifier: BSD-2-Clause
# A main thread spinning in a known chain of four functions.
# Expected stack, root first (lines are the call sites; the leaf is inside
# the loop of level_d, lines 29-32):
#   <module> (spin_chain.py:37);level_a (spin_chain.py:13);
#   level_b (spin_chain.py:17);level_c (spin_chain.py:21);level_d (spin_chain.py:29-32)
import os
import sys
import time


def level_a(seconds):
    return level_b(seconds)


def level_b(seconds):
    return level_c(seconds)


def level_c(seconds):
    return level_d(seconds)


def level_d(seconds):
    sys.stdout.write("ready %d\n" % os.getpid())
    sys.stdout.flush()
    end = time.time() + seconds
    n = 0
    while time.time() < end:
        n += 1
        n = n * 3 % 1000003
        n -= 1
    return n


if __name__ == "__main__":
    level_a(float(sys.argv[1]) if len(sys.argv) > 1 else 30.0)
