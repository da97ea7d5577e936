# SPDX-License-Identifier: BSD-2-Clause
"""Every CPython on the machine: deep stacks, the GIL flag, threads in C code."""
import os
import re

from conftest import IN_CI, INTERPRETERS, min_samples, parse_frame, parse_raw
from test_record import record, record_sampled, source_line

# What CI must find: every pyenv version, the system's static 3.11 and the
# Debian builds scripts/install-debian-pythons installs.
REQUIRED = [
    "pyenv-2.7.18", "pyenv-3.6.15", "pyenv-3.7.16", "pyenv-3.8.18", "pyenv-3.9.18",
    "pyenv-3.10.13", "pyenv-3.11.7", "pyenv-3.12.1", "pyenv-3.13.0", "system-3.11",
    "debian-bullseye-3.9", "debian-trixie-3.13", "debian-sid-3.13", "debian-sid-3.14",
    "debian-sid-3.15",
]


def test_every_interpreter_present():
    labels = set(i.label for i in INTERPRETERS)
    missing = [r for r in REQUIRED if r not in labels]
    if IN_CI:
        assert not missing, "interpreters missing: %s" % missing
    assert INTERPRETERS, "no CPython interpreter found"


def thread_idents(target):
    names = {}
    for line in target.lines:
        _, name, ident = line.split()
        names["0x%x" % int(ident)] = name
    return names


def per_thread(stacks, idents):
    """thread name -> list of (frames without the thread root, count)."""
    out = {}
    for frames, count in stacks:
        m = re.match(r"thread \((0x[0-9a-f]+)\)", frames[0])
        assert m, frames
        name = idents.get(m.group(1))
        if name:
            out.setdefault(name, []).append((frames[1:], count))
    return out


def test_deep_recursion_complete(profiler, interp, start_target, tmp_path):
    depth = 300
    t = start_target(interp, "deep_recursion.py", [depth, 30])
    text, err, used = record_sampled(profiler, tmp_path,
                                     ["-p", str(t.pid), "-d", "2", "-r", "200"], t.pid)
    stacks = parse_raw(text)
    total = sum(c for _, c in stacks)
    assert total >= min_samples(used, 200), (total, used, err)
    call = source_line("deep_recursion.py", "return recurse(level - 1)")
    loop = source_line("deep_recursion.py", "while time.time() < end:")
    good = 0
    for frames, count in stacks:
        if len(frames) != depth + 1 or parse_frame(frames[0])[0] != "<module>":
            continue
        inner = [parse_frame(f) for f in frames[1:]]
        if all(n == "recurse" and l == call for n, _, l in inner[:-1]) and \
                inner[-1][0] == "recurse" and inner[-1][2] in (loop, loop + 1):
            good += count
    assert good >= 0.95 * total, "%d of %d complete:\n%s" % (good, total, text[:2000])
    assert "truncated stacks: 0" in err


def test_deeper_than_limit_is_marked(profiler, interp, start_target, tmp_path):
    t = start_target(interp, "deep_recursion.py", [4500, 30])
    text, err = record(profiler, tmp_path, ["-p", str(t.pid), "-d", "2"])
    stacks = parse_raw(text)
    total = sum(c for _, c in stacks)
    assert total > 0
    for frames, count in stacks:
        # Innermost 4096 frames kept, the cut marked at the root end.
        assert frames[0] == "<truncated>", frames[:3]
        assert len(frames) == 4097
    m = re.search(r"truncated stacks: (\d+)", err)
    assert m and int(m.group(1)) >= total, err


def record_threads(profiler, tmp_path, target, idents, extra=()):
    """Per thread name: its samples, its stacks; the run's stderr; and the
    fewest samples each of the two busy threads may give: a quarter of the
    ticks of half the CPU time the process received (they share it)."""
    text, err, used = record_sampled(
        profiler, tmp_path, ["-p", str(target.pid), "-d", "3", "-r", "200", "-t"] + list(extra),
        target.pid)
    floor = min_samples(used / 2, 200, share=0.25)
    threads = per_thread(parse_raw(text), idents)
    return dict((n, sum(c for _, c in s)) for n, s in threads.items()), threads, err, floor


def test_c_code_keeps_python_caller(profiler, interp, start_target, tmp_path):
    """A thread inside hashlib still shows the Python function that called it
    (the GIL is released there where hashlib is OpenSSL's)."""
    t = start_target(interp, "gil_release.py", [30, "hashlib"])
    idents = thread_idents(t)
    counts, threads, err, floor = record_threads(profiler, tmp_path, t, idents)
    samples = threads.get("in_c", [])
    total = sum(c for _, c in samples)
    assert total >= floor, (counts, floor, err)
    leafy = sum(c for fr, c in samples if parse_frame(fr[-1])[0] == "in_c")
    assert leafy >= 0.9 * total, samples


def test_gil_flag(profiler, interp, start_target, tmp_path):
    """zlib.compress releases the GIL on every version: its thread keeps its
    stack, and --gil keeps the spinning thread's samples, not its."""
    t = start_target(interp, "gil_release.py", [30, "zlib"])
    idents = thread_idents(t)
    counts, threads, err, floor = record_threads(profiler, tmp_path, t, idents)
    for name in ("spin_python", "in_c"):
        samples = threads.get(name, [])
        total = sum(c for _, c in samples)
        assert total >= floor, (name, counts, floor, err)
        leafy = sum(c for fr, c in samples if parse_frame(fr[-1])[0] == name)
        assert leafy >= 0.9 * total, (name, samples)

    # The spinning thread holds the GIL whenever it runs: its floor stands
    # under -g too (from this run's own CPU time, not the last run's count).
    gil, _, err, floor = record_threads(profiler, tmp_path, t, idents, ["-g"])
    assert gil.get("spin_python", 0) >= floor, (gil, counts, floor)
    assert gil.get("in_c", 0) <= 0.2 * gil.get("spin_python", 0), (gil, counts)
    assert "not holding the GIL" in err
