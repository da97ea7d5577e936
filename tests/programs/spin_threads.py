# SPDX-License-Identifier: BSD-2-Clause
# Four threads, each spinning in its own function (spin_0 .. spin_3); the main
# thread waits in join(). Prints "thread <name> <kernel tid>" for each
# spinning thread, then "ready <pid>".
# Expected: every sample of thread spin_K has spin_K as its leaf frame.
import os
import sys
import threading
import time

try:
    get_tid = threading.get_native_id
except AttributeError:  # before 3.8: gettid(2) (x86-64's number)
    import ctypes
    _libc = ctypes.CDLL(None, use_errno=True)

    def get_tid():
        return _libc.syscall(186)

started = threading.Semaphore(0)
lock = threading.Lock()


def announce(name):
    with lock:
        sys.stdout.write("thread %s %d\n" % (name, get_tid()))
        sys.stdout.flush()
    started.release()


def spin_0(end):
    announce("spin_0")
    n = 0
    while time.time() < end:
        n = (n * 7 + 1) % 1000003


def spin_1(end):
    announce("spin_1")
    n = 0
    while time.time() < end:
        n = (n * 7 + 1) % 1000003


def spin_2(end):
    announce("spin_2")
    n = 0
    while time.time() < end:
        n = (n * 7 + 1) % 1000003


def spin_3(end):
    announce("spin_3")
    n = 0
    while time.time() < end:
        n = (n * 7 + 1) % 1000003


if __name__ == "__main__":
    end = time.time() + (float(sys.argv[1]) if len(sys.argv) > 1 else 30.0)
    threads = [threading.Thread(target=f, args=(end,)) for f in (spin_0, spin_1, spin_2, spin_3)]
    for t in threads:
        t.start()
    for _ in threads:
        started.acquire()
    sys.stdout.write("ready %d\n" % os.getpid())
    sys.stdout.flush()
    for t in threads:
        t.join()
