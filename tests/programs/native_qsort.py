# SPDX-License-Identifier: BSD-2-Clause
# ctypes calls libc's qsort with a Python comparison function, so C calls
# back into Python. Expected stack in the callback with --native, root first:
#   <module>;main;sort_it;<_ctypes, libffi frames>;qsort[_r] (libc.so.6);
#   <libc's sort>;<libffi, _ctypes frames>;py_cmp
# (PyCFuncPtr_call, _ctypes_callproc, ffi_call ... closure_fcn,
# _CallPythonObject where the build has the names). With "sleep" after the
# seconds, py_cmp sleeps instead of comparing: the thread stays parked in
# the callback, under time.sleep's C frames.
import ctypes
import ctypes.util
import os
import sys
import time

INTS = ctypes.c_int * 2000
CMP = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_int), ctypes.POINTER(ctypes.c_int))
SLEEP = sys.argv[2:3] == ["sleep"]


def py_cmp(a, b):
    if SLEEP:
        time.sleep(3600)
    n = 0
    for _ in range(20):
        n += 1
    return a[0] - b[0]


def sort_it(libc, end):
    cmp = CMP(py_cmp)
    while time.time() < end:
        data = INTS(*range(2000, 0, -1))
        libc.qsort(data, len(data), ctypes.sizeof(ctypes.c_int), cmp)


def main(seconds):
    libc = ctypes.CDLL(ctypes.util.find_library("c"))
    sys.stdout.write("ready %d\n" % os.getpid())
    sys.stdout.flush()
    sort_it(libc, time.time() + seconds)


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 30.0)
