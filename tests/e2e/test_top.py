# SPDX-License-Identifier: BSD-2-Clause
"""top in a terminal (tmux), as py-spy's top: %Own and %Total over the last
refresh, OwnTime and TotalTime since the start, grouped by function (L: by
line), a header naming the command and its Python version, every thread
counted, a help screen. Every check polls the pane until its condition holds
or a generous deadline passes: nothing here depends on how fast the machine
is."""
import itertools
import os
import re
import subprocess
import time

import pytest

from conftest import PROGRAMS, need

DELAY = "0.3"
DEADLINE = 90	# seconds for a condition to show on the pane: a busy machine
ROW = re.compile(r"^\s*([\d.]+)%\s+([\d.]+)%\s+([\d.]+)s\s+([\d.]+)s\s+(.+?)\s*$")
TOTAL = re.compile(r"^Total Samples (\d+)", re.M)
_sessions = itertools.count()


class Row(object):
    def __init__(self, m):
        self.own_pct, self.total_pct = float(m.group(1)), float(m.group(2))
        self.own_time, self.total_time = float(m.group(3)), float(m.group(4))
        self.label = m.group(5)

    def __repr__(self):
        return "%s %.2f%% %.3fs" % (self.label, self.own_pct, self.own_time)


def rows(screen):
    """The table's rows, in the order shown."""
    return [Row(m) for m in (ROW.match(l) for l in screen.splitlines()) if m]


def row(screen, label):
    got = [r for r in rows(screen) if r.label == label]
    return got[0] if got else None


def total_samples(screen):
    m = TOTAL.search(screen)
    return int(m.group(1)) if m else None


class Pane(object):
    """A command in a detached tmux session of its own, its screen read with
    capture-pane. The shell stays on after it (sleep), so its last screen
    and what it printed at exit can be read."""

    def __init__(self, command, width, height):
        need(os.path.exists("/usr/bin/tmux"), "tmux is needed (scripts/install-deps)")
        sock = "pyspy-top-%d-%d" % (os.getpid(), next(_sessions))
        self.tmux = ["tmux", "-L", sock]
        subprocess.check_call(self.tmux + ["new-session", "-d", "-s", "top", "-x", str(width),
                                           "-y", str(height), command + "; sleep 120"])

    def screen(self):
        return subprocess.check_output(self.tmux + ["capture-pane", "-p", "-t", "top"],
                                       universal_newlines=True)

    def wait_for(self, cond, what):
        """The first screen cond holds on; fails with the last one after the
        deadline."""
        deadline = time.time() + DEADLINE
        while True:
            screen = self.screen()
            if cond(screen):
                return screen
            assert time.time() < deadline, "%s never showed:\n%s" % (what, screen)
            time.sleep(0.1)

    def next_screen(self, seen):
        """The next screen whose sample total is not in seen (a redraw),
        added to it."""
        screen = self.wait_for(lambda s: total_samples(s) not in seen, "a redraw")
        seen.add(total_samples(screen))
        return screen

    def keys(self, keys):
        subprocess.check_call(self.tmux + ["send-keys", "-t", "top", "-l", keys])

    def close(self):
        subprocess.call(self.tmux + ["kill-server"])


@pytest.fixture
def pane():
    panes = []

    def start(command, width=300, height=40):
        p = Pane(command, width, height)
        panes.append(p)
        return p

    yield start
    for p in panes:
        p.close()


def version_of(interp):
    return "python v%d.%d.%d" % interp.version


def own(label, at_least=0.0):
    """A condition: label's row is shown, its %Own above at_least."""
    def cond(screen):
        r = row(screen, label)
        return r is not None and r.own_pct > at_least
    return cond


def test_top_in_tmux(profiler, interp_any, start_target, pane):
    """By function by default, the busiest first, within the terminal's 24
    lines; q gives the terminal back."""
    t = start_target(interp_any, "spin_chain.py", [120])
    p = pane("%s top -p %d --delay %s" % (profiler, t.pid, DELAY), 80, 24)
    screen = p.wait_for(own("level_d (spin_chain.py)"), "level_d's row")
    assert "Function (filename)" in screen and "(filename:line)" not in screen, screen
    assert rows(screen)[0].label == "level_d (spin_chain.py)", screen
    assert len(screen.splitlines()) <= 24
    assert "Press Control-C to quit, or ? for help." in screen, screen
    p.keys("q")
    p.wait_for(lambda s: "Collecting samples" not in s, "the shell's screen")


def test_top_command_in_tmux(profiler, interp_any, pane, tmp_path):
    """top -- COMMAND: the header names the command line and the version as
    py-spy's does; when the command exits, so does top, with its exit status
    (py-spy's top does)."""
    done = tmp_path / "status"
    program = os.path.join(PROGRAMS, "spin_chain.py")
    p = pane("%s top --delay %s -- %s %s 4; echo $? > %s" % (
        profiler, DELAY, interp_any.path, program, done))
    head = "Collecting samples from '%s %s 4' (%s)" % (interp_any.path, program,
                                                      version_of(interp_any))
    screen = p.wait_for(lambda s: head in s.splitlines(), "the header")
    screen = p.wait_for(own("level_d (spin_chain.py)"), "level_d's row")
    assert re.search(r"^GIL: [\d.]+%, Active: [\d.]+%, Threads: 1$", screen, re.M), screen
    p.wait_for(lambda s: done.exists() and done.read_text().strip(), "the exit status")
    assert done.read_text().strip() == "0"


def test_top_percentages_are_per_refresh(profiler, interp_any, start_target, pane, tmp_path):
    """two_phase.py spins in a(), then in b(): a's %Own drops to 0 within
    two refreshes of the first that shows b while its OwnTime stays, and
    keys 1 and 3 sort by the two different figures."""
    flag = str(tmp_path / "phase-two")
    t = start_target(interp_any, "two_phase.py", [flag, 300])
    p = pane("%s top -p %d --delay %s" % (profiler, t.pid, DELAY))
    head = "Collecting samples from '%s %s %s 300' (%s)" % (
        interp_any.path, os.path.join(PROGRAMS, "two_phase.py"), flag, version_of(interp_any))
    screen = p.wait_for(own("a (two_phase.py)"), "a's %Own")
    assert head in screen.splitlines(), screen
    # a ran long enough that its OwnTime should stay above b's for a while.
    screen = p.wait_for(lambda s: row(s, "a (two_phase.py)").own_time >= 2, "a's OwnTime")
    a_before = row(screen, "a (two_phase.py)").own_time
    open(flag, "w").close()

    screen = p.wait_for(own("b (two_phase.py)"), "b's %Own")
    seen = set([total_samples(screen)])
    # Each refresh adds samples (b spins): a new total is a new screen.
    for _ in range(2):
        screen = p.next_screen(seen)
    a = row(screen, "a (two_phase.py)")
    assert a is not None and a.own_pct == 0 and a.total_pct == 0, screen
    assert a.own_time >= a_before, (a_before, screen)
    assert row(screen, "b (two_phase.py)").own_pct > 0, screen
    # The default order: OwnTime.
    shown = [r.own_time for r in rows(screen)]
    assert shown == sorted(shown, reverse=True), screen

    # A key is read before every draw; the first new screen after it may
    # have been drawn before the key reached the terminal, not the second.
    p.keys("1")
    p.next_screen(seen)
    screen = p.next_screen(seen)
    shown = [r.own_pct for r in rows(screen)]
    assert shown == sorted(shown, reverse=True), screen
    assert rows(screen)[0].label == "b (two_phase.py)", screen
    p.keys("3")
    p.next_screen(seen)
    screen = p.next_screen(seen)
    shown = [r.own_time for r in rows(screen)]
    assert shown == sorted(shown, reverse=True), screen


def test_top_counts_every_thread(profiler, interp_any, start_target, pane):
    """Five threads, four spinning and one waiting in join(): five, as
    py-spy counts every thread of its last sample."""
    t = start_target(interp_any, "spin_threads.py", [120])
    p = pane("%s top -p %d --delay %s" % (profiler, t.pid, DELAY))
    screen = p.wait_for(own("spin_0 (spin_threads.py)"), "spin_0's row")
    screen = p.wait_for(lambda s: re.search(r"Threads: 5$", s, re.M), "Threads: 5")
    assert "Processes" not in screen, screen


def test_top_subprocesses_header(profiler, interp_any, start_target, pane):
    """-s: py-spy's "and subprocesses", and the processes counted."""
    t = start_target(interp_any, "spin_chain.py", [120])
    p = pane("%s top -s -p %d --delay %s" % (profiler, t.pid, DELAY))
    head = "Collecting samples from '%s %s 120' and subprocesses" % (
        interp_any.path, os.path.join(PROGRAMS, "spin_chain.py"))
    p.wait_for(lambda s: head in s.splitlines(), "the header")
    p.wait_for(lambda s: re.search(r"Threads: 1, Processes 1$", s, re.M), "the processes")


def test_top_help_and_lines(profiler, interp_any, start_target, pane):
    """? shows py-spy's key list, any key closes it; L toggles lines."""
    t = start_target(interp_any, "spin_chain.py", [120])
    p = pane("%s top -p %d --delay %s" % (profiler, t.pid, DELAY))
    p.wait_for(own("level_d (spin_chain.py)"), "level_d's row")
    p.keys("?")
    screen = p.wait_for(lambda s: "Keyboard Shortcuts" in s, "the help")
    for line in ("1      Sort by %Own (% of time currently spent in the function)",
                 "3      Sort by OwnTime (Overall time spent in the function)",
                 "L,l     Toggle between aggregating by line number or by function",
                 "R,r     Reset statistics", "X,x     Exit this help screen"):
        assert line in screen, screen
    assert "Press Control-C" not in screen, screen
    p.keys(" ")
    screen = p.wait_for(lambda s: "Keyboard Shortcuts" not in s, "the help closed")
    assert "Press Control-C to quit, or ? for help." in screen, screen
    assert "Function (filename)" in screen, screen	# the key did only that

    def by_line(s):
        r = [x for x in rows(s) if x.label.startswith("level_d (spin_chain.py:")]
        return "Function (filename:line)" in s and r and r[0].own_pct > 0
    p.keys("L")
    screen = p.wait_for(by_line, "level_d by line")
    for r in rows(screen):
        if r.label.startswith("level_d ("):
            assert 29 <= int(r.label.rstrip(")").rpartition(":")[2]) <= 32, screen
    p.keys("l")
    p.wait_for(lambda s: "Function (filename)" in s and row(s, "level_d (spin_chain.py)"),
               "level_d by function")


def test_top_several_processes(profiler, interp_any, start_target, pane):
    """Several -p: the header lists them, and one function of both is one
    row, as py-spy keys its rows by their text."""
    one = start_target(interp_any, "spin_chain.py", [120])
    two = start_target(interp_any, "spin_chain.py", [120])
    p = pane("%s top -p %d -p %d --delay %s" % (profiler, one.pid, two.pid, DELAY))
    head = "Collecting samples from 2 processes (pids %d, %d)" % (one.pid, two.pid)
    screen = p.wait_for(own("level_d (spin_chain.py)"), "level_d's row")
    assert head in screen.splitlines(), screen
    assert re.search(r"Threads: 2, Processes 2$", screen, re.M), screen
    labels = [r.label for r in rows(screen)]
    assert sorted(labels) == sorted(set(labels)), screen
