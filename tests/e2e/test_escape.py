# SPDX-License-Identifier: BSD-2-Clause
"""Names from a hostile target never drive the terminal: every text output
(dump, dump --locals, record -f raw, top on a pipe and on a terminal, the
messages) shows them escaped, and dump --json gives them back exactly.
The target and its names: tests/programs/hostile_names.py."""
import importlib.util
import json
import os
import re
import select
import shutil
import signal
import subprocess
import time

import pytest

from conftest import PROFILER, PROGRAMS, need


def _load_names():
    spec = importlib.util.spec_from_file_location(
        "hostile_names", os.path.join(PROGRAMS, "hostile_names.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


NAMES = _load_names()
# The command line as /proc shows it: NULs and newlines become spaces.
ARGV_SHOWN = NAMES.ARGV.replace("\n", " ")
TOP_DELAY = "0.3"
# What top writes itself on a terminal: alternate screen, cursor, home,
# clear, and the attributes of its header (reverse, bold, back to plain).
TOP_OWN = re.compile(rb"\x1b\[(\?1049[hl]|\?25[hl]|H|K|J|[17]?m)")
BIDI = set(range(0x202a, 0x202f)) | set(range(0x2066, 0x206a)) | {0x61c, 0x200e, 0x200f,
                                                                   0x2028, 0x2029}


def esc(text):
    """The escaping the profiler applies (textesc.h), on a str."""
    out = []
    for ch in text:
        cp = ord(ch)
        if ch in "\n\t\r":
            out.append({"\n": "\\n", "\t": "\\t", "\r": "\\r"}[ch])
        elif cp < 0x20 or 0x7f <= cp <= 0x9f:
            out.append("\\x%02x" % cp)
        elif cp in BIDI:
            out.append("\\u%04x" % cp)
        else:
            out.append(ch)
    return "".join(out)


def assert_clean(data, what, allow=b"\n"):
    """No control character: C0 (but allow), DEL, C1, bidi; valid UTF-8."""
    bad = [b for b in bytearray(data) if (b < 0x20 and b not in bytearray(allow)) or b == 0x7f]
    assert not bad, "%s: raw control bytes %r in\n%r" % (what, bad[:10], data[:2000])
    text = data.decode("utf-8")	# strict: the escapes leave only UTF-8
    bad = [c for c in text if 0x80 <= ord(c) <= 0x9f or ord(c) in BIDI]
    assert not bad, "%s: raw controls %r in\n%r" % (what, bad[:10], text[:2000])
    return text


def run(args, timeout=120):
    res = subprocess.run([PROFILER] + list(args), stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, timeout=timeout, check=False)
    assert res.returncode == 0, res.stderr
    assert_clean(res.stderr, "stderr of %s" % args[0])
    return res.stdout


@pytest.fixture
def hostile(interp, start_target):
    need(os.geteuid() == 0, "needs root for BPF")
    need(os.path.exists(PROFILER), "pyspy-bpf is not built (run make)")
    return start_target(interp, "hostile_names.py", [60, NAMES.ARGV])


def test_dump_text(hostile):
    text = assert_clean(run(["dump", "-p", str(hostile.pid)]), "dump")
    lines = text.splitlines()
    assert lines[0].startswith("Process %d: " % hostile.pid), lines[0]
    assert lines[0].endswith(" 60 " + esc(ARGV_SHOWN)), lines[0]
    # One header per thread, none forged by a newline in a name.
    assert len([l for l in lines if l.startswith("Thread ")]) == 3, text
    assert not [l for l in lines if re.match(r'Thread 424[23] \(idle\): "forged"', l)], text
    assert '"%s"' % esc(NAMES.THREAD) in text, text
    # The thread threading does not know is unnamed: its kernel name (comm)
    # is no Python name, and never printed by dump.
    assert esc(NAMES.COMM.decode("utf-8")) not in text, text
    unnamed = [i for i, l in enumerate(lines) if re.match(r"Thread \d+ \(\w+(\+gil)?\)$", l)]
    assert len(unnamed) == 1, text
    assert lines[unnamed[0] + 1].startswith("    %s (" % esc(NAMES.PARK)), text
    assert "    %s (%s:" % (esc(NAMES.FUNC), esc(NAMES.FILE)) in text, text
    assert "    %s (%s:" % (esc(NAMES.PARK), esc(NAMES.FILE)) in text, text
    # Printable non-ASCII text is kept as it is.
    assert u"\u6f22" in text and u"\U0001f40d" in text


def test_dump_locals(hostile):
    text = assert_clean(run(["dump", "-p", str(hostile.pid), "--locals"]), "dump --locals")
    assert "            %s: <" % esc(NAMES.LOCAL) in text, text
    assert "            evil_arg: " in text, text
    assert len([l for l in text.splitlines() if l.startswith("Thread ")]) == 3, text


def test_dump_json_exact(hostile):
    out = run(["dump", "-p", str(hostile.pid), "--json", "--locals"])
    # JSON escapes controls its own way (C1 included): no raw ones either.
    assert_clean(out, "dump --json")
    threads = dict((t["thread_name"], t) for t in json.loads(out.decode("utf-8")))
    # The thread named by prctl alone is unnamed (null), as in py-spy.
    assert set(threads) >= {NAMES.THREAD, None}, sorted(threads, key=str)
    for name, func in ((NAMES.THREAD, NAMES.FUNC), (None, NAMES.PARK)):
        frame = threads[name]["frames"][0]
        assert frame["name"] == func, frame
        assert frame["filename"] == NAMES.FILE, frame
        assert NAMES.LOCAL in [v["name"] for v in frame["locals"]], frame


@pytest.mark.versions([(2, 7), (3, 6), (3, 9), (3, 12), (3, 13), (3, 14), (3, 15)])
def test_record_raw(hostile, tmp_path):
    out = str(tmp_path / "profile.txt")
    # -s: a process root with the command line; -t: thread roots; --idle:
    # the sleeping thread too.
    run(["record", "-f", "raw", "-o", out, "-p", str(hostile.pid), "-d", "1", "-s", "-t",
         "--idle"])
    with open(out, "rb") as f:
        text = assert_clean(f.read(), "record -f raw")
    lines = text.splitlines()
    assert lines and all(re.match(r".+ \d+$", l) for l in lines), text
    raw = lambda s: esc(s).replace(";", ":")	# ';' separates frames
    roots = set(l.split(";")[0] for l in lines)
    assert len(roots) == 1, roots
    root = roots.pop()
    assert root.startswith('process %d:"' % hostile.pid), root
    assert root.endswith(" 60 %s\"" % raw(ARGV_SHOWN)), root
    frames = set(fr for l in lines for fr in l.rpartition(" ")[0].split(";"))
    assert any(fr.endswith("): " + raw(NAMES.THREAD)) for fr in frames), frames
    assert any(fr.endswith("): " + raw(NAMES.COMM.decode("utf-8"))) for fr in frames), frames
    assert any(fr.startswith(raw(NAMES.FUNC) + " (" + raw(NAMES.FILE) + ":") for fr in frames), \
        frames
    assert any(fr.startswith(raw(NAMES.PARK) + " (") for fr in frames), frames


def read_until(proc, want, timeout=30):
    """proc's stdout until want is in it (or the time is up)."""
    data = b""
    deadline = time.time() + timeout
    while want not in data and time.time() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], 0.2)
        if ready:
            chunk = os.read(proc.stdout.fileno(), 65536)
            if not chunk:
                break
            data += chunk
    return data


def finish(proc, data):
    try:
        rest, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return data + rest


@pytest.mark.versions([(2, 7), (3, 9), (3, 12)])
def test_top_on_a_pipe(hostile):
    proc = subprocess.Popen([PROFILER, "top", "-p", str(hostile.pid), "--delay", TOP_DELAY],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL)
    want = esc(NAMES.FUNC)[:30].encode("utf-8")
    data = read_until(proc, want)
    proc.send_signal(signal.SIGINT)
    text = assert_clean(finish(proc, data), "top on a pipe")
    assert want.decode("utf-8") in text, text


@pytest.mark.versions([(2, 7), (3, 12)])
def test_top_on_a_terminal(hostile):
    need(shutil.which("script"), "script (util-linux) is needed for a terminal")
    cmd = "exec %s top -p %d --delay %s" % (PROFILER, hostile.pid, TOP_DELAY)
    proc = subprocess.Popen(["script", "-qfec", cmd, "/dev/null"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    want = esc(NAMES.FUNC)[:30].encode("utf-8")
    data = read_until(proc, want)
    proc.stdin.write(b"q")
    proc.stdin.flush()
    data = finish(proc, data)
    assert b"\x1b[?1049h" in data, data[:500]	# it did take the terminal
    # Its own screen commands aside, and the terminal's \r\n line ends.
    text = assert_clean(TOP_OWN.sub(b"", data), "top on a terminal", allow=b"\r\n")
    assert want.decode("utf-8") in text, text


@pytest.mark.versions([(2, 7), (3, 12)])
def test_other_formats_escape_their_own_way(hostile, tmp_path):
    """SVG, speedscope and chrometrace have their own escaping: they parse,
    give the names back, and hold no raw control character either."""
    import xml.etree.ElementTree as ET
    for fmt in ("flamegraph", "speedscope", "chrometrace"):
        out = str(tmp_path / ("profile." + fmt))
        run(["record", "-f", fmt, "-o", out, "-p", str(hostile.pid), "-d", "1", "-t",
             "--idle"])
        with open(out, "rb") as f:
            data = f.read()
        text = assert_clean(data, fmt)
        if fmt == "flamegraph":
            svg = "{http://www.w3.org/2000/svg}title"
            got = [e.text for e in ET.fromstring(data).iter(svg)]
            # XML 1.0 has no place for C0 controls but \t, \n, \r: U+FFFD.
            want = re.sub(u"[\x00-\x08\x0b\x0c\x0e-\x1f]", u"\ufffd", NAMES.THREAD)
        else:
            got = list(strings(json.loads(text)))
            want = NAMES.FUNC
        assert any(want in t for t in got), (fmt, got)


def strings(obj):
    """Every string in a JSON document."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield k
            for s in strings(v):
                yield s
    elif isinstance(obj, list):
        for v in obj:
            for s in strings(v):
                yield s
    elif isinstance(obj, str):
        yield obj
