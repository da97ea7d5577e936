# SPDX-License-Identifier: BSD-2-Clause
"""dump --core: the Python threads of an ELF core dump, made here of live
targets with gdb's gcore (and by the kernel, on SIGABRT), compared with
what the target said of itself before the core was taken."""
import glob
import json
import os
import pathlib
import resource
import shutil
import signal
import subprocess
import tempfile
import time

import pytest

from conftest import INTERPRETERS, PROFILER, PROGRAMS, need, run_profiler

GCORE = shutil.which("gcore")


def blocked(pid):
    """Every thread of pid sits in a system call (its syscall file names
    one): what the target's own report cannot say, and the core must."""
    try:
        tids = os.listdir("/proc/%d/task" % pid)
        for tid in tids:
            with open("/proc/%d/task/%s/syscall" % (pid, tid)) as f:
                if f.read().split()[0] == "running":
                    return False
        return len(tids) >= 2
    except (IOError, OSError, IndexError):
        return False


class CoreTarget(object):
    """core_target.py, started and read up to its ready line."""

    def __init__(self, interp, cwd=None, env=None, path=None, limit_core=False):
        def preexec():
            if limit_core:
                resource.setrlimit(resource.RLIMIT_CORE,
                                   (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
        self.proc = subprocess.Popen(
            [path or interp.path, os.path.join(PROGRAMS, "core_target.py")],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, universal_newlines=True,
            cwd=cwd, env=env, preexec_fn=preexec)
        self.pid = self.proc.pid
        self.threads, self.frames, self.locals = [], {}, {}
        for line in self.proc.stdout:
            words = line.rstrip("\n").split(" ")
            if words[0] == "ready":
                break
            ident = int(words[1])
            if words[0] == "thread":
                self.threads.append((ident, words[2]))
            elif words[0] == "frame":
                self.frames.setdefault(ident, []).append((words[2], int(words[3])))
            elif words[0] == "local":
                self.locals.setdefault(ident, {})[words[2]] = (words[3] == "1",
                                                               " ".join(words[4:]))
        else:
            raise RuntimeError("core_target.py exited before it was ready")
        deadline = time.time() + 60
        while not blocked(self.pid) and time.time() < deadline:
            time.sleep(0.05)
        assert blocked(self.pid), "core_target.py's threads never blocked"

    def tids(self):
        """Kernel thread ids: the main thread's is the pid."""
        others = [int(t) for t in os.listdir("/proc/%d/task" % self.pid) if int(t) != self.pid]
        return [self.pid] + others

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.proc.stdin.close()
        self.proc.stdout.close()


@pytest.fixture(autouse=True)
def no_cores_left(tmp_path):
    """Cores are tens of megabytes: none outlives its test, failed or not."""
    yield
    for path in glob.glob(str(tmp_path / "core*")):
        os.unlink(path)


@pytest.fixture
def core_target():
    # A core is read without BPF or privileges; gcore needs to attach.
    need(os.path.exists(PROFILER), "pyspy-bpf is not built (run make)")
    need(os.geteuid() == 0, "gcore needs root to attach to the targets")
    started = []

    def start(*args, **kwargs):
        t = CoreTarget(*args, **kwargs)
        started.append(t)
        return t

    yield start
    for t in started:
        t.stop()


def gcore(pid, tmp_path, whole=False):
    """A core of pid by gdb, in tmp_path. With whole, None when gdb left
    memory out: it stops copying a mapping at the first read that fails,
    and a thread stack whose guard pages sit inside its mapping (glibc
    2.41+ on Linux 6.13+) is then left out from there on, so the C stack
    the 3.12+ entry frames sit on reads as zeros."""
    need(GCORE, "gdb's gcore is not installed (scripts/install-deps)")
    prefix = str(tmp_path / "core")
    out = subprocess.run([GCORE, "-o", prefix, str(pid)], stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, universal_newlines=True, timeout=300,
                         check=False)
    path = "%s.%d" % (prefix, pid)
    assert out.returncode == 0 and os.path.exists(path), out.stdout
    failed = [line for line in out.stdout.splitlines()
              if "Memory read failed" in line and "0xffffffffff600000" not in line]
    if whole and failed:
        os.unlink(path)
        return None
    return path


def kernel_core(t, tmp_path):
    """The core the kernel writes when t (started in tmp_path, with no
    core size limit) dies of SIGABRT."""
    need(kernel_cores(), "gdb leaves memory of this process out of its cores, "
         "and core_pattern does not write the kernel's next to the process")
    t.proc.send_signal(signal.SIGABRT)
    assert t.proc.wait() == -signal.SIGABRT
    cores = glob.glob(str(tmp_path / "core*"))
    assert len(cores) == 1, os.listdir(str(tmp_path))
    return cores[0]


def check_json(t, traces, tids):
    """The traces say what the target said of itself."""
    assert len(traces) == 2, traces
    for (ident, name), tid, tr in zip(t.threads, tids, sorted(traces,
                                                             key=lambda x: x["os_thread_id"]
                                                             != t.pid)):
        assert tr["pid"] == t.pid and tr["os_thread_id"] == tid, tr
        assert tr["thread_id"] == ident and tr["thread_name"] == name, tr
        # Both wait in a system call; neither holds the GIL.
        assert tr["active"] is False and tr["owns_gil"] is False, tr
        assert [(f["name"], f["line"]) for f in tr["frames"]] == t.frames[ident], \
            (tr["frames"], t.frames[ident])
        assert tr["frames"][0]["filename"].endswith("core_target.py"), tr["frames"][0]
        got = dict((v["name"], (v["arg"], v["repr"])) for v in tr["frames"][0]["locals"])
        for var, want in t.locals[ident].items():
            assert got.get(var) == want, (var, got.get(var), want)
        # Besides them, only the main thread's Thread object ("me").
        assert set(got) - set(t.locals[ident]) <= set(["me"]), sorted(got)


def check_text(t, text, tids, interp, core):
    lines = text.splitlines()
    assert lines[0].startswith("Process %d (core '%s'): " % (t.pid, core)), lines[0]
    # The whole command line: argv from the stack, not the 80 bytes (or,
    # from gdb, the program alone) the core's NT_PRPSINFO keeps.
    assert lines[0].endswith(" " + os.path.join(PROGRAMS, "core_target.py")), lines[0]
    assert lines[1].startswith("Python v%d.%d.%d (" % interp.version), lines[1]
    for (ident, name), tid in zip(t.threads, tids):
        head = 'Thread %d (idle): "%s"' % (tid, name)
        assert head in lines, (head, text)
        at = lines.index(head) + 1
        for fname, line in t.frames[ident]:
            while lines[at].startswith("        "):
                at += 1     # Arguments: / Locals: and their lines
            assert lines[at].startswith("    %s (" % fname) and \
                lines[at].endswith(":%d)" % line), (lines[at], fname, line, text)
            at += 1
    assert "            n: 7" in lines and "            label: 'x'" in lines, text


def test_core_stacks(interp, core_target, tmp_path):
    """Every thread's stack, ids, names and locals from a gcore core, in
    text and JSON, with the target's own view to compare: every version."""
    t = core_target(interp, cwd=str(tmp_path), limit_core=True)
    tids = t.tids()
    core = gcore(t.pid, tmp_path, whole=True) or kernel_core(t, tmp_path)
    t.stop()    # the core is all there is now
    out = run_profiler(["dump", "--core", core, "--json", "-l"])
    assert out.returncode == 0, out.stderr
    check_json(t, json.loads(out.stdout), tids)
    out = run_profiler(["dump", "--core", core, "--locals"])
    assert out.returncode == 0, out.stderr
    check_text(t, out.stdout, tids, interp, core)
    os.unlink(core)


def kernel_cores():
    with open("/proc/sys/kernel/core_pattern") as f:
        pattern = f.read().strip()
    # A file name in the crashing process's folder; a pipe or an absolute
    # path is the host's business, not changed here.
    return not pattern.startswith("|") and "/" not in pattern


def test_core_kernel(era_interp, core_target, tmp_path):
    """A core the kernel wrote on SIGABRT (ELF header pages only of the
    files mapped: the rest is read from the files)."""
    need(kernel_cores(), "core_pattern does not write cores next to the process")
    t = core_target(era_interp, cwd=str(tmp_path), limit_core=True)
    tids = t.tids()
    core = kernel_core(t, tmp_path)
    out = run_profiler(["dump", "--core", core, "--json", "-l"])
    assert out.returncode == 0, out.stderr
    check_json(t, json.loads(out.stdout), tids)
    out = run_profiler(["dump", "--core", core, "-l"])
    assert out.returncode == 0, out.stderr
    check_text(t, out.stdout, tids, era_interp, core)
    os.unlink(core)


def test_core_locals_objects(era_interp, tmp_path):
    """-l from a core: every kind of object the reader shows, as a live
    dump shows it (objects_target.py says what each must read)."""
    need(GCORE, "gdb's gcore is not installed (scripts/install-deps)")
    need(os.path.exists(PROFILER), "pyspy-bpf is not built (run make)")
    p = subprocess.Popen([era_interp.path, os.path.join(PROGRAMS, "objects_target.py")],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        expected = {}
        for line in p.stdout:
            line = line.decode("utf-8").rstrip("\n")
            if line.startswith("ready"):
                break
            if line.startswith("local "):
                _, name, arg, rep = line.split(" ", 3)
                expected[name] = (arg == "1", rep)
        assert len(expected) > 30
        core = gcore(p.pid, tmp_path)
    finally:
        p.stdin.close()
        p.wait()
        p.stdout.close()
    out = run_profiler(["dump", "--core", core, "-l", "--json"])
    os.unlink(core)
    assert out.returncode == 0, out.stderr
    frames = [f for tr in json.loads(out.stdout) for f in tr["frames"]
              if f["name"] == "objects_target"]
    assert len(frames) == 1, out.stdout
    got = dict((v["name"], (v["arg"], v["repr"])) for v in frames[0]["locals"])
    assert sorted(got) == sorted(expected)
    for name, (arg, rep) in expected.items():
        garg, grep = got[name]
        assert garg == arg, (name, garg, arg)
        if grep != rep:
            # Cut to -l's 128 bytes as a live dump cuts it: a string keeps
            # its closing quote before the "...".
            assert grep.endswith("...") and len(grep.encode("utf-8")) <= 128, (name, grep)
            assert len(rep.encode("utf-8")) > 128 - 4, (name, grep, rep)
            quoted = rep[-1] in "'\"" and rep[0] in "'\"b"
            assert rep.startswith(grep[:-4] if quoted else grep[:-3]), (name, grep, rep)
            assert not quoted or grep[-4] == rep[-1], (name, grep, rep)


def test_core_bad_input(interp_any, core_target, tmp_path):
    """No core, not a core, a cut core, a core of no Python: a message and
    the exit status that says which, never a crash."""
    cases = []
    missing = str(tmp_path / "nothing")
    cases.append((missing, 3, "No such file or directory"))
    text = tmp_path / "text"
    text.write_text(u"not a core\n" * 100)
    cases.append((str(text), 1, "not an ELF file"))
    cases.append((interp_any.path, 1, "not a core dump"))
    os.mkfifo(str(tmp_path / "fifo"))
    cases.append((str(tmp_path / "fifo"), 1, "not a regular file"))
    t = core_target(interp_any)
    core = gcore(t.pid, tmp_path)
    t.stop()
    cut = tmp_path / "cut"
    with open(core, "rb") as f:
        cut.write_bytes(f.read(os.path.getsize(core) // 2))
    os.unlink(core)
    cases.append((str(cut), 1, "truncated"))
    sleeper = subprocess.Popen(["sleep", "1000"])
    try:
        cases.append((gcore(sleeper.pid, tmp_path), 4, "no CPython interpreter"))
    finally:
        sleeper.kill()
        sleeper.wait()
    for path, status, message in cases:
        for extra in ([], ["--json", "-l"]):
            out = run_profiler(["dump", "--core", path] + extra)
            assert out.returncode == status, (path, out.returncode, out.stdout, out.stderr)
            assert message in out.stderr and "cannot read core '%s'" % path in out.stderr, \
                (path, out.stderr)
            assert out.stdout == "", out.stdout
    out = run_profiler(["dump", "--core", str(cut), "--pid", "1"])
    assert out.returncode == 2 and "not with --pid" in out.stderr, out.stderr


def test_core_interpreter_gone(core_target, tmp_path):
    """The interpreter's file is missing, or another file is at its path:
    said, and exit status 4 (the core alone cannot be read without it)."""
    static = [i for i in INTERPRETERS if i.build == "static"]
    need(static, "no statically linked interpreter (make interpreters)")
    interp = static[0]
    copy = str(tmp_path / os.path.basename(interp.path))
    shutil.copy(interp.path, copy)
    env = dict(os.environ, PYTHONHOME=os.path.dirname(os.path.dirname(interp.path)))
    t = core_target(interp, path=copy, env=env)
    core = gcore(t.pid, tmp_path)
    t.stop()
    out = run_profiler(["dump", "--core", core])
    assert out.returncode == 0, out.stderr
    os.unlink(copy)
    out = run_profiler(["dump", "--core", core])
    assert out.returncode == 4, out.stderr
    assert "cannot open '%s'" % copy in out.stderr, out.stderr
    shutil.copy("/bin/sh" if os.path.exists("/bin/sh") else "/bin/ls", copy)
    out = run_profiler(["dump", "--core", core])
    assert out.returncode == 4, out.stderr
    assert "'%s' is not the file the process had mapped" % copy in out.stderr, out.stderr
    os.unlink(core)


def test_core_unprivileged(core_target):
    """A core is read from files alone: no BPF, no root (here: nobody, with
    an interpreter every user can read)."""
    system = [i for i in INTERPRETERS if i.path.startswith("/usr/bin/")]
    need(system, "no interpreter in /usr/bin")
    folder = tempfile.mkdtemp(prefix="pyspy-core-")
    try:
        os.chmod(folder, 0o755)
        t = core_target(system[0])
        core = gcore(t.pid, pathlib.Path(folder))
        t.stop()
        os.chmod(core, 0o644)

        def nobody():
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
        out = subprocess.run([PROFILER, "dump", "--core", core], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, universal_newlines=True, timeout=120,
                             preexec_fn=nobody)
        assert out.returncode == 0, out.stderr
        assert 'Thread %d (idle): "MainThread"' % t.pid in out.stdout, out.stdout
        assert "    worker (core_target.py:" in out.stdout, out.stdout
    finally:
        shutil.rmtree(folder)
