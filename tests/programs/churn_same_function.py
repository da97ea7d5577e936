# SPDX-License-Identifier: BSD-2-Clause
# Short-lived threads, two at a time for SECONDS (argv[1]), all spinning in
# the same function, same_work, for about 20 ms each: every sample of them
# has the same stack, from a different thread nearly every time.
# Prints "ready <pid>".
# Expected without --threads: one line per distinct stack, however many
# threads ran it.
import os
import sys
import threading
import time


def same_work(end):
    n = 0
    while time.time() < end:
        n = (n * 7 + 1) % 1000003


def run(until):
    while time.time() < until:
        ts = [threading.Thread(target=same_work, args=(time.time() + 0.02,))
              for _ in range(2)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()


if __name__ == "__main__":
    until = time.time() + (float(sys.argv[1]) if len(sys.argv) > 1 else 30.0)
    sys.stdout.write("ready %d\n" % os.getpid())
    sys.stdout.flush()
    run(until)
