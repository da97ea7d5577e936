# SPDX-License-Identifier: BSD-2-Clause
# zlib.compress on a large buffer: the time goes to libz. Expected stack
# with --native, root first:
#   <module>;main;compress_it;<zlib module frames>;deflate...(libz.so.1)
# (deflate, deflate_slow, longest_match ... where libz has the names;
# libz.so.1+0x... otherwise).
import os
import random
import sys
import time
import zlib


def compress_it(data, end):
    while time.time() < end:
        zlib.compress(data, 9)


def main(seconds):
    rng = random.Random(7)
    words = [("w%d " % rng.randint(0, 5000)).encode("ascii") for _ in range(4000)]
    data = b"".join(rng.choice(words) for _ in range(200000))
    sys.stdout.write("ready %d\n" % os.getpid())
    sys.stdout.flush()
    compress_it(data, time.time() + seconds)


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 30.0)
