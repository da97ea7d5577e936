# SPDX-License-Identifier: BSD-2-Clause
# sorted() (C) calls a Python key function for every element. Expected
# stack in the callback with --native, root first:
#   <module>;main;sort_by_key;builtin_sorted;list_sort...;key_of
# (builtin_sorted and list_sort / list_sort_impl where the build has the
# names; frames of the interpreter's file otherwise).
import os
import sys
import time


def key_of(x):
    n = x
    for _ in range(20):
        n = n * 3 % 1000003
    return n


def sort_by_key(data, end):
    while time.time() < end:
        sorted(data, key=key_of)


def main(seconds):
    data = list(range(2000))
    sys.stdout.write("ready %d\n" % os.getpid())
    sys.stdout.flush()
    sort_by_key(data, time.time() + seconds)


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 30.0)
