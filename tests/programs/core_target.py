# SPDX-License-Identifier: BSD-2-Clause
# For dump --core (tests/e2e/test_core.py): two threads waiting in known
# functions with known locals, whose own view is printed before the core is
# taken. Runs on 2.7 and 3.x (no f-strings).
#
# The main thread starts "worker-1", which blocks in lock.acquire() in
# worker(); once the worker's frame is at that line (sys._current_frames),
# the main thread prints, one per line:
#   thread <ident> <name>                 main first, then the worker
#   frame <ident> <function> <line>       each thread's Python frames,
#                                         innermost first
#   local <ident> <name> <0|1> <repr>     the innermost frame's locals of
#                                         simple types (1: an argument), as
#                                         repr() shows them
#   ready <pid>
# then blocks in main_wait() reading its stdin, and exits when it closes.
import os
import sys
import threading
import time

lock = threading.Lock()
lock.acquire()
HERE = open(os.path.abspath(__file__)).read().splitlines()
MAIN_LINE = [i + 1 for i, t in enumerate(HERE) if t.endswith("# main waits here")][0]
SIMPLE = (int, float, str, list)
WORKER_LINE = [i + 1 for i, t in enumerate(HERE) if t.endswith("# worker waits here")][0]


def worker(n, label):
    items = [1, 2, 3]
    name = "w" + label
    ratio = 0.5
    lock.acquire()  # worker waits here


def emit(line):
    sys.stdout.write(line + "\n")


def report(ident, frame, name, first_line=None):
    emit("thread %d %s" % (ident, name))
    innermost = frame
    while frame is not None:
        line = frame.f_lineno
        if frame is innermost and first_line:
            line = first_line
        emit("frame %d %s %d" % (ident, frame.f_code.co_name, line))
        frame = frame.f_back
    code = innermost.f_code
    args = code.co_varnames[:code.co_argcount]
    for k, v in sorted(innermost.f_locals.items()):
        if not isinstance(v, SIMPLE):
            continue    # the reader's <TYPE at 0x...> forms are checked elsewhere
        emit("local %d %s %d %s" % (ident, k, k in args, repr(v)))


def start_worker():
    """The worker's ident and frame, once it waits at its line."""
    t = threading.Thread(target=worker, args=(7, "x"), name="worker-1")
    t.daemon = True
    t.start()
    while True:
        f = sys._current_frames().get(t.ident)
        if f is not None and f.f_code.co_name == "worker" and f.f_lineno == WORKER_LINE:
            return t.ident, f
        time.sleep(0.01)


def main_wait(count, who):
    greeting = "hello"
    ident, frame = start_worker()
    me = threading.current_thread()
    report(me.ident, sys._getframe(), me.name, MAIN_LINE)
    report(ident, frame, "worker-1")
    del frame
    emit("ready %d" % os.getpid())
    sys.stdout.flush()
    sys.stdin.read()  # main waits here


main_wait(3, "me")
