# SPDX-License-Identifier: BSD-2-Clause
# Objects for the reader of live Python objects (user/pyobj_*.c, tested by
# tests/unit/test_pyobj.c). Runs on 2.7 and 3.x (no f-strings).
#
# Starts two threads ("worker-a", and one with the default name), then calls
# objects_target(), whose arguments and locals are ints, bools, floats, None,
# strings of every width, bytes, containers, a cycle, an instance and a
# closure. Before sleeping there it prints, one per line (UTF-8):
#   thread <ident> <name>        every entry of threading._active
#   main <ident>                 the thread running objects_target
#   func objects_target          the function whose frame holds the locals
#   local <name> <0|1> <repr>    1: an argument (co_argcount's, as py-spy
#                                counts them); <repr> is what the reader
#                                must print: Python 3's repr(), with the
#                                reader's documented forms for the rest
#                                (a subclass of int, str, bytes, list,
#                                tuple or dict as its base, as py-spy does)
#   ready <pid>
# and exits when its stdin closes.
import collections
import os
import sys
import threading
import time

PY2 = sys.version_info[0] == 2
if PY2:
    import thread as _thread
    get_ident = _thread.get_ident
    text_type = unicode  # noqa: F821
    int_types = (int, long)  # noqa: F821
else:
    get_ident = threading.get_ident
    text_type = str
    int_types = (int,)

# user/pyobj.h PYOBJ_MAX_LONG_DIGITS (30-bit digits): bigger ints are
# shown as <int at 0x...>.
MAX_LONG_BITS = 128 * 30


def _printable(ch):
    """str.isprintable() of one character, for Python 2."""
    import unicodedata
    if ch == u" ":
        return True
    # Emoji are unassigned in Python 2's Unicode 5.2 database; the reader
    # (user/pystr.c) uses a newer one, where they are printable.
    if 0x1f300 <= ord(ch) <= 0x1faff:
        return True
    return unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Co", "Cn",
                                            "Zl", "Zp", "Zs")


def _urepr(u):
    """Python 3's repr() of a Python 2 unicode string."""
    quote = u"'"
    if u"'" in u and u'"' not in u:
        quote = u'"'
    out = [quote]
    for ch in u:
        o = ord(ch)
        if ch == quote or ch == u"\\":
            out.append(u"\\" + ch)
        elif ch == u"\t":
            out.append(u"\\t")
        elif ch == u"\n":
            out.append(u"\\n")
        elif ch == u"\r":
            out.append(u"\\r")
        elif o < 0x20 or o == 0x7f:
            out.append(u"\\x%02x" % o)
        elif o < 0x7f:
            out.append(ch)
        elif _printable(ch):
            out.append(ch)
        elif o <= 0xff:
            out.append(u"\\x%02x" % o)
        elif o <= 0xffff:
            out.append(u"\\u%04x" % o)
        else:
            out.append(u"\\U%08x" % o)
    out.append(quote)
    return u"".join(out)


def _other(v):
    return u"<%s at 0x%x>" % (type(v).__name__, id(v))


def _base(v):
    """The type the reader shows v as: its own, or for a subclass of a
    builtin the builtin (the flags of its type say which)."""
    t = type(v)
    if t is bool:
        return t
    for b in int_types + (bytes, text_type, list, tuple, dict):
        if isinstance(v, b):
            return b
    return t


def expect(v, seen=()):
    """The repr the reader must give for v (text)."""
    t = _base(v)
    if v is None or t is bool or t is float:
        return text_type(repr(v))
    if t in int_types:
        if abs(v).bit_length() > MAX_LONG_BITS:
            return _other(v)
        return text_type(int(v))  # no 'L' on 2.7, 5 for an IntEnum
    if t is bytes:
        return repr(bytes(v)).decode("ascii") if PY2 else repr(bytes(v))
    if t is text_type:
        return _urepr(text_type(v)) if PY2 else repr(text_type(v))
    if t in (list, tuple, dict):
        if id(v) in seen:
            return {list: u"[...]", tuple: u"(...)", dict: u"{...}"}[t]
        seen = seen + (id(v),)
        if t is dict:
            # The dict's own table order (an OrderedDict's links aside).
            items = [expect(k, seen) + u": " + expect(x, seen) for k, x in dict.items(v)]
            return u"{" + u", ".join(items) + u"}"
        items = [expect(x, seen) for x in v]
        if t is tuple:
            return u"(" + u", ".join(items) + (u",)" if len(items) == 1 else u")")
        return u"[" + u", ".join(items) + u"]"
    return _other(v)


def emit(line):
    data = (line + u"\n").encode("utf-8")
    if PY2:
        sys.stdout.write(data)
    else:
        sys.stdout.buffer.write(data)
    sys.stdout.flush()


def report(func, names, values):
    for ident, t in sorted(threading._active.items()):
        emit(u"thread %d %s" % (ident, t.name))
    emit(u"main %d" % get_ident())
    emit(u"func " + func.__name__)
    code = func.__code__
    args = code.co_varnames[:code.co_argcount]
    for name in sorted(names):
        emit(u"local %s %d %s" % (name, name in args, expect(values[name])))


class Custom(object):
    pass


class MyStr(text_type):
    pass


class MyBytes(bytes):
    pass


class MyInt(int):
    pass


class MyList(list):
    pass


class MyDict(dict):
    pass


Point = collections.namedtuple("Point", "x y")


def subclass_objects():
    """Instances of subclasses of the builtins, by name."""
    dd = collections.defaultdict(list)
    dd["k"].append(1)
    objs = {
        "sub_str": MyStr(u"sub str"), "sub_bytes": MyBytes(b"sub"), "sub_int": MyInt(11),
        "sub_list": MyList([1, u"two"]), "sub_dict": MyDict(a=1),
        "ordered": collections.OrderedDict([("one", 1), ("two", 2)]),
        "default": dd, "point": Point(3, 4),
    }
    if not PY2:
        import enum

        class Color(enum.IntEnum):
            RED = 5

        objs["color"] = Color.RED
    return objs


def objects_target(a, b=2, *args, **kwargs):
    subs = subclass_objects()
    sub_str, sub_bytes, sub_int = subs["sub_str"], subs["sub_bytes"], subs["sub_int"]
    sub_list, sub_dict, ordered = subs["sub_list"], subs["sub_dict"], subs["ordered"]
    default, point, color = subs["default"], subs["point"], subs.get("color")
    del subs
    small = 42
    negative = -7
    zero = 0
    big = 2 ** 70 + 12345
    bigneg = -(2 ** 100) - 1
    huge = 3 ** 2000
    too_big = 2 ** 5000
    flag_t = True
    flag_f = False
    pi = 3.14159
    third = 1 / 3.0
    tiny = 1e-7
    large = 1e22
    exact = 1e16
    negz = -0.0
    inf = float("inf")
    nan = float("nan")
    nothing = None
    s_ascii = "hello world"
    s_quote = "it's"
    s_esc = "tab\there\nnl \\ back"
    s_latin1 = u"caf\xe9"
    s_ucs2 = u"\u4e2d\u6587 \u0394"
    s_emoji = u"snake \U0001f40d!"
    s_ctrl = u"\x00\x7f\x85"
    s_long = "x" * 3000
    by = b"\x00\xffab'\""
    lst = [1, "two", 3.0, None, [True]]
    tup = (1, 2)
    single = (1,)
    empty_t = ()
    empty_l = []
    empty_d = {}
    nested = {"a": 1, "b": {"c": [1, 2, (3, 4)]}, 5: "five", None: 1.5}
    big_dict = {"k%03d" % i: i for i in range(300)}
    deleted = {"x": 1, "y": 2, "z": 3}
    del deleted["y"]
    obj = Custom()
    obj.x = 1
    obj.y = "why"
    inst_dict = obj.__dict__
    cyc = [1]
    cyc.append(cyc)
    cycd = {}
    cycd["self"] = cycd
    captured = "cell value"

    def inner():
        return captured, a

    values = dict(locals())
    report(objects_target, values.keys(), values)
    del values
    # Only now are the locals those reported.
    emit(u"ready %d" % os.getpid())
    while True:
        time.sleep(3600)


def worker(stop):
    stop.wait()


def watch_stdin():
    # The test closes our stdin (or dies): exit then.
    while True:
        if not os.read(0, 4096):
            os._exit(0)


def main():
    stop = threading.Event()
    w = threading.Thread(target=watch_stdin, name="stdin-watch")
    w.daemon = True
    w.start()
    t1 = threading.Thread(target=worker, args=(stop,), name="worker-a")
    t1.daemon = True
    t1.start()
    t2 = threading.Thread(target=worker, args=(stop,))
    t2.daemon = True
    t2.start()
    # 2.7 registers a thread in _active only after start() has returned.
    deadline = time.time() + 30
    while len(threading._active) < 4 and time.time() < deadline:
        time.sleep(0.01)
    objects_target(7, "bee", "extra", kw=1.5)


if __name__ == "__main__":
    main()
