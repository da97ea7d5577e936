# SPDX-License-Identifier: BSD-2-Clause
# N threads (argv[1]) that wait on an event in parked(), and a main thread
# that spins in spin() for SECONDS (argv[2]). Prints "ready <pid>" once every
# thread has started.
# Expected: dump lists N + 1 threads; each parked thread's stack, root first,
# ends in ...;parked (many_threads.py), the main thread's in main;spin.
import os
import sys
import threading
import time


def parked(event):
    event.wait()


def spin(seconds):
    end = time.time() + seconds
    while time.time() < end:
        pass


def main(n, seconds):
    threading.stack_size(128 << 10)
    event = threading.Event()
    threads = [threading.Thread(target=parked, args=(event,), name="parked-%d" % i)
               for i in range(n)]
    for t in threads:
        t.daemon = True
        t.start()
    sys.stdout.write("ready %d\n" % os.getpid())
    sys.stdout.flush()
    spin(seconds)
    os._exit(0)


if __name__ == "__main__":
    main(int(sys.argv[1]), float(sys.argv[2]))
