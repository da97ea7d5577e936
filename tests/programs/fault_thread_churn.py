# SPDX-License-Identifier: BSD-2-Clause
# Thread churn: for SECONDS (argv[1]), threads are started and joined
# continuously, PARALLEL (argv[2]) at a time, each living 10-60 ms. Each
# thread defines, with exec, a function named after its own kernel thread id
# (work_<tid>, Python 3.8+) and spins in it, so a sample's leaf names the
# thread it must be attributed to. pthread ids and kernel tids are reused by
# new threads all the time.
# Prints "ready <pid>", then "threads <count>" when done.
# Expected with -t: every stack whose leaf is work_<X> has the root
# "thread (<X>): <name>".
import os
import random
import sys
import threading
import time

SRC = """
def work_%d(end):
    n = 0
    while clock() < end:
        n += 1
"""


def body(ms):
    tid = threading.get_native_id()
    ns = {"clock": time.time}
    exec(SRC % tid, ns)
    ns["work_%d" % tid](time.time() + ms / 1000.0)


if __name__ == "__main__":
    seconds = float(sys.argv[1])
    parallel = int(sys.argv[2])
    rnd = random.Random(1)
    sys.stdout.write("ready %d\n" % os.getpid())
    sys.stdout.flush()
    end = time.time() + seconds
    running = []
    count = 0
    while time.time() < end:
        while len(running) < parallel:
            t = threading.Thread(target=body, args=(rnd.randint(10, 60),))
            t.start()
            running.append(t)
            count += 1
        running.pop(0).join()
    for t in running:
        t.join()
    sys.stdout.write("threads %d\n" % count)
    sys.stdout.flush()
