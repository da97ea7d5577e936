#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Checks a pyspy-bpf chrometrace file against the Trace Event Format rules
that chrome://tracing and Perfetto rely on: it parses as JSON (strictly:
valid UTF-8, no NaN), every event has its required fields, per thread the
B/E events come in time order and nest (an E closes the innermost open B of
the same name), nothing is left open, every thread and process is named by
metadata events, events have py-spy's shape (a top-level list, category
"py-spy", the file and line in args), and optionally the hot function's
share of the time.

usage: check_chrometrace.py FILE.json [--hot FUNCTION] [--min-share F]
"""
import argparse
import json
import sys


def fail(msg):
    raise SystemExit("chrometrace FAILED: %s" % msg)


def reject_constant(name):
    fail("non-standard JSON constant %s" % name)


def function_of(name):
    # Frames are named by the function alone (py-spy's); older files named
    # them "function (file:line)" like the collapsed format.
    i = name.rfind(" (")
    return name[:i] if i > 0 and name.endswith(")") else name


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("file")
    ap.add_argument("--hot")
    ap.add_argument("--min-share", type=float)
    a = ap.parse_args()

    with open(a.file, "rb") as f:
        data = f.read()
    try:
        doc = json.loads(data.decode("utf-8", errors="strict"),
                         parse_constant=reject_constant)
    except (UnicodeDecodeError, ValueError) as e:
        fail("%s does not parse: %s" % (a.file, e))
    # py-spy's shape: a top-level list of events (the format's JSON Array).
    events = doc
    if not isinstance(events, list):
        fail("not a list of trace events")

    threads = {}          # (pid, tid) -> state
    named_threads, named_procs = set(), set()
    for n, e in enumerate(events):
        for k in ("ph", "pid", "tid"):
            if k not in e:
                fail("event %d has no %r: %r" % (n, k, e))
        if e.get("cat") != "py-spy":
            fail("event %d has category %r, not py-spy's" % (n, e.get("cat")))
        key = (e["pid"], e["tid"])
        ph = e["ph"]
        if ph == "M":
            if not isinstance(e.get("args", {}).get("name"), str):
                fail("metadata event %d without args.name" % n)
            if e.get("name") == "thread_name":
                named_threads.add(key)
            elif e.get("name") == "process_name":
                named_procs.add(e["pid"])
            continue
        if ph not in ("B", "E"):
            fail("event %d has phase %r" % (n, ph))
        args = e.get("args")
        if not isinstance(args, dict) or not isinstance(args.get("filename"), str) \
                or "line" not in args:
            fail("event %d without args.filename and args.line: %r" % (n, e))
        ts = e.get("ts")
        if not isinstance(ts, (int, float)) or ts < 0:
            fail("event %d has ts %r" % (n, ts))
        t = threads.setdefault(key, {"stack": [], "last": 0.0, "begins": 0,
                                     "covered": 0.0, "hot": 0.0, "since": None,
                                     "hot_since": None})
        if ts < t["last"]:
            fail("thread %s: ts goes back from %s to %s at event %d" % (key, t["last"], ts, n))
        t["last"] = ts
        stack = t["stack"]
        if ph == "B":
            if not isinstance(e.get("name"), str):
                fail("B event %d without a name" % n)
            if not stack:
                t["since"] = ts
            if a.hot and function_of(e["name"]) == a.hot and t["hot_since"] is None:
                t["hot_since"] = (ts, len(stack))
            stack.append(e["name"])
            t["begins"] += 1
        else:
            if not stack:
                fail("thread %s: E at event %d with nothing open" % (key, n))
            if "name" in e and e["name"] != stack[-1]:
                fail("thread %s: E %r at event %d closes %r" % (key, e["name"], n, stack[-1]))
            stack.pop()
            if t["hot_since"] is not None and len(stack) == t["hot_since"][1]:
                t["hot"] += ts - t["hot_since"][0]
                t["hot_since"] = None
            if not stack:
                t["covered"] += ts - t["since"]

    if not threads:
        fail("no B/E events")
    for key, t in threads.items():
        if t["stack"]:
            fail("thread %s ends with %d frames open" % (key, len(t["stack"])))
        if key not in named_threads:
            fail("thread %s has no thread_name metadata" % (key,))
        if key[0] not in named_procs:
            fail("process %s has no process_name metadata" % key[0])
    covered = sum(t["covered"] for t in threads.values())
    hot = sum(t["hot"] for t in threads.values())
    share = hot / covered if covered else 0.0
    if a.hot:
        if hot <= 0:
            fail("no time in %r" % a.hot)
        if a.min_share is not None and share < a.min_share:
            fail("%r has %.1f%% of the time, expected >= %.1f%%"
                 % (a.hot, 100 * share, 100 * a.min_share))
    print("chrometrace ok: %d events, %d threads, %d frames begun, %.2f s covered%s"
          % (len(events), len(threads), sum(t["begins"] for t in threads.values()),
             covered / 1e6, ", %r %.1f%%" % (a.hot, 100 * share) if a.hot else ""))


if __name__ == "__main__":
    main()
