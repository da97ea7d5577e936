# SPDX-License-Identifier: BSD-2-Clause
"""Eight CPU-bound threads sharing the GIL: each iteration starts 8 threads
that each compute fib(20) 8 times, and joins them."""
import os
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common  # noqa: E402

THREADS = 8


def fib(n):
    if n < 2:
        return n
    return fib(n - 1) + fib(n - 2)


def worker():
    for _ in range(8):
        fib(20)


def work():
    ts = [threading.Thread(target=worker) for _ in range(THREADS)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()


if __name__ == "__main__":
    iterations, forever = _common.parse(sys.argv, 20)
    _common.run(work, iterations, forever)
