# SPDX-License-Identifier: BSD-2-Clause
"""results.json -> results.md (tables, budgets) and PNG plots."""
import os

from .stats import fmt_count, fmt_mmm, fmt_num, fmt_pct_ratio, med, mmm

BUDGETS_TEXT = {
    "depth50": "BPF time per Python sample at depth 50, median ≤ 5 µs",
    "slow99": "target slowdown at 99 Hz ≤ 1% (median)",
    "slow999": "target slowdown at 999 Hz ≤ 3% (median)",
    "cost": "pyspy-bpf CPU per 1000 samples ≤ 1/10 of austin's (median)",
    "scale_cpu": "200 processes at 99 Hz: collector ≤ 2% of one core",
    "scale_rss": "200 processes at 99 Hz: peak RSS ≤ 64 MiB",
    "scale_lost": "200 processes at 99 Hz: no lost samples",
    "no_crash": "every pyspy-bpf run exits 0 (no crash, no time-out)",
    "native_bpf": "--native: BPF time per sample, 50 Python + 30 C frames, median ≤ 10 µs",
    "native_cost": "--native: collector CPU per 1000 samples ≤ 1/5 of austin's "
                   "(Python only) on the same target",
    "async_cost": "--async: collector CPU per 1000 samples ≤ 2× that without it, "
                  "on the same asyncio target",
}


def table(head, rows):
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        out.append("| " + " | ".join(str(c) for c in r) + " |")
    return "\n".join(out)


def verdict(ok):
    if ok is None:
        return "n/a"
    if ok == "noisy":
        return "NOISY"
    return "PASS" if ok else "**FAIL**"


def _by(runs, *keys):
    groups = {}
    for r in runs:
        groups.setdefault(tuple(r.get(k) for k in keys), []).append(r)
    return groups


# --- slowdown ---------------------------------------------------------------

def slowdown_rows(sec):
    runs = sec["runs"]
    rows, data = [], {}
    for wl in _ordered(r["workload"] for r in runs):
        base = [r for r in runs if r["workload"] == wl and r["profiler"] == "none"]
        bw = med(r["work_s"] for r in base)
        bc = med(r["target_cpu_s"] for r in base)
        rows.append([wl, "none", "–", fmt_mmm(mmm(r["work_s"] for r in base), suffix=" s"),
                     fmt_mmm(mmm(r["target_cpu_s"] for r in base), suffix=" s"), "–", "–",
                     fmt_mmm(mmm(r.get("others_load") for r in base), digits=2), len(base)])
        bt = mmm(r["work_s"] for r in base)
        # Uncertainty of the baseline median, roughly: half its range / sqrt(n).
        data[(wl, "none", 0)] = ((bt[2] - bt[0]) / 2 / bt[1] / len(base) ** 0.5 if bt else None,
                                 med(r.get("others_load") for r in base))
        groups = _by([r for r in runs if r["workload"] == wl and r["profiler"] != "none"],
                     "profiler", "rate")
        for (prof, rate) in sorted(groups, key=_cond_order):
            g = groups[(prof, rate)]
            wr = mmm(r["work_s"] / bw for r in g) if bw else None
            cr = mmm(r["target_cpu_s"] / bc for r in g) if bc else None
            data[(wl, prof, rate)] = wr
            # (ratio triple, uncertainty of its median: half range / sqrt(n))
            data[(wl, prof, rate, "u")] = ((wr[2] - wr[0]) / 2 / wr[1] / len(g) ** 0.5
                                           if wr else None)
            bpf = mmm(_bpf_s(r) / r["work_s"] * 100 for r in g) if prof == "pyspy-bpf" else None
            rows.append([wl, prof, rate, fmt_pct_ratio(wr), fmt_pct_ratio(cr),
                         fmt_count(mmm(r.get("samples") for r in g)),
                         fmt_mmm(bpf, digits=2, suffix="%") if bpf else "–",
                         fmt_mmm(mmm(r.get("others_load") for r in g), digits=2), len(g)])
    return rows, data


def miss_cost(sec):
    """on_sample's cost per run that misses, as a section measured it."""
    return fmt_mmm(mmm(x["ns_per_run"] for x in sec["misses"]))


def _cond_order(cond):
    """pyspy-bpf's rates, then its ticks-only condition, then austin's."""
    prof, rate = cond[0], cond[1]
    return ({"pyspy-bpf": 0, "austin": 2}.get(prof, 1), rate)


def _bpf_s(r):
    return sum(v[0] for v in r.get("bpf", {}).values()) / 1e9


def _ordered(it):
    seen = []
    for x in it:
        if x not in seen:
            seen.append(x)
    return seen


# --- cost ------------------------------------------------------------------

def _per1000(r, key="cost_s"):
    """ms of CPU per 1000 samples (numerically: µs per sample)."""
    if not r.get("samples") or r.get(key) is None:
        return None
    return r[key] / r["samples"] * 1e6


def cost_rows(sec):
    runs = sec["runs"]
    rows, data = [], {}
    for wl in _ordered(r["workload"] for r in runs):
        for rate in sorted({r["rate"] for r in runs if r["workload"] == wl}):
            p = [r for r in runs if r["workload"] == wl and r["rate"] == rate
                 and r["profiler"] == "pyspy-bpf"]
            a = [r for r in runs if r["workload"] == wl and r["rate"] == rate
                 and r["profiler"] == "austin"]
            pt = mmm(_per1000(r) for r in p)
            at = mmm(_per1000(r) for r in a)
            # per round: austin's cost over pyspy-bpf's in the same round
            ratio = []
            for rnd in {r["round"] for r in p}:
                pp = [_per1000(r) for r in p if r["round"] == rnd]
                aa = [_per1000(r) for r in a if r["round"] == rnd]
                if pp and aa and pp[0] and aa[0]:
                    ratio.append(aa[0] / pp[0])
            data[(wl, rate)] = (pt, at)
            dur = (sec.get("durations_s") or {}).get(str(rate), sec["duration_s"])
            rows.append([
                wl, rate,
                fmt_count(mmm(r.get("samples") for r in p)),
                fmt_mmm(mmm(_per1000(r, "collector_cpu_s") for r in p)),
                fmt_mmm(mmm(_per1000(r, "bpf_s") for r in p)),
                fmt_mmm(pt),
                fmt_mmm(mmm(r["cost_s"] / dur * 100 for r in p), digits=2, suffix="%"),
                fmt_count(mmm(r.get("samples") for r in a)) if a else "–",
                fmt_mmm(at) if a else "–",
                fmt_mmm(mmm(r["cost_s"] / dur * 100 for r in a), digits=2, suffix="%")
                if a else "–",
                fmt_mmm(mmm(ratio), digits=2, suffix="×") if ratio else "–",
            ])
    return rows, data


# --- depth -----------------------------------------------------------------

def depth_rows(sec):
    runs = sec["runs"]
    rows, data = [], {}
    rate = sec.get("rate", 999)
    for label in _ordered(r["interpreter"] for r in runs):
        for dep in sorted({r["depth"] for r in runs if r["interpreter"] == label}):
            g = [r for r in runs if r["interpreter"] == label and r["depth"] == dep]
            t = mmm(r.get("ns_per_sample") for r in g)
            data[(label, dep)] = t
            rows.append([
                label, dep, fmt_count(mmm(r.get("frames_seen") for r in g)),
                fmt_count(mmm(r.get("samples") for r in g)),
                fmt_mmm(t, scale=1e-3, suffix=" µs"),
                fmt_mmm(mmm(r.get("ns_per_sample_raw") for r in g), scale=1e-3, suffix=" µs"),
                fmt_mmm(t, scale=rate * 1e-9 * 100, digits=2, suffix="%") if t else "–",
            ])
    return rows, data


def depth_fit(data):
    """Least-squares line through the medians of each interpreter:
    {label: (fixed ns, ns per frame)}."""
    out = {}
    for label in _ordered(k[0] for k in data):
        pts = [(dep, t[1]) for (l, dep), t in data.items() if l == label and t]
        if len(pts) < 2:
            continue
        n = len(pts)
        mx = sum(x for x, _ in pts) / n
        my = sum(y for _, y in pts) / n
        sxx = sum((x - mx) ** 2 for x, _ in pts)
        if not sxx:
            continue
        b = sum((x - mx) * (y - my) for x, y in pts) / sxx
        out[label] = (my - b * mx, b)
    return out


# --- scale -----------------------------------------------------------------

def scale_rows(sec):
    runs = sec["runs"]
    rows, data = [], {}
    for n in sorted({r["processes"] for r in runs}):
        g = [r for r in runs if r["processes"] == n]
        per_s = [x for r in g for x in r.get("collector_cpu_pct_per_s", [])]
        cpu = mmm(r.get("collector_cpu_pct") for r in g)
        rss = mmm(r.get("peak_rss_kib") for r in g)
        lost = mmm(r.get("lost") for r in g)
        data[n] = {"cpu": cpu, "rss": rss, "lost": lost, "per_s": per_s}
        rows.append([
            n, "%d / %d" % (g[0]["busy"], g[0]["idle"]),
            fmt_mmm(cpu, digits=2, suffix="%"),
            fmt_mmm(mmm(per_s), digits=2, suffix="%"),
            fmt_mmm(mmm(r.get("bpf_cpu_pct") for r in g), digits=2, suffix="%"),
            fmt_mmm(rss, scale=1 / 1024, suffix=" MiB"),
            fmt_count(mmm(r.get("samples") for r in g)),
            fmt_count(lost),
            "%s / %d" % (fmt_count(mmm(r.get("processes_seen") for r in g)), n),
            "%s / %d" % (fmt_count(mmm(r.get("busy_in_output") for r in g)), g[0]["busy"]),
            fmt_mmm(mmm(r.get("startup_s") for r in g), suffix=" s"),
            fmt_mmm(mmm(r.get("startup_cpu_s") for r in g), suffix=" s"),
        ])
    return rows, data


# --- startup ---------------------------------------------------------------

def startup_rows(sec):
    rows = []
    for mode in _ordered(r["mode"] for r in sec["runs"]):
        g = [r for r in sec["runs"] if r["mode"] == mode]
        rows.append([mode] + [fmt_mmm(mmm(r.get(k) for r in g), suffix=" s") for k in
                              ("ready_s", "first_sample_s", "output_done_s",
                               "after_duration_s", "exit_s", "startup_cpu_s")])
    return rows


# --- native ----------------------------------------------------------------

def native_rows(sec):
    runs = sec["runs"]
    rows, data = [], {}
    for mode in ("python", "native", "austin"):
        g = [r for r in runs if r["mode"] == mode]
        if not g:
            continue
        t = mmm(r.get("ns_per_sample") for r in g)
        c = mmm(_per1000(r) for r in g)
        data[mode] = (t, c)
        rows.append([
            {"python": "pyspy-bpf", "native": "pyspy-bpf --native",
             "austin": "austin (Python only)"}[mode],
            fmt_count(mmm(r.get("frames_seen") for r in g)) if mode != "austin" else "–",
            fmt_count(mmm(r.get("samples") for r in g)),
            fmt_mmm(t, scale=1e-3, suffix=" µs") if t else "–",
            fmt_mmm(c),
        ])
    return rows, data


# --- async -----------------------------------------------------------------

def async_rows(sec):
    rows, data = [], {}
    for mode in ("python", "async"):
        g = [r for r in sec["runs"] if r["mode"] == mode]
        if not g:
            continue
        t = mmm(r.get("ns_per_sample") for r in g)
        c = mmm(_per1000(r) for r in g)
        share = mmm(100.0 * r["task_samples"] / r["samples"] for r in g if r.get("samples"))
        data[mode] = (t, c)
        rows.append([
            {"python": "pyspy-bpf", "async": "pyspy-bpf --async"}[mode],
            fmt_count(mmm(r.get("samples") for r in g)),
            fmt_mmm(share, suffix="%"),
            fmt_mmm(t, scale=1e-3, suffix=" µs") if t else "–",
            fmt_mmm(c),
        ])
    return rows, data


# --- budgets ---------------------------------------------------------------

def budgets(res):
    secs = res.get("sections", {})
    out = []  # (key, case, measured text, ok, note)
    if "depth" in secs:
        _, d = depth_rows(secs["depth"])
        for (label, dep), t in d.items():
            if dep == 50:
                out.append(("depth50", label, fmt_mmm(t, scale=1e-3, suffix=" µs"),
                            None if t is None else t[1] <= 5000, ""))
    if "slowdown" in secs:
        _, d = slowdown_rows(secs["slowdown"])
        for key, t in d.items():
            if len(key) != 3 or key[1] != "pyspy-bpf" or key[2] not in (99, 999):
                continue
            wl, prof, rate = key
            lim = 1.01 if rate == 99 else 1.03
            ub, others = d.get((wl, "none", 0), (None, None))
            uc = d.get((wl, prof, rate, "u"))
            # noise of the comparison: both medians' uncertainties
            unc = (ub ** 2 + uc ** 2) ** 0.5 if ub is not None and uc is not None else None
            note = "noise ±%s (both medians: half range / √runs); other load %s CPUs" % (
                "%.1f%%" % (unc * 100) if unc is not None else "?",
                fmt_num(others, 2) if others is not None else "?")
            ok = None if t is None else t[1] <= lim
            if unc is not None and unc > lim - 1:
                ok = "noisy"
                note += ": the noise is larger than the budget"
            out.append(("slow99" if rate == 99 else "slow999", wl, fmt_pct_ratio(t), ok, note))
    if "cost" in secs:
        _, d = cost_rows(secs["cost"])
        for (wl, rate), (pt, at) in d.items():
            if pt is None or at is None:
                out.append(("cost", "%s %d Hz" % (wl, rate), "–", None, ""))
                continue
            out.append(("cost", "%s %d Hz" % (wl, rate),
                        "%s vs austin %s ms (÷%s)" % (fmt_num(pt[1]), fmt_num(at[1]),
                                                      fmt_num(at[1] / pt[1], 2)),
                        pt[1] <= at[1] / 10, ""))
    if "native" in secs:
        _, d = native_rows(secs["native"])
        t = d.get("native", (None, None))[0]
        out.append(("native_bpf", "3.x: %d + %d frames" % (secs["native"]["py_depth"],
                                                          secs["native"]["c_depth"]),
                    fmt_mmm(t, scale=1e-3, suffix=" µs"), None if t is None else t[1] <= 10000,
                    "without --native on the same target: %s" % fmt_mmm(
                        d.get("python", (None,))[0], scale=1e-3, suffix=" µs")))
        c = d.get("native", (None, None))[1]
        a = d.get("austin", (None, None))[1]
        if c and a:
            out.append(("native_cost", "999 Hz", "%s vs austin %s ms (÷%s)" % (
                fmt_num(c[1]), fmt_num(a[1]), fmt_num(a[1] / c[1], 2)), c[1] <= a[1] / 5, ""))
    if "async" in secs:
        _, d = async_rows(secs["async"])
        c = d.get("async", (None, None))[1]
        p = d.get("python", (None, None))[1]
        if c and p:
            out.append(("async_cost", "999 Hz", "%s vs %s ms without (×%s)" % (
                fmt_num(c[1]), fmt_num(p[1]), fmt_num(c[1] / p[1], 2)), c[1] <= 2 * p[1], ""))
    nfail = [(name, f) for name, sec in secs.items() for f in sec.get("failures", [])]
    pyspy_runs = sum(len([r for r in sec.get("runs", []) if r.get("profiler", "pyspy-bpf")
                          == "pyspy-bpf"]) for sec in secs.values())
    pf = [f for _, f in nfail if "pyspy-bpf" in f["argv"].split(" ", 1)[0]]
    out.append(("no_crash", "%d runs" % (pyspy_runs + len(pf)),
                "%d failed" % len(pf) if pf else "all exited 0", not pf,
                "; ".join(sorted({"%s: %s" % (f["what"], f["exit"]) for f in pf}))[:300]))
    if "scale" in secs:
        _, d = scale_rows(secs["scale"])
        s = d.get(200)
        if s:
            out.append(("scale_cpu", "200 processes", fmt_mmm(s["cpu"], digits=2, suffix="%"),
                        s["cpu"][1] <= 2.0, "whole run, after attaching"))
            out.append(("scale_rss", "200 processes",
                        fmt_mmm(s["rss"], scale=1 / 1024, suffix=" MiB"),
                        s["rss"][2] <= 64 * 1024, "max over runs"))
            out.append(("scale_lost", "200 processes", fmt_count(s["lost"]), s["lost"][2] == 0,
                        "max over runs"))
    return out


# --- the document ----------------------------------------------------------

def markdown(res, plots):
    m = res["meta"]
    secs = res.get("sections", {})
    L = []
    L.append("# pyspy-bpf benchmarks\n")
    L.append("Generated by `make bench` (`scripts/bench%s`); raw data in `results.json`. "
             "Every figure is *median (min–max)* over the runs described in its "
             "section. Timing depends on the machine and on whatever else runs on it: "
             "this is not a CI test.\n" % (" --quick" if m.get("quick") else ""))
    L.append(table(["", ""], [
        ["date", m.get("date")],
        ["mode", "quick" if m.get("quick") else "full"],
        ["pyspy-bpf", "`%s`: %s, sha256 %s; the tree's git HEAD: %s" % (
            m.get("pyspy"), m.get("pyspy_version", "?"), m.get("pyspy_sha"),
            m.get("git_head"))],
        ["austin", m.get("austin_version") or "not used"],
        ["target Python", "`%s` (%s)" % (m.get("python"), m.get("python_version"))],
        ["kernel / CPUs", "%s / %s" % (m.get("kernel"), m.get("cpus"))],
        ["BPF stats", "on for the whole run (BPF_ENABLE_STATS); sysctl was %s at start"
         % m.get("bpf_stats_sysctl")],
        ["load average", "%s at start, %s at end" % (m.get("loadavg_start"),
                                                     m.get("loadavg_end"))],
        ["other profilers running", "; ".join(
            "%s: %s" % (k, v) for k, v in sorted(m.get("others_by_section", {}).items()) if v)
         or m.get("others") or "none seen (checked at the start and end of each section)"],
        ["bench run time", "%.0f s" % m.get("elapsed_s", 0)],
    ]))
    L.append("")

    b = budgets(res)
    L.append("## Budgets\n")
    if b:
        L.append(table(["budget", "case", "measured", "verdict", "note"],
                       [[BUDGETS_TEXT[k], case, meas, verdict(ok), note]
                        for k, case, meas, ok, note in b]))
    else:
        L.append("No section that has a budget was run.")
    L.append("")

    fails = [(name, f) for name, sec in secs.items() for f in sec.get("failures", [])]
    if fails:
        L.append("## Failed runs\n")
        L.append("Runs that crashed, failed or timed out; each section went on without "
                 "them (an austin run that failed is tried once more: *retried*). The last "
                 "lines of each one's stderr are in `results.json`.\n")
        L.append(table(["section", "round", "run", "exit", "after", "last stderr line"], [
            [name, f.get("round", "?") + 1 if isinstance(f.get("round"), int) else "?",
             f["what"] + (" (retried)" if f.get("retried") else ""), f["exit"],
             "%s s" % f.get("after_s"),
             "`%s`" % (f["stderr"].strip().splitlines() or [""])[-1][:120].replace("|", "\\|")]
            for name, f in fails]))
        L.append("")
        for name, f in fails:
            if f.get("diagnosis"):
                L.append("%s, round %s, %s: what it was doing when it was killed:\n" % (
                    name, f.get("round", -1) + 1, f["what"]))
                L.append("```\n%s\n```\n" % "\n".join(f["diagnosis"].splitlines()[:40]))
    for name, err in sorted(res.get("errors", {}).items()):
        L.append("**Section %s failed:** `%s`\n" % (name, err.strip().splitlines()[-1]
                                                     if err.strip() else err))

    if "slowdown" in secs:
        s = secs["slowdown"]
        rows, _ = slowdown_rows(s)
        L.append("## 1. Target slowdown\n")
        L.append("Fixed-work programs (`bench/workloads/`: `fib` recursive fib(25) × %d, "
                 "`deep` 100 frames deep × %d, `threads` 8 threads × %d) run with no "
                 "profiler, under `pyspy-bpf record -f raw -o /dev/null -r R -- CMD` and "
                 "under `austin -s -i 1e6/R -o /dev/null CMD`; all conditions interleaved "
                 "in a shuffled order each round, %d rounds. The time is the workload's own "
                 "(its loop, not interpreter start-up or attaching), as a change relative "
                 "to the median unprofiled run of the same sitting: median (min…max). "
                 "Target CPU is the workload's process CPU time; it includes the BPF "
                 "program's time, which runs in the target's context. *BPF / work time*: "
                 "all pyspy-bpf BPF programs' run time (both CPUs, misses included) over "
                 "the work time, an upper bound of the direct cost. *pyspy-bpf ticks "
                 "only*: the workload runs unprofiled while `pyspy-bpf record -p PID -r R` "
                 "samples a sleeping Python process: its perf events still interrupt the "
                 "workload's CPU at R Hz and the BPF program only finds the pid unprofiled, "
                 "so this is the cost of the sampling interrupts alone (the BPF column "
                 "is not measured for it). *other load*: CPUs "
                 "used meanwhile by processes other than the run's own (from /proc/stat), "
                 "a measure of the noise.\n" % (
                     s["iterations"]["fib"], s["iterations"]["deep"],
                     s["iterations"]["threads"], max(r["round"] for r in s["runs"]) + 1))
        L.append(table(["workload", "profiler", "Hz", "wall time", "target CPU", "samples",
                        "BPF / work time", "other load", "runs"], rows))
        L.append("")
        if "slowdown" in plots:
            L.append("![slowdown](%s)\n" % plots["slowdown"])

    if "cost" in secs:
        s = secs["cost"]
        rows, _ = cost_rows(s)
        L.append("## 2. Profiler cost\n")
        durs = s.get("durations_s") or {}
        if durs and len(set(durs.values())) > 1:
            dur = "D s, long enough for %s samples at the rate (%s)" % (
                s.get("min_samples"), ", ".join("%s s at %s Hz" % (v, k) for k, v in
                                                 sorted(durs.items(), key=lambda x: int(x[0]))))
            dflag = "D"
        else:
            dur, dflag = "%s s" % s["duration_s"], s["duration_s"]
        L.append("CPU per 1000 samples in ms (numerically the same as µs per sample). Each "
                 "profiler attaches with `-p PID` to an already-running workload for "
                 "%s (`pyspy-bpf record -p PID -d %s -r R`, `austin -s -i 1e6/R -p PID -x %s`). "
                 "pyspy-bpf = its collector's CPU after attaching (user+sys) + the run time "
                 "of all its BPF programs (`run_time_ns`, including the ticks that land in "
                 "other tasks); austin = its process's user+sys. Samples: pyspy-bpf's "
                 "summary line, austin's statistics (`Error rate: x/N`: N samples). "
                 "One-off start-up CPU of pyspy-bpf (loading and verifying the BPF "
                 "programs, reading the target): %s.\n" % (
                     dur, dflag, dflag,
                     fmt_mmm(mmm(r.get("startup_cpu_s") for r in s["runs"]
                                 if r["profiler"] == "pyspy-bpf"), suffix=" s")))
        L.append(table(["workload", "Hz", "pyspy-bpf samples", "collector", "BPF",
                        "pyspy-bpf total", "pyspy-bpf CPU", "austin samples", "austin",
                        "austin CPU", "austin ÷ pyspy-bpf"], rows))
        L.append("")
        pr = [r for r in s["runs"] if r["profiler"] == "pyspy-bpf"]
        ar = [r for r in s["runs"] if r["profiler"] == "austin"]
        L.append("*CPU* columns: the same cost as a share of one core over the run. "
                 "Peak RSS: pyspy-bpf %s, austin %s. Of pyspy-bpf's collector CPU, "
                 "freeing the BPF objects after the output is written took %s per run. "
                 "Other load meanwhile: %s CPUs.\n" % (
                     fmt_mmm(mmm(r.get("peak_rss_kib") for r in pr), scale=1 / 1024, suffix=" MiB"),
                     fmt_mmm(mmm(r.get("peak_rss_kib") for r in ar), scale=1 / 1024, suffix=" MiB"),
                     fmt_mmm(mmm(r.get("exit_cpu_s") for r in pr), scale=1e3, suffix=" ms"),
                     fmt_mmm(mmm(r.get("others_load") for r in s["runs"]), digits=2)))
        if "cost" in plots:
            L.append("![cost](%s)\n" % plots["cost"])

    if "depth" in secs:
        s = secs["depth"]
        rows, _ = depth_rows(s)
        L.append("## 3. BPF time per Python sample vs stack depth\n")
        L.append("`bench/workloads/depth.py N` spins with exactly N Python frames on the "
                 "stack; `pyspy-bpf record -p PID -r %d -d %s`. Method: on_sample runs on "
                 "every tick of every CPU that is not idle (the events exclude the idle "
                 "task), including ticks that land in other tasks (the collector, "
                 "anything else running): those only look the pid up and return. Each "
                 "round first measures that cost alone with the profiler attached to a "
                 "sleeping Python process (all runs are misses): %s ns per run. Then "
                 "ns per Python sample = (run_time_ns − (run_cnt − n_py) × miss) / n_py, "
                 "n_py = samples written + samples not in the output. *upper bound* charges "
                 "every run to the Python samples. *at %d Hz* is the share of one CPU the "
                 "walk takes from a target sampled at that rate.\n" % (
                     s["rate"], s["duration_s"],
                     miss_cost(s), s["rate"]))
        L.append(table(["interpreter", "depth", "frames seen", "samples", "BPF per sample",
                        "upper bound", "at %d Hz" % s["rate"]], rows))
        L.append("")
        fit = depth_fit(depth_rows(s)[1])
        if fit:
            L.append("Where the time goes: a straight line through the medians, "
                     "*fixed + per frame × depth*: " + "; ".join(
                         "%s: %s µs + %s ns/frame" % (l, fmt_num(a / 1e3, 2), fmt_num(b, 3))
                         for l, (a, b) in fit.items()) +
                     ". (perf cannot split the program further: its cpu-clock samples "
                     "never land inside a BPF program run from the cpu-clock interrupt, and "
                     "there is no hardware PMU for `bpftool prog profile`.)\n")
        L.append("Interpreters: " + ", ".join("%s `%s`" % (i["label"], i["path"])
                                              for i in s["interpreters"]) + "\n")
        if "depth" in plots:
            L.append("![depth](%s)\n" % plots["depth"])

    if "scale" in secs:
        s = secs["scale"]
        rows, _ = scale_rows(s)
        L.append("## 4. Host-wide scale\n")
        L.append("N Python processes started and warm (half `fib --forever`, half sleeping), "
                 "then `pyspy-bpf record --duration %s -r 99 -f raw` host-wide. Collector CPU: "
                 "user+sys after attaching over the time from attach to exit (whole run), "
                 "and per 1-s interval (schedstat), in %% of one core. BPF: all programs' "
                 "run time over the same span. RSS: VmHWM, read every second and when the output is written. Lost: ring buffer "
                 "full + process not known yet + malformed (the summary's reasons). Seen: "
                 "the summary's processes (it includes any other Python process on the host); "
                 "busy with samples: our spinning processes found in the output.\n" % (
                     s["duration_s"]))
        L.append(table(["processes", "busy / idle", "collector CPU", "per second", "BPF CPU",
                        "peak RSS", "samples", "lost", "seen / started", "busy with samples",
                        "ready after", "start-up CPU"], rows))
        L.append("")
        if "scale" in plots:
            L.append("![scale](%s)\n" % plots["scale"])

    if "startup" in secs:
        s = secs["startup"]
        L.append("## 5. Start-up\n")
        L.append("A warm spinning target; `pyspy-bpf record -d %s -r 999 -f chrometrace -o FILE` "
                 "with `-p PID` or host-wide. Times from the harness's fork+exec to: *ready*, "
                 "the `sampling ...` line (printed right after attaching; the trace's clock "
                 "starts there); *first sample*, ready + the target's first event in the "
                 "trace; *output done*, the `wrote ...` line (the file is complete); "
                 "*after duration*, output done − (ready + %s s); *exit*.\n" % (
                     s["duration_s"], s["duration_s"]))
        L.append(table(["mode", "ready", "first sample", "output done", "after duration",
                        "exit", "start-up CPU"], startup_rows(s)))
        L.append("")

    if "native" in secs:
        s = secs["native"]
        rows, _ = native_rows(s)
        L.append("## 6. --native\n")
        L.append("`bench/workloads/native.py` spins in C, %d frames deep in "
                 "`native_rec.c`'s rec() (built -O2, no frame pointers: unwound from its "
                 ".eh_frame), called through ctypes under %d Python frames; each profiler "
                 "attached at %d Hz in turn to the same target, every round. BPF time per "
                 "sample as in section 3 (miss cost %s ns per run subtracted). CPU per 1000 "
                 "samples: pyspy-bpf's collector after attaching; austin's process, which "
                 "reads Python stacks only.\n" % (
                     s["c_depth"], s["py_depth"], s["rate"],
                     miss_cost(s)))
        L.append(table(["profiler", "frames seen", "samples", "BPF per sample",
                        "CPU per 1000 samples (ms)"], rows))
        L.append("")

    if "async" in secs:
        s = secs["async"]
        rows, _ = async_rows(s)
        L.append("## 7. --async\n")
        L.append("`tests/programs/async_tree.py %d`: Task-1 gathers %d workers, each "
                 "awaiting a task that spins; pyspy-bpf attached at %d Hz with and without "
                 "`--async`, in turn, to the same target every round. BPF time per sample as "
                 "in section 3 (miss cost %s ns per run subtracted): with `--async` the "
                 "program also sends the frame addresses. CPU per 1000 samples: the "
                 "collector after attaching, which with `--async` also reads the tasks. "
                 "*as tasks*: the samples shown under their tasks.\n" % (
                     s["workers"], s["workers"], s["rate"],
                     miss_cost(s)))
        L.append(table(["profiler", "samples", "as tasks", "BPF per sample",
                        "CPU per 1000 samples (ms)"], rows))
        L.append("")
    return "\n".join(L) + "\n"


# --- plots -----------------------------------------------------------------

def plots(res, outdir):
    """Writes the PNGs it can; returns {section: file name}."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return {}
    secs = res.get("sections", {})
    made = {}

    def save(fig, name):
        fig.tight_layout()
        fig.savefig(os.path.join(outdir, name), dpi=110)
        plt.close(fig)
        return name

    def err(ts, scale=1.0):
        mid = [t[1] * scale if t else 0 for t in ts]
        lo = [(t[1] - t[0]) * scale if t else 0 for t in ts]
        hi = [(t[2] - t[1]) * scale if t else 0 for t in ts]
        return mid, [lo, hi]

    if "slowdown" in secs:
        _, d = slowdown_rows(secs["slowdown"])
        d = {k: v for k, v in d.items() if k[1] != "none" and len(k) == 3}
        wls = _ordered(k[0] for k in d)
        conds = sorted({(k[1], k[2]) for k in d}, key=_cond_order)
        fig, ax = plt.subplots(figsize=(9, 4.5))
        w = 0.8 / max(1, len(conds))
        for i, c in enumerate(conds):
            ts = [tuple((x - 1) * 100 for x in d[(wl, c[0], c[1])]) if d.get((wl, c[0], c[1]))
                  else None for wl in wls]
            mid, e = err(ts)
            ax.bar([j + (i - (len(conds) - 1) / 2) * w for j in range(len(wls))], mid, w,
                   yerr=e, capsize=2, label="%s %d Hz" % c,
                   color={"pyspy-bpf": "C0", "austin": "C3"}.get(c[0], "C2"),
                   alpha=0.35 + 0.65 * (RATE_SHADE.get(c[1], 1)))
        ax.axhline(1, ls="--", c="k", lw=0.8)
        ax.axhline(3, ls=":", c="k", lw=0.8)
        ax.axhline(0, c="k", lw=0.5)
        ax.set_xticks(range(len(wls)))
        ax.set_xticklabels(wls)
        ax.set_ylabel("wall-time change vs unprofiled (%)")
        ax.set_title("Target slowdown (median, min–max); budgets 1% @ 99 Hz, 3% @ 999 Hz")
        ax.legend(fontsize=8, ncol=2)
        made["slowdown"] = save(fig, "slowdown.png")

    if "cost" in secs:
        _, d = cost_rows(secs["cost"])
        keys = list(d)
        fig, ax = plt.subplots(figsize=(9, 4.5))
        x = range(len(keys))
        pm, pe = err([d[k][0] for k in keys])
        ax.bar([i - 0.2 for i in x], pm, 0.4, yerr=pe, capsize=2, label="pyspy-bpf", color="C0")
        if any(d[k][1] for k in keys):
            am, ae = err([d[k][1] for k in keys])
            ax.bar([i + 0.2 for i in x], am, 0.4, yerr=ae, capsize=2, label="austin",
                   color="C3")
        ax.set_yscale("log")
        _plain_log_ticks(ax)
        ax.set_xticks(list(x))
        ax.set_xticklabels(["%s\n%d Hz" % k for k in keys], fontsize=8)
        ax.set_ylabel("CPU ms per 1000 samples")
        ax.set_title("Profiler CPU per 1000 samples (median, min–max)")
        ax.legend()
        made["cost"] = save(fig, "cost.png")

    if "depth" in secs:
        _, d = depth_rows(secs["depth"])
        fig, ax = plt.subplots(figsize=(7, 4.5))
        for i, label in enumerate(_ordered(k[0] for k in d)):
            deps = sorted(k[1] for k in d if k[0] == label)
            mid, e = err([d[(label, dep)] for dep in deps], 1e-3)
            ax.errorbar(deps, mid, yerr=e, marker="o", capsize=3, label=label)
        ax.plot([50], [5], marker="*", ms=14, c="k", ls="none",
                label="budget: 5 µs at depth 50")
        ax.set_xscale("log")
        ax.set_yscale("log")
        _plain_log_ticks(ax)
        ax.set_xlabel("Python stack depth (frames)")
        ax.set_ylabel("BPF µs per Python sample")
        ax.set_title("on_sample run time per sample vs depth (median, min–max)")
        ax.legend(fontsize=8)
        made["depth"] = save(fig, "depth.png")

    if "scale" in secs:
        _, d = scale_rows(secs["scale"])
        ns = sorted(d)
        fig, (a1, a2) = plt.subplots(1, 2, figsize=(9, 4))
        data = [d[n]["per_s"] or [0] for n in ns]
        a1.boxplot(data, whis=(0, 100))
        a1.set_xticks(range(1, len(ns) + 1))
        a1.set_xticklabels([str(n) for n in ns])
        a1.axhline(2, ls="--", c="k", lw=0.8)
        a1.set_xlabel("Python processes")
        a1.set_ylabel("collector CPU, % of one core, per second")
        mid, e = err([d[n]["rss"] for n in ns], 1 / 1024)
        a2.bar([str(n) for n in ns], mid, yerr=e, capsize=3, color="C0")
        a2.axhline(64, ls="--", c="k", lw=0.8)
        a2.set_xlabel("Python processes")
        a2.set_ylabel("collector peak RSS (MiB)")
        fig.suptitle("Host-wide at 99 Hz")
        made["scale"] = save(fig, "scale.png")
    return made


RATE_SHADE = {99: 0.33, 999: 0.66, 4999: 1.0}


def _plain_log_ticks(ax):
    """1-2-5 ticks written as plain numbers on log axes."""
    import matplotlib.ticker as mt
    for axis in ([ax.yaxis] if ax.get_xscale() != "log" else [ax.xaxis, ax.yaxis]):
        axis.set_major_locator(mt.LogLocator(base=10, subs=(1, 2, 5)))
        axis.set_major_formatter(mt.FuncFormatter(lambda v, _: fmt_num(v, 3)))
        axis.set_minor_formatter(mt.NullFormatter())
