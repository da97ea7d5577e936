# SPDX-License-Identifier: BSD-2-Clause
# A process whose main thread has exited (the raw exit system call, which
# ends only the calling thread) while another thread runs Python: the
# thread-group leader is a zombie, and /proc/PID/maps, /proc/PID/exe and
# /proc/PID/map_files of the process read as empty or fail.
# Prints "ready <pid>" once the leader is a zombie, then spins in
# worker -> spin_outer -> spin_inner for SECONDS (argv[1]) and exits.
# Expected stack, root first: worker (run / _bootstrap... above it);
# spin_outer;spin_inner.
import ctypes
import os
import platform
import sys
import threading
import time

SYS_EXIT = {"x86_64": 60, "aarch64": 93}


def leader_state():
    with open("/proc/%d/task/%d/stat" % (os.getpid(), os.getpid())) as f:
        return f.read().rpartition(")")[2].split()[0]


def spin_inner(end):
    n = 0
    while time.time() < end:
        n += 1
    return n


def spin_outer(end):
    return spin_inner(end)


def worker(seconds):
    while leader_state() not in ("Z", "X"):
        time.sleep(0.01)
    sys.stdout.write("ready %d\n" % os.getpid())
    sys.stdout.flush()
    spin_outer(time.time() + seconds)
    os._exit(0)


def main(seconds):
    t = threading.Thread(target=worker, args=(seconds,))
    t.start()
    # The raw system call: only this thread ends (exit_group would end all).
    ctypes.CDLL(None).syscall(SYS_EXIT[platform.machine()], 0)


if __name__ == "__main__":
    main(float(sys.argv[1]))
