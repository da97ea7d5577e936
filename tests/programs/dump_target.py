# SPDX-License-Identifier: BSD-2-Clause
# Parks threads in known places: blocked on an Event, in time.sleep, in a
# socket read, and one spinning (which also watches whether any thread of
# this process is ever stopped or traced). A reporter thread then records
# this process's own view of every parked thread's stack
# (sys._current_frames + traceback.extract_stack) as JSON in argv[1], prints
# "ready <pid>" and exits. argv[2], when given, is where the spinner writes
# "stopped <n>" (states T/t or a TracerPid seen) on SIGUSR1... it rewrites it
# every 0.2 s instead, so no signal is needed.
import json
import os
import signal
import socket
import sys
import threading
import time
import traceback

OUT = sys.argv[1]
WATCH = sys.argv[2] if len(sys.argv) > 2 else None
event = threading.Event()
left, right = socket.socketpair()


def wait_on_event(n):
    event.wait()


def sleep_long(seconds):
    time.sleep(seconds)


def read_socket(sock):
    return sock.recv(16)


def stopped_threads():
    """Threads of this process that are stopped or traced, per /proc."""
    n = 0
    task = "/proc/%d/task" % os.getpid()
    for tid in os.listdir(task):
        try:
            with open("%s/%s/stat" % (task, tid)) as f:
                state = f.read().rpartition(")")[2].split()[0]
        except (IOError, OSError, IndexError):
            continue
        if state in ("T", "t"):
            n += 1
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("TracerPid:") and int(line.split()[1]) != 0:
                n += 1
    return n


def spin(watch):
    stopped = 0
    last = 0
    while True:
        for _ in range(2000):
            pass
        if watch:
            stopped += stopped_threads()
            now = time.time()
            if now - last > 0.2:
                last = now
                with open(watch + ".tmp", "w") as f:
                    f.write("stopped %d\n" % stopped)
                os.rename(watch + ".tmp", watch)


def report():
    time.sleep(0.5)
    me = threading.current_thread().ident if hasattr(threading.current_thread(), "ident") else None
    names = dict((t.ident, t.name) for t in threading.enumerate())
    view = []
    for ident, frame in sys._current_frames().items():
        if ident == me:
            continue
        stack = traceback.extract_stack(frame)
        view.append({
            "thread_id": ident,
            "thread_name": names.get(ident),
            # innermost first, like the profiler
            "frames": [{"name": s[2], "filename": s[0], "line": s[1]} for s in reversed(stack)],
        })
    with open(OUT + ".tmp", "w") as f:
        json.dump(view, f)
    os.rename(OUT + ".tmp", OUT)
    sys.stdout.write("ready %d\n" % os.getpid())
    sys.stdout.flush()


if __name__ == "__main__":
    threads = [
        threading.Thread(target=wait_on_event, args=(1,), name="waiter"),
        threading.Thread(target=sleep_long, args=(3600,), name="sleeper"),
        threading.Thread(target=read_socket, args=(left,), name="reader"),
        threading.Thread(target=spin, args=(WATCH,), name="spinner"),
    ]
    for t in threads:
        t.daemon = True
        t.start()
    reporter = threading.Thread(target=report, name="reporter")
    reporter.start()
    event.wait()
