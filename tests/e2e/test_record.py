# SPDX-License-Identifier: BSD-2-Clause
"""The core sampler end to end: real interpreters under the real BPF program."""
import os
import re
import subprocess
import time

import pytest

from conftest import (PROGRAMS, CpuMeter, Interpreter, last_cpu_seconds, min_samples, need,
                      parse_frame, parse_raw, run_profiler)


def source_line(program, text):
    with open(os.path.join(PROGRAMS, program)) as f:
        for number, line in enumerate(f, 1):
            if text in line:
                return number
    raise AssertionError("%r not in %s" % (text, program))


def chain_expectation():
    p = "spin_chain.py"
    loop = source_line(p, "while time.time() < end:")
    return [
        ("<module>", p, {source_line(p, "level_a(float(")}),
        ("level_a", p, {source_line(p, "return level_b(")}),
        ("level_b", p, {source_line(p, "return level_c(")}),
        ("level_c", p, {source_line(p, "return level_d(")}),
        ("level_d", p, set(range(loop, loop + 4))),
    ]


def matches(frames, expected):
    if len(frames) != len(expected):
        return False
    for text, (name, fname, lines) in zip(frames, expected):
        n, f, line = parse_frame(text)
        if n != name or f != fname or line not in lines:
            return False
    return True


def record(profiler, tmp_path, args, fmt="raw"):
    out = str(tmp_path / ("profile." + fmt))
    res = run_profiler(["record", "-f", fmt, "-o", out] + list(args))
    assert res.returncode == 0, res.stderr
    with open(out) as f:
        return f.read(), res.stderr


def record_sampled(profiler, tmp_path, args, pid, fmt="raw"):
    """record(), and the CPU time pid received while it was sampled: from
    the profiler's "sampling" line to its exit (its start-up, which a busy
    machine stretches, is not counted)."""
    out = str(tmp_path / ("profile." + fmt))
    proc = subprocess.Popen([profiler, "record", "-f", fmt, "-o", out] + list(args),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            universal_newlines=True)
    err, cpu = [], None
    try:
        for line in proc.stderr:
            err.append(line)
            if cpu is None and line.startswith("pyspy-bpf: sampling"):
                cpu = CpuMeter(pid)
        used = cpu.seconds() if cpu else 0.0
        proc.wait(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, "".join(err)
    with open(out) as f:
        return f.read(), "".join(err), used


def test_chain_exact(profiler, interp, start_target, tmp_path):
    t = start_target(interp, "spin_chain.py", [30])
    text, err, used = record_sampled(profiler, tmp_path, ["-p", str(t.pid), "-d", "3", "-r", "200"],
                                     t.pid)
    stacks = parse_raw(text)
    total = sum(c for _, c in stacks)
    assert total >= min_samples(used, 200), \
        "too few samples: %d for %.2f s of CPU\n%s" % (total, used, err)
    expected = chain_expectation()
    good = sum(c for frames, c in stacks if matches(frames, expected))
    assert good >= 0.95 * total, "only %d of %d samples exact:\n%s" % (good, total, text)
    assert "samples" in err


def test_threads_attributed(profiler, interp, start_target, tmp_path):
    t = start_target(interp, "spin_threads.py", [30])
    idents = {}
    for line in t.lines:
        _, name, ident = line.split()
        idents[ident] = name
    assert len(idents) == 4
    text, err = record(profiler, tmp_path, ["-p", str(t.pid), "-d", "3", "-r", "200", "-t"])
    per_thread = {}
    for frames, count in parse_raw(text):
        m = re.match(r"thread \((\d+)\)", frames[0])
        assert m, frames
        ident = m.group(1)
        if ident not in idents:
            continue  # the main thread, waiting in join()
        leaf = parse_frame(frames[-1])[0]
        assert leaf == idents[ident], \
            "thread %s (%s) sampled in %s" % (ident, idents[ident], frames)
        per_thread[ident] = per_thread.get(ident, 0) + count
    # Two CPUs, four spinning threads: every thread gets its share of samples.
    assert sorted(per_thread) == sorted(idents), (per_thread, err)
    assert min(per_thread.values()) >= 20, per_thread


@pytest.mark.versions([(2, 7), (3, 9), (3, 12), (3, 13)])
def test_kernel_thread_name(profiler, interp, start_target, tmp_path):
    # A thread threading does not know goes by the kernel's name, which the
    # sample carries (it renamed itself after it started).
    t = start_target(interp, "kernel_named_thread.py", [30])
    text, err = record(profiler, tmp_path, ["-p", str(t.pid), "-d", "2", "-r", "200", "-t"])
    labels = {}
    for frames, count in parse_raw(text):
        if parse_frame(frames[-1])[0] == "renamed_spin":
            labels[frames[0]] = labels.get(frames[0], 0) + count
    assert labels, (text, err)
    for label in labels:
        assert re.match(r"thread \(\d+\): pyspy-renamed$", label), labels


@pytest.mark.versions([(2, 7), (3, 12)])
def test_threads_merged_unless_asked(profiler, interp, start_target, tmp_path):
    # Without --threads the output does not tell threads apart, so the same
    # stack from a hundred short-lived threads is one line; with it, stacks
    # have their thread as the root.
    t = start_target(interp, "churn_same_function.py", [30])
    for threads in (False, True):
        args = ["-p", str(t.pid), "-d", "2", "-r", "200"] + (["-t"] if threads else [])
        text, err = record(profiler, tmp_path, args)
        stacks = [tuple(frames) for frames, _ in parse_raw(text)]
        work = [s for s in stacks if parse_frame(s[-1])[0] == "same_work"]
        assert work, (text, err)
        if threads:
            roots = set(s[0] for s in work)
            # py-spy's root: the kernel's thread id and the thread's name
            # (threading's, or the kernel's for a thread too short-lived
            # for threading's names to have been read).
            assert all(re.match(r"thread \(\d+\): .", r) for r in roots), roots
        else:
            assert len(work) == len(set(work)), "stacks repeated:\n%s" % text
            # The collector kept them merged too, not one per thread.
            m = re.search(r"(\d+) distinct stacks", err)
            assert m and int(m.group(1)) <= len(stacks), (len(stacks), err)


@pytest.mark.versions([(3, 8), (3, 12), (3, 13)])
def test_thread_names_follow_reused_idents(profiler, interp, start_target, tmp_path):
    # A new thread usually gets the pthread ident of the one that ended
    # before it: it must never go by the dead thread's name (until threading
    # is read again, it goes by the kernel's name). 3.8+: threading knows
    # each thread's kernel tid.
    t = start_target(interp, "thread_generations.py", [30])
    text, err = record(profiler, tmp_path, ["-p", str(t.pid), "-d", "4", "-r", "200", "-t"])
    named = set()
    for frames, _ in parse_raw(text):
        leaf = parse_frame(frames[-1])[0]
        m = re.match(r"spin_gen_(\d+)$", leaf)
        if not m:
            continue
        root = re.match(r"thread \(\d+\): (.*)$", frames[0])
        assert root, frames
        name = root.group(1)
        if name.startswith("gen-"):
            assert name == "gen-" + m.group(1), (name, leaf)
            named.add(name)
    assert len(named) >= 2, (named, text)


@pytest.mark.versions([(3, 11), (3, 12), (3, 13)])
def test_host_wide_sees_new_processes(profiler, interp, start_target, tmp_path):
    out = str(tmp_path / "all.txt")
    prof = subprocess.Popen([profiler, "--duration", "6", "-f", "raw", "-o", out],
                            stderr=subprocess.PIPE, universal_newlines=True)
    try:
        time.sleep(1.5)
        a = start_target(interp, "spin_chain.py", [3])
        b = start_target(interp, "spin_chain.py", [3])
        # Their CPU time, polled until they exit (then it cannot be read).
        cpu = last_cpu_seconds([a.pid, b.pid], prof)
        _, err = prof.communicate(timeout=60)
    finally:
        if prof.poll() is None:
            prof.kill()
    assert prof.returncode == 0, err
    with open(out) as f:
        stacks = parse_raw(f.read())
    expected = chain_expectation()
    for t in (a, b):
        root = "process %d:" % t.pid
        mine = [(fr, c) for fr, c in stacks if fr[0].startswith(root)]
        total = sum(c for _, c in mine)
        # A quarter of its ticks: it runs a while before it is attached
        # (its exec seen, its interpreter mapped), and the machine is shared.
        floor = min_samples(cpu[t.pid], 100, share=0.25)
        assert total >= floor, "pid %d: %d samples for %.2f s of CPU\n%s" % (
            t.pid, total, cpu[t.pid], err)
        # Exact once in the program's own code: the samples of its start-up
        # (site, imports) are as many as the CPU it took, however long the
        # spin got on a shared machine.
        steady = sum(c for fr, c in mine if len(fr) > 1 and "(spin_chain.py:" in fr[1])
        good = sum(c for fr, c in mine if matches(fr[1:], expected))
        assert good >= 0.9 * steady, (t.pid, mine)


@pytest.mark.serial
def test_host_wide_names_unreadable_and_goes_on(profiler, start_target, tmp_path):
    """A process pyspy-bpf cannot read (PyPy) gets one message naming it;
    the CPython process next to it is profiled all the same."""
    from conftest import INTERPRETERS, Interpreter
    pypy = "/usr/bin/pypy3"
    need(os.path.exists(pypy), "pypy3 is not installed (scripts/install-deps)")
    need(INTERPRETERS, "no CPython interpreter found")
    p = start_target(Interpreter("pypy", pypy, "3.9.0", "shared"), "spin_chain.py", [30])
    c = start_target(INTERPRETERS[-1], "spin_chain.py", [30])
    out = str(tmp_path / "all.txt")
    res = run_profiler(["--duration", "2", "-f", "raw", "-o", out])
    assert res.returncode == 0, res.stderr
    lines = [l for l in res.stderr.splitlines() if "pid %d " % p.pid in l]
    assert len(lines) == 1 and "PyPy" in lines[0], res.stderr
    with open(out) as f:
        stacks = parse_raw(f.read())
    assert any(fr[0].startswith("process %d:" % c.pid) for fr, _ in stacks)
    assert not any(fr[0].startswith("process %d:" % p.pid) for fr, _ in stacks)
