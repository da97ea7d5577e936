# SPDX-License-Identifier: BSD-2-Clause
"""The builds no package ships, made by scripts/build-source-pythons from
Debian trixie's python3.13 source: free-threaded (3.13t, no GIL: eight
threads run Python at once) and debug (3.13d, --with-pydebug). Every sample
must be the sampled thread's own stack, with exact lines and the thread's
name; dump --locals must show what the program holds; --gil on a build
without a GIL is an error, and no thread owns one."""
import json
import os
import re
import subprocess

import pytest

from conftest import (ROOT, CpuMeter, Interpreter, min_samples, need, parse_frame, parse_raw,
                      run_profiler)
from test_top import Pane, own

SOURCE_PYTHONS = os.path.join(ROOT, "tests", ".work", "source-pythons")
PROGRAM = os.path.join(ROOT, "tests", "programs", "free_threads.py")
VARIANTS = ["3.13t", "3.13d"]
RATE = 200
NO_PYTHON = 4


def source_python(variant):
    path = os.path.join(SOURCE_PYTHONS, variant, "build", "python")
    need(os.path.exists(os.path.join(SOURCE_PYTHONS, variant, ".built")),
         "no %s build: run scripts/build-source-pythons (make interpreters)" % variant)
    with open(os.path.join(SOURCE_PYTHONS, variant, "version")) as f:
        version = f.read().split()[0]
    return Interpreter("src-" + variant, path, version, "static")


def loop_lines():
    """spin_K -> the lines of its loop (the while and its body)."""
    lines = {}
    with open(PROGRAM) as f:
        src = f.read().splitlines()
    for i, text in enumerate(src, 1):
        m = re.match(r"def (spin_\d)\(", text)
        if m:
            at = next(j for j in range(i, len(src)) if src[j].strip() == "while True:") + 1
            lines[m.group(1)] = (at, at + 1)
    return lines


class Threads(object):
    """free_threads.py started on a build: its pid, each worker's kernel tid
    and whether the GIL is on."""

    def __init__(self, interp):
        self.proc = subprocess.Popen([interp.path, PROGRAM, "300"], stdout=subprocess.PIPE,
                                     universal_newlines=True)
        self.pid = self.proc.pid
        self.tids = {}
        for line in self.proc.stdout:
            words = line.split()
            if words[0] == "thread":
                self.tids[int(words[2])] = int(words[1])
            elif words[0] == "gil":
                self.gil = words[1] == "1"
            elif words[0] == "ready":
                break
        assert len(self.tids) == 8, self.tids

    def stop(self):
        self.proc.kill()
        self.proc.wait()
        self.proc.stdout.close()


@pytest.fixture(params=VARIANTS)
def threads(request):
    t = Threads(source_python(request.param))
    t.variant = request.param
    yield t
    t.stop()


def test_gil_state(threads):
    """The builds are what they claim: 3.13t runs without a GIL."""
    assert threads.gil == (threads.variant != "3.13t")


def test_record_each_thread_its_own_stack(profiler, threads, tmp_path):
    """Eight threads in eight functions: each sample of a thread is its own
    function's stack, on its loop's lines, under the thread's name."""
    out = tmp_path / "p.txt"
    cpu = CpuMeter(threads.pid)
    res = run_profiler(["record", "-p", str(threads.pid), "-t", "-r", str(RATE), "-d", "3",
                        "-f", "raw", "-o", str(out)])
    got = cpu.seconds()
    assert res.returncode == 0, res.stderr
    lines = loop_lines()
    per_thread = dict((k, 0) for k in range(8))
    wrong = []
    for frames, count in parse_raw(out.read_text()):
        m = re.match(r"thread \((\d+)\): (.*)$", frames[0])
        assert m, frames[0]
        tid, name = int(m.group(1)), m.group(2)
        if tid not in threads.tids:
            continue		# the main thread, asleep: not on a CPU
        k = threads.tids[tid]
        names = [parse_frame(f) for f in frames[1:]]
        want = ["_bootstrap", "_bootstrap_inner", "run", "spin_%d" % k]
        if name != "worker-%d" % k or [n[0] for n in names] != want or \
                names[-1][1] != "free_threads.py" or names[-1][2] not in lines["spin_%d" % k]:
            wrong.append((frames, count))
            continue
        per_thread[k] += count
    assert not wrong, wrong[:5]
    # Eight threads share the machine's CPUs: each gets its share of the
    # process's CPU time, and the sampler a share of its ticks.
    each = min_samples(got / 8.0, RATE, share=0.25)
    assert all(n >= each for n in per_thread.values()), (per_thread, each, got, res.stderr)
    assert "unknown frames: 0" in res.stderr, res.stderr


def test_dump_threads_and_gil(profiler, threads):
    """dump --json: every thread, named, its own function at the top; no
    thread owns a GIL on the free-threaded build."""
    res = run_profiler(["dump", "-p", str(threads.pid), "--json"])
    assert res.returncode == 0, res.stderr
    traces = json.loads(res.stdout)
    by_tid = dict((t["os_thread_id"], t) for t in traces)
    assert set(threads.tids) <= set(by_tid), (sorted(by_tid), threads.tids)
    lines = loop_lines()
    for tid, k in threads.tids.items():
        t = by_tid[tid]
        assert t["thread_name"] == "worker-%d" % k, t
        top = t["frames"][0]
        assert top["name"] == "spin_%d" % k and top["line"] in lines[top["name"]], t
    assert by_tid[threads.pid]["thread_name"] == "MainThread"
    if threads.variant == "3.13t":
        assert not any(t["owns_gil"] for t in traces), traces


def test_dump_locals_match_program(profiler, threads):
    """dump --locals: each spinning frame's arguments as the program holds
    them. n changes under the read (the target is never stopped): a new int
    each turn, the old one freed, which the debug build's allocator fills
    with a pattern at once: a number, or an int or a place marked as not
    readable whole, never anything else."""
    res = run_profiler(["dump", "-p", str(threads.pid), "--locals", "--json"])
    assert res.returncode == 0, res.stderr
    for t in json.loads(res.stdout):
        k = threads.tids.get(t["os_thread_id"])
        if k is None:
            continue
        local = dict((v["name"], v) for v in t["frames"][0]["locals"])
        assert local["k"]["repr"] == str(k) and local["k"]["arg"], local
        assert local["label"]["repr"] == repr("worker %d" % k) and local["label"]["arg"], local
        assert re.match(r"^(\d+|<(int|unreadable) at 0x[0-9a-f]+>)$", local["n"]["repr"]) and \
            not local["n"]["arg"], local


def test_gil_flag(profiler, threads, tmp_path):
    """--gil: refused on the free-threaded build (it has no GIL), taken on
    the debug build (it has one)."""
    res = run_profiler(["record", "-p", str(threads.pid), "--gil", "-d", "1", "-f", "raw",
                        "-o", str(tmp_path / "p.txt")])
    if threads.variant == "3.13t":
        assert res.returncode == NO_PYTHON, res.stderr
        assert "free-threaded" in res.stderr and "GIL" in res.stderr, res.stderr
    else:
        assert res.returncode == 0, res.stderr


def test_gil_host_wide_skips_free_threaded(profiler, tmp_path):
    """Host-wide --gil: a free-threaded process is skipped with a warning
    that names it; the run goes on."""
    threads = Threads(source_python("3.13t"))
    try:
        res = run_profiler(["record", "--gil", "-d", "1", "-f", "raw", "-o",
                            str(tmp_path / "p.txt")])
        assert res.returncode == 0, res.stderr
        assert "not profiling pid %d: a free-threaded build has no GIL" % threads.pid in \
            res.stderr, res.stderr
        assert not any(f[0].startswith("process %d:" % threads.pid)
                       for f, _ in parse_raw((tmp_path / "p.txt").read_text())), \
            "sampled anyway"
    finally:
        threads.stop()


def test_idle_shows_main_thread(profiler, threads, tmp_path):
    """--idle: the main thread, asleep, is in the profile too."""
    out = tmp_path / "p.txt"
    res = run_profiler(["record", "-p", str(threads.pid), "--idle", "-t", "-d", "2", "-f",
                        "raw", "-o", str(out)])
    assert res.returncode == 0, res.stderr
    main = [f for f, c in parse_raw(out.read_text())
            if f[0].startswith("thread (%d): MainThread" % threads.pid)]
    assert main and all(parse_frame(f[-1])[:2] == ("<module>", "free_threads.py") for f in main), \
        main


@pytest.fixture
def pane():
    panes = []
    yield lambda command: panes.append(Pane(command, 200, 40)) or panes[-1]
    for p in panes:
        p.close()


def test_top(profiler, threads, pane):
    """top: the eight functions, and the eight threads and the main one."""
    p = pane("%s top -p %d --delay 0.3" % (profiler, threads.pid))
    for k in range(8):
        p.wait_for(own("spin_%d (free_threads.py)" % k), "spin_%d's row" % k)
    p.wait_for(lambda s: re.search(r"Threads: 9$", s, re.M), "Threads: 9")


@pytest.mark.parametrize("variant", VARIANTS)
def test_dump_locals_every_kind(profiler, variant, tmp_path):
    """dump -l/-ll/-lll of every kind of object objects_target.py holds
    (ints big and small, strings of every width, containers, subclasses,
    instances), compared with the program's own repr(): the object headers
    of the free-threaded build (ob_tid, split reference counts) are 16 bytes
    longer, and every field after them moved."""
    import test_dump
    test_dump.test_dump_locals(profiler, source_python(variant), tmp_path)
