#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Writes the seed corpus of every fuzz target under tests/fuzz/corpus/.

Seeds are small and real where the repository has real data: line tables,
string cases and CFI sections from tests/fixtures, _Py_DebugOffsets blocks dumped from
live interpreters, maps lines in the kernel's format, tiny ELF files built
here with the symbols and version strings an interpreter has. The
fuzz_record and fuzz_uwalk seeds come from the targets themselves (they
know the offset tables): run tests/fuzz/run --replay-only first so that
their binaries exist.

    tests/fuzz/gen_corpus.py [--output-dir DIR]
"""
import argparse
import glob
import hashlib
import lzma
import os
import struct
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIXTURES = os.path.join(ROOT, "tests", "fixtures")


class Corpus(object):
    def __init__(self, base, target):
        self.dir = os.path.join(base, target)
        os.makedirs(self.dir, exist_ok=True)
        self.n = 0

    def add(self, name, data):
        # Names say what a seed is; the hash keeps them distinct.
        digest = hashlib.sha1(data).hexdigest()[:8]
        with open(os.path.join(self.dir, "%s-%s" % (name, digest)), "wb") as f:
            f.write(data)
        self.n += 1


# ---- line tables ----

FORMATS = {"lnotab": 0, "linetable310": 1, "locations": 2, "lnotab_unsigned": 3}


def linetable_seeds(c):
    for path in sorted(glob.glob(os.path.join(FIXTURES, "linetables", "*.txt"))):
        version = os.path.basename(path)[:-4]
        taken = 0
        code = None
        for line in open(path):
            parts = line.split()
            if not parts:
                continue
            if parts[0] == "code":
                code = {"fmt": parts[2], "first": int(parts[3]), "len": int(parts[4])}
            elif parts[0] == "tab" and code is not None:
                code["tab"] = b"" if len(parts) < 2 or parts[1] == "-" else bytes.fromhex(parts[1])
            elif parts[0] == "end" and code is not None:
                tab = code.get("tab", b"")
                # a small table and a large one per version, at three offsets
                if (taken == 0 and len(tab) < 40) or (taken == 1 and len(tab) > 100):
                    for off in (0, code["len"] // 2, code["len"] + 10):
                        c.add("%s-%s-off%d" % (version, code["fmt"], off),
                              struct.pack("<BiI", FORMATS[code["fmt"]], code["first"], off)
                              + tab)
                    taken += 1
                code = None
            if taken == 2:
                break


# ---- strings ----

def pystr_seeds(c):
    fns = {"decode": 0, "from_bytes": 1, "repr_str": 2, "repr_bytes": 3}
    kinds = {1: 0, 2: 1, 4: 2}
    seen = 0
    for line in open(os.path.join(FIXTURES, "pystr", "cases.txt")):
        if line.startswith("#") or not line.strip():
            continue
        head, _, out = line.partition(" : ")
        parts = head.split()
        fn, kind = parts[0], int(parts[1])
        units = [] if parts[2] == "-" else [int(x, 16) for x in parts[2].split(",")]
        if len(units) > 300:
            continue
        fmt = {1: "B", 2: "H", 4: "I"}[kind]
        data = struct.pack("<%d%s" % (len(units), fmt), *units)
        full = sum(len(t) // 2 for t in out.split())
        for outlen in (full + 1, max(full // 2, 1), 5):
            c.add("%s-k%d-out%d" % (fn, kind, outlen),
                  struct.pack("<BBH", fns[fn], kinds[kind], outlen) + data)
        seen += 1
        if seen >= 40:
            break


# ---- ELF files ----

def elf(symbols=(), rodata=b"", etype=3, elfclass=2, symtab_type=11, truncate=None,
        phdrs=True, shentsize=24):
    """A minimal little-endian x86-64 ELF: one PT_LOAD, a symbol table
    (SHT_DYNSYM 11 or SHT_SYMTAB 2) with its string table, .rodata and the
    section name table."""
    shstr = b"\0.dynsym\0.dynstr\0.rodata\0.shstrtab\0"
    names = {n: shstr.index(n.encode() + b"\0") for n in
             (".dynsym", ".dynstr", ".rodata", ".shstrtab")}
    strtab = b"\0"
    syms = [b"\0" * 24]
    for name, value in symbols:
        off = len(strtab)
        strtab += name.encode() + b"\0"
        # st_name, st_info (global object), st_other, st_shndx (.rodata), value, size
        syms.append(struct.pack("<IBBHQQ", off, 0x11, 0, 3, value, 8))
    symdata = b"".join(syms)
    ehsize, phsize = 64, 56
    off = ehsize + (phsize if phdrs else 0)
    layout = []
    for data in (symdata, strtab, rodata, shstr):
        layout.append(off)
        off += len(data)
    shoff = (off + 7) & ~7
    body = bytearray()
    body += b"\x7fELF" + bytes([elfclass, 1, 1, 0]) + b"\0" * 8
    body += struct.pack("<HHIQQQIHHHHHH", etype, 62, 1, 0x1000,
                        ehsize if phdrs else 0, shoff, 0, ehsize, phsize,
                        1 if phdrs else 0, 64, 5, 4)
    if phdrs:
        body += struct.pack("<IIQQQQQQ", 1, 5, 0, 0x400000 if etype == 2 else 0,
                            0x400000 if etype == 2 else 0, off, off, 0x1000)
    for data in (symdata, strtab, rodata, shstr):
        body += data
    body += b"\0" * (shoff - len(body))
    sh = [b"\0" * 64]
    # name, type, flags, addr, offset, size, link, info, align, entsize
    sh.append(struct.pack("<IIQQQQIIQQ", names[".dynsym"], symtab_type, 2, 0, layout[0],
                          len(symdata), 2, 1, 8, shentsize))
    sh.append(struct.pack("<IIQQQQIIQQ", names[".dynstr"], 3, 2, 0, layout[1], len(strtab),
                          0, 0, 1, 0))
    sh.append(struct.pack("<IIQQQQIIQQ", names[".rodata"], 1, 2, 0, layout[2], len(rodata),
                          0, 0, 8, 0))
    sh.append(struct.pack("<IIQQQQIIQQ", names[".shstrtab"], 3, 0, 0, layout[3], len(shstr),
                          0, 0, 1, 0))
    body += b"".join(sh)
    if truncate:
        body = body[:truncate]
    return bytes(body)


def pyelf_seeds(c):
    py3 = [("_PyRuntime", 0x4000), ("PyCode_Type", 0x5000), ("Py_Version", 0x6000)]
    c.add("libpython3.12", elf(py3, b"\0abc\0" + b"3.12.1\0"))
    c.add("python3.11-exec", elf(py3[:2], b"\x003.11.2\0", etype=2, symtab_type=2))
    c.add("merged-path", elf(py3[:2], b"\0/build/Python-3.7.16\0" + b"3.7.16+\0"))
    c.add("python2.7", elf([("interp_head", 0x4000), ("_PyThreadState_Current", 0x4100),
                            ("PyCode_Type", 0x5000)], b"\x002.7.18\0", symtab_type=2))
    c.add("many-versions", elf(py3, b"".join(b"\x003.%d.%d\0" % (i, i) for i in range(12))))
    c.add("no-python", elf([("main", 0x1000)], b"\0hello\0"))
    c.add("elfclass32", elf(py3, b"\x003.12.1\0", elfclass=1))
    c.add("no-phdr", elf(py3, b"\x003.12.1\0", phdrs=False))
    c.add("truncated", elf(py3, b"\x003.12.1\0", truncate=200))
    c.add("bad-entsize", elf(py3, b"\x003.12.1\0", shentsize=7))
    c.add("version-string", b"3.12.1\0")


# ---- ELF files for the ELF reader and the symbol tables ----

def elf64(sections, etype=3, loads=((0, 0),), notes=None):
    """An ELF64 x86-64 image: header, PT_LOAD headers ((offset, vaddr) over
    the whole file), an optional PT_NOTE over `notes`, the sections (dicts:
    name, type, flags, addr, data, size for NOBITS, link, info, entsize,
    align; index 1 on), .shstrtab last, then the section headers."""
    shstr = b"\0" + b"".join(s["name"].encode() + b"\0" for s in sections) + b".shstrtab\0"
    nph = len(loads) + (1 if notes is not None else 0)
    off = 64 + 56 * nph
    body = b""
    heads = []
    name = 1
    for sec in sections:
        align = sec.get("align", 1)
        pad = (-(off + len(body))) % align
        body += b"\0" * pad
        data = sec.get("data", b"")
        start = off + len(body)
        size = sec.get("size", len(data))
        if sec.get("type", 1) != 8:
            body += data
        heads.append(struct.pack("<IIQQQQIIQQ", name, sec.get("type", 1), sec.get("flags", 0),
                                 sec.get("addr", 0), start, size, sec.get("link", 0),
                                 sec.get("info", 0), align, sec.get("entsize", 0)))
        name += len(sec["name"]) + 1
    noteoff = off + len(body)
    if notes is not None:
        body += notes
    shstroff = off + len(body)
    body += shstr
    heads.append(struct.pack("<IIQQQQIIQQ", name, 3, 0, 0, shstroff, len(shstr), 0, 0, 1, 0))
    body += b"\0" * ((-(off + len(body))) % 8)
    shoff = off + len(body)
    total = shoff + 64 * (len(heads) + 1)
    out = b"\x7fELF\x02\x01\x01\0" + b"\0" * 8
    out += struct.pack("<HHIQQQIHHHHHH", etype, 62, 1, 0, 64, shoff, 0, 64, 56, nph, 64,
                       len(heads) + 1, len(heads))
    for foff, vaddr in loads:
        out += struct.pack("<IIQQQQQQ", 1, 5, foff, vaddr, vaddr, total - foff, total - foff,
                           0x1000)
    if notes is not None:
        out += struct.pack("<IIQQQQQQ", 4, 4, noteoff, 0, 0, len(notes), len(notes), 4)
    return out + body + b"\0" * 64 + b"".join(heads)


def gnu_note(ntype, desc):
    return struct.pack("<III", 4, len(desc), ntype) + b"GNU\0" + desc + b"\0" * (-len(desc) % 4)


def symtab(syms, text=1):
    """(name, value, size, info) tuples: the table and its strings."""
    strtab = b"\0"
    tab = b"\0" * 24
    for name, value, size, info in syms:
        tab += struct.pack("<IBBHQQ", len(strtab), info, 0, text, value, size)
        strtab += name + b"\0"
    return tab, strtab


def with_symbols(syms, symtype=2, extra=()):
    tab, strtab = symtab(syms)
    return elf64([dict(name=".text", type=8, flags=6, addr=0x1000, size=0x2000, align=16),
                  dict(name=".symtab" if symtype == 2 else ".dynsym", type=symtype, data=tab,
                       link=3, info=1, entsize=24, align=8),
                  dict(name=".strtab", type=3, data=strtab)] + list(extra))


FUNC, LOCAL_FUNC, WEAK_FUNC, IFUNC = 0x12, 0x02, 0x22, 0x1a


def elffile_seeds(c):
    build_id = bytes(range(0xa0, 0xb4))
    link = b"libfoo.so.debug\0" + struct.pack("<I", 0x12345678)
    notes = gnu_note(1, struct.pack("<IIII", 0, 3, 2, 0)) + gnu_note(3, build_id)
    c.add("sections", elf64([
        dict(name=".text", data=b"\x90" * 64, flags=6, addr=0x1000, align=16),
        dict(name=".note.gnu.build-id", type=7, flags=2, data=notes, align=4),
        dict(name=".gnu_debuglink", data=link, align=4),
        dict(name=".eh_frame", data=b"\x14\0\0\0\0\0\0\0\x01zR\0\x01x\x10\x01\x1b" + b"\0" * 8,
             flags=2, align=8),
        dict(name=".bss", type=8, flags=3, addr=0x3000, size=0x100, align=8)]))
    c.add("segment-notes", elf64([], etype=2, loads=((0, 0x400000),),
                                 notes=gnu_note(3, build_id[:8])))
    c.add("two-loads", elf64([dict(name=".text", data=b"\xc3" * 32, flags=6)],
                             loads=((0, 0), (0x40, 0x201000))))
    big = elf64([dict(name=".text", data=b"\x90" * 16, flags=6)])
    c.add("truncated", big[:100])
    c.add("elfclass32", big[:4] + b"\x01" + big[5:])
    c.add("not-elf", b"hello\n")


def elfsym_seeds(c):
    syms = [(b"outer", 0x1000, 0x100, FUNC), (b"inner", 0x1040, 0x20, LOCAL_FUNC),
            (b"sizeless", 0x1200, 0, FUNC), (b"after", 0x1280, 0x10, FUNC),
            (b"__libc_thing", 0x1300, 0x10, FUNC), (b"thing", 0x1300, 0x10, WEAK_FUNC),
            (b"an_ifunc", 0x1500, 8, IFUNC), (b"_ZN10pyspy_demo10overloadedEi", 0x1600, 0x20, FUNC),
            (b"_ZN3std2rt10lang_start28_$u7b$$u7b$closure$u7d$$u7d$17h0123456789abcdefE",
             0x1700, 0x20, FUNC), (b"last", 0x2f00, 0, FUNC)]
    c.add("symtab", with_symbols(syms))
    c.add("dynsym", with_symbols(syms[:4], symtype=11))
    inner = with_symbols([(b"hidden_static", 0x1100, 0x20, LOCAL_FUNC),
                          (b"_Z6helperi", 0x1200, 0x20, LOCAL_FUNC)])
    xz = lzma.compress(inner, format=lzma.FORMAT_XZ, check=lzma.CHECK_CRC64, preset=0)
    c.add("minidebuginfo", with_symbols([(b"exported", 0x2000, 0x10, FUNC)], symtype=11,
                                        extra=[dict(name=".gnu_debugdata", data=xz)]))
    c.add("minidebuginfo-contents", b"M" + inner)
    c.add("demangle", b"_ZNSt6vectorIiSaIiEE9push_backERKi\0")
    # files the toolchain builds (tests/fixtures/elfsym/build.sh), when it can
    with tempfile.TemporaryDirectory() as tmp:
        if subprocess.run(["sh", os.path.join(FIXTURES, "elfsym", "build.sh"), tmp],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode:
            print("gen_corpus: build.sh failed, no built elfsym seeds", file=sys.stderr)
            return
        for name in ("tiny.mini", "tiny.link", "libcxx.so"):
            path = os.path.join(tmp, name)
            if os.path.exists(path):
                c.add("built-" + name, open(path, "rb").read())


# ---- /proc/PID/maps ----

def procmaps_seeds(c):
    lines = [
        b"55a12f816000-55a12f818000 r--p 00000000 fe:00 247134"
        b"                     /usr/bin/python3.11\n",
        b"7f3c1a200000-7f3c1a5f0000 r-xp 00096000 08:01 1311234"
        b"                    /usr/lib/x86_64-linux-gnu/libpython3.12.so.1.0\n",
        b"7ffd4f9e2000-7ffd4fa03000 rw-p 00000000 00:00 0                          [stack]\n",
        b"7f3c19e00000-7f3c19f00000 rw-p 00000000 00:00 0 \n",
        b"7f3c19e00000-7f3c19f00000 rw-s 00000000 00:05 1025"
        b"                      /memfd:python (deleted)\n",
        b"ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0"
        b"                  [vsyscall]\n",
        b"00400000-00401000 r-xp 00000000 103:02 12 /home/u/a dir/python3 x\n",
    ]
    for i, line in enumerate(lines):
        c.add("line%d" % i, line)
    c.add("file", b"".join(lines))
    try:
        with open("/proc/self/maps", "rb") as f:
            c.add("self", f.read()[:4000])
    except OSError:
        pass


# ---- core dumps ----

def note(name, ntype, desc):
    name = name + b"\0"
    pad = lambda b: b + b"\0" * (-len(b) % 4)
    return struct.pack("<III", len(name), len(desc), ntype) + pad(name) + pad(desc)


def prstatus(tid, fs_base, orig_rax):
    regs = [0] * 27
    regs[15] = orig_rax & 0xffffffffffffffff
    regs[21] = fs_base
    head = struct.pack("<iiihxxQQiiii", 0, 0, 0, 0, 0, 0, tid, 1, tid, tid) + b"\0" * 64
    return head + struct.pack("<27Q", *regs) + struct.pack("<i", 1) + b"\0" * 4


def core_file(segments, notes):
    """An x86-64 ET_CORE: a PT_NOTE, then PT_LOADs of (vaddr, memsz, bytes, flags)."""
    phnum = 1 + len(segments)
    off = 64 + 56 * phnum
    blob = b"".join(notes)
    phdrs = struct.pack("<IIQQQQQQ", 4, 4, off, 0, 0, len(blob), 0, 1)
    data = blob
    for vaddr, memsz, content, flags in segments:
        phdrs += struct.pack("<IIQQQQQQ", 1, flags, off + len(data), vaddr, 0, len(content),
                             memsz, 0x1000)
        data += content
    ehdr = b"\x7fELF" + bytes([2, 1, 1, 0]) + b"\0" * 8
    ehdr += struct.pack("<HHIQQQIHHHHHH", 4, 62, 1, 0, 64, 0, 0, 64, 56, phnum, 0, 0, 0)
    return ehdr + phdrs + data


def coredump_seeds(c):
    lib = b"/usr/lib/libpython3.12.so.1.0\0"
    files = struct.pack("<QQ", 2, 4096) + struct.pack("<6Q", 0x7f0000000000, 0x7f0000002000, 0,
                                                      0x7f0000002000, 0x7f0000003000, 2)
    files += lib + lib
    psinfo = struct.pack("<bbbbxxxxQIIiiii", 0, ord("S"), 0, 0, 0, 0, 0, 4242, 1, 4242, 4242)
    psinfo += b"python3\0".ljust(16, b"\0") + b"python3 app.py".ljust(80, b"\0")
    auxv = struct.pack("<4Q", 9, 0x7f0000000100, 0, 0)
    notes = [note(b"CORE", 3, psinfo), note(b"CORE", 1, prstatus(4242, 0x7f0000001000, -1)),
             note(b"CORE", 1, prstatus(4243, 0x7f0000002800, 202)),
             note(b"CORE", 6, auxv), note(b"CORE", 0x46494c45, files)]
    header = b"\x7fELF" + b"\0" * 60
    segs = [(0x7f0000000000, 0x2000, header + b"\x11" * 64, 4),
            (0x7f0000002000, 0x1000, b"", 6),
            (0x7ffd00000000, 0x100, bytes(range(256)), 6)]
    whole = core_file(segs, notes)
    # A stack as exec leaves it: argc, argv, NULL, envp, NULL, the auxiliary
    # vector (NT_AUXV's copy), then the strings, AT_EXECFN's last.
    top = 0x7ffd00100000
    strings = b"python3\0app.py\0--flag\0HOME=/\0/usr/bin/python3\0"
    strings += b"\0" * (-len(strings) % 8)    # the vector below is aligned
    at = top - len(strings)
    words = [3, at, at + 8, at + 15, 0, at + 22, 0]
    auxv2 = struct.pack("<6Q", 9, 0x7f0000000100, 31, at + 29, 0, 0)
    low = struct.pack("<%dQ" % len(words), *words) + auxv2
    stack = b"\0" * (0x1000 - len(low) - len(strings)) + low + strings
    stack = (b"\0" * 0x1000 + stack)[-0x1000:]
    notes2 = notes[:3] + [note(b"CORE", 6, auxv2), notes[4]]
    c.add("argv-on-stack", core_file(segs[:2] + [(top - 0x1000, 0x1000, stack, 6)], notes2))
    c.add("two-threads", whole)
    c.add("no-file-note", core_file(segs, notes[:4]))
    c.add("no-threads", core_file(segs, [notes[0], notes[4]]))
    c.add("truncated", whole[:len(whole) - 100])
    c.add("not-core", whole[:16] + struct.pack("<H", 2) + whole[18:])


# ---- protobuf ----

def varint(v):
    out = b""
    while v >= 0x80:
        out += bytes([v & 0x7f | 0x80])
        v >>= 7
    return out + bytes([v])


def field(num, wire, payload):
    return varint(num << 3 | wire) + payload


def protobuf_seeds(c):
    inner = field(1, 0, varint(7)) + field(2, 2, varint(3) + b"abc")
    msg = (field(1, 0, varint(150)) + field(2, 2, varint(len(inner)) + inner)
           + field(3, 1, b"\x01" * 8) + field(4, 5, b"\x02" * 4)
           + field(5, 2, varint(3) + varint(1) + varint(2) + varint(3)))
    c.add("read-message", b"\x01" + msg)
    c.add("read-max-varint", b"\x01" + field(1, 0, b"\xff" * 9 + b"\x01"))
    c.add("read-overlong", b"\x01" + field(1, 0, b"\xff" * 10 + b"\x01"))
    c.add("read-truncated-len", b"\x01" + field(2, 2, varint(100) + b"x"))
    c.add("read-bad-wire", b"\x01" + bytes([1 << 3 | 7]))
    # encoder: op byte (kind | len << 2), field (8), value (8), data
    ops = b""
    for kind, data in ((0, b""), (1, b"hello"), (2, b"\x01\x02\xff"), (3, b"nested")):
        ops += bytes([kind | len(data) << 2]) + struct.pack("<QQ", 5 + kind, 2 ** 63 + kind) + data
    c.add("write-ops", b"\x00" + ops)


# ---- _Py_DebugOffsets ----

def debugoffsets_seeds(c):
    minors = {13: 0, 14: 1, 15: 2}
    for path in sorted(glob.glob(os.path.join(FIXTURES, "debugoffsets", "*.bin"))):
        data = open(path, "rb").read()
        header, _, block = data.partition(b"\n")
        minor = int(header.split()[3])
        name = os.path.basename(path)[:-4]
        c.add(name, bytes([minors[minor]]) + block)
        c.add(name + "-as-3.12", bytes([3]) + block[:64])


# ---- writers ----

def pstr(b):
    return bytes([len(b)]) + b


def writers_seeds(c):
    frames = (b"F" + pstr(b"main") + pstr(b"/srv/app.py") + pstr(b"app.py") + b"\x00\x05\x00"
              + b"F" + pstr(b"a<b>&\"c';semi\nnl") + pstr(b"/srv/x\xff.py") + pstr(b"x.py")
              + b"\x00\x07\x00"
              + b"F" + pstr(b"<unknown>") + pstr(b"") + pstr(b"") + b"\x00\x00\x02"
              + b"F" + pstr(b"bad\xc0\xaf\xed\xa0\x80\x01\x1b[31m") + pstr(b"/b.py")
              + pstr(b"b.py") + b"\xff\x02\x01")
    samples = b""
    for i in range(6):
        # pid, tid, thread name, cmdline, active, depth, frames, count, time
        samples += (b"S" + bytes([i % 2, i % 3]) + pstr(b"Thread-\xe2\x98\x83")
                    + pstr(b"python \"x\" <y>") + b"\x01" + bytes([3, 0, 1 + i % 4, 2])
                    + bytes([i, i * 3]))
    for fmt in range(5):
        for opt in (0x00, 0x0f, 0x7f):
            c.add("fmt%d-opt%02x" % (fmt, opt), bytes([fmt, opt]) + frames + samples)


def textesc_seeds(c):
    names = (b"main", b"evil\x1b[2J\x1b]0;t\x07\nThread 1",
             b"caf\xc3\xa9 \xe6\xbc\xa2 \xf0\x9f\x90\x8d",
             b"c1\xc2\x9b\x9b\xff\xc0\xaf\xed\xa0\x80",
             b"bidi\xe2\x80\xae\xe2\x81\xa6\\x1b\t\x7f")
    for i, name in enumerate(names):
        for outlen, cols in ((4096, 255), (7, 5), (1, 0)):
            c.add("name%d-out%d-cols%d" % (i, outlen, cols),
                  bytes([outlen & 0xff, outlen >> 8, cols]) + name)


# ---- CFI sections ----

def cfi_seeds(c):
    """The fixtures' real sections, then one FDE with every opcode; each input
    is flags (kind, cap), the section's address, the section."""
    seen = set()
    for path in sorted(glob.glob(os.path.join(FIXTURES, "cfi", "*.meta"))):
        name = os.path.basename(path)[:-5]
        for line in open(path):
            parts = line.split()
            if len(parts) == 4 and parts[0] == "section":
                kind = 1 if parts[1] == ".debug_frame" else 0
                data = open(os.path.join(FIXTURES, "cfi", parts[3]), "rb").read()
                if data in seen:
                    continue
                seen.add(data)
                c.add("%s%s" % (name, parts[1]),
                      struct.pack("<BQ", kind, int(parts[2], 16)) + data)
    # .eh_frame at address 0: a "zR" CIE (pcrel|sdata4), one FDE at 0x1000.
    cie_body = (b"\0\0\0\0" + b"\x01zR\0" + b"\x01\x78\x10" + b"\x01\x1b"
                + b"\x0c\x07\x08\x90\x01" + b"\0\0")
    cie = struct.pack("<I", len(cie_body)) + cie_body
    plt = b"\x77\x08\x80\x00\x3f\x1a\x3b\x2a\x33\x24\x22"
    ops = b"".join([
        b"\x41\x0e\x10\x86\x02",                 # advance_loc, def_cfa_offset, offset
        b"\x02\x04\x0d\x06",                      # advance_loc1, def_cfa_register
        b"\x03\x04\x00\x0c\x07\x08",              # advance_loc2, def_cfa
        b"\x04\x04\x00\x00\x00\x0a\x0e\x20\x0b",  # advance_loc4, remember, restore_state
        b"\x05\x06\x02\x06\x06\x07\x06\x08\x06",  # offset_extended, restore_extended, ...
        b"\x09\x06\x03\x0f\x0b" + plt,            # register, def_cfa_expression (PLT)
        b"\x10\x06\x02\x76\x00\x11\x06\x7e",      # expression, offset_extended_sf
        b"\x12\x07\x7e\x13\x7c\x14\x06\x02",      # def_cfa_sf, def_cfa_offset_sf, val_offset
        b"\x15\x06\x7e\x16\x06\x02\x76\x00",      # val_offset_sf, val_expression
        b"\x2e\x10\x2f\x06\x02\xc6",              # GNU_args_size, GNU_negative_offset_ext., restore
        b"\x1d" + struct.pack("<Q", 4),               # MIPS_advance_loc8
        b"\x01" + struct.pack("<i", 0x1100),          # set_loc (pc-relative to itself)
        b"\0\0",
    ])
    fde_body = struct.pack("<IiiB", len(cie) + 4, 0x1000 - (len(cie) + 8), 0x200, 0) + ops
    fde = struct.pack("<I", len(fde_body)) + fde_body
    c.add("all-opcodes", struct.pack("<BQ", 0, 0) + cie + fde + b"\0\0\0\0")


def binary_seeds(c, target, env):
    """Seeds a target writes itself (it knows the offset tables)."""
    binary = os.path.join(ROOT, ".output", "fuzz", "fuzz_" + target)
    if not os.path.exists(binary):
        print("gen_corpus: %s not built, no fuzz_%s seeds" % (binary, target), file=sys.stderr)
        return
    env = dict(os.environ, **{env: c.dir})
    subprocess.run([binary], env=env, check=True, stdout=subprocess.DEVNULL)
    c.n = len(os.listdir(c.dir))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--output-dir", default=os.path.join(ROOT, "tests", "fuzz", "corpus"))
    args = ap.parse_args()
    for target, fn in (("linetable", linetable_seeds), ("pystr", pystr_seeds),
                       ("pyelf", pyelf_seeds), ("procmaps", procmaps_seeds),
                       ("protobuf", protobuf_seeds), ("debugoffsets", debugoffsets_seeds),
                       ("writers", writers_seeds), ("textesc", textesc_seeds),
                       ("cfi", cfi_seeds), ("elffile", elffile_seeds),
                       ("elfsym", elfsym_seeds), ("coredump", coredump_seeds)):
        c = Corpus(args.output_dir, target)
        fn(c)
        print("%-14s %d seeds" % (target, c.n))
    for target, env in (("record", "FUZZ_RECORD_SEEDS"), ("uwalk", "FUZZ_UWALK_SEEDS")):
        c = Corpus(args.output_dir, target)
        binary_seeds(c, target, env)
        print("%-14s %d seeds" % (target, c.n))


if __name__ == "__main__":
    main()
