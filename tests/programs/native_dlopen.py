# SPDX-License-Identifier: BSD-2-Clause
# Loads a library (native_lib.c built with SPIN=new_library_spin) only when
# told to, while it is profiled, and spins in it. Usage:
#   native_dlopen.py NEW_LIB GO_FILE SECONDS [OLD_LIB]
# With OLD_LIB (SPIN=old_library_spin), that one is loaded and called before
# "ready", then unloaded just before NEW_LIB is loaded, which the loader
# then usually maps where OLD_LIB was. "old <address>" and "new <address>"
# say where each was mapped. After "ready" the program waits for GO_FILE.
# Expected stack once the collector has read the mappings again, root first:
#   <module>;main;call_new;<_ctypes, libffi frames>;new_library_spin (NEW_LIB)
# and never a frame of OLD_LIB but under unload (its destructors).
import ctypes
import os
import sys
import time

import _ctypes


def first_mapping(path):
    with open("/proc/self/maps") as f:
        for line in f:
            if line.rstrip("\n").endswith(path):
                return line.split("-")[0]
    return "none"


def call_new(lib, end):
    while time.time() < end:
        lib.new_library_spin(ctypes.c_uint64(2000000))


def unload(handle):
    # dlclose runs the library's destructors while it is still mapped: a
    # sample in here may rightly be in OLD_LIB, and nowhere else.
    _ctypes.dlclose(handle)


def main(new_path, go, seconds, old_path=None):
    old = None
    if old_path:
        old = ctypes.CDLL(old_path)
        old.old_library_spin(ctypes.c_uint64(10))
        sys.stdout.write("old %s\n" % first_mapping(old_path))
    sys.stdout.write("ready %d\n" % os.getpid())
    sys.stdout.flush()
    while not os.path.exists(go):
        time.sleep(0.01)
    if old is not None:
        unload(old._handle)
    lib = ctypes.CDLL(new_path)
    sys.stdout.write("new %s\n" % first_mapping(new_path))
    sys.stdout.flush()
    call_new(lib, time.time() + seconds)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], float(sys.argv[3]), *sys.argv[4:])
