# SPDX-License-Identifier: BSD-2-Clause
"""Shared by the bench workloads: argument parsing and result reporting.

Every workload does a fixed amount of work (--iterations N) and reports how
long the work itself took, excluding interpreter start-up, so that a
profiler's attach time does not count as slowdown. With --forever it repeats
the work until killed (for attach-mode cost measurements), printing 'ready'
on stdout once warm.

--wait: print 'ready' at once and start only on SIGUSR1.

The result is one JSON object written to the file named by $BENCH_RESULT
(stdout if unset): {"work_s": wall seconds, "cpu_s": user+sys seconds of the
process, "pid": pid}. Runs on CPython 3.6+.
"""
import json
import os
import signal
import sys
import time


def parse(argv, default_iterations):
    """--iterations N | --forever [--wait]; returns (iterations, forever)."""
    iterations, forever, wait = default_iterations, False, False
    args = list(argv[1:])
    while args:
        a = args.pop(0)
        if a == "--iterations":
            iterations = int(args.pop(0))
        elif a == "--forever":
            forever = True
        elif a == "--wait":
            wait = True
        else:
            sys.exit("%s: unknown argument %s" % (argv[0], a))
    if wait:
        _wait_for_go()
    return iterations, forever


def _wait_for_go():
    """--wait: print 'ready' and sleep until SIGUSR1, then do the work (so
    that many processes can be started before any of them competes for the
    CPUs)."""
    global _waited
    _waited = True
    # Blocked before 'ready', so a signal sent right after it is not lost.
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})
    ready()
    signal.sigwait({signal.SIGUSR1})


_waited = False


def ready():
    sys.stdout.write("ready\n")
    sys.stdout.flush()


def run(work, iterations, forever):
    """Calls work() iterations times (or forever) and reports the result."""
    if forever:
        work()
        if not _waited:
            ready()
        while True:
            work()
    c0 = time.process_time()
    w0 = time.perf_counter()
    for _ in range(iterations):
        work()
    w1 = time.perf_counter()
    report({"work_s": w1 - w0, "cpu_s": time.process_time() - c0, "pid": os.getpid()})


def report(result):
    path = os.environ.get("BENCH_RESULT")
    text = json.dumps(result)
    if path:
        with open(path, "w") as f:
            f.write(text + "\n")
    else:
        print(text)
