# SPDX-License-Identifier: BSD-2-Clause
"""The command line: help, usage errors, privileges, bad targets, signals."""
import os
import random
import re
import shutil
import signal
import subprocess
import time

import pytest

from conftest import PROFILER, need, parse_raw, run_profiler, wait_cpu

USAGE, NO_PROCESS, NOT_PYTHON, OUTPUT = 2, 3, 4, 5


def test_help_and_version(profiler):
    res = run_profiler(["--help"])
    assert res.returncode == 0 and "usage: pyspy-bpf" in res.stdout
    for flag in ("--pid", "--duration", "--rate", "--format", "--output"):
        assert flag in res.stdout
    res = run_profiler(["--version"])
    assert res.returncode == 0 and res.stdout.startswith("pyspy-bpf ")


def test_help_matches_readme(profiler):
    readme = open(os.path.join(os.path.dirname(PROFILER), "README.md")).read()
    res = run_profiler(["--help"])
    assert res.stdout.strip() in readme, "README usage differs from --help"


@pytest.mark.parametrize("cmd,synopsis,own,other", [
    ("record", "[record] [options] [-- COMMAND [ARG...]]", "--interval SECONDS", "--delay"),
    ("top", "top [--pid PID] [options] [-- COMMAND [ARG...]]", "--delay SECONDS", "--interval"),
    ("dump", "dump --pid PID [options]", "--json", "--delay"),
])
def test_command_help(profiler, cmd, synopsis, own, other):
    """CMD --help (or -h, or a prefix of CMD) is that command's help: its
    usage line, its options and the common ones, not the other commands';
    every line of it is a line of the full help. With no command named,
    -h is the full help, also after other options."""
    full = run_profiler(["--help"]).stdout
    assert run_profiler(["-p", "1", "-s", "-h"]).stdout == full
    res = run_profiler([cmd, "--help"])
    assert res.returncode == 0 and res.stderr == ""
    assert res.stdout.startswith("usage: pyspy-bpf %s\n\n" % synopsis), res.stdout
    for flag in (own, "--btf FILE", "--verbose", "--help", "--version"):
        assert flag in res.stdout, flag
    assert other not in res.stdout
    full_lines = set(full.splitlines())
    assert [l for l in res.stdout.splitlines()[1:] if l not in full_lines] == []
    for args in ([cmd, "-h"], [cmd[:1], "--help"], [cmd, "-s", "--help", "-Z"]):
        assert run_profiler(args).stdout == res.stdout, args


@pytest.mark.parametrize("args,status,message", [
    (["-r", "0", "-h"], USAGE, "invalid rate '0': 1 to 10000 samples per second"),
    (["-r", "5x"], USAGE, "invalid rate '5x': 1 to 10000 samples per second"),
    (["--rate"], USAGE, "option '--rate' needs a value"),
    (["-d", "nan"], USAGE,
     "invalid duration 'nan': a positive number of seconds or 'unlimited'"),
    (["-p", "0x"], USAGE, "invalid pid '0x'"),
    (["-p", "0x-1"], USAGE, "invalid pid '0x-1'"),
    (["-p", "0x80000000"], USAGE, "invalid pid '0x80000000'"),
    (["-f", "svg"], USAGE, "unknown format 'svg'"),
    (["--f"], USAGE, "unknown option '--f'"),                  # ambiguous prefix
    (["--ver"], USAGE, "unknown option '--ver'"),
    (["--help=x"], USAGE, "unknown option '--help'"),
    (["-p", "2147483648"], USAGE, "invalid pid '2147483648'"),
    (["-o", ""], USAGE, "empty output file name"),
    (["--keep", "5"], USAGE, "--keep needs --interval"),
    (["--tag", "k=v"], USAGE, "--app-name and --tag go with --upload"),
    (["--upload", "ftp://x"], USAGE, "invalid --upload 'ftp://x': an http:// or https:// URL"),
    (["--ringbuf-size", "5000"], USAGE,
     "invalid ring buffer size '5000': a power of two from 4096"),
    (["-p", "4000000", "true"], USAGE, "give either --pid or a command, not both"),
    (["-F", "--nolineno"], USAGE, "--function and --nolineno cannot be combined"),
    (["-p", "4000000"] * 65, USAGE, "too many pids (at most 64)"),
    (["records"], USAGE, "unknown command 'records'"),
    (["", "-h"], USAGE, "unknown command ''"),
    (["top", "-d", "1"], USAGE, "unknown option '-d'"),
    (["top", "foo", "-r", "0"], USAGE, "invalid rate '0': 1 to 10000 samples per second"),
    (["top", "-p", "4000000", "foo"], USAGE, "give either --pid or a command, not both"),
    (["top", "--delay", "0.01"], USAGE, "invalid delay '0.01': 0.05 to 3600 seconds"),
    (["top", "--json"], USAGE, "unknown option '--json'"),
    (["top"] + ["-p", "4000000"] * 65, USAGE, "too many pids (at most 64)"),
    (["dump"], USAGE, "dump needs a process: --pid PID or --core FILE"),
    (["dump", "--core"], USAGE, "option '--core' needs a value"),
    (["dump", "--core", "c", "-p", "1"], USAGE,
     "--core reads a core dump: not with --pid, -s, --native or --async"),
    (["dump", "-r", "5"], USAGE, "unknown option '-r'"),
    (["dump", "foo", "-p", "4000000"], USAGE, "unexpected argument 'foo'"),
    (["dump", "-p", "4000000", "-p", "x"], USAGE, "invalid pid 'x'"),
    (["dump"] + ["-p", "4000000"] * 65, NO_PROCESS, "no process with pid 4000000"),
    (["d", "-p", "4000000"], NO_PROCESS, "no process with pid 4000000"),
    (["top", "-p", "4000000"], NO_PROCESS, "no process with pid 4000000"),
    (["rec", "-p", "4000000", "-d", "1"], NO_PROCESS, "no process with pid 4000000"),
])
def test_usage_messages(profiler, args, status, message, tmp_path):
    """The exact message and status of each command's checks; usage errors
    end with the pointer to --help, and the first wrong option is the one
    named even when -h or a stray argument follows it."""
    res = subprocess.run([profiler] + args, cwd=str(tmp_path), stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, universal_newlines=True, timeout=30)
    assert res.returncode == status, (args, res.stderr)
    lines = res.stderr.splitlines()
    assert lines[0] == "pyspy-bpf: " + message, res.stderr
    if status == USAGE:
        assert lines[1:] == ["Try 'pyspy-bpf --help' for more information."], res.stderr
    assert res.stdout == "" and os.listdir(str(tmp_path)) == []


@pytest.mark.parametrize("args", [
    ["--bogus"], ["-r", "0"], ["-r", "1000000000"], ["-r", "x"], ["-d", "-1"],
    ["-d", "abc"], ["-p", "abc"], ["-p", "-5"], ["-f", "nope"], ["frobnicate"],
    ["-p"], ["--function", "--nolineno"],
])
def test_usage_errors(profiler, args, tmp_path):
    res = subprocess.run([profiler] + args, cwd=str(tmp_path), stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, universal_newlines=True, timeout=30)
    assert res.returncode == USAGE, (args, res.stderr)
    first = res.stderr.splitlines()[0]
    assert first.startswith("pyspy-bpf: "), res.stderr
    assert os.listdir(str(tmp_path)) == []


def test_not_root_is_refused(profiler, tmp_path):
    need(os.path.exists("/usr/bin/setpriv"), "setpriv (util-linux) is needed")
    res = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                          "--inh-caps=-all", profiler, "-d", "1"],
                         cwd="/", stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         universal_newlines=True, timeout=30)
    assert res.returncode == 1, res.stderr
    assert len(res.stderr.strip().splitlines()) == 1
    assert "root" in res.stderr and "CAP_BPF" in res.stderr


def test_missing_pid(profiler, tmp_path):
    pid = 4000000  # above the default pid_max
    res = run_profiler(["-p", str(pid), "-d", "1", "-o", str(tmp_path / "x.txt")])
    assert res.returncode == NO_PROCESS, res.stderr
    assert str(pid) in res.stderr
    assert os.listdir(str(tmp_path)) == []


def test_not_python_pid(profiler, tmp_path):
    sleeper = subprocess.Popen(["sleep", "30"])
    try:
        res = run_profiler(["-p", str(sleeper.pid), "-d", "1", "-o", str(tmp_path / "x.txt")])
    finally:
        sleeper.kill()
        sleeper.wait()
    assert res.returncode == NOT_PYTHON, res.stderr
    assert os.listdir(str(tmp_path)) == []


def test_pypy_is_named(profiler, tmp_path):
    pypy = "/usr/bin/pypy3"
    need(os.path.exists(pypy), "pypy3 is not installed (scripts/install-deps)")
    from conftest import Interpreter, Target, PROGRAMS
    t = Target(Interpreter("pypy", pypy, "3.9.0", "shared"), "spin_chain.py", [20])
    try:
        res = run_profiler(["-p", str(t.pid), "-d", "1", "-o", str(tmp_path / "x.txt")])
    finally:
        t.stop()
    assert res.returncode == NOT_PYTHON
    assert "PyPy" in res.stderr and str(t.pid) in res.stderr


def test_bad_output_path(profiler, interp_any, start_target, tmp_path):
    t = start_target(interp_any, "spin_chain.py", [20])
    for path in (str(tmp_path / "missing" / "x.txt"), "/proc/x.txt"):
        res = run_profiler(["-p", str(t.pid), "-d", "1", "-f", "raw", "-o", path])
        assert res.returncode == OUTPUT, res.stderr
        assert path in res.stderr


def test_missing_btf(profiler, tmp_path):
    res = run_profiler(["-d", "1", "--btf", str(tmp_path / "no-btf"), "-o",
                        str(tmp_path / "x.txt")])
    assert res.returncode == 6, res.stderr
    assert "BTF" in res.stderr
    assert os.listdir(str(tmp_path)) == []


@pytest.mark.parametrize("kind", ["garbage", "directory", "device"])
@pytest.mark.parametrize("cmd", ["record", "dump"])
def test_bad_btf_is_named(profiler, tmp_path, kind, cmd):
    """--btf that is not BTF: what is wrong with it, not a libbpf error
    number; 6, before anything is loaded."""
    btf = {"garbage": tmp_path / "garbage.btf", "directory": tmp_path,
           "device": "/dev/null"}[kind]
    if kind == "garbage":
        btf.write_bytes(b"\x7fELF not really" + os.urandom(256))
    args = [cmd, "--btf", str(btf), "-p", str(os.getpid())]
    if cmd == "record":
        args += ["-d", "1", "-o", str(tmp_path / "x.txt")]
    res = run_profiler(args)
    assert res.returncode == 6, res.stderr
    why = {"garbage": "is not a BTF file", "directory": "is a directory",
           "device": "is not a regular file"}[kind]
    assert "'%s' %s" % (btf, why) in res.stderr, res.stderr
    assert "Unknown error" not in res.stderr and "Input/output" not in res.stderr
    assert not os.path.exists(str(tmp_path / "x.txt"))


def test_kernel_without_btf(profiler, interp_any, start_target, tmp_path):
    """A kernel without /sys/kernel/btf/vmlinux (hidden here in a private
    mount namespace): a message naming --btf and 6, before anything is
    loaded or written."""
    need(os.path.exists("/sys/kernel/btf/vmlinux"), "the kernel has no BTF to hide")
    need(shutil.which("unshare"), "unshare not found (util-linux)")
    t = start_target(interp_any, "spin_chain.py", [60])
    out = tmp_path / "p.txt"
    hide = ["unshare", "--mount", "--propagation", "private", "sh", "-c",
            'mount -t tmpfs none /sys/kernel/btf && exec "$@"', "sh", profiler]
    for args in (["record", "-p", str(t.pid), "-d", "1", "-f", "raw", "-o", str(out)],
                 ["dump", "-p", str(t.pid)]):
        res = subprocess.run(hide + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             universal_newlines=True, timeout=60)
        assert res.returncode == 6, res.stderr
        assert "no BTF" in res.stderr and "--btf" in res.stderr, res.stderr
        assert not out.exists()
    # --btf gives CO-RE the types, not the kernel its own: said, not a
    # libbpf error number
    btf = tmp_path / "vmlinux.btf"
    with open("/sys/kernel/btf/vmlinux", "rb") as f:
        btf.write_bytes(f.read())
    res = subprocess.run(hide + ["dump", "-p", str(t.pid), "--btf", str(btf)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         universal_newlines=True, timeout=60)
    assert res.returncode == 6, res.stderr
    assert "CONFIG_DEBUG_INFO_BTF" in res.stderr, res.stderr


def test_output_fifo(profiler, interp_any, start_target, tmp_path):
    """-o FIFO: with no reader, refused at once (5), never a hang before
    sampling; with a reader, the profile goes through it."""
    t = start_target(interp_any, "spin_chain.py", [30])
    fifo = str(tmp_path / "fifo")
    os.mkfifo(fifo)
    res = run_profiler(["-p", str(t.pid), "-d", "1", "-f", "raw", "-o", fifo], timeout=20)
    assert res.returncode == OUTPUT, res.stderr
    assert "FIFO" in res.stderr and fifo in res.stderr, res.stderr
    assert "sampling" not in res.stderr, res.stderr
    # A reader opened without waiting for a writer; it reads the whole
    # profile (smaller than the pipe) once pyspy-bpf has closed its end.
    rd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        res = run_profiler(["-p", str(t.pid), "-d", "1", "-f", "raw", "-o", fifo], timeout=20)
        assert res.returncode == 0, res.stderr
        os.set_blocking(rd, True)
        data = b""
        while True:
            chunk = os.read(rd, 65536)
            if not chunk:
                break
            data += chunk
    finally:
        os.close(rd)
    assert b"level_d" in data, res.stderr


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_signal_writes_complete_file(profiler, interp_any, start_target, tmp_path, sig):
    t = start_target(interp_any, "spin_chain.py", [120])
    out = tmp_path / "p.txt"
    prof = subprocess.Popen([profiler, "-p", str(t.pid), "-f", "raw", "-o", str(out)],
                            stderr=subprocess.PIPE, universal_newlines=True)
    lines = []
    for line in prof.stderr:
        lines.append(line)
        if "sampling" in line:
            break
    # A second of the target's CPU time: 100 ticks at the default rate,
    # however busy the machine is.
    cpu = wait_cpu(t.pid, 1.0)
    prof.send_signal(sig)
    _, err = prof.communicate(timeout=60)
    err = "".join(lines) + err
    assert prof.returncode == 0, err
    stacks = parse_raw(out.read_text())
    assert sum(c for _, c in stacks) >= cpu * 100 * 0.5, (cpu, err)
    assert "level_d" in out.read_text()
    # Only the profile: the temporary file was renamed, not left behind.
    assert os.listdir(str(tmp_path)) == ["p.txt"]
    assert "wrote raw profile" in err


def _signal_run(profiler, pid, continuous, sig, delay, blocked, folder):
    """One run of record, signalled after delay: (exit status, files left)."""
    out = str(folder) + "/" if continuous else str(folder / "p.txt")
    args = [profiler, "-p", str(pid), "-f", "raw", "-o", out]
    if continuous:
        args += ["--interval", "60"]
    sigs = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP}
    # Blocked at exec: the signal waits for pyspy-bpf's handlers, so it must
    # end the run cleanly whenever it comes.
    prof = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            universal_newlines=True,
                            preexec_fn=(lambda: signal.pthread_sigmask(signal.SIG_BLOCK, sigs))
                            if blocked else None)
    try:
        time.sleep(delay)
        prof.send_signal(sig)
        if continuous and sig == signal.SIGHUP:
            # SIGHUP writes the interval early and goes on; SIGTERM ends it.
            deadline = time.time() + 30
            while prof.poll() is None and time.time() < deadline and \
                    not [f for f in os.listdir(str(folder)) if not f.startswith(".")]:
                time.sleep(0.02)
            if prof.poll() is None:
                prof.send_signal(signal.SIGTERM)
        _, err = prof.communicate(timeout=30)
    finally:
        if prof.poll() is None:
            prof.kill()
            prof.wait()
    return prof.returncode, sorted(os.listdir(str(folder))), err


def test_signal_at_any_moment(profiler, interp_any, start_target, tmp_path):
    """SIGINT, SIGTERM or SIGHUP at a random moment of the first 300 ms, in
    record -o and in continuous mode: never a temporary file left behind;
    the profile is written, or (before the handlers exist, with nothing
    created yet) pyspy-bpf dies of the signal; SIGHUP in continuous mode
    never kills it once it runs."""
    t = start_target(interp_any, "spin_chain.py", [300])
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    for i in range(40):
        continuous = i % 2 == 1
        blocked = i % 4 >= 2
        sig = rng.choice([signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
        delay = rng.uniform(0, 0.3)
        folder = tmp_path / ("run%d" % i)
        folder.mkdir()
        rc, files, err = _signal_run(profiler, t.pid, continuous, sig, delay, blocked, folder)
        what = "seed %d run %d: %s%s, %s after %.0f ms: rc %s, files %s\n%s" % (
            seed, i, "continuous" if continuous else "record",
            " (signals blocked at exec)" if blocked else "", signal.Signals(sig).name,
            delay * 1000, rc, files, err)
        assert not [f for f in files if f.startswith(".")], what
        if rc == -sig and not blocked:
            assert files == [], what
            continue
        assert rc == 0, what
        assert "AddressSanitizer" not in err, what
        if continuous:
            assert files and all(f.endswith(".txt") for f in files), what
        else:
            assert files == ["p.txt"], what
            parse_raw((folder / "p.txt").read_text())


def test_command_killed_when_duration_ends(profiler, interp_any, tmp_path):
    """record -d with a command still running at the end: the command is
    killed (as py-spy does), the profile written, the status 0."""
    marker = "pyspy-bpf-test-%d" % os.getpid()
    code = ("import os, sys, time\nsys.stdout.write('%d\\n' % os.getpid())\n"
            "sys.stdout.flush()\nwhile True: time.sleep(0.01)\n")
    res = run_profiler(["record", "-d", "1", "-f", "raw", "-o", str(tmp_path / "p.txt"),
                        "--", interp_any.path, "-c", code, marker], timeout=60)
    assert res.returncode == 0, res.stderr
    child = int(res.stdout.split()[0])
    assert "was still running: killed it" in res.stderr, res.stderr
    # Reaped before pyspy-bpf exited: the pid names nothing, or someone else.
    try:
        with open("/proc/%d/cmdline" % child) as f:
            assert marker not in f.read()
    except (IOError, OSError):
        pass
    assert os.listdir(str(tmp_path)) == ["p.txt"]


@pytest.mark.parametrize("idle", [False, True], ids=["cpu", "idle"])
def test_verbose_names_start_up_phases(profiler, interp_any, start_target, tmp_path, idle):
    """-v says where start-up time goes, phase by phase, and how much of
    it was spent on a CPU (the rest: waiting for one on a loaded host)."""
    t = start_target(interp_any, "spin_chain.py", [30])
    res = run_profiler(["-v", "-p", str(t.pid), "-d", "0.5", "-f", "raw", "-o",
                        str(tmp_path / "p.txt")] + (["--idle"] if idle else []))
    assert res.returncode == 0, res.stderr
    for phase in ("output checked at", "1 target read at", "BPF object opened in",
                  "BPF programs loaded and verified in", "perf events attached in",
                  "processes attached: 1, at", "sampling from"):
        assert re.search(r"start-up: .*%s.*[0-9.]+ ms" % re.escape(phase), res.stderr), \
            (phase, res.stderr)
    assert re.search(r"sampling from [0-9.]+ ms, [0-9.]+ ms of it on a CPU", res.stderr)
    assert "level_d" in (tmp_path / "p.txt").read_text()


def test_target_exit_ends_recording(profiler, interp_any, start_target, tmp_path):
    t = start_target(interp_any, "spin_chain.py", [2])
    out = tmp_path / "p.txt"
    res = run_profiler(["-p", str(t.pid), "-f", "raw", "-o", str(out)], timeout=60)
    assert res.returncode == 0, res.stderr
    assert "exited" in res.stderr
    assert "level_d" in out.read_text()


def test_pyspy_spellings(profiler, interp_any, start_target, tmp_path):
    """py-spy's command lines run unchanged: a hex pid, -d unlimited (with
    SIGINT ending the run), a format in any case, --nonblocking (what
    pyspy-bpf always is) and --hideprogress; dump takes the hex pid too."""
    t = start_target(interp_any, "spin_chain.py", [60])
    out = tmp_path / "p.raw"
    res = run_profiler(["record", "-p", hex(t.pid), "-d", "1", "-f", "RAW", "-o", str(out),
                        "--nonblocking", "--hideprogress"])
    assert res.returncode == 0, res.stderr
    assert sum(c for _, c in parse_raw(out.read_text())) > 0, res.stderr
    out = tmp_path / "p.json"
    prof = subprocess.Popen([PROFILER, "record", "-p", "0X%X" % t.pid, "-d", "unlimited", "-f",
                             "SpeedScope", "-o", str(out)], stderr=subprocess.PIPE,
                            universal_newlines=True)
    said = prof.stderr.readline()
    assert said.startswith("pyspy-bpf: sampling"), said
    wait_cpu(t.pid, 0.2)
    prof.send_signal(signal.SIGINT)
    _, err = prof.communicate(timeout=60)
    assert prof.returncode == 0, said + err
    assert '"$schema"' in out.read_text(), said + err
    res = run_profiler(["dump", "--nonblocking", "-p", hex(t.pid)])
    assert res.returncode == 0, res.stderr
    assert "spin_chain.py" in res.stdout, res.stdout


def test_capture_command_output(profiler, interp_any, tmp_path):
    """record --capture -- COMMAND: the command's output goes nowhere (its
    stdout and stderr on /dev/null, its stdin too), the profile is written
    when it exits and its status passed on; an exec that fails still says
    why; --capture without a command is refused."""
    code = ("import sys, time\nsys.stdout.write('to-stdout\\n')\nsys.stderr.write('to-stderr\\n')\n"
            "sys.stdout.write('stdin:%r\\n' % sys.stdin.read())\n"
            "end = time.time() + 0.5\nwhile time.time() < end: pass\nsys.exit(3)\n")
    out = tmp_path / "p.txt"
    res = subprocess.run([PROFILER, "record", "--capture", "-f", "raw", "-o", str(out), "--",
                          interp_any.path, "-c", code], input="typed", stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, universal_newlines=True, timeout=60)
    assert res.returncode == 3, res.stderr
    assert "to-std" not in res.stdout + res.stderr and "stdin" not in res.stdout, \
        (res.stdout, res.stderr)
    assert "wrote raw profile" in res.stderr, res.stderr
    assert sum(c for _, c in parse_raw(out.read_text())) > 0, res.stderr
    # Without --capture the same command's output passes through.
    res = subprocess.run([PROFILER, "record", "-f", "raw", "-o", str(out), "--",
                          interp_any.path, "-c", code], input="typed", stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, universal_newlines=True, timeout=60)
    assert res.returncode == 3, res.stderr
    assert "to-stdout" in res.stdout and "stdin:'typed'" in res.stdout, res.stdout
    assert "to-stderr" in res.stderr, res.stderr
    res = run_profiler(["record", "--capture", "-f", "raw", "-o", str(out), "--",
                        str(tmp_path / "no-such-command")], timeout=60)
    assert res.returncode == 127, res.stderr
    assert "cannot run" in res.stderr and "no-such-command" in res.stderr, res.stderr
    res = run_profiler(["record", "--capture", "-d", "1", "-f", "raw", "-o", str(out)])
    assert res.returncode == 2 and "--capture" in res.stderr, res.stderr
