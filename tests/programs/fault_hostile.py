# SPDX-License-Identifier: BSD-2-Clause
# A hostile target: it corrupts, with ctypes, the structures a profiler
# reads, in ways it survives itself (nothing corrupted is used again: the
# garbage collector is off and the process ends with os._exit()).
# MODE (argv[1]):
#   name-ptr      victim's code object: co_name (and co_qualname) -> an
#                 unmapped address
#   name-len      victim's co_name -> a copy of its str object whose length
#                 is 2^62 (and whose bytes go on for 64 KiB)
#   name-kind     victim's co_name -> a copy whose state word is garbage
#   name-type     victim's co_name -> a list of 100 zeros: not a str, but
#                 its header reads as a 100-byte string (2.7: ob_size; 3.12:
#                 allocated as a compact ASCII state word)
#   frame-code    the frame of outer(), on the stack below victim(), gets an
#                 unmapped address for its code object
#   frame-junk    ... gets a pointer to 4 KiB of random bytes that start like
#                 a code object (refcount, type)
#   frame-self    outer()'s frame becomes its own caller
#   frame-cycle   main()'s frame gets outer()'s as its caller: a cycle of
#                 two frames below victim()
#   frame-notcode outer()'s frame gets a list for its code object
#   debug-cookie  3.13+: _Py_DebugOffsets in _PyRuntime loses its cookie
#   debug-sizes   3.13+: _Py_DebugOffsets says sizeof(PyASCIIObject) is
#                 16 KiB (and sizeof(PyUnicodeObject) 32 KiB): plausible
#                 sizes, each inside the limits a parser checks
# Then it spins in victim() for SECONDS (argv[2]) and exits with status 0.
# Prints "ready <pid>" once corrupted.
# Expected stack, root first: <module>;main;outer;victim, with victim
# (name-*) or outer (frame-code, frame-junk) shown as <unknown> or a name cut
# to the profiler's limits; <corrupt frame>;outer;victim (frame-self);
# <cycle>;main;outer;victim (frame-cycle); <module>;main;<not code>;victim
# (frame-notcode); debug-*: the process is refused or profiled normally.
import ctypes
import gc
import os
import random
import struct
import sys
import time

WORD = struct.calcsize("P")
UNMAPPED = 0xDEAD0000
keep = []


def words(addr, n):
    return struct.unpack("%dQ" % n, ctypes.string_at(addr, 8 * n))


def poke(addr, value):
    ctypes.c_uint64.from_address(addr).value = value


def replace_word(base, nbytes, old, new, mask=0):
    """Every aligned word in base[0:nbytes] equal to old (ignoring mask
    bits) becomes new; returns how many."""
    n = 0
    for i, w in enumerate(words(base, nbytes // 8)):
        if w & ~mask == old:
            poke(base + 8 * i, new | (w & mask))
            n += 1
    return n


def fake_copy(obj, extra):
    """A copy of obj's memory with extra bytes after it, kept alive."""
    size = sys.getsizeof(obj)
    buf = ctypes.create_string_buffer(ctypes.string_at(id(obj), size) + b"A" * extra)
    keep.append(buf)
    poke(ctypes.addressof(buf), 1 << 30)  # refcount: never freed
    return ctypes.addressof(buf)


def corrupt_name(code, mode):
    name = code.co_name
    if mode == "name-ptr":
        new = UNMAPPED
    elif mode == "name-type":
        obj = [0] * 100
        keep.append(obj)
        new = id(obj)
    else:
        new = fake_copy(name, 65536)
        if mode == "name-len":
            poke(new + 16, 1 << 62)  # PyASCIIObject.length
        else:
            poke(new + 32, 0xFFFFFFFFFFFFFFFF)  # PyASCIIObject.state
    # co_name, and co_qualname when it is the same object (3.11+)
    assert replace_word(id(code), 200, id(name), new) >= 1


def frame_struct(frame):
    """Where the interpreter keeps the frame's state, and how many bytes of
    it hold its code object and its caller."""
    if sys.version_info < (3, 11):
        return id(frame), 64
    # PyFrameObject.f_frame -> _PyInterpreterFrame
    return words(id(frame) + 3 * WORD, 1)[0], 96


def corrupt_link(frame, mode):
    """The caller of outer()'s frame (frame-self), or of main()'s."""
    caller = frame.f_back
    if mode == "frame-self":
        at, new = frame_struct(frame)[0], frame_struct(frame)[0]
        old = frame_struct(caller)[0]
    else:
        at = frame_struct(caller)[0]
        new = frame_struct(frame)[0]
        old = frame_struct(caller.f_back)[0]
    assert replace_word(at, frame_struct(frame)[1], old, new) == 1


def corrupt_frame(frame, mode):
    if mode in ("frame-self", "frame-cycle"):
        return corrupt_link(frame, mode)
    code = frame.f_code
    if mode == "frame-notcode":
        obj = [0] * 16
        keep.append(obj)
        new = id(obj)
    elif mode == "frame-code":
        new = UNMAPPED
    else:
        rnd = random.Random(3)
        junk = bytes(rnd.getrandbits(8) for _ in range(4096))
        buf = ctypes.create_string_buffer(ctypes.string_at(id(code), 16) + junk)
        keep.append(buf)
        new = ctypes.addressof(buf)
    if sys.version_info < (3, 11):
        # PyFrameObject holds f_code
        assert replace_word(id(frame), 64, id(code), new) == 1
    else:
        # PyFrameObject.f_frame -> _PyInterpreterFrame, which holds the code
        # object (3.14: a tagged stack reference)
        iframe = words(id(frame) + 3 * WORD, 1)[0]
        assert replace_word(iframe, 96, id(code), new, mask=7) == 1


def corrupt_debug_offsets(mode):
    rt = ctypes.addressof(ctypes.c_char.in_dll(ctypes.pythonapi, "_PyRuntime"))
    assert ctypes.string_at(rt, 8) == b"xdebugpy"
    if mode == "debug-cookie":
        poke(rt, struct.unpack("Q", b"notdebug")[0])
        return
    # unicode_object: size, state, length, asciiobject_size
    w = words(rt, 512)
    for i in range(len(w) - 3):
        if w[i:i + 4] == (64, 32, 16, 40):
            poke(rt + 8 * i, 0x8000)
            poke(rt + 8 * (i + 3), 0x4000)
            return
    raise SystemExit("unicode_object offsets not found")


def victim(mode, seconds):
    if mode.startswith("frame-"):
        # outer() waits for this call and is never resumed: os._exit()
        corrupt_frame(sys._getframe(1), mode)
    sys.stdout.write("ready %d\n" % os.getpid())
    sys.stdout.flush()
    end = time.time() + seconds
    n = 0
    while time.time() < end:
        n += 1
    os._exit(0)


def outer(mode, seconds):
    return victim(mode, seconds)


def main(mode, seconds):
    gc.disable()
    if mode.startswith("name-"):
        corrupt_name(victim.__code__, mode)
    elif mode.startswith("debug-"):
        corrupt_debug_offsets(mode)
    outer(mode, seconds)


if __name__ == "__main__":
    main(sys.argv[1], float(sys.argv[2]))
