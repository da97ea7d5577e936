# SPDX-License-Identifier: BSD-2-Clause
# Three generations: "parent" starts "child" (this script again), which
# starts "grandchild"; each then spins in its own function (parent_work,
# child_work, grandchild_work) until it has used CPU_SECONDS (argv[2]) of
# CPU, and waits for its child. Usage: family_tree.py parent CPU_SECONDS.
# Expected with record -s: a stack of grandchild_work under the process
# frames of parent, child and grandchild, root first; child_work's under
# parent's and child's; parent_work's under parent's alone.
import subprocess
import sys
import time

NEXT = {"parent": "child", "child": "grandchild"}


def spin(cpu):
    end = time.process_time() + cpu
    n = 0
    while time.process_time() < end:
        n = (n * 7 + 1) % 1000003


def parent_work(cpu):
    spin(cpu)


def child_work(cpu):
    spin(cpu)


def grandchild_work(cpu):
    spin(cpu)


if __name__ == "__main__":
    role, cpu = sys.argv[1], sys.argv[2]
    kid = None
    if role in NEXT:
        kid = subprocess.Popen([sys.executable, __file__, NEXT[role], cpu])
    globals()[role + "_work"](float(cpu))
    if kid:
        kid.wait()
