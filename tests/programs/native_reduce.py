# SPDX-License-Identifier: BSD-2-Clause
# functools.reduce (C) calls a Python function for every element. Expected
# stack in the callback with --native, root first:
#   <module>;main;reduce_it;functools_reduce;combine
# (functools_reduce where the build has the name, 2.7's builtin_reduce; a
# frame of the interpreter's file otherwise).
import functools
import os
import sys
import time


def combine(a, b):
    n = b
    for _ in range(20):
        n = n * 3 % 1000003
    return (a + n) % 1000003


def reduce_it(data, end):
    while time.time() < end:
        functools.reduce(combine, data, 0)


def main(seconds):
    data = list(range(2000))
    sys.stdout.write("ready %d\n" % os.getpid())
    sys.stdout.flush()
    reduce_it(data, time.time() + seconds)


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 30.0)
