# SPDX-License-Identifier: BSD-2-Clause
"""Running the profilers and their targets, and reading what they report."""
import json
import os
import re
import signal
import subprocess
import tempfile
import threading
import time

from . import bpfstats

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
SUMMARY = re.compile(
    r"wrote (\S+) profile to '(.*)': (\d+) samples, (\d+) processes, (\d+) distinct stacks; "
    r"not in output: (.*); truncated stacks: (\d+), unknown frames: (\d+)")
# Reasons in the summary that mean a sample was lost (the live status line
# counts the same three as "lost").
LOST_REASONS = ("ring buffer full", "process not known yet", "malformed record")


def now():
    return time.monotonic()


def task_cpu_ns(pid):
    """CPU time of every thread of pid so far, in ns (schedstat: exact, unlike
    the clock ticks of /proc/PID/stat). None once the process is gone."""
    total = 0
    try:
        for t in os.listdir("/proc/%d/task" % pid):
            try:
                with open("/proc/%d/task/%s/schedstat" % (pid, t)) as f:
                    total += int(f.read().split()[0])
            except (OSError, ValueError, IndexError):
                pass
    except OSError:
        return None
    return total


def host_busy_s():
    """CPU seconds every CPU has spent not idle since boot (/proc/stat)."""
    try:
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    # user nice system idle iowait irq softirq steal (guest is in user)
    return (sum(v[:8]) - v[3] - v[4]) / os.sysconf("SC_CLK_TCK")


def diagnose(pid):
    """What a process that does not finish is doing: its state, kernel wait
    channel and, with gdb, every thread's backtrace."""
    out = []
    for what in ("wchan", "stat"):
        try:
            with open("/proc/%d/%s" % (pid, what)) as f:
                out.append("%s: %s" % (what, f.read().strip()[:300]))
        except OSError:
            pass
    try:
        with open("/proc/%d/stack" % pid) as f:
            out.append("kernel stack:\n" + f.read().strip())
    except OSError:
        pass
    try:
        r = subprocess.run(["gdb", "-q", "-batch", "-p", str(pid), "-ex", "thread apply all bt"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           universal_newlines=True, timeout=60)
        out.append("gdb:\n" + "\n".join(l for l in r.stdout.splitlines()
                                          if l.startswith(("#", "Thread"))))
    except (OSError, subprocess.SubprocessError):
        pass
    return "\n".join(out)


def vm_hwm_kib(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return None


def parse_not_in_output(text):
    out = {}
    if text.strip() == "none":
        return out
    for part in text.split(", "):
        m = re.match(r"(\d+) (.*)", part.strip())
        if m:
            out[m.group(2)] = out.get(m.group(2), 0) + int(m.group(1))
    return out


class Target:
    """A workload started by the harness and left running (--forever, or a
    script that prints 'ready' and runs until killed)."""

    def __init__(self, argv, env=None, cpu=None):
        argv = [str(a) for a in argv]
        if cpu is not None:
            argv = ["taskset", "-c", str(cpu)] + list(argv)
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, env=env)
        self.pid = self.proc.pid

    def wait_ready(self, timeout=60, skip=0):
        """Until the workload prints 'ready', after skip lines of its own."""
        line = b""
        deadline = now() + timeout
        # readline blocks; the workloads print 'ready' within a second.
        t = threading.Timer(timeout, self.kill)
        t.start()
        try:
            for _ in range(skip + 1):
                line = self.proc.stdout.readline()
        finally:
            t.cancel()
        if line.strip() != b"ready" or now() > deadline:
            err = self.proc.stderr.read().decode(errors="replace") if self.proc.poll() is not None else ""
            self.kill()
            raise RuntimeError("workload %s did not start: %r %s" % (self.proc.args, line, err[-500:]))
        return self

    def kill(self):
        if self.proc.poll() is None:
            try:
                self.proc.send_signal(signal.SIGKILL)
            except OSError:
                pass
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            pass
        for f in (self.proc.stdout, self.proc.stderr):
            if f:
                f.close()


class Background:
    """A profiler left running beside the measured run: started, waited for
    until a stderr line contains ready_text, stopped with SIGINT (then
    killed). Raises RunFailed when it exits or does not get ready."""

    def __init__(self, argv, ready_text, timeout=60):
        self.argv = [str(a) for a in argv]
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        got = []
        reader = threading.Thread(target=self._wait, args=(ready_text, got), daemon=True)
        reader.start()
        reader.join(timeout)
        if not got:
            self.stop()
            raise RunFailed({"what": "background " + self.argv[0], "argv": " ".join(self.argv),
                             "exit": self.proc.returncode, "after_s": timeout,
                             "stderr": "did not print %r" % ready_text})

    def _wait(self, text, got):
        for raw in iter(self.proc.stderr.readline, b""):
            if text in raw.decode("utf-8", "replace"):
                got.append(True)
                return

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stderr.close()


def start_targets(argvs, env=None):
    """Starts many targets, then waits until each is ready."""
    ts = []
    try:
        for a in argvs:
            ts.append(Target(a, env=env))
        for t in ts:
            t.wait_ready()
    except Exception:
        for t in ts:
            t.kill()
        raise
    return ts


class Run:
    """One profiler (or plain) run: wall time, rusage, stderr lines with their
    arrival times, and, for pyspy-bpf, its BPF programs' statistics."""

    def __init__(self, argv, env=None, timeout=600, pyspy=False, poll_s=None, on_ready=None,
                 targets=()):
        self.argv = [str(a) for a in argv]
        self.lines = []  # (monotonic time, text)
        self.t_ready = None
        self.cpu_ready_ns = None
        self.cpu_wrote_ns = None
        # Peak RSS: VmHWM read while the process runs (at attach, at the
        # 'wrote' line and every poll_s). Not ru_maxrss: a forked child's
        # ru_maxrss starts from its parent's (this harness's) high-water mark.
        self.peak_rss_kib = None
        self.on_ready = on_ready
        self.progs = bpfstats.ProgSet() if pyspy else None
        self.pyspy = pyspy
        self.polls = []  # (monotonic time, cpu ns, VmHWM KiB) every poll_s
        # CPU of targets that are not the run's children: not "other load".
        self.targets = list(targets)
        tcpu0 = [task_cpu_ns(p) for p in self.targets]
        busy0 = host_busy_s()
        self.t0 = now()
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
        self.pid = self.proc.pid
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        self.poller = None
        self._done = threading.Event()
        if poll_s:
            self.poller = threading.Thread(target=self._poll, args=(poll_s,), daemon=True)
            self.poller.start()
        self.timer = threading.Timer(timeout, self._timeout)
        self.timed_out = False
        self.diagnosis = None
        self.timer.start()
        _, status, ru = os.wait4(self.pid, 0)
        self.t_exit = now()
        busy1 = host_busy_s()
        self.targets_cpu_s = sum((b - a) / 1e9 for a, b in
                                 zip(tcpu0, [task_cpu_ns(p) for p in self.targets])
                                 if a is not None and b is not None)
        # Everything the machine did meanwhile, this run included (USER_HZ
        # resolution): the rest is other processes' load.
        self.host_busy_s = busy1 - busy0 if busy0 is not None and busy1 is not None else None
        self.timer.cancel()
        self._done.set()
        self.proc.returncode = (os.WEXITSTATUS(status) if os.WIFEXITED(status)
                                else 128 + os.WTERMSIG(status))
        self.rc = self.proc.returncode
        self.reader.join(10)
        if self.poller:
            self.poller.join(10)
        self.proc.stderr.close()
        self.cpu_s = ru.ru_utime + ru.ru_stime
        self.utime_s, self.stime_s = ru.ru_utime, ru.ru_stime
        self.wall_s = self.t_exit - self.t0
        self.bpf = {}
        if self.progs:
            self.bpf = self.progs.read()
            self.progs.close()
        self.stderr = "".join(l for _, l in self.lines)

    def _timeout(self):
        self.timed_out = True
        self.diagnosis = diagnose(self.pid)
        try:
            os.kill(self.pid, signal.SIGKILL)
        except OSError:
            pass

    def _read(self):
        for raw in iter(self.proc.stderr.readline, b""):
            t = now()
            text = ANSI.sub("", raw.decode("utf-8", "replace"))
            if self.pyspy and self.t_ready is None and "pyspy-bpf: sampling " in text:
                # Attached: every program is loaded. Take our references and
                # the collector's start-up CPU now.
                self.t_ready = t
                self.cpu_ready_ns = task_cpu_ns(self.pid)
                self._hwm(vm_hwm_kib(self.pid))
                self.progs.grab(self.pid)
                if self.on_ready:
                    self.on_ready()
            elif self.pyspy and "pyspy-bpf: wrote " in text:
                # Output complete; what follows is freeing the BPF objects.
                self.cpu_wrote_ns = task_cpu_ns(self.pid)
                self._hwm(vm_hwm_kib(self.pid))
            self.lines.append((t, text))

    def _hwm(self, kib):
        if kib is not None and (self.peak_rss_kib is None or kib > self.peak_rss_kib):
            self.peak_rss_kib = kib

    def _poll(self, interval):
        while not self._done.wait(interval):
            c, h = task_cpu_ns(self.pid), vm_hwm_kib(self.pid)
            self._hwm(h)
            if c is not None:
                self.polls.append((now(), c, h))

    def line_time(self, needle):
        for t, l in self.lines:
            if needle in l:
                return t
        return None

    # pyspy-bpf's summary line
    def summary(self):
        m = SUMMARY.search(self.stderr)
        if not m:
            return None
        nio = parse_not_in_output(m.group(6))
        return {
            "format": m.group(1), "samples": int(m.group(3)), "processes": int(m.group(4)),
            "stacks": int(m.group(5)), "not_in_output": nio,
            "lost": sum(v for k, v in nio.items() if k in LOST_REASONS),
            "truncated": int(m.group(7)), "unknown_frames": int(m.group(8)),
        }

    # austin's statistics on stderr
    def austin_samples(self):
        m = re.search(r"Error rate\s*:\s*(\d+)/(\d+)", self.stderr)
        return int(m.group(2)) if m else None

    def bpf_total_ns(self):
        return sum(v[0] for v in self.bpf.values())

    def steady_cpu_s(self):
        """CPU after attach (excludes loading and verifying the BPF programs)."""
        if self.cpu_ready_ns is None:
            return self.cpu_s
        return max(0.0, self.cpu_s - self.cpu_ready_ns / 1e9)

    def others_load(self):
        """Average CPUs used by processes other than this run's (and its
        reaped children's) while it ran."""
        if self.host_busy_s is None or self.wall_s <= 0:
            return None
        return max(0.0, self.host_busy_s - self.cpu_s - self.targets_cpu_s) / self.wall_s

    def check(self, what, ok_codes=(0,)):
        """Raises RunFailed unless the run exited with one of ok_codes."""
        if self.timed_out or self.rc not in ok_codes:
            raise RunFailed({
                "what": what, "argv": " ".join(self.argv),
                "exit": "timed out" if self.timed_out else (
                    "signal %d" % (self.rc - 128) if self.rc > 128 else "status %d" % self.rc),
                "after_s": round(self.wall_s, 2),
                "stderr": self.stderr[-1500:],
                "diagnosis": self.diagnosis,
            })
        return self


class RunFailed(RuntimeError):
    """A run that crashed, failed or timed out; .record says which and how.
    The sections note it and go on with the next run."""

    def __init__(self, record):
        RuntimeError.__init__(self, "%(what)s: %(exit)s: %(argv)s" % record)
        self.record = record


def workload_result(path):
    with open(path) as f:
        return json.load(f)


def tmpfile(suffix=""):
    fd, path = tempfile.mkstemp(prefix="pyspy-bench-", suffix=suffix)
    os.close(fd)
    return path
