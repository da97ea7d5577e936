# SPDX-License-Identifier: BSD-2-Clause
# Process churn: starts COUNT (argv[1]) short-lived Python processes, at most
# PARALLEL (argv[2]) at a time, each burning MS milliseconds of CPU time
# (uniform in 50-300, seeded by argv[3]) in burn() and exiting.
# Prints "ready <pid>", then one line "child <pid> <ms> <status>" per child
# once all have exited, then "done".
# Expected stack of a child, root first:
#   <module> (fault_churn.py:<main call>);burn (fault_churn.py:<loop>)
import os
import random
import subprocess
import sys
import time


def burn(ms):
    end = time.process_time() + ms / 1000.0
    n = 0
    while time.process_time() < end:
        n += 1


def launch(count, parallel, seed):
    rnd = random.Random(seed)
    running, done = [], []
    left = count
    while left or running:
        while left and len(running) < parallel:
            ms = rnd.randint(50, 300)
            p = subprocess.Popen([sys.executable, __file__, "child", str(ms)])
            running.append((p, ms))
            left -= 1
        for p, ms in list(running):
            if p.poll() is not None:
                running.remove((p, ms))
                done.append((p.pid, ms, p.returncode))
        time.sleep(0.002)
    return done


if __name__ == "__main__":
    if sys.argv[1] == "child":
        burn(int(sys.argv[2]))
        sys.exit(0)
    sys.stdout.write("ready %d\n" % os.getpid())
    sys.stdout.flush()
    for pid, ms, status in launch(int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])):
        sys.stdout.write("child %d %d %d\n" % (pid, ms, status))
    sys.stdout.write("done\n")
    sys.stdout.flush()
