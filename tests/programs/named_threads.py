# SPDX-License-Identifier: BSD-2-Clause
# Two threads named "alpha" and "beta", spinning in alpha_work and beta_work
# for SECONDS (argv[1]); the main thread waits in join(). Prints
# "thread <name> <kernel tid>" for each, then "ready <pid>". Python 3.8+.
# Expected with -t: every stack whose leaf is alpha_work has the root
# "thread (<alpha's tid>): alpha"; speedscope names its profile
# 'Thread <alpha's tid> "alpha"'.
import os
import sys
import threading
import time

started = threading.Semaphore(0)
lock = threading.Lock()


def announce():
    with lock:
        sys.stdout.write("thread %s %d\n" % (threading.current_thread().name,
                                             threading.get_native_id()))
        sys.stdout.flush()
    started.release()


def alpha_work(end):
    announce()
    n = 0
    while time.time() < end:
        n = (n * 7 + 1) % 1000003


def beta_work(end):
    announce()
    n = 0
    while time.time() < end:
        n = (n * 7 + 1) % 1000003


if __name__ == "__main__":
    end = time.time() + float(sys.argv[1])
    threads = [threading.Thread(target=alpha_work, args=(end,), name="alpha"),
               threading.Thread(target=beta_work, args=(end,), name="beta")]
    for t in threads:
        t.start()
    for _ in threads:
        started.acquire()
    sys.stdout.write("ready %d\n" % os.getpid())
    sys.stdout.flush()
    for t in threads:
        t.join()
