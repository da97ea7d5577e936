# SPDX-License-Identifier: BSD-2-Clause
"""The old kernels' way, on this one: PYSPY_BPF_FALLBACKS=all loads the
programs a kernel before 5.17 gets (bounded loops over global functions, a
tid-keyed hash for the thread cache) and, for dump and --idle, the iterator
of kernel facts with the collector's own walker (before 5.18). The output
must be the same as the modern programs'; `make kernel-test` runs the real
old kernels."""
import json
import re

import pytest

import test_dump
import test_record
import test_versions
from conftest import run_profiler


@pytest.fixture
def fallbacks(monkeypatch):
    monkeypatch.setenv("PYSPY_BPF_FALLBACKS", "all")


def test_chain_exact(fallbacks, profiler, era_interp, start_target, tmp_path):
    test_record.test_chain_exact(profiler, era_interp, start_target, tmp_path)


def test_deep_recursion_complete(fallbacks, profiler, era_interp, start_target, tmp_path):
    # 300 frames: many calls of the walk's global function per sample.
    test_versions.test_deep_recursion_complete(profiler, era_interp, start_target, tmp_path)


def test_deeper_than_limit_is_marked(fallbacks, profiler, interp_any, start_target, tmp_path):
    test_versions.test_deeper_than_limit_is_marked(profiler, interp_any, start_target,
                                                   tmp_path)


def test_threads_attributed(fallbacks, profiler, interp_any, start_target, tmp_path):
    # Threads found through the tid-keyed cache.
    test_record.test_threads_attributed(profiler, interp_any, start_target, tmp_path)


def test_gil_flag(fallbacks, profiler, interp_any, start_target, tmp_path):
    test_versions.test_gil_flag(profiler, interp_any, start_target, tmp_path)


def test_host_wide_sees_new_processes(fallbacks, profiler, interp_any, start_target, tmp_path):
    test_record.test_host_wide_sees_new_processes(profiler, interp_any, start_target, tmp_path)


def test_dump_matches_own_view(fallbacks, profiler, era_interp, start_target, tmp_path):
    # The collector walks every thread: names, frames, lines, idle/active.
    test_dump.test_dump_matches_own_view(profiler, era_interp, start_target, tmp_path)


def test_dump_locals(fallbacks, profiler, interp_any, tmp_path):
    test_dump.test_dump_locals(profiler, interp_any, tmp_path)


def test_idle_wall_clock(fallbacks, profiler, interp_any, start_target, tmp_path):
    test_dump.test_idle_wall_clock(profiler, interp_any, start_target, tmp_path)


def test_dump_same_as_modern(profiler, interp_any, start_target, tmp_path):
    """Threads parked in known places: the two ways give the same text."""
    t = start_target(interp_any, "dump_target.py", [str(tmp_path / "view.json")])
    modern = run_profiler(["dump", "-p", str(t.pid)])
    compat = run_profiler(["dump", "-p", str(t.pid)], env_extra={"PYSPY_BPF_FALLBACKS": "all"})
    assert modern.returncode == 0 and compat.returncode == 0, (modern.stderr, compat.stderr)

    def parked(text):
        # A block per thread, from its "Thread" line on (no blank line
        # between threads, as in py-spy). The spinner moves between the two
        # dumps: its thread is left out.
        blocks = re.split(r"\n(?=Thread )", text)
        return [b for b in blocks if "spin" not in b]

    assert parked(compat.stdout) == parked(modern.stdout), (compat.stdout, modern.stdout)
    assert len(parked(modern.stdout)) >= 4, modern.stdout
    # JSON: the same frames, is_entry where each activation began included.
    modern = run_profiler(["dump", "--json", "-p", str(t.pid)])
    compat = run_profiler(["dump", "--json", "-p", str(t.pid)],
                          env_extra={"PYSPY_BPF_FALLBACKS": "all"})
    assert modern.returncode == 0 and compat.returncode == 0, (modern.stderr, compat.stderr)

    def entries(out):
        return sorted((tr["os_thread_id"], [(f["name"], f["is_entry"]) for f in tr["frames"]])
                      for tr in json.loads(out) if not any("spin" in f["name"]
                                                           for f in tr["frames"]))

    assert entries(compat.stdout) == entries(modern.stdout), (compat.stdout, modern.stdout)
    assert any(e for _, frames in entries(modern.stdout) for _, e in frames), modern.stdout


def test_summary_names_the_fallback(fallbacks, profiler, interp_any, start_target, tmp_path):
    t = start_target(interp_any, "spin_chain.py", [30])
    text, err = test_record.record(profiler, tmp_path, ["-p", str(t.pid), "-d", "1"])
    assert "on this kernel, at a higher cost: stacks walked in bounded loops" in err, err
