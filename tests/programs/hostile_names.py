# SPDX-License-Identifier: BSD-2-Clause
# Names made to drive the terminal of whoever profiles this process: clear
# the screen (ESC [2J), set the window title (ESC ]0;... BEL), forge a
# "Thread" line of dump with a newline, plus tab, backspace, the C1 CSI
# (U+009B) and a bidi override (U+202E). They are in function names, a file
# name (compile()), a local's name, a class name (so in the local's repr), a
# threading.Thread name, a kernel thread name (prctl(PR_SET_NAME), in a
# thread threading does not know) and the command line (the test passes
# ARGV as argv[2]). The names are below; the test imports them from here.
# Threads: THREAD spins in FUNC, the thread named COMM sleeps in PARK (both
# functions in FILE, with an argument evil_arg and a local named LOCAL that
# holds a CLASS instance), the main thread sleeps in main(). Runs SECONDS
# (argv[1]), prints "ready <pid>".
# Expected: every text output (dump, dump --locals, record -f raw, top, the
# messages) shows these names escaped: \x1b[2J, \x07, \n, \t, \x08, \x9b,
# \u202e as visible text, and no control character; dump --json gives the
# names back exactly.
import ctypes
import os
import sys
import threading
import time
import types

try:
    import _thread as thread
except ImportError:  # 2.7
    import thread

PY2 = sys.version_info[0] == 2


def native(text):
    """2.7 names are byte strings: the UTF-8 form of the same text."""
    return text.encode("utf-8") if PY2 else text


# U+009B is the C1 CSI; U+6F22 and U+1F40D make 2- and 4-byte strings of 3.x;
# U+202E reverses the text after it.
PAYLOAD = u"\x1b[2J\x1b]0;pwned\x07\t\x08\x9b"
FUNC = native(u"evil" + PAYLOAD + u"\nThread 4242 (idle): \"forged\"")
PARK = native(u"park\u6f22" + PAYLOAD + u"\u202e")
FILE = native(u"evil" + PAYLOAD + u"\n.py")
LOCAL = native(u"loc" + PAYLOAD + u"\n")
CLASS = native(u"Cls" + PAYLOAD + u"\n")
THREAD = native(u"thr\U0001f40d" + PAYLOAD + u"\nThread 4243 (idle): \"forged\"")
COMM = b"k\x1b[2J\x07\t\x08\xc2\x9b\n"	# 15 bytes at most
ARGV = u"arg\x1b[2J\x1b]0;cmd\x07\n\x9b\u202e"	# what the test passes

SRC = """
def spin(evil_arg, end):
    evil_local = Cls()
    n = 0
    while time.time() < end:
        n = (n * 7 + 1) % 1000003


def park(evil_arg, end):
    evil_local = Cls()
    while time.time() < end:
        time.sleep(0.05)
"""


def renamed(code, name):
    names = tuple(LOCAL if v == "evil_local" else v for v in code.co_varnames)
    if hasattr(code, "replace"):
        kw = {"co_name": name, "co_varnames": names}
        if hasattr(code, "co_qualname"):
            kw["co_qualname"] = name
        return code.replace(**kw)
    args = [code.co_argcount]
    if not PY2:
        args.append(code.co_kwonlyargcount)
    args += [code.co_nlocals, code.co_stacksize, code.co_flags, code.co_code, code.co_consts,
             code.co_names, names, code.co_filename, name, code.co_firstlineno,
             code.co_lnotab, code.co_freevars, code.co_cellvars]
    return types.CodeType(*args)


def main():
    end = time.time() + float(sys.argv[1])
    ns = {"time": time, "Cls": type(CLASS, (object,), {})}
    exec(compile(SRC, FILE, "exec"), ns)
    spin, park = ns["spin"], ns["park"]
    spin.__code__ = renamed(spin.__code__, FUNC)
    park.__code__ = renamed(park.__code__, PARK)

    named = thread.allocate_lock()
    named.acquire()

    def parked():
        # No threading call here: threading must not know this thread.
        ctypes.CDLL(None).prctl(15, COMM, 0, 0, 0)	# PR_SET_NAME
        named.release()
        park(sys.argv[2], end)

    thread.start_new_thread(parked, ())
    named.acquire()
    t = threading.Thread(name=THREAD, target=spin, args=(sys.argv[2], end))
    t.daemon = True
    t.start()
    sys.stdout.write("ready %d\n" % os.getpid())
    sys.stdout.flush()
    while time.time() < end:
        time.sleep(0.05)


if __name__ == "__main__":
    main()
