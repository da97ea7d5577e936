# SPDX-License-Identifier: BSD-2-Clause
# Two threads: spin_python() runs pure Python and holds the GIL; hash_in_c()
# calls hashlib over a 32 MiB buffer in a loop, which releases the GIL while
# it hashes. Prints "thread <name> <pthread id>" for both, then "ready <pid>".
# Expected: both threads show their Python function as the leaf frame; the
# GIL flag is set on nearly all of spin_python's samples and few of
# hash_in_c's.
import hashlib
import os
import sys
import threading
import time

try:
    get_ident = threading.get_ident
except AttributeError:  # 2.7
    import thread
    get_ident = thread.get_ident

started = threading.Semaphore(0)
lock = threading.Lock()
BUF = b"x" * (32 << 20)


def announce(name):
    with lock:
        sys.stdout.write("thread %s %d\n" % (name, get_ident()))
        sys.stdout.flush()
    started.release()


def spin_python(end):
    announce("spin_python")
    n = 0
    while time.time() < end:
        n = (n * 7 + 1) % 1000003


def hash_in_c(end):
    announce("hash_in_c")
    while time.time() < end:
        h = hashlib.sha256()
        h.update(BUF)  # releases the GIL while it hashes
        h.digest()


if __name__ == "__main__":
    end = time.time() + (float(sys.argv[1]) if len(sys.argv) > 1 else 30.0)
    threads = [threading.Thread(target=f, args=(end,)) for f in (spin_python, hash_in_c)]
    for t in threads:
        t.start()
    for _ in threads:
        started.acquire()
    sys.stdout.write("ready %d\n" % os.getpid())
    sys.stdout.flush()
    for t in threads:
        t.join()
