# SPDX-License-Identifier: BSD-2-Clause
"""End-to-end fixtures: the built profiler, every CPython interpreter on the
machine, and target processes started from tests/programs.

A test that cannot run (not root, no BPF, no interpreter) skips with the
reason; under CI (CI=true) every such skip is a failure instead."""
import os
import subprocess
import sys
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PROFILER = os.path.join(ROOT, "pyspy-bpf")
PROGRAMS = os.path.join(ROOT, "tests", "programs")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def need(condition, reason):
    """Skip when condition is false; fail under CI."""
    if condition:
        return
    if IN_CI:
        pytest.fail("cannot run under CI: " + reason)
    pytest.skip(reason)


def list_interpreters():
    out = subprocess.run(
        [sys.executable, os.path.join(ROOT, "scripts", "list-interpreters")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
        timeout=120, check=False)
    found = []
    for line in out.stdout.splitlines():
        parts = line.split("\t")
        if len(parts) >= 4:
            found.append(Interpreter(*parts[:4]))
    return found


class Interpreter(object):
    def __init__(self, label, path, version, build):
        self.label = label
        self.path = path
        self.version = tuple(int(x) for x in version.split(".")[:3])
        self.build = build

    def __repr__(self):
        return self.label


INTERPRETERS = list_interpreters()


# Under the sanitizers (make test SANITIZE=1, CI's second pass) the tests
# that run on every interpreter take one build per layout era instead: the
# collector's code paths are the same for two builds of one era, and the
# first pass ran them all. PYSPY_ALL_INTERPRETERS=1 runs every one anyway.
SANITIZED_ERAS = [(2, 7), (3, 6), (3, 9), (3, 10), (3, 11), (3, 12), (3, 13), (3, 14), (3, 15)]


def one_per_era():
    """One build per layout era: a static (Debian) one where the era has
    one, else a shared one."""
    picked, seen = [], set()
    for i in sorted(INTERPRETERS, key=lambda i: not i.label.startswith("debian")):
        era = i.version[:2]
        if era in SANITIZED_ERAS and era not in seen:
            seen.add(era)
            picked.append(i)
    return sorted(picked, key=lambda i: INTERPRETERS.index(i))


def interpreters_for_this_build():
    if not os.path.exists(PROFILER) or os.environ.get("PYSPY_ALL_INTERPRETERS") == "1" or \
            not sanitized(PROFILER):
        return INTERPRETERS
    return one_per_era()


def pytest_generate_tests(metafunc):
    if "interp" in metafunc.fixturenames:
        wanted = interpreters_for_this_build()
        marker = metafunc.definition.get_closest_marker("versions")
        if marker:
            wanted = [i for i in wanted if i.version[:2] in marker.args[0]]
        metafunc.parametrize("interp", wanted, ids=[i.label for i in wanted])
    if "era_interp" in metafunc.fixturenames:
        wanted = one_per_era()
        metafunc.parametrize("era_interp", wanted, ids=[i.label for i in wanted])


def pytest_configure(config):
    config.addinivalue_line("markers", "versions(list): restrict to these (major, minor)")
    config.addinivalue_line(
        "markers", "serial: runs after the parallel part, alone (it counts or "
        "namespaces every process on the host, which another worker's "
        "targets would disturb)")


@pytest.fixture
def interp_any():
    """One interpreter, for tests about the tool rather than the version."""
    need(INTERPRETERS, "no CPython interpreter found")
    for i in INTERPRETERS:
        if i.version[:2] == (3, 12):
            return i
    return INTERPRETERS[-1]


@pytest.fixture(scope="session")
def profiler():
    need(os.path.exists(PROFILER), "pyspy-bpf is not built (run make)")
    need(os.geteuid() == 0, "needs root for BPF")
    return PROFILER


class Target(object):
    """A Python program under tests/programs, started and waited on until it
    prints its "ready" line; its other stdout lines are kept."""

    def __init__(self, interp, program, args=(), env=None):
        self.lines = []
        self.proc = subprocess.Popen(
            [interp.path, os.path.join(PROGRAMS, program)] + [str(a) for a in args],
            stdout=subprocess.PIPE, universal_newlines=True, env=env)
        self.pid = self.proc.pid
        deadline = time.time() + 30
        while time.time() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError("%s exited before it was ready" % program)
            line = line.strip()
            if line.startswith("ready"):
                return
            self.lines.append(line)
        raise RuntimeError("%s never became ready" % program)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.proc.stdout.close()


@pytest.fixture
def start_target():
    started = []

    def start(interp, program, args=(), env=None):
        t = Target(interp, program, args, env)
        started.append(t)
        return t

    yield start
    for t in started:
        t.stop()


def cpu_seconds(pid):
    """CPU time (user + system) the process has received so far."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / float(os.sysconf("SC_CLK_TCK"))


def wait_cpu(pid, seconds, timeout=120):
    """Polls until the process has received seconds of CPU more than now;
    returns what it received. Thresholds on samples follow from this, not
    from wall time, so a busy machine does not fail them."""
    start = cpu_seconds(pid)
    deadline = time.time() + timeout
    got = 0.0
    while time.time() < deadline:
        got = cpu_seconds(pid) - start
        if got >= seconds:
            break
        time.sleep(0.05)
    return got


class CpuMeter(object):
    """The CPU time a process receives from now on (all its threads)."""

    def __init__(self, pid):
        self.pid = pid
        self.start = cpu_seconds(pid)

    def seconds(self):
        return cpu_seconds(self.pid) - self.start


def last_cpu_seconds(pids, prof):
    """Each process's CPU time as last read before it exited, polled while
    prof runs: a short-lived target's CPU cannot be read after its exit."""
    seen = dict((pid, 0.0) for pid in pids)
    while prof.poll() is None:
        alive = False
        for pid in pids:
            try:
                seen[pid] = cpu_seconds(pid)
                alive = True
            except (IOError, OSError, ValueError, IndexError):
                pass
        if not alive:
            break
        time.sleep(0.02)
    return seen


def min_samples(cpu, rate, share=0.4):
    """The fewest samples a process that received cpu seconds of CPU while
    sampled at rate Hz may give: share of its ticks (the profiler's start
    and the machine's load take the rest: with two CPU burners, two test
    workers and more beside them, 37 of 78 was seen). Never a wall-clock
    figure."""
    return max(1, int(cpu * rate * share))


def run_profiler(args, timeout=120, env_extra=None):
    env = dict(os.environ, **env_extra) if env_extra else None
    return subprocess.run([PROFILER] + list(args), stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True,
                          timeout=timeout, check=False, env=env)


def parse_raw(text):
    """Collapsed stacks -> list of (frames root first, count)."""
    stacks = []
    for line in text.splitlines():
        if not line.strip():
            continue
        stack, _, count = line.rpartition(" ")
        stacks.append((stack.split(";"), int(count)))
    return stacks


def parse_frame(text):
    """'name (file:line)' -> (name, file, line or None)."""
    if not text.endswith(")") or " (" not in text:
        return text, None, None
    name, _, rest = text.rpartition(" (")
    rest = rest[:-1]
    fname, sep, line = rest.rpartition(":")
    if sep and line.isdigit():
        return name, fname, int(line)
    return name, rest, None


def sanitized(binary=None):
    """pyspy-bpf built with SANITIZE=1 (the ASan runtime linked in): freed
    memory waits in ASan's quarantine, so RSS checks do not apply; its leak
    check at exit stands in for them."""
    with open(binary or os.path.join(ROOT, "pyspy-bpf"), "rb") as f:
        return b"__asan_init" in f.read()
