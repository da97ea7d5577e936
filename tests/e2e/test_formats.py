# SPDX-License-Identifier: BSD-2-Clause
"""Every output format, opened by the program that reads it, and the record
options end to end on real processes."""
import glob
import json
import os
import re
import subprocess

from conftest import (PROFILER, PROGRAMS, ROOT, need, parse_frame, parse_raw,
                      run_profiler)
from test_record import record, source_line

ARTIFACTS = os.path.join(ROOT, "tests", ".work", "artifacts")


def test_formats_open_in_their_readers(profiler, interp_any, start_target, tmp_path):
    t = start_target(interp_any, "spin_chain.py", [60])
    out = tmp_path / "profiles"
    out.mkdir()
    for fmt, name in (("flamegraph", "p.svg"), ("speedscope", "p.json"),
                      ("chrometrace", "trace.json"), ("pprof", "p.pb.gz")):
        res = run_profiler(["record", "-p", str(t.pid), "-d", "2", "-r", "200", "-f", fmt,
                            "-o", str(out / name)])
        assert res.returncode == 0, res.stderr
        assert "wrote %s profile" % fmt in res.stderr
    if not os.path.isdir(ARTIFACTS):
        os.makedirs(ARTIFACTS)
    shot = os.path.join(ARTIFACTS, "flamegraph.png")
    res = subprocess.run([os.path.join(ROOT, "tests", "writers", "check_consumers"),
                          "--hot", "level_d", "--min-share", "0.9", "--screenshot", shot,
                          str(out)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         universal_newlines=True, timeout=600)
    assert res.returncode == 0, res.stdout
    assert "0 failed" in res.stdout, res.stdout
    assert os.path.getsize(shot) > 10000


def test_default_name_and_format(profiler, interp_any, start_target, tmp_path):
    t = start_target(interp_any, "spin_chain.py", [30])
    res = subprocess.run([profiler, "-p", str(t.pid), "-d", "1"], cwd=str(tmp_path),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         universal_newlines=True, timeout=60)
    assert res.returncode == 0, res.stderr
    files = os.listdir(str(tmp_path))
    assert len(files) == 1 and files[0].startswith("pyspy-bpf-%d-" % t.pid), files
    assert files[0].endswith(".svg")
    assert "<svg" in open(os.path.join(str(tmp_path), files[0])).read(2000)
    assert "web browser" in res.stderr


def test_output_to_stdout(profiler, interp_any, start_target, tmp_path):
    t = start_target(interp_any, "spin_chain.py", [30])
    res = run_profiler(["-p", str(t.pid), "-d", "1", "-f", "raw", "-o", "-"])
    assert res.returncode == 0, res.stderr
    assert "level_d" in res.stdout
    assert sum(c for _, c in parse_raw(res.stdout)) > 10


def test_function_nolineno_fullnames(profiler, interp_any, start_target, tmp_path):
    t = start_target(interp_any, "spin_chain.py", [30])
    path = os.path.join(PROGRAMS, "spin_chain.py")
    text, _ = record(profiler, tmp_path, ["-p", str(t.pid), "-d", "1", "-F"])
    leaf = set(fr[-1] for fr, _ in parse_raw(text))
    assert leaf == {"level_d (spin_chain.py:%d)" % source_line("spin_chain.py", "def level_d")}
    text, _ = record(profiler, tmp_path, ["-p", str(t.pid), "-d", "1", "--nolineno"])
    assert set(fr[-1] for fr, _ in parse_raw(text)) == {"level_d (spin_chain.py)"}
    text, _ = record(profiler, tmp_path, ["-p", str(t.pid), "-d", "1", "--full-filenames"])
    for frames, _ in parse_raw(text):
        assert parse_frame(frames[-1])[1] == path, frames


def test_command_and_subprocesses(profiler, tmp_path):
    from conftest import INTERPRETERS
    need(len(INTERPRETERS) >= 2, "two CPython interpreters are needed")
    a, b = INTERPRETERS[-1], INTERPRETERS[-2]
    prog = os.path.join(PROGRAMS, "spin_chain.py")
    script = "%s %s 1 && %s %s 1; exit 7" % (a.path, prog, b.path, prog)
    out = str(tmp_path / "cmd.txt")
    res = run_profiler(["record", "-s", "-f", "raw", "-o", out, "--", "sh", "-c", script])
    assert res.returncode == 7, res.stderr  # the command's own status
    with open(out) as f:
        stacks = parse_raw(f.read())
    # py-spy's nesting: the shell is the root, each Python process under it.
    roots = set(fr[0] for fr, _ in stacks)
    assert len(roots) == 1 and re.match(r'process \d+:"sh -c ', roots.pop()), roots
    kids = set(fr[1] for fr, _ in stacks)
    assert len(kids) == 2 and all(r.startswith("process ") for r in kids), kids
    # Each process spins in the chain; start-up (imports) may be sampled too.
    for kid in kids:
        mine = [(fr, c) for fr, c in stacks if fr[1] == kid]
        chain = sum(c for fr, c in mine if "level_d" in fr[-1] and "level_a" in " ".join(fr))
        assert chain >= 0.8 * sum(c for _, c in mine), (kid, mine)
    # Without -s only the command itself, which is not Python here.
    res = run_profiler(["record", "-f", "raw", "-o", out, "--", a.path, prog, "1"])
    assert res.returncode == 0, res.stderr
    with open(out) as f:
        stacks = parse_raw(f.read())
    module = "<module> (spin_chain.py:%d)" % source_line("spin_chain.py", "level_a(float(")
    total = sum(c for _, c in stacks)
    # Start-up (imports) may be sampled too; the script's own frames dominate.
    # The script spins a second of wall time, start-up takes its CPU time
    # whatever the load: a few samples of it beyond the tenth are allowed.
    assert total and total - sum(c for fr, c in stacks if fr[0] == module) <= \
        0.1 * total + 3, stacks


def test_several_pids(profiler, interp_any, start_target, tmp_path):
    a = start_target(interp_any, "spin_chain.py", [30])
    b = start_target(interp_any, "deep_recursion.py", [20, 30])
    text, err = record(profiler, tmp_path, ["-p", str(a.pid), "-p", str(b.pid), "-d", "2", "-s"])
    roots = set(fr[0].split(":")[0] for fr, _ in parse_raw(text))
    assert roots == {"process %d" % a.pid, "process %d" % b.pid}, roots
    assert "2 processes" in err


def test_live_status_on_a_terminal(profiler, interp_any, start_target, tmp_path):
    need(os.path.exists("/usr/bin/tmux"), "tmux is needed (scripts/install-deps)")
    import time
    t = start_target(interp_any, "spin_chain.py", [60])
    sock = "pyspy-status-%d" % os.getpid()
    tmux = ["tmux", "-L", sock]
    out = str(tmp_path / "p.svg")
    subprocess.check_call(tmux + ["new-session", "-d", "-s", "rec", "-x", "120", "-y", "10",
                                  "%s -p %d -d 4 -o %s; sleep 30" % (profiler, t.pid, out)])
    try:
        # Until the summary is on the screen, however long start-up takes on
        # a loaded machine (the deadline is a hang guard); the status line,
        # redrawn every second of the 4 s, is seen on the way.
        screens = []
        deadline = time.time() + 120
        while time.time() < deadline and (not screens or "web browser" not in screens[-1]):
            time.sleep(0.2)
            screens.append(subprocess.check_output(tmux + ["capture-pane", "-p", "-t", "rec"],
                                                   universal_newlines=True))
        live = [s for s in screens if " samples " in s and " lost" in s]
        assert live, screens[-1]
        final = screens[-1]
        assert "wrote flamegraph profile to '%s'" % out in final, final
        assert "web browser" in final
    finally:
        subprocess.call(tmux + ["kill-server"])


def test_thread_roots_and_speedscope_names(profiler, interp_any, start_target, tmp_path):
    """-t: py-spy's root "thread (TID): NAME" with the kernel's thread id;
    speedscope: a profile per thread named 'Thread TID "NAME"', frames with
    the full file name."""
    need(interp_any.version[:2] >= (3, 8), "threading.get_native_id() is needed")
    t = start_target(interp_any, "named_threads.py", [60])
    tids = dict((name, int(tid)) for _, name, tid in (line.split() for line in t.lines))
    assert sorted(tids) == ["alpha", "beta"], t.lines
    text, err = record(profiler, tmp_path, ["-p", str(t.pid), "-d", "2", "-r", "200", "-t"])
    seen = set()
    for frames, _ in parse_raw(text):
        leaf = parse_frame(frames[-1])[0]
        if leaf in ("alpha_work", "beta_work"):
            name = leaf[:-len("_work")]
            assert frames[0] == "thread (%d): %s" % (tids[name], name), frames
            seen.add(name)
    assert seen == {"alpha", "beta"}, (text, err)

    text, err = record(profiler, tmp_path, ["-p", str(t.pid), "-d", "2", "-r", "200"],
                       fmt="speedscope")
    doc = json.loads(text)
    frames = doc["shared"]["frames"]
    profiles = dict((p["name"], p) for p in doc["profiles"])
    path = os.path.join(PROGRAMS, "named_threads.py")
    for name in ("alpha", "beta"):
        p = profiles.get('Thread %d "%s"' % (tids[name], name))
        assert p and p["samples"], (sorted(profiles), err)
        for sample in p["samples"]:
            leaf = frames[sample[-1]]
            assert leaf["name"] == name + "_work" and leaf["file"] == path, leaf


def test_subprocess_nesting(profiler, interp_any, tmp_path):
    """-s: a child's stacks under its parent's process frame, the whole
    chain of ancestors root first, then the thread root, as py-spy nests
    them."""
    prog = os.path.join(PROGRAMS, "family_tree.py")
    out = tmp_path / "family.txt"
    res = run_profiler(["record", "-s", "-t", "-r", "200", "-f", "raw", "-o", str(out),
                        "--", interp_any.path, prog, "parent", "0.5"])
    assert res.returncode == 0, res.stderr
    roles = ["parent", "child", "grandchild"]
    chains = {}
    for frames, count in parse_raw(out.read_text()):
        work = [parse_frame(fr)[0] for fr in frames if fr.endswith(")")]
        work = [w[:-len("_work")] for w in work if w.endswith("_work")]
        if not work:
            continue  # start-up, spawning, waiting
        role = work[0]
        depth = roles.index(role) + 1
        procs = frames[:depth]
        for i, fr in enumerate(procs):
            m = re.match(r'process (\d+):"(.*)"$', fr)
            assert m and m.group(2).endswith(" %s %s 0.5" % (prog, roles[i])), frames
        assert frames[depth].startswith("thread ("), frames
        chains.setdefault(role, set()).add(tuple(procs))
    assert sorted(chains) == sorted(roles), (chains, res.stderr)
    # One process per role, and each chain extends its parent's.
    assert all(len(c) == 1 for c in chains.values()), chains
    parent, child, grandchild = (chains[r].pop() for r in roles)
    assert child[:1] == parent and grandchild[:2] == child, (parent, child, grandchild)


def phase_events(path, prog):
    with open(path) as f:
        events = json.load(f)
    assert isinstance(events, list), type(events)
    assert all(e["cat"] == "py-spy" for e in events), events[:3]
    named = [e for e in events if e["ph"] == "M" and e["name"] == "thread_name"]
    assert any(e["tid"] == e["pid"] and e["args"]["name"].startswith("%d: " % e["pid"])
               for e in named), named
    mine = [e for e in events if e["ph"] in ("B", "E")
            and e["name"] in ("phase_one", "phase_two")]
    for e in mine:
        assert e["args"]["filename"] == prog, e
    return mine


def test_chrometrace_phases(profiler, interp_any, tmp_path):
    """chrometrace as py-spy writes it: a list of events named by function,
    file and line in args; the slices follow the program's phases and merge
    while function and file (and line, unless --nolineno) stay."""
    prog = os.path.join(PROGRAMS, "phases.py")
    for nolineno in (False, True):
        out = str(tmp_path / ("trace-%d.json" % nolineno))
        res = run_profiler(["record", "-r", "100", "-f", "chrometrace", "-o", out]
                           + (["--nolineno"] if nolineno else [])
                           + ["--", interp_any.path, prog, "3", "0.2"])
        assert res.returncode == 0, res.stderr
        mine = phase_events(out, prog)
        begins = [e["name"] for e in mine if e["ph"] == "B"]
        runs = [n for i, n in enumerate(begins) if not i or begins[i - 1] != n]
        assert runs == ["phase_one", "phase_two"] * 3, begins
        # A slice that ends where the next of the same function begins.
        splits = [(a, b) for a, b in zip(mine, mine[1:])
                  if a["ph"] == "E" and b["ph"] == "B" and a["name"] == b["name"]
                  and a["ts"] == b["ts"]]
        if nolineno:
            assert all(e["args"]["line"] is None for e in mine), mine[:3]
            assert not splits, splits[:3]
        else:
            assert all(e["args"]["line"] > 0 for e in mine), mine[:3]
            # Split only where the line changed; the loop's lines all show.
            assert splits and all(a["args"]["line"] != b["args"]["line"]
                                  for a, b in splits), splits[:3]


def test_subprocesses_already_running(profiler, interp_any, tmp_path):
    """record -p PID -s: the children the target started before the
    profiler are followed too (as py-spy does), nested under its process
    frame; without -s they are not."""
    import time
    prog = os.path.join(PROGRAMS, "spin_chain.py")
    shell = subprocess.Popen(["sh", "-c", '"$0" "$1" 60 & "$0" "$1" 60 & wait', interp_any.path,
                              prog])
    try:
        def children():
            with open("/proc/%d/task/%d/children" % (shell.pid, shell.pid)) as f:
                return sorted(int(c) for c in f.read().split())
        deadline = time.time() + 30
        while len(children()) < 2 and time.time() < deadline:
            time.sleep(0.1)
        kids = children()
        assert len(kids) == 2, kids
        seen = set()
        while time.time() < deadline:
            text, err = record(profiler, tmp_path, ["-p", str(shell.pid), "-s", "-d", "1"])
            stacks = parse_raw(text)
            seen = set(int(re.match(r"process (\d+):", fr[1]).group(1)) for fr, _ in stacks
                       if len(fr) > 1 and "level_d" in fr[-1])
            if seen == set(kids):
                break	# else an interpreter still starting up
        assert seen == set(kids), (kids, text, err)
        assert all(re.match(r'process %d:"sh -c ' % shell.pid, fr[0]) for fr, _ in stacks), text
        # Without -s: the shell alone, which runs no Python.
        res = run_profiler(["record", "-p", str(shell.pid), "-d", "1", "-f", "raw", "-o",
                            str(tmp_path / "no-s.txt")])
        assert res.returncode != 0, res.stderr
    finally:
        shell.kill()
        for k in kids:
            try:
                os.kill(k, 9)
            except OSError:
                pass
        shell.wait()
