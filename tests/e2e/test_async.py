# SPDX-License-Identifier: BSD-2-Clause
"""--async: asyncio task-aware stacks (3.11+). tests/programs/async_tree.py
runs a known tree: Task-1 (main) gathers worker-K, each awaiting its own
spinner-K, which spins. A sample of a spinner must show the whole chain,
each task with its coroutine on the line it awaits on; dump --async must
list the tree (on 3.14+ as `python -m asyncio pstree` does); without
--async nothing changes."""
import json
import os
import re
import subprocess

import pytest

from conftest import (INTERPRETERS, PROGRAMS, CpuMeter, interpreters_for_this_build,
                      min_samples, need, parse_frame, parse_raw, run_profiler)
from test_freethreaded import source_python

PROGRAM = os.path.join(PROGRAMS, "async_tree.py")
WORKERS = 3
RATE = 200
ASYNC_VERSIONS = [(3, 11), (3, 12), (3, 13), (3, 14), (3, 15)]
USAGE = 2
NO_PYTHON = 4


def marked_lines():
    """'# spin: burn' -> {'spin: burn': line}."""
    lines = {}
    with open(PROGRAM) as f:
        for i, text in enumerate(f, 1):
            m = re.search(r"# (\w+: \w+)$", text.rstrip())
            if m:
                lines[m.group(1)] = i
    return lines


LINES = marked_lines()


def spin_body():
    """The lines of spin()'s loop: a running spinner's frame may be on any."""
    with open(PROGRAM) as f:
        src = f.read().splitlines()
    first = src.index("async def spin(k):") + 1
    last = src.index("async def worker(k):")
    return range(first + 1, last + 1)


class Tree(object):
    """async_tree.py started: its pid, once every spinner has run."""

    def __init__(self, interp, mode="gather"):
        self.proc = subprocess.Popen([interp.path, PROGRAM, str(WORKERS), mode],
                                     stdout=subprocess.PIPE, universal_newlines=True)
        self.pid = self.proc.pid
        for line in self.proc.stdout:
            if line.startswith("ready"):
                break
        else:
            raise RuntimeError("async_tree.py exited before it was ready")

    def stop(self):
        self.proc.kill()
        self.proc.wait()
        self.proc.stdout.close()


def async_interpreters():
    """3.11+: every one, or one per layout era under the sanitizers
    (conftest.py)."""
    return [i for i in interpreters_for_this_build() if i.version[:2] in ASYNC_VERSIONS]


def started(label, mode="gather"):
    if label.startswith("src-"):
        interp = source_python(label[4:])
    else:
        interp = next(i for i in INTERPRETERS if i.label == label)
    t = Tree(interp, mode)
    t.interp = interp
    return t


@pytest.fixture(params=[i.label for i in async_interpreters()] + ["src-3.13t", "src-3.13d"])
def tree(request):
    t = started(request.param)
    yield t
    t.stop()


@pytest.fixture(params=[i.label for i in async_interpreters() if i.version >= (3, 14, 0)])
def tree314(request):
    t = started(request.param)
    yield t
    t.stop()


def chain_of(frames):
    """The spinner a sample's frames (root first) show, when they are the
    whole chain with its exact lines; else None."""
    f = [parse_frame(x) for x in frames]
    if len(f) < 6:
        return None
    m = re.match(r'task "worker-(\d)"$', f[2][0])
    if not m:
        return None
    k = m.group(1)
    want = [('task "Task-1"', None, None),
            ("main", "async_tree.py", LINES["await: main"]),
            ('task "worker-%s"' % k, None, None),
            ("worker", "async_tree.py", LINES["await: worker"]),
            ('task "spinner-%s"' % k, None, None)]
    if f[:5] != want or f[5][:2] != ("spin", "async_tree.py") or \
            f[5][2] not in (LINES["spin: burn"], LINES["spin: sleep"]):
        return None
    return int(k)


def test_record_task_chain(profiler, tree, tmp_path):
    """At least 90% of the samples are a spinner's, under its worker and
    Task-1, each on the line it awaits on; every spinner is seen."""
    out = tmp_path / "p.txt"
    cpu = CpuMeter(tree.pid)
    res = run_profiler(["record", "-p", str(tree.pid), "--async", "-r", str(RATE), "-d", "3",
                        "-f", "raw", "-o", str(out)])
    got = cpu.seconds()
    assert res.returncode == 0, res.stderr
    stacks = parse_raw(out.read_text())
    total = sum(n for _, n in stacks)
    per = dict((k, 0) for k in range(WORKERS))
    for frames, n in stacks:
        k = chain_of(frames)
        if k is not None:
            per[k] += n
    assert total >= min_samples(got, RATE, share=0.25), (total, got, res.stderr)
    assert sum(per.values()) >= 0.9 * total, (per, total, sorted(stacks, key=lambda s: -s[1])[:6])
    assert all(n > 0 for n in per.values()), per
    assert "unknown frames: 0" in res.stderr, res.stderr


def test_without_async_nothing_changes(profiler, tree, tmp_path):
    """No task frames without --async: the event loop's frames stand."""
    out = tmp_path / "p.txt"
    res = run_profiler(["record", "-p", str(tree.pid), "-r", str(RATE), "-d", "1",
                        "-f", "raw", "-o", str(out)])
    assert res.returncode == 0, res.stderr
    stacks = parse_raw(out.read_text())
    assert stacks
    assert not [s for s, _ in stacks if any(f.startswith("task ") for f in s)]
    spins = [s for s, _ in stacks if any(parse_frame(f)[0] == "spin" for f in s)]
    assert spins and all(parse_frame(s[0])[0] == "<module>" and
                         "_run_once" in [parse_frame(f)[0] for f in s] for s in spins), spins[:3]


def dump_tasks(pid):
    res = run_profiler(["dump", "-p", str(pid), "--async", "--json"])
    assert res.returncode == 0, res.stderr
    tasks = json.loads(res.stdout)
    names = dict((t["task_id"], t["task_name"]) for t in tasks)
    parent = {}
    for t in tasks:
        by = [names[a] for a in t["awaited_by"] if a in names]
        parent[t["task_name"]] = by[0] if by else None
    return tasks, parent


def expected_parents():
    want = {"Task-1": None}
    for k in range(WORKERS):
        want["worker-%d" % k] = "Task-1"
        want["spinner-%d" % k] = "worker-%d" % k
    return want


def test_dump_async_tree(profiler, tree):
    """Every task, who awaits it, and where a waiting one waits."""
    tasks, parent = dump_tasks(tree.pid)
    assert parent == expected_parents(), parent
    by_name = dict((t["task_name"], t) for t in tasks)
    main = by_name["Task-1"]["frames"]
    assert (main[-1]["name"], main[-1]["line"]) == ("main", LINES["await: main"]), main
    # One thread: one snapshot shows at most one task running, and a task
    # shown in a thread is running.
    assert sum(t["running"] for t in tasks) <= 1, tasks
    assert all(t["running"] for t in tasks if t["os_thread_id"] is not None), tasks
    for k in range(WORKERS):
        w = by_name["worker-%d" % k]
        assert not w["running"]
        assert [(f["name"], f["line"]) for f in w["frames"]] == \
            [("worker", LINES["await: worker"])], w
        # Waiting on its await, or read while it ran.
        s = by_name["spinner-%d" % k]["frames"]
        assert s[-1]["name"] == "spin" and s[-1]["line"] in spin_body(), s
    # The text: each task under the one awaiting it.
    res = run_profiler(["dump", "-p", str(tree.pid), "--async"])
    assert res.returncode == 0, res.stderr
    depth = {}
    for line in res.stdout.splitlines():
        m = re.match(r'( *)Task "([^"]+)"', line)
        if m:
            depth[m.group(2)] = len(m.group(1)) // 4
    assert depth == dict((n, {None: 0, "Task-1": 1}.get(p, 2))
                         for n, p in expected_parents().items()), res.stdout


@pytest.fixture(params=[i.label for i in async_interpreters()])
def group_tree(request):
    t = started(request.param, "taskgroup")
    yield t
    t.stop()


def test_taskgroup(profiler, group_tree, tmp_path):
    """A TaskGroup's tasks are awaited by the task in its async with: on
    3.11-3.13 found through the group the waiting coroutine holds."""
    tasks, parent = dump_tasks(group_tree.pid)
    assert parent == expected_parents(), parent
    main = [f for t in tasks if t["task_name"] == "Task-1" for f in t["frames"]]
    assert (main[-1]["name"], main[-1]["line"]) == ("main", LINES["await: group"]), main
    assert main[0]["name"] in ("__aexit__", "_aexit"), main
    out = tmp_path / "p.txt"
    res = run_profiler(["record", "-p", str(group_tree.pid), "--async", "-r", str(RATE), "-d",
                        "1", "-f", "raw", "-o", str(out)])
    assert res.returncode == 0, res.stderr
    stacks = parse_raw(out.read_text())
    total = sum(n for _, n in stacks)
    under = sum(n for s, n in stacks if s[0] == 'task "Task-1"' and
                re.match(r'task "worker-\d"$', next((f for f in s[1:] if f.startswith("task ")),
                                                     "")))
    assert total and under >= 0.9 * total, sorted(stacks, key=lambda s: -s[1])[:4]


def test_dump_matches_asyncio_pstree(profiler, tree314):
    """3.14+: the same tree as CPython's own reader, python -m asyncio pstree."""
    tree = tree314
    res = subprocess.run([tree.interp.path, "-m", "asyncio", "pstree", str(tree.pid)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         universal_newlines=True, timeout=60, check=False)
    assert res.returncode == 0, res.stderr
    theirs, stack = {}, []
    for line in res.stdout.splitlines():
        m = re.search(r"\(T\) (.+)$", line)
        if not m:
            continue
        col = line.index("(T)")
        while stack and stack[-1][0] >= col:
            stack.pop()
        theirs[m.group(1)] = stack[-1][1] if stack else None
        stack.append((col, m.group(1)))
    _, ours = dump_tasks(tree.pid)
    assert ours == theirs == expected_parents(), (ours, theirs)


def test_async_refused_with_native(profiler, interp_any):
    res = run_profiler(["record", "--async", "--native", "-d", "1", "-o", "/tmp/never"])
    assert res.returncode == USAGE and "--async" in res.stderr, res.stderr


def test_dump_async_before_311(profiler, start_target):
    """Tasks are read on 3.11+: an older interpreter is a clear error."""
    old = [i for i in INTERPRETERS if (3, 6) <= i.version[:2] < (3, 11)]
    need(old, "no CPython 3.6-3.10")
    t = start_target(old[-1], "spin_chain.py")
    res = run_profiler(["dump", "-p", str(t.pid), "--async"])
    assert res.returncode == NO_PYTHON and "3.11" in res.stderr, (res.returncode, res.stderr)


def test_hostile_task_name(profiler, interp_any, start_target, tmp_path):
    """A task's name comes from the target: escaped in raw and in the
    dump's text, exact in JSON."""
    t = start_target(interp_any, "async_hostile_name.py")
    out = tmp_path / "p.txt"
    res = run_profiler(["record", "-p", str(t.pid), "--async", "-d", "1", "-f", "raw",
                        "-o", str(out)])
    assert res.returncode == 0, res.stderr
    text = out.read_text()
    assert not re.search(r"[\x00-\x09\x0b-\x1f\x7f\u202e]", text), repr(text)
    assert 'task "evil\\x1b]0:pwned\\x07:x\\nforged (a.py:1) 99\\r\\u202e";spin' in text, text
    res = run_profiler(["dump", "-p", str(t.pid), "--async"])
    assert res.returncode == 0, res.stderr
    assert not re.search(r"[\x00-\x09\x0b-\x1f\x7f\u202e]", res.stdout), repr(res.stdout)
    assert 'Task "evil\\x1b]0;pwned\\x07;x\\nforged (a.py:1) 99\\r\\u202e"' in res.stdout
    res = run_profiler(["dump", "-p", str(t.pid), "--async", "--json"])
    assert res.returncode == 0, res.stderr
    names = [x["task_name"] for x in json.loads(res.stdout)]
    assert "evil\x1b]0;pwned\x07;x\nforged (a.py:1) 99\r\u202e" in names, names


def test_dump_async_without_tasks(profiler, interp_any, start_target):
    """A 3.11+ process that runs no event loop has no tasks: said, exit 0."""
    t = start_target(interp_any, "spin_chain.py")
    res = run_profiler(["dump", "-p", str(t.pid), "--async"])
    assert res.returncode == 0, res.stderr
    assert res.stdout.rstrip().endswith("No asyncio tasks"), res.stdout
    res = run_profiler(["dump", "-p", str(t.pid), "--async", "--json"])
    assert res.returncode == 0 and json.loads(res.stdout) == [], res.stdout
