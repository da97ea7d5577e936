# SPDX-License-Identifier: BSD-2-Clause
# The main thread alternates: 50 ms spinning in busy(), 50 ms in
# time.sleep() inside rest(). Wall-clock profiles (--idle) show each near
# 50%; CPU profiles show busy() only.
import os
import sys
import time


def busy(seconds):
    end = time.time() + seconds
    while time.time() < end:
        pass


def rest(seconds):
    time.sleep(seconds)


def main(total):
    end = time.time() + total
    while time.time() < end:
        busy(0.05)
        rest(0.05)


if __name__ == "__main__":
    sys.stdout.write("ready %d\n" % os.getpid())
    sys.stdout.flush()
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 30.0)
