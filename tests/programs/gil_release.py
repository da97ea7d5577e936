# SPDX-License-Identifier: BSD-2-Clause
# Two threads: spin_python() runs pure Python and holds the GIL; in_c() calls
# C code over a large buffer in a loop: zlib.compress (argv[2] == "zlib",
# releases the GIL on every version) or hashlib's sha256 update ("hashlib";
# it releases the GIL where hashlib is OpenSSL's). Prints
# "thread <name> <kernel tid>" for both, then "ready <pid>".
# Expected: both threads show their Python function as the leaf frame; with
# zlib, the GIL flag is set on nearly all of spin_python's samples and few of
# in_c's.
import hashlib
import os
import sys
import threading
import time
import zlib

try:
    get_tid = threading.get_native_id
except AttributeError:  # before 3.8: gettid(2) (x86-64's number)
    import ctypes
    _libc = ctypes.CDLL(None, use_errno=True)

    def get_tid():
        return _libc.syscall(186)

started = threading.Semaphore(0)
# The work starts after "ready": on 2.7 a spinning thread can keep the main
# thread from the GIL for seconds (the old GIL), delaying the line.
go = threading.Event()
lock = threading.Lock()
ZBUF = (b"abcdefgh" * 16 + b"x") * (1 << 17)
HBUF = b"x" * (32 << 20)
MODE = sys.argv[2] if len(sys.argv) > 2 else "zlib"


def announce(name):
    with lock:
        sys.stdout.write("thread %s %d\n" % (name, get_tid()))
        sys.stdout.flush()
    started.release()


def spin_python(end):
    announce("spin_python")
    go.wait()
    n = 0
    while time.time() < end:
        n = (n * 7 + 1) % 1000003


def in_c(end):
    announce("in_c")
    go.wait()
    while time.time() < end:
        if MODE == "zlib":
            zlib.compress(ZBUF, 9)
        else:
            h = hashlib.sha256()
            h.update(HBUF)
            h.digest()


if __name__ == "__main__":
    end = time.time() + (float(sys.argv[1]) if len(sys.argv) > 1 else 30.0)
    threads = [threading.Thread(target=f, args=(end,)) for f in (spin_python, in_c)]
    for t in threads:
        t.start()
    for _ in threads:
        started.acquire()
    sys.stdout.write("ready %d\n" % os.getpid())
    sys.stdout.flush()
    go.set()
    for t in threads:
        t.join()
