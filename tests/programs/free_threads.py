# SPDX-License-Identifier: BSD-2-Clause
# Eight threads, each spinning in its own function (spin_0 .. spin_7) at
# once: on a free-threaded build they run Python in parallel, without a GIL.
# Each thread is named "worker-K" and holds the locals k (its number) and
# label; the main thread sleeps. Prints "thread K <kernel tid>" per thread,
# "gil <0|1>" (is the GIL enabled), then "ready <pid>". Runs until killed
# or argv[1] seconds.
# Expected: every sample of the thread of spin_K has spin_K at its leaf, on
# the line of its loop (LOOP_LINES), under run/_bootstrap_inner/_bootstrap.
import sys
import threading
import time

lock = threading.Lock()
started = threading.Semaphore(0)


def announce(k):
    with lock:
        sys.stdout.write("thread %d %d\n" % (k, threading.get_native_id()))
        sys.stdout.flush()
    started.release()


def spin_0(k, label):
    announce(k)
    n = 0
    while True:
        n = (n * 7 + k) % 1000003


def spin_1(k, label):
    announce(k)
    n = 0
    while True:
        n = (n * 7 + k) % 1000003


def spin_2(k, label):
    announce(k)
    n = 0
    while True:
        n = (n * 7 + k) % 1000003


def spin_3(k, label):
    announce(k)
    n = 0
    while True:
        n = (n * 7 + k) % 1000003


def spin_4(k, label):
    announce(k)
    n = 0
    while True:
        n = (n * 7 + k) % 1000003


def spin_5(k, label):
    announce(k)
    n = 0
    while True:
        n = (n * 7 + k) % 1000003


def spin_6(k, label):
    announce(k)
    n = 0
    while True:
        n = (n * 7 + k) % 1000003


def spin_7(k, label):
    announce(k)
    n = 0
    while True:
        n = (n * 7 + k) % 1000003


SPINS = [spin_0, spin_1, spin_2, spin_3, spin_4, spin_5, spin_6, spin_7]

if __name__ == "__main__":
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 600
    for k, fn in enumerate(SPINS):
        threading.Thread(target=fn, args=(k, "worker %d" % k), name="worker-%d" % k,
                         daemon=True).start()
    for _ in SPINS:
        started.acquire()
    gil = getattr(sys, "_is_gil_enabled", lambda: True)()
    sys.stdout.write("gil %d\nready %d\n" % (gil, threading.get_native_id()))
    sys.stdout.flush()
    time.sleep(seconds)
