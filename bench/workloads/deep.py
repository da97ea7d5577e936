# SPDX-License-Identifier: BSD-2-Clause
"""Deep stack: each iteration descends 100 frames and computes at the bottom,
so nearly every sample sees a stack about 100 frames deep."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common  # noqa: E402

DEPTH = 100


def bottom():
    s = 0
    for i in range(50000):
        s += i * i % 7
    return s


def down(n):
    if n:
        return down(n - 1)
    return bottom()


def work():
    down(DEPTH)


if __name__ == "__main__":
    iterations, forever = _common.parse(sys.argv, 100)
    _common.run(work, iterations, forever)
