# SPDX-License-Identifier: BSD-2-Clause
"""Call-heavy: recursive fib(25) per iteration (about 240k calls)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common  # noqa: E402


def fib(n):
    if n < 2:
        return n
    return fib(n - 1) + fib(n - 2)


def work():
    fib(25)


if __name__ == "__main__":
    iterations, forever = _common.parse(sys.argv, 100)
    _common.run(work, iterations, forever)
