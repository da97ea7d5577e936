# SPDX-License-Identifier: BSD-2-Clause
# Maps argv[1] (another version's libpython) read-only, as a tool reading
# it would, keeps the mapping, prints "ready <pid>", and spins in
# spin_here(). The interpreter running this is the one to read: the file
# only mapped to be read runs nothing.
# Expected stack: <module> (maps_other_libpython.py) -> spin_here
import mmap
import os
import sys


def spin_here():
    n = 0
    while True:
        n = (n * 7 + 1) % 1000003


if __name__ == "__main__":
    f = open(sys.argv[1], "rb")
    held = mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ)
    sys.stdout.write("ready %d\n" % os.getpid())
    sys.stdout.flush()
    spin_here()
