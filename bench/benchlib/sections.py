# SPDX-License-Identifier: BSD-2-Clause
"""The seven measurements of `make bench`. Each returns a JSON-able dict of
raw per-run records; report.py turns them into tables and plots."""
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile

from . import run as R

WORKLOADS = ("fib", "deep", "threads")
RATES = (99, 999, 4999)
# Slowdown condition: the workload runs unprofiled while pyspy-bpf samples a
# sleeping Python process at the highest rate. Its perf events still
# interrupt the workload's CPU at that rate, and the BPF program runs on
# each tick only to find that the pid is not profiled: the cost of the ticks
# alone, apart from reading any stack.
TICKS = "pyspy-bpf ticks only"


def log(msg):
    sys.stderr.write("bench: %s\n" % msg)
    sys.stderr.flush()


def workload_argv(cfg, name, *args):
    return [cfg.python, os.path.join(cfg.workloads, name + ".py")] + [str(a) for a in args]


def austin_interval(rate):
    return str(int(round(1e6 / rate)))


def failed(failures, e, rnd, retried=False):
    rec = dict(e.record, round=rnd, retried=retried)
    failures.append(rec)
    log("run FAILED (%s): %s; %s" % (rec["exit"], rec["what"],
                                     "trying it again" if retried else "going on"))
    tail = rec["stderr"].strip().splitlines()[-3:]
    for line in tail:
        log("    " + line)


def _cleanup(path):
    try:
        os.unlink(path)
    except OSError:
        pass


# 1. Target slowdown ---------------------------------------------------------

def slowdown(cfg):
    """Fixed-work programs run to completion with no profiler, under
    `pyspy-bpf record -- COMMAND` and under `austin COMMAND`, interleaved in a
    shuffled order each round. The time measured is the workload's own (from
    just before its first iteration to just after its last), so interpreter
    start-up and attaching are not counted."""
    conds = [("none", 0)] + [("pyspy-bpf", r) for r in RATES] + [(TICKS, max(RATES))]
    if cfg.austin:
        conds += [("austin", r) for r in RATES]
    rng = random.Random(cfg.seed)
    runs, failures = [], []
    res = R.tmpfile(".json")
    env = dict(os.environ, BENCH_RESULT=res)
    idle = R.Target(workload_argv(cfg, "idle")).wait_ready()
    try:
        for rep in range(cfg.reps):
            for wl in WORKLOADS:
                order = list(conds)
                rng.shuffle(order)
                for prof, rate in order:
                    it = cfg.iterations[wl]
                    cmd = workload_argv(cfg, wl, "--iterations", it)
                    if prof == "pyspy-bpf":
                        argv = [cfg.pyspy, "record", "-f", "raw", "-o", "/dev/null",
                                "-r", rate, "--"] + cmd
                    elif prof == "austin":
                        # -t: wait up to 10 s (not 0.1) for the interpreter to
                        # start, or a busy machine makes austin give up.
                        argv = [cfg.austin, "-s", "-t", "10000", "-i", austin_interval(rate),
                                "-o", "/dev/null"] + cmd
                    else:
                        argv = cmd
                    _cleanup(res)
                    what = "slowdown %s %s %d Hz" % (wl, prof, rate)
                    ticks = None
                    try:
                        if prof == TICKS:
                            ticks = R.Background([cfg.pyspy, "record", "-p", idle.pid, "-r", rate,
                                                  "-d", cfg.run_timeout, "-f", "raw", "-o",
                                                  "/dev/null"], "pyspy-bpf: sampling ")
                        r = _run_retrying_austin(
                            prof, failures, rep, argv, env=env, pyspy=(prof == "pyspy-bpf"),
                            timeout=cfg.run_timeout, what=what)
                    except R.RunFailed as e:
                        failed(failures, e, rep)
                        continue
                    finally:
                        if ticks:
                            ticks.stop()
                    try:
                        w = R.workload_result(res)
                    except (OSError, ValueError) as e:
                        failed(failures, R.RunFailed({
                            "what": what, "argv": " ".join(r.argv), "exit": "no result",
                            "after_s": round(r.wall_s, 2),
                            "stderr": "%s\n%s" % (e, r.stderr[-1500:])}), rep)
                        continue
                    rec = {"round": rep, "workload": wl, "profiler": prof, "rate": rate,
                           "work_s": w["work_s"], "target_cpu_s": w["cpu_s"],
                           "wall_s": r.wall_s, "others_load": r.others_load()}
                    if prof == "pyspy-bpf":
                        s = r.summary() or {}
                        rec["samples"] = s.get("samples")
                        rec["bpf"] = r.bpf
                    elif prof == "austin":
                        rec["samples"] = r.austin_samples()
                    runs.append(rec)
            log("slowdown: round %d/%d done" % (rep + 1, cfg.reps))
    finally:
        idle.kill()
        _cleanup(res)
    return {"iterations": dict(cfg.iterations), "runs": runs, "failures": failures}


def _run_retrying_austin(prof, failures, rnd, argv, what, **kw):
    """austin now and then gives up on a process that is still starting
    ('not a Python process', status 32): such a run is noted and tried once
    more. pyspy-bpf runs are never retried."""
    try:
        return R.Run(argv, **kw).check(what)
    except R.RunFailed as e:
        if prof != "austin":
            raise
        failed(failures, e, rnd, retried=True)
        return R.Run(argv, **kw).check(what)


# 2. Profiler cost -----------------------------------------------------------

def cost(cfg):
    """Each profiler attached (-p PID) for a fixed duration to a workload
    that was started by the harness and is already warm. The profiler is not
    the target's parent, so its rusage is its own. pyspy-bpf's cost is its
    collector's CPU after attaching (loading and verifying the BPF programs is
    reported separately as start-up) plus the run time of every one of its
    BPF programs; austin's is its process's CPU. A run lasts long enough for
    cfg.cost_min_samples samples at its rate (at least cfg.cost_duration):
    per 1000 samples, a run's fixed costs (reading new code objects, writing
    the output, detaching) are not multiplied by a short run at a low rate."""
    profs = ["pyspy-bpf"] + (["austin"] if cfg.austin else [])
    rng = random.Random(cfg.seed + 1)
    runs, failures = [], []
    d = cfg.cost_duration
    for rep in range(cfg.cost_reps):
        for wl in WORKLOADS:
            t = R.Target(workload_argv(cfg, wl, "--forever")).wait_ready()
            try:
                order = [(p, r) for p in profs for r in RATES]
                rng.shuffle(order)
                for prof, rate in order:
                    try:
                        rec = _cost_run(cfg, t, prof, rate, cost_seconds(cfg, rate), wl,
                                        failures, rep)
                    except R.RunFailed as e:
                        failed(failures, e, rep)
                        continue
                    rec.update({"round": rep, "workload": wl, "profiler": prof, "rate": rate})
                    runs.append(rec)
            finally:
                t.kill()
        log("cost: round %d/%d done" % (rep + 1, cfg.cost_reps))
    return {"duration_s": d, "min_samples": cfg.cost_min_samples,
            "durations_s": {str(r): cost_seconds(cfg, r) for r in RATES},
            "runs": runs, "failures": failures}


def cost_seconds(cfg, rate):
    """Whole seconds (austin -x takes an integer) for cfg.cost_min_samples
    samples at rate, and at least cfg.cost_duration."""
    return max(cfg.cost_duration, -(-cfg.cost_min_samples // rate) + 1)


def _cost_run(cfg, t, prof, rate, d, wl, failures, rnd):
    if prof == "pyspy-bpf":
        r = R.Run([cfg.pyspy, "record", "-p", t.pid, "-d", d, "-r", rate,
                   "-f", "raw", "-o", "/dev/null"], pyspy=True, poll_s=0.25,
                  targets=[t.pid],
                  timeout=cfg.run_timeout).check("cost %s pyspy-bpf %d Hz" % (wl, rate))
        s = r.summary() or {}
        rec = {"samples": s.get("samples"), "collector_cpu_s": r.steady_cpu_s(),
               "startup_cpu_s": (r.cpu_ready_ns or 0) / 1e9,
               "total_cpu_s": r.cpu_s, "bpf": r.bpf,
               "bpf_s": r.bpf_total_ns() / 1e9}
        if r.cpu_wrote_ns is not None:
            # freeing the BPF objects after the output is written
            rec["exit_cpu_s"] = max(0.0, r.cpu_s - r.cpu_wrote_ns / 1e9)
        rec["cost_s"] = rec["collector_cpu_s"] + rec["bpf_s"]
    else:
        r = _run_retrying_austin(
            prof, failures, rnd,
            [cfg.austin, "-s", "-i", austin_interval(rate), "-p", t.pid, "-x", d,
             "-o", "/dev/null"], poll_s=0.25, targets=[t.pid], timeout=cfg.run_timeout,
            what="cost %s austin %d Hz" % (wl, rate))
        rec = {"samples": r.austin_samples(), "total_cpu_s": r.cpu_s,
               "cost_s": r.cpu_s}
    rec.update({"wall_s": r.wall_s, "peak_rss_kib": r.peak_rss_kib,
                "others_load": r.others_load()})
    return rec


# 3. Per-sample kernel cost vs stack depth -----------------------------------

def _frames_of_top_stack(path):
    """Frames in the most frequent stack of a raw (collapsed) profile."""
    best, best_n = None, -1
    try:
        with open(path) as f:
            for line in f:
                stack, _, n = line.rstrip("\n").rpartition(" ")
                if n.isdigit() and int(n) > best_n:
                    best, best_n = stack, int(n)
    except OSError:
        return None
    return len(best.split(";")) if best else None


def depth(cfg):
    """on_sample's run time per Python sample, for a target spinning at a
    fixed stack depth, at 999 Hz for a fixed duration.

    on_sample runs on every cpu-clock tick of every CPU that is not idle
    (the events exclude the idle task), also when the tick lands in a task
    that is not a profiled Python process (the collector, anything else on
    the host): those runs only look the pid up and return. Each round first
    measures that miss cost alone, with the profiler attached to a sleeping
    Python process (so every run is a miss): c_miss = run_time_ns / run_cnt
    (0 when nothing else ran). Then, per target,
        ns per Python sample = (run_time_ns - (run_cnt - n_py) * c_miss) / n_py
    with n_py = samples written + samples the summary lists as not in the
    output (those were walked in BPF too). The raw ratio run_time_ns / n_py,
    which charges every miss to the Python samples, is kept as an upper
    bound."""
    d = cfg.depth_duration
    runs, misses, failures = [], [], []
    c_miss = None
    raw = R.tmpfile(".raw")
    try:
        for rep in range(cfg.depth_reps):
            t = R.Target(workload_argv(cfg, "idle")).wait_ready()
            try:
                r = R.Run([cfg.pyspy, "record", "-p", t.pid, "-d", d, "-r", 999, "-f", "raw",
                           "-o", "/dev/null"], pyspy=True,
                          timeout=cfg.run_timeout).check("depth: miss calibration")
                ns, cnt = r.bpf.get("on_sample", [0, 0])
                c_miss = ns / cnt if cnt else 0.0
                misses.append({"round": rep, "run_time_ns": ns, "run_cnt": cnt,
                               "ns_per_run": c_miss})
            except R.RunFailed as e:
                failed(failures, e, rep)  # keeps the previous round's c_miss
            finally:
                t.kill()
            for label, py in cfg.interpreters:
                for dep in cfg.depths:
                    t = R.Target([py, os.path.join(cfg.workloads, "depth.py"), dep]).wait_ready()
                    try:
                        r = R.Run([cfg.pyspy, "record", "-p", t.pid, "-d", d, "-r", 999,
                                   "-f", "raw", "-o", raw], pyspy=True,
                                  timeout=cfg.run_timeout).check("depth %s %d" % (label, dep))
                    except R.RunFailed as e:
                        failed(failures, e, rep)
                        continue
                    finally:
                        t.kill()
                    s = r.summary() or {}
                    n_py = (s.get("samples") or 0) + sum(s.get("not_in_output", {}).values())
                    ns, cnt = r.bpf.get("on_sample", [0, 0])
                    rec = {"round": rep, "interpreter": label, "depth": dep, "samples": n_py,
                           "run_time_ns": ns, "run_cnt": cnt, "c_miss_ns": c_miss,
                           "frames_seen": _frames_of_top_stack(raw),
                           "truncated": s.get("truncated")}
                    if n_py and c_miss is not None:
                        rec["ns_per_sample"] = (ns - max(0, cnt - n_py) * c_miss) / n_py
                        rec["ns_per_sample_raw"] = ns / n_py
                    runs.append(rec)
            log("depth: round %d/%d done" % (rep + 1, cfg.depth_reps))
    finally:
        _cleanup(raw)
    return {"duration_s": d, "rate": 999, "misses": misses, "runs": runs, "failures": failures,
            "interpreters": [{"label": l, "path": p} for l, p in cfg.interpreters]}


# 4. Host-wide scale ---------------------------------------------------------

def _busy_pids_in_raw(path, pids):
    seen = set()
    want = set(pids)
    try:
        with open(path) as f:
            for line in f:
                if line.startswith("process "):
                    head = line[8:line.find(":")]
                    if head.isdigit() and int(head) in want:
                        seen.add(int(head))
    except OSError:
        pass
    return len(seen)


def scale(cfg):
    """N Python processes, half spinning (fib --forever) and half sleeping,
    all started before `pyspy-bpf --duration D -r 99` runs host-wide. The
    spinning ones wait for SIGUSR1, sent when the profiler says it is
    sampling: starting 100 spinning processes on a small machine otherwise
    takes a long time, and starves the profiler's own start-up (which is not
    what this section measures). The collector's CPU is read every second
    (schedstat) and from its rusage; its peak RSS is VmHWM, read while it
    runs."""
    d = cfg.scale_duration
    runs, failures = [], []
    raw = R.tmpfile(".raw")
    try:
        for rep in range(cfg.scale_reps):
            for n in cfg.scale_sizes:
                idle = n // 2
                busy = n - idle
                log("scale: starting %d processes (%d busy)" % (n, busy))
                ts = R.start_targets([workload_argv(cfg, "idle") for _ in range(idle)] +
                                     [workload_argv(cfg, "fib", "--forever", "--wait")
                                      for _ in range(busy)])
                try:
                    busy_pids = [t.pid for t in ts[idle:]]

                    def go():
                        for p in busy_pids:
                            os.kill(p, signal.SIGUSR1)
                    r = R.Run([cfg.pyspy, "record", "--duration", d, "-r", 99, "-f", "raw",
                               "-o", raw], pyspy=True, poll_s=1.0, on_ready=go,
                              timeout=cfg.run_timeout + 3 * d).check("scale %d" % n)
                except R.RunFailed as e:
                    failed(failures, e, rep)
                    continue
                finally:
                    for t in ts:
                        t.kill()
                log("scale: %d processes: profiler ready after %.1f s, exited after %.1f s" % (
                    n, (r.t_ready - r.t0) if r.t_ready else -1, r.wall_s))
                s = r.summary() or {}
                span = (r.t_exit - r.t_ready) if r.t_ready else d
                per_sec = []
                pts = [(t_, c) for t_, c, _ in r.polls if r.t_ready and t_ >= r.t_ready]
                for (ta, ca), (tb, cb) in zip(pts, pts[1:]):
                    if tb > ta:
                        per_sec.append((cb - ca) / 1e9 / (tb - ta) * 100)
                runs.append({
                    "round": rep, "processes": n, "busy": busy, "idle": idle,
                    "duration_s": d, "span_s": span,
                    "collector_cpu_pct": r.steady_cpu_s() / span * 100 if span else None,
                    "collector_cpu_pct_per_s": per_sec,
                    "startup_s": (r.t_ready - r.t0) if r.t_ready else None,
                    "startup_cpu_s": (r.cpu_ready_ns or 0) / 1e9,
                    "bpf_cpu_pct": r.bpf_total_ns() / 1e9 / span * 100 if span else None,
                    "bpf": r.bpf,
                    "peak_rss_kib": r.peak_rss_kib,
                    "samples": s.get("samples"), "processes_seen": s.get("processes"),
                    "lost": s.get("lost"), "not_in_output": s.get("not_in_output"),
                    "busy_in_output": _busy_pids_in_raw(raw, busy_pids),
                })
                log("scale: %d processes: %.2f%% CPU, %d KiB, %s lost" % (
                    n, runs[-1]["collector_cpu_pct"] or 0, runs[-1]["peak_rss_kib"] or 0,
                    runs[-1]["lost"]))
    finally:
        _cleanup(raw)
    return {"duration_s": d, "runs": runs, "failures": failures}


# 5. Start-up ----------------------------------------------------------------

def _first_sample_us(path, pid):
    try:
        with open(path) as f:
            doc = json.load(f)
    except (OSError, ValueError):
        return None
    ts = [e["ts"] for e in (doc if isinstance(doc, list) else [])
          if e.get("ph") == "B" and e.get("pid") == pid and "ts" in e]
    return min(ts) if ts else None


def startup(cfg):
    """A warm busy target; pyspy-bpf launched with -d D -f chrometrace, either
    -p PID or host-wide. Times from the harness's fork+exec:
    - ready: the 'sampling ...' line on stderr, printed right after attaching
      (its clock is the start of the trace);
    - first sample: ready + the first sample's timestamp in the trace (trace
      times count from that start; a sample taken before it shows as 0);
    - output done: the 'wrote ... profile' line (printed once the output file
      is complete); 'after duration' is output done - (ready + D);
    - exit: the process has exited."""
    d = cfg.startup_duration
    runs, failures = [], []
    out = R.tmpfile(".json")
    try:
        t = R.Target(workload_argv(cfg, "fib", "--forever")).wait_ready()
        try:
            for rep in range(cfg.startup_reps):
                for mode in ("pid", "host-wide"):
                    argv = [cfg.pyspy, "record", "-d", d, "-r", 999, "-f", "chrometrace",
                            "-o", out]
                    if mode == "pid":
                        argv += ["-p", t.pid]
                    try:
                        r = R.Run(argv, pyspy=True, timeout=cfg.run_timeout).check(
                            "startup %s" % mode)
                    except R.RunFailed as e:
                        failed(failures, e, rep)
                        continue
                    first = _first_sample_us(out, t.pid)
                    wrote = r.line_time("pyspy-bpf: wrote ")
                    rec = {"round": rep, "mode": mode, "duration_s": d,
                           "ready_s": (r.t_ready - r.t0) if r.t_ready else None,
                           "startup_cpu_s": (r.cpu_ready_ns or 0) / 1e9,
                           "exit_s": r.t_exit - r.t0}
                    if r.t_ready is not None and first is not None:
                        rec["first_sample_s"] = rec["ready_s"] + first / 1e6
                    if wrote is not None:
                        rec["output_done_s"] = wrote - r.t0
                        if r.t_ready is not None:
                            rec["after_duration_s"] = wrote - (r.t_ready + d)
                    runs.append(rec)
        finally:
            t.kill()
    finally:
        _cleanup(out)
    return {"duration_s": d, "runs": runs, "failures": failures}


# 6. --native ------------------------------------------------------------------

NATIVE_PY_DEPTH = 50
NATIVE_C_DEPTH = 30


def _native_lib(cfg, tmpdir):
    """rec() of workloads/native_rec.c, built -O2 (no frame pointers)."""
    lib = os.path.join(tmpdir, "libnative_rec.so")
    subprocess.run(["gcc", "-O2", "-shared", "-fPIC", "-o", lib,
                    os.path.join(cfg.workloads, "native_rec.c")], check=True)
    return lib


def _miss_cost(cfg, rep, misses, failures, c_miss):
    """on_sample's cost per run when every run misses (a sleeping target)."""
    t = R.Target(workload_argv(cfg, "idle")).wait_ready()
    try:
        r = R.Run([cfg.pyspy, "record", "-p", t.pid, "-d", cfg.depth_duration, "-r", 999,
                   "-f", "raw", "-o", "/dev/null"], pyspy=True,
                  timeout=cfg.run_timeout).check("native: miss calibration")
        ns, cnt = r.bpf.get("on_sample", [0, 0])
        c_miss = ns / cnt if cnt else 0.0
        misses.append({"round": rep, "run_time_ns": ns, "run_cnt": cnt, "ns_per_run": c_miss})
    except R.RunFailed as e:
        failed(failures, e, rep)
    finally:
        t.kill()
    return c_miss


def _native_run(cfg, t, mode, raw, c_miss):
    """pyspy-bpf on t at 999 Hz, with --native or not; austin (Python only)."""
    d = cost_seconds(cfg, 999)
    if mode == "austin":
        r = _run_retrying_austin("austin", [], 0,
                                 [cfg.austin, "-s", "-i", austin_interval(999), "-p", t.pid,
                                  "-x", d, "-o", "/dev/null"], poll_s=0.25, targets=[t.pid],
                                 timeout=cfg.run_timeout, what="native austin")
        return {"samples": r.austin_samples(), "cost_s": r.cpu_s}
    argv = [cfg.pyspy, "record", "-p", t.pid, "-d", d, "-r", 999, "-f", "raw", "-o", raw]
    r = R.Run(argv + (["--native"] if mode == "native" else []), pyspy=True, poll_s=0.25,
              targets=[t.pid], timeout=cfg.run_timeout).check("native %s" % mode)
    s = r.summary() or {}
    n_py = (s.get("samples") or 0) + sum(s.get("not_in_output", {}).values())
    ns, cnt = r.bpf.get("on_sample", [0, 0])
    rec = {"samples": n_py, "run_time_ns": ns, "run_cnt": cnt, "c_miss_ns": c_miss,
           "frames_seen": _frames_of_top_stack(raw), "cost_s": r.steady_cpu_s()}
    if n_py and c_miss is not None:
        rec["ns_per_sample"] = (ns - max(0, cnt - n_py) * c_miss) / n_py
    return rec


def native(cfg):
    """--native at NATIVE_PY_DEPTH Python frames over NATIVE_C_DEPTH C frames
    of rec() (plus ctypes' and libffi's): on_sample's time per sample, as in
    the depth section, with and without --native on the same target; and
    CPU per 1000 samples of pyspy-bpf's collector with --native against
    austin's (Python stacks only) on that target, all at 999 Hz."""
    runs, misses, failures = [], [], []
    c_miss = None
    tmpdir = tempfile.mkdtemp(prefix="pyspy-bench-native-")
    raw = os.path.join(tmpdir, "out.raw")
    modes = ["python", "native"] + (["austin"] if cfg.austin else [])
    try:
        lib = _native_lib(cfg, tmpdir)
        for rep in range(cfg.depth_reps):
            c_miss = _miss_cost(cfg, rep, misses, failures, c_miss)
            t = R.Target([cfg.python, os.path.join(cfg.workloads, "native.py"), lib,
                          NATIVE_PY_DEPTH, NATIVE_C_DEPTH]).wait_ready()
            try:
                for mode in modes:
                    try:
                        rec = _native_run(cfg, t, mode, raw, c_miss)
                    except R.RunFailed as e:
                        failed(failures, e, rep)
                        continue
                    rec.update({"round": rep, "mode": mode})
                    runs.append(rec)
            finally:
                t.kill()
            log("native: round %d/%d done" % (rep + 1, cfg.depth_reps))
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)
    return {"rate": 999, "py_depth": NATIVE_PY_DEPTH, "c_depth": NATIVE_C_DEPTH,
            "misses": misses, "runs": runs, "failures": failures}


# --async: the asyncio tree of the end-to-end tests, with this many workers.
ASYNC_PROGRAM = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), "tests", "programs", "async_tree.py")
ASYNC_WORKERS = 8


def _async_run(cfg, t, mode, raw, c_miss):
    """pyspy-bpf on t at 999 Hz, with --async or not."""
    argv = [cfg.pyspy, "record", "-p", t.pid, "-d", cost_seconds(cfg, 999), "-r", 999,
            "-f", "raw", "-o", raw]
    r = R.Run(argv + (["--async"] if mode == "async" else []), pyspy=True, poll_s=0.25,
              targets=[t.pid], timeout=cfg.run_timeout).check("async %s" % mode)
    s = r.summary() or {}
    n_py = (s.get("samples") or 0) + sum(s.get("not_in_output", {}).values())
    ns, cnt = r.bpf.get("on_sample", [0, 0])
    tasks = 0
    with open(raw) as f:
        for line in f:
            if line.startswith('task "'):
                tasks += int(line.rsplit(" ", 1)[1])
    rec = {"samples": n_py, "task_samples": tasks, "run_time_ns": ns, "run_cnt": cnt,
           "c_miss_ns": c_miss, "cost_s": r.steady_cpu_s()}
    if n_py and c_miss is not None:
        rec["ns_per_sample"] = (ns - max(0, cnt - n_py) * c_miss) / n_py
    return rec


def async_tasks(cfg):
    """--async on an asyncio tree (ASYNC_WORKERS workers, each awaiting a
    spinning task): on_sample's time per sample, as in the depth section,
    and the collector's CPU per 1000 samples, with and without --async on
    the same target, at 999 Hz; and the share of samples shown as tasks."""
    runs, misses, failures = [], [], []
    c_miss = None
    tmpdir = tempfile.mkdtemp(prefix="pyspy-bench-async-")
    raw = os.path.join(tmpdir, "out.raw")
    try:
        for rep in range(cfg.depth_reps):
            c_miss = _miss_cost(cfg, rep, misses, failures, c_miss)
            # It names its tasks, a line each, before it is ready.
            t = R.Target([cfg.python, ASYNC_PROGRAM, ASYNC_WORKERS]).wait_ready(skip=ASYNC_WORKERS)
            try:
                for mode in ("python", "async"):
                    try:
                        rec = _async_run(cfg, t, mode, raw, c_miss)
                    except R.RunFailed as e:
                        failed(failures, e, rep)
                        continue
                    rec.update({"round": rep, "mode": mode})
                    runs.append(rec)
            finally:
                t.kill()
            log("async: round %d/%d done" % (rep + 1, cfg.depth_reps))
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)
    return {"rate": 999, "workers": ASYNC_WORKERS, "misses": misses, "runs": runs,
            "failures": failures}


SECTIONS = {
    "slowdown": slowdown,
    "cost": cost,
    "depth": depth,
    "scale": scale,
    "startup": startup,
    "native": native,
    "async": async_tasks,
}
