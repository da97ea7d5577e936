# SPDX-License-Identifier: BSD-2-Clause
"""dump and --idle: sleeping threads read without stopping anything (top:
test_top.py)."""
import json
import os
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
        alone = run_profiler(["dump", "-p", str(shell.pid)])
        assert alone.returncode == 4 and "does not run a CPython" in alone.stderr, alone
    finally:
        subprocess.call(["pkill", "-P", str(shell.pid)])
        shell.kill()
        shell.wait()
