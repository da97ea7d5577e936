# SPDX-License-Identifier: BSD-2-Clause
# A thread that threading does not know (started with the low-level thread
# module, threading never imported) names itself "pyspy-renamed" with
# prctl(PR_SET_NAME) and spins in renamed_spin; the main thread sleeps.
# Prints "ready <pid>".
# Expected: its samples carry the kernel's name of the thread.
import ctypes
import os
import sys
import time

try:
    import _thread as thread
except ImportError:  # 2.7
    import thread

PR_SET_NAME = 15
libc = ctypes.CDLL(None)
named = thread.allocate_lock()
named.acquire()


def renamed_spin(end):
    libc.prctl(PR_SET_NAME, b"pyspy-renamed", 0, 0, 0)
    named.release()
    n = 0
    while time.time() < end:
        n = (n * 7 + 1) % 1000003


if __name__ == "__main__":
    end = time.time() + (float(sys.argv[1]) if len(sys.argv) > 1 else 30.0)
    thread.start_new_thread(renamed_spin, (end,))
    named.acquire()
    sys.stdout.write("ready %d\n" % os.getpid())
    sys.stdout.flush()
    while time.time() < end:
        time.sleep(0.05)
