# SPDX-License-Identifier: BSD-2-Clause
"""--native end to end: C frames unwound in the kernel, merged with the
Python frames in call order, on programs whose C calls back into Python
(tests/programs/native_*.py, each stating its expected stack).

Where a file keeps its full symbol table (.symtab) its C frames are named
exactly (functools_reduce, builtin_sorted); where it is stripped to
.dynsym, static functions come out as 'file+0x...' and the expectation is
by file."""
import gzip
import json
import os
import re
import shutil
import signal
import struct
import subprocess

import pytest

from conftest import (INTERPRETERS, PROGRAMS, CpuMeter, min_samples, need, parse_frame,
                      parse_raw, run_profiler)
from test_escape import finish, read_until
from test_record import record, source_line

RATE = 200
# Every build of these versions; among them those the feature must hold on:
# pyenv's 3.8, 3.11, 3.12 and 3.13, Debian's 3.11 and 3.14.
VERSIONS = [(2, 7), (3, 8), (3, 11), (3, 12), (3, 13), (3, 14)]
SHARE = 0.9     # of the samples in a callback that must show the nesting


# -- what the target maps -------------------------------------------------

def has_symtab(path):
    """Whether an ELF64 file keeps .symtab (its static functions named)."""
    with open(path, "rb") as f:
        head = f.read(64)
        if len(head) < 64 or head[:4] != b"\x7fELF" or head[4:5] != b"\x02":
            return False
        shoff, = struct.unpack_from("<Q", head, 40)
        shentsize, shnum = struct.unpack_from("<HH", head, 58)
        f.seek(shoff)
        table = f.read(shentsize * shnum)
    SHT_SYMTAB = 2
    return any(struct.unpack_from("<I", table, i * shentsize + 4)[0] == SHT_SYMTAB
               for i in range(len(table) // shentsize))


class Files(object):
    """The files a process maps, by the name frames give them (the last
    component), and which of them the interpreter runs in."""

    def __init__(self, pid):
        self.paths = {}
        with open("/proc/%d/maps" % pid) as f:
            for line in f:
                parts = line.split(None, 5)
                if len(parts) == 6 and parts[5].startswith("/"):
                    path = parts[5].rstrip("\n")
                    self.paths.setdefault(os.path.basename(path), path)
        libpython = [b for b in self.paths if b.startswith("libpython")]
        self.interp = libpython[0] if libpython else \
            os.path.basename(os.path.realpath("/proc/%d/exe" % pid))

    def named(self, prefix):
        """The mapped file whose name starts with prefix has .symtab."""
        for base, path in self.paths.items():
            if base.startswith(prefix):
                return has_symtab(path)
        return False

    def named_module(self, prefix):
        """The extension module's file has .symtab, or the interpreter's
        where the module is built in."""
        if any(base.startswith(prefix) for base in self.paths):
            return self.named(prefix)
        return self.named(self.interp)


# -- frames ------------------------------------------------------------------

UNKNOWN = "<unknown native frame>"


def is_native(text):
    """A C frame: 'function (file)' with no line, or the marker of an
    address in no known file. Python frames and the walker's own markers
    (<unreadable frame>) are not."""
    name, fname, line = parse_frame(text)
    return text == UNKNOWN or (fname is not None and line is None and not fname.endswith(".py"))


def python_only(frames):
    """The Python frames of a stack, as (function, file), in order."""
    return tuple(parse_frame(f)[:2] for f in frames if not is_native(f))


def native(text):
    """A C frame as (function, file)."""
    name, fname, _ = parse_frame(text)
    return name, fname or ""


def in_order(frames, *tests):
    """Each test matches a frame, each after the one before."""
    i = 0
    for test in tests:
        while i < len(frames) and not test(*frames[i]):
            i += 1
        if i == len(frames):
            return False
        i += 1
    return True


def of(*prefixes):
    return lambda name, fname: fname.startswith(prefixes)


def called(*prefixes):
    return lambda name, fname: name.startswith(prefixes)


def only_files(frames, *prefixes):
    return all(fname.startswith(prefixes) for _, fname in frames)


# -- the programs and what must be between caller and callback ---------------

def between_sqlite(mid, files):
    ok = in_order(mid, of("_sqlite3"),
                  lambda n, f: n == "sqlite3_step" and f.startswith("libsqlite3"),
                  of("_sqlite3"))
    ok = ok and only_files(mid, files.interp, "_sqlite3", "libsqlite3")
    if ok and files.named("_sqlite3"):
        ok = not any("+0x" in n for n, f in mid if f.startswith("_sqlite3"))
    return ok


def between_qsort(mid, files):
    ffi = lambda n, f: f.startswith("libffi") or n.startswith("ffi_")
    qsort = lambda n, f: "qsort" in n and f.startswith("libc.so")
    ok = in_order(mid, of("_ctypes"), ffi, qsort, of("_ctypes"))
    ok = ok and only_files(mid, files.interp, "_ctypes", "libffi", "libc.so")
    if ok and files.named("_ctypes"):
        ok = in_order(mid, called("_ctypes_callproc"), qsort, called("closure_fcn"))
    return ok


def between_reduce(mid, files):
    ok = bool(mid) and only_files(mid, files.interp, "_functools")
    if ok and files.named_module("_functools"):
        ok = any(n == "functools_reduce" for n, _ in mid)
    return ok


def between_sorted(mid, files):
    ok = bool(mid) and only_files(mid, files.interp)
    if ok and files.named(files.interp):
        ok = in_order(mid, called("builtin_sorted"), called("list_sort", "listsort"))
    return ok


def between_json(mid, files):
    ok = bool(mid) and only_files(mid, files.interp, "_json")
    if ok and files.named_module("_json"):
        ok = any(n.startswith("encoder_") for n, _ in mid)
    return ok


def below_zlib(below, files):
    """What compress_it called: the zlib module, then libz's deflate, and
    the leaf in libz."""
    libz = of("libz")
    ok = libz(*below[-1]) and only_files(below, files.interp, "zlib", "libz")
    ok = ok and in_order(below, of(files.interp, "zlib"),
                         lambda n, f: n == "deflate" and libz(n, f))
    if ok and files.named_module("zlib"):
        ok = in_order(below, called("zlib_compress", "PyZlib_compress"))
    return ok


class Case(object):
    """A program: its caller calls C (call is that line's text), which
    calls back into callback; without a callback, the C code is the leaf."""

    def __init__(self, program, module, caller, call, callback, between, lib=()):
        self.program = program
        self.call = call            # the text of the caller's line that calls C
        self.module = module        # what must import for the program to run
        self.caller = caller
        self.callback = callback
        self.between = between
        self.lib = lib              # Python frames of the library between the two
        self.leaf = callback or caller


CASES = [
    Case("native_sqlite.py", "sqlite3", "query_it", "conn.execute(", "py_func", between_sqlite),
    Case("native_qsort.py", "ctypes", "sort_it", "libc.qsort(", "py_cmp", between_qsort),
    Case("native_reduce.py", "functools", "reduce_it", "functools.reduce(", "combine",
         between_reduce),
    Case("native_sorted.py", "sys", "sort_by_key", "sorted(data", "key_of", between_sorted),
    Case("native_json.py", "json", "dump_it", "encoder.encode(", "python_default", between_json,
         lib=[("encode", "json/encoder.py"), ("iterencode", "json/encoder.py")]),
    Case("native_zlib.py", "zlib", "compress_it", "zlib.compress(data", None, below_zlib),
]
REDUCE = CASES[2]


def prefix_of(case):
    p = case.program
    return [("<module>", p, source_line(p, "main(float(")),
            ("main", p, source_line(p, "    %s(" % case.caller)),
            (case.caller, p, source_line(p, case.call))]


def nested(frames, case, files):
    """A sample whose Python leaf is the callback (or the caller, when C is
    the leaf), checked frame by frame: the exact Python prefix, the
    library's Python frames, C frames that satisfy the case, the callback,
    then only C frames (those it called)."""
    prefix = prefix_of(case)
    want = len(prefix) + len(case.lib)
    if len(frames) <= want:
        return False
    for text, (name, fname, line) in zip(frames, prefix):
        if parse_frame(text) != (name, fname, line):
            return False
    for text, (name, fname) in zip(frames[len(prefix):want], case.lib):
        if parse_frame(text)[:2] != (name, fname):
            return False
    rest = frames[want:]
    py = [i for i, f in enumerate(rest) if not is_native(f)]
    if case.callback is None:
        ok, mid = not py, rest
    else:
        ok = len(py) == 1 and parse_frame(rest[py[0]])[:2] == (case.callback, case.program)
        mid = rest[:py[0]] if ok else []
    return ok and bool(mid) and case.between([native(f) for f in mid], files)


# -- running -----------------------------------------------------------------

def need_module(interp, module):
    res = subprocess.run([interp.path, "-c", "import " + module], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, universal_newlines=True, check=False)
    need(res.returncode == 0, "%s cannot import %s: %s" % (interp, module, res.stderr.strip()))


def record_both(profiler, t, tmp_path, seconds=3, native_args=("-n",)):
    """The target recorded with --native and, at the same time, without:
    (native stacks, plain stacks, native stderr, CPU seconds it received)."""
    plain_out = str(tmp_path / "plain.txt")
    plain = subprocess.Popen([profiler, "record", "-f", "raw", "-o", plain_out, "-p", str(t.pid),
                              "-d", str(seconds), "-r", str(RATE)],
                             stderr=subprocess.PIPE, universal_newlines=True)
    try:
        cpu = CpuMeter(t.pid)
        text, err = record(profiler, tmp_path, list(native_args) + [
            "-p", str(t.pid), "-d", str(seconds), "-r", str(RATE)])
        used = cpu.seconds()
        _, plain_err = plain.communicate(timeout=60)
    finally:
        if plain.poll() is None:
            plain.kill()
            plain.wait()
    assert plain.returncode == 0, plain_err
    assert "native stacks" not in plain_err, plain_err
    with open(plain_out) as f:
        plain_stacks = parse_raw(f.read())
    return parse_raw(text), plain_stacks, err, used


SUMMARY = re.compile(r"^pyspy-bpf: native stacks: (\d+) whole, cut short: (none|[^;]+); "
                     r"frames without a symbol: (\d+); files: (\d+) \((\d+) without unwind info\)$",
                     re.M)


def check_summary(err, stacks):
    """The record's native summary line: it parses and its counts agree
    with the samples written and the frames named."""
    m = SUMMARY.search(err)
    assert m, err
    whole, cut, unnamed, nfiles = int(m.group(1)), m.group(2), int(m.group(3)), int(m.group(4))
    # "N reason, N reason": the reasons have commas but no digits.
    short = sum(int(n) for n in re.findall(r"(?:^|, )(\d+) [a-z]", cut))
    assert cut == "none" or short, err
    written = re.search(r"': (\d+) samples", err)
    assert written and whole + short == int(written.group(1)), err
    frames = set(f for fr, _ in stacks for f in fr if is_native(f))
    assert (unnamed > 0) == any("+0x" in native(f)[0] for f in frames), (unnamed, frames)
    files = set(native(f)[1] for f in frames) - {""}
    assert nfiles >= len(files), (nfiles, files)


def check_no_native(stacks):
    for frames, _ in stacks:
        assert not any(is_native(f) for f in frames), frames


def walker_marker(frames):
    """A stack the Python walker could not read whole (<unreadable frame>):
    it says nothing of the merge, with or without --native."""
    return any(f.startswith("<") and parse_frame(f)[1] is None and f != UNKNOWN
               for f in frames)


def check_python_kept(native_stacks, plain_stacks, case):
    """Merging only inserts C frames: each sample's Python frames, in
    order, are a stack the plain run saw (or, for a moment between two
    calls, the outer part of one, down to the caller at least), and what
    the plain run saw often the native run saw too."""
    floor = tuple(f[:2] for f in prefix_of(case))
    seen = {}
    for frames, count in plain_stacks:
        if not walker_marker(frames):
            key = python_only(frames)
            seen[key] = seen.get(key, 0) + count
    total = sum(seen.values())
    mine = set()
    for frames, _ in native_stacks:
        if walker_marker(frames):
            continue
        key = python_only(frames)
        assert key in seen or (key[:len(floor)] == floor and
                               any(s[:len(key)] == key for s in seen)), \
            "Python frames %s not in the plain run's %s" % (key, sorted(seen))
        mine.add(key)
    for key, count in seen.items():
        assert count < 0.1 * total or key in mine, (key, count, total)


@pytest.mark.versions(VERSIONS)
@pytest.mark.parametrize("case", CASES, ids=[c.program[7:-3] for c in CASES])
def test_callback_nesting(profiler, interp, case, start_target, tmp_path):
    need_module(interp, case.module)
    t = start_target(interp, case.program, [60])
    files = Files(t.pid)
    stacks, plain, err, cpu = record_both(profiler, t, tmp_path)
    check_summary(err, stacks)
    check_no_native(plain)
    check_python_kept(stacks, plain, case)
    total = sum(c for _, c in stacks)
    assert total >= min_samples(cpu, RATE), (total, cpu, err)
    inside = [(fr, c) for fr, c in stacks
              if python_only(fr)[-1:] == ((case.leaf, case.program),)]
    n = sum(c for _, c in inside)
    assert n >= min_samples(cpu, RATE, 0.1), "%d samples in %s of %d" % (n, case.leaf, total)
    good = sum(c for fr, c in inside if nested(fr, case, files))
    bad = sorted(((c, ";".join(fr)) for fr, c in inside if not nested(fr, case, files)),
                 reverse=True)
    assert good >= SHARE * n, "%d of %d nested as expected (%s, %s); worst:\n%s" % (
        good, n, files.interp, err, "\n".join("%d %s" % b for b in bad[:5]))


# -- dump, --native-all, top -------------------------------------------------

def dump_until(args, done, tries=40):
    """Runs dump until done(stdout) (the target is caught where wanted)."""
    res = None
    for _ in range(tries):
        res = run_profiler(["dump"] + args)
        assert res.returncode == 0, res.stderr
        if done(res.stdout):
            return res.stdout
    raise AssertionError("never caught as wanted:\n%s" % (res.stdout if res else ""))


def dump_order(lines):
    """The dump's frames of native_qsort.py, innermost first, and where
    the callback, libc's qsort and the caller are (len(frames): nowhere)."""
    frames = [l[4:] for l in lines if l.startswith("    ")]
    first = lambda test: next((i for i, f in enumerate(frames) if test(f)), len(frames))
    cb = first(lambda f: f.startswith("py_cmp (native_qsort.py:"))
    qsort = first(lambda f: re.match(r"\S*qsort\S* \(libc\.so[^)]*\)$", f))
    caller = first(lambda f: f == "sort_it (native_qsort.py:%d)" %
                   source_line("native_qsort.py", "libc.qsort("))
    return frames, cb, qsort, caller


def check_dump_text(text, parked):
    frames, cb, qsort, caller = dump_order(text.splitlines())
    assert cb < qsort < caller, text
    if parked:  # under time.sleep's C frames
        assert cb > 0 and all(is_native(f) for f in frames[:cb]), text
    inner, outer = frames[cb + 1:qsort], frames[qsort + 1:caller]
    assert all(is_native(f) for f in inner + outer), text
    assert any(native(f)[1].startswith("_ctypes") for f in inner), text
    assert any(native(f)[1].startswith("_ctypes") for f in outer), text
    assert any(native(f)[1].startswith("libffi") or f.startswith("ffi_") for f in outer), text
    assert [parse_frame(f)[0] for f in frames[caller:]] == ["sort_it", "main", "<module>"], text


def json_frames(out):
    return [f for tr in json.loads(out) for f in tr["frames"]]


def libc_qsort(frames):
    return [i for i, f in enumerate(frames) if "qsort" in f["name"] and
            f["short_filename"].startswith("libc.so")]


@pytest.mark.versions(VERSIONS)
@pytest.mark.parametrize("mode", ["parked", "running"])
def test_dump_native(profiler, interp, mode, start_target):
    """dump --native of native_qsort.py caught in its callback: innermost
    first, the callback, _ctypes and libffi, libc's qsort, then the caller.
    Parked, the thread sleeps in the callback; running, it is on a CPU."""
    need_module(interp, "ctypes")
    t = start_target(interp, "native_qsort.py", [60] + (["sleep"] if mode == "parked" else []))
    pid = str(t.pid)
    text = dump_until(["-n", "-p", pid], lambda out: "\n    py_cmp (" in out and
                      re.search(r"\n    \S*qsort\S* \(libc", out))
    check_dump_text(text, mode == "parked")
    # --json: the same frames, the C ones with no line.
    out = dump_until(["-n", "-p", pid, "--json"], lambda out: libc_qsort(json_frames(out)) and
                     "py_cmp" in [f["name"] for f in json_frames(out)])
    frames = json_frames(out)
    names = [f["name"] for f in frames]
    at, libc = names.index("py_cmp"), libc_qsort(frames)[0]
    assert at < libc < names.index("sort_it"), names
    assert all(f["line"] == 0 for f in frames[at + 1:libc + 1]), frames
    # Without -n: Python frames only.
    plain = dump_until(["-p", pid], lambda out: "\n    py_cmp (" in out)
    assert not any(is_native(l[4:]) for l in plain.splitlines() if l.startswith("    ")), plain


def pyenv_interpreters():
    found = [i for i in INTERPRETERS
             if i.label.startswith("pyenv-") and i.version[:2] in [(3, 8), (3, 12), (3, 13)]]
    return found or [None]


@pytest.mark.parametrize("named_interp", pyenv_interpreters(), ids=repr)
def test_native_all(profiler, named_interp, start_target, tmp_path):
    """--native-all: every C frame, start-up and the eval loops too, each
    eval loop followed by the Python frames it ran; no Python frame lost."""
    need(named_interp, "no pyenv build of 3.8, 3.12 or 3.13 (a libpython with .symtab)")
    t = start_target(named_interp, "native_reduce.py", [60])
    files = Files(t.pid)
    need(files.named(files.interp), "%s has no .symtab" % files.interp)
    stacks, plain, err, cpu = record_both(profiler, t, tmp_path, native_args=["--native-all"])
    check_summary(err, stacks)
    check_python_kept(stacks, plain, REDUCE)
    names = set(native(f)[0] for fr, _ in stacks for f in fr if is_native(f))
    assert {"_PyEval_EvalFrameDefault", "PyEval_EvalCode", "functools_reduce"} <= names, names

    def each_run_after_its_loop(frames):
        prev = [None] + frames[:-1]
        return is_native(frames[0]) and all(
            not is_native(p) or (native(p)[0].startswith("_PyEval_EvalFrameDefault") and
                                 native(p)[1] == files.interp)
            for f, p in zip(frames, prev) if not is_native(f))

    inside = [(fr, c) for fr, c in stacks
              if python_only(fr)[-1:] == (("combine", "native_reduce.py"),)]
    n = sum(c for _, c in inside)
    assert n >= min_samples(cpu, RATE, 0.1), (n, err)
    good = sum(c for fr, c in inside if each_run_after_its_loop(fr))
    assert good >= SHARE * n, "%d of %d:\n%s" % (good, n, "\n".join(
        ";".join(fr) for fr, _ in inside if not each_run_after_its_loop(fr)))


@pytest.mark.versions([(3, 11), (3, 12)])
def test_top_native(profiler, interp, start_target):
    """top --native on a pipe: libz's frames have rows of their own."""
    t = start_target(interp, "native_zlib.py", [60])
    proc = subprocess.Popen([profiler, "top", "-n", "-p", str(t.pid), "--delay", "0.3"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    data = read_until(proc, b"deflate (libz")
    proc.send_signal(signal.SIGINT)
    text = finish(proc, data).decode("utf-8", "replace")
    assert proc.returncode == 0, text
    # By function, as py-spy's top groups by default.
    assert "deflate (libz" in text and "compress_it (native_zlib.py)" in text, text


# -- a library loaded while profiled -------------------------------------------

def build_lib(tmp_path, name, spin):
    cc = shutil.which("cc") or shutil.which("gcc")
    need(cc, "a C compiler is needed to build the test library")
    path = str(tmp_path / name)
    subprocess.check_call([cc, "-O1", "-shared", "-fPIC", "-DSPIN=" + spin, "-o", path,
                           os.path.join(PROGRAMS, "native_lib.c")])
    return path


def record_dlopen(profiler, interp, start_target, tmp_path, unload_old):
    """native_dlopen.py recorded while it loads its library: stacks,
    stderr, CPU seconds, Files, (the old library's, the new one's address)."""
    new = build_lib(tmp_path, "libnative_new.so", "new_library_spin")
    go = str(tmp_path / "go")
    args = [new, go, 60]
    if unload_old:
        args.append(build_lib(tmp_path, "libnative_old.so", "old_library_spin"))
    t = start_target(interp, "native_dlopen.py", args)
    files = Files(t.pid)
    out = str(tmp_path / "dlopen.txt")
    prof = subprocess.Popen([profiler, "record", "-n", "-p", str(t.pid), "-d", "4", "-r",
                             str(RATE), "-f", "raw", "-o", out],
                            stderr=subprocess.PIPE, universal_newlines=True)
    try:
        # The collector says it samples once it has read the mappings.
        said = ""
        while "sampling" not in said:
            line = prof.stderr.readline()
            assert line, said
            said += line
        cpu = CpuMeter(t.pid)
        open(go, "w").close()
        new_at = t.proc.stdout.readline().split()
        _, err = prof.communicate(timeout=60)
    finally:
        if prof.poll() is None:
            prof.kill()
            prof.wait()
    assert prof.returncode == 0, said + err
    with open(out) as f:
        stacks = parse_raw(f.read())
    old_at = [l.split()[1] for l in t.lines if l.startswith("old ")]
    return stacks, said + err, cpu.seconds(), files, (old_at[0] if old_at else None, new_at[1])


def check_dlopen(stacks, err, cpu, files):
    """Samples in the new library are named after it once the mappings
    are read again, and nothing else is named in its place: past libffi,
    only the new function (or the marker of an address not yet known), and
    no file but those of the call's way there."""
    spin = ("new_library_spin", "libnative_new.so")
    named = 0
    for frames, count in stacks:
        # Its destructors run in dlclose, under unload, while it is mapped.
        unloading = any(f.startswith("unload (native_dlopen.py") for f in frames)
        assert unloading or not any("libnative_old" in f or "old_library_spin" in f
                                    for f in frames), \
            "the unloaded library named in %d samples: %s" % (count, ";".join(frames))
        if python_only(frames)[-1:] != (("call_new", "native_dlopen.py"),):
            continue
        below = [native(f) for f in frames if is_native(f)]
        ffi = [i for i, (n, f) in enumerate(below) if f.startswith("libffi") or
               n.startswith("ffi_")]
        # Past libffi: its call of the function, or its own of memcpy.
        after = below[ffi[-1] + 1:] if ffi else []
        assert after in ([spin], [(UNKNOWN, "")]) or only_files(after, "libc.so"), \
            ";".join(frames)
        # time.time() in the loop reads the clock through the vDSO; the call
        # releases the GIL, whose thread-state swap reads a TLS variable
        # through the dynamic loader (__tls_get_addr).
        assert only_files([b for b in below if b[0] != UNKNOWN], files.interp, "_ctypes",
                          "libffi", "libc.so", "[vdso]", "ld-linux", spin[1]), \
            ";".join(frames)
        named += count if after == [spin] else 0
    assert named >= min_samples(cpu, RATE, 0.1), (named, cpu, err)


@pytest.mark.versions([(3, 11), (3, 12)])
def test_dlopen_mid_run(profiler, interp, start_target, tmp_path):
    stacks, err, cpu, files, _ = record_dlopen(profiler, interp, start_target, tmp_path, False)
    check_dlopen(stacks, err, cpu, files)


@pytest.mark.versions([(3, 11), (3, 12)])
def test_dlopen_in_place_of_unloaded(profiler, interp, start_target, tmp_path):
    """The new library where one the collector had read was unloaded: the
    old one's mapping must not name its frames."""
    stacks, err, cpu, files, (old_at, new_at) = record_dlopen(profiler, interp, start_target,
                                                              tmp_path, True)
    need(old_at == new_at, "the new library did not take the old one's place "
         "(%s, %s)" % (old_at, new_at))
    check_dlopen(stacks, err, cpu, files)


# -- every output format, a command, host-wide -------------------------------

ZLIB = CASES[5]


def in_libz(frames):
    """The sample is in zlib.compress's C code: compress_it, then a frame
    of libz below it."""
    py = [i for i, f in enumerate(frames) if parse_frame(f)[0] == "compress_it"]
    return bool(py) and any(is_native(f) and native(f)[1].startswith("libz")
                            for f in frames[py[-1] + 1:])


@pytest.mark.parametrize("fmt", ["flamegraph", "speedscope", "chrometrace", "pprof", "raw"])
def test_native_command_every_format(profiler, interp_any, fmt, tmp_path):
    """record -n -- COMMAND: the C frames of libz, by the file's name, in
    the output of every format, under the Python function that calls it."""
    need_module(interp_any, "zlib")
    out = tmp_path / ("profile." + fmt)
    res = run_profiler(["record", "-n", "-r", str(RATE), "-f", fmt, "-o", str(out), "--",
                        interp_any.path, os.path.join(PROGRAMS, ZLIB.program), "2"], timeout=60)
    assert res.returncode == 0, res.stderr
    assert SUMMARY.search(res.stderr), res.stderr
    data = out.read_bytes()
    if fmt == "pprof":
        data = gzip.decompress(data)
    assert b"compress_it" in data, data[:2000]
    assert b"libz.so" in data, data[:2000]
    if fmt == "raw":
        stacks = parse_raw(data.decode())
        total = sum(c for fr, c in stacks if any(parse_frame(f)[0] == "compress_it" for f in fr))
        good = sum(c for fr, c in stacks if in_libz(fr))
        assert total and good >= SHARE * total, (good, total, res.stderr)


def test_native_host_wide(profiler, interp_any, start_target, tmp_path):
    """record -n with no target: the zlib program's samples among every
    process's, its libz frames under compress_it in 90% of them."""
    need_module(interp_any, "zlib")
    t = start_target(interp_any, ZLIB.program, [60])
    out = tmp_path / "all.txt"
    cpu = CpuMeter(t.pid)
    res = run_profiler(["record", "-n", "-d", "3", "-r", str(RATE), "-f", "raw", "-o", str(out)],
                       timeout=90)
    used = cpu.seconds()
    assert res.returncode == 0, res.stderr
    mine = [(fr[1:], c) for fr, c in parse_raw(out.read_text())
            if re.match(r"process %d[ :]" % t.pid, fr[0])]
    total = sum(c for _, c in mine)
    assert total >= min_samples(used, RATE, 0.25), (total, used, res.stderr)
    calling = sum(c for fr, c in mine if any(parse_frame(f)[0] == "compress_it" for f in fr))
    good = sum(c for fr, c in mine if in_libz(fr))
    assert calling and good >= SHARE * calling, (good, calling, res.stderr)
