# SPDX-License-Identifier: BSD-2-Clause
"""pyspy-bpf completions SHELL: each script loaded into its own shell, and
the shell asked what it offers after words typed, as a user's Tab would."""
import os
import re
import shutil
import subprocess

import pytest

from conftest import PROFILER, need, run_profiler

HERE = os.path.dirname(os.path.abspath(__file__))
COMMANDS = {"record", "top", "dump", "completions"}
FORMATS = {"flamegraph", "raw", "speedscope", "chrometrace", "pprof"}
SHELLS = ["bash", "zsh", "fish"]


def complete(shell, script, typed):
    """What shell offers after typed ('pyspy-bpf ...'), one match each."""
    if shell == "bash":
        words = typed.split()
        if typed.endswith(" "):
            words.append("")
        code = ('source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); '
                '_pyspy_bpf; printf "%s\\n" "${COMPREPLY[@]}"')
        cmd = ["bash", "--norc", "-c", code, "bash", script] + words
    elif shell == "fish":
        cmd = ["fish", "--no-config", "-c", 'source $argv[1]; complete -C $argv[2]', script,
               typed]
    else:
        cmd = ["zsh", "-f", os.path.join(HERE, "zsh_complete.zsh"), script, typed]
    res = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         universal_newlines=True, timeout=60)
    assert res.returncode == 0, (cmd, res.stderr)
    return [l.split("\t")[0] for l in res.stdout.splitlines() if l.strip()]


def help_options(cmd):
    res = run_profiler([cmd, "--help"])
    assert res.returncode == 0, res.stderr
    return set(re.findall(r"^ +(?:-\w, )?(--[\w-]+)", res.stdout, re.M))


@pytest.fixture(params=SHELLS)
def script(request, profiler, tmp_path):
    shell = request.param
    need(shutil.which(shell), "%s is not installed (scripts/install-deps)" % shell)
    res = run_profiler(["completions", shell])
    assert res.returncode == 0, res.stderr
    path = tmp_path / ("pyspy-bpf." + shell)
    path.write_text(res.stdout)
    return shell, str(path)


def test_completions(script):
    """The commands, each command's own options (every one its --help
    lists), formats after -f, shells after completions, pids after -p."""
    shell, path = script
    assert COMMANDS <= set(complete(shell, path, "pyspy-bpf ")), shell
    assert complete(shell, path, "pyspy-bpf record --fo") == ["--format"]
    assert complete(shell, path, "pyspy-bpf top --de") == ["--delay"]
    # dump has no --delay, and record (the default command) has no --json
    assert complete(shell, path, "pyspy-bpf dump --de") == []
    assert complete(shell, path, "pyspy-bpf --js") == []
    assert set(complete(shell, path, "pyspy-bpf -f ")) == FORMATS
    assert set(complete(shell, path, "pyspy-bpf record --format ")) == FORMATS
    assert set(complete(shell, path, "pyspy-bpf completions ")) == set(SHELLS)
    for cmd in ("record", "top", "dump"):
        offered = set(complete(shell, path, "pyspy-bpf %s --" % cmd))
        missing = help_options(cmd) - offered
        assert not missing, (cmd, missing)
    pids = complete(shell, path, "pyspy-bpf dump -p ")
    assert pids and all(p.isdigit() for p in pids), pids
    if shell == "bash":
        assert str(os.getpid()) in pids


def test_completions_errors(profiler):
    res = run_profiler(["completions"])
    assert res.returncode == 2 and "bash, zsh or fish" in res.stderr, res.stderr
    res = run_profiler(["completions", "tcsh"])
    assert res.returncode == 2 and "unknown shell 'tcsh'" in res.stderr, res.stderr
    res = run_profiler(["completions", "bash", "zsh"])
    assert res.returncode == 2, res.stderr
