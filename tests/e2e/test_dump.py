# SPDX-License-Identifier: BSD-2-Clause
"""dump and --idle: sleeping threads read without stopping anything (top:
test_top.py)."""
import json
import os
import re
import subprocess
import time

from conftest import need, parse_frame, parse_raw, run_profiler
from test_record import record


def own_view(t, path):
    with open(path) as f:
        return dict((v["thread_id"], v) for v in json.load(f))


def dump_json(profiler, pid):
    res = run_profiler(["dump", "-p", str(pid), "--json"])
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)


def test_dump_matches_own_view(profiler, interp, start_target, tmp_path):
    view_path = str(tmp_path / "view.json")
    t = start_target(interp, "dump_target.py", [view_path])
    view = own_view(t, view_path)
    traces = dump_json(profiler, t.pid)
    got = dict((tr["thread_id"], tr) for tr in traces)
    assert sorted(got) == sorted(view), (sorted(got), sorted(view))
    for ident, mine in view.items():
        tr = got[ident]
        assert tr["pid"] == t.pid
        assert tr["thread_name"] == mine["thread_name"], (tr["thread_name"], mine)
        ours = [(f["name"], f["filename"], f["line"]) for f in tr["frames"]]
        theirs = [(f["name"], f["filename"], f["line"]) for f in mine["frames"]]
        if mine["thread_name"] == "spinner":
            # It moves: the frames from spin() outwards are the same.
            i = [n for n, _, _ in ours].index("spin")
            j = [n for n, _, _ in theirs].index("spin")
            assert ours[i + 1:] == theirs[j + 1:], (ours, theirs)
            assert tr["active"], tr
            continue
        assert ours == theirs, "thread %s:\n%s\n%s" % (mine["thread_name"], ours, theirs)
        assert not tr["active"] and not tr["owns_gil"], tr


def test_dump_text_format(profiler, interp_any, start_target, tmp_path):
    t = start_target(interp_any, "dump_target.py", [str(tmp_path / "view.json")])
    res = run_profiler(["dump", "-p", str(t.pid)])
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert lines[0].startswith("Process %d: " % t.pid) and "dump_target.py" in lines[0]
    assert lines[1].startswith("Python v%d.%d." % interp_any.version[:2])
    heads = [l for l in lines if l.startswith("Thread ")]
    assert len(heads) == 5, res.stdout
    assert any('(idle): "sleeper"' in l for l in heads), heads
    assert any(l.strip() == "sleep_long (dump_target.py:%d)" % _line("time.sleep(seconds)")
               for l in lines), res.stdout


# py-spy 0.4's keys (src/stack_trace.rs), and "damage" of our own.
TRACE_KEYS = {"pid", "thread_id", "thread_name", "os_thread_id", "active", "owns_gil",
              "frames", "process_info", "damage"}
FRAME_KEYS = {"name", "filename", "module", "short_filename", "line", "locals", "is_entry",
              "is_shim_entry"}
UNNAMED = re.compile(r"Thread (\d+) \((idle|active|active\+gil)\)$")


def own_threads(t):
    """dump_order.py's own view of its threads, in the order it started them."""
    line = [l for l in t.lines if l.startswith("threads ")]
    assert len(line) == 1, t.lines
    return json.loads(line[0].split(" ", 1)[1])


def test_dump_json_keys_and_order(profiler, interp, start_target):
    """dump --json: every key py-spy prints; the threads in the interpreter's
    order (newest first), as the program started them; is_entry on the
    frames that began an activation of the eval loop."""
    t = start_target(interp, "dump_order.py")
    mine = own_threads(t)
    traces = dump_json(profiler, t.pid)
    assert [tr["thread_id"] for tr in traces] == [m["ident"] for m in reversed(mine)], \
        ([(tr["thread_id"], tr["thread_name"]) for tr in traces], mine)
    version = interp.version[:2]
    for tr, m in zip(traces, reversed(mine)):
        assert set(tr) == TRACE_KEYS, sorted(tr)
        assert tr["pid"] == t.pid and tr["thread_name"] == m["name"], (tr, m)
        if m["native_id"] is not None:
            assert tr["os_thread_id"] == m["native_id"], (tr, m)
        assert tr["process_info"] == {"pid": t.pid, "command_line": " ".join(t.proc.args),
                                      "parent": None}, tr["process_info"]
        assert tr["damage"] == [] and not tr["active"] and not tr["owns_gil"], tr
        frames = tr["frames"]
        assert frames, tr
        for f in frames:
            assert set(f) == FRAME_KEYS, sorted(f)
            assert f["module"] is None and f["locals"] is None, f
            assert f["short_filename"] == os.path.basename(f["filename"]), f
        entries = [f["is_entry"] for f in frames]
        shims = [f["is_shim_entry"] for f in frames]
        # The thread's first Python frame was called from C.
        assert entries[-1], frames
        if version < (3, 11):
            assert all(entries), frames     # every call its own activation
        elif m["name"] not in (None, "MainThread"):
            # _bootstrap calls _bootstrap_inner from Python: the same activation.
            inner = [f for f in frames if f["name"].endswith("_bootstrap_inner")]
            assert len(inner) == 1 and not inner[0]["is_entry"], frames
        # 3.12+ shows an activation's start by a shim frame below it.
        assert shims == (entries if version >= (3, 12) else [False] * len(frames)), frames


def test_dump_text_layout(profiler, interp_any, start_target):
    """dump's text as py-spy prints it: the header, one blank line, then the
    threads oldest first with no blank line between or after them; a thread
    threading does not know has no name."""
    t = start_target(interp_any, "dump_order.py")
    mine = own_threads(t)
    res = run_profiler(["dump", "-p", str(t.pid)])
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert lines[0] == "Process %d: %s" % (t.pid, " ".join(t.proc.args)), lines[0]
    assert lines[1].startswith("Python v%d.%d." % interp_any.version[:2]), lines[1]
    assert lines[2] == "" and "" not in lines[3:], res.stdout
    assert lines[3].startswith("Thread "), res.stdout
    heads = [l for l in lines if l.startswith("Thread ")]
    assert len(heads) == len(mine), res.stdout
    for head, m in zip(heads, mine):
        if m["name"] is None:
            assert UNNAMED.match(head), head
        else:
            assert head.endswith(': "%s"' % m["name"]), (head, m)
        if m["native_id"] is not None:
            assert head.startswith("Thread %d " % m["native_id"]), (head, m)


def test_dump_unnamed_threads(profiler, interp):
    """A process that never imported threading: every thread is unnamed (no
    name in the text, null in JSON), its kernel name (set by prctl) unused.
    -S: some installations import threading from a .pth file at start-up."""
    from conftest import PROGRAMS
    t = subprocess.Popen([interp.path, "-S", os.path.join(PROGRAMS, "kernel_named_thread.py"),
                          "60"], stdout=subprocess.PIPE, universal_newlines=True)
    try:
        assert t.stdout.readline() == "threading 0\n", "threading was imported"
        assert t.stdout.readline().startswith("ready"), "kernel_named_thread.py exited early"
        _unnamed_threads(profiler, t)
    finally:
        t.kill()
        t.wait()
        t.stdout.close()


def _unnamed_threads(profiler, t):
    traces = dump_json(profiler, t.pid)
    assert len(traces) == 2, traces
    assert [tr["thread_name"] for tr in traces] == [None, None], traces
    res = run_profiler(["dump", "-p", str(t.pid)])
    assert res.returncode == 0, res.stderr
    heads = [l for l in res.stdout.splitlines() if l.startswith("Thread ")]
    assert len(heads) == 2 and all(UNNAMED.match(h) for h in heads), res.stdout
    assert "pyspy-renamed" not in res.stdout, res.stdout
    assert any(l.strip().startswith("renamed_spin (") for l in res.stdout.splitlines()), \
        res.stdout


def test_dump_full_filenames(profiler, interp_any, start_target):
    """--full-filenames: short_filename is the full path, in JSON and text."""
    t = start_target(interp_any, "dump_order.py")
    program = t.proc.args[1]
    res = run_profiler(["dump", "-p", str(t.pid), "--json", "--full-filenames"])
    assert res.returncode == 0, res.stderr
    frames = [f for tr in json.loads(res.stdout) for f in tr["frames"]]
    assert frames and all(f["short_filename"] == f["filename"] for f in frames), frames
    assert any(f["filename"] == program for f in frames), frames
    text = run_profiler(["dump", "-p", str(t.pid), "--full-filenames"]).stdout
    assert "(%s:" % program in text and "(dump_order.py:" not in text, text
    short = [f for tr in dump_json(profiler, t.pid) for f in tr["frames"]]
    assert any(f["short_filename"] == "dump_order.py" for f in short), short


def _line(text):
    from test_record import source_line
    return source_line("dump_target.py", text)


def test_dump_never_stops_target(profiler, interp_any, start_target, tmp_path):
    watch = str(tmp_path / "watch")
    t = start_target(interp_any, "dump_target.py", [str(tmp_path / "view.json"), watch])
    for _ in range(20):
        assert run_profiler(["dump", "-p", str(t.pid)]).returncode == 0
    time.sleep(0.5)
    with open(watch) as f:
        assert f.read().split() == ["stopped", "0"]


def test_idle_wall_clock(profiler, interp, start_target, tmp_path):
    t = start_target(interp, "half_sleep.py", [30])
    text, err = record(profiler, tmp_path, ["-p", str(t.pid), "-d", "4", "--idle"])
    leaf = {}
    for frames, count in parse_raw(text):
        name = parse_frame(frames[-1])[0]
        leaf[name] = leaf.get(name, 0) + count
    total = sum(leaf.values())
    assert total >= 200, (leaf, err)
    share = float(leaf.get("rest", 0)) / total
    assert 0.25 <= share <= 0.75, (leaf, err)
    # Without --idle only the CPU time shows.
    text, err = record(profiler, tmp_path, ["-p", str(t.pid), "-d", "2"])
    leaf = {}
    for frames, count in parse_raw(text):
        name = parse_frame(frames[-1])[0]
        leaf[name] = leaf.get(name, 0) + count
    # rest() itself runs on a CPU on its way into the sleep and out of it: a
    # tick can land there, rarely (a few in a hundred on a busy machine,
    # where the target gets few ticks at all): at most 5% of them, plus a
    # margin of 3 for a small count (with --idle it is 25-75%).
    total = sum(leaf.values())
    assert total, leaf
    assert leaf.get("rest", 0) <= 0.05 * total + 3, leaf


def test_dump_locals(profiler, interp, tmp_path):
    """dump -l / -ll / -lll: every argument and local of a frame, as repr()
    shows it (subclasses of the builtins as their base), cut to 128 bytes
    per -l with "..." (a string keeps its closing quote: 'abc'...); the
    arguments are co_argcount's, as py-spy lists them; on every
    interpreter."""
    from conftest import PROGRAMS
    p = subprocess.Popen([interp.path, os.path.join(PROGRAMS, "objects_target.py")],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        expected = {}
        while True:
            line = p.stdout.readline().decode("utf-8")
            assert line, "objects_target.py exited early"
            line = line.rstrip("\n")
            if line.startswith("ready"):
                break
            if line.startswith("local "):
                _, name, arg, rep = line.split(" ", 3)
                expected[name] = (arg == "1", rep)
        assert len(expected) > 30
        for flag, budget in (("-l", 128), ("-ll", 256), ("-lll", 384)):
            traces = json.loads(run_profiler(["dump", "-p", str(p.pid), flag, "--json"]).stdout)
            frames = [f for tr in traces for f in tr["frames"] if f["name"] == "objects_target"]
            assert len(frames) == 1, traces
            got = dict((v["name"], (v["arg"], v["repr"])) for v in frames[0]["locals"])
            assert sorted(got) == sorted(expected), (sorted(got), sorted(expected))
            for name, (arg, rep) in expected.items():
                garg, grep = got[name]
                assert garg == arg, (name, garg, arg)
                if grep != rep:
                    # Longer than the budget: cut, marked, and a prefix;
                    # a string's closing quote before the "...".
                    assert grep.endswith("...") and len(grep.encode("utf-8")) <= budget, (name, grep)
                    assert len(rep.encode("utf-8")) > budget - 4, (name, grep, rep)
                    quoted = rep[-1] in "'\"" and rep[0] in "'\"b"
                    cut = grep[:-4] if quoted else grep[:-3]
                    assert rep.startswith(cut), (name, grep, rep)
                    assert not quoted or grep[-4] == rep[-1], (name, grep, rep)
        text = run_profiler(["dump", "-p", str(p.pid), "-l"]).stdout
        assert "        Arguments:" in text and "        Locals:" in text, text
    finally:
        p.stdin.close()
        p.wait()


def test_dump_subprocesses(profiler, interp_any, tmp_path):
    """dump -s: the process and its descendants, found by their parents in
    /proc, each dumped; without -s a parent that runs no Python is refused."""
    code = "import time; time.sleep(60)"
    shell = subprocess.Popen(["sh", "-c", '"$0" -c "$1" & "$0" -c "$1" & wait',
                              interp_any.path, code])
    try:
        def children():
            with open("/proc/%d/task/%d/children" % (shell.pid, shell.pid)) as f:
                return f.read().split()
        deadline = time.time() + 30
        while len(children()) < 2 and time.time() < deadline:
            time.sleep(0.1)
        kids = sorted(int(c) for c in children())
        assert len(kids) == 2, kids
        res = None
        while time.time() < deadline:
            res = run_profiler(["dump", "-p", str(shell.pid), "-s"])
            heads = sorted(int(l.split()[1].rstrip(":")) for l in res.stdout.splitlines()
                           if l.startswith("Process "))
            if res.returncode == 0 and heads == kids:
                break
            time.sleep(0.2)  # an interpreter still starting up
        assert res.returncode == 0 and heads == kids, (res.stdout, res.stderr, kids)
        # py-spy's layout: each process under its own header with its
        # parent's line, py-spy's separator between two processes.
        parent = "Parent Process %d: %s" % (shell.pid, " ".join(shell.args))
        blocks = res.stdout.split("\n\n" + "-" * 80 + "\n")
        assert len(blocks) == 2, res.stdout
        for block in blocks:
            lines = block.splitlines()
            assert re.match(r"Process \d+: %s -c " % re.escape(interp_any.path), lines[0]), block
            assert lines[1].startswith("Python v") and lines[2] == parent, block
            assert lines[3] == "" and lines[4].startswith("Thread ") and "" not in lines[4:], block
        # --json: the children too (py-spy's has the first process only),
        # each trace with its process and its parent.
        res = run_profiler(["dump", "-p", str(shell.pid), "-s", "--json"])
        assert res.returncode == 0, res.stderr
        traces = json.loads(res.stdout)
        assert sorted(tr["pid"] for tr in traces) == kids, traces
        for tr in traces:
            info = tr["process_info"]
            assert info["pid"] == tr["pid"] and info["command_line"].endswith(code), info
            assert info["parent"] == {"pid": shell.pid, "command_line": " ".join(shell.args),
                                      "parent": None}, info
        alone = run_profiler(["dump", "-p", str(shell.pid)])
        assert alone.returncode == 4 and "does not run a CPython" in alone.stderr, alone
    finally:
        subprocess.call(["pkill", "-P", str(shell.pid)])
        shell.kill()
        shell.wait()
