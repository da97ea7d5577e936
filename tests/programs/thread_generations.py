# SPDX-License-Identifier: BSD-2-Clause
# One thread at a time for SECONDS (argv[1]): generation K is a thread named
# "gen-K" spinning ~0.4 s in its own function spin_gen_K, started after
# generation K-1 ended, so it usually gets the same pthread ident.
# Prints "ready <pid>".
# Expected with --threads: a stack whose leaf is spin_gen_K is never under
# another generation's name.
import os
import sys
import threading
import time

SRC = """
def spin_gen_%d(end):
    n = 0
    while clock() < end:
        n = (n * 7 + 1) %% 1000003
"""


def make(k):
    ns = {"clock": time.time}
    exec(SRC % k, ns)
    return ns["spin_gen_%d" % k]


if __name__ == "__main__":
    until = time.time() + (float(sys.argv[1]) if len(sys.argv) > 1 else 30.0)
    sys.stdout.write("ready %d\n" % os.getpid())
    sys.stdout.flush()
    k = 0
    while time.time() < until:
        k += 1
        t = threading.Thread(target=make(k), args=(time.time() + 0.4,), name="gen-%d" % k)
        t.start()
        t.join()
