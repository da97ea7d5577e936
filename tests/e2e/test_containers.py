# SPDX-License-Identifier: BSD-2-Clause
"""Python in a container: its own PID and mount namespaces and its own root
filesystem. Each Debian interpreter root (scripts/install-debian-pythons)
is copied and its loader paths patched to where the files sit inside the
copy (/usr/lib/..., as in a real Debian image), then run under
`unshare --pid --mount --fork` + chroot as /usr/bin/pythonX.Y on
/app/pkg/spin_chain.py, with /proc mounted in the namespace only. None of
those paths exist on the host, so pyspy-bpf can only find the files through
the process (/proc/PID/map_files, /proc/PID/root).

Host-wide and -p PID profiles must show the process under its host pid, the
command line, function names, lines and short file names ("pkg/..." : the
package is looked up in the process's root) as the process sees them."""
import json
import os
import shutil
import subprocess

import pytest

from conftest import (INTERPRETERS, PROGRAMS, CpuMeter, min_samples, need, parse_raw,
                      run_profiler)
from test_record import matches, source_line

APP = "/app/pkg/spin_chain.py"
SHORT = "pkg/spin_chain.py"

# Namespaces, chroots and host-wide runs: alone, after the parallel part.
pytestmark = pytest.mark.serial


def debian_interpreters():
    return [i for i in INTERPRETERS if i.label.startswith("debian-")]


def chain(fname):
    p = "spin_chain.py"
    loop = source_line(p, "while time.time() < end:")
    return [
        ("<module>", fname, {source_line(p, "level_a(float(")}),
        ("level_a", fname, {source_line(p, "return level_b(")}),
        ("level_b", fname, {source_line(p, "return level_c(")}),
        ("level_c", fname, {source_line(p, "return level_d(")}),
        ("level_d", fname, set(range(loop, loop + 4))),
    ]


def exe_of(interp):
    return "/usr/bin/python%d.%d" % interp.version[:2]


def make_rootfs(interp, dest):
    """A copy of the interpreter's root that works as / (chroot)."""
    exe = exe_of(interp)
    assert interp.path.endswith(exe), interp.path
    src = interp.path[:-len(exe)]
    shutil.copytree(src, dest, symlinks=True)
    target = dest + exe

    def patchelf(*args):
        res = subprocess.run(["patchelf"] + list(args), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, universal_newlines=True, check=True)
        return res.stdout.strip()

    # Loader and library folders as seen from inside the copy.
    ld = patchelf("--print-interpreter", target)
    rpath = patchelf("--print-rpath", target)
    assert ld.startswith(src + "/"), ld
    inner = ":".join(p[len(src):] if p.startswith(src + "/") else p
                     for p in rpath.split(":") if p)
    patchelf("--set-interpreter", ld[len(src):], "--force-rpath", "--set-rpath",
             inner or "/usr/lib", target)
    os.makedirs(os.path.join(dest, "app", "pkg"))
    open(os.path.join(dest, "app", "pkg", "__init__.py"), "w").close()
    shutil.copy(os.path.join(PROGRAMS, "spin_chain.py"), dest + APP)
    for d in ("proc", "tmp", "dev"):
        os.makedirs(os.path.join(dest, d), exist_ok=True)


class Container(object):
    """spin_chain.py as PID 1 of new PID and mount namespaces, chrooted
    into rootfs; .pid is its pid on the host, .nspid inside."""

    def __init__(self, interp, rootfs, seconds=120):
        self.interp = interp
        script = 'mount -t proc proc "$1/proc" && exec chroot "$1" "$2" "$3" "$4"'
        self.proc = subprocess.Popen(
            ["unshare", "--pid", "--mount", "--fork", "--kill-child", "--propagation",
             "private", "--", "/bin/sh", "-c", script, "sh", rootfs, exe_of(interp), APP,
             str(seconds)],
            stdout=subprocess.PIPE, universal_newlines=True)
        line = self.proc.stdout.readline().strip()
        if not line.startswith("ready"):
            self.stop()
            raise RuntimeError("container with %s did not start: %r" % (interp, line))
        self.nspid = int(line.split()[1])
        with open("/proc/%d/task/%d/children" % (self.proc.pid, self.proc.pid)) as f:
            self.pid = int(f.read().split()[0])
        self.cmdline = "%s %s %d" % (exe_of(interp), APP, seconds)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()  # --kill-child takes the namespace's init with it
        self.proc.wait()
        self.proc.stdout.close()


@pytest.fixture(scope="module")
def rootfs(tmp_path_factory):
    """interp -> its container root, made on first use."""
    made = {}

    def get(interp):
        if interp.label not in made:
            dest = str(tmp_path_factory.mktemp("rootfs") / interp.label)
            make_rootfs(interp, dest)
            made[interp.label] = dest
        return made[interp.label]

    return get


@pytest.fixture
def containers(rootfs):
    for tool in ("unshare", "chroot", "patchelf"):
        need(shutil.which(tool), tool + " not found")
    need(not os.path.exists(APP), APP + " exists on the host")
    started = []

    def start(interp, seconds=120):
        need(not os.path.exists(exe_of(interp)), exe_of(interp) + " exists on the host")
        c = Container(interp, rootfs(interp), seconds)
        started.append(c)
        return c

    yield start
    for c in started:
        c.stop()


def check_setup(c):
    """The namespaces are what the test means them to be."""
    with open("/proc/%d/status" % c.pid) as f:
        nspid = [l.split()[1:] for l in f if l.startswith("NSpid:")][0]
    assert nspid == [str(c.pid), str(c.nspid)] and c.nspid == 1, nspid
    for ns in ("pid", "mnt"):
        assert os.readlink("/proc/%d/ns/%s" % (c.pid, ns)) != os.readlink("/proc/self/ns/" + ns)
    assert os.readlink("/proc/%d/root" % c.pid) != "/"


def test_host_wide_sees_containers(profiler, containers, tmp_path):
    interps = debian_interpreters()
    need(interps, "no Debian interpreter roots (make interpreters)")
    cs = [containers(i) for i in interps]
    for c in cs:
        check_setup(c)
    out = str(tmp_path / "all.txt")
    cpu = dict((c.pid, CpuMeter(c.pid)) for c in cs)
    res = run_profiler(["--duration", "5", "-f", "raw", "-o", out])
    used = dict((pid, m.seconds()) for pid, m in cpu.items())
    assert res.returncode == 0, res.stderr
    with open(out) as f:
        stacks = parse_raw(f.read())
    expected = chain(SHORT)
    for c in cs:
        mine = [(fr, n) for fr, n in stacks if fr[0].startswith("process %d" % c.pid)
                and fr[0][len("process %d" % c.pid)] in " :"]
        total = sum(n for _, n in mine)
        # Several spinners share two CPUs with whatever else runs.
        assert total >= min_samples(used[c.pid], 100), \
            "%s: %d samples for %.2f s of CPU\n%s" % (c.interp, total, used[c.pid], res.stderr)
        root = mine[0][0][0]
        assert root.endswith(':"%s"' % c.cmdline), root
        if "namespace" in root:
            # The lead's planned form: process <hostpid> (<nspid> in its namespace):"..."
            assert "(%d in its namespace)" % c.nspid in root, root
        good = sum(n for fr, n in mine if matches(fr[1:], expected))
        assert good >= 0.9 * total, (c.interp, mine)


@pytest.mark.parametrize("full", [False, True], ids=["short", "full-filenames"])
def test_record_pid_in_container(profiler, containers, tmp_path, full):
    interps = debian_interpreters()
    need(interps, "no Debian interpreter roots (make interpreters)")
    c = containers(interps[-1])
    out = str(tmp_path / "one.txt")
    args = ["record", "-p", str(c.pid), "-d", "3", "-f", "raw", "-o", out]
    cpu = CpuMeter(c.pid)
    res = run_profiler(args + (["--full-filenames"] if full else []))
    used = cpu.seconds()
    assert res.returncode == 0, res.stderr
    with open(out) as f:
        stacks = parse_raw(f.read())
    total = sum(n for _, n in stacks)
    assert total >= min_samples(used, 100), (total, used, res.stderr)
    expected = chain(APP if full else SHORT)
    good = sum(n for fr, n in stacks if matches(fr, expected))
    assert good >= 0.95 * total, stacks


def test_dump_in_container(profiler, containers):
    interps = debian_interpreters()
    need(interps, "no Debian interpreter roots (make interpreters)")
    c = containers(interps[-1])
    res = run_profiler(["dump", "-p", str(c.pid), "--json"])
    assert res.returncode == 0, res.stderr
    traces = json.loads(res.stdout)
    assert len(traces) == 1 and traces[0]["pid"] == c.pid, traces
    names = [(f["name"], f.get("short_filename") or f["filename"]) for f in traces[0]["frames"]]
    assert names[:5] == [("level_d", SHORT), ("level_c", SHORT), ("level_b", SHORT),
                         ("level_a", SHORT), ("<module>", SHORT)], names
    assert all(f["filename"] == APP for f in traces[0]["frames"]), traces[0]["frames"]
