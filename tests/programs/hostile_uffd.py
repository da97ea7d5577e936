# SPDX-License-Identifier: BSD-2-Clause
# A hostile target for readers of its memory: it registers an anonymous
# region with userfaultfd, never services a fault there, and points what a
# profiler reads into it. Any read that faults the region in waits for the
# target's answer, which never comes. The process itself never touches the
# region.
# MODE (argv[1]):
#   name        victim's co_name (and co_qualname) -> the region
#   filename    victim's co_filename -> the region
#   frame-code  the frame of outer(), below victim(), gets the region as
#               its code object (dump and --idle read it in BPF)
# Then it spins in victim() for SECONDS (argv[2]), or sleeps in it with
# "sleep" as argv[3], and exits with status 0. Prints "ready <pid>" once
# armed. Needs root, CAP_SYS_PTRACE or vm.unprivileged_userfaultfd=1.
# Expected stack, root first: <module>;main;outer;victim, with victim
# (name), its file (filename) or outer (frame-code) unreadable.
import ctypes
import gc
import os
import struct
import sys
import time

WORD = struct.calcsize("P")
SYS_USERFAULTFD = 323       # x86-64
UFFDIO_API = 0xC018AA3F
UFFDIO_REGISTER = 0xC020AA00
UFFD_API = 0xAA
UFFDIO_REGISTER_MODE_MISSING = 1
REGION = 1 << 16

libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                      ctypes.c_int, ctypes.c_long]
keep = []


def trap_region():
    """An anonymous region whose every page waits forever when faulted."""
    fd = libc.syscall(SYS_USERFAULTFD, 0o2000000 | os.O_NONBLOCK)  # O_CLOEXEC
    if fd < 0:
        raise SystemExit("userfaultfd: errno %d" % ctypes.get_errno())
    api = (ctypes.c_uint64 * 3)(UFFD_API, 0, 0)
    if libc.ioctl(fd, ctypes.c_ulong(UFFDIO_API), api) != 0:
        raise SystemExit("UFFDIO_API: errno %d" % ctypes.get_errno())
    addr = libc.mmap(None, REGION, 3, 0x22, -1, 0)  # RW, MAP_PRIVATE|ANONYMOUS
    reg = (ctypes.c_uint64 * 4)(addr, REGION, UFFDIO_REGISTER_MODE_MISSING, 0)
    if libc.ioctl(fd, ctypes.c_ulong(UFFDIO_REGISTER), reg) != 0:
        raise SystemExit("UFFDIO_REGISTER: errno %d" % ctypes.get_errno())
    keep.append(fd)
    return addr


def words(addr, n):
    return struct.unpack("%dQ" % n, ctypes.string_at(addr, 8 * n))


def replace_word(base, nbytes, old, new, mask=0):
    n = 0
    for i, w in enumerate(words(base, nbytes // 8)):
        if w & ~mask == old:
            ctypes.c_uint64.from_address(base + 8 * i).value = new | (w & mask)
            n += 1
    return n


def victim(mode, seconds, sleep):
    if mode == "frame-code":
        frame = sys._getframe(1)
        code = frame.f_code
        trap = trap_region() + 64
        if sys.version_info < (3, 11):
            assert replace_word(id(frame), 64, id(code), trap) == 1
        else:
            iframe = words(id(frame) + 3 * WORD, 1)[0]
            assert replace_word(iframe, 96, id(code), trap, mask=7) == 1
    sys.stdout.write("ready %d\n" % os.getpid())
    sys.stdout.flush()
    end = time.time() + seconds
    n = 0
    while time.time() < end:
        if sleep:
            time.sleep(0.05)
        n += 1
    os._exit(0)


def outer(mode, seconds, sleep):
    return victim(mode, seconds, sleep)


def main(mode, seconds, sleep):
    gc.disable()
    code = victim.__code__
    if mode in ("name", "filename"):
        old = code.co_name if mode == "name" else code.co_filename
        assert replace_word(id(code), 200, id(old), trap_region() + 64) >= 1
    outer(mode, seconds, sleep)


if __name__ == "__main__":
    main(sys.argv[1], float(sys.argv[2]), len(sys.argv) > 3 and sys.argv[3] == "sleep")
