# SPDX-License-Identifier: BSD-2-Clause
# Threads started one after another, each parked before the next starts, so
# the interpreter's thread list (newest first) has a known order: the main
# thread, "first" (threading), an unnamed one (_thread: threading does not
# know it), "third" (threading). Prints this process's own view, in start
# order, as one line "threads <json>": each thread's ident, kernel tid
# (3.8+, else null) and threading's name (threading.enumerate; null for the
# unnamed one); then "ready <pid>".
# Expected: dump --json lists them newest first, the text oldest first; the
# unnamed thread has no name.
import json
import os
import sys
import threading

try:
    import _thread as thread
except ImportError:  # 2.7
    import thread

parked = threading.Event()
started = thread.allocate_lock()
never = thread.allocate_lock()
never.acquire()
views = []


def native_id():
    get = getattr(thread, "get_native_id", None)
    return get() if get else None


def park_named():
    views.append((thread.get_ident(), native_id()))
    started.release()
    parked.wait()


def park_unnamed():
    views.append((thread.get_ident(), native_id()))
    started.release()
    never.acquire()


def start(how):
    started.acquire()
    how()
    started.acquire()	# the thread has run: its thread state is listed
    started.release()


if __name__ == "__main__":
    views.append((thread.get_ident(), native_id()))
    start(lambda: threading.Thread(target=park_named, name="first").start())
    start(lambda: thread.start_new_thread(park_unnamed, ()))
    start(lambda: threading.Thread(target=park_named, name="third").start())
    names = dict((t.ident, t.name) for t in threading.enumerate())
    out = [{"ident": i, "native_id": n, "name": names.get(i)} for i, n in views]
    sys.stdout.write("threads %s\n" % json.dumps(out))
    sys.stdout.write("ready %d\n" % os.getpid())
    sys.stdout.flush()
    never.acquire()
