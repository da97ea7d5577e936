# SPDX-License-Identifier: BSD-2-Clause
"""Targets that try to stall or blind the profiler, end to end: memory whose
every read would wait forever (userfaultfd), and a process with 10,005
threads. Each command must finish on its own, or at a signal, and say what
it could not read; no timing is asserted beyond "it ended" (a stalled run
never does: the timeouts here only turn a stall into a failure)."""
import json
import os
import re
import signal
import subprocess
import threading
import time

import pytest

from conftest import PROFILER, need, parse_frame, parse_raw, run_profiler

UFFD_MODES = ["name", "filename", "frame-code"]
# A stalled run never ends: anything this long is a stall.
STALL = 60


def expect_uffd_stack(mode, names, files):
    """The victim's frame (or outer's, for frame-code) is marked, the rest
    is whole."""
    assert names[:2] == ["<module>", "main"], names
    if mode == "name":
        assert names[2:] == ["outer", "<unreadable>"], names
        assert files[-1].endswith("hostile_uffd.py"), files
    elif mode == "filename":
        assert names[2:] == ["outer", "victim"], names
        assert files[-1] == "<unreadable>", files
    else:
        assert names[2:] == ["<unknown>", "victim"], names


class Running(object):
    """A pyspy-bpf command in the background, its output collected."""

    def __init__(self, args):
        self.proc = subprocess.Popen([PROFILER] + list(args), stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, universal_newlines=True)
        self.out, self.err = [], []
        for stream, into in ((self.proc.stdout, self.out), (self.proc.stderr, self.err)):
            threading.Thread(target=self._read, args=(stream, into), daemon=True).start()

    @staticmethod
    def _read(stream, into):
        for line in stream:
            into.append(line)

    def wait_for(self, pattern, timeout=STALL):
        deadline = time.time() + timeout
        while time.time() < deadline and self.proc.poll() is None:
            if re.search(pattern, "".join(self.out)):
                return True
            time.sleep(0.05)
        return bool(re.search(pattern, "".join(self.out)))

    def interrupt(self, sig=signal.SIGINT):
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(STALL)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            pytest.fail("pyspy-bpf ignored the signal:\n" + "".join(self.err))


@pytest.mark.versions([(2, 7), (3, 10), (3, 12), (3, 14)])
@pytest.mark.parametrize("mode", UFFD_MODES)
def test_userfaultfd_never_stalls(profiler, interp, mode, start_target, tmp_path):
    """A name, file name or code object in a region whose faults the target
    never serves: record, dump, top, --idle and host-wide runs end on time
    and show what they could not read as <unreadable> / <unknown>."""
    t = start_target(interp, "hostile_uffd.py", [mode, 120])
    out = tmp_path / "p.txt"
    res = run_profiler(["record", "-p", str(t.pid), "-d", "1.5", "-f", "raw", "-o", str(out)],
                       timeout=STALL)
    assert res.returncode == 0, res.stderr
    stacks = parse_raw(out.read_text())
    assert stacks, res.stderr
    for frames, _ in stacks:
        parsed = [parse_frame(f) for f in frames]
        expect_uffd_stack(mode, [p[0] for p in parsed], [p[1] for p in parsed])
    if mode == "frame-code":
        assert "unknown frames: 0" not in res.stderr, res.stderr
    else:
        assert re.search(r"unreadable names: [1-9]", res.stderr), res.stderr

    res = run_profiler(["dump", "-p", str(t.pid)], timeout=STALL)
    assert res.returncode == 0, res.stderr
    frames = [l.strip() for l in res.stdout.splitlines() if l.startswith("    ")]
    parsed = [parse_frame(f) for f in reversed(frames)]
    expect_uffd_stack(mode, [p[0] for p in parsed], [p[1] for p in parsed])

    res = run_profiler(["dump", "-p", str(t.pid), "--locals", "--json"], timeout=STALL)
    assert res.returncode == 0, res.stderr
    assert len(json.loads(res.stdout)) == 1

    top = Running(["top", "-p", str(t.pid), "--delay", "0.3"])
    found = top.wait_for(r"main \(hostile_uffd\.py")
    top.interrupt()
    assert found, "".join(top.out[-20:]) + "".join(top.err)

    res = run_profiler(["record", "-i", "-p", str(t.pid), "-d", "1.5", "-f", "raw", "-o",
                        str(out)], timeout=STALL)
    assert res.returncode == 0, res.stderr
    assert parse_raw(out.read_text()), res.stderr


@pytest.mark.serial
def test_userfaultfd_host_wide(profiler, interp_any, start_target, tmp_path):
    """Every trap at once, host-wide and with --idle: the others are still
    profiled, and the run ends on time."""
    traps = [start_target(interp_any, "hostile_uffd.py", [m, 120]) for m in UFFD_MODES]
    sleeper = start_target(interp_any, "hostile_uffd.py", ["name", 120, "sleep"])
    other = start_target(interp_any, "spin_chain.py", [120])
    out = tmp_path / "all.txt"
    res = run_profiler(["record", "-i", "-d", "2", "-f", "raw", "-o", str(out)], timeout=STALL)
    assert res.returncode == 0, res.stderr
    roots = set(int(re.match(r"process (\d+)", f[0]).group(1))
                for f, _ in parse_raw(out.read_text()))
    for t in traps + [sleeper, other]:
        assert t.pid in roots, (t.pid, res.stderr)


def start_many_threads(interp, n):
    """many_threads.py with n parked threads; started here rather than by
    start_target, whose 30 s to get ready is short for 10,000 threads on a
    busy machine."""
    proc = subprocess.Popen([interp.path, os.path.join(os.path.dirname(PROFILER), "tests",
                                                        "programs", "many_threads.py"),
                             str(n), "600"], stdout=subprocess.PIPE, universal_newlines=True)
    line = proc.stdout.readline()
    if not line.startswith("ready"):
        proc.kill()
        proc.wait()
        pytest.fail("many_threads.py did not start %d threads: %r" % (n, line))
    return proc


@pytest.fixture
def many_threads(interp_any):
    need(os.path.exists("/proc/sys/kernel/threads-max") and
         int(open("/proc/sys/kernel/threads-max").read()) > 20000,
         "the kernel allows too few threads")
    proc = start_many_threads(interp_any, 10005)
    yield proc
    proc.kill()
    proc.wait()


def test_dump_lists_every_thread(profiler, many_threads):
    """All 10,006 threads (10,005 parked, and the main one), each with the
    name threading gave it, in text and in JSON, and no warning."""
    pid = many_threads.pid
    res = run_profiler(["dump", "-p", str(pid)], timeout=STALL)
    assert res.returncode == 0, res.stderr
    assert "missing" not in res.stderr, res.stderr
    heads = [l for l in res.stdout.splitlines() if l.startswith("Thread ")]
    assert len(heads) == 10006, (len(heads), res.stderr)
    names = set(re.search(r'"(.*)"$', l).group(1) for l in heads)
    assert names == set(["MainThread"] + ["parked-%d" % i for i in range(10005)]), \
        sorted(names - set("parked-%d" % i for i in range(10005)))[:10]
    assert res.stdout.count("    parked (many_threads.py:") == 10005

    res = run_profiler(["dump", "-p", str(pid), "--json"], timeout=STALL)
    assert res.returncode == 0, res.stderr
    traces = json.loads(res.stdout)
    assert len(traces) == 10006
    tids = set(int(t) for t in os.listdir("/proc/%d/task" % pid))
    assert set(t["os_thread_id"] for t in traces) == tids


def test_idle_with_many_threads_keeps_time(profiler, many_threads, tmp_path):
    """--idle over 10,006 threads: -d and SIGINT end the run whatever the
    iterator is doing, and parked threads are in the profile (how many
    depends on how much CPU the collector got: a pass over every thread is
    spread over ticks)."""
    pid = many_threads.pid
    out = tmp_path / "idle.txt"
    res = run_profiler(["record", "-i", "-p", str(pid), "-d", "2", "-f", "raw", "-o", str(out)],
                       timeout=STALL)
    assert res.returncode == 0, res.stderr
    stacks = parse_raw(out.read_text())
    parked = sum(c for f, c in stacks if parse_frame(f[-1])[0] == "wait" or
                 any(parse_frame(x)[0] == "parked" for x in f))
    assert parked > 0, res.stderr

    run = Running(["record", "-i", "-p", str(pid), "-f", "raw", "-o", str(out)])
    deadline = time.time() + STALL
    while time.time() < deadline and "sampling" not in "".join(run.err):
        time.sleep(0.05)
    time.sleep(0.5)  # into the passes over the threads
    assert run.interrupt() == 0, "".join(run.err)
    assert parse_raw(out.read_text())


def test_libpython_only_mapped_is_not_the_interpreter(profiler, start_target, tmp_path):
    """A process that maps another version's libpython to read it (as a
    profiler or a debugger does) runs its own interpreter: that one is read,
    not the file whose text is not executable there."""
    from conftest import INTERPRETERS
    static = [i for i in INTERPRETERS if i.build == "static" and i.version[:2] == (3, 11)]
    shared = [i for i in INTERPRETERS if i.build == "shared" and i.version[:2] == (3, 12)]
    need(static and shared, "a static 3.11 and a shared 3.12 interpreter")
    lib = os.path.join(os.path.dirname(os.path.dirname(shared[0].path)), "lib",
                       "libpython3.12.so.1.0")
    need(os.path.exists(lib), "no %s" % lib)
    t = start_target(static[0], "maps_other_libpython.py", [lib])
    with open("/proc/%d/maps" % t.pid) as f:
        assert any(l.rstrip().endswith(lib) for l in f), "the library is not mapped"
    out = tmp_path / "p.txt"
    res = run_profiler(["record", "-p", str(t.pid), "-d", "1", "-f", "raw", "-o", str(out)])
    assert res.returncode == 0, res.stderr
    stacks = parse_raw(out.read_text())
    leaves = set(parse_frame(f[-1])[:2] for f, _ in stacks)
    assert leaves == {("spin_here", "maps_other_libpython.py")}, stacks
    res = run_profiler(["dump", "-p", str(t.pid)])
    assert res.returncode == 0 and "Python v3.11" in res.stdout, res.stdout + res.stderr
