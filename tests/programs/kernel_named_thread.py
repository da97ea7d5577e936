# SPDX-License-Identifier: BSD-2-Clause
# A thread that threading does not know (started with the low-level thread
# module, threading never imported) names itself "pyspy-renamed" through
# /proc/thread-self/comm (what prctl(PR_SET_NAME) sets; ctypes would import
# threading on some versions) and spins in renamed_spin; the main thread
# sleeps. Prints "threading <0|1>" (whether anything imported threading
# after all: a .pth file without -S), then "ready <pid>".
# Expected: its samples carry the kernel's name of the thread.
import os
import sys
import time

try:
    import _thread as thread
except ImportError:  # 2.7
    import thread

named = thread.allocate_lock()
named.acquire()


def renamed_spin(end):
    with open("/proc/thread-self/comm", "w") as f:
        f.write("pyspy-renamed")
    named.release()
    n = 0
    while time.time() < end:
        n = (n * 7 + 1) % 1000003


if __name__ == "__main__":
    end = time.time() + (float(sys.argv[1]) if len(sys.argv) > 1 else 30.0)
    thread.start_new_thread(renamed_spin, (end,))
    named.acquire()
    sys.stdout.write("threading %d\n" % ("threading" in sys.modules))
    sys.stdout.write("ready %d\n" % os.getpid())
    sys.stdout.flush()
    while time.time() < end:
        time.sleep(0.05)
