# SPDX-License-Identifier: BSD-2-Clause
"""Spins forever with a Python stack exactly DEPTH frames deep (argv[1],
counting the module frame), printing 'ready' once there. For the per-sample
kernel cost at a given depth."""
import sys


def spin():
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    x = 0
    while True:
        x += 1


def down(n):
    if n > 3:
        down(n - 1)
    else:
        spin()


if __name__ == "__main__":
    depth = int(sys.argv[1])
    sys.setrecursionlimit(max(1000, depth + 100))
    down(depth)
