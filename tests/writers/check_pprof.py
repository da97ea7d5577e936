#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Reads a pyspy-bpf pprof profile with `go tool pprof` and checks what it
shows: -raw has the sample types samples/count and cpu/nanoseconds, the
period type and a period, and every sample's values are [n, n * period];
-traces shows the labels pid, thread_id, thread_name and process_name on
every sample; -top lists the hot function with at least the given share
(cum%, so it need not be the leaf).

usage: check_pprof.py FILE.pb.gz [--hot FUNCTION] [--min-share F]
Needs `go` (Debian: golang-go). HOME and GOCACHE go to a temporary folder.
"""
import argparse
import os
import re
import shutil
import subprocess
import tempfile


def fail(msg):
    raise SystemExit("pprof FAILED: %s" % msg)


def pprof(args, env):
    res = subprocess.run(["go", "tool", "pprof"] + args, env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         universal_newlines=True, timeout=300)
    if res.returncode:
        fail("go tool pprof %s: exit %d\n%s" % (" ".join(args), res.returncode, res.stderr))
    return res.stdout


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("file")
    ap.add_argument("--hot")
    ap.add_argument("--min-share", type=float)
    a = ap.parse_args()
    if not shutil.which("go"):
        fail("go not found (apt-get install golang-go)")

    tmp = tempfile.mkdtemp(prefix="pyspy-pprof-")
    env = dict(os.environ, HOME=tmp, GOCACHE=os.path.join(tmp, "cache"),
               GOFLAGS="-mod=mod", GOTOOLCHAIN="local", PPROF_TMPDIR=tmp)
    try:
        raw = pprof(["-raw", a.file], env)
        traces = pprof(["-traces", a.file], env)
        top = pprof(["-top", "-nodecount=1000", a.file], env)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    if "PeriodType: cpu nanoseconds" not in raw:
        fail("no period type cpu/nanoseconds in -raw:\n" + raw[:2000])
    m = re.search(r"^Period: (\d+)$", raw, re.M)
    if not m or int(m.group(1)) <= 0:
        fail("no period in -raw")
    period = int(m.group(1))
    if not re.search(r"^samples/count cpu/nanoseconds$", raw, re.M):
        fail("sample types are not samples/count cpu/nanoseconds")
    body = raw.split("Samples:", 1)[1].split("Locations", 1)[0]
    values = re.findall(r"^\s+(\d+)\s+(\d+):", body, re.M)
    if not values:
        fail("no samples in -raw")
    total = 0
    for n, ns in values:
        if int(ns) != int(n) * period:
            fail("sample values [%s, %s] with period %d" % (n, ns, period))
        total += int(n)

    blocks = [b for b in traces.split("-----------+")[1:] if b.strip("-\n ")]
    if not blocks:
        fail("no traces in -traces")
    for b in blocks:
        for label in ("pid", "thread_id", "thread_name", "process_name"):
            if not re.search(r"^\s*%s:\s" % label, b, re.M):
                fail("a trace has no %s label:\n%s" % (label, b))

    share = None
    if a.hot:
        # flat flat% sum% cum cum% name
        for line in top.splitlines():
            cols = line.split(None, 5)
            if len(cols) == 6 and cols[5] == a.hot and cols[4].endswith("%"):
                share = float(cols[4][:-1]) / 100
                break
        if share is None:
            fail("%r not in -top:\n%s" % (a.hot, top[:3000]))
        if a.min_share is not None and share < a.min_share:
            fail("%r has %.1f%% (cum) in -top, expected >= %.1f%%"
                 % (a.hot, 100 * share, 100 * a.min_share))
    print("pprof ok: go tool pprof read %d samples in %d traces, period %d ns%s"
          % (total, len(blocks), period,
             ", %r %.1f%% (cum)" % (a.hot, 100 * share) if a.hot else ""))


if __name__ == "__main__":
    main()
