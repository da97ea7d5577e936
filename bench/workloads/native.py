# SPDX-License-Identifier: BSD-2-Clause
"""Spins in C (LIB's rec(), C_DEPTH frames deep) under a Python stack
PY_DEPTH frames deep (counting the module frame), printing 'ready' first.
argv: LIB PY_DEPTH C_DEPTH. For --native's per-sample cost."""
import ctypes
import sys


def spin(lib, c_depth):
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    lib.rec(c_depth - 1)


def down(n, lib, c_depth):
    if n > 3:
        down(n - 1, lib, c_depth)
    else:
        spin(lib, c_depth)


if __name__ == "__main__":
    lib = ctypes.CDLL(sys.argv[1])
    py_depth, c_depth = int(sys.argv[2]), int(sys.argv[3])
    sys.setrecursionlimit(max(1000, py_depth + 100))
    down(py_depth, lib, c_depth)
