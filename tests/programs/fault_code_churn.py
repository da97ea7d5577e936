# SPDX-License-Identifier: BSD-2-Clause
# Code-object churn: for SECONDS (argv[1]), functions f_<N> are compiled
# with exec under unique names, run for 2-12 ms of CPU time and dropped, so
# their code objects (and names) are freed and the addresses reused by the
# next ones. f_<N> is always called from slot_<N % 7>, a function that lives
# for the whole run, so a frame given the name of another function shows up
# under the wrong slot.
# Prints "ready <pid>", then "functions <count>" when done.
# Expected stack, root first:
#   <module>;run;slot_<K> (fault_code_churn.py:<call>);f_<N> (<string>:2-5)
# with N % 7 == K and N < count.
import gc
import os
import random
import sys
import time

SRC = """def f_%06d(end):
    n = 0
    while clock() < end:
        n += 1
    return n
"""


def slot_0(fn, end):
    return fn(end)


def slot_1(fn, end):
    return fn(end)


def slot_2(fn, end):
    return fn(end)


def slot_3(fn, end):
    return fn(end)


def slot_4(fn, end):
    return fn(end)


def slot_5(fn, end):
    return fn(end)


def slot_6(fn, end):
    return fn(end)


SLOTS = [slot_0, slot_1, slot_2, slot_3, slot_4, slot_5, slot_6]


def run(seconds):
    rnd = random.Random(2)
    end = time.time() + seconds
    n = 0
    while time.time() < end:
        ns = {"clock": time.process_time}
        exec(SRC % n, ns)
        fn = ns["f_%06d" % n]
        SLOTS[n % 7](fn, time.process_time() + rnd.randint(2, 12) / 1000.0)
        # Drop it now: the function and its globals hold each other.
        ns.clear()
        del fn
        n += 1
        if n % 64 == 0:
            gc.collect()
    return n


if __name__ == "__main__":
    sys.stdout.write("ready %d\n" % os.getpid())
    sys.stdout.flush()
    count = run(float(sys.argv[1]))
    sys.stdout.write("functions %d\n" % count)
    sys.stdout.flush()
