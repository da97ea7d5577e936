# SPDX-License-Identifier: BSD-2-Clause
# The main thread runs ROUNDS (argv[1]) rounds of two phases, phase_one then
# phase_two, each spinning until it has used CPU_SECONDS (argv[2]) of CPU
# over several lines of its loop.
# Expected in chrometrace: the main thread's phase slices alternate
# phase_one, phase_two, ... (ROUNDS times each); with --nolineno a slice
# lasts while its phase does (split only where the thread was off CPU),
# with line numbers it is split where the line changes.
import sys
import time


def phase_one(cpu):
    end = time.process_time() + cpu
    n = 0
    while time.process_time() < end:
        n = (n * 7 + 1) % 1000003
        n = (n * 5 + 3) % 1000033


def phase_two(cpu):
    end = time.process_time() + cpu
    n = 0
    while time.process_time() < end:
        n = (n * 3 + 1) % 1000003
        n = (n * 11 + 3) % 1000033


if __name__ == "__main__":
    rounds, cpu = int(sys.argv[1]), float(sys.argv[2])
    for _ in range(rounds):
        phase_one(cpu)
        phase_two(cpu)
